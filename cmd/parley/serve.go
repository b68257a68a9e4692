package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/httpx"
)

func newServeCommand(s streams) *cobra.Command {
	var (
		store               storageFlags
		cfg                 app.Config
		logFormat, logLevel string
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run Parley: web app, API and storage in one process",
		Long: `Run Parley: the web app, the HTTP API and storage in one process.

With no flags it listens on :8080 and keeps its data in ./parley-data
(SQLite). Point --db at PostgreSQL to run several nodes behind a load
balancer. Every flag can also be set by its PARLEY_* environment variable.

Without --tls-cert, Parley speaks plain HTTP and is meant to sit behind a
TLS-terminating proxy; list that proxy in --trusted-proxy and set
--public-url to the https:// address users open.`,
		Args:    cobra.NoArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error { return bindEnv(cmd) },
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger(s.err, logFormat, logLevel)
			if err != nil {
				return err
			}
			c := store.config()
			cfg.DataDir, cfg.DB, cfg.Version = c.DataDir, c.DB, c.Version
			a, err := app.New(cmd.Context(), cfg, log)
			if err != nil {
				return err
			}
			defer a.Close()
			return a.Run(cmd.Context(), nil)
		},
	}
	f := cmd.Flags()
	store.register(f)
	f.StringVar(&cfg.Addr, "addr", ":8080", "address to listen on")
	f.StringVar(&cfg.PublicURL, "public-url", "", "URL users open, e.g. https://parley.example.com (an https URL makes cookies Secure and trusts that origin)")
	f.StringVar(&cfg.ContactPolicy, "contact-policy", "mask", "e-mail addresses and phone numbers in a marketplace chat before its first session: mask, flag (for the operator) or off")
	f.DurationVar(&cfg.PayoutEvery, "payout-every", 24*time.Hour, "how often experts' earnings are paid out to them (0: only when an operator runs it)")
	f.Int64Var(&cfg.PayoutMinimum, "payout-minimum", 1000, "the least a payout pays, in the currency's minor units (1000 is 10.00 USD)")
	f.StringVar(&cfg.SMTPURL, "smtp-url", "", "where e-mail (session reminders) goes: smtp://user:password@host:587?from=parley@example.com, or smtps:// for TLS on 465; empty writes mail to the log")
	f.StringVar(&cfg.TLSCert, "tls-cert", "", "PEM certificate file; with --tls-key, serve HTTPS directly")
	f.StringVar(&cfg.TLSKey, "tls-key", "", "PEM private key file for --tls-cert")
	f.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", 15*time.Second, "on SIGINT/SIGTERM, how long in-flight requests may finish")
	f.StringSliceVar(&cfg.TrustedProxies, "trusted-proxy", nil, "address or CIDR of a proxy whose X-Forwarded-For and X-Forwarded-Proto are believed (repeatable, comma-separated)")
	f.StringVar(&cfg.SignupMode, "signup", "open", "who may create an account: open, invite (with an admin's invite) or closed")
	f.DurationVar(&cfg.SessionIdle, "session-idle-timeout", 7*24*time.Hour, "end a session unused for this long")
	f.DurationVar(&cfg.SessionLifetime, "session-lifetime", 30*24*time.Hour, "end every session this long after sign-in")
	f.Float64Var(&cfg.RateLimit, "rate-limit", 50, "requests per second allowed per client address (0 turns the limit off)")
	f.IntVar(&cfg.RateBurst, "rate-burst", 200, "requests a client may send in a burst above --rate-limit")
	f.Int64Var(&cfg.MaxBodyBytes, "max-body", httpx.DefaultMaxBody, "largest JSON request body in bytes")
	f.Int64Var(&cfg.MaxUploadBytes, "max-upload", chat.DefaultMaxUpload, "largest attachment in bytes")
	f.StringVar(&cfg.NATS, "nats", "", "NATS URL(s), comma-separated, for running several nodes; empty keeps events in this process")
	f.StringVar(&cfg.Node, "node", "", "this node's name in a cluster (default: a random one)")
	f.IntVar(&cfg.RTC.UDPPort, "rtc-udp-port", 7882, "UDP port carrying all call media (0 picks a free one)")
	f.IntVar(&cfg.RTC.TCPPort, "rtc-tcp-port", 7881, "TCP port for call media when UDP is blocked (0 picks a free one, -1 turns it off)")
	f.StringVar(&cfg.RTC.ListenIP, "rtc-listen-ip", "", "address the media ports bind to (default all)")
	f.IntVar(&cfg.RTC.TURNPort, "turn-port", 3478, "UDP port of the embedded TURN relay for clients behind strict firewalls (0 picks a free one, -1 turns it off)")
	f.StringSliceVar(&cfg.RTC.PublicIPs, "public-ip", nil, "public address(es) to announce for media when behind 1:1 NAT")
	f.IntVar(&cfg.RTC.MaxParticipants, "rtc-max-participants", 50, "most participants (devices, WHIP and WHEP sessions) in one call's room")
	f.BoolVar(&cfg.RTC.IncludeLoopback, "rtc-loopback", false, "also offer 127.0.0.1 for media (browser and server on one machine without a network)")
	f.DurationVar(&cfg.RingTimeout, "ring-timeout", 30*time.Second, "unanswered calls end as missed after this")
	f.StringVar(&cfg.Payments, "payments", "wallet", "who moves the marketplace's money: wallet (built in, no outside service) or stripe")
	f.StringVar(&cfg.Stripe.SecretKey, "stripe-secret-key", "", "Stripe secret key (sk_live_… or sk_test_…), with --payments stripe")
	f.StringVar(&cfg.Stripe.WebhookSecret, "stripe-webhook-secret", "", "signing secret (whsec_…) of the Stripe webhook endpoint /api/v1/billing/stripe/webhook")
	f.StringVar(&cfg.Stripe.APIURL, "stripe-api-url", "", "Stripe's API base URL (default https://api.stripe.com; stripe-mock or a fake in tests)")
	f.StringVar(&cfg.Stripe.Country, "stripe-country", "", "the platform's Stripe country (ISO 3166, e.g. US): experts whose account is in another are charged on_behalf_of their account")
	f.StringVar(&logFormat, "log-format", "text", "log format: text or json")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	envUsage(f)
	return cmd
}
