package sfu

import (
	"fmt"
	"hash/crc32"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// lossy drops the first copy of every seventh video packet a subscriber
// receives, below pion's NACK generator, which then asks for it again;
// it remembers what it dropped to check what comes back. It also counts
// the packets stamped with a transport-wide sequence number (TWCC).
type lossy struct {
	drop    bool
	twcc    atomic.Int64
	mu      sync.Mutex
	dropped map[uint16]uint32 // sequence number → payload checksum, until it comes back
	lost    []uint16          // every number dropped, in order
	back    map[uint16]bool   // numbers that came back with the right payload
	wrong   []string          // numbers that came back with another payload
	passed  int               // packets seen
}

func newLossy(drop bool) *lossy {
	return &lossy{drop: drop, dropped: map[uint16]uint32{}, back: map[uint16]bool{}}
}

func (l *lossy) NewInterceptor(string) (interceptor.Interceptor, error) { return l, nil }

func (l *lossy) BindRTCPReader(r interceptor.RTCPReader) interceptor.RTCPReader { return r }
func (l *lossy) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter { return w }
func (l *lossy) BindLocalStream(_ *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	return w
}
func (l *lossy) UnbindLocalStream(*interceptor.StreamInfo)  {}
func (l *lossy) UnbindRemoteStream(*interceptor.StreamInfo) {}
func (l *lossy) Close() error                               { return nil }

func (l *lossy) BindRemoteStream(info *interceptor.StreamInfo, r interceptor.RTPReader) interceptor.RTPReader {
	var twccID uint8
	for _, e := range info.RTPHeaderExtensions {
		if e.URI == sdp.TransportCCURI {
			twccID = uint8(e.ID)
		}
	}
	video := strings.HasPrefix(info.MimeType, "video/") && !strings.HasSuffix(info.MimeType, "/rtx")
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		for {
			n, a, err := r.Read(b, a)
			if err != nil {
				return n, a, err
			}
			var pkt rtp.Packet
			if pkt.Unmarshal(b[:n]) != nil {
				return n, a, nil
			}
			if twccID != 0 && pkt.GetExtension(twccID) != nil {
				l.twcc.Add(1)
			}
			if l.drop && video && !l.pass(pkt.SequenceNumber, pkt.Payload) {
				continue
			}
			return n, a, nil
		}
	})
}

// pass decides a packet's fate: the first copy of every seventh number
// is dropped; its second copy must carry the same payload.
func (l *lossy) pass(seq uint16, payload []byte) bool {
	sum := crc32.ChecksumIEEE(payload)
	l.mu.Lock()
	defer l.mu.Unlock()
	if want, ok := l.dropped[seq]; ok {
		delete(l.dropped, seq)
		if want == sum {
			l.back[seq] = true
		} else {
			l.wrong = append(l.wrong, fmt.Sprint(seq))
		}
		return true
	}
	// The first packets pass: the NACK generator starts from the first
	// number it sees and would never miss one lost before it.
	l.passed++
	if seq%7 != 0 || l.back[seq] || len(l.lost) >= 60 || l.passed <= 10 {
		return true
	}
	l.dropped[seq] = sum
	l.lost = append(l.lost, seq)
	return false
}

// state returns how many packets were dropped, how many of them came back
// intact, and the numbers that came back with another payload.
func (l *lossy) state() (lost, back int, wrong []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, seq := range l.lost {
		if l.back[seq] {
			back++
		}
	}
	return len(l.lost), back, append([]string(nil), l.wrong...)
}

