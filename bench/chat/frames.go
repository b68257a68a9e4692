package chat

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// The load generator reads tens of thousands of frames a second on the
// same two cores as the server, so it does not decode them as JSON: it
// looks for the few fields it needs. The server writes its frames as
// {"v":1,"type":"…",…} (docs/PROTOCOL.md), possibly several in one
// WebSocket message separated by newlines.

var (
	keyType = []byte(`"type":"`)
	keyID   = []byte(`"id":"`)
	keyCode = []byte(`"code":"`)
	keyBody = []byte(`"body":"` + bodyPrefix)
	// The ack carries "created":true unless the send was a retry.
	keyCreated = []byte(`"created":true`)
)

// bodyPrefix starts every message the load generator sends; the body is
// bodyPrefix, the send time in nanoseconds since the run's epoch, 's', the
// sending connection's index, and padding.
const bodyPrefix = "lg"

// frameType returns the top-level type of a server frame. The "type" key
// comes before any nested object in every server frame.
func frameType(f []byte) []byte {
	return stringAfter(f, keyType)
}

// stringAfter returns the JSON string (unescaped characters only) that
// follows key, or nil.
func stringAfter(f, key []byte) []byte {
	i := bytes.Index(f, key)
	if i < 0 {
		return nil
	}
	rest := f[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return nil
	}
	return rest[:j]
}

// bodyStamp extracts the send time and the sender of a load-generator
// message from an event frame; ok is false for anything else.
func bodyStamp(f []byte) (sentNs int64, sender int, ok bool) {
	i := bytes.Index(f, keyBody)
	if i < 0 {
		return 0, 0, false
	}
	rest := f[i+len(keyBody):]
	var n int64
	k := 0
	for ; k < len(rest) && rest[k] >= 'a' && rest[k] <= 'j'; k++ {
		n = n*10 + int64(rest[k]-'a')
	}
	if k == 0 || k >= len(rest) || rest[k] != 's' {
		return 0, 0, false
	}
	k++
	s, start := 0, k
	for ; k < len(rest) && rest[k] >= '0' && rest[k] <= '9'; k++ {
		s = s*10 + int(rest[k]-'0')
	}
	if k == start {
		return 0, 0, false
	}
	return n, s, true
}

// appendSendFrame appends a send frame; the body carries the send time so
// that any receiver can compute the delay without a shared table. The time
// is written in letters, one per decimal digit ('a' is 0): as digits it
// looked like a phone number, and every send then paid for the
// marketplace's contact-details check (a database query per message),
// which ordinary chat text does not.
func appendSendFrame(b []byte, reqID uint64, convID, clientID string, sentNs int64, sender int, pad string) []byte {
	b = append(b, `{"v":1,"type":"send","id":"`...)
	b = strconv.AppendUint(b, reqID, 10)
	b = append(b, `","conversation_id":"`...)
	b = append(b, convID...)
	b = append(b, `","client_id":"`...)
	b = append(b, clientID...)
	b = append(b, ':')
	b = strconv.AppendUint(b, reqID, 10)
	b = append(b, `","body":"`+bodyPrefix...)
	b = appendLetterDigits(b, sentNs)
	b = append(b, 's')
	b = strconv.AppendInt(b, int64(sender), 10)
	b = append(b, ' ')
	b = append(b, pad...)
	b = append(b, `"}`...)
	return b
}

// appendLetterDigits appends n >= 0 in decimal, 'a' to 'j' for 0 to 9.
func appendLetterDigits(b []byte, n int64) []byte {
	start := len(b)
	b = strconv.AppendInt(b, n, 10)
	for i := start; i < len(b); i++ {
		b[i] += 'a' - '0'
	}
	return b
}

// splitFrames calls fn for each frame of a WebSocket message.
func splitFrames(msg []byte, fn func([]byte)) {
	for len(msg) > 0 {
		i := bytes.IndexByte(msg, '\n')
		if i < 0 {
			fn(msg)
			return
		}
		if i > 0 {
			fn(msg[:i])
		}
		msg = msg[i+1:]
	}
}

// wsURL turns the server's base URL into its gateway URL.
func wsURL(base string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("bench: base URL %q: want http(s)://", base)
	}
	u.Path += "/api/v1/ws"
	return u.String(), nil
}

// dialer makes raw gateway connections with an API token. A connection
// made by it costs the client a few kilobytes: small buffers and a shared
// pool for writes.
type dialer struct {
	url string
	ws  websocket.Dialer
}

var clientWriteBuffers sync.Pool

func newDialer(base string, source net.IP, bufSize int) (*dialer, error) {
	u, err := wsURL(base)
	if err != nil {
		return nil, err
	}
	nd := &net.Dialer{Timeout: 30 * time.Second}
	if source != nil {
		nd.LocalAddr = &net.TCPAddr{IP: source}
	}
	return &dialer{url: u, ws: websocket.Dialer{
		NetDialContext:   nd.DialContext,
		HandshakeTimeout: 30 * time.Second,
		ReadBufferSize:   bufSize,
		WriteBufferSize:  bufSize,
		WriteBufferPool:  &clientWriteBuffers,
	}}, nil
}

// hello is the first frame of a connection.
type hello struct {
	Type         string `json:"type"`
	UserID       string `json:"user_id"`
	ConnectionID string `json:"connection_id"`
}

// dial connects with token and waits for the hello frame.
func (d *dialer) dial(ctx context.Context, token string) (*websocket.Conn, error) {
	h := http.Header{"Authorization": {"Bearer " + token}}
	ws, res, err := d.ws.DialContext(ctx, d.url, h)
	if err != nil {
		if res != nil {
			return nil, fmt.Errorf("dial: %s: %w", res.Status, err)
		}
		return nil, err
	}
	_ = ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, data, err := ws.ReadMessage()
	if err != nil {
		ws.Close()
		return nil, fmt.Errorf("read hello: %w", err)
	}
	var hl hello
	first, _, _ := bytes.Cut(data, []byte{'\n'})
	if json.Unmarshal(first, &hl) != nil || hl.Type != "hello" {
		ws.Close()
		return nil, fmt.Errorf("expected hello, got %.100s", data)
	}
	_ = ws.SetReadDeadline(time.Time{})
	return ws, nil
}
