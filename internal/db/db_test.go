package db_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/parley-chat/parley/internal/db"
	"github.com/parley-chat/parley/internal/db/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

var widgets = db.Migrations{Component: "widgets", FS: os.DirFS("testdata/migrations")}

func TestMigrateAppliesInOrderAndOnce(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		d, err := db.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if err := d.CheckMigrated(ctx, widgets); err == nil {
			t.Fatal("CheckMigrated before Migrate: want an error")
		}
		for range 2 { // the second run must find nothing to do
			if err := d.Migrate(ctx, widgets); err != nil {
				t.Fatal(err)
			}
		}
		if err := d.CheckMigrated(ctx, widgets); err != nil {
			t.Fatalf("CheckMigrated: %v", err)
		}
		if _, err := d.ExecContext(ctx, `INSERT INTO widgets (id, name, size) VALUES ($1, $2, $3)`, "w1", "one", 3); err != nil {
			t.Fatalf("the second migration was not applied: %v", err)
		}
		if n := dbtest.Count(t, d, "schema_migrations"); n != 2 {
			t.Fatalf("schema_migrations rows = %d, want 2", n)
		}
	})
}

func TestConcurrentMigrateOnPostgres(t *testing.T) {
	dsn := dbtest.PostgresDSN(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			d, err := db.Open(ctx, dsn)
			if err != nil {
				errs[i] = err
				return
			}
			defer d.Close()
			errs[i] = d.Migrate(ctx, widgets)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent migrations: %v", err)
	}
}

func TestMigrateRejectsAGapInVersions(t *testing.T) {
	gap := db.Migrations{Component: "gap", FS: fstest.MapFS{
		"sqlite/0001_a.sql": {Data: []byte("CREATE TABLE a (x INTEGER);")},
		"sqlite/0003_c.sql": {Data: []byte("CREATE TABLE c (x INTEGER);")},
	}}
	d, err := db.Open(context.Background(), dbtest.SQLiteDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Migrate(context.Background(), gap); err == nil {
		t.Fatal("want an error for a missing version 2")
	}
}

func TestFailedMigrationLeavesNothingBehind(t *testing.T) {
	bad := db.Migrations{Component: "bad", FS: fstest.MapFS{
		"sqlite/0001_a.sql":   {Data: []byte("CREATE TABLE a (x INTEGER); SELECT * FROM missing_table;")},
		"postgres/0001_a.sql": {Data: []byte("CREATE TABLE a (x INTEGER); SELECT * FROM missing_table;")},
	}}
	dbtest.Engines(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		d, err := db.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if err := d.Migrate(ctx, bad); err == nil {
			t.Fatal("want an error")
		}
		if _, err := d.ExecContext(ctx, `INSERT INTO a (x) VALUES (1)`); err == nil {
			t.Fatal("table a exists: the failed migration was half applied")
		}
	})
}

func TestUniqueViolationAndRollback(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		err := d.Tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO widgets (id, name) VALUES ('a', 'same')`); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO widgets (id, name) VALUES ('b', 'same')`)
			return err
		})
		if !db.IsUniqueViolation(err) {
			t.Fatalf("IsUniqueViolation(%v) = false", err)
		}
		if n := dbtest.Count(t, d, "widgets"); n != 0 {
			t.Fatalf("rolled-back transaction left %d rows", n)
		}
		if db.IsUniqueViolation(errors.New("other")) {
			t.Fatal("IsUniqueViolation on an unrelated error")
		}
	}, widgets)
}
