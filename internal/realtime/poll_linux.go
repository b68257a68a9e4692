//go:build linux

package realtime

import (
	"net"
	"sync"
	"syscall"
)

// poller watches idle connections' sockets with one epoll instance for
// the process, so that an idle connection needs no goroutine parked in a
// read. Each socket is registered one-shot: when it becomes readable (or
// is closed or reset) the poller hands it to conn.readable and forgets it
// until the reader re-arms it. The socket stays in the Go runtime's own
// poller too, which the reader's blocking reads use.
//
// Every epoll_ctl call runs inside the socket's RawConn.Control, which
// holds the descriptor open, so it can never touch a descriptor number
// that was closed and reused by another connection. Events carry a
// connection key, not the descriptor, for the same reason.
type poller struct {
	epfd  int
	mu    sync.Mutex
	conns map[uint64]*conn
	next  uint64
}

var (
	sharedPollerOnce sync.Once
	sharedPollerP    *poller
)

// sharedPoller returns the process's poller, started on first use, or nil
// if epoll is unavailable (connections then read on goroutines of their
// own).
func sharedPoller() *poller {
	sharedPollerOnce.Do(func() {
		fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
		if err != nil {
			return
		}
		sharedPollerP = &poller{epfd: fd, conns: map[uint64]*conn{}}
		go sharedPollerP.loop()
	})
	return sharedPollerP
}

// pollable returns the socket's RawConn if the poller can watch it: a
// plain TCP or Unix socket. A TLS connection buffers decrypted bytes the
// socket's readiness does not reveal, so it is read the blocking way.
func pollable(nc net.Conn) syscall.RawConn {
	var sc syscall.Conn
	switch c := nc.(type) {
	case *net.TCPConn:
		sc = c
	case *net.UnixConn:
		sc = c
	default:
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

const pollEvents = syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT

func (p *poller) ctl(c *conn, op int) error {
	ev := syscall.EpollEvent{Events: pollEvents, Fd: int32(uint32(c.pollID)), Pad: int32(uint32(c.pollID >> 32))}
	var err error
	if cerr := c.rc.Control(func(fd uintptr) {
		err = syscall.EpollCtl(p.epfd, op, int(fd), &ev)
	}); cerr != nil {
		return cerr
	}
	return err
}

// add starts watching c's socket (c.rc set).
func (p *poller) add(c *conn) error {
	p.mu.Lock()
	p.next++
	c.pollID = p.next
	p.conns[c.pollID] = c
	p.mu.Unlock()
	if err := p.ctl(c, syscall.EPOLL_CTL_ADD); err != nil {
		p.mu.Lock()
		delete(p.conns, c.pollID)
		p.mu.Unlock()
		return err
	}
	return nil
}

// arm watches c's socket again after a read.
func (p *poller) arm(c *conn) error { return p.ctl(c, syscall.EPOLL_CTL_MOD) }

// remove stops watching c's socket (if it is still open; a closed socket
// has left the epoll set by itself).
func (p *poller) remove(c *conn) {
	p.mu.Lock()
	_, ok := p.conns[c.pollID]
	delete(p.conns, c.pollID)
	p.mu.Unlock()
	if ok {
		_ = p.ctl(c, syscall.EPOLL_CTL_DEL)
	}
}

func (p *poller) loop() {
	events := make([]syscall.EpollEvent, 256)
	ready := make([]*conn, 0, len(events))
	for {
		n, err := syscall.EpollWait(p.epfd, events, -1)
		if err != nil {
			continue // EINTR; nothing else can happen to a valid epoll descriptor
		}
		ready = ready[:0]
		p.mu.Lock()
		for _, ev := range events[:n] {
			if c := p.conns[uint64(uint32(ev.Fd))|uint64(uint32(ev.Pad))<<32]; c != nil {
				ready = append(ready, c)
			}
		}
		p.mu.Unlock()
		for i, c := range ready {
			c.readable()
			ready[i] = nil
		}
	}
}

// tryWrite writes b to the socket without waiting and returns how much it
// took: all of it, or less when the socket's buffer is full.
func (c *conn) tryWrite(b []byte) (int, error) {
	n := 0
	var werr error
	err := c.raw.Write(func(fd uintptr) bool {
		for n < len(b) {
			m, err := syscall.Write(int(fd), b[n:])
			if err == syscall.EINTR {
				continue
			}
			if err == syscall.EAGAIN {
				break
			}
			if err != nil {
				werr = err
				break
			}
			n += m
		}
		return true // done: never wait for the socket here
	})
	if err == nil {
		err = werr
	}
	return n, err
}
