package main

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/db/dbtest"
)

// These tests set environment variables, so none of them runs in parallel.

func TestEnvChoosesTheDatabase(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, dsn string) {
		if isPostgres(dsn) {
			t.Setenv("PARLEY_DB", dsn)
		} else {
			t.Setenv("PARLEY_DATA_DIR", filepath.Dir(dsn))
		}
		r := mustRun(t, "", "migrate")
		if isPostgres(dsn) != strings.Contains(r.out, "(postgres)") {
			t.Fatalf("migrate printed %q for %s", r.out, dsn)
		}
		// Required flags may come from the environment too.
		t.Setenv("PARLEY_EMAIL", "eve@example.com")
		t.Setenv("PARLEY_NAME", "Eve Expert")
		t.Setenv("PARLEY_ROLE", "expert")
		mustRun(t, testPassword, "user", "create")

		a := openTestApp(t, storeConfig(dsn))
		if u := userByEmail(t, a, "eve@example.com"); u.Role != auth.RoleExpert || u.Name != "Eve Expert" {
			t.Fatalf("user made from the environment = %+v", u)
		}
	})
}

func TestFlagBeatsEnv(t *testing.T) {
	envDir, flagDir := t.TempDir(), t.TempDir()
	t.Setenv("PARLEY_DATA_DIR", envDir)
	mustRun(t, "", "migrate", "--data-dir", flagDir)
	if !fileExists(t, filepath.Join(flagDir, "parley.db")) {
		t.Fatal("migrate --data-dir did not create the database in the flag's folder")
	}
	if fileExists(t, filepath.Join(envDir, "parley.db")) {
		t.Fatal("migrate --data-dir used PARLEY_DATA_DIR although the flag was given")
	}

	// A bad value in the environment is harmless when the flag overrides
	// it: serve then gets as far as its next check (the log format, which
	// fails before anything is opened).
	t.Setenv("PARLEY_RATE_LIMIT", "abc")
	r := mustFail(t, "", `log format "bogus"`, "serve", "--rate-limit", "5", "--log-format", "bogus", "--data-dir", flagDir)
	if strings.Contains(r.err.Error(), "PARLEY_RATE_LIMIT") {
		t.Fatalf("serve read PARLEY_RATE_LIMIT although --rate-limit was given: %v", r.err)
	}
}

func TestInvalidEnvValueFailsNamingTheVariable(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PARLEY_RATE_LIMIT", "abc")
	// --log-format bogus makes serve fail even if the variable were
	// ignored, rather than serve until the deadline.
	mustFail(t, "", "PARLEY_RATE_LIMIT", "serve", "--data-dir", dir, "--addr", "127.0.0.1:0", "--log-format", "bogus")
	if fileExists(t, filepath.Join(dir, "parley.db")) {
		t.Fatal("serve opened the database despite an invalid PARLEY_RATE_LIMIT")
	}
	// Every command binds its own flags; PARLEY_RATE_LIMIT, still set, is
	// not one of token create's and is ignored there.
	t.Setenv("PARLEY_EXPIRES_IN", "forever")
	mustFail(t, "", "PARLEY_EXPIRES_IN", "token", "create", "--user", "a@example.com", "--data-dir", dir)
}

// TestServeHonoursAddrFromEnv points serve at ports that are already taken,
// so that it fails at once, naming the address it tried: PARLEY_ADDR's
// alone, and --addr's when both are given.
func TestServeHonoursAddrFromEnv(t *testing.T) {
	busy := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		return ln.Addr().String()
	}
	envAddr, flagAddr := busy(), busy()
	t.Setenv("PARLEY_DATA_DIR", t.TempDir())
	t.Setenv("PARLEY_ADDR", envAddr)
	t.Setenv("PARLEY_RTC_UDP_PORT", "0") // media ports must not collide with a running server
	t.Setenv("PARLEY_RTC_TCP_PORT", "0")
	t.Setenv("PARLEY_TURN_PORT", "0")

	serve := func(args ...string) error {
		// Should serve ever start, the deadline stops it and the test fails.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		root := newRootCommand(strings.NewReader(""), new(strings.Builder), new(strings.Builder))
		root.SetArgs(append([]string{"serve"}, args...))
		return root.ExecuteContext(ctx)
	}
	err := serve()
	if err == nil || !strings.Contains(err.Error(), envAddr) {
		t.Fatalf("serve with PARLEY_ADDR=%s on a taken port: err = %v, want it to name that address", envAddr, err)
	}
	err = serve("--addr", flagAddr)
	if err == nil || !strings.Contains(err.Error(), flagAddr) {
		t.Fatalf("serve --addr %s with PARLEY_ADDR=%s: err = %v, want it to name the flag's address", flagAddr, envAddr, err)
	}
}
