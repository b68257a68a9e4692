package realtime_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/db/dbtest"
	"github.com/parley-chat/parley/internal/realtime"
)

// Tests of the reading side: idle sockets are watched by the poller and
// read by a goroutine only when bytes arrive (read.go, poll_linux.go).
// Each runs both ways: polled, and with a goroutine reading each
// connection (TLS, or a system without epoll).

func readModes(t *testing.T, f func(t *testing.T, blocking bool)) {
	for _, mode := range []struct {
		name     string
		blocking bool
	}{{"polled", false}, {"blocking", true}} {
		t.Run(mode.name, func(t *testing.T) {
			defer realtime.SetBlockingReads(mode.blocking)()
			f(t, mode.blocking)
		})
	}
}

// dialRaw opens a WebSocket and also returns its socket, so a test can
// write bytes the client library would not.
func dialRaw(t *testing.T, n *node, p *person) (*raw, net.Conn) {
	t.Helper()
	var sock net.Conn
	d := websocket.Dialer{NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		sock = c
		return c, err
	}}
	url := "ws" + strings.TrimPrefix(n.url, "http") + "/api/v1/ws"
	ws, _, err := d.Dial(url, http.Header{"Authorization": {"Bearer " + p.token}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	r := &raw{t: t, ws: ws}
	if f := r.next(); f["type"] != "hello" {
		t.Fatalf("first frame %v, want hello", f)
	}
	return r, sock
}

// clientFrame encodes one masked client frame.
func clientFrame(fin bool, op int, payload []byte) []byte {
	b0 := byte(op)
	if fin {
		b0 |= 0x80
	}
	out := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		out = append(out, 0x80|byte(n))
	case n < 1<<16:
		out = append(out, 0x80|126)
		out = binary.BigEndian.AppendUint16(out, uint16(n))
	default:
		out = append(out, 0x80|127)
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	}
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	out = append(out, key[:]...)
	for i, b := range payload {
		out = append(out, b^key[i&3])
	}
	return out
}

// roundTrip proves the server still serves r: an application ping comes
// back as a pong.
func roundTrip(t *testing.T, r *raw, id string) {
	t.Helper()
	r.sendText(fmt.Sprintf(`{"v":1,"type":"ping","id":%q}`, id))
	if f := r.next(); f["type"] != "pong" || f["id"] != id {
		t.Fatalf("ping %s → %v", id, f)
	}
}

func TestAFrameArrivingInPiecesIsReadWhole(t *testing.T) {
	readModes(t, func(t *testing.T, _ bool) {
		n := startNode(t, dbtest.SQLiteDSN(t))
		ana := n.person("Ana")
		slow, sock := dialRaw(t, n, ana)
		other := ana.raw(t, n)

		frame := clientFrame(true, websocket.TextMessage, []byte(`{"v":1,"type":"ping","id":"pieces"}`))
		// Cut inside the header, inside the mask key and inside the
		// payload; between the pieces, another connection is served.
		for i, piece := range [][]byte{frame[:1], frame[1:4], frame[4:9], frame[9:20], frame[20:]} {
			if _, err := sock.Write(piece); err != nil {
				t.Fatal(err)
			}
			roundTrip(t, other, fmt.Sprint("other-", i))
		}
		if f := slow.next(); f["type"] != "pong" || f["id"] != "pieces" {
			t.Fatalf("the frame sent in pieces → %v", f)
		}

		// A message in fragments with a ping between them: the ping is
		// answered, the fragments make one message.
		var pongs atomic.Int32
		slow.ws.SetPongHandler(func(string) error { pongs.Add(1); return nil })
		msg := []byte(`{"v":1,"type":"ping","id":"fragments"}`)
		var b []byte
		b = append(b, clientFrame(false, websocket.TextMessage, msg[:10])...)
		b = append(b, clientFrame(true, websocket.PingMessage, []byte("are you there"))...)
		b = append(b, clientFrame(false, 0, msg[10:20])...)
		b = append(b, clientFrame(true, 0, msg[20:])...)
		// Several messages in one write are all read.
		b = append(b, clientFrame(true, websocket.TextMessage, []byte(`{"v":1,"type":"ping","id":"after-1"}`))...)
		b = append(b, clientFrame(true, websocket.TextMessage, []byte(`{"v":1,"type":"ping","id":"after-2"}`))...)
		if _, err := sock.Write(b); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"fragments", "after-1", "after-2"} {
			if f := slow.next(); f["type"] != "pong" || f["id"] != id {
				t.Fatalf("want pong %s, got %v", id, f)
			}
		}
		if pongs.Load() != 1 {
			t.Fatalf("%d WebSocket pongs for one ping", pongs.Load())
		}
	})
}

