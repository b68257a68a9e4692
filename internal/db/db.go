// Package db opens Parley's database — embedded SQLite or PostgreSQL — and owns
// what differs between the two engines: connection pools, migrations, error
// classification and transactions. Domain packages write their own SQL with
// $N placeholders, which both engines accept, and use the Dialect where the
// SQL itself must differ.
package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Dialect names the SQL engine behind a DB.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is a handle on the database. Reads go to a pool of readers; writes and
// transactions go to the writer. On PostgreSQL both are one pgx pool; on
// SQLite the writer is a single connection, because SQLite allows one writer
// at a time and queueing in Go is cheaper than retrying on SQLITE_BUSY.
type DB struct {
	Dialect Dialect
	read    *sql.DB
	write   *sql.DB
	pool    *pgxpool.Pool // PostgreSQL only

	stmtMu sync.Mutex
	stmts  map[string]*sql.Stmt // prepared on the writer (SQLite only)
	closed bool

	ckpt *checkpointer // SQLite only
	file *os.File      // SQLite: the database file, for the checkpointer's fsync
}

// Open connects to dsn: a postgres:// or postgresql:// URL, or a path to a
// SQLite file (a "sqlite:" prefix is allowed). The SQLite file's folder is
// created when missing.
func Open(ctx context.Context, dsn string) (*DB, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return openPostgres(ctx, dsn)
	}
	return openSQLite(ctx, strings.TrimPrefix(dsn, "sqlite:"))
}

func openPostgres(ctx context.Context, dsn string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("db: parse postgres url: %w", err)
	}
	if cfg.ConnConfig.RuntimeParams == nil {
		cfg.ConnConfig.RuntimeParams = map[string]string{}
	}
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("db: connect postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("db: ping postgres: %w", err)
	}
	sqldb := stdlib.OpenDBFromPool(pool)
	return &DB{Dialect: Postgres, read: sqldb, write: sqldb, pool: pool}, nil
}

func openSQLite(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("db: empty sqlite path")
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("db: create data folder: %w", err)
		}
	}
	q := url.Values{}
	// wal_autocheckpoint(0): no commit runs a checkpoint (and its fsync);
	// a background goroutine does, on a reader connection (checkpoint.go).
	// Durability is synchronous=NORMAL in WAL mode either way.
	for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "foreign_keys(ON)", "synchronous(NORMAL)", "wal_autocheckpoint(0)", "journal_size_limit(67108864)"} {
		q.Add("_pragma", p)
	}
	q.Set("_time_format", "sqlite")
	readDSN := "file:" + path + "?" + q.Encode()
	// The writer takes its lock when a transaction begins, so two writers can
	// never deadlock upgrading read locks.
	q.Set("_txlock", "immediate")
	// A batch of messages dirties more pages than the default 2 MiB page
	// cache holds; spilling them into the WAL mid-transaction writes them
	// twice. One writer, so 16 MiB more in all.
	q.Add("_pragma", "cache_size(-16384)")
	writeDSN := "file:" + path + "?" + q.Encode()

	write, err := sql.Open("sqlite", writeDSN)
	if err != nil {
		return nil, fmt.Errorf("db: open sqlite: %w", err)
	}
	write.SetMaxOpenConns(1)
	write.SetConnMaxIdleTime(0)
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("db: open sqlite %s: %w", path, err)
	}
	read, err := sql.Open("sqlite", readDSN)
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("db: open sqlite: %w", err)
	}
	read.SetMaxOpenConns(max(4, runtime.GOMAXPROCS(0)))
	d := &DB{Dialect: SQLite, read: read, write: write}
	// The checkpointer's own handle on the database file, only to fsync it
	// (checkpoint.go). It is closed after SQLite's connections: closing any
	// descriptor of a file drops every POSIX lock the process holds on it.
	var file syncer
	if f, err := os.Open(path); err == nil {
		d.file, file = f, f
	}
	d.ckpt = startCheckpointer(read, file, checkpointInterval, restartPages)
	return d, nil
}

// Close releases every connection.
func (d *DB) Close() error {
	if d.ckpt != nil {
		d.ckpt.stop()
	}
	d.stmtMu.Lock()
	for _, st := range d.stmts {
		_ = st.Close()
	}
	d.stmts, d.closed = nil, true
	d.stmtMu.Unlock()
	err := d.write.Close()
	if d.read != d.write {
		err = errors.Join(err, d.read.Close())
	}
	if d.pool != nil {
		d.pool.Close()
	}
	if d.file != nil {
		err = errors.Join(err, d.file.Close())
	}
	return err
}

// Closed reports whether Close has been called: background work that finds
// the database closed under it has nothing left to do and no error to report.
func (d *DB) Closed() bool {
	d.stmtMu.Lock()
	defer d.stmtMu.Unlock()
	return d.closed
}

