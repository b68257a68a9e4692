//go:build !linux

package realtime

import (
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
