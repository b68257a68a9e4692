package calls

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
	"golang.org/x/time/rate"

	"github.com/parley-chat/parley/internal/httpx"
	"github.com/parley-chat/parley/internal/realtime"
	"github.com/parley-chat/parley/internal/sfu"
)

// Media connects devices to the SFU: it serves the gateway's "rtc"
// frames (docs/PROTOCOL.md, "Calls"). Each device in a call is one SFU
// participant, named user~connection, so one person may be in a call from
// a laptop and a phone at once.
type Media struct {
	svc *Service
	sfu *sfu.SFU

	mu       sync.Mutex
	parts    map[string]*device         // participant id@call → device
	byCon    map[string]map[string]bool // connection id → call ids
	programs map[string]program         // whip|whep/session → participant
	empty    map[string]time.Time       // call → when its last device left
	relay    *relay                     // nil on a single node
	homes    map[string]string          // call → its node (calls never move)
}

// program is a WHIP or WHEP session.
type program struct {
	part   *sfu.Participant
	callID string
}

// device is one connection's presence in one call.
type device struct {
	p      *sfu.Participant
	peer   realtime.Peer
	callID string
	// drawing is rate-limited: a stroke is sent in parts as it is drawn,
	// but a flood must not reach every screen in the call.
	drawing *rate.Limiter
}

// NewMedia binds the service to a media server.
func NewMedia(svc *Service, s *sfu.SFU) *Media {
	m := &Media{svc: svc, sfu: s, parts: map[string]*device{}, byCon: map[string]map[string]bool{},
		programs: map[string]program{}, empty: map[string]time.Time{}, homes: map[string]string{}}
	svc.media = m
	return m
}

// rtcFrame is a client's signaling frame.
type rtcFrame struct {
	V         int                      `json:"v"`
	Type      string                   `json:"type"`
	ID        string                   `json:"id,omitempty"`
	CallID    string                   `json:"call_id"`
	Action    string                   `json:"action"` // connect, publish, answer, candidate, pause, prefer, restart, leave
	PC        string                   `json:"pc,omitempty"`
	SDP       string                   `json:"sdp,omitempty"`
	Sources   map[string]sfu.Source    `json:"sources,omitempty"`
	Candidate *webrtc.ICECandidateInit `json:"candidate,omitempty"`
	Source    sfu.Source               `json:"source,omitempty"`
	Paused    bool                     `json:"paused,omitempty"`
	// prefer: the size a received track is shown at, so the SFU sends a
	// simulcast track's smallest layer that fills it.
	TrackID   string `json:"track_id,omitempty"`
	MaxWidth  int    `json:"max_width,omitempty"`
	MaxHeight int    `json:"max_height,omitempty"`
	// annotate sends one drawing operation; annotations asks for those
	// after a sequence number (a late joiner's catch-up).
	Annotation *Annotation `json:"annotation,omitempty"`
	After      int64       `json:"after,omitempty"`
}

// MaxSDP bounds a session description.
const MaxSDP = 32 << 10

// permissions follow from the call and the person's role in it: in a voice
// call nobody sends a camera; in a one-way call the customer sends a
// microphone and a screen, never a camera, and only the helper draws.
func permissions(c Call, userID string) sfu.Permissions {
	video := c.Kind == Video || c.Kind == Help
	if c.OneWay {
		if c.Role(userID) == Helper {
			p := sfu.Permissions{Publish: []sfu.Source{sfu.Microphone}, Subscribe: true, Annotate: true}
			if video {
				p.Publish = append(p.Publish, sfu.Camera)
			}
			return p
		}
		return sfu.Permissions{Publish: []sfu.Source{sfu.Microphone, sfu.Screen, sfu.ScreenAudio}, Subscribe: true}
	}
	p := sfu.Permissions{Publish: []sfu.Source{sfu.Microphone, sfu.Screen, sfu.ScreenAudio}, Subscribe: true, Annotate: true}
	if video {
		p.Publish = append(p.Publish, sfu.Camera)
	}
	return p
}

func participantID(userID, connID string) string { return userID + "~" + connID }

func invalid(detail string) error {
	return httpx.NewProblem(http.StatusBadRequest, "bad-frame", "Bad frame", detail)
}

