package sfu

import (
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"
)

// TestABatchGoesOutWhole sends a fan-out's datagrams with one sendmmsg,
// from an IPv4 socket and from a dual-stack one (where pion sees IPv4
// peers as IPv4-mapped IPv6 addresses), and checks each arrives intact,
// in order, only once the fan-out ends.
func TestABatchGoesOutWhole(t *testing.T) {
	for _, listen := range []string{"127.0.0.1:0", "[::]:0"} {
		t.Run(listen, func(t *testing.T) {
			laddr, err := net.ResolveUDPAddr("udp", listen)
			if err != nil {
				t.Fatal(err)
			}
			conn, err := net.ListenUDP("udp", laddr)
			if err != nil {
				t.Skipf("no such socket here: %v", err)
			}
			defer conn.Close()
			recv, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				t.Fatal(err)
			}
			defer recv.Close()
			to := recv.LocalAddr().(*net.UDPAddr).AddrPort()
			if listen != "127.0.0.1:0" {
				to = netip.AddrPortFrom(netip.AddrFrom16(to.Addr().As16()), to.Port())
			}
			b := newBatchConn(conn)
			b.hold()
			const n = maxBatch + 6 // more than one sendmmsg's worth
			for i := range n {
				msg := []byte(fmt.Sprintf("packet %03d", i))
				if _, err := b.WriteToAddrPort(msg, to); err != nil {
					t.Fatal(err)
				}
				clear(msg) // pion reuses its buffer at once
			}
			// The first sendmmsg went out when the queue was full; the rest
			// wait for the fan-out's end.
			buf := make([]byte, 100)
			for i := range maxBatch {
				_ = recv.SetReadDeadline(time.Now().Add(5 * time.Second))
				size, _, err := recv.ReadFromUDPAddrPort(buf)
				if err != nil {
					t.Fatalf("datagram %d: %v", i, err)
				}
				if got, want := string(buf[:size]), fmt.Sprintf("packet %03d", i); got != want {
					t.Fatalf("got %q, want %q", got, want)
				}
			}
			_ = recv.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			if _, _, err := recv.ReadFromUDPAddrPort(buf); err == nil {
				t.Fatal("a datagram left before the fan-out ended")
			}
			b.release()
			for i := maxBatch; i < n; i++ {
				_ = recv.SetReadDeadline(time.Now().Add(5 * time.Second))
				size, _, err := recv.ReadFromUDPAddrPort(buf)
				if err != nil {
					t.Fatalf("datagram %d: %v", i, err)
				}
				if got, want := string(buf[:size]), fmt.Sprintf("packet %03d", i); got != want {
					t.Fatalf("got %q, want %q", got, want)
				}
			}
			// Outside a fan-out a write goes at once.
			if _, err := b.WriteToAddrPort([]byte("alone"), to); err != nil {
				t.Fatal(err)
			}
			_ = recv.SetReadDeadline(time.Now().Add(5 * time.Second))
			if size, _, err := recv.ReadFromUDPAddrPort(buf); err != nil || string(buf[:size]) != "alone" {
				t.Fatalf("got %q, %v", buf[:size], err)
			}
		})
	}
}
