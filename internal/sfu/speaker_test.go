package sfu

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

func TestParseAudioLevel(t *testing.T) {
	mk := func(csrc int, exts map[uint8][]byte) []byte {
		p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SSRC: 1}, Payload: []byte{1, 2, 3}}
		for i := range csrc {
			p.CSRC = append(p.CSRC, uint32(i+1))
		}
		for id, v := range exts {
			if err := p.SetExtension(id, v); err != nil {
				t.Fatal(err)
			}
		}
		b, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	level := func(v uint8) []byte { return []byte{0x80 | v} }
	cases := []struct {
		name string
		pkt  []byte
		id   uint8
		want uint8
		ok   bool
	}{
		{"alone", mk(0, map[uint8][]byte{1: level(30)}), 1, 30, true},
		{"after another extension", mk(0, map[uint8][]byte{3: {9, 9, 9}, 5: level(7)}), 5, 7, true},
		{"after CSRCs", mk(2, map[uint8][]byte{1: level(99)}), 1, 99, true},
		{"other id", mk(0, map[uint8][]byte{2: level(30)}), 1, 0, false},
		{"no extension", mk(0, nil), 1, 0, false},
		{"truncated", mk(0, map[uint8][]byte{1: level(30)})[:13], 1, 0, false},
		{"empty", nil, 1, 0, false},
	}
	for _, c := range cases {
		got, ok := parseAudioLevel(c.pkt, c.id)
		if got != c.want || ok != c.ok {
			t.Errorf("%s: (%d, %v), want (%d, %v)", c.name, got, ok, c.want, c.ok)
		}
	}
}

// FuzzParseAudioLevel: any bytes, no panic.
func FuzzParseAudioLevel(f *testing.F) {
	f.Add([]byte{0x90, 111, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xBE, 0xDE, 0, 1, 0x10, 0x9e, 0, 0}, uint8(1))
	f.Fuzz(func(t *testing.T, pkt []byte, id uint8) {
		if level, ok := parseAudioLevel(pkt, id); ok && level > 127 {
			t.Fatalf("level %d out of range", level)
		}
	})
}

// talk publishes a microphone whose packets carry the given audio level.
func (c *peer) talk(level *atomic.Int32) {
	c.t.Helper()
	pc, err := c.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		c.t.Fatal(err)
	}
	c.pub = pc
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "microphone", c.p.id)
	if err != nil {
		c.t.Fatal(err)
	}
	tr, err := pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		c.t.Fatal(err)
	}
	offer, _ := pc.CreateOffer(nil)
	if err := setLocalAndGather(pc, offer); err != nil {
		c.t.Fatal(err)
	}
	answer, err := c.p.Publish(pc.LocalDescription().SDP, map[string]Source{tr.Mid(): Microphone})
	if err != nil {
		c.t.Fatal(err)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		c.t.Fatal(err)
	}
	var extID uint8
	for _, ext := range tr.Sender().GetParameters().HeaderExtensions {
		if ext.URI == sdp.AudioLevelURI {
			extID = uint8(ext.ID)
		}
	}
	if extID == 0 {
		c.t.Fatal("the audio level extension was not negotiated")
	}
	go func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		var seq uint16
		for {
			select {
			case <-c.stop:
				return
			case <-tick.C:
			}
			seq++
			p := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 960}, Payload: make([]byte, 80)}
			_ = p.SetExtension(extID, []byte{0x80 | uint8(level.Load())})
			if track.WriteRTP(p) != nil {
				return
			}
		}
	}()
}

func (c *peer) lastSpeakers() []Speaker {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.speakers) == 0 {
		return nil
	}
	return c.speakers[len(c.speakers)-1]
}

func TestTheActiveSpeakerFollowsWhoTalks(t *testing.T) {
	s := newTestSFU(t)
	r, _ := s.Room("talk")
	listener := join(t, r, "listener", Permissions{Subscribe: true})
	ana := join(t, r, "ana", everything)
	bo := join(t, r, "bo", everything)
	var anaLevel, boLevel atomic.Int32
	anaLevel.Store(10) // loud (10 dB below full scale)
	boLevel.Store(127) // silent
	ana.talk(&anaLevel)
	bo.talk(&boLevel)
	eventually(t, "ana to be the speaker", func() bool {
		sp := listener.lastSpeakers()
		return len(sp) == 1 && sp[0].ParticipantID == "ana"
	})
	anaLevel.Store(127)
	boLevel.Store(20)
	eventually(t, "bo to take over once ana is quiet", func() bool {
		sp := listener.lastSpeakers()
		return len(sp) == 1 && sp[0].ParticipantID == "bo"
	})
	anaLevel.Store(5)
	eventually(t, "both, the louder first", func() bool {
		sp := listener.lastSpeakers()
		return len(sp) == 2 && sp[0].ParticipantID == "ana" && sp[1].ParticipantID == "bo"
	})
}