// Frame serves one rtc frame from a device connected to this node: here
// when the call's media is here, or relayed to the call's node.
func (m *Media) Frame(ctx context.Context, peer realtime.Peer, raw []byte) (map[string]any, error) {
	if m.relay != nil {
		var head struct {
			CallID string `json:"call_id"`
		}
		if json.Unmarshal(raw, &head) == nil && head.CallID != "" {
			home, err := m.homeOf(ctx, head.CallID)
			if err == nil && home != m.svc.cfg.Node {
				return m.relay.forward(ctx, home, peer, head.CallID, raw)
			}
		}
	}
	return m.serve(ctx, peer, raw)
}

// serve carries out an rtc frame for a call whose media is on this node.
func (m *Media) serve(ctx context.Context, peer realtime.Peer, raw []byte) (map[string]any, error) {
	var f rtcFrame
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, invalid("not a valid rtc frame: " + err.Error())
	}
	if f.CallID == "" {
		return nil, invalid("call_id is required")
	}
	if len(f.SDP) > MaxSDP {
		return nil, invalid(fmt.Sprintf("sdp is longer than %d bytes", MaxSDP))
	}
	pid := participantID(peer.UserID(), peer.ConnID())
	if f.Action == "connect" {
		return m.connect(ctx, peer, pid, f.CallID)
	}
	m.mu.Lock()
	dev := m.parts[pid+"@"+f.CallID]
	m.mu.Unlock()
	if dev == nil {
		return nil, httpx.NewProblem(http.StatusConflict, "not-connected", "Not connected", "send a connect frame for this call first")
	}
	p := dev.p
	switch f.Action {
	case "annotate":
		return m.annotate(ctx, dev, f.Annotation)
	case "annotations":
		list, err := m.svc.Annotations(ctx, peer.UserID(), f.CallID, f.After)
		if err != nil {
			return nil, Problem(err)
		}
		return map[string]any{"annotations": list}, nil
	case "publish":
		answer, err := p.Publish(f.SDP, f.Sources)
		if err != nil {
			return nil, mediaProblem(err)
		}
		return map[string]any{"sdp": answer}, nil
	case "answer":
		return nil, mediaProblem(p.Answer(f.SDP))
	case "candidate":
		if f.Candidate == nil || (f.PC != "publish" && f.PC != "subscribe") {
			return nil, invalid("candidate needs pc (publish or subscribe) and candidate")
		}
		return nil, mediaProblem(p.AddCandidate(f.PC, *f.Candidate))
	case "pause":
		return nil, mediaProblem(p.SetPaused(f.Source, f.Paused))
	case "restart":
		return nil, mediaProblem(p.RestartICE())
	case "prefer":
		return nil, preferProblem(p.SetTrackPreference(f.TrackID, f.MaxWidth, f.MaxHeight))
	case "leave":
		m.drop(peer.ConnID(), pid, f.CallID)
		return nil, m.leaveIfLast(ctx, peer.UserID(), f.CallID)
	}
	return nil, invalid("unknown action " + f.Action)
}

