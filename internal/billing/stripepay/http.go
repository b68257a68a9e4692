package stripepay

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/billing"
	"github.com/parley-chat/parley/internal/httpx"
)

// HTTP serves what the web app and Stripe need of Parley when payments
// are by Stripe: an expert's connected account and its onboarding link, a
// learner's SetupIntent to save a card with Stripe.js, and Stripe's
// webhook. With the wallet (P nil) every route answers 404.
type HTTP struct {
	P       *Provider
	Pay     *billing.ProviderPayments
	MaxBody int64
	// MayEarn says whether a member may open an account to be paid (an
	// approved expert); an error is the answer. nil lets anyone.
	MayEarn func(ctx context.Context, userID string) error
	// PublicURL is Parley's address as browsers reach it, for the pages
	// Stripe sends people back to (Checkout).
	PublicURL string
	// HoldCanceled is told of a hold Stripe cancelled outside Parley (in
	// the dashboard, or an authorization that lapsed), so the marketplace
	// can let its session go; it must be idempotent. nil: nothing to do.
	HoldCanceled func(ctx context.Context, authID string) error
}

// Routes registers the Stripe routes.
func (h *HTTP) Routes(rt *httpx.Router) {
	rt.Handle("POST /api/v1/billing/stripe/account", h.account)
	rt.Handle("POST /api/v1/billing/stripe/setup", h.setup)
	rt.Handle("GET /api/v1/billing/stripe/account", h.payee)
	rt.Handle("GET /api/v1/billing/stripe/card", h.card)
	rt.Handle("POST /api/v1/billing/stripe/checkout", h.checkout)
	rt.Handle("POST /api/v1/billing/stripe/checkout/{id}/complete", h.checkoutComplete)
	rt.Handle("GET /api/v1/billing/disputes", h.disputes)
	rt.Handle("POST /api/v1/billing/stripe/webhook", h.webhook)
}

func (h *HTTP) off() error {
	return httpx.NewProblem(http.StatusNotFound, "not-found", "Not found", "this server takes payments by its wallet, not by Stripe")
}

// account makes the caller's Express account (once) and answers a fresh
// link to Stripe's hosted onboarding for it.
func (h *HTTP) account(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.Need(r)
	if err != nil {
		return err
	}
	if h.P == nil {
		return h.off()
	}
	var in struct {
		Country string `json:"country"`
	}
	if err := httpx.DecodeJSON(w, r, h.MaxBody, &in); err != nil {
		return err
	}
	notLetter := func(r rune) bool { return r < 'A' || r > 'Z' }
	if in.Country = strings.ToUpper(in.Country); len(in.Country) != 2 || strings.ContainsFunc(in.Country, notLetter) {
		return httpx.Invalid(httpx.FieldError{Field: "country", Detail: "a two-letter ISO 3166 country code such as US"})
	}
	if h.MayEarn != nil {
		if err := h.MayEarn(r.Context(), p.User.ID); err != nil {
			return err
		}
	}
	ctx := r.Context()
	acct, ready, err := h.Pay.PayeeAccount(ctx, p.User.ID)
	if err != nil {
		return err
	}
	var link string
	if acct == "" {
		if acct, link, err = h.P.CreateExpertAccount(ctx, p.User.Email, in.Country); err != nil {
			return err
		}
		if err := h.Pay.SetPayeeAccount(ctx, p.User.ID, acct); err != nil {
			return err
		}
		if err := h.Pay.SetPayeeCountry(ctx, p.User.ID, in.Country); err != nil {
			return err
		}
	} else if link, err = h.P.OnboardingLink(ctx, acct); err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{"account": acct, "onboarding_url": link, "ready": ready})
}

// setup makes the caller a Stripe customer (once) and starts saving a
// card: the SetupIntent's client secret goes to Stripe.js; the webhook
// setup_intent.succeeded records the card.
func (h *HTTP) setup(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.Need(r)
	if err != nil {
		return err
	}
	if h.P == nil {
		return h.off()
	}
	ctx := r.Context()
	_, pm, err := h.Pay.Customer(ctx, p.User.ID)
	if err != nil {
		return err
	}
	cust, err := h.customer(ctx, p)
	if err != nil {
		return err
	}
	id, secret, err := h.P.SetupCard(ctx, cust, randomKey("setup"))
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{"customer": cust, "setup_intent": id, "client_secret": secret, "card_saved": pm != ""})
}

