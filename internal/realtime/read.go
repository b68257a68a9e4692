package realtime

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

// The reading side of a connection. gorilla/websocket upgrades the
// connection and writes to it; reading is done here, directly on the
// socket, so that a connection between messages holds no buffer and no
// goroutine: gorilla's reader keeps a buffer per connection and must be
// parked in a read to notice new data. What is read, and every answer to a
// malformed or hostile frame, is what gorilla's ReadMessage did (close
// 1002 with the same reasons, 1009 above the size limit, pongs, close
// echo), so clients see no difference.

// WebSocket opcodes (RFC 6455, 5.2).
const (
	opContinuation = 0
	opText         = websocket.TextMessage
	opBinary       = websocket.BinaryMessage
	opClose        = websocket.CloseMessage
	opPing         = websocket.PingMessage
	opPong         = websocket.PongMessage

	maxControlPayload = 125
)

var (
	errReadLimit  = errors.New("realtime: message too large")
	errPeerClosed = errors.New("realtime: the client closed the connection")
)

// readBuffers are shared by the connections that are reading: one is held
// only while a connection has bytes to read.
var readBuffers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}

// readMessage reads the next text or binary message, at most MaxFrameBytes
// in all its fragments, answering the control frames met on the way. With
// polled set, it returns typ 0 after a control frame outside a message if
// nothing more has arrived, so that the goroutine can end.
func (c *conn) readMessage(br *bufio.Reader, polled bool) (int, []byte, error) {
	var (
		typ   int
		data  []byte
		inMsg bool
		hdr   [8]byte
	)
	for {
		if _, err := io.ReadFull(br, hdr[:2]); err != nil {
			return 0, nil, err
		}
		op := int(hdr[0] & 0x0f)
		final := hdr[0]&0x80 != 0
		masked := hdr[1]&0x80 != 0
		length := uint64(hdr[1] & 0x7f)

		var problems []string
		if hdr[0]&0x40 != 0 {
			problems = append(problems, "RSV1 set") // no extension is negotiated
		}
		if hdr[0]&0x20 != 0 {
			problems = append(problems, "RSV2 set")
		}
		if hdr[0]&0x10 != 0 {
			problems = append(problems, "RSV3 set")
		}
		switch op {
		case opClose, opPing, opPong:
			if length > maxControlPayload {
				problems = append(problems, "len > 125 for control")
			}
			if !final {
				problems = append(problems, "FIN not set on control")
			}
		case opText, opBinary:
			if inMsg {
				problems = append(problems, "data before FIN")
			}
		case opContinuation:
			if !inMsg {
				problems = append(problems, "continuation after FIN")
			}
		default:
			problems = append(problems, "bad opcode "+strconv.Itoa(op))
		}
		if !masked {
			problems = append(problems, "bad MASK")
		}
		if len(problems) > 0 {
			return 0, nil, c.protocolError(strings.Join(problems, ", "))
		}

		switch length {
		case 126:
			if _, err := io.ReadFull(br, hdr[:2]); err != nil {
				return 0, nil, err
			}
			length = uint64(binary.BigEndian.Uint16(hdr[:2]))
		case 127:
			if _, err := io.ReadFull(br, hdr[:8]); err != nil {
				return 0, nil, err
			}
			length = binary.BigEndian.Uint64(hdr[:8])
			if length > 1<<63-1 { // the top bit must be 0 (gorilla: ErrReadLimit)
				return 0, nil, errReadLimit
			}
		}
		var key [4]byte
		if _, err := io.ReadFull(br, key[:]); err != nil {
			return 0, nil, err
		}

		if op&0x8 != 0 { // a control frame
			payload := make([]byte, length)
			if _, err := io.ReadFull(br, payload); err != nil {
				return 0, nil, err
			}
			unmask(key, payload)
			if err := c.control(op, payload); err != nil {
				return 0, nil, err
			}
			if polled && !inMsg && br.Buffered() == 0 {
				return 0, nil, nil
			}
			continue
		}

		// A data frame: the limit counts every fragment of the message,
		// and is checked before anything is allocated.
		if length > MaxFrameBytes || uint64(len(data))+length > MaxFrameBytes {
			return 0, nil, errReadLimit // readFrames closes with 1009
		}
		if op != opContinuation {
			typ, inMsg = op, true
		}
		start := len(data)
		if data == nil {
			data = make([]byte, length)
		} else {
			data = append(data, make([]byte, length)...)
		}
		if _, err := io.ReadFull(br, data[start:]); err != nil {
			return 0, nil, err
		}
		unmask(key, data[start:])
		if final {
			return typ, data, nil
		}
	}
}