// connect joins the call (answering it if it rings) and puts this device
// in the call's room.
func (m *Media) connect(ctx context.Context, peer realtime.Peer, pid, callID string) (map[string]any, error) {
	c, err := m.svc.Get(ctx, peer.UserID(), callID)
	if err != nil {
		return nil, Problem(err)
	}
	if c.State == Ended {
		return nil, Problem(ErrEnded)
	}
	// A call's media lives on the node that started it.
	home, err := m.homeOf(ctx, callID)
	if err != nil {
		return nil, err
	}
	if home != m.svc.cfg.Node {
		return nil, httpx.NewProblem(http.StatusConflict, "call-elsewhere", "Call is on another node",
			"this call's media is on node "+home+"; connect there")
	}
	room, err := m.sfu.Room(callID)
	if err != nil {
		return nil, mediaProblem(err)
	}
	perms := permissions(c, peer.UserID())
	p, err := room.Join(pid, perms, func(s sfu.Signal) {
		data, _ := json.Marshal(struct {
			V      int        `json:"v"`
			Type   string     `json:"type"`
			CallID string     `json:"call_id"`
			Signal sfu.Signal `json:"signal"`
		}{1, realtime.FrameRTC, callID, s})
		peer.Send(data)
	})
	if err != nil {
		return nil, mediaProblem(err)
	}
	m.trackPresence(callID, peer.UserID(), p)
	// Only a device the room took joins the call (and answers it).
	if _, err := m.svc.Join(ctx, peer.UserID(), callID); err != nil {
		p.Leave()
		return nil, Problem(err)
	}
	m.mu.Lock()
	delete(m.empty, callID)
	m.parts[pid+"@"+callID] = &device{p: p, peer: peer, callID: callID, drawing: rate.NewLimiter(30, 60)}
	if m.byCon[peer.ConnID()] == nil {
		m.byCon[peer.ConnID()] = map[string]bool{}
	}
	m.byCon[peer.ConnID()][callID] = true
	m.mu.Unlock()
	// When the SFU drops the device (its connection failed), it leaves the
	// call as if it had said so.
	go func() {
		<-p.Done()
		m.mu.Lock()
		still := m.parts[pid+"@"+callID] != nil && m.parts[pid+"@"+callID].p == p
		m.mu.Unlock()
		if still {
			m.drop(peer.ConnID(), pid, callID)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_ = m.leaveIfLast(ctx, peer.UserID(), callID)
			cancel()
		}
	}()
	return map[string]any{"participant_id": pid, "permissions": perms,
		"ice_servers": m.sfu.ICEServers(strings.Trim(peer.Host(), "[]"), peer.UserID())}, nil
}

func (m *Media) drop(connID, pid, callID string) {
	m.mu.Lock()
	dev := m.parts[pid+"@"+callID]
	delete(m.parts, pid+"@"+callID)
	if set := m.byCon[connID]; set != nil {
		delete(set, callID)
		if len(set) == 0 {
			delete(m.byCon, connID)
		}
	}
	if dev != nil && !m.hasDevicesLocked(callID) {
		m.empty[callID] = m.svc.now()
	}
	m.mu.Unlock()
	if dev != nil {
		dev.p.Leave()
	}
}

// evict takes a person's devices on this node out of a call's room: they
// left the call through the API (or the help desk handed their session on),
// so nothing of theirs may keep flowing to the others.
func (m *Media) evict(callID, userID string) {
	m.mu.Lock()
	type gone struct{ connID, pid string }
	var out []gone
	for key, d := range m.parts {
		if d.callID == callID && d.peer.UserID() == userID {
			out = append(out, gone{d.peer.ConnID(), strings.TrimSuffix(key, "@"+callID)})
		}
	}
	m.mu.Unlock()
	for _, g := range out {
		m.drop(g.connID, g.pid, callID)
	}
}

func (m *Media) hasDevicesLocked(callID string) bool {
	for _, d := range m.parts {
		if d.callID == callID {
			return true
		}
	}
	for _, prog := range m.programs {
		if prog.callID == callID {
			return true
		}
	}
	return false
}

// idleFor says how long a call of this node has had no device in it; a
// call no device ever connected to counts as idle for ever.
func (m *Media) idleFor(callID string) time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.hasDevicesLocked(callID) {
		return 0
	}
	since, ok := m.empty[callID]
	if !ok {
		return time.Duration(math.MaxInt64)
	}
	return m.svc.now().Sub(since)
}

// annotate records a drawing and shows it on every device in the call,
// the drawer's own included (so all sides agree on the order).
func (m *Media) annotate(ctx context.Context, dev *device, a *Annotation) (map[string]any, error) {
	if !dev.p.Permissions().Annotate {
		return nil, httpx.Forbidden("you may not draw in this call")
	}
	if a == nil {
		return nil, invalid("annotate needs an annotation")
	}
	if !dev.drawing.Allow() {
		return nil, httpx.TooManyRequests(time.Second / 30)
	}
	room, ok := m.sfu.LookupRoom(dev.callID)
	if !ok {
		return nil, Problem(ErrEnded)
	}
	if _, ok := room.Participant(a.Target); !ok {
		return nil, httpx.Invalid(httpx.FieldError{Field: "target", Detail: "no such participant in the call"})
	}
	saved, err := m.svc.Annotate(ctx, dev.peer.UserID(), dev.callID, *a)
	if err != nil {
		return nil, Problem(err)
	}
	frame, _ := json.Marshal(struct {
		V          int        `json:"v"`
		Type       string     `json:"type"`
		CallID     string     `json:"call_id"`
		Annotation Annotation `json:"annotation"`
	}{1, realtime.FrameRTC, dev.callID, saved})
	m.mu.Lock()
	var peers []realtime.Peer
	for _, d := range m.parts {
		if d.callID == dev.callID {
			peers = append(peers, d.peer)
		}
	}
	m.mu.Unlock()
	for _, p := range peers {
		p.Send(frame)
	}
	return map[string]any{"seq": saved.Seq}, nil
}

