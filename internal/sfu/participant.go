package sfu

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/rtcp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// Participant is one person (or device) in a room.
type Participant struct {
	room  *Room
	id    string
	perms Permissions

	// Signals go out in order on one goroutine, so the caller's callback
	// never runs under the room's locks.
	sigMu    sync.Mutex
	sigQueue []Signal
	sigWake  chan struct{}
	sigFn    func(Signal)
	done     chan struct{}
	doneOnce sync.Once

	mu          sync.Mutex
	pub         *webrtc.PeerConnection
	sub         *webrtc.PeerConnection
	sources     map[string]Source   // publish transceiver mid → source
	rids        map[string][]string // publish mid → simulcast rids, as offered
	published   map[Source]*forwardedTrack
	senders     map[string]*webrtc.RTPSender // forwarded track id → sender on sub
	sendSSRCs   map[string]uint32            // forwarded track id → its sender's SSRC (sender reports)
	subscribed  map[string]*forwardedTrack   // forwarded track id → track
	downs       map[string]*downTrack        // simulcast track id → this subscriber's copy
	prefs       map[string]preference        // track id → the size it is shown at
	negotiating bool
	renegotiate bool
	iceRestart  bool // the next subscribe offer restarts ICE

	// What the subscribe connection can carry: pion's GCC estimate from
	// TWCC feedback, or (tests) an injected figure. The gate turns GCC on
	// when the connection first carries a simulcast track (congestion.go).
	estimator        cc.BandwidthEstimator
	ccGate           *ccGate
	estimateOverride atomic.Int64
	alloc            allocState

	// Media presence (OnConnected): whether either connection is
	// connected, since when, and who hears of changes. presMu is taken
	// before mu, never after.
	presMu   sync.Mutex
	presFn   func(connected bool, at time.Time)
	presOn   bool
	presAt   time.Time
	presLeft bool
}

func newParticipant(r *Room, id string, perms Permissions, signal func(Signal)) *Participant {
	p := &Participant{
		room: r, id: id, perms: perms, sigFn: signal,
		sigWake: make(chan struct{}, 1), done: make(chan struct{}),
		sources: map[string]Source{}, rids: map[string][]string{}, published: map[Source]*forwardedTrack{},
		senders: map[string]*webrtc.RTPSender{}, sendSSRCs: map[string]uint32{}, subscribed: map[string]*forwardedTrack{},
		downs: map[string]*downTrack{}, prefs: map[string]preference{},
	}
	go p.signalLoop()
	return p
}

// ID is the participant's id.
func (p *Participant) ID() string { return p.id }

// Done is closed when the participant has left, for whatever reason: its
// own leave, a failed connection, or the room's end.
func (p *Participant) Done() <-chan struct{} { return p.done }

// Permissions are what the participant may do.
func (p *Participant) Permissions() Permissions { return p.perms }

// OnConnected sets fn to hear when the participant's media becomes
// connected and when it stops being connected, with the SFU's own time of
// each change. The participant is connected while at least one of its
// PeerConnections (publish or subscribe) is in state connected (ICE and
// DTLS up): someone who only publishes, or only receives, is there all the
// same. It stops being connected when none is — disconnected (no packets
// for DisconnectTimeout/2), failed, closed — or when it leaves or is
// removed, whichever comes first. Nothing is debounced: a short network
// blip is reported as a stop and a start.
//
// Calls come in order, never two at once, and alternate (true, false,
// true, ...); fn runs on the SFU's goroutines (the one that leaves, for
// the last false) and must not call back into the participant. If the
// participant is connected already, fn hears it at once, with the time it
// connected; one that has left hears nothing.
func (p *Participant) OnConnected(fn func(connected bool, at time.Time)) {
	p.presMu.Lock()
	defer p.presMu.Unlock()
	p.presFn = fn
	if fn != nil && p.presOn {
		fn(true, p.presAt)
	}
}

// Connected reports whether the participant's media is connected now (see
// OnConnected) and since when, or since when it is not.
func (p *Participant) Connected() (bool, time.Time) {
	p.presMu.Lock()
	defer p.presMu.Unlock()
	return p.presOn, p.presAt
}

