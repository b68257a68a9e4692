package stripepay

import (
	"context"
	"errors"
	"testing"

	"github.com/stripe/stripe-go/v82"

	"github.com/parley-chat/parley/internal/billing"
)

// The calls of Checkout (setup mode), saved cards, payout status, 3-D
// Secure and outside refunds are accepted by Stripe's OpenAPI spec and
// carry the fields the design depends on.
func TestStripeMockCheckoutCardsAndAuthentication(t *testing.T) {
	rec := newRecorder(t, stripeMock(t))
	p, err := New(Config{SecretKey: "sk_test_123", BackendURL: rec.URL, MaxNetworkRetries: stripe.Int64(0), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	id, url, err := p.CheckoutSetup(ctx, "cus_123", "https://parley.test/market/wallet?checkout={CHECKOUT_SESSION_ID}",
		"https://parley.test/market/wallet?checkout=cancelled", "parley-checkout-1")
	if err != nil || id == "" || url == "" {
		t.Fatalf("checkout = %q %q %v", id, url, err)
	}
	rec.expect(t, "POST", "/v1/checkout/sessions", "parley-checkout-1", map[string]string{"mode": "setup", "customer": "cus_123",
		"payment_method_types[0]": "card", "success_url": "https://parley.test/market/wallet?checkout={CHECKOUT_SESSION_ID}",
		"cancel_url": "https://parley.test/market/wallet?checkout=cancelled"})
	if _, err := p.Checkout(ctx, id); err != nil && !isNotSetup(err) {
		t.Fatal(err)
	}
	rec.expect(t, "GET", "/v1/checkout/sessions/"+id, "", map[string]string{"expand[0]": "setup_intent"})

	if _, _, _, err := p.SetupPaymentMethod(ctx, "seti_123"); err != nil {
		t.Fatal(err)
	}
	rec.expect(t, "GET", "/v1/setup_intents/seti_123", "", nil)

	if _, err := p.SaveDefaultCard(ctx, "cus_123", "pm_123"); err != nil {
		t.Fatal(err)
	}
	rec.expect(t, "GET", "/v1/payment_methods/pm_123", "", nil)
	rec.expect(t, "POST", "/v1/customers/cus_123", "*", map[string]string{"invoice_settings[default_payment_method]": "pm_123"})

	if _, _, _, _, err := p.AccountStatus(ctx, "acct_123"); err != nil {
		t.Fatal(err)
	}
	rec.expect(t, "GET", "/v1/accounts/acct_123", "", nil)

	if _, err := p.Refunds(ctx, "ch_123"); err != nil {
		t.Fatal(err)
	}
	rec.expect(t, "GET", "/v1/refunds", "", map[string]string{"charge": "ch_123", "limit": "100"})

	// A learner present: a card asking for 3-D Secure comes back to
	// Parley; the expert's account abroad settles the charge.
	res, err := p.Authorize(ctx, billing.Authorization{PayerCustomer: "cus_123", PaymentMethod: "pm_card_visa", PayeeAccount: "acct_123",
		Amount: usd(1500), Ref: "sess-3ds", IdempotencyKey: "sess-3ds/hold", ReturnURL: "https://parley.test/market/bookings/sess-3ds/return",
		OnBehalfOf: "acct_123"})
	if err != nil && res.ID == "" {
		t.Fatal(err)
	}
	rec.expect(t, "POST", "/v1/payment_intents", "sess-3ds/hold", map[string]string{
		"return_url": "https://parley.test/market/bookings/sess-3ds/return", "on_behalf_of": "acct_123", "confirm": "true"})
	// The sweep's hold, nobody present.
	if _, err := p.Authorize(ctx, billing.Authorization{PayerCustomer: "cus_123", PaymentMethod: "pm_card_visa", PayeeAccount: "acct_123",
		Amount: usd(1500), Ref: "sess-off", IdempotencyKey: "sess-off/hold", OffSession: true}); err != nil {
		t.Fatal(err)
	}
	rec.expect(t, "POST", "/v1/payment_intents", "sess-off/hold", map[string]string{"off_session": "true", "return_url": ""})

	if _, err := p.Lookup(ctx, res.ID); err != nil {
		t.Fatal(err)
	}
	rec.expect(t, "GET", "/v1/payment_intents/"+res.ID, "", nil)

	if _, err := p.Refund(ctx, res.ID, usd(500), "sess-3ds/refund/1"); err != nil {
		t.Fatal(err)
	}
	rec.expect(t, "POST", "/v1/refunds", "sess-3ds/refund/1", map[string]string{"metadata[parley_key]": "sess-3ds/refund/1"})
}

// stripe-mock answers a fixture session that may be of another mode.
func isNotSetup(err error) bool { return err != nil && errors.Is(err, billing.ErrNotFound) }