// leaveIfLast leaves the call when none of the user's devices is in it.
func (m *Media) leaveIfLast(ctx context.Context, userID, callID string) error {
	prefix := userID + "~"
	if room, ok := m.sfu.LookupRoom(callID); ok {
		for _, id := range room.Participants() {
			if strings.HasPrefix(id, prefix) {
				return nil
			}
		}
	}
	_, err := m.svc.Leave(ctx, userID, callID)
	if errors.Is(err, ErrEnded) {
		return nil
	}
	return Problem(err)
}

// Closed takes a disconnected device out of its calls, here and on the
// nodes its frames were relayed to.
func (m *Media) Closed(peer realtime.Peer) {
	if m.relay != nil {
		if _, remote := peer.(*remotePeer); !remote {
			m.relay.closed(peer)
		}
	}
	m.mu.Lock()
	var calls []string
	for id := range m.byCon[peer.ConnID()] {
		calls = append(calls, id)
	}
	m.mu.Unlock()
	pid := participantID(peer.UserID(), peer.ConnID())
	for _, callID := range calls {
		m.drop(peer.ConnID(), pid, callID)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = m.leaveIfLast(ctx, peer.UserID(), callID)
		cancel()
	}
}

// closeRoom ends a call's media when the call ends.
func (m *Media) closeRoom(callID string) {
	if room, ok := m.sfu.LookupRoom(callID); ok {
		room.Close()
	}
	m.mu.Lock()
	for key := range m.parts {
		if strings.HasSuffix(key, "@"+callID) {
			delete(m.parts, key)
		}
	}
	for key, prog := range m.programs {
		if prog.callID == callID {
			delete(m.programs, key)
		}
	}
	delete(m.empty, callID)
	m.mu.Unlock()
}

// preferProblem maps the errors of a prefer frame, whose track is one the
// device receives, not one it publishes.
func preferProblem(err error) error {
	switch {
	case errors.Is(err, sfu.ErrBadPreference):
		return invalid("max_width and max_height are 0 (no limit) or more")
	case errors.Is(err, sfu.ErrNotPublished):
		return httpx.NewProblem(http.StatusNotFound, "unknown-track", "Unknown track", "this device receives no track with that track_id")
	}
	return mediaProblem(err)
}

func mediaProblem(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sfu.ErrForbiddenSource), errors.Is(err, sfu.ErrTooManyTracks):
		return httpx.NewProblem(http.StatusForbidden, "forbidden-source", "Not allowed to publish that", err.Error())
	case errors.Is(err, sfu.ErrBadSDP):
		return httpx.NewProblem(http.StatusBadRequest, "bad-sdp", "Bad session description", err.Error())
	case errors.Is(err, sfu.ErrRoomFull):
		return httpx.Conflict("call-full", "the call has the most participants allowed")
	case errors.Is(err, sfu.ErrNotPublished):
		return httpx.NewProblem(http.StatusConflict, "not-published", "Not published", "you do not publish that source")
	case errors.Is(err, sfu.ErrNoSubscribe):
		return httpx.NewProblem(http.StatusConflict, "not-subscribed", "Not subscribed", "this device receives nothing to restart")
	case errors.Is(err, sfu.ErrClosed):
		return Problem(ErrEnded)
	case errors.Is(err, sfu.ErrAlreadyJoined):
		return httpx.Conflict("already-connected", "this device is already connected to the call")
	}
	return err
}
