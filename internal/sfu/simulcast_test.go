package sfu

import (
	"encoding/binary"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// The test publisher's three layers: sizes, packets per frame and bytes
// per packet (about 0.1, 0.5 and 1.3 Mbit/s at 50 frames a second).
var testLayers = []struct {
	rid           string
	width, height int
	packets, size int
}{
	{"q", 320, 180, 1, 200},
	{"h", 640, 360, 2, 600},
	{"f", 1280, 720, 3, 1100},
}

// simulcastPub is a browser stand-in sending one camera as three VP8
// layers. It sends a keyframe on a layer first and then only when the SFU
// asks for one on that layer, so a switch proves the request went out.
type simulcastPub struct {
	wantKey   [3]atomic.Bool
	keyframes [3]atomic.Int64 // keyframes sent per layer
}

func (c *peer) publishSimulcast(src Source) *simulcastPub {
	c.t.Helper()
	pc, err := c.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		c.t.Fatal(err)
	}
	c.pub = pc
	var tracks []*webrtc.TrackLocalStaticRTP
	for _, l := range testLayers {
		tr, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, string(src), c.p.id, webrtc.WithRTPStreamID(l.rid))
		if err != nil {
			c.t.Fatal(err)
		}
		tracks = append(tracks, tr)
	}
	tc, err := pc.AddTransceiverFromTrack(tracks[0], webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		c.t.Fatal(err)
	}
	sender := tc.Sender()
	for _, tr := range tracks[1:] {
		if err := sender.AddEncoding(tr); err != nil {
			c.t.Fatal(err)
		}
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := setLocalAndGather(pc, offer); err != nil {
		c.t.Fatal(err)
	}
	if !strings.Contains(pc.LocalDescription().SDP, "a=simulcast:send q;h;f") {
		c.t.Fatalf("the offer is not simulcast:\n%s", pc.LocalDescription().SDP)
	}
	answer, err := c.p.Publish(pc.LocalDescription().SDP, map[string]Source{tc.Mid(): src})
	if err != nil {
		c.t.Fatalf("publish simulcast: %v", err)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		c.t.Fatal(err)
	}
	var midID, ridID uint8
	for _, ext := range sender.GetParameters().HeaderExtensions {
		switch ext.URI {
		case sdp.SDESMidURI:
			midID = uint8(ext.ID)
		case sdp.SDESRTPStreamIDURI:
			ridID = uint8(ext.ID)
		}
	}
	if midID == 0 || ridID == 0 {
		c.t.Fatal("the mid and rid header extensions were not negotiated")
	}
	sp := &simulcastPub{}
	for i, l := range testLayers {
		sp.wantKey[i].Store(true)
		go func() {
			for {
				pkts, _, err := sender.ReadSimulcastRTCP(l.rid)
				if err != nil {
					return
				}
				for _, p := range pkts {
					switch p.(type) {
					case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
						sp.wantKey[i].Store(true)
					}
				}
			}
		}()
	}
	go sp.send(c, tracks, tc.Mid(), midID, ridID)
	return sp
}

// send writes a frame on every layer each 20 ms.
func (sp *simulcastPub) send(c *peer, tracks []*webrtc.TrackLocalStaticRTP, mid string, midID, ridID uint8) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var seq [3]uint16
	var ts uint32
	for {
		select {
		case <-c.stop:
			return
		case <-tick.C:
		}
		ts += 90000 / 50
		for i, l := range testLayers {
			key := sp.wantKey[i].Swap(false)
			if key {
				sp.keyframes[i].Add(1)
			}
			for k := range l.packets {
				payload := make([]byte, l.size)
				if k == 0 {
					payload[0] = 0x10 // VP8 descriptor: start of partition 0
					payload[1] = 0x01 // frame tag: an interframe
					if key {
						payload[1] = 0x00
						copy(payload[4:], []byte{0x9d, 0x01, 0x2a})
						binary.LittleEndian.PutUint16(payload[7:], uint16(l.width))
						binary.LittleEndian.PutUint16(payload[9:], uint16(l.height))
					}
				}
				// Each packet's own number, so that a retransmission of the
				// wrong one is told apart (nack_test.go).
				binary.BigEndian.PutUint16(payload[len(payload)-3:], seq[i])
				payload[len(payload)-1] = byte(i)
				pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq[i], Timestamp: ts, Marker: k == l.packets-1}, Payload: payload}
				seq[i]++
				_ = pkt.Header.SetExtension(midID, []byte(mid))
				_ = pkt.Header.SetExtension(ridID, []byte(l.rid))
				if err := tracks[i].WriteRTP(pkt); err != nil {
					return
				}
			}
		}
	}
}

