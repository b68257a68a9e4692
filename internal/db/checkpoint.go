package db

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// SQLite's WAL is checkpointed here, off the commit path. With
// wal_autocheckpoint(0) no commit copies the WAL back into the database or
// waits for that fsync; instead, some time after a write, a PASSIVE
// checkpoint runs on a reader connection. It never blocks the writer or the
// readers. If the WAL still holds more than a bound of pages afterwards
// (readers kept it from completing), a TRUNCATE checkpoint waits for them
// (and briefly holds off the writer) so that the file cannot grow without
// limit.
const (
	checkpointInterval = 250 * time.Millisecond
	checkpointMaxPages = 4096 // 16 MiB of 4 KiB pages
)

type checkpointer struct {
	db       *sql.DB
	interval time.Duration
	maxPages int
	kick     chan struct{}
	quit     chan struct{}
	done     chan struct{}
	once     sync.Once
}

func startCheckpointer(db *sql.DB, interval time.Duration, maxPages int) *checkpointer {
	c := &checkpointer{db: db, interval: interval, maxPages: maxPages,
		kick: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

// poke notes a write; it never blocks.
func (c *checkpointer) poke() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *checkpointer) stop() {
	c.once.Do(func() { close(c.quit) })
	<-c.done
}

func (c *checkpointer) run() {
	defer close(c.done)
	t := time.NewTimer(0)
	<-t.C
	for {
		select {
		case <-c.quit:
			return
		case <-c.kick:
		}
		// Let writes gather: one checkpoint (two fsyncs) per interval at
		// most, however many commits.
		t.Reset(c.interval)
		select {
		case <-c.quit:
			t.Stop()
			return
		case <-t.C:
		}
		c.checkpoint()
	}
}

// checkpoint runs one PASSIVE checkpoint, and a TRUNCATE one when the WAL
// stays above the bound. Errors are left for the next round: a checkpoint
// that does not happen costs disk space, not data.
func (c *checkpointer) checkpoint() (log, done int) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var busy int
	if err := c.db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &log, &done); err != nil {
		return 0, 0
	}
	if log > c.maxPages && done < log {
		_ = c.db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &log, &done)
	}
	return log, done
}
