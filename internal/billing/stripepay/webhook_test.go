package stripepay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82"
	"github.com/stripe/stripe-go/v82/webhook"

	"github.com/parley-chat/parley/internal/billing"
)

func sign(payload []byte, secret string, at time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: at}).Header
}

// Signatures: a correctly signed event is accepted; a tampered body, an old
// timestamp, another secret, no header, or an event in another API version
// are refused as ErrSignature.
func TestVerifyWebhook(t *testing.T) {
	p, fake := newFake(t)
	hold(t, p, "pm_card_visa", 1500, "sess-w")
	payload := fake.Events()[0]
	now := time.Now()

	ev, err := p.VerifyWebhook(payload, sign(payload, "whsec_test", now))
	if err != nil || ev.Type != stripe.EventTypePaymentIntentAmountCapturableUpdated {
		t.Fatalf("a signed event: %v, %v", ev.Type, err)
	}
	tampered := bytes.Replace(payload, []byte(`"amount_capturable":1500`), []byte(`"amount_capturable":9500`), 1)
	if bytes.Equal(tampered, payload) {
		t.Fatal("the test did not tamper")
	}
	refused := map[string]struct {
		body []byte
		sig  string
	}{
		"tampered body":     {tampered, sign(payload, "whsec_test", now)},
		"old timestamp":     {payload, sign(payload, "whsec_test", now.Add(-6*time.Minute))},
		"other secret":      {payload, sign(payload, "whsec_other", now)},
		"no signature":      {payload, ""},
		"garbage header":    {payload, "t=abc,v1=zz"},
		"other API version": {bytes.Replace(payload, []byte(stripe.APIVersion), []byte("2019-02-19"), 1), ""},
	}
	v := refused["other API version"]
	v.sig = sign(v.body, "whsec_test", now)
	refused["other API version"] = v
	for name, c := range refused {
		if _, err := p.VerifyWebhook(c.body, c.sig); !errors.Is(err, ErrSignature) {
			t.Errorf("%s: %v, want ErrSignature", name, err)
		}
	}
	// Within a tolerance set longer, the old timestamp passes.
	p.cfg.WebhookTolerance = 10 * time.Minute
	if _, err := p.VerifyWebhook(payload, sign(payload, "whsec_test", now.Add(-6*time.Minute))); err != nil {
		t.Fatalf("within a 10-minute tolerance: %v", err)
	}
	// Without a secret, nothing is believed.
	p.cfg.WebhookSecret = ""
	if _, err := p.VerifyWebhook(payload, sign(payload, "", now)); !errors.Is(err, ErrSignature) {
		t.Fatalf("no secret configured: %v", err)
	}
}

