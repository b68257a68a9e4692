package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Frame is any frame from the gateway, for the frames Stream does not
// handle itself (typing, receipts, presence).
type Frame struct {
	Type string          `json:"type"`
	ID   string          `json:"id,omitempty"`
	Raw  json.RawMessage `json:"-"`
}

// StreamOptions configure a Stream.
type StreamOptions struct {
	// Cursors holds, per conversation, the last sequence number the caller
	// has already seen; the Stream delivers every event after it. When nil,
	// the Stream starts from each conversation's current end.
	Cursors map[string]int64
	// OnEvent receives each conversation's events in order, exactly once.
	OnEvent func(Event)
	// OnFrame receives typing, receipt and presence frames.
	OnFrame func(Frame)
	// OnConnect is called each time the stream is connected and caught up;
	// OnDisconnect each time the connection is lost.
	OnConnect    func()
	OnDisconnect func(error)
	// Backoff between reconnection attempts (100 ms to 5 s by default).
	MinBackoff, MaxBackoff time.Duration
}

// Stream is a live, self-resuming connection to the realtime gateway.
type Stream struct {
	c    *Client
	opts StreamOptions

	mu      sync.Mutex
	cursors map[string]int64
	ws      *websocket.Conn
	waiters map[string]chan json.RawMessage
	nextID  atomic.Int64

	writeMu   sync.Mutex
	connected chan struct{} // closed while connected and caught up
	cancel    context.CancelFunc
	done      chan struct{}
	err       error
}

// ErrUnauthorized ends a stream whose session or token is no longer valid.
var ErrUnauthorized = errors.New("client: the server ended the session")

// Stream connects to the gateway and keeps reconnecting until ctx ends or
// Close is called.
func (c *Client) Stream(ctx context.Context, opts StreamOptions) *Stream {
	if opts.MinBackoff == 0 {
		opts.MinBackoff = 100 * time.Millisecond
	}
	if opts.MaxBackoff == 0 {
		opts.MaxBackoff = 5 * time.Second
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &Stream{
		c: c, opts: opts, cancel: cancel, done: make(chan struct{}), connected: make(chan struct{}),
		waiters: map[string]chan json.RawMessage{},
	}
	if opts.Cursors != nil {
		s.cursors = make(map[string]int64, len(opts.Cursors))
		for k, v := range opts.Cursors {
			s.cursors[k] = v
		}
	}
	go s.run(ctx)
	return s
}

// Close ends the stream and waits for it to stop.
func (s *Stream) Close() error {
	s.cancel()
	<-s.done
	if errors.Is(s.err, context.Canceled) {
		return nil
	}
	return s.err
}

// Done is closed when the stream has stopped for good.
func (s *Stream) Done() <-chan struct{} { return s.done }

// WaitConnected waits until the stream is connected and caught up.
func (s *Stream) WaitConnected(ctx context.Context) error {
	s.mu.Lock()
	ch := s.connected
	s.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-s.done:
		return fmt.Errorf("client: stream stopped: %w", s.err)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Cursor returns the last sequence number delivered for a conversation.
func (s *Stream) Cursor(convID string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cursors[convID]
}

func (s *Stream) run(ctx context.Context) {
	defer close(s.done)
	backoff := s.opts.MinBackoff
	for {
		err := s.session(ctx)
		if ctx.Err() != nil {
			s.err = ctx.Err()
			return
		}
		if errors.Is(err, ErrUnauthorized) {
			s.err = err
			return
		}
		if s.opts.OnDisconnect != nil {
			s.opts.OnDisconnect(err)
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		select {
		case <-ctx.Done():
			s.err = ctx.Err()
			return
		case <-time.After(wait):
		}
		backoff = min(backoff*2, s.opts.MaxBackoff)
		if err == nil {
			backoff = s.opts.MinBackoff
		}
	}
}

// session is one connection: dial, read hello, catch up from the REST API,
// then process live frames until the connection ends.
func (s *Stream) session(ctx context.Context) error {
	u := *s.c.base
	if u.Scheme == "https" {
		u.Scheme = "wss"
	} else {
		u.Scheme = "ws"
	}
	u.Path += "/api/v1/ws"
	h := http.Header{"Origin": {s.c.base.Scheme + "://" + s.c.base.Host}}
	if s.c.token != "" {
		h.Set("Authorization", "Bearer "+s.c.token)
	}
	dialer := websocket.Dialer{HandshakeTimeout: 10 * time.Second, Jar: s.c.http.Jar}
	ws, res, err := dialer.DialContext(ctx, u.String(), h)
	if err != nil {
		if res != nil && res.StatusCode == http.StatusUnauthorized {
			return ErrUnauthorized
		}
		return err
	}
	defer ws.Close()
	stop := context.AfterFunc(ctx, func() { ws.Close() })
	defer stop()

	// The hello says the server has registered us: events from here on
	// reach this connection, so catching up now leaves no gap.
	if _, data, err := ws.ReadMessage(); err != nil {
		return err
	} else if f := parseFrames(data); len(f) == 0 || f[0].Type != "hello" {
		return fmt.Errorf("client: expected hello, got %s", data)
	}
	s.mu.Lock()
	s.ws = ws
	s.mu.Unlock()
	defer s.disconnect()
	if err := s.catchUp(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	close(s.connected)
	s.mu.Unlock()
	if s.opts.OnConnect != nil {
		s.opts.OnConnect()
	}
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) && ce.Code == 4001 {
				return ErrUnauthorized
			}
			return err
		}
		for _, f := range parseFrames(data) {
			if err := s.dispatch(ctx, f); err != nil {
				return err
			}
		}
	}
}

func (s *Stream) disconnect() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ws = nil
	select {
	case <-s.connected:
		s.connected = make(chan struct{})
	default:
	}
	for id, ch := range s.waiters {
		close(ch)
		delete(s.waiters, id)
	}
}

