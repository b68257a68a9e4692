package sfu

import (
	"sync"

	"github.com/pion/rtp"
)

// packetCache keeps the last packets of one published video stream (a
// plain track, or one simulcast layer) so that the SFU can answer every
// subscriber's retransmission requests (NACK) from one copy. pion's NACK
// responder would keep a copy of every packet per subscriber instead: with
// 50 subscribers, 50 copies of the same packet, made on the forwarding
// path (docs/PERFORMANCE.md).
//
// The cache is indexed by the publisher's sequence number; a subscriber
// whose numbers were rewritten (simulcast) maps them back first.
type packetCache struct {
	mu    sync.Mutex
	slots []cachedPacket // a power of two, indexed by sequence number
}

// cachedPacket is one packet as it is forwarded: its header without the
// publisher's extensions, and its payload.
type cachedPacket struct {
	valid   bool
	marker  bool
	seq     uint16
	ts      uint32
	padding byte
	payload []byte // cap cacheMTU, reused
}

// cacheSize is how many packets of a video stream are kept: over three
// seconds of a 1.5 Mbit/s camera (about 150 packets a second), many round
// trips. A subscriber that misses an older packet asks for a keyframe
// (PLI), as browsers do. The memory is per published stream, not per
// subscriber: 512 × 1,500 B, about 0.75 MB.
const cacheSize = 512

// cacheMTU bounds a cached packet's payload; larger ones are not kept.
const cacheMTU = 1500

func newPacketCache() *packetCache {
	return &packetCache{slots: make([]cachedPacket, cacheSize)}
}

// store keeps a copy of pkt, replacing the packet cacheSize numbers older.
func (c *packetCache) store(h *rtp.Header, payload []byte) {
	if len(payload) > cacheMTU {
		return
	}
	c.mu.Lock()
	s := &c.slots[int(h.SequenceNumber)&(len(c.slots)-1)]
	if s.payload == nil {
		s.payload = make([]byte, 0, cacheMTU)
	}
	s.valid, s.marker, s.seq, s.ts, s.padding = true, h.Marker, h.SequenceNumber, h.Timestamp, h.PaddingSize
	s.payload = append(s.payload[:0], payload...)
	c.mu.Unlock()
}

// load copies the packet numbered seq into h and buf; it reports false when
// the packet is no longer (or was never) kept.
func (c *packetCache) load(seq uint16, h *rtp.Header, buf []byte) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := &c.slots[int(seq)&(len(c.slots)-1)]
	if !s.valid || s.seq != seq {
		return nil, false
	}
	h.Version, h.Marker, h.SequenceNumber, h.Timestamp, h.PaddingSize = 2, s.marker, s.seq, s.ts, s.padding
	h.Padding = s.padding > 0
	return append(buf[:0], s.payload...), true
}
