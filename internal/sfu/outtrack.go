package sfu

import (
	"slices"
	"sync"
	"sync/atomic"

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
}

// binding is one connection an outTrack is bound to.
type binding struct {
	id    string // pion's binding id, for Unbind
	ssrc  uint32
	pt    uint8
	write webrtc.TrackLocalWriter
}

func newOutTrack(codec webrtc.RTPCodecCapability, id, streamID string) (*outTrack, error) {
	inner, err := webrtc.NewTrackLocalStaticRTP(codec, id, streamID)
	if err != nil {
		return nil, err
	}
	t := &outTrack{match: inner}
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

// write sends a packet on every binding. h is scratch space: its SSRC and
// payload type are set for each binding in turn. A binding that fails (a
// closed connection) is cleaned up elsewhere.
func (t *outTrack) write(h *rtp.Header, payload []byte) {
	for _, b := range *t.bindings.Load() {
		// Each connection adds its own extensions (TWCC) on the way.
		stripExtensions(h)
		h.SSRC, h.PayloadType = b.ssrc, b.pt
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
			_, _ = b.write.WriteRTP(h, payload)
			return true
		}
	}
	return false
}