func parseFrames(data []byte) []Frame {
	var out []Frame
	for _, line := range bytes.Split(data, []byte{'\n'}) {
		var f Frame
		if json.Unmarshal(line, &f) == nil {
			f.Raw = append(json.RawMessage(nil), line...)
			out = append(out, f)
		}
	}
	return out
}

// catchUp delivers what happened while the stream was away.
func (s *Stream) catchUp(ctx context.Context) error {
	convs, err := s.c.Conversations(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	first := s.cursors == nil
	if first {
		s.cursors = make(map[string]int64, len(convs))
	}
	s.mu.Unlock()
	for _, conv := range convs {
		if first {
			s.mu.Lock()
			s.cursors[conv.ID] = conv.LastSeq
			s.mu.Unlock()
			continue
		}
		if err := s.fill(ctx, conv.ID, conv.LastSeq); err != nil {
			return err
		}
	}
	return nil
}

// fill fetches and delivers a conversation's events after the cursor up to
// and including upTo.
func (s *Stream) fill(ctx context.Context, convID string, upTo int64) error {
	for {
		cur := s.Cursor(convID)
		if cur >= upTo {
			return nil
		}
		events, more, err := s.c.Events(ctx, convID, cur, 1000)
		if err != nil {
			if IsStatus(err, http.StatusNotFound) {
				return nil // no longer a member
			}
			return err
		}
		for _, ev := range events {
			s.deliver(ev)
		}
		if !more || len(events) == 0 {
			return nil
		}
	}
}

// deliver hands an event to OnEvent unless it was delivered already.
func (s *Stream) deliver(ev Event) {
	s.mu.Lock()
	if ev.Seq <= s.cursors[ev.ConversationID] {
		s.mu.Unlock()
		return
	}
	s.cursors[ev.ConversationID] = ev.Seq
	s.mu.Unlock()
	if s.opts.OnEvent != nil {
		s.opts.OnEvent(ev)
	}
}

func (s *Stream) dispatch(ctx context.Context, f Frame) error {
	switch f.Type {
	case "event":
		var wrap struct {
			Event Event `json:"event"`
		}
		if err := json.Unmarshal(f.Raw, &wrap); err != nil {
			return fmt.Errorf("client: bad event frame: %w", err)
		}
		ev := wrap.Event
		s.mu.Lock()
		cur, known := s.cursors[ev.ConversationID]
		if !known {
			// A conversation new to us: start at this event.
			cur = ev.Seq - 1
			s.cursors[ev.ConversationID] = cur
		}
		s.mu.Unlock()
		if ev.Seq > cur+1 {
			// A gap (an announcement was lost): fetch what is missing.
			if err := s.fill(ctx, ev.ConversationID, ev.Seq-1); err != nil {
				return err
			}
		}
		s.deliver(ev)
	case "ack", "error", "pong":
		s.mu.Lock()
		ch := s.waiters[f.ID]
		delete(s.waiters, f.ID)
		s.mu.Unlock()
		if ch != nil {
			ch <- f.Raw
		} else if f.Type == "error" && s.opts.OnFrame != nil {
			s.opts.OnFrame(f)
		}
	default:
		if s.opts.OnFrame != nil {
			s.opts.OnFrame(f)
		}
	}
	return nil
}

// FrameError is an error frame in answer to a request.
type FrameError struct {
	Code   string       `json:"code"`
	Detail string       `json:"detail"`
	Errors []FieldError `json:"errors"`
}

func (e *FrameError) Error() string { return "parley: " + e.Code + ": " + e.Detail }

// ErrNotConnected is returned by requests made while the stream is
// reconnecting; a send may be retried with the same client id.
var ErrNotConnected = errors.New("client: not connected")

// Request sends a frame (its "v" and "id" are filled in) and waits for the
// server's answer.
func (s *Stream) Request(ctx context.Context, frame map[string]any) (json.RawMessage, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}
	id := "r" + strconv.FormatInt(s.nextID.Add(1), 10)
	frame["v"], frame["id"] = 1, id
	data, err := json.Marshal(frame)
	if err != nil {
		return nil, err
	}
	ch := make(chan json.RawMessage, 1)
	s.mu.Lock()
	ws := s.ws
	if ws == nil {
		s.mu.Unlock()
		return nil, ErrNotConnected
	}
	s.waiters[id] = ch
	s.mu.Unlock()
	s.writeMu.Lock()
	_ = ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	err = ws.WriteMessage(websocket.TextMessage, data)
	s.writeMu.Unlock()
	if err != nil {
		return nil, err
	}
	select {
	case raw, ok := <-ch:
		if !ok {
			return nil, ErrNotConnected
		}
		var head struct {
			Type string `json:"type"`
			FrameError
		}
		if err := json.Unmarshal(raw, &head); err != nil {
			return nil, err
		}
		if head.Type == "error" {
			return raw, &head.FrameError
		}
		return raw, nil
	case <-ctx.Done():
		s.mu.Lock()
		delete(s.waiters, id)
		s.mu.Unlock()
		return nil, ctx.Err()
	}
}

// Notify sends a frame that has no answer (typing, presence).
func (s *Stream) Notify(frame map[string]any) error {
	frame["v"] = 1
	data, err := json.Marshal(frame)
	if err != nil {
		return err
	}
	s.mu.Lock()
	ws := s.ws
	s.mu.Unlock()
	if ws == nil {
		return ErrNotConnected
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	_ = ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return ws.WriteMessage(websocket.TextMessage, data)
}

// Send posts a message over the stream and returns it once stored.
func (s *Stream) Send(ctx context.Context, convID, clientID, body string) (Message, error) {
	raw, err := s.Request(ctx, map[string]any{"type": "send", "conversation_id": convID, "client_id": clientID, "body": body})
	if err != nil {
		return Message{}, err
	}
	var ack struct {
		Message Message `json:"message"`
	}
	err = json.Unmarshal(raw, &ack)
	return ack.Message, err
}

// Typing says the user is typing in a conversation.
func (s *Stream) Typing(convID string) error {
	return s.Notify(map[string]any{"type": "typing", "conversation_id": convID})
}