// updatePresence recomputes OnConnected's state from the connections'
// current states. pion runs each state-change handler on a goroutine of
// its own, so handlers may run out of order: reading the current states
// here (under presMu) rather than trusting the handler's argument makes
// the last one to run see the final state.
func (p *Participant) updatePresence() {
	p.presMu.Lock()
	defer p.presMu.Unlock()
	p.mu.Lock()
	pub, sub := p.pub, p.sub
	p.mu.Unlock()
	on := !p.presLeft && (isConnected(pub) || isConnected(sub))
	if on == p.presOn {
		return
	}
	p.presOn, p.presAt = on, time.Now()
	if p.presFn != nil {
		p.presFn(on, p.presAt)
	}
}

func isConnected(pc *webrtc.PeerConnection) bool {
	return pc != nil && pc.ConnectionState() == webrtc.PeerConnectionStateConnected
}

func (p *Participant) signal(s Signal) {
	p.sigMu.Lock()
	p.sigQueue = append(p.sigQueue, s)
	p.sigMu.Unlock()
	select {
	case p.sigWake <- struct{}{}:
	default:
	}
}

func (p *Participant) signalLoop() {
	for {
		select {
		case <-p.done:
			return
		case <-p.sigWake:
		}
		for {
			p.sigMu.Lock()
			if len(p.sigQueue) == 0 {
				p.sigMu.Unlock()
				break
			}
			s := p.sigQueue[0]
			p.sigQueue = p.sigQueue[1:]
			p.sigMu.Unlock()
			if p.sigFn != nil {
				p.sigFn(s)
			}
		}
	}
}

// Publish takes the participant's offer on its publish connection and
// returns the answer. sources maps each sending m-section's mid to what it
// carries; an offer that sends anything not declared, not allowed, of the
// wrong kind, or too many tracks is refused whole and changes nothing.
func (p *Participant) Publish(offer string, sources map[string]Source) (string, error) {
	rids, err := p.checkOffer(offer, sources)
	if err != nil {
		return "", err
	}
	p.mu.Lock()
	if p.pub == nil {
		// What the SFU sends a publisher is RTCP only: the connection
		// has no bandwidth estimator.
		pc, err := p.room.sfu.newPublishConnection()
		if err != nil {
			p.mu.Unlock()
			return "", err
		}
		p.pub = pc
		pc.OnTrack(p.onTrack)
		p.watch(pc, "publish")
	}
	for mid, src := range sources {
		p.sources[mid] = src
	}
	for mid, r := range rids {
		p.rids[mid] = r
	}
	pc := p.pub
	p.mu.Unlock()

	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadSDP, err)
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadSDP, err)
	}
	if err := setLocalAndGather(pc, answer); err != nil {
		return "", err
	}
	return pc.LocalDescription().SDP, nil
}

// checkOffer enforces the permissions on what an offer would send, and
// returns the simulcast rids of each video section that has them. A
// simulcast section is one track, whatever its number of layers.
func (p *Participant) checkOffer(offer string, sources map[string]Source) (map[string][]string, error) {
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(offer); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSDP, err)
	}
	rids := map[string][]string{}
	sending := 0
	for _, m := range sd.MediaDescriptions {
		kind := m.MediaName.Media
		if kind != "audio" && kind != "video" {
			continue // data channels
		}
		if !sends(m) {
			continue
		}
		mid, ok := m.Attribute("mid")
		if !ok {
			return nil, fmt.Errorf("%w: a media section has no mid", ErrBadSDP)
		}
		if layers := simulcastRIDs(m); len(layers) > 0 {
			if kind != "video" {
				return nil, fmt.Errorf("%w: simulcast is for video only", ErrBadSDP)
			}
			if len(layers) > maxLayers {
				return nil, fmt.Errorf("%w: at most %d simulcast layers per track", ErrTooManyTracks, maxLayers)
			}
			rids[mid] = layers
		}
		sending++
		src, declared := sources[mid]
		if !declared {
			return nil, fmt.Errorf("%w: media %q is not declared (say whether it is microphone, camera, screen or screen_audio)", ErrForbiddenSource, mid)
		}
		want, known := src.Kind()
		if !known || want.String() != kind {
			return nil, fmt.Errorf("%w: %s cannot be %s", ErrForbiddenSource, src, kind)
		}
		if !p.perms.May(src) {
			return nil, fmt.Errorf("%w: you may not publish %s here", ErrForbiddenSource, src)
		}
	}
	if sending > p.room.sfu.cfg.MaxTracks {
		return nil, fmt.Errorf("%w: at most %d", ErrTooManyTracks, p.room.sfu.cfg.MaxTracks)
	}
	return rids, nil
}

