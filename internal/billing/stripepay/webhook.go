package stripepay

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/stripe/stripe-go/v82"
	"github.com/stripe/stripe-go/v82/webhook"

	"github.com/parley-chat/parley/internal/billing"
)

// VerifyWebhook checks a webhook's Stripe-Signature header against the
// endpoint's secret (HMAC-SHA256 over "<timestamp>.<body>", the timestamp
// no older than Config.WebhookTolerance) and that the event was written in
// the API version this stripe-go speaks, and returns the event. Anything
// else is ErrSignature.
func (p *Provider) VerifyWebhook(payload []byte, sigHeader string) (stripe.Event, error) {
	if p.cfg.WebhookSecret == "" {
		return stripe.Event{}, fmt.Errorf("%w: no webhook secret configured", ErrSignature)
	}
	ev, err := webhook.ConstructEventWithOptions(payload, sigHeader, p.cfg.WebhookSecret,
		webhook.ConstructEventOptions{Tolerance: p.cfg.WebhookTolerance})
	if err != nil {
		return stripe.Event{}, fmt.Errorf("%w: %w", ErrSignature, err)
	}
	return ev, nil
}

// What a webhook tells the marketplace.
const (
	// HoldReady: a hold's capturable amount changed (authorized or
	// extended); Capturable is what may be captured now.
	HoldReady = "hold.ready"
	// HoldCanceled: a hold was released (by us, or by Stripe when the
	// authorization expired after 7 days).
	HoldCanceled = "hold.canceled"
	// Refunded: a charge was refunded, in part or in full; Refunded is the
	// charge's total refunded so far.
	Refunded = "refunded"
	// AccountUpdated: an expert's connected account changed; whether it can
	// take payments and receive payouts.
	AccountUpdated = "account.updated"
	// CardSaved: a customer saved a payment method with a SetupIntent
	// (Stripe.js confirmed it); Customer and PaymentMethod name them.
	CardSaved = "card.saved"
	// CheckoutDone: a payer finished a setup Checkout; SetupIntent names
	// the SetupIntent whose payment method is to be saved.
	CheckoutDone = "checkout.done"
	// RefundUpdated: a refund's status changed (charge.refund.updated);
	// Refund, Status, Amount, and RefundKey when it is Parley's own.
	RefundUpdated = "refund.updated"
	// DisputeOpened and DisputeClosed: a captured payment's dispute
	// (chargeback) opened, or closed won or lost (Status).
	DisputeOpened = "dispute.opened"
	DisputeClosed = "dispute.closed"
	// Ignored: an event type the marketplace does not act on.
	Ignored = "ignored"
)

// Event is a verified webhook reduced to what the marketplace acts on.
// Amounts are in billing's minor units (converted from Stripe's).
type Event struct {
	ID      string    // evt_…: deliveries repeat, so act on each id once
	Created time.Time // when Stripe made the event: deliveries come in any order
	Type    string    // Stripe's event type
	Kind    string    // HoldReady, HoldCanceled, Refunded, CardSaved, AccountUpdated, Ignored
	Intent  string    // the PaymentIntent (the billing.AuthResult ID)
	Ref     string    // the session, from the intent's or charge's metadata
	Status  string    // the intent's status

	Amount     billing.Money // the intent's or charge's amount
	Capturable billing.Money // HoldReady
	Captured   billing.Money // Refunded: what the charge captured
	Refunded   billing.Money // Refunded: refunded so far, in total
	Charge     string        // Refunded: ch_…
	Reason     string        // HoldCanceled: Stripe's cancellation reason

	Customer      string    // CardSaved, CheckoutDone: cus_…
	PaymentMethod string    // CardSaved: pm_…
	SetupIntent   string    // CheckoutDone: seti_…
	SavedAt       time.Time // CardSaved: when its SetupIntent was created (a newer card wins)
	Dispute       string    // DisputeOpened, DisputeClosed: dp_…
	Refund        string    // RefundUpdated: re_…
	RefundKey     string    // RefundUpdated: Parley's key of its own refund ("" for one made elsewhere)

	Account          string // AccountUpdated: acct_…
	ChargesEnabled   bool
	PayoutsEnabled   bool
	DetailsSubmitted bool
	RequirementsDue  []string // what Stripe still needs from the expert
}

