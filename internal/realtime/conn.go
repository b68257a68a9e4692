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
// reads what is there with a pooled buffer and ends. Writing happens on a
// goroutine that exists only while there is something to send. Elsewhere,
// and over TLS served by Parley itself, a goroutine per connection reads.
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

	mu            sync.Mutex
	queue         [][]byte // frames waiting to be written
	queued        int      // bytes in queue
	writing       bool
	closed        bool
	pingDue       bool
	closeCode     int // set when the connection is to be closed after the queue drains
	closeText     string
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

// send queues a frame. It never blocks: a connection whose queue is full is
// closed as a slow consumer (it resumes by cursor after reconnecting), so
// one slow reader never holds up the others.
func (c *conn) send(frame []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.closeCode != 0 {
		return
	}
	if len(c.queue) >= c.g.cfg.QueueFrames || c.queued+len(frame) > c.g.cfg.QueueBytes {
		c.g.metrics.slowConsumers.Inc()
		c.queue, c.queued = nil, 0
		c.closeCode, c.closeText = CloseSlowConsumer, "too slow: reconnect and resume from your cursor"
		c.startWriterLocked()
		return
	}
	c.queue = append(c.queue, frame)
	c.queued += len(frame)
	c.startWriterLocked()
}

// closeWith sends a close frame after what is already queued.
func (c *conn) closeWith(code int, text string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.closeCode != 0 {
		return
	}
	c.closeCode, c.closeText = code, text
	c.startWriterLocked()
}

// closeAndWait queues a close frame after what is queued and waits, for at
// most the write timeout, until it has gone out.
func (c *conn) closeAndWait(code int, text string) {
	c.closeWith(code, text)
	select {
	case <-c.closeSent:
	case <-time.After(c.g.cfg.WriteTimeout):
	}
}

func (c *conn) ping() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.pingDue = true
	c.startWriterLocked()
}

func (c *conn) startWriterLocked() {
	if !c.writing {
		c.writing = true
		go c.writeLoop()
	}
}

var frameSeparator = []byte{'\n'}

// writeLoop writes until the queue is empty, then ends. Frames queued
// together go out as one WebSocket message, separated by newlines: one
// system call for a burst instead of one per frame.
func (c *conn) writeLoop() {
	for {
		c.mu.Lock()
		frames, ping, code, text := c.queue, c.pingDue, c.closeCode, c.closeText
		c.queue, c.queued, c.pingDue = nil, 0, false
		if len(frames) == 0 && !ping && code == 0 {
			c.writing = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()

		deadline := time.Now().Add(c.g.cfg.WriteTimeout)
		var err error
		if ping {
			err = c.ws.WriteControl(websocket.PingMessage, nil, deadline)
		}
		if err == nil && len(frames) > 0 {
			_ = c.ws.SetWriteDeadline(deadline)
			var w interface {
				Write([]byte) (int, error)
				Close() error
			}
			if w, err = c.ws.NextWriter(websocket.TextMessage); err == nil {
				for i, f := range frames {
					if i > 0 {
						_, _ = w.Write(frameSeparator)
					}
					if _, err = w.Write(f); err != nil {
						break
					}
				}
				if cerr := w.Close(); err == nil {
					err = cerr
				}
			}
			c.g.metrics.framesOut.Add(float64(len(frames)))
		}
		if err == nil && code != 0 {
			_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), deadline)
			err = errClosing
		}
		if err != nil {
			c.mu.Lock()
			c.writing = false
			c.closed = true
			c.mu.Unlock()
			c.closeSentOnce.Do(func() { close(c.closeSent) })
			c.abort()
			return
		}
	}
}

type closingError struct{}

func (closingError) Error() string { return "realtime: closing" }

var errClosing error = closingError{}

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
