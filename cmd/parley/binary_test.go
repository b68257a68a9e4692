//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/db/dbtest"
)

// stampedVersion is what the test build writes into main.version, the way
// the release build does.
const stampedVersion = "v0.0.0-binarytest"

// buildParley compiles the command into a temporary folder.
func buildParley(t *testing.T) string {
	t.Helper()
	// Prefer the toolchain that built this test; runtime.GOROOT is
	// meaningful here because the test runs where it was built.
	//lint:ignore SA1019 the test binary is never copied to another machine
	goroot := runtime.GOROOT()
	goTool := filepath.Join(goroot, "bin", "go")
	if _, err := os.Stat(goTool); goroot == "" || err != nil {
		if goTool, err = exec.LookPath("go"); err != nil {
			t.Fatalf("no go command to build parley with: %v", err)
		}
	}
	bin := filepath.Join(t.TempDir(), "parley")
	cmd := exec.Command(goTool, "build", "-o", bin, "-ldflags", "-X main.version="+stampedVersion, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// lockedBuffer collects a child's output while it runs.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// process is a running parley binary.
type process struct {
	cmd    *exec.Cmd
	stderr *lockedBuffer
	exited chan struct{} // closed when Wait returns
	err    error         // Wait's result, valid once exited is closed
}

func startParley(t *testing.T, bin string, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(bin, args...), stderr: &lockedBuffer{}, exited: make(chan struct{})}
	p.cmd.Stdout = p.stderr
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start parley: %v", err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

// waitExit waits for the process to end, failing the test after limit.
func (p *process) waitExit(t *testing.T, limit time.Duration) {
	t.Helper()
	timer := time.NewTimer(limit)
	defer timer.Stop()
	select {
	case <-p.exited:
	case <-timer.C:
		t.Fatalf("parley did not exit within %s; output:\n%s", limit, p.stderr)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestServeStartsSignsUpAndStopsOnSIGTERM(t *testing.T) {
	bin := buildParley(t)

	dbtest.Engines(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		// For SQLite the data folder is dbtest's empty temporary folder;
		// for PostgreSQL it is another empty folder that must stay empty.
		dataDir := filepath.Dir(dsn)
		if isPostgres(dsn) {
			dataDir = t.TempDir()
		}
		args := []string{"serve", "--addr", freeAddr(t), "--data-dir", dataDir, "--rtc-udp-port", "0", "--rtc-tcp-port", "0", "--turn-port", "0"}
		if isPostgres(dsn) {
			args = append(args, "--db", dsn)
		}
		p := startParley(t, bin, args...)
		base := "http://" + args[2]
		client := &http.Client{Timeout: 10 * time.Second}

		// Poll /healthz until the server answers.
		deadline := time.NewTimer(60 * time.Second)
		defer deadline.Stop()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for healthy := false; !healthy; {
			if resp, err := client.Get(base + "/healthz"); err == nil {
				healthy = resp.StatusCode == http.StatusOK
				resp.Body.Close()
				if healthy {
					break
				}
			}
			select {
			case <-p.exited:
				t.Fatalf("parley exited before it was healthy (%v); output:\n%s", p.err, p.stderr)
			case <-deadline.C:
				t.Fatalf("/healthz did not answer 200 in time; output:\n%s", p.stderr)
			case <-tick.C:
			}
		}

		get := func(path string, cookies ...*http.Cookie) (*http.Response, string) {
			t.Helper()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range cookies {
				req.AddCookie(c)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("GET %s: %v", path, err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatalf("GET %s: %v", path, err)
			}
			return resp, string(body)
		}

		if resp, body := get("/readyz"); resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /readyz = %d %s, want 200", resp.StatusCode, body)
		}

		resp, body := get("/")
		lower := strings.ToLower(body)
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
			!(strings.Contains(lower, "<!doctype html") || strings.Contains(lower, "<html")) {
			t.Fatalf("GET / = %d %q, body starting %.200q; want the web app's HTML page",
				resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		if resp.Header.Get("Content-Security-Policy") == "" {
			t.Fatal("GET / has no Content-Security-Policy")
		}

		resp, body = get("/api/v1/config")
		var cfg struct{ Version string }
		if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &cfg) != nil || cfg.Version != stampedVersion {
			t.Fatalf("GET /api/v1/config = %d %s; want version %q from -ldflags", resp.StatusCode, body, stampedVersion)
		}

		// The first account of a fresh installation becomes its admin.
		signup := `{"email":"owner@example.com","name":"Olga Owner","password":"` + testPassword + `"}`
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/auth/signup", strings.NewReader(signup))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err = client.Do(req)
		if err != nil {
			t.Fatalf("POST /api/v1/auth/signup: %v", err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var user auth.User
		if resp.StatusCode != http.StatusCreated || json.Unmarshal(raw, &user) != nil {
			t.Fatalf("POST /api/v1/auth/signup = %d %s, want 201 and the user", resp.StatusCode, raw)
		}
		if user.Role != auth.RoleAdmin || user.Email != "owner@example.com" || user.ID == "" {
			t.Fatalf("signed up %+v, want owner@example.com as admin", user)
		}
		var session *http.Cookie
		for _, c := range resp.Cookies() {
			if c.Name == auth.CookieName {
				session = c
			}
		}
		if session == nil || session.Value == "" || !session.HttpOnly {
			t.Fatalf("sign-up set cookies %v; want an HttpOnly %s", resp.Header.Values("Set-Cookie"), auth.CookieName)
		}

		if resp, body := get("/api/v1/me"); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("GET /api/v1/me without a cookie = %d %s, want 401", resp.StatusCode, body)
		}
		resp, body = get("/api/v1/me", &http.Cookie{Name: session.Name, Value: session.Value})
		var me auth.User
		if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &me) != nil || me.ID != user.ID {
			t.Fatalf("GET /api/v1/me with the session = %d %s, want 200 and user %s", resp.StatusCode, body, user.ID)
		}

		// SIGTERM stops the server gracefully: exit status 0.
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		p.waitExit(t, 60*time.Second)
		if p.err != nil {
			t.Fatalf("parley exited with %v after SIGTERM, want status 0; output:\n%s", p.err, p.stderr)
		}
		out := p.stderr.String()
		for _, want := range []string{`msg="parley is listening" url=` + base, "msg=stopped"} {
			if !strings.Contains(out, want) {
				t.Fatalf("the log lacks %q; output:\n%s", want, out)
			}
		}

		// The account was stored where the flags said.
		sqliteFile := filepath.Join(dataDir, "parley.db")
		if isPostgres(dsn) == fileExists(t, sqliteFile) {
			t.Fatalf("SQLite file %s exists: %v; want it only without --db", sqliteFile, !isPostgres(dsn))
		}
		a := openTestApp(t, storeConfig(dsn))
		if u := userByEmail(t, a, "owner@example.com"); u.ID != user.ID || u.Role != auth.RoleAdmin {
			t.Fatalf("stored user = %+v, want %+v", u, user)
		}
	})

	t.Run("bad flag exits 1", func(t *testing.T) {
		dir := t.TempDir()
		p := startParley(t, bin, "serve", "--rate-limit", "abc", "--data-dir", dir)
		p.waitExit(t, 60*time.Second)
		var exit *exec.ExitError
		if !errors.As(p.err, &exit) || exit.ExitCode() != 1 {
			t.Fatalf("parley serve --rate-limit abc: %v, want exit status 1; output:\n%s", p.err, p.stderr)
		}
		if out := p.stderr.String(); !strings.HasPrefix(out, "parley: ") || !strings.Contains(out, "--rate-limit") {
			t.Fatalf("stderr = %q, want a \"parley: \" error about --rate-limit", out)
		}
		if fileExists(t, filepath.Join(dir, "parley.db")) {
			t.Fatal("a refused serve created the database")
		}
	})
}