func unmask(key [4]byte, b []byte) {
	for i := range b {
		b[i] ^= key[i&3]
	}
}

// control answers a ping with a pong, notes a pong, and echoes a close.
func (c *conn) control(op int, payload []byte) error {
	switch op {
	case opPong:
		c.extend()
	case opPing:
		c.sendControl(opPong, payload)
	case opClose:
		code, text := websocket.CloseNoStatusReceived, ""
		if len(payload) >= 2 {
			code = int(binary.BigEndian.Uint16(payload))
			if !validReceivedCloseCode(code) {
				return c.protocolError("bad close code " + strconv.Itoa(code))
			}
			text = string(payload[2:])
			if !utf8.ValidString(text) {
				return c.protocolError("invalid utf8 payload in close frame")
			}
		}
		c.closeAndWait(code, "") // the echo
		return errPeerClosed
	}
	return nil
}

// protocolError closes the connection with 1002 and the reason.
func (c *conn) protocolError(reason string) error {
	c.closeAndWait(websocket.CloseProtocolError, reason)
	return errors.New("websocket: " + reason)
}

func validReceivedCloseCode(code int) bool {
	switch code {
	case 1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013:
		return true
	}
	return code >= 3000 && code <= 4999
}

// readFrames reads and handles messages. Polled, it returns once what has
// arrived is handled (true) and the buffer is empty; blocking, it reads
// until the connection ends. false means the connection must end.
func (c *conn) readFrames(br *bufio.Reader, blocking bool) bool {
	for {
		typ, data, err := c.readMessage(br, !blocking)
		if err != nil {
			if errors.Is(err, errReadLimit) {
				c.closeAndWait(websocket.CloseMessageTooBig, "frame too large")
			}
			return false
		}
		if typ != 0 && !c.process(typ, data) {
			return false
		}
		if !blocking && br.Buffered() == 0 {
			return true
		}
	}
}

// process handles one message from the client; false means the
// connection must end.
func (c *conn) process(typ int, data []byte) bool {
	g := c.g
	c.extend()
	g.metrics.framesIn.Inc()
	var (
		f   inFrame
		err error
	)
	if typ != websocket.TextMessage {
		err = badFrame("", "send text frames holding JSON")
	} else {
		f, err = decodeFrame(data)
	}
	if !c.limiter.Allow() {
		c.throttled++
		if c.throttled > g.cfg.MaxThrottled {
			c.closeAndWait(CloseTooManyFrames, "too many frames")
			return false
		}
		// The request id lets the client fail that request at once.
		c.send(encodeFrame(errorFrame{V: ProtocolVersion, Type: FrameError, ID: f.ID, Code: "rate-limited", Detail: "slow down: frame dropped"}))
		return true
	}
	if err != nil {
		var fe *frameError
		errors.As(err, &fe)
		c.badFrames++
		c.send(encodeFrame(errorFrame{V: ProtocolVersion, Type: FrameError, ID: fe.id, Code: fe.code, Detail: fe.detail}))
		if c.badFrames > g.cfg.MaxBadFrames {
			c.closeAndWait(CloseBadFrames, "too many bad frames")
			return false
		}
		return true
	}
	g.handle(context.Background(), c, f)
	return true
}

// readable is the poller's news that the idle socket has bytes (or was
// closed): a goroutine reads them, unless one already does.
func (c *conn) readable() {
	c.mu.Lock()
	if c.reading || c.ending {
		c.mu.Unlock()
		return
	}
	c.reading = true
	c.g.readers.Add(1)
	c.mu.Unlock()
	go c.readReady()
}

// readReady reads what has arrived with a pooled buffer, then hands the
// socket back to the poller and ends. A frame that arrives in pieces keeps
// the goroutine until it is whole, or until the connection's deadline.
func (c *conn) readReady() {
	br := readBuffers.Get().(*bufio.Reader)
	br.Reset(c.nc)
	ok := c.readFrames(br, false)
	br.Reset(nil)
	readBuffers.Put(br)
	if ok {
		c.mu.Lock()
		if !c.ending {
			c.reading = false
			c.g.readers.Add(-1)
			err := c.g.poller.arm(c)
			c.mu.Unlock()
			if err == nil {
				return
			}
			c.abort()
			return
		}
		c.mu.Unlock()
	}
	c.finish()
}
