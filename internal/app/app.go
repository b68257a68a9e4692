// Package app is Parley's composition root: it reads the configuration,
// opens the database, builds every domain service and its HTTP handlers,
// and owns the server's lifecycle from start to graceful stop. No other
// package wires things together or reaches for globals.
package app

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/parley-chat/parley/api"
	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/billing"
	"github.com/parley-chat/parley/internal/billing/stripepay"
	"github.com/parley-chat/parley/internal/blob"
	"github.com/parley-chat/parley/internal/bus"
	"github.com/parley-chat/parley/internal/calls"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/db"
	"github.com/parley-chat/parley/internal/desk"
	"github.com/parley-chat/parley/internal/httpx"
	"github.com/parley-chat/parley/internal/mail"
	"github.com/parley-chat/parley/internal/market"
	"github.com/parley-chat/parley/internal/realtime"
	"github.com/parley-chat/parley/internal/sfu"
	"github.com/parley-chat/parley/web"
)

// Config is everything `parley serve` can be told. The zero value of a
// field means its default (see Defaults).
type Config struct {
	Addr            string        // listen address
	DataDir         string        // where SQLite and files live
	DB              string        // postgres:// URL; empty means SQLite in DataDir
	PublicURL       string        // how users reach this server; https:// makes cookies Secure
	SMTPURL         string        // where e-mail goes (smtp://user:pass@host:587?from=…); "" logs it instead
	ContactPolicy   string        // pre-session chat's e-mail addresses and phone numbers: mask (default), flag, off
	PayoutEvery     time.Duration // how often experts' balances are paid out (0: only when an operator runs it)
	PayoutMinimum   int64         // the least a payout pays, in minor units
	TLSCert, TLSKey string        // serve HTTPS directly
	ShutdownTimeout time.Duration // how long in-flight requests may finish on stop
	TrustedProxies  []string      // CIDRs whose X-Forwarded-For/-Proto are believed
	SignupMode      string        // open, invite or closed
	SessionIdle     time.Duration
	SessionLifetime time.Duration
	RateLimit       float64 // requests per second per client address; 0 turns it off
	RateBurst       int
	MaxBodyBytes    int64
	MaxUploadBytes  int64  // largest attachment
	NATS            string // nats:// URL(s); empty uses the in-process bus (one node)
	Node            string // this node's name in a cluster; default: host name and a random suffix
	Version         string

	// Payments is who moves the marketplace's money: "wallet" (the
	// default: the built-in wallet, no outside service) or "stripe".
	Payments string
	// Stripe configures Stripe when Payments is "stripe".
	Stripe StripeConfig

	// RTC sets up the media server: ports (0 = any free one), public IPs.
	RTC sfu.Config
	// RingTimeout ends unanswered calls as missed (30 s).
	RingTimeout time.Duration
	// Realtime tunes the WebSocket gateway (queues, rates, timers); Node
	// and Now above override its own.
	Realtime realtime.Config
	// Argon2 overrides password hashing cost (tests use a cheap one).
	Argon2 auth.Argon2Params
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Defaults fills the zero fields of c.
func (c Config) Defaults() Config {
	if c.Addr == "" {
		c.Addr = ":8080"
	}
	if c.DataDir == "" {
		c.DataDir = "parley-data"
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 15 * time.Second
	}
	if c.SignupMode == "" {
		c.SignupMode = string(auth.SignupOpen)
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = httpx.DefaultMaxBody
	}
	if c.MaxUploadBytes == 0 {
		c.MaxUploadBytes = chat.DefaultMaxUpload
	}
	if c.RateBurst == 0 {
		c.RateBurst = max(1, int(c.RateLimit*2))
	}
	if c.Version == "" {
		c.Version = "dev"
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// DSN returns the database to open: the configured URL, or the SQLite file
// in the data folder.
func (c Config) DSN() string {
	if c.DB != "" {
		return c.DB
	}
	return filepath.Join(c.DataDir, "parley.db")
}

func (c Config) validate() ([]netip.Prefix, error) {
	if !auth.SignupMode(c.SignupMode).Valid() {
		return nil, fmt.Errorf("signup mode %q: must be open, invite or closed", c.SignupMode)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return nil, errors.New("give both --tls-cert and --tls-key, or neither")
	}
	if c.RateLimit < 0 {
		return nil, errors.New("rate limit must not be negative")
	}
	if c.MaxBodyBytes < 1024 {
		return nil, errors.New("max body must be at least 1024 bytes")
	}
	if c.MaxUploadBytes < 1024 {
		return nil, errors.New("max upload must be at least 1024 bytes")
	}
	switch c.ContactPolicy {
	case "", market.ContactMask, market.ContactFlag, market.ContactOff:
	default:
		return nil, fmt.Errorf("contact policy %q: must be mask, flag or off", c.ContactPolicy)
	}
	switch c.Payments {
	case "", "wallet":
	case "stripe":
		if c.Stripe.SecretKey == "" || c.Stripe.WebhookSecret == "" {
			return nil, errors.New("payments by Stripe need --stripe-secret-key and --stripe-webhook-secret")
		}
	default:
		return nil, fmt.Errorf("payments %q: must be wallet or stripe", c.Payments)
	}
	if c.PayoutEvery < 0 || (c.PayoutEvery > 0 && c.PayoutEvery < time.Minute) || c.PayoutMinimum < 0 {
		return nil, errors.New("payouts: --payout-every is 0 or at least a minute, --payout-minimum not negative")
	}
	var proxies []netip.Prefix
	for _, s := range c.TrustedProxies {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, fmt.Errorf("trusted proxy %q: not an address or CIDR", s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		proxies = append(proxies, p.Masked())
	}
	return proxies, nil
}

// Migrations lists every component's schema, in dependency order.
func Migrations() []db.Migrations {
	return []db.Migrations{auth.Migrations, chat.Migrations, calls.Migrations, desk.Migrations, billing.Migrations, market.Migrations}
}

// App is a running Parley node.
type App struct {
	cfg      Config
	log      *slog.Logger
	DB       *db.DB
	Auth     *auth.Service
	Chat     *chat.Service
	Bus      bus.Bus
	Gateway  *realtime.Gateway
	Calls    *calls.Service
	Desk     *desk.Service
	Billing  *billing.Service
	Market   *market.Service
	SFU      *sfu.SFU
	blobs    *blob.Dir
	router   *httpx.Router
	handler  http.Handler
	registry *prometheus.Registry
}

// New opens the database, applies migrations and builds the handlers.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*App, error) {
	cfg = cfg.Defaults()
	proxies, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	d, err := db.Open(ctx, cfg.DSN())
	if err != nil {
		return nil, err
	}
	if err := d.Migrate(ctx, Migrations()...); err != nil {
		d.Close()
		return nil, err
	}
	a := &App{cfg: cfg, log: log, DB: d, registry: prometheus.NewRegistry()}
	fail := func(err error) (*App, error) {
		a.Close()
		return nil, err
	}
	a.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for name, pool := range d.Stats() {
		a.registry.MustRegister(collectors.NewDBStatsCollector(pool, name))
	}

	if cfg.NATS != "" {
		nb, err := bus.DialNATS(cfg.NATS, "parley "+cfg.Node, log)
		if err != nil {
			return fail(err)
		}
		a.Bus = nb
	} else {
		a.Bus = bus.NewMemory()
	}
	a.Auth = auth.NewService(d, auth.Config{
		Announce:        a.Bus,
		SignupMode:      auth.SignupMode(cfg.SignupMode),
		SessionIdle:     cfg.SessionIdle,
		SessionLifetime: cfg.SessionLifetime,
		Argon2:          cfg.Argon2,
		Now:             cfg.Now,
	})
	authHTTP := auth.NewHTTP(a.Auth)
	authHTTP.TrustedProxies = proxies
	authHTTP.AlwaysSecure = strings.HasPrefix(cfg.PublicURL, "https://")
	authHTTP.MaxBody = cfg.MaxBodyBytes
	authHTTP.Log = log

	a.Chat = chat.NewService(d, a.Bus, cfg.Now, func(err error) { log.Warn("announce", "err", err) })
	if a.blobs, err = blob.NewDir(filepath.Join(cfg.DataDir, "files")); err != nil {
		return fail(err)
	}
	chatHTTP := chat.NewHTTP(a.Chat, a.blobs)
	chatHTTP.MaxUpload, chatHTTP.MaxBody = cfg.MaxUploadBytes, cfg.MaxBodyBytes
	rtc := cfg.Realtime
	rtc.Node, rtc.Now = cfg.Node, cfg.Now
	if a.Gateway, err = realtime.New(rtc, a.Bus, a.Chat, a.Auth, log, a.registry); err != nil {
		return fail(err)
	}

	if a.SFU, err = sfu.New(cfg.RTC, log); err != nil {
		return fail(err)
	}
	a.Calls = calls.NewService(d, a.Chat, a.Bus, calls.Config{Node: a.Gateway.Node(), RingTimeout: cfg.RingTimeout, Now: cfg.Now, Log: log})
	media := calls.NewMedia(a.Calls, a.SFU)
	a.Gateway.SetExtension(media)
	if err := media.EnableRelay(a.Bus, a.Gateway); err != nil {
		return fail(err)
	}
	callsHTTP := calls.NewHTTP(a.Calls)
	callsHTTP.MaxBody = cfg.MaxBodyBytes
	a.Desk = desk.NewService(d, a.Auth, a.Chat, a.Calls, a.Bus, desk.Config{Subject: realtime.DeskSubject, Now: cfg.Now, Log: log})
	deskHTTP := desk.NewHTTP(a.Desk)
	deskHTTP.MaxBody = cfg.MaxBodyBytes
	auth.AllowGuests(desk.GuestRoutes...)
	a.Billing = billing.NewService(d, cfg.Now)
	var mailer mail.Mailer = mail.Log{Logger: log.With("component", "mail")}
	if cfg.SMTPURL != "" {
		if mailer, err = mail.NewSMTP(cfg.SMTPURL); err != nil {
			return fail(err)
		}
	}
	stripeHTTP, payments, err := a.payments(cfg, log)
	if err != nil {
		return fail(err)
	}
	a.Market = market.NewService(d, market.Config{Chat: a.Chat, Calls: a.Calls, Meter: callMeter{a.Calls}, Billing: a.Billing,
		Blobs: a.blobs, Mail: mailer, Notify: busNotices{a.Bus}, ContactPolicy: cfg.ContactPolicy, Now: cfg.Now, Log: log,
		Payments: payments})
	a.Chat.SetModerator(a.Market)
	billingHTTP, marketHTTP := billing.NewHTTP(a.Billing), market.NewHTTP(a.Market)
	billingHTTP.MaxBody, marketHTTP.MaxBody = cfg.MaxBodyBytes, cfg.MaxBodyBytes

	rt := httpx.NewRouter(log, a.registry)
	a.router = rt
	authHTTP.Routes(rt)
	chatHTTP.Routes(rt)
	callsHTTP.Routes(rt)
	callsHTTP.WHIPRoutes(rt, media)
	deskHTTP.Routes(rt)
	billingHTTP.Routes(rt)
	stripeHTTP.Routes(rt)
	marketHTTP.Routes(rt)
	var trusted []string
	if cfg.PublicURL != "" {
		trusted = append(trusted, cfg.PublicURL)
	}
	wsHandler := a.Gateway.Handler(trusted)
	rt.Handle("GET /api/v1/ws", func(w http.ResponseWriter, r *http.Request) error {
		wsHandler(w, r)
		return nil
	})
	rt.Handle("GET /api/v1/config", a.publicConfig)
	rt.Handle("GET /api/v1/openapi.yaml", func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Type", "application/yaml")
		_, err := w.Write(api.Spec)
		return err
	})
	rt.HandleHTTP("GET /healthz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}))
	rt.HandleHTTP("GET /readyz", http.HandlerFunc(a.ready))
	rt.HandleHTTP("GET /metrics", promhttp.HandlerFor(a.registry, promhttp.HandlerOpts{}))
	rt.HandleHTTP("/", web.Handler())

	// Cookies are ambient credentials, so a request without a bearer token
	// that changes something must come from our own origin (sign-in
	// included: another site must not sign a browser in to its account).
	// Bearer tokens are not sent by browsers on their own, so they skip the
	// check, and so does the help widget opening a request from a shop's
	// page with no cookie (its queue's allowlist decides).
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteError(w, r, log, httpx.Forbidden("cross-origin request refused: the Origin does not match this site"))
	}))
	if cfg.PublicURL != "" {
		if err := csrf.AddTrustedOrigin(strings.TrimSuffix(cfg.PublicURL, "/")); err != nil {
			return fail(fmt.Errorf("public url: %w", err))
		}
	}

	var h http.Handler = authHTTP.Identify(rt)
	h = http.HandlerFunc(func(next http.Handler) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") == "" && !anonymousCrossOrigin(r) {
				csrf.Handler(next).ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(w, r)
		}
	}(h))
	if cfg.RateLimit > 0 {
		h = httpx.NewRateLimiter(cfg.RateLimit, cfg.RateBurst, time.Now).Middleware(h)
	}
	h = cors(h)
	h = securityHeaders(cfg.TLSCert != "" || authHTTP.AlwaysSecure, h)
	h = rt.Recover(h)
	h = rt.Observe(h)
	h = httpx.WithRequestID(h)
	h = httpx.ClientAddr(proxies, h)
	a.handler = h
	return a, nil
}

