package stripepay

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/stripe/stripe-go/v82"

	"github.com/parley-chat/parley/internal/billing"
)

// Card is a saved card as the app shows it: never its number.
type Card struct {
	PaymentMethod string `json:"-"`
	Brand         string `json:"brand"` // visa, mastercard, amex, …
	Last4         string `json:"last4"`
	ExpMonth      int    `json:"exp_month"`
	ExpYear       int    `json:"exp_year"`
}

// CheckoutSetup starts saving a card on Stripe's hosted Checkout page
// (mode setup: nothing is charged): the payer is sent to url, enters a card
// there, and comes back to successURL (where {CHECKOUT_SESSION_ID} is the
// session's id) or cancelURL. key makes a retry return the same session.
func (p *Provider) CheckoutSetup(ctx context.Context, customerID, successURL, cancelURL, key string) (id, url string, err error) {
	if key == "" {
		return "", "", ErrNoKey
	}
	if customerID == "" || successURL == "" || cancelURL == "" {
		return "", "", errors.New("stripepay: a checkout needs a customer and the URLs to come back to")
	}
	params := &stripe.CheckoutSessionCreateParams{
		Mode:               stripe.String(string(stripe.CheckoutSessionModeSetup)),
		Customer:           stripe.String(customerID),
		PaymentMethodTypes: stripe.StringSlice([]string{"card"}),
		SuccessURL:         stripe.String(successURL),
		CancelURL:          stripe.String(cancelURL),
		SetupIntentData:    &stripe.CheckoutSessionCreateSetupIntentDataParams{},
	}
	params.SetupIntentData.AddMetadata("parley_purpose", "card")
	params.SetIdempotencyKey(key)
	cs, err := p.sc.V1CheckoutSessions.Create(ctx, params)
	if err != nil {
		return "", "", mapErr("checkout", "", err)
	}
	return cs.ID, cs.URL, nil
}

// CheckoutResult is what a finished setup Checkout saved.
type CheckoutResult struct {
	Customer      string
	PaymentMethod string    // "" while the payer has not finished
	SavedAt       time.Time // when its SetupIntent was created (a newer card wins)
	Complete      bool
}

// Checkout reads a setup Checkout Session with its SetupIntent: whose it
// is and, once complete, the payment method it saved.
func (p *Provider) Checkout(ctx context.Context, id string) (CheckoutResult, error) {
	params := &stripe.CheckoutSessionRetrieveParams{}
	params.AddExpand("setup_intent")
	cs, err := p.sc.V1CheckoutSessions.Retrieve(ctx, id, params)
	if err != nil {
		return CheckoutResult{}, mapErr("checkout", id, err)
	}
	if cs.Mode != stripe.CheckoutSessionModeSetup {
		return CheckoutResult{}, fmt.Errorf("stripepay: checkout %s: %w: not a setup", id, billing.ErrNotFound)
	}
	var out CheckoutResult
	if cs.Customer != nil {
		out.Customer = cs.Customer.ID
	}
	out.Complete = cs.Status == stripe.CheckoutSessionStatusComplete
	if si := cs.SetupIntent; si != nil && si.Status == stripe.SetupIntentStatusSucceeded && si.PaymentMethod != nil {
		out.PaymentMethod, out.SavedAt = si.PaymentMethod.ID, time.Unix(si.Created, 0)
	}
	return out, nil
}

// SetupPaymentMethod reads the payment method a SetupIntent saved ("" when
// it has not succeeded) and when the SetupIntent was created.
func (p *Provider) SetupPaymentMethod(ctx context.Context, setupIntent string) (customer, paymentMethod string, created time.Time, err error) {
	si, err := p.sc.V1SetupIntents.Retrieve(ctx, setupIntent, &stripe.SetupIntentRetrieveParams{})
	if err != nil {
		return "", "", time.Time{}, mapErr("setup", setupIntent, err)
	}
	created = time.Unix(si.Created, 0)
	if si.Customer != nil {
		customer = si.Customer.ID
	}
	if si.Status == stripe.SetupIntentStatusSucceeded && si.PaymentMethod != nil {
		paymentMethod = si.PaymentMethod.ID
	}
	return customer, paymentMethod, created, nil
}

// SaveDefaultCard makes a payment method the customer's default at Stripe
// and reads how it shows (brand, last four, expiry).
func (p *Provider) SaveDefaultCard(ctx context.Context, customerID, paymentMethod string) (Card, error) {
	pm, err := p.sc.V1PaymentMethods.Retrieve(ctx, paymentMethod, &stripe.PaymentMethodRetrieveParams{})
	if err != nil {
		return Card{}, mapErr("payment method", paymentMethod, err)
	}
	c := Card{PaymentMethod: pm.ID}
	if pm.Card != nil {
		c.Brand, c.Last4, c.ExpMonth, c.ExpYear = string(pm.Card.Brand), pm.Card.Last4, int(pm.Card.ExpMonth), int(pm.Card.ExpYear)
	}
	params := &stripe.CustomerUpdateParams{InvoiceSettings: &stripe.CustomerUpdateInvoiceSettingsParams{
		DefaultPaymentMethod: stripe.String(paymentMethod)}}
	params.SetIdempotencyKey(derivedKey("default-card", customerID, paymentMethod))
	if _, err := p.sc.V1Customers.Update(ctx, customerID, params); err != nil {
		return Card{}, mapErr("default card", customerID, err)
	}
	return c, nil
}

// AccountStatus is what Stripe says of a connected account now.
func (p *Provider) AccountStatus(ctx context.Context, accountID string) (charges, payouts, details bool, country string, err error) {
	a, err := p.sc.V1Accounts.GetByID(ctx, accountID, &stripe.AccountRetrieveParams{})
	if err != nil {
		return false, false, false, "", mapErr("account", accountID, err)
	}
	return a.ChargesEnabled, a.PayoutsEnabled, a.DetailsSubmitted, a.Country, nil
}

// Refund is one refund of a payment at Stripe.
type Refund struct {
	ID     string
	Amount billing.Money
	Status string // succeeded, pending, failed, canceled
	Ours   bool   // made by Parley (its metadata carries our key)
}

// Refunds lists a charge's refunds (newest first, as Stripe lists them).
func (p *Provider) Refunds(ctx context.Context, chargeID string) ([]Refund, error) {
	params := &stripe.RefundListParams{Charge: stripe.String(chargeID)}
	params.Limit = stripe.Int64(100)
	var out []Refund
	for r, err := range p.sc.V1Refunds.List(ctx, params) {
		if err != nil {
			return nil, mapErr("refunds", chargeID, err)
		}
		m, err := fromStripe(r.Amount, string(r.Currency))
		if err != nil {
			return nil, err
		}
		out = append(out, Refund{ID: r.ID, Amount: m, Status: string(r.Status), Ours: r.Metadata[RefundKeyMeta] != ""})
	}
	return out, nil
}

// Extendable says whether a hold's card granted incremental authorization
// (without it, Extend fails and an extension needs a second payment).
func (p *Provider) Extendable(ctx context.Context, authID string) (bool, error) {
	h, err := p.Hold(ctx, authID)
	return h.Extendable, err
}
