package sfu

import (
	"net"
	"net/netip"
	"sync"

	"golang.org/x/net/ipv4"
)

// batchConn is the media UDP socket as pion's ICE mux sees it. Sending one
// packet to N subscribers is N datagrams on this one socket, and the
// system call per datagram was the largest cost left on the forwarding
// path (docs/PERFORMANCE.md). During a fan-out (hold … release) writes
// are queued instead, and release sends them with one sendmmsg(2) (Linux;
// elsewhere x/net sends them one by one). Outside a fan-out — ICE, DTLS,
// RTCP, a retransmission — a write goes out at once.
//
// A queued packet is copied: pion reuses its buffer as soon as the write
// returns. A datagram the kernel refuses is dropped, as a network would.
type batchConn struct {
	*net.UDPConn // reads, addresses, deadlines, Close
	batch        *ipv4.PacketConn

	mu    sync.Mutex
	held  int // fan-outs in progress
	n     int // queued messages
	msgs  []ipv4.Message
	bufs  [][]byte
	addrs []net.UDPAddr
}

// maxBatch is the most datagrams queued before they are sent anyway.
const maxBatch = 64

// batchMTU bounds a queued datagram; a larger one is sent at once.
const batchMTU = 1600

func newBatchConn(c *net.UDPConn) *batchConn {
	b := &batchConn{UDPConn: c, batch: ipv4.NewPacketConn(c),
		msgs: make([]ipv4.Message, maxBatch), bufs: make([][]byte, maxBatch), addrs: make([]net.UDPAddr, maxBatch)}
	for i := range b.msgs {
		b.bufs[i] = make([]byte, batchMTU)
		b.addrs[i].IP = make(net.IP, 0, net.IPv6len)
		b.msgs[i].Buffers = make([][]byte, 1)
		b.msgs[i].Addr = &b.addrs[i]
	}
	return b
}

// ReadFromAddrPort and WriteToAddrPort are the allocation-free methods
// pion's ICE mux uses when the connection has them.
func (c *batchConn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	return c.UDPConn.ReadFromUDPAddrPort(b)
}

func (c *batchConn) WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	c.mu.Lock()
	if c.held == 0 || len(b) > batchMTU {
		c.mu.Unlock()
		return c.UDPConn.WriteToUDPAddrPort(b, addr)
	}
	if c.n == maxBatch {
		c.flushLocked()
	}
	i := c.n
	c.n++
	c.msgs[i].Buffers[0] = c.bufs[i][:copy(c.bufs[i], b)]
	a := &c.addrs[i]
	if ip := addr.Addr(); ip.Is4() || ip.Is4In6() {
		v4 := ip.As4()
		a.IP = append(a.IP[:0], v4[:]...)
	} else {
		v6 := ip.As16()
		a.IP = append(a.IP[:0], v6[:]...)
	}
	a.Port, a.Zone = int(addr.Port()), addr.Addr().Zone()
	c.mu.Unlock()
	return len(b), nil
}

// WriteTo is pion's fallback path; the mux uses WriteToAddrPort.
func (c *batchConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if u, ok := addr.(*net.UDPAddr); ok {
		return c.WriteToAddrPort(b, u.AddrPort())
	}
	return c.UDPConn.WriteTo(b, addr)
}

// hold starts a fan-out: writes queue until release.
func (c *batchConn) hold() {
	c.mu.Lock()
	c.held++
	c.mu.Unlock()
}

// release ends a fan-out and sends what is queued, another fan-out's
// packets included: none waits longer than one fan-out.
func (c *batchConn) release() {
	c.mu.Lock()
	c.held--
	c.flushLocked()
	c.mu.Unlock()
}

func (c *batchConn) flushLocked() {
	ms := c.msgs[:c.n]
	for len(ms) > 0 {
		sent, err := c.batch.WriteBatch(ms, 0)
		if err != nil {
			sent = max(sent, 1) // drop the one refused, send the rest
		}
		ms = ms[sent:]
	}
	c.n = 0
}