// keep records a received packet.
func (c *peer) keep(trackID string, raw []byte) {
	var p rtp.Packet
	if p.Unmarshal(raw) != nil || len(p.Payload) < 2 {
		return
	}
	rp := recvPacket{seq: p.SequenceNumber, ts: p.Timestamp, layer: p.Payload[len(p.Payload)-1],
		keyframe: p.Payload[0] == 0x10 && p.Payload[1]&0x01 == 0}
	c.mu.Lock()
	c.recorded[trackID] = append(c.recorded[trackID], rp)
	c.mu.Unlock()
}

func (c *peer) recording(trackID string) []recvPacket {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]recvPacket(nil), c.recorded[trackID]...)
}

// onLayer reports whether the last n packets received on a track all came
// from one layer.
func (c *peer) onLayer(trackID string, layer byte, n int) bool {
	rec := c.recording(trackID)
	if len(rec) < n {
		return false
	}
	for _, p := range rec[len(rec)-n:] {
		if p.layer != layer {
			return false
		}
	}
	return true
}

// checkContinuous fails unless the subscriber's packets, put in sequence
// order, have no missing number and time never goes backwards, and every
// change of layer starts on a keyframe. The newest packets are left out:
// a lost one may still be on its way again after a NACK.
func checkContinuous(t *testing.T, c *peer, trackID string) (switches int) {
	t.Helper()
	rec := c.recording(trackID)
	if len(rec) < 100 {
		t.Fatalf("only %d packets recorded", len(rec))
	}
	bySeq := map[int64]recvPacket{}
	var first, last, prev int64
	for i, p := range rec {
		// Unwrap 16-bit sequence numbers around the previous one.
		s := int64(p.seq)
		if i > 0 {
			s = prev + int64(int16(p.seq-uint16(prev)))
		}
		prev = s
		if i == 0 || s < first {
			first = s
		}
		last = max(last, s)
		bySeq[s] = p
	}
	end := last - 50
	var before recvPacket
	for s := first; s <= end; s++ {
		p, ok := bySeq[s]
		if !ok {
			t.Fatalf("sequence number %d (of %d..%d) never arrived: a gap", s, first, last)
		}
		if s > first {
			if int32(p.ts-before.ts) < 0 {
				t.Fatalf("timestamp went back at %d: %d after %d", s, p.ts, before.ts)
			}
			if p.layer != before.layer {
				switches++
				if !p.keyframe {
					t.Fatalf("layer %d → %d at %d without a keyframe", before.layer, p.layer, s)
				}
			}
		}
		before = p
	}
	return switches
}

func TestSimulcastEachSubscriberGetsTheLayerForItsSize(t *testing.T) {
	s := newTestSFU(t)
	r, _ := s.Room("simulcast")
	pub := join(t, r, "pub", everything)
	small := join(t, r, "small", Permissions{Subscribe: true})
	full := join(t, r, "full", Permissions{Subscribe: true})
	for _, c := range []*peer{small, full} {
		c.record.Store(true)
		// Plenty of bandwidth: only the size decides here.
		c.p.estimateOverride.Store(100_000_000)
	}
	sp := pub.publishSimulcast(Camera)
	const id = "pub:camera"
	eventually(t, "one logical track for three layers", func() bool {
		tr := r.Tracks()
		return len(tr) == 1 && tr[0].Simulcast && tr[0].ID == id
	})
	eventually(t, "the subscribers to state their sizes", func() bool {
		return small.p.SetTrackPreference(id, 320, 180) == nil && full.p.SetTrackPreference(id, 1280, 720) == nil
	})
	eventually(t, "the small viewer to get the low layer", func() bool { return small.onLayer(id, 0, 50) })
	eventually(t, "the full viewer to get the high layer", func() bool { return full.onLayer(id, 2, 50) })
	eventually(t, "the full viewer to be told its layer", func() bool {
		full.mu.Lock()
		defer full.mu.Unlock()
		n := len(full.layers)
		return n > 0 && full.layers[n-1].TrackID == id && full.layers[n-1].Layer.RID == "f" && full.layers[n-1].Layer.Width == 1280
	})
	if got := full.receivedTracks(); len(got) != 1 {
		t.Fatalf("the full viewer receives %v, want one track for the three layers", got)
	}

	// A smaller tile: the full viewer moves to the middle layer, at a
	// keyframe asked of that layer, without a gap in its numbering.
	keysBefore := sp.keyframes[1].Load()
	if err := full.p.SetTrackPreference(id, 640, 360); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the full viewer to move to the middle layer", func() bool { return full.onLayer(id, 1, 50) })
	if sp.keyframes[1].Load() == keysBefore {
		t.Fatal("the switch did not ask the middle layer for a keyframe")
	}
	flowing(t, full, full.count(id)+60, id)
	if n := checkContinuous(t, full, id); n < 1 {
		t.Fatalf("%d layer switches seen, want at least the one down to h", n)
	}
	checkContinuous(t, small, id)

	if err := full.p.SetTrackPreference(id, -1, 0); !errors.Is(err, ErrBadPreference) {
		t.Fatalf("a negative size: %v", err)
	}
	if err := full.p.SetTrackPreference("nobody:camera", 10, 10); !errors.Is(err, ErrNotPublished) {
		t.Fatalf("an unknown track: %v", err)
	}
}

