package sfu

import (
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
)

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newTestSFU(t testing.TB, mods ...func(*Config)) *SFU {
	t.Helper()
	cfg := Config{ListenIP: "127.0.0.1", IncludeLoopback: true, DisconnectTimeout: 2 * time.Second}
	for _, m := range mods {
		m(&cfg)
	}
	s, err := New(cfg, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// clientAPI is a browser stand-in: Pion with loopback candidates.
func clientAPI(t testing.TB) *webrtc.API {
	t.Helper()
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.AudioLevelURI}, webrtc.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, ir); err != nil {
		t.Fatal(err)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
}

// peer is a test client in a room: it publishes synthetic media and
// counts the packets it receives per track.
type peer struct {
	t    testing.TB
	p    *Participant
	api  *webrtc.API
	pub  *webrtc.PeerConnection
	sub  *webrtc.PeerConnection
	stop chan struct{}
	// joined is closed once p is set: the room may signal the peer while
	// Join is still returning.
	joined chan struct{}

	mu       sync.Mutex
	received map[string]*atomic.Int64 // track id → packets
	dropped  map[string]*atomic.Int64 // track id → packets a browser would drop (see joinChromium)
	tracks   []TrackInfo
	speakers [][]Speaker
	layers   []Signal // "layer" signals

	// With record set, every packet's numbers are kept (simulcast tests).
	record   atomic.Bool
	recorded map[string][]recvPacket
}

// recvPacket is what a subscriber saw of one packet.
type recvPacket struct {
	seq      uint16
	ts       uint32
	layer    byte // the last payload byte: the test publisher's layer rank
	keyframe bool // the first packet of a VP8 keyframe
}

func join(t testing.TB, r *Room, id string, perms Permissions) *peer {
	t.Helper()
	return joinWith(t, r, id, perms, clientAPI(t), false)
}

// joinWith joins with a client built on api; with bundle set, the client
// receives as a browser does (see bundleAccepts).
func joinWith(t testing.TB, r *Room, id string, perms Permissions, api *webrtc.API, bundle bool) *peer {
	t.Helper()
	c := &peer{t: t, api: api, stop: make(chan struct{}), joined: make(chan struct{}), received: map[string]*atomic.Int64{},
		dropped: map[string]*atomic.Int64{}, recorded: map[string][]recvPacket{}}
	if perms.Subscribe {
		sub, err := c.api.NewPeerConnection(webrtc.Configuration{})
		if err != nil {
			t.Fatal(err)
		}
		c.sub = sub
		sub.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
			n, dropped := &atomic.Int64{}, &atomic.Int64{}
			c.mu.Lock()
			c.received[tr.ID()] = n
			c.dropped[tr.ID()] = dropped
			c.mu.Unlock()
			var accepts func([]byte) bool
			if bundle {
				accepts = bundleAccepts(sub)
			}
			buf := make([]byte, 1500)
			for {
				size, _, err := tr.Read(buf)
				if err != nil {
					return
				}
				if accepts != nil && !accepts(buf[:size]) {
					dropped.Add(1)
					continue
				}
				n.Add(1)
				if c.record.Load() {
					c.keep(tr.ID(), buf[:size])
				}
			}
		})
	}
	p, err := r.Join(id, perms, c.onSignal)
	if err != nil {
		t.Fatal(err)
	}
	c.p = p
	close(c.joined)
	t.Cleanup(c.close)
	return c
}

func (c *peer) onSignal(s Signal) {
	select {
	case <-c.stop:
		return // the test is over for this peer
	case <-c.joined:
	}
	select {
	case <-c.stop:
		return
	default:
	}
	switch s.Type {
	case "offer":
		if err := c.sub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: s.SDP}); err != nil {
			c.fail("%s: subscribe offer: %v", c.p.id, err)
			return
		}
		answer, err := c.sub.CreateAnswer(nil)
		if err != nil {
			c.fail("%s: answer: %v", c.p.id, err)
			return
		}
		if err := setLocalAndGather(c.sub, answer); err != nil {
			c.fail("%s: answer: %v", c.p.id, err)
			return
		}
		if err := c.p.Answer(c.sub.LocalDescription().SDP); err != nil {
			c.fail("%s: Answer: %v", c.p.id, err)
		}
	case "tracks":
		c.mu.Lock()
		c.tracks = s.Tracks
		c.mu.Unlock()
	case "speakers":
		c.mu.Lock()
		c.speakers = append(c.speakers, s.Speakers)
		c.mu.Unlock()
	case "layer":
		c.mu.Lock()
		c.layers = append(c.layers, s)
		c.mu.Unlock()
	}
	// Candidates are already in the gathered descriptions.
}

