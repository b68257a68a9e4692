package bus

import (
	"context"
	"sync"
	"sync/atomic"
)

// Memory is the in-process bus of a single node.
type Memory struct {
	mu     sync.RWMutex
	subs   map[*memorySub]struct{}
	closed bool

	// Dropped counts messages dropped because a subscriber fell behind.
	Dropped atomic.Int64
}

// NewMemory returns an empty in-process bus.
func NewMemory() *Memory { return &Memory{subs: map[*memorySub]struct{}{}} }

type memoryMsg struct {
	subject string
	data    []byte
}

// memorySub delivers in publication order, one message at a time. A
// goroutine runs its handler only while messages wait, so a slow handler
// delays only itself, as with NATS. An inline subscription
// (SubscribeInline) instead runs its handler in the publisher's goroutine
// when nothing waits, and hands the publisher what others published to it
// meanwhile.
type memorySub struct {
	bus     *Memory
	pattern string
	h       Handler
	inline  bool

	mu      sync.Mutex
	queue   []memoryMsg // waiting, oldest first
	running bool        // a goroutine is calling h
	ended   bool
}

// Publish hands data to every matching subscription. data must not be
// modified afterwards: subscribers share it.
func (m *Memory) Publish(_ context.Context, subject string, data []byte) error {
	if !validSubject(subject, false) {
		return ErrBadSubject
	}
	var inline []*memorySub
	m.mu.RLock()
	if m.closed {
		m.mu.RUnlock()
		return ErrClosed
	}
	for s := range m.subs {
		if !match(s.pattern, subject) {
			continue
		}
		if s.deliver(memoryMsg{subject, data}) {
			inline = append(inline, s)
		}
	}
	m.mu.RUnlock()
	// Outside the bus's lock, so that a handler may publish or subscribe.
	for _, s := range inline {
		s.h(subject, data)
		s.drain()
	}
	return nil
}

// deliver queues msg, or reports that the caller is to run the handler on
// it now (an idle inline subscription). An idle subscription of the other
// kind gets a goroutine.
func (s *memorySub) deliver(msg memoryMsg) (runNow bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return false
	}
	if s.running {
		if len(s.queue) >= PendingLimit {
			s.bus.Dropped.Add(1)
			return false
		}
		s.queue = append(s.queue, msg)
		return false
	}
	s.running = true
	if s.inline {
		return true
	}
	go func() {
		s.h(msg.subject, msg.data)
		s.drain()
	}()
	return false
}

// drain runs the handler on what waits, then lets the subscription idle.
func (s *memorySub) drain() {
	for {
		s.mu.Lock()
		if len(s.queue) == 0 || s.ended {
			s.queue = nil
			s.running = false
			s.mu.Unlock()
			return
		}
		msg := s.queue[0]
		s.queue[0] = memoryMsg{}
		s.queue = s.queue[1:]
		s.mu.Unlock()
		s.h(msg.subject, msg.data)
	}
}

// Subscribe starts delivering messages on subjects matching pattern.
func (m *Memory) Subscribe(pattern string, h Handler) (Subscription, error) {
	return m.subscribe(pattern, h, false)
}

// SubscribeInline is Subscribe for a handler that returns at once and
// takes no lock a publisher may hold: the publisher calls it itself when
// nothing is waiting for it, sparing a goroutine's wake-up per message.
func (m *Memory) SubscribeInline(pattern string, h Handler) (Subscription, error) {
	return m.subscribe(pattern, h, true)
}

func (m *Memory) subscribe(pattern string, h Handler, inline bool) (Subscription, error) {
	if !validSubject(pattern, true) {
		return nil, ErrBadSubject
	}
	s := &memorySub{bus: m, pattern: pattern, h: h, inline: inline}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	m.subs[s] = struct{}{}
	return s, nil
}

func (s *memorySub) Unsubscribe() error {
	s.bus.mu.Lock()
	delete(s.bus.subs, s)
	s.bus.mu.Unlock()
	s.end()
	return nil
}

// end stops deliveries; a handler already running finishes its message.
func (s *memorySub) end() {
	s.mu.Lock()
	s.ended = true
	s.queue = nil
	s.mu.Unlock()
}

// Close ends every subscription.
func (m *Memory) Close() error {
	m.mu.Lock()
	subs := m.subs
	m.subs = map[*memorySub]struct{}{}
	m.closed = true
	m.mu.Unlock()
	for s := range subs {
		s.end()
	}
	return nil
}
