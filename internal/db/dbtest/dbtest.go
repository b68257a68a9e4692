// Package dbtest runs tests against both database engines: SQLite in a
// temporary folder, and PostgreSQL at $PARLEY_TEST_POSTGRES (default
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable). Each test
// package gets a fresh PostgreSQL database that Main creates and drops; each
// test gets its own schema in it, so tests may run in parallel.
//
// When PostgreSQL cannot be reached the PostgreSQL half of each test is
// skipped — unless $CI is set, where that is a failure.
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parley-chat/parley/internal/db"
)

// DefaultPostgres is used when $PARLEY_TEST_POSTGRES is empty.
const DefaultPostgres = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

var (
	packageDSN string // the package's own database, "" when unavailable
	pgProblem  error  // why PostgreSQL is unavailable
)

// Main wraps testing.M.Run: it creates the package's PostgreSQL database
// before the tests and drops it after them.
func Main(m *testing.M) {
	code := run(m)
	os.Exit(code)
}

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	admin := os.Getenv("PARLEY_TEST_POSTGRES")
	if admin == "" {
		admin = DefaultPostgres
	}
	name := "parley_test_" + randomHex(6)
	dsn, err := createDatabase(ctx, admin, name)
	cancel()
	if err != nil {
		pgProblem = err
		if os.Getenv("CI") != "" {
			fmt.Fprintf(os.Stderr, "dbtest: PostgreSQL is required in CI: %v\n", err)
			return 1
		}
	} else {
		packageDSN = dsn
		defer dropDatabase(admin, name)
	}
	return m.Run()
}

func createDatabase(ctx context.Context, admin, name string) (string, error) {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", fmt.Errorf("connect %s: %w", redact(admin), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("create database: %w", err)
	}
	u, err := url.Parse(admin)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

func dropDatabase(admin, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		fmt.Fprintf(os.Stderr, "dbtest: drop %s: %v\n", name, err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
		fmt.Fprintf(os.Stderr, "dbtest: drop %s: %v\n", name, err)
	}
}

func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil {
		return u.Redacted()
	}
	return "(unparsable url)"
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Engines runs fn once per engine as subtests named "sqlite" and "postgres".
func Engines(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLiteDSN(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, PostgresDSN(t)) })
}

// Each runs fn once per engine with an open, migrated database.
func Each(t *testing.T, fn func(t *testing.T, d *db.DB), sets ...db.Migrations) {
	t.Helper()
	Engines(t, func(t *testing.T, dsn string) { fn(t, Open(t, dsn, sets...)) })
}

// SQLiteDSN returns a path for a new SQLite database in the test's
// temporary folder.
func SQLiteDSN(t testing.TB) string {
	return filepath.Join(t.TempDir(), "parley.db")
}

// PostgresDSN returns a URL to a fresh, empty schema of the package's
// database, or skips the test when PostgreSQL is unavailable (outside CI).
func PostgresDSN(t testing.TB) string {
	t.Helper()
	if packageDSN == "" {
		if pgProblem == nil {
			t.Fatal("dbtest: call dbtest.Main from the package's TestMain")
		}
		t.Skipf("PostgreSQL unavailable: %v", pgProblem)
	}
	schema := "t_" + randomHex(6)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, packageDSN)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("dbtest: create schema: %v", err)
	}
	sep := "?"
	if strings.Contains(packageDSN, "?") {
		sep = "&"
	}
	return packageDSN + sep + "search_path=" + schema
}

// Open opens dsn, applies the migration sets and closes the database when
// the test ends.
func Open(t testing.TB, dsn string, sets ...db.Migrations) *db.DB {
	t.Helper()
	ctx := context.Background()
	d, err := db.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("dbtest: open: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	if err := d.Migrate(ctx, sets...); err != nil {
		t.Fatalf("dbtest: migrate: %v", err)
	}
	return d
}

// Count returns the number of rows in table, read through q; tests use it
// to prove that a rejected request wrote nothing.
func Count(t testing.TB, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, table string) int {
	t.Helper()
	var n int
	if err := q.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
		t.Fatalf("dbtest: count %s: %v", table, err)
	}
	return n
}
