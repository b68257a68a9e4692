package realtime

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"time"
)

// LastSeenStore keeps when people were last connected, so "last seen"
// survives restarts.
type LastSeenStore interface {
	SetLastSeen(ctx context.Context, userID string, at time.Time) error
	LastSeen(ctx context.Context, userIDs []string) (map[string]time.Time, error)
}

// Presence statuses as clients see them.
const (
	StatusOnline  = "online"
	StatusAway    = "away"
	StatusOffline = "offline"
)

// presence tracks who is connected on this node and, from the bus, on the
// others. Each node announces its users' changes and a heartbeat; a node
// that stops beating for three intervals is taken for dead and its users
// go offline. A node that starts asks the others to repeat their users.
type presence struct {
	g     *Gateway
	store LastSeenStore

	mu        sync.Mutex
	local     map[string]string            // user → this node's announced status
	remote    map[string]map[string]string // node → user → status
	heard     map[string]time.Time         // node → last heartbeat
	effective map[string]string            // user → status last told to watchers
	watchers  map[string]map[*conn]struct{}

	stopc chan struct{}
	done  chan struct{}
}

// presenceNotice travels on presence.user.<id>.
type presenceNotice struct {
	Node   string `json:"node"`
	UserID string `json:"user_id"`
	Status string `json:"status"` // active, away or offline (on that node)
}

type heartbeat struct {
	Node string `json:"node"`
}

// Status is what a client is told about a person.
type Status struct {
	UserID   string     `json:"user_id"`
	Status   string     `json:"status"`
	LastSeen *time.Time `json:"last_seen,omitempty"`
}

func newPresence(g *Gateway, store LastSeenStore) *presence {
	return &presence{
		g: g, store: store,
		local: map[string]string{}, remote: map[string]map[string]string{}, heard: map[string]time.Time{},
		effective: map[string]string{}, watchers: map[string]map[*conn]struct{}{},
		stopc: make(chan struct{}), done: make(chan struct{}),
	}
}

func (p *presence) publish(subject string, v any) {
	data, _ := json.Marshal(v)
	if err := p.g.bus.Publish(context.Background(), subject, data); err != nil {
		p.g.log.Warn("presence publish", "subject", subject, "err", err)
	}
}

func (p *presence) start() {
	p.publish("presence.sync."+p.g.cfg.Node, heartbeat{Node: p.g.cfg.Node})
	go p.loop()
}

func (p *presence) stop() {
	select {
	case <-p.stopc:
	default:
		close(p.stopc)
		<-p.done
	}
}

func (p *presence) loop() {
	defer close(p.done)
	t := time.NewTicker(p.g.cfg.PresenceInterval)
	defer t.Stop()
	for {
		p.publish("presence.node."+p.g.cfg.Node, heartbeat{Node: p.g.cfg.Node})
		p.expireNodes()
		select {
		case <-p.stopc:
			return
		case <-t.C:
		}
	}
}

// expireNodes forgets nodes not heard from for three intervals.
func (p *presence) expireNodes() {
	deadline := p.g.cfg.Now().Add(-3 * p.g.cfg.PresenceInterval)
	p.mu.Lock()
	var affected []string
	for node, at := range p.heard {
		if at.Before(deadline) {
			for u := range p.remote[node] {
				affected = append(affected, u)
			}
			delete(p.remote, node)
			delete(p.heard, node)
			p.g.log.Info("node presumed dead: its users are offline", "node", node)
		}
	}
	p.mu.Unlock()
	for _, u := range affected {
		p.recompute(u)
	}
}

func (p *presence) onMessage(subject string, data []byte) {
	rest := strings.TrimPrefix(subject, "presence.")
	kind, _, _ := strings.Cut(rest, ".")
	switch kind {
	case "user":
		var n presenceNotice
		if json.Unmarshal(data, &n) != nil || n.Node == p.g.cfg.Node {
			return
		}
		p.mu.Lock()
		p.heard[n.Node] = p.g.cfg.Now()
		users := p.remote[n.Node]
		if users == nil {
			users = map[string]string{}
			p.remote[n.Node] = users
		}
		if n.Status == StatusOffline {
			delete(users, n.UserID)
		} else {
			users[n.UserID] = n.Status
		}
		p.mu.Unlock()
		p.recompute(n.UserID)
	case "node":
		var h heartbeat
		if json.Unmarshal(data, &h) != nil || h.Node == p.g.cfg.Node {
			return
		}
		p.mu.Lock()
		p.heard[h.Node] = p.g.cfg.Now()
		p.mu.Unlock()
	case "sync":
		var h heartbeat
		if json.Unmarshal(data, &h) != nil || h.Node == p.g.cfg.Node {
			return
		}
		// A node joined (or restarted): repeat who is here.
		p.mu.Lock()
		var notices []presenceNotice
		for u, s := range p.local {
			notices = append(notices, presenceNotice{Node: p.g.cfg.Node, UserID: u, Status: s})
		}
		p.mu.Unlock()
		for _, n := range notices {
			p.publish("presence.user."+n.UserID, n)
		}
	}
}

