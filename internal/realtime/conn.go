package realtime

import (
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"
)

// Close codes of the protocol (docs/PROTOCOL.md).
const (
	CloseSlowConsumer  = 4008 // the client fell behind; reconnect and resume by cursor
	CloseUnauthorized  = 4001 // the session ended
	CloseTooManyFrames = 4029 // flooding
	CloseBadFrames     = 4400 // too many malformed frames
)

// conn is one device's WebSocket. On Linux an idle connection has no
// goroutine at all: the node's poller (poll_linux.go) watches its socket
// and starts a reading goroutine only when bytes arrive; that goroutine
// reads what is there with a pooled buffer and ends. A frame for the
// device is written without waiting on the socket, by the goroutine that
// has it or, for a fan-out, by one of the node's flushers; a writer
// goroutine exists only while a client reads too slowly to take it at
// once (write.go). Elsewhere, and over TLS served by Parley
// itself, a goroutine per connection reads and one writes.
type conn struct {
	g         *Gateway
	ws        *websocket.Conn
	nc        net.Conn        // ws's socket, which the reader reads directly
	rc        syscall.RawConn // nc's descriptor, when the poller watches it
	pollID    uint64          // the connection's key in the poller
	id        string
	userID    string
	sessionID string // the credential the connection was made with
	tokenID   string
	host      string // the host name the device reached us by

	raw syscall.RawConn // nc's descriptor, for writes that must not wait (write.go); nil over TLS

	// The writing side (write.go), guarded by mu.
	mu            sync.Mutex
	queue         [][]byte // frames waiting to be written
	queued        int      // bytes in queue
	ctrl          []byte   // control frames waiting, framed
	writing       bool     // a goroutine is writing to the socket
	listed        bool     // waiting for its flusher
	flushShard    uint32   // which flusher writes its fan-outs
	closed        bool     // nothing more is written: the close frame went out, or a write failed
	pingDue       bool
	closeCode     int // set when the connection is to be closed after the queue drains
	closeText     string
	closing       bool          // the close frame is in the write under way
	closeSent     chan struct{} // closed once the writer has sent the close frame (or failed)
	closeSentOnce sync.Once

	// The reading side, guarded by mu: reading is true while a goroutine
	// reads (or sets the connection up); while it is false the poller
	// watches the socket. ending is set once the connection is to end.
	reading    bool
	ending     bool
	finishOnce sync.Once
	deadline   atomic.Int64 // unix nanoseconds; silent past it, the connection is dead
	expiry     *time.Timer  // fires at the deadline, or later

	// Guarded by the gateway's usersMu.
	convs   map[string]struct{}
	loading bool
	pending []membershipOp
	watches map[string]struct{}
	status  string // "active" or "away"

	limiter    *rate.Limiter
	throttled  int
	badFrames  int
	lastTyping map[string]time.Time
}

// UserID, ConnID and Send let extensions talk to the connection.
func (c *conn) UserID() string    { return c.userID }
func (c *conn) ConnID() string    { return c.id }
func (c *conn) Host() string      { return c.host }
func (c *conn) Send(frame []byte) { c.send(frame) }

// abort ends the connection: if a goroutine is reading, closing the socket
// ends its read and it finishes the connection; otherwise (the poller
// watches an idle socket) the connection is finished here.
func (c *conn) abort() {
	c.mu.Lock()
	c.ending = true
	reading := c.reading
	c.mu.Unlock()
	if reading {
		_ = c.ws.Close()
		return
	}
	c.finish()
}

// finish forgets the connection and closes its socket, once. It runs when
// no goroutine reads it any more.
func (c *conn) finish() {
	c.finishOnce.Do(func() {
		c.mu.Lock()
		c.ending = true
		if c.reading {
			c.reading = false
			c.g.readers.Add(-1)
		}
		if c.expiry != nil {
			c.expiry.Stop()
		}
		c.mu.Unlock()
		if c.rc != nil {
			c.g.poller.remove(c)
		}
		if c.g.ext != nil {
			c.g.ext.Closed(c)
		}
		c.g.detach(c)
		_ = c.ws.Close()
		c.g.connsWG.Done()
	})
}

// extend moves the dead-connection deadline to two ping intervals from
// now; it is called on every message and pong the client sends.
func (c *conn) extend() {
	c.deadline.Store(time.Now().Add(2 * c.g.cfg.PingInterval).UnixNano())
}

// expired runs when the expiry timer fires: a connection silent past its
// deadline is dead and is dropped, as a read deadline would.
func (c *conn) expired() {
	if left := time.Until(time.Unix(0, c.deadline.Load())); left > 0 {
		c.mu.Lock()
		if !c.ending {
			c.expiry.Reset(left)
		}
		c.mu.Unlock()
		return
	}
	c.abort()
}