// The four events the marketplace acts on, as the fake emits them along a
// session's life, reduced to what to do.
func TestParseEvents(t *testing.T) {
	p, fake := newFake(t)
	ctx := context.Background()
	a := hold(t, p, "pm_card_visa", 1500, "sess-a")
	if err := p.Extend(ctx, a.ID, usd(3000), "sess-a/extend/1"); err != nil {
		t.Fatal(err)
	}
	if err := p.Capture(ctx, a.ID, usd(2000), usd(400), "sess-a/capture"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Refund(ctx, a.ID, usd(500), "sess-a/refund/1"); err != nil {
		t.Fatal(err)
	}
	b := hold(t, p, "pm_card_visa", 1500, "sess-b")
	if err := p.Cancel(ctx, b.ID, "sess-b/cancel"); err != nil {
		t.Fatal(err)
	}
	var got []Event
	for _, payload := range fake.Events() {
		raw, err := p.VerifyWebhook(payload, sign(payload, "whsec_test", time.Now()))
		if err != nil {
			t.Fatal(err)
		}
		ev, err := ParseEvent(raw)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ev)
	}
	want := []Event{
		{Kind: HoldReady, Intent: a.ID, Ref: "sess-a", Status: "requires_capture", Amount: usd(1500), Capturable: usd(1500)},
		{Kind: HoldReady, Intent: a.ID, Ref: "sess-a", Status: "requires_capture", Amount: usd(3000), Capturable: usd(3000)},
		{Kind: Refunded, Intent: a.ID, Ref: "sess-a", Amount: usd(3000), Captured: usd(2000), Refunded: usd(500)},
		{Kind: HoldReady, Intent: b.ID, Ref: "sess-b", Status: "requires_capture", Amount: usd(1500), Capturable: usd(1500)},
		{Kind: HoldCanceled, Intent: b.ID, Ref: "sess-b", Status: "canceled", Amount: usd(1500), Capturable: usd(0)},
	}
	if len(got) != len(want) {
		t.Fatalf("%d events, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.ID == "" || g.Kind != w.Kind || g.Intent != w.Intent || g.Ref != w.Ref || g.Status != w.Status ||
			g.Amount != w.Amount || g.Capturable != w.Capturable && w.Kind != Refunded ||
			g.Captured != w.Captured || g.Refunded != w.Refunded {
			t.Errorf("event %d (%s) = %+v, want %+v", i, g.Type, g, w)
		}
		if w.Kind == Refunded && !strings.HasPrefix(g.Charge, "ch_") {
			t.Errorf("refund event without its charge: %+v", g)
		}
	}

	// account.updated: the expert finished onboarding.
	acct := map[string]any{"id": "acct_x", "object": "account", "charges_enabled": true, "payouts_enabled": false,
		"details_submitted": true, "requirements": map[string]any{"currently_due": []string{"external_account"}}}
	ev := mustEvent(t, "account.updated", acct)
	e, err := ParseEvent(ev)
	if err != nil || e.Kind != AccountUpdated || e.Account != "acct_x" || !e.ChargesEnabled || e.PayoutsEnabled ||
		!e.DetailsSubmitted || len(e.RequirementsDue) != 1 {
		t.Fatalf("account.updated = %+v, %v", e, err)
	}
	// Another type is ignored, not an error.
	if e, err := ParseEvent(mustEvent(t, "customer.created", map[string]any{"id": "cus_1", "object": "customer"})); err != nil || e.Kind != Ignored {
		t.Fatalf("customer.created = %+v, %v", e, err)
	}
	// Amounts come back in billing's minor units: 50000 Stripe ISK is 500 króna.
	pi := map[string]any{"id": "pi_isk", "object": "payment_intent", "amount": 50000, "amount_capturable": 50000,
		"currency": "isk", "status": "requires_capture", "metadata": map[string]string{RefKey: "s-isk"}}
	if e, err := ParseEvent(mustEvent(t, "payment_intent.amount_capturable_updated", pi)); err != nil ||
		e.Capturable != (billing.Money{Amount: 500, Currency: "ISK"}) {
		t.Fatalf("ISK hold = %+v, %v", e, err)
	}
}

func mustEvent(t *testing.T, typ string, obj any) stripe.Event {
	t.Helper()
	b, err := json.Marshal(map[string]any{"id": "evt_t", "object": "event", "api_version": stripe.APIVersion,
		"type": typ, "data": map[string]any{"object": obj}})
	if err != nil {
		t.Fatal(err)
	}
	var ev stripe.Event
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

// The handler acknowledges a signed event after acting on it, refuses a
// bad signature without acting, and answers 500 when acting fails so
// Stripe delivers again.
func TestWebhookHandler(t *testing.T) {
	p, fake := newFake(t)
	hold(t, p, "pm_card_visa", 1500, "sess-h")
	payload := fake.Events()[0]
	var (
		mu   sync.Mutex
		seen []Event
		fail bool
	)
	srv := httptest.NewServer(p.WebhookHandler(func(_ context.Context, e Event) error {
		mu.Lock()
		defer mu.Unlock()
		if fail {
			return errors.New("database down")
		}
		seen = append(seen, e)
		return nil
	}))
	defer srv.Close()
	post := func(body []byte, sig string) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
		req.Header.Set("Stripe-Signature", sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	acted := func() []Event {
		mu.Lock()
		defer mu.Unlock()
		return append([]Event(nil), seen...)
	}
	if code := post(payload, sign(payload, "whsec_test", time.Now())); code != http.StatusNoContent || len(acted()) != 1 ||
		acted()[0].Kind != HoldReady || acted()[0].Ref != "sess-h" {
		t.Fatalf("signed event: %d, %+v", code, acted())
	}
	if code := post(payload, sign(payload, "whsec_wrong", time.Now())); code != http.StatusBadRequest || len(acted()) != 1 {
		t.Fatalf("forged event: %d, acted %d times", code, len(acted()))
	}
	mu.Lock()
	fail = true
	mu.Unlock()
	if code := post(payload, sign(payload, "whsec_test", time.Now())); code != http.StatusInternalServerError {
		t.Fatalf("failed action: %d", code)
	}
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d", resp.StatusCode)
	}
}
