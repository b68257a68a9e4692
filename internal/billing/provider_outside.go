package billing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/parley-chat/parley/internal/db"
)

// ErrDisputed is a refund of a payment whose dispute (chargeback) is open:
// the card's bank decides, and the expert's share stays frozen until then.
var ErrDisputed = errors.New("billing: the payment is disputed")

// settlementOf finds the settlement of a provider's authorization ("" when
// it was never captured).
func (x *ProviderPayments) settlementOf(ctx context.Context, q db.Querier, authID string) (settlementID, holdID string, err error) {
	err = q.QueryRowContext(ctx, `SELECT COALESCE(s.id, ''), p.hold_id FROM billing_provider_holds p
		LEFT JOIN billing_settlements s ON s.hold_id = p.hold_id WHERE p.provider = $1 AND (p.auth_id = $2
		OR p.hold_id IN (SELECT hold_id FROM billing_provider_hold_parts WHERE provider = $1 AND auth_id = $2))`,
		x.p.Name(), authID).Scan(&settlementID, &holdID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", nil
	}
	return settlementID, holdID, err
}

// ExternalRefund records a refund made outside Parley (in the provider's
// dashboard) in tx, once by its refund id: the ledger reverses it like a
// refund of Parley's own — the expert's share and the commission pro rata,
// the transfer's reversal recorded — but nothing is queued, since the
// provider has done it. A refund of an authorization Parley does not know,
// or one that was never captured, is ignored; one beyond what the ledger
// has left to refund reverses what is left (and is logged).
func (x *ProviderPayments) ExternalRefund(ctx context.Context, tx *sql.Tx, authID, refundID string, amount Money) error {
	settlementID, _, err := x.settlementOf(ctx, tx, authID)
	if err != nil || settlementID == "" {
		return err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO billing_provider_refunds (provider, refund_id, auth_id, settlement_id, amount, created_at)
		VALUES ($1, $2, $3, $4, 0, $5) ON CONFLICT (provider, refund_id) DO NOTHING`, x.p.Name(), refundID, authID, settlementID, x.now())
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil // recorded before
	}
	var charged, refunded int64
	var cur string
	if err := tx.QueryRowContext(ctx, `SELECT amount, refunded, currency FROM billing_settlements WHERE id = $1`, settlementID).
		Scan(&charged, &refunded, &cur); err != nil {
		return err
	}
	if cur != amount.Currency {
		return fmt.Errorf("%w: a refund in %s of a payment in %s", ErrCurrency, amount.Currency, cur)
	}
	take := min(amount.Amount, charged-refunded)
	if take < amount.Amount {
		x.log.Warn("billing: a refund made outside Parley exceeds what the ledger has left to refund", "refund", refundID,
			"amount", amount.Amount, "left", charged-refunded)
	}
	if take <= 0 {
		return nil
	}
	st, err := x.svc.Refund(ctx, tx, settlementID, take, "refund.external")
	if err != nil {
		return err
	}
	commissionBack := st.RefundedCommission - ProRata(st.Commission, st.Refunded-take, st.Amount.Amount)
	if err := x.svc.paidOut(ctx, tx, st.PayeeID, Money{-(take - commissionBack), cur}, "payout.reversed", settlementID); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE billing_provider_refunds SET amount = $1 WHERE provider = $2 AND refund_id = $3`, take, x.p.Name(), refundID)
	return err
}

// ErrRefundFailed is a refund the provider answered failed or canceled:
// for good (its key would replay that), and no money went back.
var ErrRefundFailed = errors.New("billing: the refund failed at the payment provider")

// RefundFailed records in tx that Parley's refund op keyed key failed at
// the provider for good (at once, or later by a webhook): the op is marked
// failed for the operator and never retried, and the ledger's refund is
// reversed — the money is the expert's and the platform's again, and the
// transfer's reversal that did not happen is undone. Once: an op failed
// already changes nothing.
func (x *ProviderPayments) RefundFailed(ctx context.Context, tx *sql.Tx, key, why string) error {
	var (
		id, holdID, authID, payeeID, cur string
		amount, fee                      int64
	)
	err := tx.QueryRowContext(ctx, `SELECT id, hold_id, auth_id, payee_id, currency, amount, fee FROM billing_provider_ops
		WHERE provider = $1 AND idem_key = $2 AND kind = 'refund'`, x.p.Name(), key).Scan(&id, &holdID, &authID, &payeeID, &cur, &amount, &fee)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // not one of this Parley's
	} else if err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `UPDATE billing_provider_ops SET state = 'failed', attempts = attempts + 1, last_error = $1
		WHERE id = $2 AND state <> 'failed'`, why, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	x.log.Error("billing: a refund failed at the payment provider; the ledger's refund is reversed", "op", id, "auth", authID, "amount", amount,
		"err", why)
	var settlementID string
	if err := tx.QueryRowContext(ctx, `SELECT id FROM billing_settlements WHERE hold_id = $1`, holdID).Scan(&settlementID); err != nil {
		return err
	}
	if err := x.svc.Ledger.Lock(ctx, tx, cur, Account{Payable, payeeID}, Account{Revenue, ""}, Account{External, ""},
		Account{Payout, payeeID}); err != nil {
		return err
	}
	if _, err := x.svc.Ledger.Post(ctx, tx, Entry{Reason: "refund.failed", Ref: settlementID, Currency: cur, Lines: []Line{
		{Account{External, ""}, -amount},
		{Account{Payable, payeeID}, amount - fee},
		{Account{Revenue, ""}, fee},
	}}); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE billing_settlements SET refunded = refunded - $1, refunded_commission = refunded_commission - $2
		WHERE id = $3`, amount, fee, settlementID); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE billing_provider_hold_parts SET refunded = refunded - $1 WHERE hold_id = $2 AND auth_id = $3`,
		amount, holdID, authID); err != nil {
		return err
	}
	// The transfer was not reversed: the expert's share is theirs, paid.
	return x.svc.paidOut(ctx, tx, payeeID, Money{amount - fee, cur}, "payout", newID())
}

