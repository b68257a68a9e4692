package sfu

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"
)

// galeneTarget is a Galène binary built beside the project (its code is
// not part of Parley), on plain HTTP with one open group. The publisher
// uses Galène's WHIP endpoint; Galène has no WHEP, so each subscriber
// speaks just enough of its WebSocket protocol (galene-protocol.md):
// handshake, join, request, then answer the server's offers and take its
// trickled candidates.
type galeneTarget struct {
	exe  string
	base string
	hc   *http.Client
}

const galeneGroup = "bench"

func (t *galeneTarget) name() string { return "galene" }

func (t *galeneTarget) start(ctx context.Context, dir string, _ int) (*process, error) {
	httpPort, err := freePort("tcp")
	if err != nil {
		return nil, err
	}
	udpPort, err := freePort("udp")
	if err != nil {
		return nil, err
	}
	groups, data := filepath.Join(dir, "groups"), filepath.Join(dir, "data")
	for _, d := range []string{groups, data} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	desc := `{"wildcard-user": {"password": {"type": "wildcard"}, "permissions": "present"}}`
	if err := os.WriteFile(filepath.Join(groups, galeneGroup+".json"), []byte(desc), 0o600); err != nil {
		return nil, err
	}
	t.base = "http://127.0.0.1:" + strconv.Itoa(httpPort)
	// One UDP port demultiplexed in user space, as Parley's; no TURN.
	args := []string{"-insecure", "-http", "127.0.0.1:" + strconv.Itoa(httpPort), "-data", data, "-groups", groups,
		"-static", dir, "-recordings", filepath.Join(dir, "recordings"), "-udp-range", strconv.Itoa(udpPort), "-turn", ""}
	p, err := startProcess("galene", filepath.Join(dir, "galene.log"), t.exe, args, os.Environ())
	if err != nil {
		return nil, err
	}
	if err := p.waitHTTP(ctx, t.base+"/group/"+galeneGroup+"/.status"); err != nil {
		p.stop()
		return nil, err
	}
	t.hc = &http.Client{Timeout: time.Minute}
	return p, nil
}

func (t *galeneTarget) publish(ctx context.Context, offer string) (string, error) {
	answer, _, err := postSDP(ctx, t.hc, t.base+"/group/"+galeneGroup+"/.whip", "", offer)
	return answer, err
}

// galeneMessage is the part of Galène's protocol messages the bench uses.
type galeneMessage struct {
	Type      string                   `json:"type"`
	Kind      string                   `json:"kind,omitempty"`
	Version   []string                 `json:"version,omitempty"`
	ID        string                   `json:"id,omitempty"`
	Group     string                   `json:"group,omitempty"`
	Username  *string                  `json:"username,omitempty"`
	Password  string                   `json:"password,omitempty"`
	SDP       string                   `json:"sdp,omitempty"`
	Candidate *webrtc.ICECandidateInit `json:"candidate,omitempty"`
	Request   map[string][]string      `json:"request,omitempty"`
	Value     any                      `json:"value,omitempty"`
}

func (t *galeneTarget) subscribe(ctx context.Context, api *webrtc.API, i int, total *atomic.Int64) (*subscriber, error) {
	ws, _, err := websocket.DefaultDialer.DialContext(ctx, "ws"+t.base[len("http"):]+"/ws", nil)
	if err != nil {
		return nil, err
	}
	s := &subscriber{total: total}
	var wmu sync.Mutex
	send := func(m galeneMessage) error {
		wmu.Lock()
		defer wmu.Unlock()
		return ws.WriteJSON(m)
	}
	id := "sub-" + strconv.Itoa(i)
	user := id
	for _, m := range []galeneMessage{
		{Type: "handshake", Version: []string{"2"}, ID: id},
		{Type: "join", Kind: "join", Group: galeneGroup, Username: &user, Password: "x"},
	} {
		if err := send(m); err != nil {
			ws.Close()
			return nil, err
		}
	}
	joined := make(chan error, 1)
	connected := make(chan struct{})
	var once sync.Once
	var pcs sync.Map // stream id → *webrtc.PeerConnection
	go func() {
		defer ws.Close()
		for {
			var m galeneMessage
			if err := ws.ReadJSON(&m); err != nil {
				select {
				case joined <- err:
				default:
				}
				return
			}
			switch m.Type {
			case "joined":
				switch m.Kind {
				case "join":
					err := send(galeneMessage{Type: "request", Request: map[string][]string{"": {"audio", "video"}}})
					joined <- err
				case "fail":
					joined <- fmt.Errorf("galene: join: %v", m.Value)
				}
			case "ping":
				_ = send(galeneMessage{Type: "pong"})
			case "offer":
				pc, err := t.answer(api, s, m, send, &pcs)
				if err != nil {
					_ = send(galeneMessage{Type: "abort", ID: m.ID})
					continue
				}
				once.Do(func() { s.pc = pc; close(connected) })
			case "ice":
				if pc, ok := pcs.Load(m.ID); ok && m.Candidate != nil {
					_ = pc.(*webrtc.PeerConnection).AddICECandidate(*m.Candidate)
				}
			case "close":
				if pc, ok := pcs.LoadAndDelete(m.ID); ok {
					_ = pc.(*webrtc.PeerConnection).Close()
				}
			}
		}
	}()
	closeAll := func() {
		_ = send(galeneMessage{Type: "join", Kind: "leave", Group: galeneGroup, Username: &user})
		ws.Close()
		pcs.Range(func(_, pc any) bool { _ = pc.(*webrtc.PeerConnection).Close(); return true })
	}
	select {
	case err := <-joined:
		if err != nil {
			closeAll()
			return nil, err
		}
	case <-time.After(30 * time.Second):
		closeAll()
		return nil, errors.New("galene: no answer to join")
	}
	select {
	case <-connected:
	case <-time.After(30 * time.Second):
		closeAll()
		return nil, errors.New("galene: no offer after request")
	}
	s.close = closeAll
	return s, nil
}

// answer takes a server offer (new stream or renegotiation) and answers it
// with every local candidate gathered.
func (t *galeneTarget) answer(api *webrtc.API, s *subscriber, m galeneMessage, send func(galeneMessage) error, pcs *sync.Map) (*webrtc.PeerConnection, error) {
	var pc *webrtc.PeerConnection
	if v, ok := pcs.Load(m.ID); ok {
		pc = v.(*webrtc.PeerConnection)
	} else {
		sub, err := newSubscriber(api, s.total)
		if err != nil {
			return nil, err
		}
		// Count into the one subscriber of this client.
		pc = sub.pc
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
		pcs.Store(m.ID, pc)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: m.SDP}); err != nil {
		return nil, err
	}
	answer, err := pc.CreateAnswer(nil)
	if err == nil {
		err = gather(pc, answer)
	}
	if err != nil {
		return nil, err
	}
	return pc, send(galeneMessage{Type: "answer", ID: m.ID, SDP: pc.LocalDescription().SDP})
}
