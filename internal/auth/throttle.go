package auth

import (
	"sync"
	"time"
)

// throttle counts failed sign-ins per key (an email, a client address)
// in a sliding window. After limit failures within window, the key is
// refused until the oldest of them leaves the window. It is per node; an
// attacker spreading over N nodes gets N times the attempts, which still
// bounds a guessing attack to a few hundred tries an hour.
type throttle struct {
	limit  int
	window time.Duration

	mu        sync.Mutex
	failures  map[string][]time.Time
	lastSweep time.Time
}

func newThrottle(limit int, window time.Duration) *throttle {
	return &throttle{limit: limit, window: window, failures: map[string][]time.Time{}}
}

// blocked reports how long key must still wait, or 0.
func (t *throttle) blocked(key string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	recent := t.prune(key, now)
	if len(recent) < t.limit {
		return 0
	}
	return recent[len(recent)-t.limit].Add(t.window).Sub(now)
}

func (t *throttle) fail(key string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	recent := t.prune(key, now)
	if len(recent) >= t.limit*2 { // enough to stay blocked; keep memory bounded
		recent = recent[1:]
	}
	t.failures[key] = append(recent, now)
	if now.Sub(t.lastSweep) > t.window {
		for k, times := range t.failures {
			if len(times) == 0 || now.Sub(times[len(times)-1]) > t.window {
				delete(t.failures, k)
			}
		}
		t.lastSweep = now
	}
}

func (t *throttle) reset(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.failures, key)
}

func (t *throttle) prune(key string, now time.Time) []time.Time {
	times := t.failures[key]
	i := 0
	for i < len(times) && now.Sub(times[i]) >= t.window {
		i++
	}
	if i == len(times) {
		delete(t.failures, key)
		return nil
	}
	times = times[i:]
	t.failures[key] = times
	return times
}
