package app_test

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/db/dbtest"
)

func TestUnknownRoutesAnswerWithProblems(t *testing.T) {
	e := newEnv(t, dbtest.SQLiteDSN(t))
	c := e.client()
	c.do("GET", "/api/v1/nothing-here", nil).problem(t, 404, "not-found")
	res := c.do("PUT", "/api/v1/me", nil)
	res.problem(t, 405, "method-not-allowed")
	if res.header.Get("Allow") != "GET" {
		t.Fatalf("Allow = %q, want GET", res.header.Get("Allow"))
	}
}

func TestEveryResponseCarriesARequestID(t *testing.T) {
	e := newEnv(t, dbtest.SQLiteDSN(t))
	c := e.client()
	res := c.do("GET", "/api/v1/me", nil)
	p := res.problem(t, 401, "unauthorized")
	if id := res.header.Get("X-Request-Id"); id == "" || id != p.RequestID {
		t.Fatalf("header id %q, problem id %q", id, p.RequestID)
	}
	c.header = http.Header{"X-Request-Id": {"proxy-chosen-id.42"}}
	if got := c.do("GET", "/api/v1/config", nil).want(t, 200).header.Get("X-Request-Id"); got != "proxy-chosen-id.42" {
		t.Fatalf("a sane incoming id was replaced: %q", got)
	}
	c.header = http.Header{"X-Request-Id": {"<script>"}}
	if got := c.do("GET", "/api/v1/config", nil).header.Get("X-Request-Id"); got == "<script>" {
		t.Fatal("an unsafe incoming id was echoed")
	}
}

func TestCookieAuthenticatedChangesMustComeFromOurOrigin(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		c, _ := e.signup("ana@example.com", "Ana")
		evil := *c
		evil.origin = "https://evil.example"
		evil.do("POST", "/api/v1/tokens", map[string]string{"name": "stolen"}).problem(t, 403, "forbidden")
		evil.do("POST", "/api/v1/auth/logout", nil).problem(t, 403, "forbidden")
		if n := e.count("api_tokens"); n != 0 {
			t.Fatalf("a cross-origin request wrote %d tokens", n)
		}
		c.do("GET", "/api/v1/me", nil).want(t, 200)
		// A cross-site sign-in form (login CSRF) is refused too.
		x := e.client()
		x.origin = "https://evil.example"
		x.do("POST", "/api/v1/auth/login", map[string]string{"email": "ana@example.com", "password": goodPassword}).problem(t, 403, "forbidden")
		// Reading is harmless and allowed.
		evil.do("GET", "/api/v1/me", nil).want(t, 200)
	})
}

func TestGeneralRateLimitAnswers429WithRetryAfter(t *testing.T) {
	e := newEnv(t, dbtest.SQLiteDSN(t), func(c *app.Config) { c.RateLimit = 0.5; c.RateBurst = 3 })
	c := e.client()
	for range 3 {
		c.do("GET", "/api/v1/config", nil).want(t, 200)
	}
	res := c.do("GET", "/api/v1/config", nil)
	res.problem(t, 429, "rate-limited")
	if ra := res.header.Get("Retry-After"); ra != "2" {
		t.Fatalf("Retry-After = %q, want 2 (one request per 2 s)", ra)
	}
}

func TestProbesAndMetrics(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		get := func(path string) (int, string) {
			res, err := http.Get(e.srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			return res.StatusCode, string(b)
		}
		if code, _ := get("/healthz"); code != 200 {
			t.Fatalf("/healthz = %d", code)
		}
		if code, body := get("/readyz"); code != 200 {
			t.Fatalf("/readyz = %d %s", code, body)
		}
		e.client().do("GET", "/api/v1/me", nil).want(t, 401)
		code, metrics := get("/metrics")
		if code != 200 {
			t.Fatalf("/metrics = %d", code)
		}
		for _, want := range []string{
			`parley_http_requests_total{code="401",route="GET /api/v1/me"} 1`,
			`parley_http_request_duration_seconds_bucket{route="GET /api/v1/me"`,
			`go_sql_open_connections{db_name=`,
			`go_goroutines`,
		} {
			if !strings.Contains(metrics, want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}

		e.app.DB.Close() // a node whose database is gone is not ready
		if code, _ := get("/readyz"); code != 503 {
			t.Fatalf("/readyz with the database closed = %d, want 503", code)
		}
	})
}

func TestWebAppIsServedWithASecurityPolicy(t *testing.T) {
	e := newEnv(t, dbtest.SQLiteDSN(t))
	res, err := http.Get(e.srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || !strings.Contains(string(body), "<html") {
		t.Fatalf("GET / = %d %.200s", res.StatusCode, body)
	}
	csp := res.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Fatalf("CSP = %q", csp)
	}
	if res.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatal("no nosniff")
	}
}

func TestServeOverTLSMarksCookiesSecureAndStopsGracefully(t *testing.T) {
	certFile, keyFile := writeTestCert(t)
	dir := t.TempDir()
	a, err := app.New(context.Background(), app.Config{
		Addr: "127.0.0.1:0", DataDir: dir, TLSCert: certFile, TLSKey: keyFile,
		Argon2: cheapArgon2, ShutdownTimeout: 5 * time.Second,
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx, stop := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, func(addr net.Addr) { addrc <- addr }) }()
	var addr net.Addr
	select {
	case addr = <-addrc:
	case err := <-done:
		t.Fatalf("Run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("server did not start")
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	base := "https://" + addr.String()
	req, _ := http.NewRequest("POST", base+"/api/v1/auth/signup",
		strings.NewReader(`{"email":"ana@example.com","name":"Ana","password":"`+goodPassword+`"}`))
	req.Header.Set("Content-Type", "application/json")
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Fatalf("signup over TLS = %d", res.StatusCode)
	}
	if ck := res.Header.Get("Set-Cookie"); !strings.Contains(ck, "Secure") {
		t.Fatalf("cookie over TLS is not Secure: %q", ck)
	}
	if res.Header.Get("Strict-Transport-Security") == "" {
		t.Fatal("no HSTS over TLS")
	}
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run returned %v after a graceful stop", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server did not stop")
	}
}

func TestInvalidConfigurationIsRefused(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, cfg := range []app.Config{
		{SignupMode: "sometimes"},
		{TLSCert: "cert.pem"},
		{RateLimit: -1},
		{TrustedProxies: []string{"not-a-cidr"}},
	} {
		cfg.DataDir = t.TempDir()
		if a, err := app.New(context.Background(), cfg, log); err == nil {
			a.Close()
			t.Errorf("config %+v was accepted", cfg)
		}
	}
}
