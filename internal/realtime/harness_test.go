package realtime_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/db/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// node is one Parley server on a real listener.
type node struct {
	t   *testing.T
	app *app.App
	srv *httptest.Server
	url string
}

var accountSeq atomic.Int64

func startNode(t *testing.T, dsn string, mods ...func(*app.Config)) *node {
	t.Helper()
	cfg := app.Config{DataDir: t.TempDir(), Argon2: auth.Argon2Params{Memory: 64, Time: 1, Threads: 1}}
	if strings.HasPrefix(dsn, "postgres") {
		cfg.DB = dsn
	} else {
		cfg.DB = "sqlite:" + dsn
	}
	for _, m := range mods {
		m(&cfg)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := app.New(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	n := &node{t: t, app: a, srv: srv, url: srv.URL}
	t.Cleanup(n.stop)
	return n
}

var stopOnce sync.Map

// stop kills the node: connections are cut without a goodbye, as when a
// machine dies.
func (n *node) stop() {
	if _, done := stopOnce.LoadOrStore(n, true); done {
		return
	}
	n.srv.CloseClientConnections()
	n.srv.Close()
	n.app.Close()
}

// person is a signed-up account with an SDK client.
type person struct {
	*client.Client
	user  client.User
	token string
}

func (n *node) person(name string) *person {
	n.t.Helper()
	c, err := client.New(n.url)
	if err != nil {
		n.t.Fatal(err)
	}
	email := fmt.Sprintf("%s-%d@example.com", strings.ToLower(name), accountSeq.Add(1))
	u, err := c.Signup(context.Background(), email, name, "correct horse battery")
	if err != nil {
		n.t.Fatal(err)
	}
	tok, err := c.CreateToken(context.Background(), "test")
	if err != nil {
		n.t.Fatal(err)
	}
	return &person{Client: c, user: u, token: tok}
}

// on returns a client for the same account on another node.
func (p *person) on(t *testing.T, n *node) *person {
	c, err := client.New(n.url, client.WithToken(p.token))
	if err != nil {
		t.Fatal(err)
	}
	return &person{Client: c, user: p.user, token: p.token}
}

// inbox collects what a stream delivers.
type inbox struct {
	mu     sync.Mutex
	events []client.Event
	frames []client.Frame
}

func (b *inbox) onEvent(ev client.Event) {
	b.mu.Lock()
	b.events = append(b.events, ev)
	b.mu.Unlock()
}

func (b *inbox) onFrame(f client.Frame) {
	b.mu.Lock()
	b.frames = append(b.frames, f)
	b.mu.Unlock()
}

func (b *inbox) messages(convID string) []client.Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []client.Event
	for _, ev := range b.events {
		if ev.ConversationID == convID && ev.Type == "message.created" {
			out = append(out, ev)
		}
	}
	return out
}

func (b *inbox) framesOf(typ string) []client.Frame {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []client.Frame
	for _, f := range b.frames {
		if f.Type == typ {
			out = append(out, f)
		}
	}
	return out
}

// stream opens a self-resuming stream for p and waits until it is live.
func (p *person) stream(t *testing.T, cursors map[string]int64) (*client.Stream, *inbox) {
	t.Helper()
	b := &inbox{}
	s := p.Stream(context.Background(), client.StreamOptions{Cursors: cursors, OnEvent: b.onEvent, OnFrame: b.onFrame})
	t.Cleanup(func() { s.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.WaitConnected(ctx); err != nil {
		t.Fatalf("stream: %v", err)
	}
	return s, b
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}

// raw is a bare WebSocket to the gateway, for protocol-level tests.
type raw struct {
	t  *testing.T
	ws *websocket.Conn
}

func (p *person) raw(t *testing.T, n *node) *raw {
	t.Helper()
	url := "ws" + strings.TrimPrefix(n.url, "http") + "/api/v1/ws"
	ws, _, err := websocket.DefaultDialer.Dial(url, http.Header{"Authorization": {"Bearer " + p.token}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	r := &raw{t: t, ws: ws}
	if f := r.next(); f["type"] != "hello" {
		t.Fatalf("first frame %v, want hello", f)
	}
	return r
}

func (r *raw) sendText(s string) {
	r.t.Helper()
	if err := r.ws.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		r.t.Fatal(err)
	}
}

// next reads the next frame (a message may hold several; they are
// returned one by one).
func (r *raw) next() map[string]any {
	r.t.Helper()
	f, err := r.read()
	if err != nil {
		r.t.Fatalf("read: %v", err)
	}
	return f
}

var pendingFrames sync.Map // *raw → []map[string]any

func (r *raw) read() (map[string]any, error) {
	if v, ok := pendingFrames.Load(r); ok {
		q := v.([]map[string]any)
		if len(q) > 0 {
			pendingFrames.Store(r, q[1:])
			return q[0], nil
		}
	}
	_ = r.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, data, err := r.ws.ReadMessage()
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	for _, line := range strings.Split(string(data), "\n") {
		var f map[string]any
		if err := json.Unmarshal([]byte(line), &f); err != nil {
			r.t.Fatalf("server sent bad JSON %q: %v", line, err)
		}
		out = append(out, f)
	}
	pendingFrames.Store(r, out[1:])
	return out[0], nil
}

// closeCode reads until the connection closes and returns its close code.
func (r *raw) closeCode() int {
	r.t.Helper()
	for {
		if _, err := r.read(); err != nil {
			if ce, ok := err.(*websocket.CloseError); ok {
				return ce.Code
			}
			// A server that gave up on a connection closes its socket; a
			// pong this client sends while draining what was already in
			// flight then meets a reset. That is a cut too, reported as
			// gorilla reports a lost connection. A read timeout is not.
			if errors.Is(err, syscall.ECONNRESET) {
				return websocket.CloseAbnormalClosure
			}
			r.t.Logf("the connection's read ended without a close: %v", err)
			return -1
		}
	}
}
