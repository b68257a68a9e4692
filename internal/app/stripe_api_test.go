package app_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82"
	"github.com/stripe/stripe-go/v82/webhook"

	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/billing/stripepay/stripefake"
)

const webhookSecret = "whsec_test_parley"

// deliver posts an event to the webhook as Stripe does, signed.
func (e *env) deliver(t *testing.T, event []byte) *response {
	t.Helper()
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: event, Secret: webhookSecret, Timestamp: time.Now()})
	c := e.client()
	c.header = http.Header{"Stripe-Signature": {signed.Header}}
	return c.do("POST", "/api/v1/billing/stripe/webhook", event)
}

func accountUpdated(id, account string, enabled bool) []byte {
	b, _ := json.Marshal(map[string]any{"id": id, "object": "event", "api_version": stripe.APIVersion, "created": time.Now().Unix(),
		"type": "account.updated", "data": map[string]any{"object": map[string]any{"id": account, "object": "account",
			"charges_enabled": enabled, "payouts_enabled": enabled, "details_submitted": enabled}}})
	return b
}

// With --payments stripe: an expert opens their account, a learner saves a
// card, Stripe's webhooks make both usable (each event acted on once), and
// a session started now is held on the card, captured at its end with the
// commission as the application fee, and refunded in part.
func TestTheMarketplaceWithStripe(t *testing.T) {
	fake := stripefake.New()
	t.Cleanup(fake.Close)
	withStripe := func(c *app.Config) {
		c.Payments = "stripe"
		c.Stripe = app.StripeConfig{SecretKey: "sk_test_parley", WebhookSecret: webhookSecret, APIURL: fake.URL,
			MaxNetworkRetries: stripe.Int64(0)}
	}
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		admin, _ := e.signup("admin@example.com", "Admin")
		exa, exaU := e.signup("exa@example.com", "Exa")
		lea, leaU := e.signup("lea@example.com", "Lea")

		exa.do("POST", "/api/v1/market/experts/apply", map[string]any{"headline": "Windows on a Mac", "bio": "I install Windows on Macs.",
			"languages": []string{"en"}, "categories": []string{"computers-electronics"}, "time_zone": "UTC"}).want(t, http.StatusOK)
		lea.do("POST", "/api/v1/billing/stripe/account", map[string]any{"country": "US"}).problem(t, 403, "forbidden")
		admin.do("POST", "/api/v1/market/experts/"+exaU.ID+"/approve", nil).want(t, http.StatusOK)
		var l struct {
			ID string `json:"id"`
		}
		listing := map[string]any{"title": "Windows on your Mac", "description": "Boot Camp or a VM, set up live.",
			"category": "computers-electronics", "languages": []string{"en"}, "price_model": "per_minute", "price": money{150, "USD"},
			"start_now": true}
		// No payouts set up: a paid listing is refused, a free one is not.
		before := e.count("market_listings")
		exa.do("POST", "/api/v1/market/listings", listing).problem(t, 409, "payouts-not-set-up")
		if e.count("market_listings") != before {
			t.Fatal("a refused listing was stored")
		}
		var payouts struct {
			Status string `json:"status"`
		}
		exa.do("GET", "/api/v1/billing/stripe/account", nil).want(t, http.StatusOK).decode(t, &payouts)
		if payouts.Status != "not_started" {
			t.Fatalf("payouts before any account: %q", payouts.Status)
		}
		weekly := map[string]any{}
		for _, d := range []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"} {
			weekly[d] = []map[string]string{{"open": "00:00", "close": "24:00"}}
		}
		exa.do("PUT", "/api/v1/market/experts/me/availability", map[string]any{"hours": map[string]any{"time_zone": "UTC", "weekly": weekly},
			"available_now": true}).want(t, http.StatusOK)

		// The expert opens their account: not ready until Stripe says so.
		exa.do("POST", "/api/v1/billing/stripe/account", map[string]any{"country": "usa"}).problem(t, 422, "validation")
		var acct struct {
			Account       string `json:"account"`
			OnboardingURL string `json:"onboarding_url"`
			Ready         bool   `json:"ready"`
		}
		exa.do("POST", "/api/v1/billing/stripe/account", map[string]any{"country": "US"}).want(t, http.StatusOK).decode(t, &acct)
		if acct.Account == "" || acct.OnboardingURL == "" || acct.Ready {
			t.Fatalf("the expert's account: %+v", acct)
		}
		exa.do("GET", "/api/v1/billing/stripe/account", nil).want(t, http.StatusOK).decode(t, &payouts)
		if payouts.Status != "pending" {
			t.Fatalf("payouts before onboarding: %q", payouts.Status)
		}
		exa.do("POST", "/api/v1/market/listings", listing).problem(t, 409, "payouts-not-set-up")
		// Stripe says the account is ready (its webhook); the listing goes up.
		e.deliver(t, accountUpdated("evt_acct_0", acct.Account, true)).want(t, http.StatusOK)
		exa.do("POST", "/api/v1/market/listings", listing).want(t, http.StatusCreated).decode(t, &l)
		admin.do("POST", "/api/v1/market/listings/"+l.ID+"/approve", nil).want(t, http.StatusOK)
		e.deliver(t, accountUpdated("evt_acct_00", acct.Account, false)).want(t, http.StatusOK)

		// No card: 402 with the hold and why, nothing written.
		before = e.count("market_sessions")
		var short struct {
			Reason string `json:"reason"`
			Hold   money  `json:"hold"`
		}
		r := lea.do("POST", "/api/v1/market/bookings", map[string]any{"listing": l.ID, "now": true})
		r.problem(t, 402, "payment-required")
		r.decode(t, &short)
		if short.Reason != "no_card" || short.Hold != (money{15 * 150, "USD"}) {
			t.Fatalf("the 402 without a card: %+v", short)
		}

		// The learner saves a card with Stripe.js; the webhook records it.
		var setup struct {
			Customer     string `json:"customer"`
			SetupIntent  string `json:"setup_intent"`
			ClientSecret string `json:"client_secret"`
			CardSaved    bool   `json:"card_saved"`
		}
		lea.do("POST", "/api/v1/billing/stripe/setup", nil).want(t, http.StatusOK).decode(t, &setup)
		if setup.ClientSecret == "" || setup.CardSaved {
			t.Fatalf("the setup: %+v", setup)
		}
		if !fake.ConfirmSetup(setup.SetupIntent, "pm_card_visa") {
			t.Fatal("the fake did not confirm the setup")
		}
		events := fake.Events()
		saved := events[len(events)-1]
		var receipt struct {
			Duplicate bool `json:"duplicate"`
		}
		e.deliver(t, saved).want(t, http.StatusOK).decode(t, &receipt)
		if receipt.Duplicate {
			t.Fatal("a first delivery counted as a duplicate")
		}
		lea.do("POST", "/api/v1/billing/stripe/setup", nil).want(t, http.StatusOK).decode(t, &setup)
		if !setup.CardSaved {
			t.Fatal("the webhook did not save the card")
		}
		// A forged delivery is refused.
		forged := e.client()
		forged.header = http.Header{"Stripe-Signature": {"t=1,v1=00"}}
		forged.do("POST", "/api/v1/billing/stripe/webhook", saved).problem(t, 400, "bad-request")

		// The account is not ready: the expert cannot be booked.
		lea.do("POST", "/api/v1/market/bookings", map[string]any{"listing": l.ID, "now": true}).problem(t, 409, "expert-unavailable")
		if e.count("market_sessions") != before {
			t.Fatal("a refused booking was stored")
		}
		// Stripe says it is ready; the same event delivered again (even
		// altered) acts no more.
		e.deliver(t, accountUpdated("evt_acct_1", acct.Account, true)).want(t, http.StatusOK).decode(t, &receipt)
		e.deliver(t, accountUpdated("evt_acct_1", acct.Account, false)).want(t, http.StatusOK).decode(t, &receipt)
		if !receipt.Duplicate {
			t.Fatal("a repeated event was acted on again")
		}
		exa.do("POST", "/api/v1/billing/stripe/account", map[string]any{"country": "US"}).want(t, http.StatusOK).decode(t, &acct)
		if !acct.Ready {
			t.Fatal("the account is not ready after Stripe said so")
		}

		var se marketSession
		lea.do("POST", "/api/v1/market/bookings", map[string]any{"listing": l.ID, "now": true}).want(t, http.StatusCreated).decode(t, &se)
		if se.Status != "ringing" || se.Held != 15*150 {
			t.Fatalf("a session started now: %+v", se)
		}
		exa.do("POST", "/api/v1/calls/"+se.CallID+"/join", nil).want(t, http.StatusOK)
		if err := e.app.Market.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		start := e.clock.Now()
		for _, u := range []string{leaU.ID, exaU.ID} {
			if err := e.app.Calls.RecordPresence(ctx, se.CallID, u, "dev", true, start); err != nil {
				t.Fatal(err)
			}
		}
		e.clock.Advance(7*time.Minute + 10*time.Second)
		lea.do("POST", "/api/v1/market/sessions/"+se.ID+"/end", nil).want(t, http.StatusOK).decode(t, &se)
		if se.Status != "completed" || se.Charged != 1200 || se.Commission != 240 || se.ExpertShare != 960 {
			t.Fatalf("the settled session: %+v", se)
		}
		var auth string
		if err := e.app.DB.QueryRowContext(ctx, `SELECT auth_id FROM billing_provider_holds`).Scan(&auth); err != nil {
			t.Fatal(err)
		}
		in, _ := fake.Intent(auth)
		if in.Received != 1200 || in.Fee != 240 || in.Destination != acct.Account || in.Customer != setup.Customer {
			t.Fatalf("the capture at Stripe: %+v", in)
		}
		// The learner's wallet never moved; the expert's share was paid
		// out by Stripe's transfer.
		if w, _, _ := lea.balance(t); w != 0 {
			t.Fatalf("the learner's wallet: %d", w)
		}
		if _, p, out := exa.balance(t); p != 0 || out != 960 {
			t.Fatalf("the expert: %d payable, %d paid out", p, out)
		}
		exa.do("POST", "/api/v1/market/sessions/"+se.ID+"/refunds", map[string]any{"amount": 300}).want(t, http.StatusOK)
		if in, _ = fake.Intent(auth); in.Refunded != 300 || in.FeeRefunded != 60 {
			t.Fatalf("the refund at Stripe: %+v", in)
		}
		if _, p, out := exa.balance(t); p != 0 || out != 720 {
			t.Fatalf("after the refund the expert has %d payable, %d paid out", p, out)
		}
	}, withStripe)
}

