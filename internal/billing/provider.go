package billing

import "context"

// Provider moves real money outside the ledger: holds on a payer's card,
// captures with the platform's fee, refunds. The built-in wallet needs
// none (the ledger is the money, see Service); an outside provider such as
// Stripe does the same steps with real money, and the ledger records them
// all the same. Every call carries an idempotency key, so a retry after a
// timeout never charges twice.
type Provider interface {
	// Name is how the provider is configured and recorded ("stripe").
	Name() string
	// Authorize places a hold for a.Amount on the payer's payment method.
	Authorize(ctx context.Context, a Authorization) (AuthResult, error)
	// Extend raises an authorization's total (a per-minute session going
	// on); it fails when the payment method refuses.
	Extend(ctx context.Context, authID string, total Money, key string) error
	// Capture takes amount of an authorization: fee to the platform, the
	// rest to the payee's account; whatever was held beyond amount is
	// released.
	Capture(ctx context.Context, authID string, amount, fee Money, key string) error
	// Cancel releases an authorization entirely.
	Cancel(ctx context.Context, authID, key string) error
	// Refund gives amount of a capture back to the payer, taking the
	// platform's fee back pro rata and reversing the payee's share; it
	// returns the provider's refund id.
	Refund(ctx context.Context, authID string, amount Money, key string) (string, error)
	// Lookup reads what the provider says of an authorization now (after
	// the payer authenticated it, say).
	Lookup(ctx context.Context, authID string) (AuthState, error)
}

// AuthState is what a provider says of an authorization.
type AuthState struct {
	ID       string
	Status   string // requires_capture while money is held
	Amount   Money  // authorized
	Customer string
	Payee    string // the connected account the charge goes to
	Ref      string // the session, from the metadata
	// ActionURL is where the payer authenticates it (3-D Secure), while
	// Status is requires_action.
	ActionURL string
}

// Authorization asks a provider to hold money for a session.
type Authorization struct {
	PayerCustomer  string // the payer at the provider (a Stripe customer id)
	PaymentMethod  string // the payer's saved payment method at the provider
	PayeeAccount   string // the payee's connected account at the provider
	Amount         Money
	Ref            string // the session, recorded in the provider's metadata
	IdempotencyKey string
	// ReturnURL is where the payer comes back after authenticating (3-D
	// Secure) when the card asks for it; "" for a payer not present.
	ReturnURL string
	// OffSession says the payer is not present (a hold placed by the sweep
	// before a session booked long ahead): a card that wants
	// authentication is declined rather than asking for it.
	OffSession bool
	// OnBehalfOf makes the payee's account the settlement merchant (an
	// expert in another country than the platform); "" leaves it the
	// platform.
	OnBehalfOf string
}

// AuthResult is a provider's answer to Authorize.
type AuthResult struct {
	ID     string // the provider's id for the hold (a PaymentIntent)
	Status string // the provider's status, e.g. "requires_capture"
	// ActionURL is where the payer authenticates the payment (3-D Secure)
	// when Status is requires_action.
	ActionURL string
}