func TestSimulcastFollowsTheBandwidthEstimate(t *testing.T) {
	s := newTestSFU(t)
	r, _ := s.Room("bwe")
	pub := join(t, r, "pub", everything)
	sub := join(t, r, "sub", Permissions{Subscribe: true})
	sub.record.Store(true)
	sub.p.estimateOverride.Store(100_000_000)
	pub.publishSimulcast(Camera)
	const id = "pub:camera"
	eventually(t, "the top layer with plenty of bandwidth", func() bool { return sub.onLayer(id, 2, 50) })

	// About 0.8 Mbit/s: the middle layer (0.5) fits, the top (1.3) does not.
	sub.p.estimateOverride.Store(800_000)
	eventually(t, "the middle layer once the estimate drops", func() bool { return sub.onLayer(id, 1, 50) })
	// 0.2 Mbit/s: only the low layer.
	sub.p.estimateOverride.Store(200_000)
	eventually(t, "the low layer once the estimate drops again", func() bool { return sub.onLayer(id, 0, 50) })
	flowing(t, sub, sub.count(id)+60, id)
	// Top to middle to low. The stream may have started on the low layer
	// and gone up, or (when the allocator chose before the low layer's
	// first keyframe) on the top one directly: two switches at least.
	if n := checkContinuous(t, sub, id); n < 2 {
		t.Fatalf("%d layer switches seen, want at least 2", n)
	}
}

func TestSubscribersHaveARealBandwidthEstimator(t *testing.T) {
	s := newTestSFU(t)
	r, _ := s.Room("gcc")
	pub := join(t, r, "pub", everything)
	sub := join(t, r, "sub", Permissions{Subscribe: true})
	pub.publishSimulcast(Camera)
	flowing(t, sub, 50, "pub:camera")
	if sub.p.estimator == nil {
		t.Fatal("the subscribe connection has no bandwidth estimator")
	}
	if !strings.Contains(sub.sub.RemoteDescription().SDP, "transport-cc") ||
		!strings.Contains(sub.sub.RemoteDescription().SDP, sdp.TransportCCURI) {
		t.Fatal("the subscribe offer does not ask for TWCC feedback")
	}
	// GCC moves off its starting guess only on the subscriber's feedback.
	eventually(t, "TWCC feedback to reach the estimator", func() bool {
		return sub.p.estimate() > 0 && sub.p.estimate() != bweInitial
	})
}

