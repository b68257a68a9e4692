package sfu

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// forwardedTrack carries one published track to every subscriber. A plain
// track is one RTP stream written once into a shared local track; a
// simulcast track is up to three layers, and each subscriber has its own
// downTrack fed from one of them.
type forwardedTrack struct {
	id       string
	owner    *Participant
	source   Source
	remote   *webrtc.TrackRemote // the first stream that arrived
	receiver *webrtc.RTPReceiver
	local    *outTrack    // nil for simulcast
	cache    *packetCache // a plain video track's packets, for NACKs
	batch    *batchConn   // sends each packet's copies at once; nil in unit tests

	paused  atomic.Bool
	lastPLI atomic.Int64 // unix nanoseconds of the last keyframe request passed on

	levelID    uint8        // the audio level extension's id, 0 when absent
	loudness   atomic.Int64 // 0..127 of the last speech heard
	lastSpeech atomic.Int64 // unix nanoseconds

	bytes   atomic.Int64 // received since the last rate sample (plain tracks)
	bitrate atomic.Int64 // bits per second, smoothed

	// Simulcast only.
	simulcast bool
	mime      string
	clockRate uint32
	ranks     map[string]int // rid → rank, from the offer
	layerMu   sync.Mutex
	layers    [maxLayers]atomic.Pointer[layer] // by rank
	live      atomic.Int32                     // layers still being read
	downs     atomic.Pointer[[]*downTrack]     // copy on write, read per packet
}

// pliInterval throttles keyframe requests passed to a publisher: many
// subscribers losing a frame at once must not flood it.
const pliInterval = 500 * time.Millisecond

func newForwardedTrack(owner *Participant, src Source, remote *webrtc.TrackRemote, receiver *webrtc.RTPReceiver, rids []string) (*forwardedTrack, error) {
	id := trackID(owner.id, src)
	codec := remote.Codec()
	t := &forwardedTrack{id: id, owner: owner, source: src, remote: remote, receiver: receiver,
		mime: codec.MimeType, clockRate: codec.ClockRate, batch: owner.room.sfu.batch}
	if remote.RID() != "" {
		t.simulcast = true
		t.ranks = rankRIDs(rids)
		t.downs.Store(&[]*downTrack{})
		return t, nil
	}
	local, err := newOutTrack(codec.RTPCodecCapability, id, owner.id)
	if err != nil {
		return nil, err
	}
	t.local = local
	if remote.Kind() == webrtc.RTPCodecTypeAudio {
		t.levelID = audioLevelID(receiver)
	} else {
		t.cache = newPacketCache() // audio is not retransmitted (no NACK)
	}
	return t, nil
}

func (t *forwardedTrack) info() TrackInfo {
	return TrackInfo{ID: t.id, ParticipantID: t.owner.id, Source: t.source, Kind: t.remote.Kind().String(),
		Paused: t.paused.Load(), Simulcast: t.simulcast}
}

// forward copies RTP from the publisher to the subscribers until the
// publisher's track ends. While paused, packets are dropped here and never
// reach anyone.
//
// The publisher's header extensions go no further: their ids are those of
// the publish connection's negotiation and mean something else, or
// nothing, on a subscriber's. Chromium stamps its transport-wide sequence
// number under id 3, which the SFU's subscribe offers give to the mid;
// forwarded, it reads as a mid naming no media section once the number
// passes 255, and the subscriber's browser drops every packet from then
// on (BUNDLE demultiplexing). What a subscriber needs is added on its own
// connection (the SFU's transport-wide sequence number, for GCC).
func (t *forwardedTrack) forward() {
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	for {
		n, _, err := t.remote.Read(buf)
		if err != nil {
			return
		}
		t.forwardPlain(&pkt, buf[:n])
	}
}

// forwardPlain passes one packet of a plain track to every subscriber,
// keeping it for retransmission. pkt is scratch space, reused from packet
// to packet; nothing here allocates.
func (t *forwardedTrack) forwardPlain(pkt *rtp.Packet, raw []byte) {
	t.bytes.Add(int64(len(raw)))
	if t.paused.Load() {
		return
	}
	t.noteLevel(raw)
	if pkt.Unmarshal(raw) != nil {
		return
	}
	stripExtensions(&pkt.Header)
	if t.cache != nil {
		t.cache.store(&pkt.Header, pkt.Payload)
	}
	if t.batch != nil {
		t.batch.hold()
	}
	t.local.write(&pkt.Header, pkt.Payload, time.Now().UnixNano())
	if t.batch != nil {
		t.batch.release()
	}
}

