package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migrations are one component's schema changes. Each domain package owns
// its own (vertical slices): FS holds "sqlite/NNNN_name.sql" and
// "postgres/NNNN_name.sql", numbered from 1 without gaps. Migrations are
// forward-only; a file once released is never edited.
type Migrations struct {
	Component string
	FS        fs.FS
}

type migration struct {
	version int
	name    string
	sql     string
}

func (m Migrations) load(d Dialect) ([]migration, error) {
	dir := string(d)
	entries, err := fs.ReadDir(m.FS, dir)
	if err != nil {
		return nil, fmt.Errorf("db: %s migrations: %w", m.Component, err)
	}
	var out []migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v < 1 {
			return nil, fmt.Errorf("db: %s migration %q: name must be NNNN_name.sql", m.Component, e.Name())
		}
		body, err := fs.ReadFile(m.FS, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, mg := range out {
		if mg.version != i+1 {
			return nil, fmt.Errorf("db: %s migrations: expected version %d, found %s", m.Component, i+1, mg.name)
		}
	}
	return out, nil
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	component TEXT NOT NULL,
	version INTEGER NOT NULL,
	name TEXT NOT NULL,
	applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
	PRIMARY KEY (component, version)
)`

// Migrate applies every pending migration of each set, in the order given
// (a component's foreign keys may point only at components before it). Each
// migration runs in its own transaction. On PostgreSQL a session advisory
// lock makes concurrent starts of several nodes safe: one migrates, the
// others wait and then find nothing to do.
func (d *DB) Migrate(ctx context.Context, sets ...Migrations) error {
	if d.Dialect == Postgres {
		conn, err := d.write.Conn(ctx)
		if err != nil {
			return fmt.Errorf("db: migrate: %w", err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrationLockKey); err != nil {
			return fmt.Errorf("db: migrate: take lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLockKey)
	}
	if _, err := d.write.ExecContext(ctx, createMigrationsTable); err != nil {
		return fmt.Errorf("db: migrate: %w", err)
	}
	for _, set := range sets {
		if err := d.migrateSet(ctx, set); err != nil {
			return err
		}
	}
	return nil
}

var migrationLockKey = func() int64 {
	h := fnv.New64a()
	h.Write([]byte("parley schema migrations"))
	return int64(h.Sum64() >> 1)
}()

func (d *DB) migrateSet(ctx context.Context, set Migrations) error {
	all, err := set.load(d.Dialect)
	if err != nil {
		return err
	}
	current, err := d.version(ctx, set.Component)
	if err != nil {
		return err
	}
	if current > len(all) {
		return fmt.Errorf("db: %s schema is at version %d but this binary knows only %d: run a newer parley", set.Component, current, len(all))
	}
	for _, mg := range all[current:] {
		err := d.Tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, mg.sql); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx,
				`INSERT INTO schema_migrations (component, version, name) VALUES ($1, $2, $3)`,
				set.Component, mg.version, mg.name)
			return err
		})
		if err != nil {
			return fmt.Errorf("db: apply %s/%s: %w", set.Component, mg.name, err)
		}
	}
	return nil
}

func (d *DB) version(ctx context.Context, component string) (int, error) {
	var v sql.NullInt64
	err := d.read.QueryRowContext(ctx,
		`SELECT MAX(version) FROM schema_migrations WHERE component = $1`, component).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("db: read schema version of %s: %w", component, err)
	}
	return int(v.Int64), nil
}

// ErrPendingMigrations means the schema is behind this binary.
var ErrPendingMigrations = errors.New("db: migrations pending")

// CheckMigrated reports ErrPendingMigrations when any set has migrations not
// yet applied; /readyz uses it.
func (d *DB) CheckMigrated(ctx context.Context, sets ...Migrations) error {
	for _, set := range sets {
		all, err := set.load(d.Dialect)
		if err != nil {
			return err
		}
		v, err := d.version(ctx, set.Component)
		if err != nil {
			return err
		}
		if v < len(all) {
			return fmt.Errorf("%w: %s at %d of %d", ErrPendingMigrations, set.Component, v, len(all))
		}
	}
	return nil
}