func TestSimulcastOfferChecks(t *testing.T) {
	s := newTestSFU(t)
	r, _ := s.Room("checks")
	customer := join(t, r, "customer", Permissions{Publish: []Source{Microphone, Screen}, Subscribe: true})
	// A simulcast camera is still a camera: refused for a help customer.
	pc, err := customer.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	for i, rid := range []string{"q", "h", "f"} {
		tr, _ := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "camera", "customer", webrtc.WithRTPStreamID(rid))
		if i == 0 {
			if _, err := pc.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := pc.GetTransceivers()[0].Sender().AddEncoding(tr); err != nil {
			t.Fatal(err)
		}
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	mid := pc.GetTransceivers()[0].Mid()
	if _, err := customer.p.Publish(offer.SDP, map[string]Source{mid: Camera}); !errors.Is(err, ErrForbiddenSource) {
		t.Fatalf("a simulcast camera from a help customer: %v", err)
	}
	// Four layers are too many.
	four := strings.Replace(offer.SDP, "a=simulcast:send q;h;f", "a=simulcast:send q;h;f;x", 1)
	if _, err := customer.p.Publish(four, map[string]Source{mid: Screen}); !errors.Is(err, ErrTooManyTracks) {
		t.Fatalf("four layers: %v", err)
	}
	// Declared as the screen, which the customer may share, it is accepted.
	if _, err := customer.p.Publish(offer.SDP, map[string]Source{mid: Screen}); err != nil {
		t.Fatalf("a simulcast screen: %v", err)
	}
}

func TestRankRIDs(t *testing.T) {
	cases := []struct {
		rids []string
		want map[string]int
	}{
		{[]string{"f", "h", "q"}, map[string]int{"q": 0, "h": 1, "f": 2}},
		{[]string{"2", "0", "1"}, map[string]int{"0": 0, "1": 1, "2": 2}},
		{[]string{"low", "high"}, map[string]int{"low": 0, "high": 1}},
		{[]string{"a", "b"}, map[string]int{"a": 0, "b": 1}},
	}
	for _, c := range cases {
		got := rankRIDs(c.rids)
		for rid, rank := range c.want {
			if got[rid] != rank {
				t.Errorf("%v: %s ranked %d, want %d", c.rids, rid, got[rid], rank)
			}
		}
	}
}

func TestKeyframeDetection(t *testing.T) {
	vp8Key := []byte{0x10, 0x00, 0, 0, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xb4, 0x00}
	if ok, w, h := keyframeStart(webrtc.MimeTypeVP8, vp8Key); !ok || w != 320 || h != 180 {
		t.Fatalf("VP8 keyframe: %v %dx%d", ok, w, h)
	}
	// With the extended descriptor (a 15-bit picture id).
	ext := append([]byte{0x90, 0x80, 0x81, 0x23}, vp8Key[1:]...)
	if ok, w, _ := keyframeStart(webrtc.MimeTypeVP8, ext); !ok || w != 320 {
		t.Fatalf("VP8 keyframe with a picture id: %v %d", ok, w)
	}
	for name, p := range map[string][]byte{
		"interframe":       {0x10, 0x01, 0, 0},
		"not a frame head": {0x00, 0x00, 0, 0, 0x9d, 0x01, 0x2a},
		"empty":            {},
	} {
		if ok, _, _ := keyframeStart(webrtc.MimeTypeVP8, p); ok {
			t.Errorf("VP8 %s taken for a keyframe", name)
		}
	}
	h264 := map[string]struct {
		p    []byte
		want bool
	}{
		"SPS":                  {[]byte{0x67, 0x42, 0x00}, true},
		"STAP-A with an SPS":   {[]byte{0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x01, 0x68}, true},
		"STAP-A without":       {[]byte{0x78, 0x00, 0x01, 0x68, 0x00, 0x01, 0x06}, false},
		"an FU-A of a P-slice": {[]byte{0x7c, 0x81, 0x00}, false},
		"a P-slice":            {[]byte{0x41, 0x9a}, false},
	}
	for name, c := range h264 {
		if ok, _, _ := keyframeStart(webrtc.MimeTypeH264, c.p); ok != c.want {
			t.Errorf("H264 %s: %v, want %v", name, ok, c.want)
		}
	}
}

func TestAPausedSimulcastScreenResumesWithoutAGap(t *testing.T) {
	s := newTestSFU(t)
	r, _ := s.Room("pause-simulcast")
	customer := join(t, r, "customer", Permissions{Publish: []Source{Microphone, Screen}, Subscribe: true})
	agent := join(t, r, "agent", Permissions{Subscribe: true})
	agent.record.Store(true)
	agent.p.estimateOverride.Store(100_000_000)
	customer.publishSimulcast(Screen)
	const id = "customer:screen"
	eventually(t, "the screen's top layer", func() bool { return agent.onLayer(id, 2, 30) })
	if err := customer.p.SetPaused(Screen, true); err != nil {
		t.Fatal(err)
	}
	at := agent.count(id)
	// Nothing is forwarded while paused; the estimate (unchanged) is a
	// clock: let two allocation rounds pass.
	deadline := time.Now().Add(2 * rateInterval)
	eventually(t, "two allocation rounds", func() bool { return time.Now().After(deadline) })
	if extra := agent.count(id) - at; extra > 5 {
		t.Fatalf("%d packets forwarded while paused", extra)
	}
	if err := customer.p.SetPaused(Screen, false); err != nil {
		t.Fatal(err)
	}
	flowing(t, agent, agent.count(id)+100, id)
	checkContinuous(t, agent, id)
}

func TestAWHEPViewerGetsOneLayer(t *testing.T) {
	s := newTestSFU(t)
	r, _ := s.Room("whep-simulcast")
	pub := join(t, r, "pub", everything)
	pub.publishSimulcast(Camera)
	eventually(t, "the simulcast track", func() bool { return len(r.Tracks()) == 1 })

	viewer := &peer{t: t, api: clientAPI(t), stop: make(chan struct{}), joined: make(chan struct{}), received: map[string]*atomic.Int64{}, recorded: map[string][]recvPacket{}}
	viewer.record.Store(true)
	pc, err := viewer.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	viewer.sub = pc
	t.Cleanup(viewer.close)
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		n := &atomic.Int64{}
		viewer.mu.Lock()
		viewer.received[tr.ID()] = n
		viewer.mu.Unlock()
		buf := make([]byte, 1500)
		for {
			size, _, err := tr.Read(buf)
			if err != nil {
				return
			}
			n.Add(1)
			viewer.keep(tr.ID(), buf[:size])
		}
	})
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := setLocalAndGather(pc, offer); err != nil {
		t.Fatal(err)
	}
	p, answer, err := r.Watch("viewer", pc.LocalDescription().SDP)
	if err != nil {
		t.Fatal(err)
	}
	viewer.p = p
	close(viewer.joined)
	t.Cleanup(p.Leave)
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
	p.estimateOverride.Store(100_000_000)
	flowing(t, viewer, 150, "pub:camera")
	if got := viewer.receivedTracks(); len(got) != 1 {
		t.Fatalf("the viewer receives %v", got)
	}
	checkContinuous(t, viewer, "pub:camera")
	eventually(t, "the viewer to reach the top layer", func() bool { return viewer.onLayer("pub:camera", 2, 30) })
}