// stripExtensions removes a forwarded packet's header extensions, which
// were numbered for the connection it arrived on. The slice keeps its
// capacity, so that parsing the next packet, or adding a connection's own
// extension, does not allocate.
func stripExtensions(h *rtp.Header) {
	h.Extension, h.ExtensionProfile, h.Extensions = false, 0, h.Extensions[:0]
}

// addLayer attaches a simulcast layer; it reports false for a rid the
// offer did not announce or one already there.
func (t *forwardedTrack) addLayer(remote *webrtc.TrackRemote) (*layer, bool) {
	rank, ok := t.ranks[remote.RID()]
	if !ok || rank >= maxLayers {
		return nil, false
	}
	l := &layer{rid: remote.RID(), rank: rank, remote: remote, ssrc: uint32(remote.SSRC()), cache: newPacketCache()}
	l.lastPacket.Store(time.Now().UnixNano())
	t.layerMu.Lock()
	defer t.layerMu.Unlock()
	if t.layers[rank].Load() != nil {
		return nil, false
	}
	t.layers[rank].Store(l)
	t.live.Add(1)
	return l, true
}

// forwardLayer reads one simulcast layer and hands each packet to the
// subscribers; each takes it only if it is on (or switching to) this
// layer. It reports whether this was the track's last live layer.
func (t *forwardedTrack) forwardLayer(l *layer) (last bool) {
	defer func() {
		t.layers[l.rank].CompareAndSwap(l, nil)
		last = t.live.Add(-1) == 0
	}()
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	for {
		n, _, err := l.remote.Read(buf)
		if err != nil {
			return
		}
		t.forwardPacket(l, &pkt, buf[:n])
	}
}

// forwardPacket passes one packet of a simulcast layer to the subscribers
// on that layer. pkt is scratch space, reused from packet to packet.
func (t *forwardedTrack) forwardPacket(l *layer, pkt *rtp.Packet, raw []byte) {
	now := time.Now().UnixNano()
	l.bytes.Add(int64(len(raw)))
	l.lastPacket.Store(now)
	if t.paused.Load() || pkt.Unmarshal(raw) != nil {
		return
	}
	stripExtensions(&pkt.Header)
	l.cache.store(&pkt.Header, pkt.Payload)
	key, w, h := keyframeStart(t.mime, pkt.Payload)
	if key && w > 0 {
		l.width.Store(int32(w))
		l.height.Store(int32(h))
	}
	if t.batch != nil {
		t.batch.hold()
	}
	for _, d := range *t.downs.Load() {
		d.write(l, pkt, key, now)
	}
	if t.batch != nil {
		t.batch.release()
	}
}

// resync makes every subscriber wait for a keyframe and renumber from
// there, as at a layer switch: after a pause the stream goes on without a
// gap the size of the pause.
func (t *forwardedTrack) resync() {
	for _, d := range *t.downs.Load() {
		d.mu.Lock()
		d.current.Store(-1)
		d.mu.Unlock()
	}
}

func (t *forwardedTrack) addDown(d *downTrack) {
	t.layerMu.Lock()
	defer t.layerMu.Unlock()
	downs := append(slices.Clone(*t.downs.Load()), d)
	t.downs.Store(&downs)
}

func (t *forwardedTrack) removeDown(d *downTrack) {
	t.layerMu.Lock()
	defer t.layerMu.Unlock()
	downs := slices.DeleteFunc(slices.Clone(*t.downs.Load()), func(x *downTrack) bool { return x == d })
	t.downs.Store(&downs)
}

// layerAt returns the layer of a rank, nil when absent.
func (t *forwardedTrack) layerAt(rank int) *layer {
	if rank < 0 || rank >= maxLayers {
		return nil
	}
	return t.layers[rank].Load()
}

// available lists the layers receiving packets now, smallest first.
func (t *forwardedTrack) available(now time.Time) []*layer {
	var out []*layer
	for i := range t.layers {
		if l := t.layers[i].Load(); l != nil && now.UnixNano()-l.lastPacket.Load() < int64(layerIdle) {
			out = append(out, l)
		}
	}
	return out
}

