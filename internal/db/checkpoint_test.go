package db

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// openWithCheckpointer opens a SQLite database whose background rounds are
// run by the test, one at a time, syncing file (nil: the database file).
func openWithCheckpointer(t *testing.T, file syncer, restartPages int) (*DB, *checkpointer) {
	t.Helper()
	d, err := Open(context.Background(), filepath.Join(t.TempDir(), "parley.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if file == nil {
		file = d.file
	}
	d.ckpt.stop()
	d.ckpt = startCheckpointer(d.read, file, time.Hour, restartPages)
	return d, d.ckpt
}

// Once the WAL has reached its bound, the next write starts it over, done
// by the writer itself; a reader still in the old frames postpones that
// until it has finished, and never blocks the writer.
func TestSQLiteWALStartsOverAtItsBound(t *testing.T) {
	ctx := context.Background()
	const bound = 64
	d, c := openWithCheckpointer(t, nil, bound)
	if _, err := d.ExecContext(ctx, `CREATE TABLE blobs (id INTEGER PRIMARY KEY, data TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	next := 0
	write := func(commits int) {
		t.Helper()
		for range commits {
			err := d.Tx(ctx, func(tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, `INSERT INTO blobs (id, data) VALUES ($1, $2)`, next, strings.Repeat("x", 3000))
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			next++
		}
	}
	// walFrames is the background's round: how many frames the WAL holds.
	walFrames := func() int {
		t.Helper()
		log, _ := c.checkpoint()
		return log
	}

	// The background round ends while a commit is under way, as it does
	// under steady load: that commit adds frames after the round, so the
	// WAL is never all copied when the next write begins, and it would
	// never start over by itself.
	duringRound := func() {
		t.Helper()
		err := d.Tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO blobs (id, data) VALUES ($1, 'during')`, next); err != nil {
				return err
			}
			if log, _ := c.checkpoint(); log < bound || !c.restart.Load() {
				t.Errorf("after %d commits the WAL holds %d frames, restart asked %v", bound, log, c.restart.Load())
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		next++
	}
	write(bound)
	duringRound()
	write(1)
	if n := walFrames(); n > 4 {
		t.Fatalf("the write after the bound left %d frames in the WAL; it should have started it over", n)
	}

	// A reader in the old frames keeps the WAL from starting over.
	write(bound)
	reader, err := d.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var rows int
	if err := reader.QueryRowContext(ctx, `SELECT COUNT(*) FROM blobs`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	write(1) // the reader's snapshot is now older than the WAL's end
	before := walFrames()
	write(1)
	if n := walFrames(); n <= before {
		t.Fatalf("the WAL went from %d to %d frames while a reader was in it", before, n)
	}
	if err := reader.Rollback(); err != nil {
		t.Fatal(err)
	}
	walFrames() // the round after the reader has gone asks again
	write(1)
	if n := walFrames(); n > 4 {
		t.Fatalf("after the reader left, the WAL still holds %d frames", n)
	}
	var n int
	if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM blobs`).Scan(&n); err != nil || n != next {
		t.Fatalf("%d rows, %v; want %d", n, err, next)
	}
}

// countingFile counts the fsyncs asked of the database file.
type countingFile struct{ syncs atomic.Int32 }

func (f *countingFile) Sync() error { f.syncs.Add(1); return nil }

// A background round that copied pages into the database file fsyncs it,
// so that the writer's own checkpoint before the WAL starts over has little
// left to sync; a round that copied nothing does not.
func TestSQLiteCheckpointSyncsWhatItCopied(t *testing.T) {
	ctx := context.Background()
	file := &countingFile{}
	d, c := openWithCheckpointer(t, file, 1<<20)
	if _, err := d.ExecContext(ctx, `CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	insert := func() {
		t.Helper()
		if _, err := d.ExecContext(ctx, `INSERT INTO notes (body) VALUES ('a note')`); err != nil {
			t.Fatal(err)
		}
	}
	round := func(want int32) {
		t.Helper()
		if log, done := c.checkpoint(); log == 0 || done != log {
			t.Fatalf("the round copied %d of %d frames; want all", done, log)
		}
		if n := file.syncs.Load(); n != want {
			t.Fatalf("%d fsyncs of the database file; want %d", n, want)
		}
	}
	insert()
	round(1)
	round(1) // nothing new to copy
	insert()
	insert()
	round(2)
}
