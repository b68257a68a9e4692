package web_test

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
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
	adminEmail, adminPassword := "admin@stripe.browser.test", "correct horse battery"
	signup, err := http.Post("http://"+addr+"/api/v1/auth/signup", "application/json",
		strings.NewReader(`{"email":"`+adminEmail+`","name":"Admin","password":"`+adminPassword+`"}`))
	if err != nil {
		t.Fatalf("admin sign-up: %v", err)
	}
	signup.Body.Close()
	if signup.StatusCode != http.StatusCreated {
		t.Fatalf("admin sign-up: %s", signup.Status)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", "tests/market-stripe.test.mjs")
	cmd.Env = append(os.Environ(), "PARLEY_URL=http://"+addr, "CHROMIUM="+chromium, "PARLEY_STRIPE=1",
		"PARLEY_ADMIN_EMAIL="+adminEmail, "PARLEY_ADMIN_PASSWORD="+adminPassword)
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