// Dispute is a chargeback of a captured payment, for the operator.
type Dispute struct {
	ID           string     `json:"id"`
	AuthID       string     `json:"payment"`
	SettlementID string     `json:"settlement_id"`
	Ref          string     `json:"session_id"`
	PayeeID      string     `json:"expert_id"`
	Amount       Money      `json:"amount"`
	Reason       string     `json:"reason"`
	Status       string     `json:"status"`
	Open         bool       `json:"open"`
	CreatedAt    time.Time  `json:"created_at"`
	ClosedAt     *time.Time `json:"closed_at"`
}

// OpenDispute records a dispute of a payment in tx (once by its id); while
// it is open the expert's share of that session is frozen: Parley refunds
// nothing of it (ErrDisputed), since the bank decides where the money goes.
func (x *ProviderPayments) OpenDispute(ctx context.Context, tx *sql.Tx, authID, disputeID string, amount Money, reason, status string) error {
	settlementID, _, err := x.settlementOf(ctx, tx, authID)
	if err != nil || settlementID == "" {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO billing_provider_disputes (provider, dispute_id, auth_id, settlement_id, currency, amount, reason,
		status, open, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, true, $9) ON CONFLICT (provider, dispute_id) DO NOTHING`,
		x.p.Name(), disputeID, authID, settlementID, amount.Currency, amount.Amount, reason, status, x.now())
	if err == nil {
		x.log.Warn("billing: a payment is disputed; the expert's share is frozen until it closes", "dispute", disputeID, "payment", authID)
	}
	return err
}

// CloseDispute records a dispute's end (won or lost) in tx; the share is
// no longer frozen. A lost dispute's money went back to the payer through
// the bank, which Stripe reports as such (the ledger's refund follows the
// operator's decision: see ARCHITECTURE).
func (x *ProviderPayments) CloseDispute(ctx context.Context, tx *sql.Tx, disputeID, status string) error {
	_, err := tx.ExecContext(ctx, `UPDATE billing_provider_disputes SET open = false, status = $1, closed_at = $2
		WHERE provider = $3 AND dispute_id = $4 AND open`, status, x.now(), x.p.Name(), disputeID)
	return err
}

// disputed says whether a settlement has an open dispute.
func (x *ProviderPayments) disputed(ctx context.Context, q db.Querier, settlementID string) (bool, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM billing_provider_disputes WHERE settlement_id = $1 AND open`, settlementID).Scan(&n)
	return n > 0, err
}

// Disputes lists disputes, open ones first, newest first.
func (x *ProviderPayments) Disputes(ctx context.Context) ([]Dispute, error) {
	rows, err := x.db.QueryContext(ctx, `SELECT d.dispute_id, d.auth_id, d.settlement_id, s.ref, s.payee_id, d.currency, d.amount, d.reason,
		d.status, d.open, d.created_at, d.closed_at FROM billing_provider_disputes d JOIN billing_settlements s ON s.id = d.settlement_id
		WHERE d.provider = $1 ORDER BY d.open DESC, d.created_at DESC LIMIT 500`, x.p.Name())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Dispute{}
	for rows.Next() {
		var (
			d      Dispute
			closed sql.NullTime
		)
		if err := rows.Scan(&d.ID, &d.AuthID, &d.SettlementID, &d.Ref, &d.PayeeID, &d.Amount.Currency, &d.Amount.Amount, &d.Reason, &d.Status,
			&d.Open, &d.CreatedAt, &closed); err != nil {
			return nil, err
		}
		if closed.Valid {
			d.ClosedAt = &closed.Time
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// KnownCustomer says whether a provider's customer is one of Parley's.
func (x *ProviderPayments) KnownCustomer(ctx context.Context, customerID string) (bool, error) {
	var n int
	err := x.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM billing_provider_customers WHERE provider = $1 AND customer_id = $2`,
		x.p.Name(), customerID).Scan(&n)
	return n > 0, err
}
