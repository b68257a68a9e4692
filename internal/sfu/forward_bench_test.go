package sfu

import (
	"fmt"
	"math"
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// BenchmarkForwardPacket measures the SFU's per-packet forwarding work:
// one 1,200-byte VP8 packet written to a published track with N connected
// subscribers (real Pion PeerConnections on loopback: SRTP, interceptors
// and the UDP send included). ns/op and allocs/op are per packet; divide by
// N for the cost per forwarded copy.
//
//	go test ./internal/sfu -run '^$' -bench ForwardPacket -benchmem
func BenchmarkForwardPacket(b *testing.B) {
	for _, n := range []int{1, 10, 50} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) {
			s := newTestSFU(b, func(c *Config) { c.TCPPort, c.TURNPort, c.MaxParticipants = -1, -1, 100 })
			r, _ := s.Room("bench")
			pub := join(b, r, "pub", everything)
			subs := make([]*peer, n)
			for i := range subs {
				subs[i] = join(b, r, fmt.Sprintf("sub%03d", i), Permissions{Subscribe: true})
			}
			pub.publish(Camera)
			eventually(b, "every subscriber to receive", func() bool { return len(connectedSubs(subs, "pub:camera")) == n })
			r.mu.Lock()
			track := r.tracks["pub:camera"]
			r.mu.Unlock()
			close(pub.stop) // from here on only the benchmark writes
			pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SSRC: 1234, Timestamp: 1}, Payload: make([]byte, 1200)}
			buf, _ := pkt.Marshal()
			var scratch rtp.Packet
			b.SetBytes(int64(len(buf) * n))
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				buf[2], buf[3] = byte(i>>8), byte(i) // sequence number
				track.forwardPlain(&scratch, buf)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/copy")
			for _, p := range append(subs, pub) {
				p.close()
			}
		})
	}
}

func connectedSubs(subs []*peer, id string) []*peer {
	var out []*peer
	for _, s := range subs {
		if s.count(id) > 0 {
			out = append(out, s)
		}
	}
	return out
}

// BenchmarkForwardSimulcastPacket measures the simulcast path: one
// 1,200-byte VP8 packet of the top layer, parsed once, checked for a
// keyframe, and renumbered and written for each of N subscribers on that
// layer (real Pion PeerConnections on loopback, as above). ns/op and
// allocs/op are per packet; ns/copy divides by N.
//
//	go test ./internal/sfu -run '^$' -bench ForwardSimulcastPacket -benchmem
func BenchmarkForwardSimulcastPacket(b *testing.B) {
	for _, n := range []int{1, 10, 50} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) {
			s := newTestSFU(b, func(c *Config) { c.TCPPort, c.TURNPort, c.MaxParticipants = -1, -1, 100 })
			r, _ := s.Room("bench")
			pub := join(b, r, "pub", everything)
			subs := make([]*peer, n)
			for i := range subs {
				subs[i] = join(b, r, fmt.Sprintf("sub%03d", i), Permissions{Subscribe: true})
				subs[i].p.estimateOverride.Store(100_000_000)
			}
			pub.publishSimulcast(Camera)
			eventually(b, "every subscriber on the top layer", func() bool {
				for _, c := range subs {
					c.p.mu.Lock()
					d := c.p.downs["pub:camera"]
					c.p.mu.Unlock()
					if d == nil || d.current.Load() != 2 || c.count("pub:camera") == 0 {
						return false
					}
				}
				return true
			})
			r.mu.Lock()
			track := r.tracks["pub:camera"]
			r.mu.Unlock()
			close(pub.stop) // from here on only the benchmark writes
			top := track.layerAt(2)
			// Go on from the publisher's last number, as its next packets would.
			d := subs[0].p.downs["pub:camera"]
			d.mu.Lock()
			seq := d.lastSeq - d.seqOffset + 1
			d.mu.Unlock()
			payload := make([]byte, 1200)
			payload[0], payload[1] = 0x10, 0x01 // a VP8 interframe's head
			pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SSRC: 1234, Timestamp: 1}, Payload: payload}
			buf, _ := pkt.Marshal()
			var scratch rtp.Packet
			b.SetBytes(int64(len(buf) * n))
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				s := seq + uint16(i)
				buf[2], buf[3] = byte(s>>8), byte(s)
				track.forwardPacket(top, &scratch, buf)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/copy")
			if got := d.forwarded; got < int64(b.N) {
				b.Fatalf("%d of %d packets forwarded", got, b.N)
			}
			for _, p := range append(subs, pub) {
				p.close()
			}
		})
	}
}

// discardWriter is the end of a test interceptor chain: where SRTP would
// encrypt and the UDP socket send.
type discardWriter struct{}

func (discardWriter) Write(*rtp.Header, []byte, interceptor.Attributes) (int, error) { return 0, nil }

// chainWriter feeds an interceptor chain as pion's RTPSender does.
type chainWriter struct{ w interceptor.RTPWriter }

func (c chainWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	return c.w.Write(h, payload, nil)
}
func (c chainWriter) Write(b []byte) (int, error) { return len(b), nil }

// TestForwardingAPlainPacketAllocatesNothing checks the SFU's part of the
// forwarding path in steady state — parse, extension strip, the shared
// packet cache, the fan-out to ten subscribers with its counts for sender
// reports, and the interceptors the SFU registers (GCC and TWCC behind a
// closed gate) — down to where pion's SRTP takes over (which draws from a
// pool).
// BenchmarkForwardPacket cannot tell: its subscribers allocate in the same
// process.
func TestForwardingAPlainPacketAllocatesNothing(t *testing.T) {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	ir := &interceptor.Registry{}
	s := &SFU{}
	if err := s.registerCongestionControl(me, ir); err != nil { // a subscribe connection's
		t.Fatal(err)
	}
	local, err := newOutTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "pub:camera", "pub")
	if err != nil {
		t.Fatal(err)
	}
	var bs []binding
	for i := range 10 {
		chain, err := ir.Build(fmt.Sprint("pc", i))
		if err != nil {
			t.Fatal(err)
		}
		defer chain.Close()
		info := &interceptor.StreamInfo{SSRC: uint32(i + 1), ClockRate: 90000, MimeType: webrtc.MimeTypeVP8,
			RTPHeaderExtensions: []interceptor.RTPHeaderExtension{{URI: sdp.TransportCCURI, ID: 3}}}
		bs = append(bs, binding{ssrc: uint32(i + 1), pt: 96, write: chainWriter{chain.BindLocalStream(info, discardWriter{})}, sent: &sentCount{}})
	}
	local.bindings.Store(&bs)
	tr := &forwardedTrack{local: local, cache: newPacketCache()}
	// A browser's packet: its own extensions (a transport-wide number).
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SSRC: 1234, Timestamp: 1}, Payload: make([]byte, 1200)}
	if err := pkt.SetExtension(3, []byte{0, 1}); err != nil {
		t.Fatal(err)
	}
	raw, err := pkt.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var scratch rtp.Packet
	seq := uint16(0)
	forward := func() {
		seq++
		raw[2], raw[3] = byte(seq>>8), byte(seq)
		tr.forwardPlain(&scratch, raw)
	}
	for range cacheSize {
		forward() // fill the cache's slots: steady state
	}
	// Other tests' connections may still be closing and allocating: the
	// least of a few runs is this path's own figure.
	least := math.Inf(1)
	for range 5 {
		least = min(least, testing.AllocsPerRun(1000, forward))
	}
	if least != 0 {
		t.Fatalf("%.1f allocations per forwarded packet (10 subscribers), want 0", least)
	}
}
