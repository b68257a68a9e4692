package bus

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/bus/bustest"
)

// pair is two handles on one bus: for NATS, two connections, as two nodes
// would hold.
type pair struct{ a, b Bus }

// implementations runs the suite on every implementation.
func implementations(t *testing.T, fn func(t *testing.T, p pair, prefix string)) {
	t.Run("memory", func(t *testing.T) {
		m := NewMemory()
		t.Cleanup(func() { m.Close() })
		fn(t, pair{m, m}, "t"+randomToken())
	})
	t.Run("nats", func(t *testing.T) {
		url := bustest.NATSURL(t)
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		a, err := DialNATS(url, "bus test a", log)
		if err != nil {
			t.Fatal(err)
		}
		b, err := DialNATS(url, "bus test b", log)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close(); b.Close() })
		// A shared server: a random prefix keeps parallel runs apart.
		fn(t, pair{a, b}, "t"+randomToken())
	})
}

func randomToken() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// collector records what a subscription receives.
type collector struct {
	mu   sync.Mutex
	msgs []string
}

func (c *collector) handle(subject string, data []byte) {
	c.mu.Lock()
	c.msgs = append(c.msgs, subject+"="+string(data))
	c.mu.Unlock()
}

func (c *collector) snapshot() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.msgs)
}

// waitFor polls until c holds n messages, or fails at the deadline.
func (c *collector) waitFor(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.After(5 * time.Second)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		if got := c.snapshot(); len(got) >= n {
			return got
		}
		select {
		case <-tick.C:
			continue
		case <-deadline:
		}
		break
	}
	t.Fatalf("received %d messages, want %d: %v", len(c.snapshot()), n, c.snapshot())
	return nil
}

