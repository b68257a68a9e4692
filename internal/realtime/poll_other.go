//go:build !linux

package realtime

import (
	"errors"
	"net"
	"syscall"
)

// poller is Linux-only (epoll); elsewhere every connection reads on a
// goroutine of its own.
type poller struct{}

func sharedPoller() *poller             { return nil }
func pollable(net.Conn) syscall.RawConn { return nil }
func (*poller) add(*conn) error         { return nil }
func (*poller) arm(*conn) error         { return nil }
func (*poller) remove(*conn)            {}

// tryWrite is never called: without pollable sockets a connection has no
// raw descriptor, and its writer goroutine writes.
func (c *conn) tryWrite([]byte) (int, error) { return 0, errors.ErrUnsupported }