func TestProtocolViolationsCloseAsBefore(t *testing.T) {
	readModes(t, func(t *testing.T, _ bool) {
		n := startNode(t, dbtest.SQLiteDSN(t))
		ana := n.person("Ana")
		for _, tc := range []struct {
			name  string
			bytes []byte
			code  int
		}{
			{"unmasked", []byte{0x81, 0x02, '{', '}'}, websocket.CloseProtocolError},
			{"reserved bit", append([]byte{0xc1}, clientFrame(true, 1, []byte("{}"))[1:]...), websocket.CloseProtocolError},
			{"unknown opcode", clientFrame(true, 3, nil), websocket.CloseProtocolError},
			{"long control", clientFrame(true, websocket.PingMessage, make([]byte, 126)), websocket.CloseProtocolError},
			{"fragmented control", clientFrame(false, websocket.PingMessage, nil), websocket.CloseProtocolError},
			{"stray continuation", clientFrame(true, 0, []byte("x")), websocket.CloseProtocolError},
			{"bad close code", clientFrame(true, websocket.CloseMessage, []byte{0x03, 0xed}), websocket.CloseProtocolError},
			{"too large", clientFrame(true, websocket.TextMessage, make([]byte, realtime.MaxFrameBytes+1)), websocket.CloseMessageTooBig},
			{"too large in fragments", append(clientFrame(false, websocket.TextMessage, make([]byte, realtime.MaxFrameBytes)), clientFrame(true, 0, []byte("x"))...), websocket.CloseMessageTooBig},
			{"goodbye", clientFrame(true, websocket.CloseMessage, websocket.FormatCloseMessage(4321, "bye")), 4321},
		} {
			r, sock := dialRaw(t, n, ana)
			if _, err := sock.Write(tc.bytes); err != nil {
				t.Fatal(err)
			}
			if code := r.closeCode(); code != tc.code {
				t.Errorf("%s: close code %d, want %d", tc.name, code, tc.code)
			}
		}
	})
}

func TestIdleConnectionsArePingedAndDeadOnesCut(t *testing.T) {
	readModes(t, func(t *testing.T, blocking bool) {
		const ping = 300 * time.Millisecond
		n := startNode(t, dbtest.SQLiteDSN(t), func(c *app.Config) {
			c.Realtime = realtime.Config{PingInterval: ping}
		})
		ana := n.person("Ana")

		// 40 live connections read (which answers pings); 20 dead ones
		// never read, and 10 of those sent half a frame first.
		type live struct {
			r      *raw
			pings  atomic.Int32
			frames chan map[string]any
		}
		var lives []*live
		for range 40 {
			l := &live{r: ana.raw(t, n), frames: make(chan map[string]any, 16)}
			l.r.ws.SetPingHandler(func(data string) error {
				l.pings.Add(1)
				return l.r.ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
			})
			go func() {
				defer close(l.frames)
				for {
					f, err := l.r.read()
					if err != nil {
						return
					}
					l.frames <- f
				}
			}()
			lives = append(lives, l)
		}
		var dead []net.Conn
		for i := range 20 {
			_, sock := dialRaw(t, n, ana)
			if i%2 == 0 {
				if _, err := sock.Write(clientFrame(true, websocket.TextMessage, []byte(`{"v":1,"type":"ping"}`))[:5]); err != nil {
					t.Fatal(err)
				}
			}
			dead = append(dead, sock)
		}

		// Every dead connection is cut by the server: its socket reaches
		// end of file (after the pings and hello that were sent to it).
		var wg sync.WaitGroup
		cut := make([]error, len(dead))
		for i, sock := range dead {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = sock.SetReadDeadline(time.Now().Add(20 * ping))
				buf := make([]byte, 512)
				for {
					if _, err := sock.Read(buf); err != nil {
						var ne net.Error
						if errors.As(err, &ne) && ne.Timeout() {
							cut[i] = err
						}
						return
					}
				}
			}()
		}
		wg.Wait()
		for i, err := range cut {
			if err != nil {
				t.Fatalf("dead connection %d was not cut within %v: %v", i, 20*ping, err)
			}
		}
		// The live ones are pinged on, past twice the interval, and still
		// answer.
		for i, l := range lives {
			eventually(t, fmt.Sprint("live connection ", i, " to get 4 pings"), func() bool { return l.pings.Load() >= 4 })
		}
		// Polled, answering pings leaves no goroutine behind: the pongs
		// are read and the sockets go back to the poller.
		want := int64(0)
		if blocking {
			want = int64(len(lives))
		}
		eventually(t, fmt.Sprint(want, " connections being read"), func() bool { return n.app.Gateway.Reading() == want })
		for i, l := range lives {
			id := fmt.Sprint("live-", i)
			if err := l.r.ws.WriteMessage(websocket.TextMessage, []byte(`{"v":1,"type":"ping","id":"`+id+`"}`)); err != nil {
				t.Fatalf("live connection %d: %v", i, err)
			}
			select {
			case f := <-l.frames:
				if f["type"] != "pong" || f["id"] != id {
					t.Fatalf("live connection %d: %v", i, f)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("live connection %d does not answer", i)
			}
		}
	})
}