// ParseEvent reduces a verified event to an Event.
func ParseEvent(ev stripe.Event) (Event, error) {
	out := Event{ID: ev.ID, Type: string(ev.Type), Kind: Ignored, Created: time.Unix(ev.Created, 0)}
	if ev.Data == nil {
		return out, fmt.Errorf("stripepay: event %s has no data", ev.ID)
	}
	var err error
	switch ev.Type {
	case stripe.EventTypePaymentIntentAmountCapturableUpdated, stripe.EventTypePaymentIntentCanceled:
		var pi stripe.PaymentIntent
		if err := json.Unmarshal(ev.Data.Raw, &pi); err != nil {
			return out, fmt.Errorf("stripepay: event %s: %w", ev.ID, err)
		}
		out.Intent, out.Ref, out.Status = pi.ID, pi.Metadata[RefKey], string(pi.Status)
		cur := string(pi.Currency)
		if out.Amount, err = fromStripe(pi.Amount, cur); err != nil {
			return out, err
		}
		if out.Capturable, err = fromStripe(pi.AmountCapturable, cur); err != nil {
			return out, err
		}
		out.Kind = HoldReady
		if ev.Type == stripe.EventTypePaymentIntentCanceled {
			out.Kind, out.Reason = HoldCanceled, string(pi.CancellationReason)
		}
	case stripe.EventTypeChargeRefunded:
		var ch stripe.Charge
		if err := json.Unmarshal(ev.Data.Raw, &ch); err != nil {
			return out, fmt.Errorf("stripepay: event %s: %w", ev.ID, err)
		}
		out.Kind, out.Charge, out.Ref = Refunded, ch.ID, ch.Metadata[RefKey]
		if ch.PaymentIntent != nil {
			out.Intent = ch.PaymentIntent.ID
		}
		cur := string(ch.Currency)
		if out.Amount, err = fromStripe(ch.Amount, cur); err != nil {
			return out, err
		}
		if out.Captured, err = fromStripe(ch.AmountCaptured, cur); err != nil {
			return out, err
		}
		if out.Refunded, err = fromStripe(ch.AmountRefunded, cur); err != nil {
			return out, err
		}
	case stripe.EventTypeChargeRefundUpdated:
		var r stripe.Refund
		if err := json.Unmarshal(ev.Data.Raw, &r); err != nil {
			return out, fmt.Errorf("stripepay: event %s: %w", ev.ID, err)
		}
		out.Kind, out.Refund, out.Status, out.RefundKey = RefundUpdated, r.ID, string(r.Status), r.Metadata[RefundKeyMeta]
		if r.PaymentIntent != nil {
			out.Intent = r.PaymentIntent.ID
		}
		if out.Amount, err = fromStripe(r.Amount, string(r.Currency)); err != nil {
			return out, err
		}
	case stripe.EventTypeSetupIntentSucceeded:
		var si stripe.SetupIntent
		if err := json.Unmarshal(ev.Data.Raw, &si); err != nil {
			return out, fmt.Errorf("stripepay: event %s: %w", ev.ID, err)
		}
		if si.Customer == nil || si.PaymentMethod == nil {
			return out, nil // not a card saved for a customer: nothing to act on
		}
		out.Kind, out.Customer, out.PaymentMethod = CardSaved, si.Customer.ID, si.PaymentMethod.ID
		out.SavedAt = time.Unix(si.Created, 0)
	case stripe.EventTypeCheckoutSessionCompleted:
		var cs stripe.CheckoutSession
		if err := json.Unmarshal(ev.Data.Raw, &cs); err != nil {
			return out, fmt.Errorf("stripepay: event %s: %w", ev.ID, err)
		}
		if cs.Mode != stripe.CheckoutSessionModeSetup || cs.Customer == nil || cs.SetupIntent == nil {
			return out, nil // not a card saved by Parley's Checkout
		}
		out.Kind, out.Customer, out.SetupIntent = CheckoutDone, cs.Customer.ID, cs.SetupIntent.ID
	case stripe.EventTypeChargeDisputeCreated, stripe.EventTypeChargeDisputeClosed:
		var d stripe.Dispute
		if err := json.Unmarshal(ev.Data.Raw, &d); err != nil {
			return out, fmt.Errorf("stripepay: event %s: %w", ev.ID, err)
		}
		out.Kind, out.Dispute, out.Status, out.Reason = DisputeOpened, d.ID, string(d.Status), string(d.Reason)
		if ev.Type == stripe.EventTypeChargeDisputeClosed {
			out.Kind = DisputeClosed
		}
		if d.Charge != nil {
			out.Charge = d.Charge.ID
		}
		if d.PaymentIntent != nil {
			out.Intent = d.PaymentIntent.ID
		}
		if out.Amount, err = fromStripe(d.Amount, string(d.Currency)); err != nil {
			return out, err
		}
	case stripe.EventTypeAccountUpdated:
		var a stripe.Account
		if err := json.Unmarshal(ev.Data.Raw, &a); err != nil {
			return out, fmt.Errorf("stripepay: event %s: %w", ev.ID, err)
		}
		out.Kind, out.Account = AccountUpdated, a.ID
		out.ChargesEnabled, out.PayoutsEnabled, out.DetailsSubmitted = a.ChargesEnabled, a.PayoutsEnabled, a.DetailsSubmitted
		if a.Requirements != nil {
			out.RequirementsDue = a.Requirements.CurrentlyDue
		}
	}
	return out, nil
}

// MaxWebhookBody bounds a webhook request's body; Stripe's events are far
// smaller.
const MaxWebhookBody = 1 << 20

// WebhookHandler serves Stripe's webhook endpoint: it verifies each
// delivery, parses it and hands it to act. A bad signature is answered 400
// (Stripe retries, which does not help a forgery but does no harm); an
// error from act 500, so Stripe delivers the event again later — act must
// therefore be idempotent by Event.ID. Ignored events are acknowledged
// without calling act.
func (p *Provider) WebhookHandler(act func(context.Context, Event) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxWebhookBody))
		if err != nil {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		raw, err := p.VerifyWebhook(body, r.Header.Get("Stripe-Signature"))
		if err != nil {
			http.Error(w, "bad signature", http.StatusBadRequest)
			return
		}
		ev, err := ParseEvent(raw)
		if err != nil {
			p.cfg.Logger.Warn("stripe webhook: unreadable event", "event", raw.ID, "type", raw.Type, "err", err)
			http.Error(w, "unreadable event", http.StatusBadRequest)
			return
		}
		if ev.Kind != Ignored {
			if err := act(r.Context(), ev); err != nil {
				p.cfg.Logger.Error("stripe webhook: not handled", "event", ev.ID, "type", ev.Type, "err", err)
				http.Error(w, "not handled", http.StatusInternalServerError)
				return
			}
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
