package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/db/dbtest"
)

func TestMain(m *testing.M) {
	// Every flag also reads PARLEY_<FLAG>; a variable left in the
	// developer's shell (PARLEY_DB above all) must not steer the tests to
	// another database. PARLEY_TEST_POSTGRES is dbtest's own setting.
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "PARLEY_") && name != "PARLEY_TEST_POSTGRES" {
			os.Unsetenv(name)
		}
	}
	dbtest.Main(m)
}

// isPostgres reports whether dsn is one of dbtest's PostgreSQL URLs.
func isPostgres(dsn string) bool { return strings.HasPrefix(dsn, "postgres://") }

// storeArgs are the storage flags that point a command at dsn: --db for
// PostgreSQL, else --data-dir with the folder of dbtest's SQLite file.
func storeArgs(dsn string) []string {
	if isPostgres(dsn) {
		return []string{"--db", dsn}
	}
	return []string{"--data-dir", filepath.Dir(dsn)}
}

// storeConfig is the app configuration that opens the same database as
// storeArgs(dsn).
func storeConfig(dsn string) app.Config {
	if isPostgres(dsn) {
		return app.Config{DB: dsn}
	}
	return app.Config{DataDir: filepath.Dir(dsn)}
}

type cliResult struct {
	out, errOut string
	err         error
}

// runCLI runs the command tree in-process with stdin as standard input.
func runCLI(t *testing.T, stdin string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	root := newRootCommand(strings.NewReader(stdin), &out, &errOut)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	return cliResult{out: out.String(), errOut: errOut.String(), err: err}
}

// mustRun runs the command and fails the test when it returns an error.
func mustRun(t *testing.T, stdin string, args ...string) cliResult {
	t.Helper()
	r := runCLI(t, stdin, args...)
	if r.err != nil {
		t.Fatalf("parley %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.err, r.out, r.errOut)
	}
	return r
}

// mustFail runs the command, expects an error containing want, and
// returns the result.
func mustFail(t *testing.T, stdin, want string, args ...string) cliResult {
	t.Helper()
	r := runCLI(t, stdin, args...)
	if r.err == nil {
		t.Fatalf("parley %s succeeded, want an error containing %q\nstdout:\n%s", strings.Join(args, " "), want, r.out)
	}
	if !strings.Contains(r.err.Error(), want) {
		t.Fatalf("parley %s: error %q, want it to contain %q", strings.Join(args, " "), r.err, want)
	}
	return r
}

// join concatenates argument lists.
func join(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// openTestApp opens the database the CLI wrote, to check what it did.
func openTestApp(t *testing.T, cfg app.Config) *app.App {
	t.Helper()
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("open app: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// userByEmail returns the account, or fails the test.
func userByEmail(t *testing.T, a *app.App, email string) auth.User {
	t.Helper()
	u, err := a.Auth.UserByEmail(context.Background(), email)
	if err != nil {
		t.Fatalf("user %s: %v", email, err)
	}
	return u
}

// assertNoUser fails the test when the account exists.
func assertNoUser(t *testing.T, a *app.App, email string) {
	t.Helper()
	u, err := a.Auth.UserByEmail(context.Background(), email)
	if !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("user %s: got %+v, %v; want no such account", email, u, err)
	}
}

func fileExists(t *testing.T, path string) bool {
	t.Helper()
	_, err := os.Stat(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("stat %s: %v", path, err)
	}
	return err == nil
}