// fail reports an error from a signal, unless the peer was being closed,
// which is what caused it.
func (c *peer) fail(format string, args ...any) {
	select {
	case <-c.stop:
	default:
		c.t.Errorf(format, args...)
	}
}

// offer builds a publish offer sending the given sources and returns it
// with the mid → source map and the tracks to write to.
func (c *peer) offer(sources ...Source) (string, map[string]Source, map[Source]*webrtc.TrackLocalStaticSample) {
	c.t.Helper()
	if c.pub == nil {
		pc, err := c.api.NewPeerConnection(webrtc.Configuration{})
		if err != nil {
			c.t.Fatal(err)
		}
		c.pub = pc
	}
	tracks := map[Source]*webrtc.TrackLocalStaticSample{}
	for _, src := range sources {
		codec := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}
		if kind, _ := src.Kind(); kind == webrtc.RTPCodecTypeAudio {
			codec = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}
		}
		track, err := webrtc.NewTrackLocalStaticSample(codec, string(src), c.p.id)
		if err != nil {
			c.t.Fatal(err)
		}
		if _, err := c.pub.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			c.t.Fatal(err)
		}
		tracks[src] = track
	}
	offer, err := c.pub.CreateOffer(nil)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := setLocalAndGather(c.pub, offer); err != nil {
		c.t.Fatal(err)
	}
	mids := map[string]Source{}
	for _, tr := range c.pub.GetTransceivers() {
		if s := tr.Sender(); s != nil && s.Track() != nil {
			mids[tr.Mid()] = Source(s.Track().ID())
		}
	}
	return c.pub.LocalDescription().SDP, mids, tracks
}

// publish offers the sources, applies the answer and starts sending.
func (c *peer) publish(sources ...Source) {
	c.t.Helper()
	offer, mids, tracks := c.offer(sources...)
	answer, err := c.p.Publish(offer, mids)
	if err != nil {
		c.t.Fatalf("%s: publish %v: %v", c.p.id, sources, err)
	}
	if err := c.pub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		c.t.Fatal(err)
	}
	for src, track := range tracks {
		go c.send(src, track)
	}
}

// send writes a synthetic frame every 20 ms: the SFU forwards bytes, it
// does not decode them.
func (c *peer) send(src Source, track *webrtc.TrackLocalStaticSample) {
	size := 100
	if src == Camera || src == Screen {
		size = 1000
	}
	frame := make([]byte, size)
	_, _ = rand.Read(frame)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-tick.C:
			if err := track.WriteSample(media.Sample{Data: frame, Duration: 20 * time.Millisecond}); err != nil {
				return
			}
		}
	}
}

func (c *peer) close() {
	select {
	case <-c.stop:
		return
	default:
		close(c.stop)
	}
	for _, pc := range []*webrtc.PeerConnection{c.pub, c.sub} {
		if pc != nil {
			_ = pc.Close()
		}
	}
}

// count returns the packets received on a track (0 when not received).
func (c *peer) count(trackID string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := c.received[trackID]; n != nil {
		return n.Load()
	}
	return 0
}

func (c *peer) receivedTracks() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for id := range c.received {
		out = append(out, id)
	}
	return out
}

func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}

var everything = Permissions{Publish: []Source{Microphone, Camera, Screen, ScreenAudio}, Subscribe: true, Annotate: true}

// flowing waits until c receives at least n packets on each track.
func flowing(t testing.TB, c *peer, n int64, ids ...string) {
	t.Helper()
	for _, id := range ids {
		eventually(t, c.p.id+" to receive "+id, func() bool { return c.count(id) >= n })
	}
}

