package stripepay

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/billing"
	"github.com/parley-chat/parley/internal/httpx"
)

// Saving a card without Stripe.js: Stripe's hosted Checkout in setup mode.
// POST /checkout makes a Checkout Session and answers its URL; the learner
// enters a card on Stripe's page and comes back to
// /market/wallet?checkout={CHECKOUT_SESSION_ID}, where the app calls
// POST /checkout/{id}/complete; the checkout.session.completed webhook
// saves the card too (whichever comes first; both are idempotent).

// customer is the caller's Stripe customer, made once.
func (h *HTTP) customer(ctx context.Context, p *auth.Principal) (string, error) {
	cust, _, err := h.Pay.Customer(ctx, p.User.ID)
	if err != nil || cust != "" {
		return cust, err
	}
	if cust, err = h.P.CreateCustomer(ctx, p.User.Email, p.User.Name); err != nil {
		return "", err
	}
	return cust, h.Pay.SetCustomer(ctx, p.User.ID, cust)
}

func (h *HTTP) public() string {
	return strings.TrimSuffix(h.PublicURL, "/")
}

// checkout starts saving (or replacing) the caller's card on Stripe's
// hosted Checkout page.
func (h *HTTP) checkout(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.Need(r)
	if err != nil {
		return err
	}
	if h.P == nil {
		return h.off()
	}
	ctx := r.Context()
	cust, err := h.customer(ctx, p)
	if err != nil {
		return err
	}
	back := h.public() + "/market/wallet?checkout="
	id, url, err := h.P.CheckoutSetup(ctx, cust, back+"{CHECKOUT_SESSION_ID}", back+"cancelled", randomKey("checkout"))
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{"id": id, "url": url})
}

// checkoutComplete saves the card a finished Checkout set up, as the
// caller's default card: it must be the caller's customer's Checkout.
func (h *HTTP) checkoutComplete(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.Need(r)
	if err != nil {
		return err
	}
	if h.P == nil {
		return h.off()
	}
	ctx := r.Context()
	cust, _, err := h.Pay.Customer(ctx, p.User.ID)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if cust == "" || !strings.HasPrefix(id, "cs_") {
		return httpx.NotFound()
	}
	done, err := h.P.Checkout(ctx, id)
	if errors.Is(err, billing.ErrNotFound) || (err == nil && done.Customer != cust) {
		return httpx.NotFound()
	} else if err != nil {
		return err
	}
	if !done.Complete || done.PaymentMethod == "" {
		return httpx.Conflict("checkout-not-complete", "the card was not saved on Stripe's page; try again")
	}
	// A card set up before the one saved since (an old Checkout's page
	// returned late) changes nothing: the answer is the card saved.
	if at, err := h.Pay.CardSavedAt(ctx, h.Pay.DB(), cust); err != nil {
		return err
	} else if done.SavedAt.Before(at) {
		return h.savedCard(w, r, p.User.ID)
	}
	c, err := h.saveDefaultCard(ctx, p.User.ID, cust, done.PaymentMethod)
	if errors.Is(err, errSavedMeanwhile) {
		return h.savedCard(w, r, p.User.ID)
	} else if err != nil {
		return err
	}
	card := billing.Card{Brand: c.Brand, Last4: c.Last4, ExpMonth: c.ExpMonth, ExpYear: c.ExpYear}
	if saved, err := h.Pay.SaveCard(ctx, h.Pay.DB(), cust, c.PaymentMethod, card, done.SavedAt); err != nil {
		return err
	} else if !saved {
		return h.savedCard(w, r, p.User.ID)
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{"card": card})
}

// errSavedMeanwhile: the card was saved by the webhook meanwhile.
var errSavedMeanwhile = errors.New("stripepay: the card was saved meanwhile")

// saveDefaultCard is SaveDefaultCard for the Checkout's return, which the
// webhooks race: both send the same idempotency key, and Stripe answers
// the second 409 while the first is in progress. Then the card is read
// again — saved by the other already is errSavedMeanwhile — or the call is
// sent again a moment later, when Stripe answers it with the first's
// answer.
func (h *HTTP) saveDefaultCard(ctx context.Context, userID, cust, pm string) (Card, error) {
	wait := 50 * time.Millisecond
	for try := 1; ; try++ {
		c, err := h.P.SaveDefaultCard(ctx, cust, pm)
		if !errors.Is(err, ErrInFlight) || try == 6 {
			return c, err
		}
		_, saved, err := h.Pay.Customer(ctx, userID)
		if err != nil {
			return Card{}, err
		}
		if saved == pm {
			return Card{}, errSavedMeanwhile
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return Card{}, ctx.Err()
		case <-t.C:
		}
		wait *= 2
	}
}

// savedCard answers the card a user has saved.
func (h *HTTP) savedCard(w http.ResponseWriter, r *http.Request, userID string) error {
	c, ok, err := h.Pay.Card(r.Context(), userID)
	if err != nil {
		return err
	}
	var card any
	if ok {
		card = c
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{"card": card})
}

// card answers the caller's saved card (null when none). With the wallet
// it is 404, which is how the app knows payments are by the wallet.
func (h *HTTP) card(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.Need(r)
	if err != nil {
		return err
	}
	if h.P == nil {
		return h.off()
	}
	c, ok, err := h.Pay.Card(r.Context(), p.User.ID)
	if err != nil {
		return err
	}
	var card any
	if ok {
		card = c
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{"provider": "stripe", "card": card})
}

// payee answers the caller's payout status, asking Stripe afresh while
// onboarding is not finished (the expert may just be back from it; the
// account.updated webhook says the same later).
func (h *HTTP) payee(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.Need(r)
	if err != nil {
		return err
	}
	if h.P == nil {
		return h.off()
	}
	ctx := r.Context()
	st, err := h.Pay.Payee(ctx, p.User.ID)
	if err != nil {
		return err
	}
	if st.Status == billing.PayoutsPending {
		asked := time.Now() // what Stripe answers is true as of then
		charges, payouts, details, country, err := h.P.AccountStatus(ctx, st.Account)
		if err != nil {
			return err
		}
		if err := h.Pay.SetAccountStatus(ctx, h.Pay.DB(), st.Account, charges, payouts, details, asked); err != nil {
			return err
		}
		if st.Country == "" && country != "" {
			if err := h.Pay.SetPayeeCountry(ctx, p.User.ID, country); err != nil {
				return err
			}
		}
		if st, err = h.Pay.Payee(ctx, p.User.ID); err != nil {
			return err
		}
	}
	return httpx.WriteJSON(w, http.StatusOK, st)
}

// disputes lists the payments' disputes for the operator.
func (h *HTTP) disputes(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.Need(r)
	if err != nil {
		return err
	}
	if !p.Is(auth.RoleAdmin) {
		return httpx.Forbidden("the operator's")
	}
	if h.P == nil {
		return h.off()
	}
	ds, err := h.Pay.Disputes(r.Context())
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{"items": ds})
}
