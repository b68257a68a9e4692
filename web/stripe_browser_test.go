package web_test

import (
	"net"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/stripe/stripe-go/v82"

	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/billing/stripepay/stripefake"
	"github.com/parley-chat/parley/internal/sfu"
)

// TestBrowserStripe runs tests/market-stripe.test.mjs against a Parley
// server whose payments are by Stripe — the stateful fake, whose hosted
// pages (Checkout, Express onboarding, 3-D Secure) finish at once and send
// the browser straight back. It runs when PARLEY_BROWSER_TESTS is unset or
// names market-stripe; TestBrowser, on a wallet server, skips that file.
func TestBrowserStripe(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	if only := os.Getenv("PARLEY_BROWSER_TESTS"); only != "" && !slices.Contains(strings.Split(strings.ReplaceAll(only, " ", ""), ","), "market-stripe") {
		t.Skip("PARLEY_BROWSER_TESTS does not name market-stripe")
	}
	node, chromium := browserTools(t)
	fake := stripefake.New()
	defer fake.Close()
	// Stripe sends the browser back to Parley's public address, so the
	// server listens on a port known before it starts.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	srv := &server{t: t, cfg: app.Config{
		Addr:      addr,
		PublicURL: "http://" + addr,
		DataDir:   t.TempDir(),
		RateLimit: 0,
		Argon2:    auth.Argon2Params{Memory: 1024, Time: 1, Threads: 1},
		RTC:       sfu.Config{ListenIP: "127.0.0.1", IncludeLoopback: true, TCPPort: -1},
		Payments:  "stripe",
		Stripe: app.StripeConfig{SecretKey: "sk_test_browser", WebhookSecret: "whsec_browser", APIURL: fake.URL,
			MaxNetworkRetries: stripe.Int64(0)},
	}}
	srv.start()
	defer srv.stop()
	admin := signUpAdmin(t, addr, "admin@stripe.browser.test")
	runNodeTests(t, node, chromium, addr, admin, []string{"tests/market-stripe.test.mjs"}, "PARLEY_STRIPE=1")
}