// webhook verifies a delivery, and acts on its event once by id: a
// delivery that repeats is acknowledged and does nothing more. A failure
// to act is 500, so Stripe delivers again.
func (h *HTTP) webhook(w http.ResponseWriter, r *http.Request) error {
	if h.P == nil {
		return h.off()
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxWebhookBody))
	if err != nil {
		return httpx.TooLarge(MaxWebhookBody)
	}
	raw, err := h.P.VerifyWebhook(body, r.Header.Get("Stripe-Signature"))
	if err != nil {
		return httpx.BadRequest("the Stripe-Signature does not check out")
	}
	ev, err := ParseEvent(raw)
	if err != nil {
		return httpx.BadRequest("the event cannot be read: " + err.Error())
	}
	acted, err := h.Act(r.Context(), ev)
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{"id": ev.ID, "type": ev.Type, "duplicate": !acted})
}

// Act acts on a webhook's event once by its id; acted is false for an
// event acted on before. A card saved records the customer's payment
// method; an account updated, whether the expert can be paid. Other
// events are recorded and otherwise left to the operator (a hold Stripe
// let lapse, a refund made in Stripe's dashboard).
func (h *HTTP) Act(ctx context.Context, ev Event) (acted bool, err error) {
	// What Stripe must be asked first is asked before the transaction
	// (none waits on Stripe): the card a Checkout saved and how it shows,
	// a charge's refunds. Acting is idempotent all the same.
	var (
		card    *Card
		refunds []Refund
	)
	switch ev.Kind {
	case CheckoutDone:
		cust, pm, created, err := h.P.SetupPaymentMethod(ctx, ev.SetupIntent)
		if err != nil {
			return false, err
		}
		if pm == "" || cust != ev.Customer {
			break // nothing saved (yet): setup_intent.succeeded will say
		}
		ev.PaymentMethod, ev.SavedAt = pm, created
		fallthrough
	case CardSaved:
		if known, err := h.Pay.KnownCustomer(ctx, ev.Customer); err != nil || !known {
			break // a customer made elsewhere on the platform's Stripe account
		}
		// A card set up before the one saved (a late delivery) changes
		// nothing, at Stripe or here.
		if at, err := h.Pay.CardSavedAt(ctx, h.Pay.DB(), ev.Customer); err != nil {
			return false, err
		} else if ev.SavedAt.Before(at) {
			break
		}
		c, err := h.P.SaveDefaultCard(ctx, ev.Customer, ev.PaymentMethod)
		if err != nil {
			return false, err
		}
		card = &c
	case Refunded:
		if ev.Charge != "" {
			if refunds, err = h.P.Refunds(ctx, ev.Charge); err != nil {
				return false, err
			}
		}
	case HoldCanceled:
		if h.HoldCanceled != nil && ev.Intent != "" {
			if err := h.HoldCanceled(ctx, ev.Intent); err != nil {
				return false, err
			}
		}
	}
	return h.Pay.Once(ctx, ev.ID, ev.Type, func(tx *sql.Tx) error {
		switch ev.Kind {
		case CheckoutDone, CardSaved:
			if card == nil {
				return nil
			}
			_, err := h.Pay.SaveCard(ctx, tx, ev.Customer, card.PaymentMethod, billing.Card{Brand: card.Brand, Last4: card.Last4,
				ExpMonth: card.ExpMonth, ExpYear: card.ExpYear}, ev.SavedAt)
			if errors.Is(err, billing.ErrNotFound) {
				return nil
			}
			return err
		case AccountUpdated:
			// An event older than the status recorded changes nothing.
			return h.Pay.SetAccountStatus(ctx, tx, ev.Account, ev.ChargesEnabled, ev.PayoutsEnabled, ev.DetailsSubmitted, ev.Created)
		case Refunded:
			for _, r := range refunds {
				// A pending refund is recorded once it succeeds
				// (charge.refund.updated); a failed one never is.
				if r.Ours || r.Status != "succeeded" {
					continue
				}
				if err := h.Pay.ExternalRefund(ctx, tx, ev.Intent, r.ID, r.Amount); err != nil {
					return err
				}
			}
		case RefundUpdated:
			switch {
			case ev.Status == "succeeded" && ev.RefundKey == "":
				return h.Pay.ExternalRefund(ctx, tx, ev.Intent, ev.Refund, ev.Amount)
			case (ev.Status == "failed" || ev.Status == "canceled") && ev.RefundKey != "":
				return h.Pay.RefundFailed(ctx, tx, ev.RefundKey, "the refund "+ev.Status+" at Stripe")
			}
		case DisputeOpened:
			return h.Pay.OpenDispute(ctx, tx, ev.Intent, ev.Dispute, ev.Amount, ev.Reason, ev.Status)
		case DisputeClosed:
			return h.Pay.CloseDispute(ctx, tx, ev.Dispute, ev.Status)
		}
		return nil
	})
}