// simulcastRIDs lists the rids a media section sends, in the order of its
// a=simulcast:send line (RFC 8853; "~" marks a paused one, "," separates
// alternatives), or of its a=rid lines when there is no such line.
func simulcastRIDs(m *sdp.MediaDescription) []string {
	var out []string
	add := func(rid string) {
		rid = strings.TrimPrefix(rid, "~")
		if rid != "" && !slices.Contains(out, rid) {
			out = append(out, rid)
		}
	}
	for _, a := range m.Attributes {
		if a.Key != "simulcast" {
			continue
		}
		fields := strings.Fields(a.Value)
		for i := 0; i+1 < len(fields); i += 2 {
			if fields[i] == "send" {
				for _, alt := range strings.FieldsFunc(fields[i+1], func(r rune) bool { return r == ';' || r == ',' }) {
					add(alt)
				}
			}
		}
	}
	if len(out) > 0 {
		return out
	}
	for _, a := range m.Attributes {
		if f := strings.Fields(a.Value); a.Key == "rid" && len(f) >= 2 && f[1] == "send" {
			add(f[0])
		}
	}
	return out
}

func sends(m *sdp.MediaDescription) bool {
	for _, a := range m.Attributes {
		switch a.Key {
		case "recvonly", "inactive":
			return false
		case "sendrecv", "sendonly":
			return true
		}
	}
	return true // sendrecv is the default
}

func setLocalAndGather(pc *webrtc.PeerConnection, desc webrtc.SessionDescription) error {
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(desc); err != nil {
		return err
	}
	select {
	case <-gathered:
	case <-time.After(5 * time.Second):
	}
	return nil
}

// onTrack starts forwarding a newly received track. A simulcast track
// fires once per layer: the first layer makes the track, the others join it.
func (p *Participant) onTrack(remote *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) {
	p.mu.Lock()
	var src Source
	var rids []string
	for _, tr := range p.pub.GetTransceivers() {
		if tr.Receiver() == receiver {
			src, rids = p.sources[tr.Mid()], p.rids[tr.Mid()]
		}
	}
	if src == "" || !p.perms.May(src) {
		p.mu.Unlock()
		// Never forwarded: read and drop, so the connection's buffers
		// do not fill.
		go drain(remote)
		return
	}
	if t := p.published[src]; t != nil {
		p.mu.Unlock()
		if t.simulcast && t.receiver == receiver && remote.RID() != "" {
			if l, ok := t.addLayer(remote); ok {
				go p.forwardLayer(t, l)
				return
			}
		}
		go drain(remote)
		return
	}
	t, err := newForwardedTrack(p, src, remote, receiver, rids)
	var first *layer
	if err == nil && t.simulcast {
		var ok bool
		if first, ok = t.addLayer(remote); !ok {
			err = fmt.Errorf("rid %q was not offered", remote.RID())
		}
	}
	if err != nil {
		p.mu.Unlock()
		p.room.sfu.log.Warn("forward track", "participant", p.id, "err", err)
		go drain(remote)
		return
	}
	p.published[src] = t
	p.mu.Unlock()
	p.room.addTrack(t)
	if first != nil {
		go p.forwardLayer(t, first)
		return
	}
	go func() {
		t.forward()
		p.unpublish(t)
	}()
}

