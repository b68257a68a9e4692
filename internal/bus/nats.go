package bus

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
)

// NATS is the bus of a cluster: every node connects to the same NATS
// servers. It uses core NATS (at most once): durability is the database's
// job, and core NATS is the fastest path for "look" announcements.
type NATS struct {
	conn *nats.Conn
	log  *slog.Logger
}

// DialNATS connects to url (comma-separated for several servers) and keeps
// reconnecting for as long as the bus is open.
func DialNATS(url, name string, log *slog.Logger) (*NATS, error) {
	b := &NATS{log: log}
	conn, err := nats.Connect(url,
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond),
		nats.RetryOnFailedConnect(false),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) { log.Info("nats reconnected", "server", c.ConnectedUrlRedacted()) }),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subject := ""
			if sub != nil {
				subject = sub.Subject
			}
			log.Warn("nats error", "subject", subject, "err", err)
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("bus: connect to nats: %w", err)
	}
	b.conn = conn
	return b, nil
}

// Publish sends data on subject.
func (b *NATS) Publish(_ context.Context, subject string, data []byte) error {
	if !validSubject(subject, false) {
		return ErrBadSubject
	}
	if b.conn.IsClosed() {
		return ErrClosed
	}
	return b.conn.Publish(subject, data)
}

// Subscribe delivers messages on subjects matching pattern, in order, on a
// goroutine of the subscription's own.
func (b *NATS) Subscribe(pattern string, h Handler) (Subscription, error) {
	if !validSubject(pattern, true) {
		return nil, ErrBadSubject
	}
	if b.conn.IsClosed() {
		return nil, ErrClosed
	}
	sub, err := b.conn.Subscribe(pattern, func(m *nats.Msg) { h(m.Subject, m.Data) })
	if err != nil {
		return nil, err
	}
	if err := sub.SetPendingLimits(PendingLimit, 256<<20); err != nil {
		_ = sub.Unsubscribe()
		return nil, err
	}
	// Make the subscription known to the server before returning, so a
	// publish that follows Subscribe is not missed.
	if err := b.conn.Flush(); err != nil {
		_ = sub.Unsubscribe()
		return nil, err
	}
	return sub, nil
}

// Close drains nothing: announcements in flight may be lost, which the
// database-first design tolerates.
func (b *NATS) Close() error {
	b.conn.Close()
	return nil
}
