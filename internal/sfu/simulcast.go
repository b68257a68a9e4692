package sfu

import (
	"encoding/binary"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
)

// A simulcast publisher sends one video source as up to three encodings
// (layers) of different sizes, each its own RTP stream named by a rid. The
// SFU keeps them as one logical track and forwards exactly one layer to
// each subscriber, rewriting sequence numbers and timestamps so that a
// layer switch looks to the subscriber like one continuous stream.

// maxLayers is the most encodings a simulcast offer may send per track.
const maxLayers = 3

// layerIdle: a layer with no packet for this long is unavailable (a
// browser stops its top layer when its own uplink or CPU is short).
const layerIdle = time.Second

// nominalBitrates are assumed for a layer (by rank, for 1, 2 or 3 layers)
// until its real bitrate has been measured.
var nominalBitrates = [maxLayers + 1][]int64{
	nil,
	{1_500_000},
	{300_000, 1_500_000},
	{150_000, 500_000, 1_500_000},
}

// layer is one simulcast encoding of a published video track.
type layer struct {
	rid    string
	rank   int // 0 is the smallest
	remote *webrtc.TrackRemote
	ssrc   uint32

	bytes      atomic.Int64 // received since the last rate sample
	bitrate    atomic.Int64 // bits per second, smoothed; 0 until measured
	lastPacket atomic.Int64 // unix nanoseconds
	width      atomic.Int32 // from the last keyframe (VP8), 0 when unknown
	height     atomic.Int32
	lastPLI    atomic.Int64 // unix nanoseconds of the last keyframe request

	cache *packetCache // for subscribers' NACKs
}

// rankRIDs orders a track's rids from the smallest layer to the largest:
// the common names (q, h, f; or l, m, h; or numbers, 0 smallest) say it,
// otherwise the order of the offer's a=simulcast line, which browsers
// fill from their encodings, smallest first by convention.
func rankRIDs(rids []string) map[string]int {
	out := make(map[string]int, len(rids))
	for _, names := range [][]string{{"q", "h", "f"}, {"l", "m", "h"}, {"low", "mid", "high"}} {
		if ranked := rankByList(rids, names); ranked != nil {
			return ranked
		}
	}
	sorted := slices.Clone(rids)
	numeric := true
	for _, r := range rids {
		if _, err := strconv.Atoi(r); err != nil {
			numeric = false
		}
	}
	if numeric {
		slices.SortFunc(sorted, func(a, b string) int {
			x, _ := strconv.Atoi(a)
			y, _ := strconv.Atoi(b)
			return x - y
		})
	}
	for i, r := range sorted {
		out[r] = i
	}
	return out
}

// rankByList ranks rids that are all taken from names, in names' order.
func rankByList(rids, names []string) map[string]int {
	var present []string
	for _, n := range names {
		for _, r := range rids {
			if strings.EqualFold(r, n) {
				present = append(present, r)
			}
		}
	}
	if len(present) != len(rids) {
		return nil
	}
	out := make(map[string]int, len(rids))
	for i, r := range present {
		out[r] = i
	}
	return out
}

// keyframeStart reports whether an RTP payload is the first packet of a
// keyframe, where a subscriber can start decoding a new layer; for VP8 it
// also returns the frame's size. H264 counts from the SPS, which browsers
// send (alone or aggregated) at the head of every IDR.
func keyframeStart(mime string, payload []byte) (ok bool, width, height int) {
	switch {
	case strings.EqualFold(mime, webrtc.MimeTypeVP8):
		return vp8KeyframeStart(payload)
	case strings.EqualFold(mime, webrtc.MimeTypeH264):
		return h264KeyframeStart(payload), 0, 0
	}
	return false, 0, 0
}

func vp8KeyframeStart(payload []byte) (bool, int, int) {
	var vp8 codecs.VP8Packet
	frame, err := vp8.Unmarshal(payload)
	if err != nil || vp8.S != 1 || vp8.PID != 0 || len(frame) < 3 {
		return false, 0, 0
	}
	if frame[0]&0x01 != 0 { // the frame tag's P bit: 1 is an interframe
		return false, 0, 0
	}
	// A keyframe's header: start code 9d 01 2a, then 14-bit width and
	// height, little-endian (RFC 6386 section 9.1).
	if len(frame) < 10 || frame[3] != 0x9d || frame[4] != 0x01 || frame[5] != 0x2a {
		return true, 0, 0
	}
	w := int(binary.LittleEndian.Uint16(frame[6:]) & 0x3fff)
	h := int(binary.LittleEndian.Uint16(frame[8:]) & 0x3fff)
	return true, w, h
}

func h264KeyframeStart(payload []byte) bool {
	if len(payload) < 2 {
		return false
	}
	const sps, stapA = 7, 24
	switch payload[0] & 0x1f {
	case sps:
		return true
	case stapA:
		for i := 1; i+2 < len(payload); {
			size := int(binary.BigEndian.Uint16(payload[i:]))
			if payload[i+2]&0x1f == sps {
				return true
			}
			i += 2 + size
		}
	}
	return false
}

// guardPackets: after a switch, packets of the new layer older than its
// keyframe are dropped until the layer is this many packets further.
const guardPackets = 1000

