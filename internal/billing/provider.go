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
}

// Authorization asks a provider to hold money for a session.
type Authorization struct {
	PayerCustomer  string // the payer at the provider (a Stripe customer id)
	PaymentMethod  string // the payer's saved payment method at the provider
	PayeeAccount   string // the payee's connected account at the provider
	Amount         Money
	Ref            string // the session, recorded in the provider's metadata
	IdempotencyKey string
}

// AuthResult is a provider's answer to Authorize.
type AuthResult struct {
	ID     string // the provider's id for the hold (a PaymentIntent)
	Status string // the provider's status, e.g. "requires_capture"
}
