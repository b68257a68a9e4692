package market

import (
	"context"
	"database/sql"

	"github.com/parley-chat/parley/internal/billing"
)

// Payments moves a session's money. The built-in wallet does it all in
// the caller's transaction; an outside provider (Stripe,
// billing.ProviderPayments) authorizes the card before the booking's
// transaction and raises it before an extension's, records every step in
// the ledger inside the transaction, and carries out captures, cancels
// and refunds after the commit (Flush; the sweep retries what failed).
type Payments interface {
	// Authorize asks for a hold before the booking's transaction
	// (billing.ErrInsufficient: declined or no card).
	Authorize(ctx context.Context, payerID, payeeID string, m billing.Money, ref string) (billing.Authorized, error)
	// PlaceHold records the hold in the booking's transaction.
	PlaceHold(ctx context.Context, tx *sql.Tx, a billing.Authorized) (billing.Hold, error)
	// Abandon lets go of an authorization whose transaction did not commit.
	Abandon(ctx context.Context, a billing.Authorized)
	// Raise asks for more on a hold before the extension's transaction.
	Raise(ctx context.Context, holdID string, more int64) error
	ExtendHold(ctx context.Context, tx *sql.Tx, holdID string, more int64) (billing.Hold, error)
	Settle(ctx context.Context, tx *sql.Tx, holdID string, amount int64, payeeID string, rate billing.BasisPoints) (billing.Settlement, error)
	Refund(ctx context.Context, tx *sql.Tx, settlementID string, amount int64, reason string) (billing.Settlement, error)
	// Flush carries out, after a commit, what the transaction recorded for
	// a hold ("" for every hold whose retry is due).
	Flush(ctx context.Context, holdID string) error
	// Confirm checks an authorization its payer authenticated (3-D
	// Secure) against the booking attempt's.
	Confirm(ctx context.Context, want billing.Authorized) (billing.Authorized, error)
	// PayeeReady is nil when the expert can be paid
	// (billing.ErrPayeeNotReady when not).
	PayeeReady(ctx context.Context, payeeID string) error
	// Minimum is the smallest charge in a currency (0: none); a charge
	// below it is not taken (Settle takes nothing).
	Minimum(currency string) int64
	// Defers says whether holds of sessions booked far ahead are placed
	// near their start (a card's authorization lapses; see deferred.go);
	// Prepare then checks at booking that they can be (a card, a payee
	// who can be paid).
	Defers() bool
	Prepare(ctx context.Context, payerID, payeeID string) error
}

// Wallet is Payments by the built-in wallet: everything happens in the
// caller's transaction, so there is nothing to do before or after it.
func Wallet(b *billing.Service) Payments { return wallet{b} }

type wallet struct{ *billing.Service }

func (w wallet) Authorize(_ context.Context, payerID, payeeID string, m billing.Money, ref string) (billing.Authorized, error) {
	return billing.Authorized{PayerID: payerID, PayeeID: payeeID, Amount: m, Ref: ref}, nil
}

func (w wallet) PlaceHold(ctx context.Context, tx *sql.Tx, a billing.Authorized) (billing.Hold, error) {
	return w.Service.PlaceHold(ctx, tx, a.PayerID, a.Amount, a.Ref)
}

func (wallet) Abandon(context.Context, billing.Authorized) {}
func (wallet) PayeeReady(context.Context, string) error    { return nil }
func (wallet) Minimum(string) int64                        { return 0 }
func (wallet) Defers() bool                                { return false }
func (wallet) Prepare(context.Context, string, string) error {
	return nil
}

// Confirm: the wallet never asks its payer to authenticate.
func (wallet) Confirm(context.Context, billing.Authorized) (billing.Authorized, error) {
	return billing.Authorized{}, billing.ErrAuthMismatch
}
func (wallet) Raise(context.Context, string, int64) error { return nil }
func (wallet) Flush(context.Context, string) error        { return nil }

// flush carries out a hold's payments after a commit; a failure is logged
// and stays queued for the sweep.
func (s *Service) flush(ctx context.Context, holdID string) {
	if holdID == "" {
		return
	}
	if err := s.payments().Flush(ctx, holdID); err != nil {
		s.cfg.Log.Warn("market: the payment provider did not take a session's payment yet; the sweep retries", "hold", holdID, "err", err)
	}
}

// payments is the configured Payments, the wallet by default.
func (s *Service) payments() Payments {
	if s.cfg.Payments != nil {
		return s.cfg.Payments
	}
	return Wallet(s.cfg.Billing)
}
