package calls

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-chat/parley/internal/bus"
	"github.com/parley-chat/parley/internal/httpx"
	"github.com/parley-chat/parley/internal/realtime"
)

// A call's media lives on the node that started it, but its members'
// devices may hold their WebSocket on any node. The relay carries such a
// device's rtc frames over the bus to the call's node, and that node's
// answers and signals back; the media itself flows directly between the
// device and the call's node (its ICE candidates are that node's).
//
//	calls.rtc.<home>      frames for calls homed on <home>, from other nodes
//	calls.reply.<origin>  answers to those frames
//	calls.deliver.<origin> signals and drawings for devices held by <origin>

// Sender reaches a connection on this node by id (the gateway).
type Sender interface {
	SendTo(userID, connID string, frame []byte) bool
}

type relayEnvelope struct {
	Origin  string          `json:"origin"`
	Request string          `json:"request,omitempty"` // "" for notices that want no answer
	UserID  string          `json:"user_id"`
	ConnID  string          `json:"conn_id"`
	Host    string          `json:"host"`
	Closed  bool            `json:"closed,omitempty"` // the device's WebSocket closed
	Frame   json.RawMessage `json:"frame,omitempty"`
}

type relayReply struct {
	Request string          `json:"request"`
	Reply   map[string]any  `json:"reply,omitempty"`
	Problem *httpx.Problem  `json:"problem,omitempty"`
	Frame   json.RawMessage `json:"frame,omitempty"`
}

type relayDelivery struct {
	UserID string          `json:"user_id"`
	ConnID string          `json:"conn_id"`
	Frame  json.RawMessage `json:"frame"`
}

// relay is the Media's link to other nodes.
type relay struct {
	m      *Media
	bus    bus.Bus
	node   string
	sender Sender
	subs   []bus.Subscription

	next    atomic.Int64
	mu      sync.Mutex
	waiting map[string]chan relayReply
	remote  map[string]map[string]string // conn id → call id → home node
}

// EnableRelay connects the Media to the other nodes over b; sender
// delivers to this node's connections.
func (m *Media) EnableRelay(b bus.Bus, sender Sender) error {
	r := &relay{m: m, bus: b, node: m.svc.cfg.Node, sender: sender,
		waiting: map[string]chan relayReply{}, remote: map[string]map[string]string{}}
	for subject, h := range map[string]bus.Handler{
		"calls.rtc." + r.node:     r.onFrame,
		"calls.reply." + r.node:   r.onReply,
		"calls.deliver." + r.node: r.onDeliver,
	} {
		sub, err := b.Subscribe(subject, h)
		if err != nil {
			r.close()
			return err
		}
		r.subs = append(r.subs, sub)
	}
	m.relay = r
	return nil
}

func (r *relay) close() {
	for _, s := range r.subs {
		_ = s.Unsubscribe()
	}
}

// homeOf returns the node a call's media lives on.
// A call never moves, so its node is looked up once: every signaling frame
// and drawing asks, and must not cost a query.
func (m *Media) homeOf(ctx context.Context, callID string) (string, error) {
	m.mu.Lock()
	home, ok := m.homes[callID]
	m.mu.Unlock()
	if ok {
		return home, nil
	}
	err := m.svc.db.QueryRowContext(ctx, `SELECT node FROM calls WHERE id = $1`, callID).Scan(&home)
	if err != nil {
		return "", Problem(ErrNotFound)
	}
	m.mu.Lock()
	if len(m.homes) >= maxRememberedHomes { // forget old calls wholesale
		m.homes = map[string]string{}
	}
	m.homes[callID] = home
	m.mu.Unlock()
	return home, nil
}

// maxRememberedHomes bounds the memory of calls' nodes.
const maxRememberedHomes = 10000

