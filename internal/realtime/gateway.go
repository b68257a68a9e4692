// Package realtime is the WebSocket gateway: it holds devices' connections,
// routes announcements from the bus to the connections of the people
// concerned (on this node; every node does the same for its own), takes
// messages, read receipts and typing from devices, and keeps presence
// across devices and nodes. It stores nothing: the database is the truth,
// and a device that missed something resumes by cursor (docs/PROTOCOL.md).
package realtime

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"hash/maphash"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/bus"
	"github.com/parley-chat/parley/internal/chat"
)

// Chat is what the gateway needs of the messenger.
type Chat interface {
	ConversationIDs(ctx context.Context, userID string) ([]string, error)
	MemberIDs(ctx context.Context, convID string) ([]string, error)
	Send(ctx context.Context, userID, convID string, in chat.SendInput) (chat.Message, bool, error)
	MarkRead(ctx context.Context, userID, convID string, seq int64) (int64, error)
	Contacts(ctx context.Context, userID string, candidates []string) ([]string, error)
}

// Peer is a connection as an Extension sees it.
type Peer interface {
	UserID() string
	ConnID() string
	// Host is the host name the device used to reach the server.
	Host() string
	// Send queues a frame (a JSON object) to the device.
	Send(frame []byte)
}

// Extension serves the "rtc" frames of calls: Frame answers one (its
// reply becomes the ack's fields), Closed says a connection ended.
type Extension interface {
	Frame(ctx context.Context, p Peer, raw []byte) (reply map[string]any, err error)
	Closed(p Peer)
}

// Config tunes the gateway; zero fields take the defaults.
type Config struct {
	Node         string        // this node's name, unique in the cluster
	PingInterval time.Duration // server pings; a connection silent for 2× is dropped (25 s)
	WriteTimeout time.Duration // one write may take this long (10 s)
	QueueFrames  int           // frames a connection may have waiting (1024)
	QueueBytes   int           // bytes a connection may have waiting (4 MiB)
	FrameRate    float64       // frames per second a client may send (20)
	FrameBurst   int           // burst above FrameRate (60)
	MaxThrottled int           // frames refused for rate before closing (100)
	MaxBadFrames int           // malformed frames before closing (10)
	// Presence: nodes announce themselves every PresenceInterval; a node
	// not heard for 3× is dead and its users offline (5 s, so 15 s).
	PresenceInterval time.Duration
	Now              func() time.Time
}