func TestManyConnectionsReadConcurrently(t *testing.T) {
	readModes(t, func(t *testing.T, _ bool) {
		n := startNode(t, dbtest.SQLiteDSN(t), func(c *app.Config) {
			c.Realtime = realtime.Config{FrameRate: 10000, FrameBurst: 1000}
		})
		ana := n.person("Ana")
		const conns, frames = 30, 50
		rs := make([]*raw, conns)
		for i := range rs {
			rs[i] = ana.raw(t, n)
		}
		var wg sync.WaitGroup
		errs := make(chan error, conns)
		for i, r := range rs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				go func() {
					for j := range frames {
						_ = r.ws.WriteMessage(websocket.TextMessage, fmt.Appendf(nil, `{"v":1,"type":"ping","id":"%d-%d"}`, i, j))
					}
				}()
				for j := range frames {
					f, err := r.read()
					if err != nil {
						errs <- err
						return
					}
					if want := fmt.Sprintf("%d-%d", i, j); f["type"] != "pong" || f["id"] != want {
						errs <- fmt.Errorf("connection %d: %v, want pong %s", i, f, want)
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	})
}

func TestDrainClosesIdleConnectionsGoingAway(t *testing.T) {
	readModes(t, func(t *testing.T, _ bool) {
		n := startNode(t, dbtest.SQLiteDSN(t))
		ana := n.person("Ana")
		var rs []*raw
		for range 10 {
			rs = append(rs, ana.raw(t, n))
		}
		n.app.Gateway.Drain()
		for i, r := range rs {
			if code := r.closeCode(); code != websocket.CloseGoingAway {
				t.Fatalf("connection %d closed with %d, want 1001", i, code)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := n.app.Gateway.Shutdown(ctx); err != nil {
			t.Fatalf("shutdown after drain: %v", err)
		}
	})
}

func TestShutdownCutsConnectionsThatStayAfterItsDeadline(t *testing.T) {
	readModes(t, func(t *testing.T, _ bool) {
		n := startNode(t, dbtest.SQLiteDSN(t))
		ana := n.person("Ana")
		var socks []net.Conn
		for range 5 {
			_, sock := dialRaw(t, n, ana)
			socks = append(socks, sock) // never read: the close frame is not answered
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_ = n.app.Gateway.Shutdown(ctx)
		for i, sock := range socks {
			_ = sock.SetReadDeadline(time.Now().Add(10 * time.Second))
			buf := make([]byte, 512)
			for {
				_, err := sock.Read(buf)
				if err == nil {
					continue
				}
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					t.Fatalf("connection %d still open after Shutdown", i)
				}
				break
			}
		}
		ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := n.app.Gateway.Shutdown(ctx); err != nil {
			t.Fatalf("every connection should have finished: %v", err)
		}
	})
}
