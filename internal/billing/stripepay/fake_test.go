package stripepay

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82"

	"github.com/parley-chat/parley/internal/billing"
	"github.com/parley-chat/parley/internal/billing/stripepay/stripefake"
)

const (
	learner = "cus_learner"
	expert  = "acct_expert"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// newFake starts the stateful fake with a learner and an expert, and a
// provider pointed at it.
func newFake(t *testing.T, mod ...func(*Config)) (*Provider, *stripefake.Server) {
	t.Helper()
	fake := stripefake.New()
	t.Cleanup(fake.Close)
	fake.AddCustomer(learner)
	fake.AddAccount(expert)
	cfg := Config{
		SecretKey: "sk_test_fake", WebhookSecret: "whsec_test", BackendURL: fake.URL,
		MaxNetworkRetries:   stripe.Int64(0),
		OnboardingReturnURL: "https://parley.test/expert/stripe/done", OnboardingRefreshURL: "https://parley.test/expert/stripe/again",
		Logger: quiet,
	}
	for _, m := range mod {
		m(&cfg)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p, fake
}

func usd(n int64) billing.Money { return billing.Money{Amount: n, Currency: "USD"} }

func hold(t *testing.T, p *Provider, pm string, amount int64, ref string) billing.AuthResult {
	t.Helper()
	res, err := p.Authorize(context.Background(), billing.Authorization{
		PayerCustomer: learner, PaymentMethod: pm, PayeeAccount: expert,
		Amount: usd(amount), Ref: ref, IdempotencyKey: ref + "/hold",
	})
	if err != nil {
		t.Fatalf("authorize %d with %s: %v", amount, pm, err)
	}
	return res
}

func intent(t *testing.T, fake *stripefake.Server, id string) stripefake.Intent {
	t.Helper()
	in, ok := fake.Intent(id)
	if !ok {
		t.Fatalf("the fake has no intent %s", id)
	}
	return in
}

// A per-minute session: a 15-minute block held, extended once, and 21:22
// of it captured with the 20 % commission as the application fee; the rest
// is released. Every POST carried its idempotency key.
func TestFakeHoldExtendCapture(t *testing.T) {
	p, fake := newFake(t)
	ctx := context.Background()
	res := hold(t, p, "pm_card_visa", 1500, "sess-1")
	if res.Status != "requires_capture" || res.ID == "" {
		t.Fatalf("authorize = %+v", res)
	}
	in := intent(t, fake, res.ID)
	if in.Amount != 1500 || in.Capturable != 1500 || in.Destination != expert || in.Customer != learner ||
		in.Metadata[RefKey] != "sess-1" || !in.Incremental || in.Currency != "usd" {
		t.Fatalf("hold = %+v", in)
	}

	if err := p.Extend(ctx, res.ID, usd(3000), "sess-1/extend/1"); err != nil {
		t.Fatal(err)
	}
	if in = intent(t, fake, res.ID); in.Amount != 3000 || in.Capturable != 3000 || in.Increments != 1 {
		t.Fatalf("after extend: %+v", in)
	}

	amount := int64(2137)                   // 21 min 22 s at 100 ¢/min, rounded up by the meter
	fee := billing.Commission(amount, 2000) // 427.4 → 427
	if err := p.Capture(ctx, res.ID, usd(amount), usd(fee), "sess-1/capture"); err != nil {
		t.Fatal(err)
	}
	in = intent(t, fake, res.ID)
	if in.Status != "succeeded" || in.Received != 2137 || in.Fee != 427 || in.Released != 3000-2137 ||
		in.Capturable != 0 || in.Captures != 1 {
		t.Fatalf("after capture: %+v", in)
	}
	for _, r := range fake.Requests() {
		if r.Method == http.MethodPost && r.IdempotencyKey == "" {
			t.Errorf("%s %s without an idempotency key", r.Method, r.Path)
		}
	}
}

// Capturing more than is held is refused and mapped to billing.ErrTooMuch;
// nothing is captured, and the hold can still be captured within it.
func TestFakeCaptureOverHold(t *testing.T) {
	p, fake := newFake(t)
	ctx := context.Background()
	res := hold(t, p, "pm_card_visa", 1000, "sess-2")
	err := p.Capture(ctx, res.ID, usd(1001), usd(200), "sess-2/capture")
	if !errors.Is(err, billing.ErrTooMuch) {
		t.Fatalf("capture over the hold: %v, want ErrTooMuch", err)
	}
	var se *stripe.Error
	if !errors.As(err, &se) || se.Param != "amount_to_capture" {
		t.Fatalf("the Stripe error is not reachable: %v", err)
	}
	if in := intent(t, fake, res.ID); in.Status != "requires_capture" || in.Captures != 0 || in.Capturable != 1000 {
		t.Fatalf("a refused capture changed the hold: %+v", in)
	}
	// A fee above the amount never leaves Parley.
	n := len(fake.Requests())
	if err := p.Capture(ctx, res.ID, usd(100), usd(101), "sess-2/capture-b"); !errors.Is(err, billing.ErrAmount) {
		t.Fatalf("fee above amount: %v", err)
	}
	if len(fake.Requests()) != n {
		t.Fatal("a fee above the amount reached Stripe")
	}
	if err := p.Capture(ctx, res.ID, usd(1000), usd(200), "sess-2/capture-2"); err != nil {
		t.Fatal(err)
	}
	if in := intent(t, fake, res.ID); in.Received != 1000 || in.Fee != 200 || in.Released != 0 {
		t.Fatalf("capture of the whole hold: %+v", in)
	}
}

// Refunds: part, then the rest; the transfer reversed by the amount
// refunded and the fee given back in proportion (as the ledger's ProRata
// gives it); never more than was captured.
func TestFakeRefunds(t *testing.T) {
	p, fake := newFake(t)
	ctx := context.Background()
	res := hold(t, p, "pm_card_visa", 5000, "sess-3")
	if err := p.Capture(ctx, res.ID, usd(4000), usd(800), "sess-3/capture"); err != nil {
		t.Fatal(err)
	}
	id, err := p.Refund(ctx, res.ID, usd(1000), "sess-3/refund/1")
	if err != nil || !strings.HasPrefix(id, "re_") {
		t.Fatalf("refund = %q, %v", id, err)
	}
	in := intent(t, fake, res.ID)
	if in.Refunded != 1000 || in.Reversed != 1000 || in.FeeRefunded != billing.ProRata(800, 1000, 4000) {
		t.Fatalf("after a partial refund: %+v", in)
	}
	if _, err := p.Refund(ctx, res.ID, usd(3001), "sess-3/refund/2"); !errors.Is(err, billing.ErrTooMuch) {
		t.Fatalf("refund over what is left: %v, want ErrTooMuch", err)
	}
	if in2 := intent(t, fake, res.ID); in2.Refunded != in.Refunded || in2.Reversed != in.Reversed || in2.FeeRefunded != in.FeeRefunded {
		t.Fatalf("a refused refund changed the charge: %+v", in2)
	}
	if _, err := p.Refund(ctx, res.ID, usd(3000), "sess-3/refund/3"); err != nil {
		t.Fatal(err)
	}
	in = intent(t, fake, res.ID)
	if in.Refunded != 4000 || in.Reversed != 4000 || in.FeeRefunded != 800 {
		t.Fatalf("after the full refund: %+v", in)
	}
	if _, err := p.Refund(ctx, res.ID, usd(1), "sess-3/refund/4"); !errors.Is(err, billing.ErrTooMuch) {
		t.Fatalf("refund of a refunded charge: %v, want ErrTooMuch", err)
	}
	if _, err := p.Refund(ctx, res.ID, usd(0), "sess-3/refund/5"); !errors.Is(err, billing.ErrAmount) {
		t.Fatalf("refund of zero: %v, want ErrAmount", err)
	}
}

// Declined cards are billing.ErrInsufficient with the decline code; an
// increment the card refuses leaves the hold as it was.
func TestFakeDeclines(t *testing.T) {
	p, fake := newFake(t)
	ctx := context.Background()
	for pm, code := range map[string]string{
		"pm_card_chargeDeclinedInsufficientFunds": "insufficient_funds",
		"pm_card_chargeDeclined":                  "generic_decline",
	} {
		_, err := p.Authorize(ctx, billing.Authorization{PayerCustomer: learner, PaymentMethod: pm, PayeeAccount: expert,
			Amount: usd(1500), Ref: "sess-4", IdempotencyKey: "sess-4/" + pm})
		if !errors.Is(err, billing.ErrInsufficient) {
			t.Fatalf("%s: %v, want ErrInsufficient", pm, err)
		}
		var e *Error
		if !errors.As(err, &e) || e.DeclineCode() != code || !strings.Contains(err.Error(), code) {
			t.Fatalf("%s: decline code lost: %v", pm, err)
		}
	}

	res := hold(t, p, "pm_card_incrementDeclined", 1500, "sess-5")
	err := p.Extend(ctx, res.ID, usd(3000), "sess-5/extend/1")
	var e *Error
	if !errors.Is(err, billing.ErrInsufficient) || !errors.As(err, &e) || e.DeclineCode() != "insufficient_funds" {
		t.Fatalf("declined increment: %v", err)
	}
	if in := intent(t, fake, res.ID); in.Amount != 1500 || in.Capturable != 1500 || in.Status != "requires_capture" {
		t.Fatalf("a declined increment changed the hold: %+v", in)
	}
	// A card without incremental authorization: Extend fails, not silently.
	res = hold(t, p, "pm_card_noIncremental", 1500, "sess-6")
	if err := p.Extend(ctx, res.ID, usd(3000), "sess-6/extend/1"); err == nil {
		t.Fatal("extending a hold without incremental authorization succeeded")
	}
	// Lowering a hold is not an extension.
	res = hold(t, p, "pm_card_visa", 1500, "sess-7")
	if err := p.Extend(ctx, res.ID, usd(1000), "sess-7/extend/1"); !errors.Is(err, billing.ErrAmount) {
		t.Fatalf("extend below the hold: %v, want ErrAmount", err)
	}
}

// A Capture retried with its key captures once: whether Parley retries
// (the answer comes again from Stripe's idempotency store) or stripe-go does
// after a lost response.
func TestFakeCaptureRetried(t *testing.T) {
	p, fake := newFake(t)
	ctx := context.Background()
	res := hold(t, p, "pm_card_visa", 1000, "sess-8")
	for range 3 {
		if err := p.Capture(ctx, res.ID, usd(700), usd(140), "sess-8/capture"); err != nil {
			t.Fatal(err)
		}
	}
	if in := intent(t, fake, res.ID); in.Captures != 1 || in.Received != 700 {
		t.Fatalf("three tries of one capture: %+v", in)
	}
	replays := 0
	for _, r := range fake.Requests() {
		if r.Replayed && strings.HasSuffix(r.Path, "/capture") {
			replays++
		}
	}
	if replays != 2 {
		t.Fatalf("%d replayed captures, want 2", replays)
	}
	// The same key with another amount is a caller's bug, refused.
	if err := p.Capture(ctx, res.ID, usd(800), usd(160), "sess-8/capture"); !errors.Is(err, ErrKeyReused) {
		t.Fatalf("key reused with another amount: %v, want ErrKeyReused", err)
	}
	if in := intent(t, fake, res.ID); in.Captures != 1 || in.Received != 700 {
		t.Fatalf("a reused key captured again: %+v", in)
	}

	// The response to the first capture is lost on the way back; stripe-go
	// retries with the same key and Stripe answers from its store.
	var drop atomic.Bool
	drop.Store(true)
	client := &http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
		resp, err := http.DefaultTransport.RoundTrip(r)
		if err == nil && strings.HasSuffix(r.URL.Path, "/capture") && drop.CompareAndSwap(true, false) {
			resp.Body.Close()
			return nil, errors.New("connection reset (test)")
		}
		return resp, err
	})}
	p2, err := New(Config{SecretKey: "sk_test_fake", BackendURL: fake.URL, HTTPClient: client, MaxNetworkRetries: stripe.Int64(2), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	res = hold(t, p2, "pm_card_visa", 1000, "sess-9")
	if err := p2.Capture(ctx, res.ID, usd(600), usd(120), "sess-9/capture"); err != nil {
		t.Fatal(err)
	}
	if drop.Load() {
		t.Fatal("the response was not dropped")
	}
	if in := intent(t, fake, res.ID); in.Captures != 1 || in.Received != 600 {
		t.Fatalf("a capture retried after a lost response: %+v", in)
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Cancel releases the hold, again and again; a canceled hold cannot be
// captured; capturing zero cancels.
func TestFakeCancel(t *testing.T) {
	p, fake := newFake(t)
	ctx := context.Background()
	res := hold(t, p, "pm_card_visa", 1500, "sess-10")
	if err := p.Cancel(ctx, res.ID, "sess-10/cancel"); err != nil {
		t.Fatal(err)
	}
	if in := intent(t, fake, res.ID); in.Status != "canceled" || in.Released != 1500 || in.Capturable != 0 {
		t.Fatalf("after cancel: %+v", in)
	}
	if err := p.Cancel(ctx, res.ID, "sess-10/cancel-again"); err != nil {
		t.Fatalf("canceling a canceled hold: %v", err)
	}
	if err := p.Capture(ctx, res.ID, usd(100), usd(20), "sess-10/capture"); !errors.Is(err, ErrState) {
		t.Fatalf("capture of a canceled hold: %v, want ErrState", err)
	}

	res = hold(t, p, "pm_card_visa", 1500, "sess-11")
	if err := p.Capture(ctx, res.ID, usd(0), usd(0), "sess-11/capture"); err != nil {
		t.Fatal(err)
	}
	if in := intent(t, fake, res.ID); in.Status != "canceled" || in.Captures != 0 {
		t.Fatalf("capture of zero: %+v", in)
	}
}

// A card that must authenticate first holds nothing yet: ErrActionRequired
// with the intent's id, so the caller can cancel it or have the payer act.
func TestFakeActionRequired(t *testing.T) {
	p, _ := newFake(t)
	res, err := p.Authorize(context.Background(), billing.Authorization{PayerCustomer: learner,
		PaymentMethod: "pm_card_authenticationRequired", PayeeAccount: expert, Amount: usd(1500), Ref: "s", IdempotencyKey: "s/hold"})
	if !errors.Is(err, ErrActionRequired) || res.ID == "" || res.Status != "requires_action" {
		t.Fatalf("authorize = %+v, %v", res, err)
	}
	if err := p.Cancel(context.Background(), res.ID, "s/cancel"); err != nil {
		t.Fatal(err)
	}
}

// Bad input is refused before anything reaches Stripe.
func TestFakeBadInput(t *testing.T) {
	p, fake := newFake(t)
	ctx := context.Background()
	res := hold(t, p, "pm_card_visa", 1500, "sess-12")
	before := len(fake.Requests())
	cases := map[string]error{}
	_, err := p.Authorize(ctx, billing.Authorization{PayerCustomer: learner, PaymentMethod: "pm_card_visa", PayeeAccount: expert, Amount: usd(1500)})
	cases["authorize without a key"] = chk(err, ErrNoKey)
	_, err = p.Authorize(ctx, billing.Authorization{PayerCustomer: learner, PaymentMethod: "pm_card_visa", PayeeAccount: expert,
		Amount: billing.Money{Amount: 1500, Currency: "XYZ"}, IdempotencyKey: "k1"})
	cases["authorize in no currency"] = chk(err, billing.ErrCurrency)
	_, err = p.Authorize(ctx, billing.Authorization{PayerCustomer: learner, PaymentMethod: "pm_card_visa", PayeeAccount: expert,
		Amount: usd(-5), IdempotencyKey: "k2"})
	cases["authorize a negative amount"] = chk(err, billing.ErrAmount)
	_, err = p.Authorize(ctx, billing.Authorization{PayerCustomer: learner, PaymentMethod: "pm_card_visa", PayeeAccount: expert,
		Amount: usd(billing.MaxAmount + 1), IdempotencyKey: "k3"})
	cases["authorize an absurd amount"] = chk(err, billing.ErrAmount)
	cases["capture without a key"] = chk(p.Capture(ctx, res.ID, usd(100), usd(20), ""), ErrNoKey)
	cases["refund without a key"] = chk(func() error { _, err := p.Refund(ctx, res.ID, usd(100), ""); return err }(), ErrNoKey)
	cases["capture fee in another currency"] = chk(p.Capture(ctx, res.ID, usd(100), billing.Money{Amount: 20, Currency: "EUR"}, "k4"), billing.ErrAmount)
	for name, err := range cases {
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if n := len(fake.Requests()); n != before {
		t.Fatalf("bad input made %d requests", n-before)
	}
	// A capture in another currency than the hold's is refused after
	// reading the hold, before capturing.
	if err := p.Capture(ctx, res.ID, billing.Money{Amount: 100, Currency: "EUR"}, billing.Money{Amount: 20, Currency: "EUR"}, "k5"); !errors.Is(err, billing.ErrCurrency) {
		t.Fatalf("capture in EUR of a USD hold: %v", err)
	}
	if in := intent(t, fake, res.ID); in.Captures != 0 {
		t.Fatal("a capture in the wrong currency captured")
	}
	if err := p.Capture(ctx, "pi_missing", usd(100), usd(20), "k6"); !errors.Is(err, billing.ErrNotFound) {
		t.Fatalf("capture of no intent: %v, want ErrNotFound", err)
	}
	if _, err := p.Authorize(ctx, billing.Authorization{PayerCustomer: learner, PaymentMethod: "pm_card_visa", PayeeAccount: expert,
		Amount: usd(30), Ref: "tiny", IdempotencyKey: "tiny/hold"}); !errors.Is(err, billing.ErrAmount) {
		t.Fatalf("a hold below Stripe's minimum: %v, want ErrAmount", err)
	}
}

func chk(err, want error) error {
	if errors.Is(err, want) {
		return nil
	}
	return errors.Join(errors.New("want "+want.Error()), err)
}

// Experts get an Express account and an onboarding link; learners a
// customer; a retry returns the same account or customer.
func TestFakeAccountsAndCustomers(t *testing.T) {
	p, fake := newFake(t)
	ctx := context.Background()
	acct, link, err := p.CreateExpertAccount(ctx, "cook@example.org", "de")
	if err != nil || !strings.HasPrefix(acct, "acct_") || !strings.Contains(link, acct) {
		t.Fatalf("account = %q %q %v", acct, link, err)
	}
	again, link2, err := p.CreateExpertAccount(ctx, "cook@example.org", "DE")
	if err != nil || again != acct || link2 == link {
		t.Fatalf("retried account = %q %q %v (first %q %q)", again, link2, err, acct, link)
	}
	var form map[string]string
	for _, r := range fake.Requests() {
		if r.Path == "/v1/accounts" {
			form = map[string]string{}
			for k := range r.Form {
				form[k] = r.Form.Get(k)
			}
		}
	}
	for k, v := range map[string]string{"type": "express", "email": "cook@example.org", "country": "DE",
		"capabilities[card_payments][requested]": "true", "capabilities[transfers][requested]": "true"} {
		if form[k] != v {
			t.Errorf("account %s = %q, want %q", k, form[k], v)
		}
	}
	cus, err := p.CreateCustomer(ctx, "learner@example.org", "Ada")
	if err != nil || !strings.HasPrefix(cus, "cus_") {
		t.Fatalf("customer = %q %v", cus, err)
	}
	if again, err := p.CreateCustomer(ctx, "learner@example.org", "Ada"); err != nil || again != cus {
		t.Fatalf("retried customer = %q %v", again, err)
	}
	if _, _, err := p.CreateExpertAccount(ctx, "", "DE"); err == nil {
		t.Fatal("an account without an e-mail")
	}
}

// Hold tells the marketplace whether a hold can grow and until when it
// can be captured.
func TestFakeHoldInfo(t *testing.T) {
	p, _ := newFake(t)
	ctx := context.Background()
	res := hold(t, p, "pm_card_visa", 1500, "sess-i")
	h, err := p.Hold(ctx, res.ID)
	if err != nil {
		t.Fatal(err)
	}
	week := time.Now().Add(7 * 24 * time.Hour)
	if h.Status != "requires_capture" || h.Capturable != usd(1500) || h.Amount != usd(1500) || !h.Extendable ||
		h.Ref != "sess-i" || h.CaptureBefore.Before(week.Add(-time.Minute)) || h.CaptureBefore.After(week.Add(time.Minute)) {
		t.Fatalf("hold = %+v", h)
	}
	res = hold(t, p, "pm_card_noIncremental", 1500, "sess-j")
	if h, err := p.Hold(ctx, res.ID); err != nil || h.Extendable {
		t.Fatalf("hold without incremental authorization = %+v, %v", h, err)
	}
	if _, err := p.Hold(ctx, "pi_missing"); !errors.Is(err, billing.ErrNotFound) {
		t.Fatalf("no such hold: %v", err)
	}
}