// With the wallet, the Stripe routes are not there.
func TestStripeRoutesAreOffWithTheWallet(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		c, _ := e.signup("ada@example.com", "Ada")
		c.do("POST", "/api/v1/billing/stripe/setup", nil).problem(t, 404, "not-found")
		e.deliver(t, accountUpdated("evt_1", "acct_1", true)).problem(t, 404, "not-found")
	})
}

func TestPaymentsConfigurationIsChecked(t *testing.T) {
	for _, c := range []app.Config{
		{Payments: "paypal"},
		{Payments: "stripe"},
		{Payments: "stripe", Stripe: app.StripeConfig{SecretKey: "sk_test_x"}},
	} {
		c.DataDir, c.Argon2 = t.TempDir(), cheapArgon2
		if a, err := app.New(context.Background(), c, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil {
			a.Close()
			t.Errorf("payments %q with %+v: accepted", c.Payments, c.Stripe)
		}
	}
}

// hosted visits one of Stripe's hosted pages as a browser would, and
// answers where it sends the browser back.
func hosted(t *testing.T, page string) *url.URL {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(page)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("%s: %s", page, resp.Status)
	}
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return back
}

// Through the API as the web app drives it: an expert's payouts through
// Stripe's hosted onboarding, a card saved on Stripe's hosted Checkout, and
// a booking whose card asks for 3-D Secure completed on the way back —
// once, however often it is completed.
func TestStripeCheckoutOnboardingAnd3DSecureThroughTheAPI(t *testing.T) {
	fake := stripefake.New()
	t.Cleanup(fake.Close)
	withStripe := func(c *app.Config) {
		c.Payments = "stripe"
		c.Stripe = app.StripeConfig{SecretKey: "sk_test_parley", WebhookSecret: webhookSecret, APIURL: fake.URL,
			MaxNetworkRetries: stripe.Int64(0)}
	}
	eachEngine(t, func(t *testing.T, e *env) {
		admin, _ := e.signup("admin@example.com", "Admin")
		exa, exaU := e.signup("exa@example.com", "Exa")
		lea, _ := e.signup("lea@example.com", "Lea")
		exa.do("POST", "/api/v1/market/experts/apply", map[string]any{"headline": "Guitar", "bio": "Lessons.", "languages": []string{"en"},
			"categories": []string{"art-music"}, "time_zone": "UTC"}).want(t, http.StatusOK)
		admin.do("POST", "/api/v1/market/experts/"+exaU.ID+"/approve", nil).want(t, http.StatusOK)

		// Payouts: Stripe's onboarding sends the expert back to their
		// screen, which finds the account enabled.
		var acct struct {
			OnboardingURL string `json:"onboarding_url"`
		}
		exa.do("POST", "/api/v1/billing/stripe/account", map[string]any{"country": "US"}).want(t, http.StatusOK).decode(t, &acct)
		if back := hosted(t, acct.OnboardingURL); back.Path != "/market/expert" || back.Query().Get("payouts") != "done" {
			t.Fatalf("onboarding sent the expert to %s", back)
		}
		var payouts struct {
			Status         string `json:"status"`
			PayoutsEnabled bool   `json:"payouts_enabled"`
			Country        string `json:"country"`
		}
		exa.do("GET", "/api/v1/billing/stripe/account", nil).want(t, http.StatusOK).decode(t, &payouts)
		if payouts.Status != "enabled" || !payouts.PayoutsEnabled || payouts.Country != "US" {
			t.Fatalf("payouts after onboarding: %+v", payouts)
		}
		var l struct {
			ID string `json:"id"`
		}
		exa.do("POST", "/api/v1/market/listings", map[string]any{"title": "Chords", "description": "First chords.", "category": "art-music",
			"languages": []string{"en"}, "price_model": "per_session", "price": money{2500, "USD"}, "session_minutes": 30,
			"start_now": true}).want(t, http.StatusCreated).decode(t, &l)
		admin.do("POST", "/api/v1/market/listings/"+l.ID+"/approve", nil).want(t, http.StatusOK)
		exa.do("PUT", "/api/v1/market/experts/me/availability", map[string]any{"hours": map[string]any{"time_zone": "UTC", "weekly": map[string]any{}},
			"available_now": true}).want(t, http.StatusOK)

		// The card: none, then saved on Stripe's Checkout (a card that asks
		// for 3-D Secure), the way back saving it.
		var card struct {
			Provider string `json:"provider"`
			Card     *struct {
				Brand string `json:"brand"`
				Last4 string `json:"last4"`
			} `json:"card"`
		}
		lea.do("GET", "/api/v1/billing/stripe/card", nil).want(t, http.StatusOK).decode(t, &card)
		if card.Provider != "stripe" || card.Card != nil {
			t.Fatalf("before saving a card: %+v", card)
		}
		var checkout struct {
			ID  string `json:"id"`
			URL string `json:"url"`
		}
		lea.do("POST", "/api/v1/billing/stripe/checkout", nil).want(t, http.StatusOK).decode(t, &checkout)
		lea.do("POST", "/api/v1/billing/stripe/checkout/"+checkout.ID+"/complete", nil).problem(t, 409, "checkout-not-complete")
		back := hosted(t, checkout.URL+"?card=pm_card_authenticationRequired")
		if back.Path != "/market/wallet" || back.Query().Get("checkout") != checkout.ID {
			t.Fatalf("Checkout sent the learner to %s", back)
		}
		// Not hers: refused to another learner with a Stripe customer of
		// her own (whose card it would otherwise become), and to one with none.
		exa.do("POST", "/api/v1/billing/stripe/checkout", nil).want(t, http.StatusOK)
		exa.do("POST", "/api/v1/billing/stripe/checkout/"+checkout.ID+"/complete", nil).problem(t, 404, "not-found")
		var exaCard struct {
			Card any `json:"card"`
		}
		if exa.do("GET", "/api/v1/billing/stripe/card", nil).want(t, http.StatusOK).decode(t, &exaCard); exaCard.Card != nil {
			t.Fatalf("another's Checkout saved a card for Exa: %+v", exaCard.Card)
		}
		admin.do("POST", "/api/v1/billing/stripe/checkout/"+checkout.ID+"/complete", nil).problem(t, 404, "not-found")
		lea.do("POST", "/api/v1/billing/stripe/checkout/"+checkout.ID+"/complete", nil).want(t, http.StatusOK).decode(t, &card)
		if card.Card == nil || card.Card.Brand != "visa" || card.Card.Last4 != "3184" {
			t.Fatalf("the saved card: %+v", card.Card)
		}
		// Stripe's webhook for the same Checkout saves it again, harmlessly.
		e.deliver(t, fake.LastEvent("checkout.session.completed")).want(t, http.StatusOK)
		lea.do("GET", "/api/v1/billing/stripe/card", nil).want(t, http.StatusOK).decode(t, &card)
		if card.Card == nil || card.Card.Last4 != "3184" {
			t.Fatalf("the card after the webhook: %+v", card.Card)
		}
		// Saved again on another Checkout, whose webhook comes first and is
		// still at Stripe when the learner is back: Stripe answers the way
		// back's call with the same key 409, and the way back answers the
		// card the webhook saved.
		lea.do("POST", "/api/v1/billing/stripe/checkout", nil).want(t, http.StatusOK).decode(t, &checkout)
		hosted(t, checkout.URL+"?card=pm_card_authenticationRequired")
		e.deliver(t, fake.LastEvent("checkout.session.completed")).want(t, http.StatusOK)
		fake.Conflict("POST", "")
		lea.do("POST", "/api/v1/billing/stripe/checkout/"+checkout.ID+"/complete", nil).want(t, http.StatusOK).decode(t, &card)
		if card.Card == nil || card.Card.Last4 != "3184" {
			t.Fatalf("the card after a return that met the webhook: %+v", card.Card)
		}

		// Booking: the bank asks the learner to confirm; nothing is booked
		// until they are back.
		before := e.count("market_sessions")
		var action struct {
			AuthenticationURL string `json:"authentication_url"`
			Attempt           string `json:"attempt"`
			Continue          string `json:"continue"`
			Hold              money  `json:"hold"`
		}
		r := lea.do("POST", "/api/v1/market/bookings", map[string]any{"listing": l.ID, "now": true})
		r.problem(t, 402, "authentication-required")
		r.decode(t, &action)
		if action.AuthenticationURL == "" || action.Continue != "/api/v1/market/bookings/"+action.Attempt+"/confirm" ||
			action.Hold != (money{2500, "USD"}) || e.count("market_sessions") != before {
			t.Fatalf("the 402: %+v", action)
		}
		lea.do("POST", action.Continue, nil).problem(t, 402, "authentication-required") // not back yet
		back = hosted(t, action.AuthenticationURL)
		if back.Path != "/market/bookings/"+action.Attempt+"/return" {
			t.Fatalf("the bank sent the learner to %s", back)
		}
		exa.do("POST", action.Continue, nil).problem(t, 404, "not-found")
		var se marketSession
		lea.do("POST", action.Continue, nil).want(t, http.StatusOK).decode(t, &se)
		if se.ID != action.Attempt || se.Status != "ringing" || se.Held != 2500 {
			t.Fatalf("the booking completed: %+v", se)
		}
		lea.do("POST", action.Continue, nil).want(t, http.StatusOK).decode(t, &se)
		if se.ID != action.Attempt || e.count("market_sessions") != before+1 {
			t.Fatalf("completing again: %+v, %d sessions", se, e.count("market_sessions")-before)
		}
	}, withStripe)
}
