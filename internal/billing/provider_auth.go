package billing

import (
	"context"
	"errors"
	"fmt"
	"strconv"
)

// ErrActionRequired is a card that asks its payer to authenticate the
// payment (3-D Secure) before anything is held.
var ErrActionRequired = errors.New("billing: the payer must authenticate the payment")

// ErrAuthMismatch is an authorization that is not the one a booking
// attempt made: another amount, payer, payee or session.
var ErrAuthMismatch = errors.New("billing: the authorization does not match")

// ActionRequiredError is an authorization that waits for its payer to
// authenticate it at URL; Authorized is what it will hold once they have
// (Confirm checks it then).
type ActionRequiredError struct {
	Authorized Authorized
	URL        string
}

func (e *ActionRequiredError) Error() string {
	return "billing: the payer must authenticate the payment " + e.Authorized.AuthID + " at the card's bank"
}

// Unwrap makes it ErrActionRequired.
func (e *ActionRequiredError) Unwrap() error { return ErrActionRequired }

type offSessionKey struct{}

type attemptKey struct{}

// KeyAttempt marks ctx as the nth attempt (n > 1) at a hold for the same
// session, so its idempotency key differs from the attempts before: a
// declined authorization's key replays the decline, and the payer may
// have changed their card since.
func KeyAttempt(ctx context.Context, n int) context.Context {
	return context.WithValue(ctx, attemptKey{}, n)
}

func holdKeyOf(ctx context.Context, ref string) string {
	if n, _ := ctx.Value(attemptKey{}).(int); n > 1 {
		return holdKey(ref) + "-" + strconv.Itoa(n)
	}
	return holdKey(ref)
}

// Defers says that holds of sessions far ahead are placed near their
// start (a card authorization lapses after about 7 days).
func (x *ProviderPayments) Defers() bool { return true }

// Prepare checks, for a hold placed later, that the payer has a card and
// the payee can be paid (ErrNoPaymentMethod, ErrPayeeNotReady).
func (x *ProviderPayments) Prepare(ctx context.Context, payerID, payeeID string) error {
	cust, pm, err := x.Customer(ctx, payerID)
	if err != nil {
		return err
	}
	if cust == "" || pm == "" {
		return ErrNoPaymentMethod
	}
	return x.PayeeReady(ctx, payeeID)
}

// OffSession marks ctx as a hold placed without its payer present (the
// sweep authorizing a session booked long ahead): a card that wants
// authentication is declined instead of asking for it.
func OffSession(ctx context.Context) context.Context {
	return context.WithValue(ctx, offSessionKey{}, true)
}

func offSession(ctx context.Context) bool {
	v, _ := ctx.Value(offSessionKey{}).(bool)
	return v
}

// Confirm checks an authorization its payer has just authenticated (back
// from 3-D Secure) against what the booking attempt asked for — money held
// (requires_capture), the amount and currency, the payer's customer, the
// payee's account and the session in the metadata — and returns it ready
// for PlaceHold. One still waiting for the payer is an
// ActionRequiredError again; one the payer or the bank refused is
// ErrInsufficient; anything that does not match is ErrAuthMismatch.
func (x *ProviderPayments) Confirm(ctx context.Context, want Authorized) (Authorized, error) {
	if want.AuthID == "" {
		return Authorized{}, fmt.Errorf("%w: no authorization", ErrAuthMismatch)
	}
	st, err := x.p.Lookup(ctx, want.AuthID)
	if err != nil {
		return Authorized{}, err
	}
	cust, _, err := x.Customer(ctx, want.PayerID)
	if err != nil {
		return Authorized{}, err
	}
	acct, _, err := x.PayeeAccount(ctx, want.PayeeID)
	if err != nil {
		return Authorized{}, err
	}
	if st.Amount != want.Amount || st.Customer == "" || st.Customer != cust || st.Payee != acct || st.Ref != want.Ref {
		return Authorized{}, fmt.Errorf("%w: %s holds %s of %s for %q, not %s of %s for %q", ErrAuthMismatch, st.ID, st.Amount, st.Customer,
			st.Ref, want.Amount, cust, want.Ref)
	}
	switch st.Status {
	case "requires_capture":
		return want, nil
	case "requires_action":
		return Authorized{}, &ActionRequiredError{Authorized: want, URL: st.ActionURL}
	}
	return Authorized{}, fmt.Errorf("%w: the card's bank did not authorize the payment (%s)", ErrInsufficient, st.Status)
}

// onBehalfOf is the payee's account when it is in another country than
// the platform (Country), so the charge settles there; "" otherwise.
func (x *ProviderPayments) onBehalfOf(ctx context.Context, payeeID, acct string) (string, error) {
	if x.Country == "" {
		return "", nil
	}
	var country string
	err := x.db.QueryRowContext(ctx, `SELECT country FROM billing_provider_accounts WHERE provider = $1 AND user_id = $2`,
		x.p.Name(), payeeID).Scan(&country)
	if err != nil {
		return "", err
	}
	if country != "" && country != x.Country {
		return acct, nil
	}
	return "", nil
}

// Minimum is the provider's smallest charge in a currency (0 when it has
// none or does not say): a hold is at least this, and Settle takes
// nothing for a charge below it (the session is free).
func (x *ProviderPayments) Minimum(currency string) int64 {
	if m, ok := x.p.(interface{ MinimumCharge(string) int64 }); ok {
		return m.MinimumCharge(currency)
	}
	return 0
}