func (c Config) withDefaults() Config {
	if c.Node == "" {
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		c.Node = "node-" + hex.EncodeToString(b)
	}
	if c.PingInterval == 0 {
		c.PingInterval = 25 * time.Second
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.QueueFrames == 0 {
		c.QueueFrames = 1024
	}
	if c.QueueBytes == 0 {
		c.QueueBytes = 4 << 20
	}
	if c.FrameRate == 0 {
		c.FrameRate = 20
	}
	if c.FrameBurst == 0 {
		c.FrameBurst = 60
	}
	if c.MaxThrottled == 0 {
		c.MaxThrottled = 100
	}
	if c.MaxBadFrames == 0 {
		c.MaxBadFrames = 10
	}
	if c.PresenceInterval == 0 {
		c.PresenceInterval = 5 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

const shardCount = 64

// shard holds part of the conversation → connections index.
type shard struct {
	mu    sync.RWMutex
	convs map[string]map[*conn]struct{}
}

// membershipOp is a change of who is in a conversation, applied to a
// user's connections (or queued while a connection is still loading its
// conversations).
type membershipOp struct {
	convID string
	add    bool
}

// Gateway is the realtime hub of one node.
type Gateway struct {
	cfg     Config
	log     *slog.Logger
	bus     bus.Bus
	chat    Chat
	metrics *metrics
	seed    maphash.Seed

	shards [shardCount]shard

	usersMu sync.Mutex
	users   map[string]map[*conn]struct{}

	presence *presence
	ext      Extension
	poller   *poller      // nil where connections read on goroutines of their own
	flushers *flushers    // write the connections a fan-out queued frames on
	readers  atomic.Int64 // connections a goroutine is reading; the others wait in the poller

	subs      []bus.Subscription
	stop      chan struct{}
	stopOnce  sync.Once
	wg        sync.WaitGroup
	connsWG   sync.WaitGroup
	draining  chan struct{}
	drainOnce sync.Once
}

// New builds a gateway and subscribes it to the bus.
func New(cfg Config, b bus.Bus, c Chat, lastSeen LastSeenStore, log *slog.Logger, reg prometheus.Registerer) (*Gateway, error) {
	cfg = cfg.withDefaults()
	g := &Gateway{
		cfg: cfg, log: log.With("component", "realtime"), bus: b, chat: c,
		metrics:  newMetrics(reg),
		seed:     maphash.MakeSeed(),
		users:    map[string]map[*conn]struct{}{},
		stop:     make(chan struct{}),
		draining: make(chan struct{}),
		poller:   sharedPoller(),
		flushers: newFlushers(),
	}
	for i := range g.shards {
		g.shards[i].convs = map[string]map[*conn]struct{}{}
	}
	if reg != nil {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "parley_ws_reading_connections",
			Help: "WebSocket connections a goroutine is reading now; the others are idle, watched by the poller."},
			func() float64 { return float64(g.readers.Load()) }))
	}
	g.presence = newPresence(g, lastSeen)
	type handler struct {
		h bus.Handler
		// inline: the handler queues frames on connections and takes no
		// lock a publisher holds, so a single node's publisher may run it
		// itself (bus.SubscribeInline). (A new conversation's members are
		// read from the database first; its publisher is a request, which
		// may wait that long.)
		inline bool
	}
	for subject, h := range map[string]handler{
		"chat.conv.*":     {g.onConversationEvent, true},
		"chat.receipt.*":  {g.onReceipt, true},
		"chat.typing.*":   {g.onTyping, true},
		"chat.call.*":     {g.onCall, true},
		"desk.user.*":     {g.toUser("desk.user.", FrameDesk, "desk"), false},
		"notice.user.*":   {g.toUser("notice.user.", FrameNotice, "notice"), false},
		"presence.>":      {g.presence.onMessage, false},
		auth.EndedSubject: {g.onCredentialsEnded, false},
	} {
		subscribe := b.Subscribe
		if h.inline {
			subscribe = func(subject string, h bus.Handler) (bus.Subscription, error) {
				return bus.SubscribeInline(b, subject, h)
			}
		}
		sub, err := subscribe(subject, h.h)
		if err != nil {
			g.Close()
			return nil, err
		}
		g.subs = append(g.subs, sub)
	}
	g.wg.Add(1)
	go g.tick()
	g.presence.start()
	return g, nil
}

// SetExtension installs the handler of "rtc" frames (before serving).
func (g *Gateway) SetExtension(e Extension) { g.ext = e }

// Node is this gateway's node name.
func (g *Gateway) Node() string { return g.cfg.Node }

func (g *Gateway) shardOf(convID string) *shard {
	return &g.shards[maphash.String(g.seed, convID)%shardCount]
}

// tick pings every connection each PingInterval (through its writer, so
// the hub never blocks on a socket) and runs presence housekeeping.
func (g *Gateway) tick() {
	defer g.wg.Done()
	t := time.NewTicker(g.cfg.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-g.stop:
			return
		case <-t.C:
			for _, c := range g.allConns() {
				c.ping()
			}
		}
	}
}

// SendTo queues a frame on one of this node's connections, found by id;
// it reports whether the connection is here.
func (g *Gateway) SendTo(userID, connID string, frame []byte) bool {
	g.usersMu.Lock()
	var target *conn
	for c := range g.users[userID] {
		if c.id == connID {
			target = c
		}
	}
	g.usersMu.Unlock()
	if target == nil {
		return false
	}
	target.send(frame)
	return true
}

func (g *Gateway) allConns() []*conn {
	g.usersMu.Lock()
	defer g.usersMu.Unlock()
	var out []*conn
	for _, conns := range g.users {
		for c := range conns {
			out = append(out, c)
		}
	}
	return out
}

// attach registers a connection and loads the conversations its user is
// in. Membership changes that arrive while the list loads are queued on the
// connection and applied after it, so none is lost or applied out of order.
func (g *Gateway) attach(ctx context.Context, c *conn) error {
	g.usersMu.Lock()
	c.loading = true
	if g.users[c.userID] == nil {
		g.users[c.userID] = map[*conn]struct{}{}
	}
	g.users[c.userID][c] = struct{}{}
	g.usersMu.Unlock()
	g.metrics.connections.Inc()

	ids, err := g.chat.ConversationIDs(ctx, c.userID)

	g.usersMu.Lock()
	defer g.usersMu.Unlock()
	if err != nil {
		return err
	}
	for _, id := range ids {
		g.addSub(c, id)
	}
	for _, op := range c.pending {
		if op.add {
			g.addSub(c, op.convID)
		} else {
			g.removeSub(c, op.convID)
		}
	}
	c.loading, c.pending = false, nil
	return nil
}