// forwardLayer forwards one simulcast layer; the last layer to end ends
// the track.
func (p *Participant) forwardLayer(t *forwardedTrack, l *layer) {
	if t.forwardLayer(l) {
		p.unpublish(t)
	}
}

func (p *Participant) unpublish(t *forwardedTrack) {
	p.mu.Lock()
	if p.published[t.source] == t {
		delete(p.published, t.source)
	}
	p.mu.Unlock()
	p.room.removeTrack(t)
}

func drain(remote *webrtc.TrackRemote) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := remote.Read(buf); err != nil {
			return
		}
	}
}

// requestKeyframe asks the publisher of a track for a keyframe.
func (p *Participant) requestKeyframe(ssrc uint32) {
	p.mu.Lock()
	pc := p.pub
	p.mu.Unlock()
	if pc != nil {
		_ = pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
	}
}

func (p *Participant) openSubscriber() error {
	pc, est, gate, err := p.room.sfu.newSubscribeConnection()
	if err != nil {
		return err
	}
	p.sub, p.estimator, p.ccGate = pc, est, gate
	p.watch(pc, "subscribe")
	return nil
}

// watch relays ICE candidates, follows the connection's state for
// OnConnected, and removes the participant when its connection fails or
// closes.
func (p *Participant) watch(pc *webrtc.PeerConnection, name string) {
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			init := c.ToJSON()
			p.signal(Signal{Type: "candidate", PC: name, Candidate: &init})
		}
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		p.updatePresence()
		if s == webrtc.PeerConnectionStateFailed || s == webrtc.PeerConnectionStateClosed {
			go p.Leave()
		}
	})
}

// subscribe adds a track to the subscribe connection; the caller holds the
// room's lock and renegotiates afterwards. A simulcast track gets a local
// track of its own for this subscriber, starting on the smallest layer
// until the allocator has chosen.
func (p *Participant) subscribe(t *forwardedTrack) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sub == nil || p.senders[t.id] != nil {
		return
	}
	local, d := t.local, (*downTrack)(nil)
	if t.simulcast {
		var err error
		if local, err = newOutTrack(t.remote.Codec().RTPCodecCapability, t.id, t.owner.id); err != nil {
			p.room.sfu.log.Warn("subscribe", "participant", p.id, "track", t.id, "err", err)
			return
		}
		d = newDownTrack(t, p, local)
		// Layer choice needs this connection's bandwidth estimate.
		p.ccGate.on.Store(true)
	}
	sender, err := p.sub.AddTrack(local)
	if err != nil {
		p.room.sfu.log.Warn("subscribe", "participant", p.id, "track", t.id, "err", err)
		return
	}
	p.senders[t.id] = sender
	if enc := sender.GetParameters().Encodings; len(enc) > 0 {
		p.sendSSRCs[t.id] = uint32(enc[0].SSRC)
	}
	p.subscribed[t.id] = t
	go t.readFeedback(sender, d)
	if d == nil {
		// A new viewer needs a keyframe to start decoding.
		go t.owner.requestKeyframe(uint32(t.remote.SSRC()))
		return
	}
	p.downs[t.id] = d
	if avail := t.available(time.Now()); len(avail) > 0 {
		d.target.Store(int32(avail[0].rank))
		go t.owner.requestKeyframe(avail[0].ssrc)
	}
	t.addDown(d)
}

// unsubscribe removes a track; it reports whether anything changed.
func (p *Participant) unsubscribe(t *forwardedTrack) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	sender := p.senders[t.id]
	if sender == nil || p.sub == nil {
		return false
	}
	delete(p.senders, t.id)
	delete(p.sendSSRCs, t.id)
	delete(p.subscribed, t.id)
	if d := p.downs[t.id]; d != nil {
		t.removeDown(d)
		delete(p.downs, t.id)
	}
	_ = p.sub.RemoveTrack(sender)
	return true
}