// Handler is the whole HTTP surface, for tests and for Run.
func (a *App) Handler() http.Handler { return a.handler }

// Routes lists the API routes, for the contract test.
func (a *App) Routes() []string { return a.router.Routes() }

// Close stops the gateway and releases the bus, files and database.
func (a *App) Close() error {
	if a.Gateway != nil {
		a.Gateway.Close()
	}
	if a.SFU != nil {
		a.SFU.Close()
	}
	if a.Bus != nil {
		_ = a.Bus.Close()
	}
	if a.blobs != nil {
		_ = a.blobs.Close()
	}
	return a.DB.Close()
}

func (a *App) publicConfig(w http.ResponseWriter, r *http.Request) error {
	accounts, err := a.Auth.HasAccounts(r.Context())
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{
		"signup_mode": string(a.Auth.SignupMode()),
		"version":     a.cfg.Version,
		// A fresh installation: its first account becomes the operator.
		"setup": !accounts,
	})
}

func (a *App) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	err := a.DB.Ping(ctx)
	if err == nil {
		err = a.DB.CheckMigrated(ctx, Migrations()...)
	}
	if err != nil {
		a.log.Warn("not ready", "err", err)
		p := httpx.NewProblem(http.StatusServiceUnavailable, "not-ready", "Not ready", "the database is unreachable or not migrated")
		httpx.WriteError(w, r, a.log, p)
		return
	}
	_ = httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func securityHeaders(https bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; "+
			"img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; "+
			"frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		if https {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

// cors lets pages of other sites use the API without credentials — the
// help widget on a shop's page opening a request, then acting with its
// guest token — and load the widget's script modules. It never allows
// credentials, so a browser sends no cookie along and exposes no
// cookie-authenticated answer to another site; which sites may open help
// requests is each queue's allowlist, checked by the desk.
func cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		h := w.Header()
		switch {
		case origin == "" || sameHost(origin, r.Host):
		case strings.HasPrefix(r.URL.Path, "/api/v1/"):
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			h.Set("Access-Control-Expose-Headers", "X-Request-Id, Retry-After, Location")
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE")
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Request-Id")
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		case r.Method == http.MethodGet && (r.URL.Path == "/widget.js" || strings.HasPrefix(r.URL.Path, "/js/") || strings.HasSuffix(r.URL.Path, ".css")):
			h.Set("Access-Control-Allow-Origin", "*")
			h.Set("Cross-Origin-Resource-Policy", "cross-origin")
		}
		next.ServeHTTP(w, r)
	})
}