// lossyClientAPI is clientAPI with packets dropped on the way in, before
// pion's NACK generator sees them. They are dropped after SRTP, which has
// seen their numbers: its replay check is off, as a packet lost on the
// network would never have reached it.
func lossyClientAPI(t testing.TB, l *lossy) *webrtc.API {
	t.Helper()
	se := webrtc.SettingEngine{}
	se.DisableSRTPReplayProtection(true)
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
	ir.Add(l) // first: the nearest the network, so the NACK generator sees the loss
	if err := webrtc.RegisterDefaultInterceptors(me, ir); err != nil {
		t.Fatal(err)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
}

// waitForRetransmissions waits until 30 packets were dropped and every one
// came back with its own payload.
func waitForRetransmissions(t *testing.T, l *lossy) {
	t.Helper()
	eventually(t, "every dropped packet to come back after a NACK", func() bool {
		lost, back, wrong := l.state()
		if len(wrong) > 0 {
			t.Fatalf("retransmissions with another packet's payload: %s", strings.Join(wrong, ", "))
		}
		return lost >= 30 && back == lost
	})
}

func TestLostPacketsOfAPlainTrackAreResentOnNACK(t *testing.T) {
	s := newTestSFU(t)
	r, _ := s.Room("nack")
	pub := join(t, r, "pub", everything)
	loss := newLossy(true)
	sub := joinWith(t, r, "sub", Permissions{Subscribe: true}, lossyClientAPI(t, loss), false)
	// A subscriber that loses nothing is not disturbed by the other's NACKs.
	other := join(t, r, "other", Permissions{Subscribe: true})
	pub.publish(Camera)
	flowing(t, sub, 20, "pub:camera")
	waitForRetransmissions(t, loss)
	n := other.count("pub:camera")
	flowing(t, other, n+20, "pub:camera")
}

func TestLostPacketsOfASimulcastTrackAreResentOnNACK(t *testing.T) {
	s := newTestSFU(t)
	r, _ := s.Room("nack-simulcast")
	pub := join(t, r, "pub", everything)
	loss := newLossy(true)
	sub := joinWith(t, r, "sub", Permissions{Subscribe: true}, lossyClientAPI(t, loss), false)
	sub.record.Store(true)
	sub.p.estimateOverride.Store(100_000_000)
	pub.publishSimulcast(Camera)
	// The subscriber's numbers are the SFU's, not the layer's: each NACK is
	// mapped back, across the switches from the low layer to the top.
	eventually(t, "the subscriber to reach the top layer", func() bool { return sub.onLayer("pub:camera", 2, 30) })
	waitForRetransmissions(t, loss)
}

func TestOnlySubscribersOfSimulcastRunCongestionControl(t *testing.T) {
	s := newTestSFU(t)
	r, _ := s.Room("gcc-gate")
	pub := join(t, r, "pub", everything)
	seen := newLossy(false)
	sub := joinWith(t, r, "sub", Permissions{Subscribe: true}, lossyClientAPI(t, seen), false)
	pub.publish(Microphone, Camera)
	flowing(t, sub, 100, "pub:microphone", "pub:camera")
	if n := seen.twcc.Load(); n != 0 || sub.p.ccGate.on.Load() {
		t.Fatalf("plain tracks only: %d packets carried a TWCC sequence number", n)
	}
	if !strings.Contains(sub.sub.RemoteDescription().SDP, sdp.TransportCCURI) {
		t.Fatal("TWCC is not negotiated: the test would prove nothing")
	}
	// A simulcast screen makes the connection's layer choice need GCC.
	other := join(t, r, "other", everything)
	other.publishSimulcast(Screen)
	flowing(t, sub, 50, "other:screen")
	eventually(t, "TWCC sequence numbers on the subscriber's packets", func() bool { return seen.twcc.Load() > 50 })
	eventually(t, "TWCC feedback to reach the estimator", func() bool {
		return sub.p.estimate() > 0 && sub.p.estimate() != bweInitial
	})
}

func TestAudioIsNotCached(t *testing.T) {
	// Only video asks for retransmissions (browsers do not NACK Opus).
	s := newTestSFU(t)
	r, _ := s.Room("audio")
	pub := join(t, r, "pub", everything)
	sub := join(t, r, "sub", Permissions{Subscribe: true})
	pub.publish(Microphone, Camera)
	flowing(t, sub, 20, "pub:microphone", "pub:camera")
	r.mu.Lock()
	mic, cam := r.tracks["pub:microphone"], r.tracks["pub:camera"]
	r.mu.Unlock()
	if mic.cache != nil || cam.cache == nil {
		t.Fatalf("caches: microphone %v, camera %v", mic.cache != nil, cam.cache != nil)
	}
}