// negotiate sends a fresh offer on the subscribe connection, or marks that
// one is needed when an offer is already waiting for its answer.
func (p *Participant) negotiate() {
	p.mu.Lock()
	if p.sub == nil || !p.perms.Subscribe { // viewers (WHEP) never renegotiate
		p.mu.Unlock()
		return
	}
	if p.negotiating {
		p.renegotiate = true
		p.mu.Unlock()
		return
	}
	p.negotiating = true
	pc := p.sub
	restart := p.iceRestart
	p.iceRestart = false
	p.mu.Unlock()

	offer, err := pc.CreateOffer(&webrtc.OfferOptions{ICERestart: restart})
	if err == nil {
		err = setLocalAndGather(pc, offer)
	}
	if err != nil {
		if pc.ConnectionState() != webrtc.PeerConnectionStateClosed {
			p.room.sfu.log.Warn("subscribe offer", "participant", p.id, "err", err)
		}
		p.mu.Lock()
		p.negotiating = false
		p.mu.Unlock()
		return
	}
	p.signal(Signal{Type: "offer", PC: "subscribe", SDP: pc.LocalDescription().SDP})
}

// RestartICE makes the next subscribe offer restart ICE: a device whose
// network changed (Wi-Fi to mobile) asks for it, and restarts its publish
// connection itself by offering with new credentials. The call goes on.
func (p *Participant) RestartICE() error {
	p.mu.Lock()
	if p.sub == nil || !p.perms.Subscribe {
		p.mu.Unlock()
		return ErrNoSubscribe
	}
	p.iceRestart = true
	p.mu.Unlock()
	go p.negotiate()
	return nil
}

// Answer takes the participant's answer to the last subscribe offer.
func (p *Participant) Answer(answer string) error {
	p.mu.Lock()
	pc, waiting := p.sub, p.negotiating
	p.mu.Unlock()
	if pc == nil {
		return ErrNoSubscribe
	}
	if !waiting {
		return fmt.Errorf("%w: no offer is waiting for an answer", ErrBadSDP)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		return fmt.Errorf("%w: %v", ErrBadSDP, err)
	}
	p.mu.Lock()
	p.negotiating = false
	again := p.renegotiate
	p.renegotiate = false
	p.mu.Unlock()
	if again {
		go p.negotiate()
	}
	return nil
}

// AddCandidate adds a trickled ICE candidate of the participant's publish
// or subscribe connection.
func (p *Participant) AddCandidate(pcName string, c webrtc.ICECandidateInit) error {
	p.mu.Lock()
	pc := p.pub
	if pcName == "subscribe" {
		pc = p.sub
	}
	p.mu.Unlock()
	if pc == nil {
		return fmt.Errorf("%w: no %s connection yet", ErrBadSDP, pcName)
	}
	return pc.AddICECandidate(c)
}

// ErrNotPublished is returned for a source the participant does not publish.
var ErrNotPublished = errors.New("sfu: not published")

// SetPaused stops (or resumes) forwarding one of the participant's tracks,
// say while the screen shows a password; subscribers are told.
func (p *Participant) SetPaused(src Source, paused bool) error {
	p.mu.Lock()
	t := p.published[src]
	p.mu.Unlock()
	if t == nil {
		return ErrNotPublished
	}
	if t.paused.Swap(paused) == paused {
		return nil
	}
	if !paused {
		if t.simulcast {
			t.resync()
		}
		t.requestAllKeyframes()
	}
	p.room.mu.Lock()
	p.room.announceTracksLocked()
	p.room.mu.Unlock()
	return nil
}

// Leave takes the participant out of the room and closes its connections.
func (p *Participant) Leave() {
	p.room.leave(p)
	p.close()
}

func (p *Participant) close() {
	p.doneOnce.Do(func() { close(p.done) })
	// Gone is not connected, whatever the connections' states: report it
	// before closing them, at the moment of leaving.
	p.presMu.Lock()
	p.presLeft = true
	p.presMu.Unlock()
	p.updatePresence()
	p.mu.Lock()
	pub, sub := p.pub, p.sub
	p.mu.Unlock()
	for _, pc := range []*webrtc.PeerConnection{pub, sub} {
		if pc != nil {
			_ = pc.Close()
		}
	}
}

func trackID(participant string, src Source) string {
	return strings.Join([]string{participant, string(src)}, ":")
}
