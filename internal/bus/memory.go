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

// memorySub delivers from a bounded queue on its own goroutine, so a slow
// handler delays only itself, as with NATS.
type memorySub struct {
	bus     *Memory
	pattern string
	queue   chan memoryMsg
	done    chan struct{}
	once    sync.Once
}

// Publish hands data to every matching subscription. data must not be
// modified afterwards: subscribers share it.
func (m *Memory) Publish(_ context.Context, subject string, data []byte) error {
	if !validSubject(subject, false) {
		return ErrBadSubject
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return ErrClosed
	}
	for s := range m.subs {
		if !match(s.pattern, subject) {
			continue
		}
		select {
		case s.queue <- memoryMsg{subject, data}:
		default:
			m.Dropped.Add(1)
		}
	}
	return nil
}

// Subscribe starts delivering messages on subjects matching pattern.
func (m *Memory) Subscribe(pattern string, h Handler) (Subscription, error) {
	if !validSubject(pattern, true) {
		return nil, ErrBadSubject
	}
	s := &memorySub{bus: m, pattern: pattern, queue: make(chan memoryMsg, PendingLimit), done: make(chan struct{})}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, ErrClosed
	}
	m.subs[s] = struct{}{}
	m.mu.Unlock()
	go func() {
		for {
			select {
			case msg := <-s.queue:
				h(msg.subject, msg.data)
			case <-s.done:
				return
			}
		}
	}()
	return s, nil
}

func (s *memorySub) Unsubscribe() error {
	s.bus.mu.Lock()
	delete(s.bus.subs, s)
	s.bus.mu.Unlock()
	s.once.Do(func() { close(s.done) })
	return nil
}

// Close ends every subscription.
func (m *Memory) Close() error {
	m.mu.Lock()
	subs := m.subs
	m.subs = map[*memorySub]struct{}{}
	m.closed = true
	m.mu.Unlock()
	for s := range subs {
		s.once.Do(func() { close(s.done) })
	}
	return nil
}