// downTrack is one subscriber's copy of a simulcast track: one layer at a
// time, renumbered into a single stream.
type downTrack struct {
	track *forwardedTrack
	sub   *Participant
	local *outTrack

	target  atomic.Int32 // the rank the allocator wants, -1 none
	current atomic.Int32 // the rank being forwarded, -1 before the first keyframe

	mu        sync.Mutex // serialises the layers' goroutines writing here
	started   bool       // a packet has been sent
	switchSeq uint16     // the current layer's first forwarded sequence number
	guard     bool       // still dropping packets older than switchSeq
	seqOffset uint16     // added to the layer's sequence numbers
	tsOffset  uint32     // added to the layer's timestamps
	lastSeq   uint16     // the newest sequence number sent
	lastTS    uint32     // and its timestamp
	lastAt    int64      // and when it was sent, unix nanoseconds
	forwarded int64      // packets sent
	hdr       rtp.Header // the packet being sent, renumbered

	// The last layer switches, newest at spans[(nspans-1)%len], to map a
	// NACKed number back to the layer and number it was sent from.
	spans  [4]span
	nspans int
}

// span is the run of a subscriber's sequence numbers sent from one layer.
type span struct {
	layer     *layer
	first     uint16 // the subscriber's number of its first packet
	seqOffset uint16
	tsOffset  uint32
}

func newDownTrack(t *forwardedTrack, sub *Participant, local *outTrack) *downTrack {
	d := &downTrack{track: t, sub: sub, local: local}
	d.target.Store(-1)
	d.current.Store(-1)
	return d
}

// write forwards one packet of layer l if it belongs to the subscriber's
// layer, switching to the target layer at its keyframe.
func (d *downTrack) write(l *layer, pkt *rtp.Packet, keyframe bool, now int64) {
	rank := int32(l.rank)
	if rank != d.current.Load() && (rank != d.target.Load() || !keyframe) {
		return // the common case for the other layers: no lock taken
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if rank != d.current.Load() {
		if rank != d.target.Load() || !keyframe {
			return
		}
		d.switchTo(l, pkt, now)
	} else if d.guard {
		since := int16(pkt.SequenceNumber - d.switchSeq)
		if since < 0 {
			return // late from before the switch: its number was given away
		}
		// Far enough past the switch that nothing that old can arrive;
		// comparing longer would misread the wrap of sequence numbers.
		d.guard = since < guardPackets
	}
	// The publisher's extension ids mean nothing on the subscriber's
	// connection (its rid would be read as something else, its
	// transport-wide number as a mid: see forward); pion adds the
	// subscriber's own (TWCC) on the way out. The scratch header keeps
	// its own extension slice, so that adding one does not allocate.
	ext := d.hdr.Extensions
	d.hdr = pkt.Header
	d.hdr.Extensions = ext
	stripExtensions(&d.hdr)
	d.hdr.SequenceNumber += d.seqOffset
	d.hdr.Timestamp += d.tsOffset
	if !d.started || int16(d.hdr.SequenceNumber-d.lastSeq) > 0 {
		d.lastSeq, d.lastTS, d.lastAt = d.hdr.SequenceNumber, d.hdr.Timestamp, now
	}
	d.started = true
	d.forwarded++
	d.local.write(&d.hdr, pkt.Payload, now) // a closed subscriber is cleaned up elsewhere
}

// source maps a sequence number the subscriber was sent to the layer and
// number it came from, and the timestamp offset it was sent with; it
// reports false for a number not sent, or sent before the last few
// switches.
func (d *downTrack) source(seq uint16) (l *layer, from uint16, tsOffset uint32, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.started || int16(seq-d.lastSeq) > 0 || d.lastSeq-seq >= 4*cacheSize {
		return nil, 0, 0, false
	}
	for i := range min(d.nspans, len(d.spans)) {
		s := &d.spans[(d.nspans-1-i)%len(d.spans)]
		if int16(seq-s.first) >= 0 {
			return s.layer, seq - s.seqOffset, s.tsOffset, true
		}
	}
	return nil, 0, 0, false
}

// switchTo makes layer l current from its keyframe pkt: the next sequence
// number follows the last one sent, and the timestamp advances by the
// wall-clock time since the last packet, so the receiver sees neither a
// gap nor time running backwards.
func (d *downTrack) switchTo(l *layer, pkt *rtp.Packet, now int64) {
	if d.started {
		d.seqOffset = d.lastSeq + 1 - pkt.SequenceNumber
		clock := int64(d.track.clockRate)
		ticks := uint32(max(1, (now-d.lastAt)*clock/int64(time.Second)))
		d.tsOffset = d.lastTS + ticks - pkt.Timestamp
	}
	d.switchSeq, d.guard = pkt.SequenceNumber, true
	d.spans[d.nspans%len(d.spans)] = span{layer: l, first: pkt.SequenceNumber + d.seqOffset, seqOffset: d.seqOffset, tsOffset: d.tsOffset}
	d.nspans++
	d.current.Store(int32(l.rank))
	d.sub.signal(Signal{Type: "layer", TrackID: d.track.id, Layer: &LayerInfo{
		RID: l.rid, Width: int(l.width.Load()), Height: int(l.height.Load()),
	}})
}

// LayerInfo tells a subscriber which simulcast layer of a track it now
// receives (signal "layer").
type LayerInfo struct {
	RID    string `json:"rid"`
	Width  int    `json:"width,omitempty"`
	Height int    `json:"height,omitempty"`
}