// localChanged recomputes a user's status on this node from their
// connections and announces a change.
func (p *presence) localChanged(userID string) {
	p.g.usersMu.Lock()
	status := StatusOffline
	for c := range p.g.users[userID] {
		if c.status == "active" {
			status = "active"
			break
		}
		status = "away"
	}
	p.g.usersMu.Unlock()

	p.mu.Lock()
	old, ok := p.local[userID]
	if !ok {
		old = StatusOffline
	}
	if status == StatusOffline {
		delete(p.local, userID)
	} else {
		p.local[userID] = status
	}
	p.mu.Unlock()
	if old == status {
		return
	}
	p.publish("presence.user."+userID, presenceNotice{Node: p.g.cfg.Node, UserID: userID, Status: status})
	if status == StatusOffline && p.store != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := p.store.SetLastSeen(ctx, userID, p.g.cfg.Now()); err != nil {
			p.g.log.Warn("store last seen", "user", userID, "err", err)
		}
		cancel()
	}
	p.recompute(userID)
}

// statusLocked combines every node's view of a user; p.mu must be held.
func (p *presence) statusLocked(userID string) string {
	away := false
	check := func(s string) bool {
		switch s {
		case "active":
			return true
		case "away":
			away = true
		}
		return false
	}
	if check(p.local[userID]) {
		return StatusOnline
	}
	for _, users := range p.remote {
		if check(users[userID]) {
			return StatusOnline
		}
	}
	if away {
		return StatusAway
	}
	return StatusOffline
}

// recompute tells a user's watchers when their status changed.
func (p *presence) recompute(userID string) {
	p.mu.Lock()
	status := p.statusLocked(userID)
	old, known := p.effective[userID]
	if !known {
		old = StatusOffline
	}
	if status == old {
		p.mu.Unlock()
		return
	}
	if status == StatusOffline {
		delete(p.effective, userID)
	} else {
		p.effective[userID] = status
	}
	watchers := make([]*conn, 0, len(p.watchers[userID]))
	for c := range p.watchers[userID] {
		watchers = append(watchers, c)
	}
	p.mu.Unlock()
	if len(watchers) == 0 {
		return
	}
	st := Status{UserID: userID, Status: status}
	if status == StatusOffline {
		now := p.g.cfg.Now().UTC()
		st.LastSeen = &now
	}
	frame := wrapFrame(FrameStatus, "presence", encodeFrame(st))
	for _, c := range watchers {
		c.send(frame)
	}
}

// watch replaces what a connection follows (the gateway's usersMu held by
// the caller for c.watches) and returns the current statuses.
func (p *presence) setWatches(c *conn, users []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for u := range c.watches {
		p.unwatchLocked(c, u)
	}
	c.watches = make(map[string]struct{}, len(users))
	for _, u := range users {
		c.watches[u] = struct{}{}
		set := p.watchers[u]
		if set == nil {
			set = map[*conn]struct{}{}
			p.watchers[u] = set
		}
		set[c] = struct{}{}
	}
}

func (p *presence) unwatch(c *conn, userID string) {
	p.mu.Lock()
	p.unwatchLocked(c, userID)
	p.mu.Unlock()
}

func (p *presence) unwatchLocked(c *conn, userID string) {
	if set := p.watchers[userID]; set != nil {
		delete(set, c)
		if len(set) == 0 {
			delete(p.watchers, userID)
		}
	}
}

// statuses returns the current status of each user, with last seen for
// those offline.
func (p *presence) statuses(ctx context.Context, users []string) []Status {
	out := make([]Status, len(users))
	var offline []string
	p.mu.Lock()
	for i, u := range users {
		out[i] = Status{UserID: u, Status: p.statusLocked(u)}
		if out[i].Status == StatusOffline {
			offline = append(offline, u)
		}
	}
	p.mu.Unlock()
	if len(offline) == 0 || p.store == nil {
		return out
	}
	seen, err := p.store.LastSeen(ctx, offline)
	if err != nil {
		p.g.log.Warn("load last seen", "err", err)
		return out
	}
	for i := range out {
		if t, ok := seen[out[i].UserID]; ok && out[i].Status == StatusOffline {
			out[i].LastSeen = &t
		}
	}
	return out
}