// detach forgets a closed connection.
func (g *Gateway) detach(c *conn) {
	g.usersMu.Lock()
	for id := range c.convs {
		g.removeSub(c, id)
	}
	for u := range c.watches {
		g.presence.unwatch(c, u)
	}
	conns := g.users[c.userID]
	delete(conns, c)
	if len(conns) == 0 {
		delete(g.users, c.userID)
	}
	g.usersMu.Unlock()
	g.metrics.connections.Dec()
	g.presence.localChanged(c.userID)
}

// addSub and removeSub need usersMu.
func (g *Gateway) addSub(c *conn, convID string) {
	if _, ok := c.convs[convID]; ok {
		return
	}
	c.convs[convID] = struct{}{}
	sh := g.shardOf(convID)
	sh.mu.Lock()
	set := sh.convs[convID]
	if set == nil {
		set = map[*conn]struct{}{}
		sh.convs[convID] = set
	}
	set[c] = struct{}{}
	sh.mu.Unlock()
}

func (g *Gateway) removeSub(c *conn, convID string) {
	if _, ok := c.convs[convID]; !ok {
		return
	}
	delete(c.convs, convID)
	sh := g.shardOf(convID)
	sh.mu.Lock()
	if set := sh.convs[convID]; set != nil {
		delete(set, c)
		if len(set) == 0 {
			delete(sh.convs, convID)
		}
	}
	sh.mu.Unlock()
}

// applyMembership changes a user's local connections' subscriptions.
func (g *Gateway) applyMembership(userID string, op membershipOp) {
	g.usersMu.Lock()
	defer g.usersMu.Unlock()
	for c := range g.users[userID] {
		switch {
		case c.loading:
			c.pending = append(c.pending, op)
		case op.add:
			g.addSub(c, op.convID)
		default:
			g.removeSub(c, op.convID)
		}
	}
}

// isMember reports whether the connection's user is in the conversation,
// as far as this node knows (kept current by membership events).
func (g *Gateway) isMember(c *conn, convID string) bool {
	g.usersMu.Lock()
	defer g.usersMu.Unlock()
	_, ok := c.convs[convID]
	return ok
}

// deliver queues frame on every local connection subscribed to convID,
// except skip.
func (g *Gateway) deliver(convID string, frame []byte, skip *conn) {
	sh := g.shardOf(convID)
	to := connLists.Get().(*[]*conn)
	sh.mu.RLock()
	for c := range sh.convs[convID] {
		if c != skip {
			*to = append(*to, c)
		}
	}
	sh.mu.RUnlock()
	for _, c := range *to {
		c.sendFanOut(frame)
	}
	g.metrics.deliveries.Add(float64(len(*to)))
	clear(*to)
	*to = (*to)[:0]
	connLists.Put(to)
}

// connLists are deliver's lists of recipients.
var connLists = sync.Pool{New: func() any { l := make([]*conn, 0, 64); return &l }}

// eventHead is the part of an event the router reads.
type eventHead struct {
	Type   string `json:"type"`
	UserID string `json:"user_id"`
}

func (g *Gateway) onConversationEvent(subject string, data []byte) {
	convID := strings.TrimPrefix(subject, "chat.conv.")
	var head eventHead
	if err := json.Unmarshal(data, &head); err != nil {
		g.log.Warn("undecodable event", "subject", subject, "err", err)
		return
	}
	frame := eventFrame(data)
	switch head.Type {
	case chat.EventConversationCreated:
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		members, err := g.chat.MemberIDs(ctx, convID)
		cancel()
		if err != nil {
			// Devices learn of the conversation when they next list theirs.
			g.log.Warn("load members of a new conversation", "conversation", convID, "err", err)
		}
		for _, u := range members {
			g.applyMembership(u, membershipOp{convID: convID, add: true})
		}
		g.deliver(convID, frame, nil)
	case chat.EventMemberAdded:
		g.applyMembership(head.UserID, membershipOp{convID: convID, add: true})
		g.deliver(convID, frame, nil)
	case chat.EventMemberRemoved:
		// The removed member's devices hear of it, then hear no more.
		g.deliver(convID, frame, nil)
		g.applyMembership(head.UserID, membershipOp{convID: convID, add: false})
	default:
		g.deliver(convID, frame, nil)
	}
}

