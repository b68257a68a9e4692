package sfu

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// chromiumAPI is a browser stand-in closer to Chromium than clientAPI: it
// numbers its RTP header extensions as Chromium's offers do (1 audio
// level, 2 abs-send-time, 3 transport-wide sequence number, 4 mid, then
// the rids) and stamps a transport-wide sequence number on every packet
// it sends, as Chromium does whenever transport-cc is negotiated.
func chromiumAPI(t testing.TB) *webrtc.API {
	t.Helper()
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	audio, video := []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio}, []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo}
	both := append(audio, video...)
	// Pion numbers extensions in the order they are registered.
	for _, ext := range []struct {
		uri   string
		kinds []webrtc.RTPCodecType
	}{
		{sdp.AudioLevelURI, audio},
		{sdp.ABSSendTimeURI, both},
		{sdp.TransportCCURI, both},
		{sdp.SDESMidURI, both},
		{sdp.SDESRTPStreamIDURI, video},
		{sdp.SDESRepairRTPStreamIDURI, video},
	} {
		for _, kind := range ext.kinds {
			if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: ext.uri}, kind); err != nil {
				t.Fatal(err)
			}
		}
	}
	ir := &interceptor.Registry{}
	if err := webrtc.ConfigureTWCCHeaderExtensionSender(me, ir); err != nil {
		t.Fatal(err)
	}
	if err := webrtc.RegisterDefaultInterceptors(me, ir); err != nil {
		t.Fatal(err)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
}

// joinChromium joins with chromiumAPI, receiving as Chromium does.
func joinChromium(t testing.TB, r *Room, id string, perms Permissions) *peer {
	t.Helper()
	return joinWith(t, r, id, perms, chromiumAPI(t), true)
}

// bundleAccepts returns what a browser's demultiplexer decides for each
// packet received on a track: with BUNDLE, a packet whose mid header
// extension names no media section of the connection is dropped, even
// when its SSRC is known (RFC 9143 section 9.2; libwebrtc's RtpDemuxer).
// An extension id means the same in every bundled media section, and
// libwebrtc reads every packet with the connection's one map: an audio
// packet is read for a mid even if only the video sections declare it.
// As libwebrtc reads string extensions, an empty value or one starting
// with a zero byte is no mid at all, and a zero byte ends the string.
// Pion itself never looks at the mid of a known SSRC, so a Pion
// subscriber alone cannot see such packets being lost.
func bundleAccepts(pc *webrtc.PeerConnection) func([]byte) bool {
	var midID uint8
	for _, line := range strings.Split(pc.RemoteDescription().SDP, "\r\n") {
		var id uint8
		if _, err := fmt.Sscanf(line, "a=extmap:%d "+sdp.SDESMidURI, &id); err == nil && strings.HasSuffix(line, sdp.SDESMidURI) {
			midID = id
		}
	}
	known := func(mid string) bool {
		for _, tr := range pc.GetTransceivers() {
			if tr.Mid() == mid {
				return true
			}
		}
		return false
	}
	var pkt rtp.Packet
	return func(raw []byte) bool {
		if pkt.Unmarshal(raw) != nil {
			return false
		}
		v := pkt.GetExtension(midID)
		if midID == 0 || len(v) == 0 || v[0] == 0 {
			return true
		}
		if i := strings.IndexByte(string(v), 0); i >= 0 {
			v = v[:i]
		}
		return known(string(v))
	}
}

// delivered waits until a browser stand-in has accepted n packets of
// each track, telling how many it dropped if it never does.
func delivered(t *testing.T, c *peer, n int64, ids ...string) {
	t.Helper()
	for _, id := range ids {
		deadline := time.Now().Add(20 * time.Second)
		tick := time.NewTicker(10 * time.Millisecond)
		for c.count(id) < n {
			if time.Now().After(deadline) {
				t.Fatalf("%s accepted %d packets of %s, want %d; a browser would have dropped %d", c.p.id, c.count(id), id, n, c.droppedOn(id))
			}
			<-tick.C
		}
		tick.Stop()
	}
}

func (c *peer) droppedOn(trackID string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := c.dropped[trackID]; n != nil {
		return n.Load()
	}
	return 0
}

// A Chromium publisher's packets carry its transport-wide sequence number
// under the id its own connection gave that extension (3); the SFU's
// subscribe connections number their extensions otherwise (3 may be the
// mid there). Forwarded as they came, those bytes read as a mid naming no
// media section as soon as the number's high byte is not zero — after
// 256 packets, about 2.5 s of audio and video — and Chromium drops every
// packet from then on. A subscriber joining later loses them from the
// first.
func TestAChromiumPublisherKeepsReachingChromiumSubscribers(t *testing.T) {
	s := newTestSFU(t)
	r, _ := s.Room("chromium")
	ana := joinChromium(t, r, "ana", everything)
	bo := joinChromium(t, r, "bo", everything)
	ana.publish(Microphone, Camera)
	if offer := ana.pub.LocalDescription().SDP; !strings.Contains(offer, "a=extmap:3 "+sdp.TransportCCURI) {
		t.Fatalf("the stand-in does not number transport-cc as Chromium does:\n%s", offer)
	}
	tracks := []string{"ana:microphone", "ana:camera"}
	// 50 packets a second on each track: 200 each takes ana's
	// transport-wide numbers well past 255.
	delivered(t, bo, 200, tracks...)
	// A subscriber that joins now gets high numbers from the first packet
	// (the help desk's cold transfer to a second agent).
	cy := joinChromium(t, r, "cy", Permissions{Subscribe: true})
	delivered(t, cy, 50, tracks...)
	for _, c := range []*peer{bo, cy} {
		for _, id := range tracks {
			if n := c.droppedOn(id); n > 0 {
				t.Errorf("%s: a browser would drop %d packets of %s (received %d)", c.p.id, n, id, c.count(id))
			}
		}
	}
}