// requestKeyframe asks the publisher for a keyframe of a plain track, or
// of one layer of a simulcast track, at most once per pliInterval.
func (t *forwardedTrack) requestKeyframe(l *layer) {
	last, ssrc := &t.lastPLI, uint32(t.remote.SSRC())
	if l != nil {
		last, ssrc = &l.lastPLI, l.ssrc
	}
	now := time.Now().UnixNano()
	prev := last.Load()
	if now-prev >= int64(pliInterval) && last.CompareAndSwap(prev, now) {
		t.owner.requestKeyframe(ssrc)
	}
}

// requestAllKeyframes asks for a keyframe of every stream of the track
// (after a pause, say), bypassing the throttle.
func (t *forwardedTrack) requestAllKeyframes() {
	if !t.simulcast {
		t.owner.requestKeyframe(uint32(t.remote.SSRC()))
		return
	}
	for i := range t.layers {
		if l := t.layers[i].Load(); l != nil {
			t.owner.requestKeyframe(l.ssrc)
		}
	}
}

// readFeedback reads a subscriber's RTCP for this track: it answers
// retransmission requests (NACK) from the track's packet cache, and passes
// keyframe requests on to the publisher, throttled: for a simulcast track,
// for the layer that subscriber gets (or is switching to). d is nil for a
// plain track.
func (t *forwardedTrack) readFeedback(sender *webrtc.RTPSender, d *downTrack) {
	buf := make([]byte, 1500)
	r := &resender{buf: make([]byte, 0, cacheMTU)}
	for {
		n, attrs, err := sender.Read(buf)
		if err != nil {
			return
		}
		var pkts []rtcp.Packet
		if attrs != nil {
			pkts, err = attrs.GetRTCPPackets(buf[:n]) // parsed once for pion's interceptors and here
		} else {
			pkts, err = rtcp.Unmarshal(buf[:n])
		}
		if err != nil {
			continue
		}
		for _, pkt := range pkts {
			switch pkt := pkt.(type) {
			case *rtcp.TransportLayerNack:
				for _, pair := range pkt.Nacks {
					pair.Range(func(seq uint16) bool {
						t.resend(d, pkt.MediaSSRC, seq, r)
						return true
					})
				}
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				if d == nil {
					t.requestKeyframe(nil)
					continue
				}
				rank := d.current.Load()
				if target := d.target.Load(); target != rank {
					rank = target
				}
				if l := t.layerAt(int(rank)); l != nil {
					t.requestKeyframe(l)
				}
			}
		}
	}
}

// resender is a feedback reader's scratch space for retransmissions.
type resender struct {
	h   rtp.Header
	buf []byte
}

// resend sends the subscriber (the binding with ssrc) the packet it numbers
// seq again, if the cache still has it. For a plain track the subscriber's
// numbers are the publisher's; a simulcast subscriber's are mapped back to
// the layer and number they were forwarded from.
func (t *forwardedTrack) resend(d *downTrack, ssrc uint32, seq uint16, r *resender) {
	if d == nil {
		if t.cache == nil {
			return
		}
		payload, ok := t.cache.load(seq, &r.h, r.buf)
		if ok {
			t.local.writeTo(ssrc, &r.h, payload)
		}
		return
	}
	l, from, tsOffset, ok := d.source(seq)
	if !ok {
		return
	}
	payload, ok := l.cache.load(from, &r.h, r.buf)
	if !ok {
		return
	}
	r.h.SequenceNumber, r.h.Timestamp = seq, r.h.Timestamp+tsOffset
	d.local.writeTo(ssrc, &r.h, payload)
}

// sampleRates turns the byte counters into smoothed bitrates; called every
// rateInterval by the room.
func (t *forwardedTrack) sampleRates(elapsed time.Duration) {
	sample := func(bytes, rate *atomic.Int64) {
		bps := bytes.Swap(0) * 8 * int64(time.Second) / int64(elapsed)
		if old := rate.Load(); old > 0 {
			bps = (old + bps) / 2 // smooth over about a second
		}
		rate.Store(bps)
	}
	if !t.simulcast {
		sample(&t.bytes, &t.bitrate)
		return
	}
	for i := range t.layers {
		if l := t.layers[i].Load(); l != nil {
			sample(&l.bytes, &l.bitrate)
		}
	}
}
