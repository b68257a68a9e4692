package db_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/db"
	"github.com/parley-chat/parley/internal/db/dbtest"
)

// Statements prepared once run inside any later transaction, and other
// queries pass through, on both engines.
func TestPreparedStatementsInTransactions(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		d, err := db.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if err := d.Migrate(ctx, widgets); err != nil {
			t.Fatal(err)
		}
		const (
			insert = `INSERT INTO widgets (id, name, size) VALUES ($1, $2, $3)`
			size   = `SELECT size FROM widgets WHERE id = $1`
		)
		if err := d.Prepare(ctx, insert, size, insert); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			err := d.Tx(ctx, func(tx *sql.Tx) error {
				q := d.Prepared(tx)
				id := string(rune('a' + i))
				if _, err := q.ExecContext(ctx, insert, id, "w"+id, i); err != nil {
					return err
				}
				var got int
				if err := q.QueryRowContext(ctx, size, id).Scan(&got); err != nil || got != i {
					t.Errorf("size of %s = %d, %v", id, got, err)
				}
				rows, err := q.QueryContext(ctx, `SELECT id FROM widgets ORDER BY id`) // not prepared
				if err != nil {
					return err
				}
				defer rows.Close()
				n := 0
				for rows.Next() {
					n++
				}
				if n != i+1 {
					t.Errorf("%d rows inside the transaction, want %d", n, i+1)
				}
				return rows.Err()
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		// A rolled-back transaction leaves nothing, prepared or not.
		_ = d.Tx(ctx, func(tx *sql.Tx) error {
			_, _ = d.Prepared(tx).ExecContext(ctx, insert, "z", "w", 9)
			return context.Canceled
		})
		if n := dbtest.Count(t, d, "widgets"); n != 3 {
			t.Fatalf("%d widgets, want 3", n)
		}
	})
}

// No commit checkpoints SQLite's WAL; the background checkpointer copies
// it into the database file soon after writes.
func TestSQLiteCheckpointsInTheBackground(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "parley.db")
	d, err := db.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var auto int
	if err := d.QueryRowContext(ctx, `PRAGMA wal_autocheckpoint`).Scan(&auto); err != nil || auto != 0 {
		t.Fatalf("wal_autocheckpoint = %d, %v; want 0", auto, err)
	}
	if err := d.Migrate(ctx, widgets); err != nil {
		t.Fatal(err)
	}
	size := func() int64 {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	before := size()
	err = d.Tx(ctx, func(tx *sql.Tx) error {
		for i := range 2000 {
			if _, err := tx.ExecContext(ctx, `INSERT INTO widgets (id, name, size) VALUES ($1, $2, $3)`,
				fmt.Sprint("widget-", i), fmt.Sprint("a fairly long name to fill some pages of the table ", i), i); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); size() <= before; {
		if time.Now().After(deadline) {
			t.Fatalf("the database file is still %d bytes: the WAL was never checkpointed", before)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