func TestADownTrackForwardsAcrossTheSequenceNumberWrap(t *testing.T) {
	local, err := newOutTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "x", "y")
	if err != nil {
		t.Fatal(err)
	}
	tr := &forwardedTrack{id: "p:camera", clockRate: 90000}
	sub := newParticipant(&Room{}, "sub", Permissions{}, nil)
	defer sub.close()
	d := newDownTrack(tr, sub, local)
	l := &layer{rid: "f", rank: 2}
	d.target.Store(2)
	pkt := &rtp.Packet{Header: rtp.Header{SequenceNumber: 100, Timestamp: 1}}
	d.write(l, pkt, true, 1)
	for i := range 70_000 { // more than a wrap of 16-bit numbers
		pkt.SequenceNumber++
		pkt.Timestamp += 3000
		d.write(l, pkt, false, int64(i+2))
		if d.lastSeq != pkt.SequenceNumber {
			t.Fatalf("packet %d (sequence number %d) was not forwarded", i, pkt.SequenceNumber)
		}
	}
	// A late packet from before the switch to a new layer is dropped.
	d.target.Store(1)
	low := &layer{rid: "q", rank: 1}
	pkt.SequenceNumber = 5000
	d.write(low, pkt, true, 80_000)
	sent, n := d.lastSeq, d.forwarded
	pkt.SequenceNumber = 4999
	d.write(low, pkt, false, 80_001)
	if d.forwarded != n {
		t.Fatal("a packet from before the switch was forwarded: its number was already used")
	}
	pkt.SequenceNumber = 5001
	d.write(low, pkt, false, 80_002)
	if d.lastSeq != sent+1 || d.forwarded != n+1 {
		t.Fatalf("after the switch: last sent %d, want %d", d.lastSeq, sent+1)
	}
	// A NACK names the subscriber's numbers: each maps back to the layer
	// and number it was sent from, across the switch and the wrap.
	for _, c := range []struct {
		seq   uint16
		layer *layer
		from  uint16
	}{
		{sent + 1, low, 5001},
		{sent, low, 5000},
		{sent - 1, l, (100 + 70_000) % 65536},
		{sent - 500, l, (100 + 70_000 - 499) % 65536},
	} {
		got, from, _, ok := d.source(c.seq)
		if !ok || got != c.layer || from != c.from {
			t.Errorf("source(%d) = %v %d %v, want layer %s number %d", c.seq, got, from, ok, c.layer.rid, c.from)
		}
	}
	if _, _, _, ok := d.source(sent + 2); ok {
		t.Error("a number not sent yet maps to a packet")
	}
}