func (g *Gateway) onReceipt(subject string, data []byte) {
	g.deliver(strings.TrimPrefix(subject, "chat.receipt."), wrapFrame(FrameReceipt, "receipt", data), nil)
}

func (g *Gateway) onCall(subject string, data []byte) {
	g.deliver(strings.TrimPrefix(subject, "chat.call."), wrapFrame(FrameCall, "call", data), nil)
}

// DeskSubject carries the help desk's news for one person to every device
// they have on any node (an offer to an agent, a customer's place in line).
func DeskSubject(userID string) string { return "desk.user." + userID }

// NoticeSubject carries a notice for one person to every device they have
// on any node: a marketplace session's reminder, say.
func NoticeSubject(userID string) string { return "notice.user." + userID }

// toUser delivers what is published on prefix+<user> to every connection
// of that user on this node, wrapped as a frame of type typ.
func (g *Gateway) toUser(prefix, typ, field string) bus.Handler {
	return func(subject string, data []byte) {
		userID := strings.TrimPrefix(subject, prefix)
		frame := wrapFrame(typ, field, data)
		g.usersMu.Lock()
		conns := make([]*conn, 0, len(g.users[userID]))
		for c := range g.users[userID] {
			conns = append(conns, c)
		}
		g.usersMu.Unlock()
		for _, c := range conns {
			c.send(frame)
		}
	}
}

// typingNotice is what a typing frame becomes on the bus.
type typingNotice struct {
	ConversationID string    `json:"conversation_id"`
	UserID         string    `json:"user_id"`
	Until          time.Time `json:"until"`
}

// TypingTTL is how long a typing notice lasts unless renewed.
const TypingTTL = 6 * time.Second

func (g *Gateway) onTyping(subject string, data []byte) {
	g.deliver(strings.TrimPrefix(subject, "chat.typing."), wrapFrame(FrameTypingTo, "typing", data), nil)
}

// onCredentialsEnded closes the connections made with a session that
// ended or a token that was revoked.
func (g *Gateway) onCredentialsEnded(_ string, data []byte) {
	var e auth.Ended
	if err := json.Unmarshal(data, &e); err != nil {
		return
	}
	ended := map[string]bool{}
	for _, id := range e.SessionIDs {
		ended["s:"+id] = true
	}
	for _, id := range e.TokenIDs {
		ended["t:"+id] = true
	}
	for _, c := range g.allConns() {
		if (c.sessionID != "" && ended["s:"+c.sessionID]) || (c.tokenID != "" && ended["t:"+c.tokenID]) {
			c.closeWith(CloseUnauthorized, "signed out")
		}
	}
}

// Drain stops accepting connections and closes the open ones with "going
// away", so clients reconnect to another node.
func (g *Gateway) Drain() {
	g.drainOnce.Do(func() { close(g.draining) })
	for _, c := range g.allConns() {
		c.closeWith(1001, "server shutting down")
	}
}

// Close drains, ends the bus subscriptions and background work, and waits
// (bounded by ctx in Shutdown) for connections to finish.
func (g *Gateway) Close() {
	g.Drain()
	g.stopOnce.Do(func() { close(g.stop) })
	for _, s := range g.subs {
		_ = s.Unsubscribe()
	}
	g.presence.stop()
	g.wg.Wait()
}

// Shutdown closes the gateway and waits for its connections to end, or for
// ctx.
func (g *Gateway) Shutdown(ctx context.Context) error {
	g.Close()
	done := make(chan struct{})
	go func() { g.connsWG.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		for _, c := range g.allConns() {
			c.abort()
		}
		return ctx.Err()
	}
}

type metrics struct {
	connections   prometheus.Gauge
	deliveries    prometheus.Counter
	framesOut     prometheus.Counter
	framesIn      prometheus.Counter
	slowConsumers prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		connections:   prometheus.NewGauge(prometheus.GaugeOpts{Name: "parley_ws_connections", Help: "Open WebSocket connections on this node."}),
		deliveries:    prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_ws_deliveries_total", Help: "Frames queued for delivery to connections."}),
		framesOut:     prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_ws_frames_out_total", Help: "Frames written to connections."}),
		framesIn:      prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_ws_frames_in_total", Help: "Frames read from connections."}),
		slowConsumers: prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_ws_slow_consumers_total", Help: "Connections closed because they fell behind."}),
	}
	if reg != nil {
		reg.MustRegister(m.connections, m.deliveries, m.framesOut, m.framesIn, m.slowConsumers)
	}
	return m
}