func TestDeliversToMatchingSubscribersInOrder(t *testing.T) {
	implementations(t, func(t *testing.T, p pair, prefix string) {
		ctx := context.Background()
		exact, star, tail, other := &collector{}, &collector{}, &collector{}, &collector{}
		for pattern, c := range map[string]*collector{
			prefix + ".conv.c1":    exact,
			prefix + ".conv.*":     star,
			prefix + ".>":          tail,
			prefix + ".user.*.x.y": other,
		} {
			if _, err := p.b.Subscribe(pattern, c.handle); err != nil {
				t.Fatal(err)
			}
		}
		const n = 500
		for i := range n {
			if err := p.a.Publish(ctx, prefix+".conv.c1", fmt.Appendf(nil, "%d", i)); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.a.Publish(ctx, prefix+".conv.c2", []byte("other")); err != nil {
			t.Fatal(err)
		}
		got := exact.waitFor(t, n)
		for i, m := range got[:n] {
			if want := fmt.Sprintf("%s.conv.c1=%d", prefix, i); m != want {
				t.Fatalf("message %d = %q, want %q: order is not kept", i, m, want)
			}
		}
		star.waitFor(t, n+1)
		tail.waitFor(t, n+1)
		// The last publication has reached the others; nothing may reach the
		// subscription that matches neither subject.
		if len(exact.snapshot()) != n || len(other.snapshot()) != 0 {
			t.Fatalf("exact got %d (want %d), unrelated got %d (want 0)", len(exact.snapshot()), n, len(other.snapshot()))
		}
	})
}

func TestUnsubscribeStopsDelivery(t *testing.T) {
	implementations(t, func(t *testing.T, p pair, prefix string) {
		ctx := context.Background()
		gone, stays := &collector{}, &collector{}
		sub, err := p.b.Subscribe(prefix+".a", gone.handle)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.b.Subscribe(prefix+".a", stays.handle); err != nil {
			t.Fatal(err)
		}
		_ = p.a.Publish(ctx, prefix+".a", []byte("1"))
		gone.waitFor(t, 1)
		if err := sub.Unsubscribe(); err != nil {
			t.Fatal(err)
		}
		_ = p.a.Publish(ctx, prefix+".a", []byte("2"))
		stays.waitFor(t, 2)
		if n := len(gone.snapshot()); n != 1 {
			t.Fatalf("unsubscribed handler got %d messages, want 1", n)
		}
	})
}

func TestRejectsBadSubjectsAndUseAfterClose(t *testing.T) {
	implementations(t, func(t *testing.T, p pair, prefix string) {
		ctx := context.Background()
		for _, s := range []string{"", "a..b", ".a", "a.", "a.*", "a.>", "a b", "a.b*"} {
			if err := p.a.Publish(ctx, s, nil); !errors.Is(err, ErrBadSubject) {
				t.Errorf("Publish(%q) = %v, want ErrBadSubject", s, err)
			}
		}
		for _, s := range []string{"", "a.>.b", "a.b>", "a..*"} {
			if _, err := p.a.Subscribe(s, func(string, []byte) {}); !errors.Is(err, ErrBadSubject) {
				t.Errorf("Subscribe(%q) = %v, want ErrBadSubject", s, err)
			}
		}
		p.a.Close()
		if err := p.a.Publish(ctx, prefix+".x", nil); !errors.Is(err, ErrClosed) {
			t.Errorf("Publish after Close = %v, want ErrClosed", err)
		}
		if _, err := p.a.Subscribe(prefix+".x", func(string, []byte) {}); !errors.Is(err, ErrClosed) {
			t.Errorf("Subscribe after Close = %v, want ErrClosed", err)
		}
	})
}

func TestMatch(t *testing.T) {
	cases := []struct {
		pattern, subject string
		want             bool
	}{
		{"a.b", "a.b", true},
		{"a.b", "a.c", false},
		{"a.*", "a.b", true},
		{"a.*", "a.b.c", false},
		{"a.>", "a.b.c", true},
		{"a.>", "a", false},
		{"*.b", "a.b", true},
		{"a", "a.b", false},
		{"a.b", "a", false},
	}
	for _, c := range cases {
		if got := match(c.pattern, c.subject); got != c.want {
			t.Errorf("match(%q, %q) = %v, want %v", c.pattern, c.subject, got, c.want)
		}
	}
}

func TestMemoryDropsForASubscriberThatFallsBehind(t *testing.T) {
	m := NewMemory()
	defer m.Close()
	release := make(chan struct{})
	if _, err := m.Subscribe("slow", func(string, []byte) { <-release }); err != nil {
		t.Fatal(err)
	}
	fast := &collector{}
	if _, err := m.Subscribe("slow", fast.handle); err != nil {
		t.Fatal(err)
	}
	for range PendingLimit + 10 {
		if err := m.Publish(context.Background(), "slow", nil); err != nil {
			t.Fatal(err)
		}
	}
	fast.waitFor(t, PendingLimit+10) // the fast one is not held back
	if m.Dropped.Load() == 0 {
		t.Fatal("nothing dropped for a stuck subscriber")
	}
	close(release)
}

// An inline subscription gets every message in order on both buses; on
// NATS, which cannot call it inline, it is an ordinary subscription.
func TestInlineSubscriptionDeliversInOrder(t *testing.T) {
	implementations(t, func(t *testing.T, p pair, prefix string) {
		got := &collector{}
		sub, err := SubscribeInline(p.b, prefix+".conv.*", got.handle)
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Unsubscribe()
		var want []string
		for i := range 100 {
			subject := fmt.Sprintf("%s.conv.c%d", prefix, i%3)
			if err := p.a.Publish(context.Background(), subject, []byte(fmt.Sprint(i))); err != nil {
				t.Fatal(err)
			}
			want = append(want, fmt.Sprintf("%s=%d", subject, i))
		}
		if g := got.waitFor(t, len(want)); !slices.Equal(g, want) {
			t.Fatalf("got %v, want %v", g, want)
		}
	})
}

// On Memory an idle inline subscription has its message by the time
// Publish returns: the publisher ran the handler.
func TestMemoryInlineHandlerRunsBeforePublishReturns(t *testing.T) {
	m := NewMemory()
	defer m.Close()
	got := &collector{}
	if _, err := m.SubscribeInline("x.*", got.handle); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if err := m.Publish(context.Background(), "x.y", []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
		if n := len(got.snapshot()); n != i+1 {
			t.Fatalf("after publish %d the handler has %d messages", i, n)
		}
	}
}

// A handler that publishes to its own subscription finds it busy: the
// message waits, and the publisher running the handler delivers it next,
// in order, without deadlock. Publishers on many goroutines lose nothing
// and keep each one's order.
func TestMemoryInlineHandlerMayPublishAndPublishersMayRace(t *testing.T) {
	m := NewMemory()
	defer m.Close()
	var mu sync.Mutex
	var seen []int
	if _, err := m.SubscribeInline("chain", func(_ string, data []byte) {
		var n int
		fmt.Sscan(string(data), &n)
		mu.Lock()
		seen = append(seen, n)
		mu.Unlock()
		if n < 5 {
			_ = m.Publish(context.Background(), "chain", []byte(fmt.Sprint(n+1)))
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := m.Publish(context.Background(), "chain", []byte("1")); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if !slices.Equal(seen, []int{1, 2, 3, 4, 5}) {
		t.Fatalf("chain delivered %v", seen)
	}
	mu.Unlock()

	got := &collector{}
	if _, err := m.SubscribeInline("race.*", got.handle); err != nil {
		t.Fatal(err)
	}
	const publishers, each = 8, 200
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Go(func() {
			for i := range each {
				_ = m.Publish(context.Background(), fmt.Sprintf("race.p%d", p), []byte(fmt.Sprint(i)))
			}
		})
	}
	wg.Wait()
	msgs := got.waitFor(t, publishers*each)
	next := map[string]int{}
	for _, msg := range msgs {
		subject, n, _ := strings.Cut(msg, "=")
		if want := fmt.Sprint(next[subject]); n != want {
			t.Fatalf("%s: got %s, want %s (out of order)", subject, n, want)
		}
		next[subject]++
	}
}