// Ping checks that the database answers.
func (d *DB) Ping(ctx context.Context) error { return d.write.PingContext(ctx) }

// Stats reports the pools for metrics: the reader and, when distinct, the writer.
func (d *DB) Stats() map[string]*sql.DB {
	if d.read == d.write {
		return map[string]*sql.DB{"main": d.write}
	}
	return map[string]*sql.DB{"read": d.read, "write": d.write}
}

// QueryContext runs a read-only query on the reader pool.
func (d *DB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return d.read.QueryContext(ctx, query, args...)
}

// QueryRowContext runs a read-only single-row query on the reader pool.
func (d *DB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return d.read.QueryRowContext(ctx, query, args...)
}

// ExecContext runs one statement on the writer.
func (d *DB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	d.beforeWrite(ctx)
	res, err := d.write.ExecContext(ctx, query, args...)
	d.wrote()
	return res, err
}

// beforeWrite lets the checkpointer start SQLite's WAL over (checkpoint.go).
func (d *DB) beforeWrite(ctx context.Context) {
	if d.ckpt != nil {
		d.ckpt.beforeWrite(ctx, d.write)
	}
}

// wrote tells the checkpointer that the WAL may have grown.
func (d *DB) wrote() {
	if d.ckpt != nil {
		d.ckpt.poke()
	}
}

// Prepare prepares queries once on the writer connection, so that
// transactions run them (through Prepared) without parsing them again:
// modernc's SQLite driver keeps no statement cache, and database/sql
// prepares every ExecContext and QueryContext anew. On PostgreSQL it does
// nothing: pgx already caches prepared statements per connection. Call it
// outside any transaction (on SQLite it waits for the one writer).
func (d *DB) Prepare(ctx context.Context, queries ...string) error {
	if d.Dialect != SQLite {
		return nil
	}
	for _, q := range queries {
		d.stmtMu.Lock()
		_, ok := d.stmts[q]
		d.stmtMu.Unlock()
		if ok {
			continue
		}
		st, err := d.write.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("db: prepare: %w", err)
		}
		d.stmtMu.Lock()
		if _, ok := d.stmts[q]; ok || d.closed {
			_ = st.Close()
		} else {
			if d.stmts == nil {
				d.stmts = map[string]*sql.Stmt{}
			}
			d.stmts[q] = st
		}
		d.stmtMu.Unlock()
	}
	return nil
}

// Prepared returns a Querier on tx that runs the statements given to
// Prepare as prepared statements and any other query as tx itself would.
func (d *DB) Prepared(tx *sql.Tx) Querier {
	if d.Dialect != SQLite {
		return tx
	}
	return &preparedTx{d: d, tx: tx}
}

type preparedTx struct {
	d    *DB
	tx   *sql.Tx
	used map[string]*sql.Stmt // this transaction's handles on them
}

func (p *preparedTx) stmt(ctx context.Context, query string) *sql.Stmt {
	if st, ok := p.used[query]; ok {
		return st
	}
	p.d.stmtMu.Lock()
	st, ok := p.d.stmts[query]
	p.d.stmtMu.Unlock()
	if !ok {
		return nil
	}
	st = p.tx.StmtContext(ctx, st)
	if p.used == nil {
		p.used = map[string]*sql.Stmt{}
	}
	p.used[query] = st
	return st
}

func (p *preparedTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := p.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return p.tx.ExecContext(ctx, query, args...)
}

func (p *preparedTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := p.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return p.tx.QueryContext(ctx, query, args...)
}

func (p *preparedTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := p.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return p.tx.QueryRowContext(ctx, query, args...)
}

// Tx runs fn in a transaction on the writer and commits when fn returns nil.
// Anything fn returns, or a panic, rolls the transaction back: a rejected
// request changes nothing.
func (d *DB) Tx(ctx context.Context, fn func(tx *sql.Tx) error) (err error) {
	d.beforeWrite(ctx)
	tx, err := d.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("db: begin: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	err = tx.Commit()
	d.wrote()
	if err != nil {
		return fmt.Errorf("db: commit: %w", err)
	}
	return nil
}

// Querier is what both *sql.DB-like handles and *sql.Tx offer; store
// functions that work inside or outside a transaction take one.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// IsUniqueViolation reports whether err is a unique or primary-key
// constraint failure on either engine.
func IsUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		code := sqErr.Code()
		return code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// Time normalises t to the form the database stores: UTC, truncated to
// microseconds (PostgreSQL's precision), so values round-trip exactly on
// both engines.
func Time(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// Strings runs a query whose rows hold one text column and returns them.
func Strings(ctx context.Context, q Querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
