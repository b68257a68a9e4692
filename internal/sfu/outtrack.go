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

// outTrack is what the SFU sends on subscribers' connections: a plain
// track's one outTrack is bound to every subscriber's connection, a
// simulcast track has one per subscriber (downTrack). pion binds it to a
// connection once negotiated; each binding has its own SSRC and payload
// type.
//
// It replaces pion's TrackLocalStaticRTP on the forwarding path, whose
// Write parses every packet again and which cannot send to one binding
// alone (a retransmission goes to the subscriber that asked for it, not to
// everyone). Codec matching at Bind is still pion's.
type outTrack struct {
	// match is never written to: it gives the track its ID, stream and
	// kind, and does Bind's codec matching (keeping a binding of its own).
	match *webrtc.TrackLocalStaticRTP

	mu       sync.Mutex                // serialises Bind and Unbind
	bindings atomic.Pointer[[]binding] // copy on write, read per packet

	clockRate uint32
	clock     mediaClock // the newest frame sent, for sender reports
}

// binding is one connection an outTrack is bound to.
type binding struct {
	id    string // pion's binding id, for Unbind
	ssrc  uint32
	pt    uint8
	write webrtc.TrackLocalWriter
	sent  *sentCount
}

// sentCount is what a binding has sent, for its sender reports.
type sentCount struct {
	packets atomic.Uint32
	octets  atomic.Uint32 // payload bytes
}

// mediaClock pairs the RTP timestamp of the newest frame sent with the
// wall-clock time it was sent, so that a sender report can say what RTP
// time it is now. A sequence count keeps the pair consistent for a
// reader without a lock on the forwarding path: odd while it changes.
type mediaClock struct {
	seq atomic.Uint32
	ts  atomic.Uint32
	at  atomic.Int64 // unix nanoseconds
	set atomic.Bool
}

// update records a packet's timestamp sent at now, if it starts a new
// frame (the first packet of a frame: the frame's later packets would
// count the time spent sending it). One writer: the forwarding goroutine.
func (c *mediaClock) update(ts uint32, now int64) {
	if c.set.Load() && c.ts.Load() == ts {
		return
	}
	c.seq.Add(1)
	c.ts.Store(ts)
	c.at.Store(now)
	c.seq.Add(1)
	c.set.Store(true)
}

// read returns the pair, and false before the first packet.
func (c *mediaClock) read() (ts uint32, at int64, ok bool) {
	for {
		v := c.seq.Load()
		ts, at, ok = c.ts.Load(), c.at.Load(), c.set.Load()
		if v%2 == 0 && c.seq.Load() == v {
			return ts, at, ok
		}
	}
}

func newOutTrack(codec webrtc.RTPCodecCapability, id, streamID string) (*outTrack, error) {
	inner, err := webrtc.NewTrackLocalStaticRTP(codec, id, streamID)
	if err != nil {
		return nil, err
	}
	t := &outTrack{match: inner, clockRate: codec.ClockRate}
	t.bindings.Store(&[]binding{})
	return t, nil
}

// Bind is called by pion once a connection has negotiated the track.
func (t *outTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	codec, err := t.match.Bind(ctx)
	if err != nil {
		return codec, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	bs := append(slices.Clone(*t.bindings.Load()), binding{
		id: ctx.ID(), ssrc: uint32(ctx.SSRC()), pt: uint8(codec.PayloadType), write: ctx.WriteStream(),
		sent: &sentCount{},
	})
	t.bindings.Store(&bs)
	return codec, nil
}

// Unbind is called by pion when a connection stops sending the track.
func (t *outTrack) Unbind(ctx webrtc.TrackLocalContext) error {
	err := t.match.Unbind(ctx)
	t.mu.Lock()
	defer t.mu.Unlock()
	bs := slices.DeleteFunc(slices.Clone(*t.bindings.Load()), func(b binding) bool { return b.id == ctx.ID() })
	t.bindings.Store(&bs)
	return err
}

// ID, StreamID, RID and Kind make outTrack a webrtc.TrackLocal.
func (t *outTrack) ID() string                { return t.match.ID() }
func (t *outTrack) StreamID() string          { return t.match.StreamID() }
func (t *outTrack) RID() string               { return t.match.RID() }
func (t *outTrack) Kind() webrtc.RTPCodecType { return t.match.Kind() }

// write sends a packet, sent at now (unix nanoseconds), on every binding.
// h is scratch space: its SSRC and payload type are set for each binding
// in turn. A binding that fails (a closed connection) is cleaned up
// elsewhere.
func (t *outTrack) write(h *rtp.Header, payload []byte, now int64) {
	t.clock.update(h.Timestamp, now)
	for _, b := range *t.bindings.Load() {
		// Each connection adds its own extensions (TWCC) on the way.
		stripExtensions(h)
		h.SSRC, h.PayloadType = b.ssrc, b.pt
		b.sent.packets.Add(1)
		b.sent.octets.Add(uint32(len(payload)))
		_, _ = b.write.WriteRTP(h, payload)
	}
}

// writeTo sends a packet on the binding with that SSRC only (a
// retransmission); it reports false if there is none.
func (t *outTrack) writeTo(ssrc uint32, h *rtp.Header, payload []byte) bool {
	for _, b := range *t.bindings.Load() {
		if b.ssrc == ssrc {
			stripExtensions(h)
			h.SSRC, h.PayloadType = ssrc, b.pt
			b.sent.packets.Add(1)
			b.sent.octets.Add(uint32(len(payload)))
			_, _ = b.write.WriteRTP(h, payload)
			return true
		}
	}
	return false
}

// report is the sender report of the binding with ssrc at now, nil if
// there is none or nothing was sent yet.
func (t *outTrack) report(ssrc uint32, now time.Time) *rtcp.SenderReport {
	ts, at, ok := t.clock.read()
	if !ok {
		return nil
	}
	for _, b := range *t.bindings.Load() {
		if b.ssrc != ssrc {
			continue
		}
		elapsed := max(0, now.UnixNano()-at)
		return &rtcp.SenderReport{
			SSRC:        ssrc,
			NTPTime:     ntpTime(now),
			RTPTime:     ts + uint32(elapsed*int64(t.clockRate)/int64(time.Second)),
			PacketCount: b.sent.packets.Load(),
			OctetCount:  b.sent.octets.Load(),
		}
	}
	return nil
}

// ntpTime is t in NTP's 64-bit format: seconds since 1900, and fractions.
func ntpTime(t time.Time) uint64 {
	const since1900 = 2_208_988_800 // seconds from 1900 to 1970
	secs := uint64(t.Unix()) + since1900
	frac := uint64(t.Nanosecond()) << 32 / uint64(time.Second)
	return secs<<32 | frac
}
