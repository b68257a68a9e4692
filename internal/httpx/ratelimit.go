package httpx

import (
	"net/http"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RateLimiter allows each client address a steady rate of requests with a
// burst, answering 429 with Retry-After beyond it. It is per node: behind a
// load balancer each node grants the rate on its own.
type RateLimiter struct {
	rate  rate.Limit
	burst int
	now   func() time.Time

	mu        sync.Mutex
	clients   map[netip.Addr]*clientLimit
	lastSweep time.Time
}

type clientLimit struct {
	lim  *rate.Limiter
	seen time.Time
}

// NewRateLimiter allows perSecond requests per second per client, with
// bursts of burst.
func NewRateLimiter(perSecond float64, burst int, now func() time.Time) *RateLimiter {
	return &RateLimiter{rate: rate.Limit(perSecond), burst: burst, now: now, clients: map[netip.Addr]*clientLimit{}}
}

// Allow takes one request from ip's allowance; when there is none it says
// how long until there is.
func (l *RateLimiter) Allow(ip netip.Addr) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) > time.Minute {
		// A client idle long enough to have refilled its burst is
		// indistinguishable from a new one: forget it.
		idle := time.Duration(float64(l.burst)/float64(l.rate)*float64(time.Second)) + time.Minute
		for k, c := range l.clients {
			if now.Sub(c.seen) > idle {
				delete(l.clients, k)
			}
		}
		l.lastSweep = now
	}
	c := l.clients[ip]
	if c == nil {
		c = &clientLimit{lim: rate.NewLimiter(l.rate, l.burst)}
		l.clients[ip] = c
	}
	c.seen = now
	res := c.lim.ReserveN(now, 1)
	if delay := res.DelayFrom(now); delay > 0 {
		res.CancelAt(now)
		return false, delay
	}
	return true, 0
}

// Middleware applies the limit to every request; it needs ClientAddr
// outside it.
func (l *RateLimiter) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ok, wait := l.Allow(ClientIP(r.Context())); !ok {
			WriteError(w, r, nil, TooManyRequests(wait))
			return
		}
		next.ServeHTTP(w, r)
	})
}