func TestOneToOneCallFlowsBothWays(t *testing.T) {
	s := newTestSFU(t)
	r, _ := s.Room("call-1")
	ana := join(t, r, "ana", everything)
	bo := join(t, r, "bo", everything)
	ana.publish(Microphone, Camera)
	bo.publish(Microphone, Camera)
	flowing(t, bo, 20, "ana:microphone", "ana:camera")
	flowing(t, ana, 20, "bo:microphone", "bo:camera")
	if got := len(ana.receivedTracks()); got != 2 {
		t.Fatalf("ana receives %d tracks (%v), want bo's 2 and never her own", got, ana.receivedTracks())
	}
}

func TestGroupOfFourEachReceivesTheOthers(t *testing.T) {
	s := newTestSFU(t)
	r, _ := s.Room("group")
	names := []string{"a", "b", "c", "d"}
	peers := map[string]*peer{}
	for _, n := range names {
		peers[n] = join(t, r, n, everything)
	}
	for _, n := range names {
		peers[n].publish(Microphone, Camera)
	}
	for _, n := range names {
		var want []string
		for _, other := range names {
			if other != n {
				want = append(want, other+":microphone", other+":camera")
			}
		}
		flowing(t, peers[n], 10, want...)
		if got := len(peers[n].receivedTracks()); got != 6 {
			t.Fatalf("%s receives %d tracks, want 6", n, got)
		}
	}
	if got := r.Participants(); len(got) != 4 {
		t.Fatalf("participants = %v", got)
	}
}

func TestAHelpCustomerCannotPublishACamera(t *testing.T) {
	s := newTestSFU(t)
	r, _ := s.Room("help")
	customer := join(t, r, "customer", Permissions{Publish: []Source{Microphone, Screen}, Subscribe: true})
	agent := join(t, r, "agent", Permissions{Publish: []Source{Microphone, Camera}, Subscribe: true, Annotate: true})

	offer, mids, _ := customer.offer(Microphone, Camera)
	if _, err := customer.p.Publish(offer, mids); !errors.Is(err, ErrForbiddenSource) || !strings.Contains(err.Error(), "camera") {
		t.Fatalf("a customer offering a camera: %v, want ErrForbiddenSource naming the camera", err)
	}
	// Lying about the source does not help: a video track declared as the
	// microphone is refused for its kind.
	customer2 := join(t, r, "customer2", Permissions{Publish: []Source{Microphone, Screen}, Subscribe: true})
	offer, mids, _ = customer2.offer(Camera)
	for mid := range mids {
		mids[mid] = Microphone
	}
	if _, err := customer2.p.Publish(offer, mids); !errors.Is(err, ErrForbiddenSource) {
		t.Fatalf("video declared as microphone: %v", err)
	}
	customer2.p.Leave()

	fresh := join(t, r, "customer3", Permissions{Publish: []Source{Microphone, Screen}, Subscribe: true})
	fresh.publish(Microphone, Screen)
	agent.publish(Microphone, Camera)
	flowing(t, agent, 20, "customer3:microphone", "customer3:screen")
	flowing(t, fresh, 20, "agent:camera", "agent:microphone")
	for _, id := range agent.receivedTracks() {
		if strings.HasSuffix(id, ":camera") && strings.HasPrefix(id, "customer") {
			t.Fatalf("the agent received a customer's camera: %v", agent.receivedTracks())
		}
	}
}

func TestBadOffersAreRefusedWhole(t *testing.T) {
	s := newTestSFU(t, func(c *Config) { c.MaxTracks = 2 })
	r, _ := s.Room("bad")
	c := join(t, r, "c", everything)
	if _, err := c.p.Publish("not sdp at all", nil); !errors.Is(err, ErrBadSDP) {
		t.Fatalf("garbage SDP: %v", err)
	}
	offer, mids, _ := c.offer(Microphone, Camera, Screen)
	if _, err := c.p.Publish(offer, mids); !errors.Is(err, ErrTooManyTracks) {
		t.Fatalf("three tracks with a limit of two: %v", err)
	}
	delete(mids, firstKey(mids))
	if _, err := c.p.Publish(offer, mids); !errors.Is(err, ErrForbiddenSource) {
		t.Fatalf("an undeclared track: %v", err)
	}
	if got := r.Tracks(); len(got) != 0 {
		t.Fatalf("refused offers published %v", got)
	}
}

