package chat

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/db/dbtest"
	"github.com/parley-chat/parley/internal/realtime"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func TestHistQuantiles(t *testing.T) {
	var h Hist
	for i := 1; i <= 100_000; i++ {
		h.Record(time.Duration(i) * time.Microsecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 50 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {0.999, 99900 * time.Microsecond}} {
		got := h.Quantile(c.q)
		if math.Abs(float64(got-c.want))/float64(c.want) > 0.02 {
			t.Errorf("q%v = %v, want %v ± 2%%", c.q, got, c.want)
		}
	}
	if h.Max() != 100*time.Millisecond || h.Count() != 100_000 {
		t.Errorf("max %v count %d", h.Max(), h.Count())
	}
	var small Hist
	small.Record(3)
	if small.Quantile(0.5) != 3 {
		t.Errorf("exact small values: got %v", small.Quantile(0.5))
	}
}

func TestSendFrameRoundTrip(t *testing.T) {
	b := appendSendFrame(nil, 42, "conv-1", "lgabc-7", 123456789, 7, "xxxx")
	var f struct {
		V              int    `json:"v"`
		Type           string `json:"type"`
		ID             string `json:"id"`
		ConversationID string `json:"conversation_id"`
		ClientID       string `json:"client_id"`
		Body           string `json:"body"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if f.V != 1 || f.Type != "send" || f.ID != "42" || f.ConversationID != "conv-1" || f.ClientID != "lgabc-7:42" {
		t.Fatalf("decoded %+v", f)
	}
	// Ordinary text, not a phone number the marketplace would check.
	run := 0
	for _, r := range f.Body {
		if r >= '0' && r <= '9' {
			run++
		} else {
			run = 0
		}
		if run > 4 {
			t.Fatalf("body %q carries a run of digits", f.Body)
		}
	}
	// The server echoes the body inside an event frame.
	event := fmt.Sprintf(`{"v":1,"type":"event","event":{"conversation_id":"conv-1","seq":9,"type":"message.created","message":{"id":"m","body":%q}}}`, f.Body)
	if typ := frameType([]byte(event)); string(typ) != "event" {
		t.Fatalf("type %q", typ)
	}
	sent, sender, ok := bodyStamp([]byte(event))
	if !ok || sent != 123456789 || sender != 7 {
		t.Fatalf("stamp %d %d %v", sent, sender, ok)
	}
	var n int
	splitFrames([]byte("a\nb\n\nc"), func([]byte) { n++ })
	if n != 3 {
		t.Fatalf("split into %d frames, want 3", n)
	}
}

// BenchmarkScanEventFrame is the load generator's own cost per delivery:
// finding the type and the send stamp in an event frame.
func BenchmarkScanEventFrame(b *testing.B) {
	body := string(appendSendFrame(nil, 1, "c", "x", 1234567890123, 42, strings.Repeat("x", 70)))
	var f struct{ Body string }
	_ = json.Unmarshal([]byte(body), &f)
	frame := []byte(`{"v":1,"type":"event","event":{"conversation_id":"0195e0a4-7c1e-7b5e-9a4e-2f3c4d5e6f70","seq":1234,"type":"message.created","actor_id":"0195e0a4-7c1e-7b5e-9a4e-2f3c4d5e6f71","at":"2026-11-25T21:18:37.123456Z","message":{"id":"0195e0a4-7c1e-7b5e-9a4e-2f3c4d5e6f72","conversation_id":"0195e0a4-7c1e-7b5e-9a4e-2f3c4d5e6f70","seq":1234,"sender_id":"0195e0a4-7c1e-7b5e-9a4e-2f3c4d5e6f71","client_id":"lgabcd-1:1","body":"` +
		f.Body + `","reply_to":null,"mentions":[],"attachments":[],"reactions":[],"created_at":"2026-11-25T21:18:37.123456Z","edited_at":null,"deleted":false},"message_id":"0195e0a4-7c1e-7b5e-9a4e-2f3c4d5e6f72"}}`)
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		if string(frameType(frame)) != "event" {
			b.Fatal("type")
		}
		if _, _, ok := bodyStamp(frame); !ok {
			b.Fatal("stamp")
		}
	}
}

// group10 is an in-process server with one group of ten members, each on
// its own gateway connection.
type group10 struct {
	conns []*websocket.Conn
	conv  string
}

func newGroup10(b *testing.B, dsn string) *group10 {
	b.Helper()
	cfg := app.Config{DataDir: b.TempDir(), Argon2: auth.Argon2Params{Memory: 64, Time: 1, Threads: 1},
		// The per-connection frame limit would cap the pipelined
		// benchmark at 20 messages a second per member.
		Realtime: realtime.Config{FrameRate: 1e6, FrameBurst: 1e6}}
	if strings.HasPrefix(dsn, "postgres") {
		cfg.DB = dsn
	} else {
		cfg.DB = "sqlite:" + dsn
	}
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	b.Cleanup(func() { srv.CloseClientConnections(); srv.Close(); a.Close() })
	ctx := context.Background()
	hc := &http.Client{Timeout: time.Minute}
	var (
		users []account
		ids   []string
	)
	for i := range GroupSize {
		u, err := signup(ctx, hc, srv.URL, fmt.Sprintf("b%d@bench.invalid", i), fmt.Sprint("B", i))
		if err != nil {
			b.Fatal(err)
		}
		users = append(users, u)
		if i > 0 {
			ids = append(ids, u.ID)
		}
	}
	c, _ := client.New(srv.URL, client.WithToken(users[0].Token))
	conv, err := c.CreateGroup(ctx, "bench", ids)
	if err != nil {
		b.Fatal(err)
	}
	d, err := newDialer(srv.URL, nil, 4096)
	if err != nil {
		b.Fatal(err)
	}
	g := &group10{conv: conv.ID}
	for _, u := range users {
		ws, err := d.dial(ctx, u.Token)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { ws.Close() })
		g.conns = append(g.conns, ws)
	}
	return g
}

// BenchmarkSendDeliverGroup10 sends one message at a time into a group of
// ten and waits until all ten connections have it: the unloaded send →
// last delivery time, including the durable write.
func BenchmarkSendDeliverGroup10(b *testing.B) {
	engines(b, func(b *testing.B, dsn string) {
		g := newGroup10(b, dsn)
		delivered := make(chan int64, 1024)
		for _, ws := range g.conns {
			go readStamps(ws, delivered)
		}
		var buf []byte
		i := 0
		for b.Loop() {
			i++
			buf = appendSendFrame(buf[:0], uint64(i), g.conv, "seq", int64(i), 0, "hello")
			if err := g.conns[0].WriteMessage(websocket.TextMessage, buf); err != nil {
				b.Fatal(err)
			}
			for n := 0; n < GroupSize; {
				if <-delivered == int64(i) {
					n++
				}
			}
		}
	})
}

// BenchmarkSendDeliverGroup10Pipelined has every member send with up to
// 16 messages unanswered; ns/op is the time per message (stored, then
// delivered to ten connections) at saturation, the in-process load
// generator included.
func BenchmarkSendDeliverGroup10Pipelined(b *testing.B) {
	engines(b, func(b *testing.B, dsn string) {
		g := newGroup10(b, dsn)
		total := b.N
		var delivered atomic.Int64
		all := make(chan struct{})
		windows := make([]chan struct{}, len(g.conns))
		for m, ws := range g.conns {
			windows[m] = make(chan struct{}, 16)
			go func() {
				for {
					_, data, err := ws.ReadMessage()
					if err != nil {
						return
					}
					splitFrames(data, func(f []byte) {
						switch string(frameType(f)) {
						case "ack", "error":
							<-windows[m]
						case "event":
							if _, _, ok := bodyStamp(f); ok && delivered.Add(1) == int64(total*GroupSize) {
								close(all)
							}
						}
					})
				}
			}()
		}
		start := time.Now()
		b.ResetTimer()
		for m, ws := range g.conns {
			go func() {
				var buf []byte
				for i := m; i < total; i += GroupSize {
					windows[m] <- struct{}{}
					buf = appendSendFrame(buf[:0], uint64(i+1), g.conv, "p"+strconv.Itoa(m), int64(i), m, "hello")
					if err := ws.WriteMessage(websocket.TextMessage, buf); err != nil {
						return
					}
				}
			}()
		}
		select {
		case <-all:
		case <-time.After(5 * time.Minute):
			b.Fatalf("delivered %d of %d", delivered.Load(), total*GroupSize)
		}
		b.StopTimer()
		b.ReportMetric(float64(total*GroupSize)/time.Since(start).Seconds(), "deliveries/s")
	})
}

func readStamps(ws *websocket.Conn, out chan<- int64) {
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			return
		}
		splitFrames(data, func(f []byte) {
			if string(frameType(f)) == "event" {
				if sent, _, ok := bodyStamp(f); ok {
					out <- sent
				}
			}
		})
	}
}

func engines(b *testing.B, fn func(b *testing.B, dsn string)) {
	b.Run("sqlite", func(b *testing.B) { fn(b, dbtest.SQLiteDSN(b)) })
	b.Run("postgres", func(b *testing.B) { fn(b, dbtest.PostgresDSN(b)) })
}
