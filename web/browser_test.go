package web_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/auth"
)

// TestBrowser runs the browser tests in tests/ (node --test, playwright-core
// driving Debian's Chromium) against a real Parley server on a free port
// with a fresh data folder. Outside CI it is skipped when Node.js, the npm
// packages or Chromium are missing; in CI that is a failure.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	node, nodeErr := exec.LookPath("node")
	_, pwErr := os.Stat("node_modules/playwright-core")
	_, chErr := os.Stat(chromium)
	if nodeErr != nil || pwErr != nil || chErr != nil {
		msg := "browser tests need node, web/node_modules (npm ci) and Chromium"
		if os.Getenv("CI") != "" {
			t.Fatalf("%s: node %v, playwright %v, chromium %v", msg, nodeErr, pwErr, chErr)
		}
		t.Skip(msg)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := app.New(ctx, app.Config{
		Addr:    "127.0.0.1:0",
		DataDir: t.TempDir(),
		// The tests sign in many times from one address.
		RateLimit: 0,
		Argon2:    auth.Argon2Params{Memory: 1024, Time: 1, Threads: 1},
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, func(addr net.Addr) { addrc <- addr }) }()
	var addr net.Addr
	select {
	case addr = <-addrc:
	case err := <-done:
		t.Fatalf("server: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("server did not start")
	}

	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", "tests/")
	cmd.Env = append(os.Environ(), "PARLEY_URL=http://"+addr.String(), "CHROMIUM="+chromium)
	if dir := os.Getenv("PARLEY_SCREENSHOTS"); dir != "" {
		abs, _ := filepath.Abs(dir)
		cmd.Env = append(cmd.Env, "PARLEY_SCREENSHOTS="+abs)
	}
	out, err := cmd.CombinedOutput()
	t.Log("\n" + strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("browser tests failed: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("server stop: %v", err)
	}
}