func firstKey(m map[string]Source) string {
	for k := range m {
		return k
	}
	return ""
}

func TestPausedScreenIsNotForwardedAndSubscribersAreTold(t *testing.T) {
	s := newTestSFU(t)
	r, _ := s.Room("pause")
	customer := join(t, r, "customer", Permissions{Publish: []Source{Microphone, Screen}, Subscribe: true})
	agent := join(t, r, "agent", Permissions{Subscribe: true})
	customer.publish(Microphone, Screen)
	flowing(t, agent, 20, "customer:screen", "customer:microphone")

	if err := customer.p.SetPaused(Screen, true); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the agent to be told the screen is paused", func() bool {
		agent.mu.Lock()
		defer agent.mu.Unlock()
		for _, tr := range agent.tracks {
			if tr.Source == Screen && tr.Paused {
				return true
			}
		}
		return false
	})
	// The microphone keeps flowing; measured against it, the screen stops.
	atPause := agent.count("customer:screen")
	mic := agent.count("customer:microphone")
	flowing(t, agent, mic+50, "customer:microphone") // a second of audio
	if extra := agent.count("customer:screen") - atPause; extra > 5 {
		t.Fatalf("%d screen packets forwarded while paused", extra)
	}
	if err := customer.p.SetPaused(Screen, false); err != nil {
		t.Fatal(err)
	}
	flowing(t, agent, agent.count("customer:screen")+20, "customer:screen")
	if err := customer.p.SetPaused(Camera, true); !errors.Is(err, ErrNotPublished) {
		t.Fatalf("pausing an unpublished source: %v", err)
	}
}

func TestAPublisherThatVanishesIsCleanedUp(t *testing.T) {
	s := newTestSFU(t)
	r, _ := s.Room("vanish")
	gone := join(t, r, "gone", everything)
	stays := join(t, r, "stays", everything)
	gone.publish(Microphone, Camera)
	flowing(t, stays, 10, "gone:microphone", "gone:camera")

	gone.close() // the browser tab is killed: no goodbye
	eventually(t, "the vanished participant to be removed", func() bool {
		return len(r.Participants()) == 1 && len(r.Tracks()) == 0
	})
	stays.close() // the client is done first, so late signals are not errors
	stays.p.Leave()
	eventually(t, "the empty room to close", func() bool {
		_, ok := s.LookupRoom("vanish")
		return !ok
	})
}

func TestRoomLimits(t *testing.T) {
	s := newTestSFU(t, func(c *Config) { c.MaxParticipants = 2 })
	r, _ := s.Room("small")
	join(t, r, "a", everything)
	if _, err := r.Join("a", everything, nil); !errors.Is(err, ErrAlreadyJoined) {
		t.Fatalf("joining twice: %v", err)
	}
	join(t, r, "b", everything)
	if _, err := r.Join("c", everything, nil); !errors.Is(err, ErrRoomFull) {
		t.Fatalf("a third in a room of two: %v", err)
	}
}

func TestICERestartKeepsTheMediaFlowing(t *testing.T) {
	s := newTestSFU(t)
	r, _ := s.Room("restart")
	pub := join(t, r, "pub", everything)
	sub := join(t, r, "sub", everything)
	pub.publish(Microphone)
	flowing(t, sub, 10, "pub:microphone")
	ufrag := func() string {
		for _, line := range strings.Split(sub.sub.RemoteDescription().SDP, "\r\n") {
			if strings.HasPrefix(line, "a=ice-ufrag:") {
				return line
			}
		}
		return ""
	}
	before := ufrag()
	if err := sub.p.RestartICE(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a subscribe offer with new ICE credentials", func() bool {
		sub.mu.Lock()
		defer sub.mu.Unlock()
		return sub.sub.RemoteDescription() != nil && ufrag() != before && sub.sub.SignalingState() == webrtc.SignalingStateStable
	})
	flowing(t, sub, sub.count("pub:microphone")+20, "pub:microphone")
	watcher := join(t, r, "watcher", Permissions{})
	if err := watcher.p.RestartICE(); !errors.Is(err, ErrNoSubscribe) {
		t.Fatalf("restarting a connection that receives nothing: %v", err)
	}
}
