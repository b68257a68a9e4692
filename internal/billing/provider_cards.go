package billing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/parley-chat/parley/internal/db"
)

// Card is a payer's saved card as the app shows it.
type Card struct {
	Brand    string `json:"brand"`
	Last4    string `json:"last4"`
	ExpMonth int    `json:"exp_month"`
	ExpYear  int    `json:"exp_year"`
}

// SaveCard records the card a customer saved as the one their holds use,
// with how it shows; q is the caller's transaction (a webhook's) or the
// database. savedAt is when the card's SetupIntent was created: a card set
// up before the one saved already (a webhook arriving late) changes
// nothing, and saved is false. An unknown customer is ErrNotFound.
func (x *ProviderPayments) SaveCard(ctx context.Context, q db.Querier, customerID, paymentMethod string, c Card, savedAt time.Time) (saved bool, err error) {
	res, err := q.ExecContext(ctx, `UPDATE billing_provider_customers SET payment_method = $1, card_brand = $2, card_last4 = $3,
		card_exp_month = $4, card_exp_year = $5, updated_at = $6, card_saved_at = $9
		WHERE provider = $7 AND customer_id = $8 AND card_saved_at <= $9`,
		paymentMethod, c.Brand, c.Last4, c.ExpMonth, c.ExpYear, x.now(), x.p.Name(), customerID, savedAt.Unix())
	if err != nil {
		return false, err
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return true, nil
	}
	if _, err := x.CardSavedAt(ctx, q, customerID); err != nil {
		return false, err
	}
	return false, nil // a newer card is saved
}

// CardSavedAt is when the customer's saved card was set up (the zero Unix
// time when none is); an unknown customer is ErrNotFound.
func (x *ProviderPayments) CardSavedAt(ctx context.Context, q db.Querier, customerID string) (time.Time, error) {
	var at int64
	err := q.QueryRowContext(ctx, `SELECT card_saved_at FROM billing_provider_customers WHERE provider = $1 AND customer_id = $2`,
		x.p.Name(), customerID).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, fmt.Errorf("%w: customer %s", ErrNotFound, customerID)
	}
	return time.Unix(at, 0), err
}

// Card is a payer's saved card (ok false when none).
func (x *ProviderPayments) Card(ctx context.Context, userID string) (c Card, ok bool, err error) {
	var pm string
	err = x.db.QueryRowContext(ctx, `SELECT payment_method, card_brand, card_last4, card_exp_month, card_exp_year FROM billing_provider_customers
		WHERE provider = $1 AND user_id = $2`, x.p.Name(), userID).Scan(&pm, &c.Brand, &c.Last4, &c.ExpMonth, &c.ExpYear)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && pm == "") {
		return Card{}, false, nil
	}
	return c, err == nil, err
}

// Payout states of a payee's connected account, as the app shows them.
const (
	PayoutsNotStarted = "not_started" // no account yet
	PayoutsPending    = "pending"     // onboarding not finished, or the provider still checks
	PayoutsEnabled    = "enabled"     // takes payments and is paid out
)

// PayeeStatus is a payee's connected account and what the provider lets
// it do.
type PayeeStatus struct {
	Account          string `json:"account,omitempty"`
	Status           string `json:"status"` // not_started, pending, enabled
	ChargesEnabled   bool   `json:"charges_enabled"`
	PayoutsEnabled   bool   `json:"payouts_enabled"`
	DetailsSubmitted bool   `json:"details_submitted"`
	Country          string `json:"country,omitempty"`
}

// Payee reads a payee's status.
func (x *ProviderPayments) Payee(ctx context.Context, userID string) (PayeeStatus, error) {
	var p PayeeStatus
	err := x.db.QueryRowContext(ctx, `SELECT account_id, charges_enabled, payouts_enabled, details_submitted, country FROM billing_provider_accounts
		WHERE provider = $1 AND user_id = $2`, x.p.Name(), userID).Scan(&p.Account, &p.ChargesEnabled, &p.PayoutsEnabled, &p.DetailsSubmitted, &p.Country)
	if errors.Is(err, sql.ErrNoRows) {
		return PayeeStatus{Status: PayoutsNotStarted}, nil
	} else if err != nil {
		return PayeeStatus{}, err
	}
	p.Status = PayoutsPending
	if p.ChargesEnabled && p.PayoutsEnabled {
		p.Status = PayoutsEnabled
	}
	return p, nil
}

// PayeeReady is nil when a payee can be paid (an account that takes
// payments and is paid out), else ErrPayeeNotReady.
func (x *ProviderPayments) PayeeReady(ctx context.Context, userID string) error {
	p, err := x.Payee(ctx, userID)
	if err != nil {
		return err
	}
	if p.Status != PayoutsEnabled {
		return ErrPayeeNotReady
	}
	return nil
}

// SetPayeeCountry records the country of a payee's account.
func (x *ProviderPayments) SetPayeeCountry(ctx context.Context, userID, country string) error {
	_, err := x.db.ExecContext(ctx, `UPDATE billing_provider_accounts SET country = $1 WHERE provider = $2 AND user_id = $3`,
		country, x.p.Name(), userID)
	return err
}

// DB is the database the payments are recorded in (for a caller with no
// transaction of its own).
func (x *ProviderPayments) DB() *db.DB { return x.db }
