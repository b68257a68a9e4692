package sfu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
)

// newAPI builds the load generator's WebRTC stack: default codecs and
// interceptors (NACK, RTCP reports, TWCC feedback), as a browser would
// bring, with ICE on UDP over the one address given.
func newAPI(ip net.IP) (*webrtc.API, error) {
	se := webrtc.SettingEngine{}
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIPFilter(func(a net.IP) bool { return a.Equal(ip) })
	se.SetIncludeLoopbackCandidate(ip.IsLoopback())
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, ir); err != nil {
		return nil, err
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)), nil
}

// vp8Frame fills buf with a synthetic VP8 frame: a valid frame tag (and,
// for a keyframe, the start code and a 640×480 size), then filler. SFUs
// look only at these first bytes to tell keyframes.
func vp8Frame(buf []byte, key bool, seq byte) []byte {
	const firstPart = 200
	tag := uint32(firstPart)<<5 | 1<<4 // show_frame, version 0
	if !key {
		tag |= 1 // an interframe
	}
	buf[0], buf[1], buf[2] = byte(tag), byte(tag>>8), byte(tag>>16)
	i := 3
	if key {
		copy(buf[3:], []byte{0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01})
		i = 10
	}
	for ; i < len(buf); i++ {
		buf[i] = seq + byte(i)
	}
	return buf
}

// isVP8Key says whether a frame built by vp8Frame is a keyframe.
func isVP8Key(frame []byte) bool { return len(frame) > 0 && frame[0]&1 == 0 }

// stream is what the publisher sends.
type stream struct {
	FPS         int
	FrameBytes  int
	KeyInterval time.Duration
}

// publisher is the one sender: a VP8 camera and an Opus microphone.
type publisher struct {
	pc      *webrtc.PeerConnection
	video   *webrtc.TrackLocalStaticSample
	audio   *webrtc.TrackLocalStaticSample
	sender  *webrtc.RTPSender
	wantKey atomic.Bool
	keys    atomic.Int64 // keyframes asked for by PLI or FIR
	stop    chan struct{}
	wg      sync.WaitGroup
}

// newPublisher makes the publisher's connection and its offer with every
// candidate gathered (WHIP does not trickle).
func newPublisher(api *webrtc.API) (*publisher, string, error) {
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, "", err
	}
	p := &publisher{pc: pc, stop: make(chan struct{})}
	p.audio, _ = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "bench")
	p.video, _ = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", "bench")
	for _, tr := range []*webrtc.TrackLocalStaticSample{p.audio, p.video} {
		t, err := pc.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			pc.Close()
			return nil, "", err
		}
		if tr == p.video {
			p.sender = t.Sender()
		}
	}
	offer, err := pc.CreateOffer(nil)
	if err == nil {
		err = gather(pc, offer)
	}
	if err != nil {
		pc.Close()
		return nil, "", err
	}
	return p, pc.LocalDescription().SDP, nil
}

func gather(pc *webrtc.PeerConnection, desc webrtc.SessionDescription) error {
	done := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(desc); err != nil {
		return err
	}
	select {
	case <-done:
		return nil
	case <-time.After(10 * time.Second):
		return errors.New("ICE gathering did not complete")
	}
}

// start sends the stream until close: video frames at s.FPS (a keyframe
// every s.KeyInterval and whenever a receiver asks), Opus every 20 ms.
func (p *publisher) start(s stream) {
	p.wg.Add(3)
	go func() { // keyframe requests
		defer p.wg.Done()
		for {
			pkts, _, err := p.sender.ReadRTCP()
			if err != nil {
				return
			}
			for _, pkt := range pkts {
				switch pkt.(type) {
				case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
					p.wantKey.Store(true)
					p.keys.Add(1)
				}
			}
		}
	}()
	go func() {
		defer p.wg.Done()
		frame := make([]byte, s.FrameBytes)
		period := time.Second / time.Duration(s.FPS)
		tick := time.NewTicker(period)
		defer tick.Stop()
		lastKey := time.Time{}
		var n byte
		for {
			select {
			case <-p.stop:
				return
			case now := <-tick.C:
				key := p.wantKey.Swap(false) || now.Sub(lastKey) >= s.KeyInterval
				if key {
					lastKey = now
				}
				n++
				if p.video.WriteSample(media.Sample{Data: vp8Frame(frame, key, n), Duration: period}) != nil {
					return
				}
			}
		}
	}()
	go func() {
		defer p.wg.Done()
		frame := bytes.Repeat([]byte{0xfc}, 120) // ~48 kbit/s of Opus
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-tick.C:
				if p.audio.WriteSample(media.Sample{Data: frame, Duration: 20 * time.Millisecond}) != nil {
					return
				}
			}
		}
	}()
}

func (p *publisher) close() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	_ = p.pc.Close()
	p.wg.Wait()
}

// subscriber is one receiver; it counts every RTP packet it reads.
type subscriber struct {
	pc      *webrtc.PeerConnection
	packets atomic.Int64
	total   *atomic.Int64
	close   func() // ends the session (signalling) after pc.Close
}

func newSubscriber(api *webrtc.API, total *atomic.Int64) (*subscriber, error) {
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	s := &subscriber{pc: pc, total: total}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		buf := make([]byte, 1500)
		for {
			if _, _, err := tr.Read(buf); err != nil {
				return
			}
			s.packets.Add(1)
			s.total.Add(1)
		}
	})
	return s, nil
}

// recvOffer makes a receive-only offer for one audio and one video (WHEP).
func (s *subscriber) recvOffer() (string, error) {
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		if _, err := s.pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			return "", err
		}
	}
	offer, err := s.pc.CreateOffer(nil)
	if err == nil {
		err = gather(s.pc, offer)
	}
	if err != nil {
		return "", err
	}
	return s.pc.LocalDescription().SDP, nil
}

func (s *subscriber) shutdown() {
	_ = s.pc.Close()
	if s.close != nil {
		s.close()
	}
}

// postSDP posts an offer to a WHIP or WHEP endpoint and returns the
// answer and the session's location.
func postSDP(ctx context.Context, hc *http.Client, url, token, offer string) (answer, location string, err error) {
	req, err := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(offer))
	if err != nil {
		return "", "", err
	}
	req.Header.Set("Content-Type", "application/sdp")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := hc.Do(req)
	if err != nil {
		return "", "", err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode != http.StatusCreated {
		return "", "", fmt.Errorf("POST %s: %s: %s", url, res.Status, strings.TrimSpace(string(body)))
	}
	return string(body), res.Header.Get("Location"), nil
}

func setAnswer(pc *webrtc.PeerConnection, answer string) error {
	return pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer})
}