// anonymousCrossOrigin is the one change another site's page may ask for
// without a credential: opening a help request.
func anonymousCrossOrigin(r *http.Request) bool {
	if _, err := r.Cookie(auth.CookieName); err == nil {
		return false
	}
	return r.Method == http.MethodPost && r.URL.Path == "/api/v1/desk/requests"
}

func sameHost(origin, host string) bool {
	u, err := url.Parse(origin)
	return err == nil && strings.EqualFold(u.Host, host)
}

// Run serves until ctx is cancelled, then stops taking connections and
// gives in-flight requests up to ShutdownTimeout to finish. ready, when
// not nil, receives the bound address once the listener is open.
func (a *App) Run(ctx context.Context, ready func(addr net.Addr)) error {
	ln, err := net.Listen("tcp", a.cfg.Addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	scheme := "http"
	if a.cfg.TLSCert != "" {
		scheme = "https"
		cert, err := tls.LoadX509KeyPair(a.cfg.TLSCert, a.cfg.TLSKey)
		if err != nil {
			ln.Close()
			return fmt.Errorf("tls: %w", err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, srv.TLSConfig)
	}
	a.log.Info("parley is listening", "url", displayURL(scheme, ln.Addr()), "db", a.DB.Dialect, "version", a.cfg.Version,
		"media_udp", a.SFU.UDPAddr().String(), "node", a.Gateway.Node())
	if accounts, err := a.Auth.HasAccounts(ctx); err == nil && !accounts {
		a.log.Info("no accounts yet: open the address above and create the first one; it becomes the operator (admin)",
			"url", displayURL(scheme, ln.Addr()))
	}
	if ready != nil {
		ready(ln.Addr())
	}

	bg, stopBG := context.WithCancel(ctx)
	defer stopBG()
	go a.housekeeping(bg)
	go a.sweepCalls(bg)
	go a.runDesk(bg)
	go every(bg, 2*time.Second, func() {
		if err := a.Market.Sweep(bg); err != nil && bg.Err() == nil {
			a.log.Warn("market sweep", "err", err)
		}
	})
	if a.cfg.PayoutEvery > 0 {
		go every(bg, a.cfg.PayoutEvery, func() {
			paid, err := a.Billing.PayOutDue(bg, a.cfg.PayoutMinimum)
			if err != nil && bg.Err() == nil {
				a.log.Warn("payouts", "err", err)
			}
			if len(paid) > 0 {
				a.log.Info("payouts", "paid", len(paid))
			}
		})
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.log.Info("shutting down", "timeout", a.cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	// WebSockets are hijacked: the HTTP server does not wait for them, so
	// the gateway tells their clients to go elsewhere and waits itself.
	a.Gateway.Drain()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := a.Gateway.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: websockets: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	a.log.Info("stopped")
	return nil
}

func displayURL(scheme string, addr net.Addr) string {
	host, port, _ := net.SplitHostPort(addr.String())
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// sweepCalls ends unanswered calls when their ring timeout passes.
func (a *App) sweepCalls(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := a.Calls.Sweep(ctx); err != nil && ctx.Err() == nil {
				a.log.Warn("sweep calls", "err", err)
			}
		}
	}
}

// runDesk runs the help desk's clock every second: offers that rang out
// move on, wrap-ups end, callbacks join the line and waiting customers
// hear their place. Webhooks go out on a loop of their own, so a slow
// receiver never holds up routing.
func (a *App) runDesk(ctx context.Context) {
	hooks := &http.Client{Timeout: 10 * time.Second}
	go every(ctx, time.Second, func() {
		if err := a.Desk.DeliverWebhooks(ctx, hooks); err != nil && ctx.Err() == nil {
			a.log.Warn("desk webhooks", "err", err)
		}
	})
	every(ctx, time.Second, func() {
		if err := a.Desk.Sweep(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("desk sweep", "err", err)
		}
		if err := a.Desk.PublishLine(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("desk line", "err", err)
		}
	})
}

// callMeter measures a session's billable time from the calls' media
// presence: the time both people were connected, by the SFU's account.
type callMeter struct{ calls *calls.Service }

func (m callMeter) BothConnected(ctx context.Context, callID, a, b string, until time.Time) (time.Duration, error) {
	p, err := m.calls.Presence(ctx, callID)
	if err != nil {
		return 0, err
	}
	return calls.Overlap(p[a], p[b], until), nil
}

// busNotices shows a notice on all of a person's devices, on every node.
type busNotices struct{ bus bus.Bus }

func (n busNotices) Notice(ctx context.Context, userID, kind string, payload any) {
	data, err := json.Marshal(map[string]any{"kind": kind, kind: payload})
	if err == nil {
		_ = n.bus.Publish(context.WithoutCancel(ctx), realtime.NoticeSubject(userID), data)
	}
}

// every runs fn each interval until ctx ends.
func every(ctx context.Context, interval time.Duration, fn func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}

// housekeeping runs hourly: it deletes ended sessions, attachments
// uploaded but never sent within a day, and the files of deleted messages.
func (a *App) housekeeping(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := a.Auth.PruneSessions(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("prune sessions", "err", err)
		} else if n > 0 {
			a.log.Debug("pruned sessions", "count", n)
		}
		if n, err := a.Chat.PruneAttachments(ctx, a.blobs, 24*time.Hour); err != nil && ctx.Err() == nil {
			a.log.Warn("prune attachments", "err", err)
		} else if n > 0 {
			a.log.Debug("pruned attachments", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// StripeConfig is Stripe as the marketplace's payment provider.
type StripeConfig struct {
	SecretKey     string // sk_live_… or sk_test_…
	WebhookSecret string // whsec_… of the endpoint /api/v1/billing/stripe/webhook
	APIURL        string // instead of https://api.stripe.com (stripe-mock, a fake)
	// MaxNetworkRetries overrides stripe-go's retries of a failed request
	// (tests: 0); nil keeps its default of 2.
	MaxNetworkRetries *int64
	// Country is the platform's Stripe account's country (ISO 3166, e.g.
	// US): experts whose account is in another are charged on_behalf_of
	// their account. "" never does.
	Country string
}

// payments builds the marketplace's payment provider: nil (the wallet),
// or Stripe; the Stripe routes answer 404 with the wallet.
func (a *App) payments(cfg Config, log *slog.Logger) (*stripepay.HTTP, market.Payments, error) {
	h := &stripepay.HTTP{MaxBody: cfg.MaxBodyBytes}
	if cfg.Payments != "stripe" {
		return h, nil, nil
	}
	public := strings.TrimSuffix(cfg.PublicURL, "/")
	if public == "" {
		public = "http://" + cfg.Addr
		if strings.HasPrefix(cfg.Addr, ":") {
			public = "http://localhost" + cfg.Addr
		}
	}
	sp, err := stripepay.New(stripepay.Config{SecretKey: cfg.Stripe.SecretKey, WebhookSecret: cfg.Stripe.WebhookSecret,
		BackendURL: cfg.Stripe.APIURL, MaxNetworkRetries: cfg.Stripe.MaxNetworkRetries, Logger: log.With("component", "stripe"),
		OnboardingReturnURL: public + "/market/expert?payouts=done", OnboardingRefreshURL: public + "/market/expert?payouts=again"})
	if err != nil {
		return nil, nil, err
	}
	pay := billing.NewProviderPayments(a.Billing, sp, log.With("component", "payments"))
	pay.Country = strings.ToUpper(cfg.Stripe.Country)
	// A card that asks for 3-D Secure sends the learner to their bank and
	// back to the web app, which completes the booking.
	pay.ReturnURL = func(ref string) string { return public + "/market/bookings/" + url.PathEscape(ref) + "/return" }
	h.P, h.Pay, h.PublicURL = sp, pay, public
	h.HoldCanceled = func(ctx context.Context, authID string) error { return a.Market.HoldCanceled(ctx, authID) }
	h.MayEarn = func(ctx context.Context, userID string) error {
		e, err := a.Market.Expert(ctx, userID)
		if errors.Is(err, market.ErrNotFound) || (err == nil && e.Status != market.Approved) {
			return httpx.Forbidden("only an approved expert opens an account to be paid")
		}
		return err
	}
	return h, pay, nil
}
