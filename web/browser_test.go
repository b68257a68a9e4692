package web_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/sfu"
)

// TestBrowser runs the browser tests in tests/ (node --test, playwright-core
// driving Debian's Chromium) against a real Parley server on a free port
// with a fresh data folder. Outside CI it is skipped when Node.js, the npm
// packages or Chromium are missing; in CI that is a failure.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	node, chromium := browserTools(t)

	srv := &server{t: t, cfg: app.Config{
		Addr:    "127.0.0.1:0",
		DataDir: t.TempDir(),
		// The tests sign in many times from one address.
		RateLimit: 0,
		Argon2:    auth.Argon2Params{Memory: 1024, Time: 1, Threads: 1},
		// Calls: media on this machine only, as Chromium reaches it.
		RTC: sfu.Config{ListenIP: "127.0.0.1", IncludeLoopback: true, TCPPort: -1},
	}}
	addr := srv.start()
	defer srv.stop()
	admin := signUpAdmin(t, addr.String(), "admin@browser.test")
	// The restart test asks for a restart here: the same address and
	// data, a new process state, as when an operator restarts Parley.
	control := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST to restart", http.StatusMethodNotAllowed)
			return
		}
		srv.stop()
		srv.cfg.Addr = addr.String()
		srv.start()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer control.Close()

	// PARLEY_BROWSER_TESTS=calls runs only tests/calls.test.mjs (a
	// comma-separated list of file names without .test.mjs).
	files := []string{"tests/"}
	if only := os.Getenv("PARLEY_BROWSER_TESTS"); only != "" {
		files = nil
		for _, name := range strings.Split(only, ",") {
			files = append(files, "tests/"+strings.TrimSpace(name)+".test.mjs")
		}
	}
	runNodeTests(t, node, chromium, addr.String(), admin, files, "PARLEY_RESTART_URL="+control.URL)
}

// browserTools finds Node.js and Chromium. Outside CI a browser test is
// skipped without them; in CI that is a failure.
func browserTools(t *testing.T) (node, chromium string) {
	t.Helper()
	chromium = os.Getenv("CHROMIUM")
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
	return node, chromium
}

// adminAccount is the server's first account, its operator.
type adminAccount struct{ email, password string }

// signUpAdmin creates the server's first account, which is its admin: the
// help desk's and the marketplace's tests need one, whichever test file
// signs up first.
func signUpAdmin(t *testing.T, addr, email string) adminAccount {
	t.Helper()
	admin := adminAccount{email, "correct horse battery"}
	signup, err := http.Post("http://"+addr+"/api/v1/auth/signup", "application/json",
		strings.NewReader(`{"email":"`+admin.email+`","name":"Admin","password":"`+admin.password+`"}`))
	if err != nil {
		t.Fatalf("admin sign-up: %v", err)
	}
	signup.Body.Close()
	if signup.StatusCode != http.StatusCreated {
		t.Fatalf("admin sign-up: %s", signup.Status)
	}
	return admin
}

// runNodeTests runs the given test files with Node's test runner against
// the server at addr, and fails t if any of them fails.
func runNodeTests(t *testing.T, node, chromium, addr string, admin adminAccount, files []string, env ...string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{"--test", "--test-reporter=spec"}, files...)...)
	cmd.Env = append(os.Environ(), "PARLEY_URL=http://"+addr, "CHROMIUM="+chromium,
		"PARLEY_ADMIN_EMAIL="+admin.email, "PARLEY_ADMIN_PASSWORD="+admin.password)
	cmd.Env = append(cmd.Env, env...)
	if dir := os.Getenv("PARLEY_SCREENSHOTS"); dir != "" {
		abs, _ := filepath.Abs(dir)
		cmd.Env = append(cmd.Env, "PARLEY_SCREENSHOTS="+abs)
	}
	out, err := cmd.CombinedOutput()
	t.Log("\n" + strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("browser tests failed: %v", err)
	}
}

// server runs Parley in this process and can restart it.
type server struct {
	t      *testing.T
	cfg    app.Config
	mu     sync.Mutex
	app    *app.App
	cancel context.CancelFunc
	done   chan error
}

func (s *server) start() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := app.New(context.Background(), s.cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		s.t.Fatalf("server: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, func(addr net.Addr) { addrc <- addr }) }()
	s.app, s.cancel, s.done = a, cancel, done
	select {
	case addr := <-addrc:
		return addr
	case err := <-done:
		s.t.Fatalf("server: %v", err)
	case <-time.After(30 * time.Second):
		s.t.Fatal("server did not start")
	}
	return nil
}

func (s *server) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.app == nil {
		return
	}
	s.cancel()
	if err := <-s.done; err != nil {
		s.t.Errorf("server stop: %v", err)
	}
	s.app.Close()
	s.app = nil
}
