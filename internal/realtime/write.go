package realtime

import (
	"encoding/binary"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// The writing side of a connection. Frames are framed here, as read.go
// reads them: a server's frames are not masked (RFC 6455, 5.1), so a
// frame is a header of 2 to 10 bytes and the payload. gorilla/websocket
// only upgrades the connection.
//
// A frame queued on a connection nobody is writing to is written at once
// by the goroutine that queued it (the one fanning an event out, or the
// reader answering a frame), with one non-blocking write on the socket:
// no goroutine is started, woken or scheduled for it, which on a busy
// node is most of what a delivery used to wait for. Only when the socket
// cannot take everything (a client that reads slowly, whose buffers are
// full), or over TLS, does a writer goroutine take over; it writes with
// blocking writes and a deadline, and ends when the queue is empty. Frames
// queued while someone writes are merged into the next write: several
// frames go out as one WebSocket message, separated by newlines.

// WebSocket frame bits the writer sets.
const finBit = 0x80

var frameSeparator = []byte{'\n'}

// outBuffers hold a write's bytes while it is built and written.
var outBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// appendFrame appends one unmasked, final frame of opcode op.
func appendFrame(b []byte, op int, payload ...[]byte) []byte {
	n := 0
	for i, p := range payload {
		if i > 0 {
			n += len(frameSeparator)
		}
		n += len(p)
	}
	b = append(b, finBit|byte(op))
	switch {
	case n < 126:
		b = append(b, byte(n))
	case n <= 0xffff:
		b = append(b, 126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, 127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	for i, p := range payload {
		if i > 0 {
			b = append(b, frameSeparator...)
		}
		b = append(b, p...)
	}
	return b
}

// appendClose appends a close frame with code and reason (no payload for
// 1005, "no status"), the reason cut to fit a control frame.
func appendClose(b []byte, code int, text string) []byte {
	payload := websocket.FormatCloseMessage(code, text)
	if len(payload) > maxControlPayload {
		payload = payload[:maxControlPayload]
	}
	return appendFrame(b, opClose, payload)
}

// send queues a frame. It never blocks: a connection whose queue is full is
// closed as a slow consumer (it resumes by cursor after reconnecting), so
// one slow reader never holds up the others.
func (c *conn) send(frame []byte) {
	c.mu.Lock()
	if c.closed || c.closeCode != 0 {
		c.mu.Unlock()
		return
	}
	c.queueLocked(frame)
	c.flushLocked()
}

// queueLocked adds frame to the queue, or, if the queue is full, empties
// it and marks the connection to be closed as a slow consumer (false).
func (c *conn) queueLocked(frame []byte) bool {
	if len(c.queue) >= c.g.cfg.QueueFrames || c.queued+len(frame) > c.g.cfg.QueueBytes {
		c.g.metrics.slowConsumers.Inc()
		c.queue, c.queued = nil, 0
		c.closeCode, c.closeText = CloseSlowConsumer, "too slow: reconnect and resume from your cursor"
		return false
	}
	c.queue = append(c.queue, frame)
	c.queued += len(frame)
	return true
}

// sendControl queues a control frame (a pong) ahead of the data waiting.
func (c *conn) sendControl(op int, payload []byte) {
	c.mu.Lock()
	if c.closed || c.closeCode != 0 {
		c.mu.Unlock()
		return
	}
	c.ctrl = appendFrame(c.ctrl, op, payload)
	c.flushLocked()
}

// sendFanOut queues a frame of a fan-out: the connection is handed to one
// of the node's flushers (flushers), which writes it soon after, along with
// everything else the fan-out queued, instead of being written by the
// fanning goroutine itself.
func (c *conn) sendFanOut(frame []byte) {
	c.mu.Lock()
	if c.closed || c.closeCode != 0 {
		c.mu.Unlock()
		return
	}
	if !c.queueLocked(frame) {
		c.flushLocked() // the close
		return
	}
	if c.writing || c.listed {
		c.mu.Unlock()
		return
	}
	c.listed = true
	c.mu.Unlock()
	c.g.flushers.add(c)
}

// closeWith sends a close frame after what is already queued.
func (c *conn) closeWith(code int, text string) {
	c.mu.Lock()
	if c.closed || c.closeCode != 0 {
		c.mu.Unlock()
		return
	}
	c.closeCode, c.closeText = code, text
	c.flushLocked()
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
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.pingDue = true
	c.flushLocked()
}

// flushLocked is called with c.mu held, which it releases. Unless someone
// is writing already, it writes what is queued: at once, from this
// goroutine, if the socket takes it all without waiting; otherwise it
// hands the rest to a writer goroutine.
func (c *conn) flushLocked() {
	if c.writing {
		c.mu.Unlock()
		return
	}
	c.writing = true
	if c.raw == nil || c.closeCode != 0 {
		// TLS, or a close to send (after which the connection ends):
		// the writer goroutine does it.
		c.mu.Unlock()
		go c.writeLoop(nil, nil)
		return
	}
	bp := outBuffers.Get().(*[]byte)
	b := c.takeLocked((*bp)[:0], false)
	c.mu.Unlock()

	n, err := c.tryWrite(b)
	if err != nil || n < len(b) {
		// The rest, or the failure, is the writer goroutine's: whoever
		// queued the frame must not wait for this client.
		*bp = b[:copy(b, b[n:])]
		go c.writeLoop(bp, err)
		return
	}
	*bp = b[:0]
	outBuffers.Put(bp)
	c.mu.Lock()
	if c.idleLocked() {
		c.writing = false
		c.mu.Unlock()
		return
	}
	// More was queued meanwhile.
	c.mu.Unlock()
	go c.writeLoop(nil, nil)
}

// idleLocked reports whether nothing waits to be written.
func (c *conn) idleLocked() bool {
	return len(c.queue) == 0 && len(c.ctrl) == 0 && !c.pingDue && c.closeCode == 0
}

// takeLocked appends to b what waits to be written — control frames, a
// due ping, the queued frames as one message and, with withClose, the
// close frame (noted in c.closing) — and empties the queue.
func (c *conn) takeLocked(b []byte, withClose bool) []byte {
	b = append(b, c.ctrl...)
	c.ctrl = nil
	if c.pingDue {
		b = appendFrame(b, opPing)
		c.pingDue = false
	}
	if len(c.queue) > 0 {
		b = appendFrame(b, opText, c.queue...)
		c.g.metrics.framesOut.Add(float64(len(c.queue)))
		if cap(c.queue) <= 8 {
			clear(c.queue)
			c.queue = c.queue[:0]
		} else {
			c.queue = nil // let a burst's backing array go
		}
		c.queued = 0
	}
	if withClose && c.closeCode != 0 {
		b = appendClose(b, c.closeCode, c.closeText)
		c.closing = true
	}
	return b
}

// writeLoop writes until nothing waits, then ends: first pending (a
// write begun on the socket, never dropped, for a frame cut in two would
// break the stream), or the error that ended that write.
func (c *conn) writeLoop(pending *[]byte, err error) {
	deadline := false
	for {
		if err == nil && pending != nil && len(*pending) > 0 {
			if err = c.nc.SetWriteDeadline(time.Now().Add(c.g.cfg.WriteTimeout)); err == nil {
				deadline = true
				_, err = c.nc.Write(*pending)
			}
		}
		if pending != nil {
			*pending = (*pending)[:0]
			outBuffers.Put(pending)
			pending = nil
		}
		c.mu.Lock()
		if err == nil && c.closing {
			err = errClosing // the close frame has gone out
		}
		if err != nil {
			c.writing, c.closed = false, true
			c.queue, c.queued, c.ctrl = nil, 0, nil
			c.mu.Unlock()
			c.closeSentOnce.Do(func() { close(c.closeSent) })
			c.abort()
			return
		}
		if c.idleLocked() {
			if deadline {
				// The next write may be a non-blocking one, which a
				// deadline left in the past would refuse.
				err = c.nc.SetWriteDeadline(time.Time{})
				deadline = false
				if err != nil {
					c.mu.Unlock()
					continue
				}
			}
			c.writing = false
			c.mu.Unlock()
			return
		}
		bp := outBuffers.Get().(*[]byte)
		*bp = c.takeLocked((*bp)[:0], true)
		c.mu.Unlock()
		pending = bp
	}
}

type closingError struct{}

func (closingError) Error() string { return "realtime: closing" }

var errClosing error = closingError{}

// flushers write the connections a fan-out queued frames on. An event for a
// group is one frame for each member's connections; the goroutine fanning
// it out (the chat publisher, which runs the gateway's handler inline) only
// queues them, and the flushers, as many as the Go scheduler has
// processors, write them in parallel, each connection with one
// non-blocking write as in flushLocked. A fan-out written by the publisher
// itself made one goroutine do every write of every event in turn, each
// a system call that may lose the processor to the woken reader, and the
// next events waited behind it. A flusher goroutine runs only while
// connections wait; frames queued on a connection while it waits go out in
// the same write.
type flushers struct {
	shards []flushShard
	next   atomic.Uint32
}

type flushShard struct {
	mu      sync.Mutex
	ready   []*conn
	running bool
}

func newFlushers() *flushers {
	return &flushers{shards: make([]flushShard, max(1, min(runtime.GOMAXPROCS(0), 16)))}
}

// shard picks the flusher of a new connection.
func (f *flushers) shard() uint32 { return f.next.Add(1) % uint32(len(f.shards)) }

func (f *flushers) add(c *conn) {
	sh := &f.shards[c.flushShard]
	sh.mu.Lock()
	sh.ready = append(sh.ready, c)
	start := !sh.running
	sh.running = true
	sh.mu.Unlock()
	if start {
		go sh.run()
	}
}

func (sh *flushShard) run() {
	var batch []*conn
	for {
		sh.mu.Lock()
		if len(sh.ready) == 0 {
			sh.running = false
			sh.ready = nil
			sh.mu.Unlock()
			return
		}
		batch, sh.ready = sh.ready, batch[:0]
		sh.mu.Unlock()
		for i, c := range batch {
			c.mu.Lock()
			c.listed = false
			c.flushLocked()
			batch[i] = nil
		}
	}
}
