package realtime

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// fakeConn reads its input and discards what is written to it.
type fakeConn struct {
	net.Conn // nil: the other methods are not used
	in       *bytes.Reader
}

func (c fakeConn) Read(p []byte) (int, error)       { return c.in.Read(p) }
func (c fakeConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c fakeConn) Close() error                     { return nil }
func (c fakeConn) SetDeadline(time.Time) error      { return nil }
func (c fakeConn) SetReadDeadline(time.Time) error  { return nil }
func (c fakeConn) SetWriteDeadline(time.Time) error { return nil }
func (c fakeConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c fakeConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }

// hijacker lets gorilla upgrade a fakeConn.
type hijacker struct {
	http.ResponseWriter
	conn net.Conn
}

func (h hijacker) Header() http.Header { return http.Header{} }

func (h hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return h.conn, bufio.NewReadWriter(bufio.NewReader(h.conn), bufio.NewWriter(h.conn)), nil
}

// serverConn returns a server-side gorilla connection reading input.
func serverConn(t testing.TB, input []byte) *websocket.Conn {
	r, _ := http.NewRequest(http.MethodGet, "http://x/", nil)
	r.Header.Set("Connection", "Upgrade")
	r.Header.Set("Upgrade", "websocket")
	r.Header.Set("Sec-WebSocket-Version", "13")
	r.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	u := websocket.Upgrader{ReadBufferSize: 1, CheckOrigin: func(*http.Request) bool { return true }}
	ws, err := u.Upgrade(hijacker{conn: fakeConn{in: bytes.NewReader(input)}}, r, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

type readResult struct {
	typ  int
	data string
}

// FuzzReaderMatchesGorilla feeds the same client bytes to Parley's reader
// and to gorilla's ReadMessage: the messages must be the same, and where
// gorilla refuses the input (protocol error, too large) so must Parley.
func FuzzReaderMatchesGorilla(f *testing.F) {
	frame := func(b0 byte, payload []byte) []byte {
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
		key := [4]byte{1, 2, 3, 4}
		out = append(out, key[:]...)
		for i, b := range payload {
			out = append(out, b^key[i&3])
		}
		return out
	}
	f.Add(frame(0x81, []byte(`{"v":1,"type":"ping"}`)))
	f.Add(append(frame(0x01, []byte("ab")), append(frame(0x89, []byte("p")), frame(0x80, []byte("cd"))...)...))
	f.Add(append(frame(0x82, bytes.Repeat([]byte{7}, 300)), frame(0x8a, nil)...))
	f.Add(frame(0x88, []byte{0x03, 0xe8, 'o', 'k'}))
	f.Add(frame(0x88, []byte{0x03}))
	f.Add(frame(0x81, make([]byte, MaxFrameBytes+1)))
	f.Add([]byte{0x81, 0x02, 'h', 'i'})
	f.Add([]byte{0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, input []byte) {
		// gorilla, as the gateway used it.
		gws := serverConn(t, input)
		gws.SetReadLimit(MaxFrameBytes)
		var want []readResult
		var wantErr error
		for {
			typ, data, err := gws.ReadMessage()
			if err != nil {
				wantErr = err
				break
			}
			want = append(want, readResult{typ, string(data)})
		}

		// Parley's reader.
		ws := serverConn(t, nil)
		c := &conn{g: &Gateway{cfg: Config{}.withDefaults()}, ws: ws, nc: ws.NetConn(), closeSent: make(chan struct{}), reading: true}
		br := bufio.NewReader(bytes.NewReader(input))
		var got []readResult
		var gotErr error
		for {
			typ, data, err := c.readMessage(br, false)
			if err != nil {
				gotErr = err
				break
			}
			got = append(got, readResult{typ, string(data)})
		}

		if len(got) != len(want) {
			t.Fatalf("%d messages, gorilla read %d (errors: %v / %v)", len(got), len(want), gotErr, wantErr)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("message %d differs", i)
			}
		}
		var ce *websocket.CloseError
		switch {
		case errors.Is(wantErr, websocket.ErrReadLimit):
			if !errors.Is(gotErr, errReadLimit) {
				t.Fatalf("gorilla: too large; Parley: %v", gotErr)
			}
		case errors.As(wantErr, &ce) && ce.Code == websocket.CloseAbnormalClosure, errors.Is(wantErr, io.EOF), errors.Is(wantErr, io.ErrUnexpectedEOF):
			// gorilla reports the input's end as 1006.
			if !errors.Is(gotErr, io.EOF) && !errors.Is(gotErr, io.ErrUnexpectedEOF) {
				t.Fatalf("gorilla: end of input; Parley: %v", gotErr)
			}
		case errors.As(wantErr, &ce):
			if !errors.Is(gotErr, errPeerClosed) {
				t.Fatalf("gorilla: closed by peer (%d); Parley: %v", ce.Code, gotErr)
			}
		default: // a protocol error: the same reason
			if gotErr == nil || gotErr.Error() != wantErr.Error() {
				t.Fatalf("gorilla: %v; Parley: %v", wantErr, gotErr)
			}
		}
	})
}
