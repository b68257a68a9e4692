package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/db/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// clock is a settable time source shared by the server under test.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// env is one Parley server on a real listener, over one database engine.
type env struct {
	t     *testing.T
	app   *app.App
	srv   *httptest.Server
	clock *clock
}

// cheapArgon2 keeps tests fast; the production cost is covered by the
// hashing unit tests.
var cheapArgon2 = auth.Argon2Params{Memory: 64, Time: 1, Threads: 1}

// newEnv starts a server on dsn; mods adjust the configuration.
func newEnv(t *testing.T, dsn string, mods ...func(*app.Config)) *env {
	t.Helper()
	clk := &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	cfg := app.Config{DataDir: t.TempDir(), Argon2: cheapArgon2, Now: clk.Now}
	if strings.HasPrefix(dsn, "postgres") {
		cfg.DB = dsn
	} else {
		cfg.DB = "sqlite:" + dsn
	}
	for _, m := range mods {
		m(&cfg)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(testWriter{t}, nil))
	}
	a, err := app.New(context.Background(), cfg, log)
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(func() {
		srv.Close()
		a.Close()
	})
	return &env{t: t, app: a, srv: srv, clock: clk}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// eachEngine runs fn against a fresh server on SQLite and on PostgreSQL.
func eachEngine(t *testing.T, fn func(t *testing.T, e *env), mods ...func(*app.Config)) {
	dbtest.Engines(t, func(t *testing.T, dsn string) { fn(t, newEnv(t, dsn, mods...)) })
}

// client is one browser or program talking to the server: it keeps its
// session cookie, sends a same-origin Origin like a browser would, or a
// bearer token.
type client struct {
	e      *env
	cookie string
	token  string
	origin string // "" sends the server's own origin
	header http.Header
}

func (e *env) client() *client { return &client{e: e} }

type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request; body is JSON-encoded unless it is a string, which is
// sent as is. Every response is checked against the OpenAPI contract.
func (c *client) do(method, path string, body any) *response {
	c.e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			c.e.t.Fatal(err)
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, c.e.srv.URL+path, rd)
	if err != nil {
		c.e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	origin := c.origin
	if origin == "" {
		origin = c.e.srv.URL
	}
	req.Header.Set("Origin", origin)
	if c.cookie != "" {
		req.AddCookie(&http.Cookie{Name: auth.CookieName, Value: c.cookie})
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		c.e.t.Fatal(err)
	}
	for _, ck := range res.Cookies() {
		if ck.Name == auth.CookieName {
			if ck.MaxAge < 0 {
				c.cookie = ""
			} else {
				c.cookie = ck.Value
			}
		}
	}
	r := &response{status: res.StatusCode, header: res.Header, body: data}
	checkContract(c.e.t, req, r)
	return r
}

// want fails the test unless the status is status.
func (r *response) want(t *testing.T, status int) *response {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body: %s", r.status, status, r.body)
	}
	return r
}

// problem fails unless the response is a problem of the given status and
// type slug, and returns it.
func (r *response) problem(t *testing.T, status int, slug string) problem {
	t.Helper()
	r.want(t, status)
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json", ct)
	}
	var p problem
	r.decode(t, &p)
	if p.Type != "urn:parley:problem:"+slug {
		t.Fatalf("problem type %q, want %q; body %s", p.Type, slug, r.body)
	}
	if p.Status != status || p.Title == "" || p.RequestID == "" {
		t.Fatalf("incomplete problem: %s", r.body)
	}
	return p
}

func (r *response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

type problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	RequestID string `json:"request_id"`
	Errors    []struct {
		Field  string `json:"field"`
		Detail string `json:"detail"`
	} `json:"errors"`
}

func (p problem) fields() []string {
	var out []string
	for _, e := range p.Errors {
		out = append(out, e.Field)
	}
	return out
}

type user struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name"`
	Role  string `json:"role"`
}

const goodPassword = "correct horse battery"

// signup creates an account and returns its signed-in client.
func (e *env) signup(email, name string) (*client, user) {
	e.t.Helper()
	c := e.client()
	var u user
	c.do("POST", "/api/v1/auth/signup", map[string]string{
		"email": email, "name": name, "password": goodPassword,
	}).want(e.t, http.StatusCreated).decode(e.t, &u)
	if c.cookie == "" {
		e.t.Fatal("sign-up set no session cookie")
	}
	return c, u
}

// count returns the rows in table, to prove a rejected request wrote nothing.
func (e *env) count(table string) int {
	return dbtest.Count(e.t, e.app.DB, table)
}
