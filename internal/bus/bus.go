// Package bus carries live announcements between the parts of Parley and
// between nodes: "conversation X changed, look". It is not a store. The
// database is the truth; a subscriber that misses an announcement (a slow
// consumer, a reconnect, a node restart) catches up from the database by
// cursor, so the bus may drop messages and Parley still loses nothing.
//
// Two implementations pass one test suite (bustest): Memory, in-process,
// for a single node; and NATS, for several nodes.
package bus

import (
	"context"
	"errors"
	"strings"
)

// Handler receives one message. Handlers of one subscription are called
// one at a time, in publication order; they should return quickly (hand the
// work to a queue), because a subscription that falls too far behind has
// messages dropped.
type Handler func(subject string, data []byte)

// Bus publishes messages to subjects and delivers them to subscribers.
// Subjects are dot-separated tokens; a subscription may use NATS wildcards:
// "*" matches one token, ">" (last) matches one or more.
type Bus interface {
	Publish(ctx context.Context, subject string, data []byte) error
	Subscribe(subject string, h Handler) (Subscription, error)
	// Close ends every subscription and refuses further use.
	Close() error
}

// Subscription can be ended.
type Subscription interface {
	Unsubscribe() error
}

// InlineSubscriber is a Bus that can run a handler in the publisher's own
// goroutine (Memory): no goroutine is woken per message, which on a busy
// node is a wait for a free core. The handler must return at once and
// take no lock that a publisher may hold while it publishes.
type InlineSubscriber interface {
	SubscribeInline(subject string, h Handler) (Subscription, error)
}

// SubscribeInline subscribes h inline where b can (InlineSubscriber), and
// as usual elsewhere.
func SubscribeInline(b Bus, subject string, h Handler) (Subscription, error) {
	if is, ok := b.(InlineSubscriber); ok {
		return is.SubscribeInline(subject, h)
	}
	return b.Subscribe(subject, h)
}

// ErrClosed is returned by a closed bus.
var ErrClosed = errors.New("bus: closed")

// ErrBadSubject is returned for an empty subject, an empty token, or a
// wildcard in a published subject.
var ErrBadSubject = errors.New("bus: bad subject")

// PendingLimit is how many messages a subscription may have waiting before
// newer ones are dropped.
const PendingLimit = 65536

func validSubject(s string, wildcards bool) bool {
	if s == "" {
		return false
	}
	tokens := strings.Split(s, ".")
	for i, t := range tokens {
		switch {
		case t == "":
			return false
		case strings.ContainsAny(t, " \t\r\n"):
			return false
		case t == "*" || t == ">":
			if !wildcards || (t == ">" && i != len(tokens)-1) {
				return false
			}
		case strings.ContainsAny(t, "*>"):
			return false
		}
	}
	return true
}

// match reports whether subject matches pattern (with wildcards).
func match(pattern, subject string) bool {
	for {
		pt, prest, pmore := strings.Cut(pattern, ".")
		st, srest, smore := strings.Cut(subject, ".")
		switch {
		case pt == ">":
			return true
		case pt != "*" && pt != st:
			return false
		case !pmore || !smore:
			return pmore == smore
		}
		pattern, subject = prest, srest
	}
}