// forward sends a device's frame to the call's node and waits for its
// answer.
func (r *relay) forward(ctx context.Context, home string, peer realtime.Peer, callID string, raw []byte) (map[string]any, error) {
	id := r.node + "-" + strconv.FormatInt(r.next.Add(1), 10)
	ch := make(chan relayReply, 1)
	r.mu.Lock()
	r.waiting[id] = ch
	if r.remote[peer.ConnID()] == nil {
		r.remote[peer.ConnID()] = map[string]string{}
	}
	r.remote[peer.ConnID()][callID] = home
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.waiting, id)
		r.mu.Unlock()
	}()
	env, _ := json.Marshal(relayEnvelope{Origin: r.node, Request: id, UserID: peer.UserID(), ConnID: peer.ConnID(), Host: peer.Host(), Frame: raw})
	if err := r.bus.Publish(ctx, "calls.rtc."+home, env); err != nil {
		return nil, err
	}
	select {
	case rep := <-ch:
		if rep.Problem != nil {
			return nil, rep.Problem
		}
		return rep.Reply, nil
	case <-ctx.Done():
		return nil, httpx.NewProblem(http.StatusServiceUnavailable, "call-unreachable", "Call's node did not answer",
			fmt.Sprintf("node %s did not answer in time; try again", home))
	}
}

// closed tells the homes of a closed connection's calls.
func (r *relay) closed(peer realtime.Peer) {
	r.mu.Lock()
	homes := map[string]bool{}
	for _, home := range r.remote[peer.ConnID()] {
		homes[home] = true
	}
	delete(r.remote, peer.ConnID())
	r.mu.Unlock()
	for home := range homes {
		env, _ := json.Marshal(relayEnvelope{Origin: r.node, UserID: peer.UserID(), ConnID: peer.ConnID(), Host: peer.Host(), Closed: true})
		_ = r.bus.Publish(context.Background(), "calls.rtc."+home, env)
	}
}

// remotePeer is a device held by another node, as this node's Media sees
// it: what is sent to it travels back over the bus.
type remotePeer struct {
	r                  *relay
	origin, user, conn string
	host               string
}

func (p *remotePeer) UserID() string { return p.user }
func (p *remotePeer) ConnID() string { return p.origin + "/" + p.conn }
func (p *remotePeer) Host() string   { return p.host }
func (p *remotePeer) Send(frame []byte) {
	data, _ := json.Marshal(relayDelivery{UserID: p.user, ConnID: p.conn, Frame: frame})
	_ = p.r.bus.Publish(context.Background(), "calls.deliver."+p.origin, data)
}

// onFrame serves, on the call's node, a frame relayed from another node.
// Frames of one device arrive in order (one bus subscription) and are
// served in order, each on its own goroutine only after the previous.
func (r *relay) onFrame(_ string, data []byte) {
	var env relayEnvelope
	if json.Unmarshal(data, &env) != nil || env.Origin == "" {
		return
	}
	peer := &remotePeer{r: r, origin: env.Origin, user: env.UserID, conn: env.ConnID, host: env.Host}
	if env.Closed {
		go r.m.Closed(peer)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	reply, err := r.m.serve(ctx, peer, env.Frame)
	rep := relayReply{Request: env.Request, Reply: reply}
	var p *httpx.Problem
	if errors.As(err, &p) {
		rep.Problem = p
	} else if err != nil {
		r.m.svc.log().Error("relayed rtc frame", "err", err)
		rep.Problem = httpx.NewProblem(http.StatusInternalServerError, "internal", "Internal server error", "something went wrong on the call's node")
	}
	out, _ := json.Marshal(rep)
	_ = r.bus.Publish(context.Background(), "calls.reply."+env.Origin, out)
}

func (r *relay) onReply(_ string, data []byte) {
	var rep relayReply
	if json.Unmarshal(data, &rep) != nil {
		return
	}
	r.mu.Lock()
	ch := r.waiting[rep.Request]
	r.mu.Unlock()
	if ch != nil {
		ch <- rep
	}
}

func (r *relay) onDeliver(_ string, data []byte) {
	var d relayDelivery
	if json.Unmarshal(data, &d) == nil {
		r.sender.SendTo(d.UserID, d.ConnID, d.Frame)
	}
}
