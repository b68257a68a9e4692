package db

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
	"time"
)

// SQLite's WAL is checkpointed here, mostly off the commit path.
//
// With wal_autocheckpoint(0) no commit copies the WAL back into the database
// by itself. Instead, soon after writes (at most every checkpointInterval),
// a PASSIVE checkpoint runs on a reader connection: it copies what the
// readers allow and never blocks the writer or the readers. Run often, each
// one copies only the pages written since the last.
//
// Copying is not enough to keep the WAL small: SQLite starts the WAL file
// over only when a write transaction begins while every frame in it has
// been copied, and under a steady stream of commits a background
// checkpoint never wins that race, so the file grows by whatever the
// commits write (~120 MB/s at 5,000 msgs/s). Once the WAL holds
// restartPages frames, the next write transaction on the writer first runs
// a PASSIVE checkpoint itself (DB.beforeWrite): the background has copied
// nearly everything, so it copies the last few commits and syncs, and the
// BEGIN right after starts the WAL over. No other connection ever takes the
// writer lock for a checkpoint (as a TRUNCATE or RESTART checkpoint would,
// holding every commit while it copied the whole backlog and waiting for
// readers, with the writer asleep in SQLite's busy handler meanwhile).
//
// SQLite fsyncs the database file in a checkpoint only when the checkpoint
// reached the WAL's end. Under steady load a background round seldom does
// (a commit lands while it copies), so the pages it copied stayed dirty in
// the OS's cache until the writer's own checkpoint, whose fsync then wrote
// all of them while every send waited: 4.5 ms, every ~100 ms at 2,500
// msgs/s, which made the p99 latency. So after each round that copied
// something the checkpointer fsyncs the database file itself, off the
// commit path, and the writer's checkpoint syncs little (1.6 ms). An extra
// fsync never weakens durability.
const (
	checkpointInterval = 20 * time.Millisecond
	restartPages       = 2048 // 8 MiB of 4 KiB pages
)

type checkpointer struct {
	db           *sql.DB
	file         syncer // the database file; nil: SQLite's own fsyncs only
	interval     time.Duration
	restartPages int
	copied       int // frames copied by the last round, as SQLite counts them
	// restart asks the writer to checkpoint the last frames itself before
	// its next transaction, so that the WAL starts over.
	restart atomic.Bool
	kick    chan struct{}
	quit    chan struct{}
	done    chan struct{}
	once    sync.Once
}

// syncer is what the checkpointer needs of the database file (*os.File).
type syncer interface{ Sync() error }

func startCheckpointer(db *sql.DB, file syncer, interval time.Duration, restartPages int) *checkpointer {
	c := &checkpointer{db: db, file: file, interval: interval, restartPages: restartPages,
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
		// Let writes gather a little: the WAL's fsync and the database's
		// fsync are paid once per checkpoint, however many commits.
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

// checkpoint runs one PASSIVE checkpoint and, when the WAL has grown past
// restartPages, asks the writer to start it over. Errors are left for the
// next round: a checkpoint that does not happen costs disk space, not data.
func (c *checkpointer) checkpoint() (log, done int) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var busy int
	if err := c.db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &log, &done); err != nil {
		return 0, 0
	}
	// done counts the frames copied since the WAL last started over, so a
	// change means this round wrote pages to the database file.
	if done != c.copied && done > 0 && c.file != nil {
		_ = c.file.Sync() // an error leaves the work to SQLite's own fsync
	}
	c.copied = done
	if log >= c.restartPages {
		c.restart.Store(true)
	}
	return log, done
}

// beforeWrite runs on the writer, outside any transaction, before a write:
// when the checkpointer asked for it, it copies the WAL's last frames so
// that the write about to begin starts the WAL over. Readers still in the
// old frames can keep it from starting over; the checkpointer then asks
// again.
func (c *checkpointer) beforeWrite(ctx context.Context, write *sql.DB) {
	if !c.restart.Load() || !c.restart.CompareAndSwap(true, false) {
		return
	}
	var busy, log, done int
	_ = write.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &log, &done)
}
