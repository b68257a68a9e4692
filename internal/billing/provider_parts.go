package billing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/parley-chat/parley/internal/db"
)

// A hold on a card without incremental authorization is extended by a
// second authorization (and a third…): its parts. The first part is the
// hold's own authorization (billing_provider_holds.auth_id); the others are
// in billing_provider_hold_parts. Settling captures the charge across them
// in order — each part filled before the next — with the commission as
// application fees spread the same way (cumulatively rounded, so the fees
// add up to the commission exactly); refunds go back from the last part
// captured to the first.

// part is one authorization of a hold.
type part struct {
	seq                int // 0: the hold's own
	authID             string
	amount             int64 // authorized
	captured, refunded int64
}

// parts reads a hold's authorizations in order; the first one's amount is
// what the others leave of the total authorized.
func (x *ProviderPayments) parts(ctx context.Context, q db.Querier, holdID string, ph providerHold) ([]part, error) {
	rows, err := q.QueryContext(ctx, `SELECT seq, auth_id, amount, captured, refunded FROM billing_provider_hold_parts
		WHERE hold_id = $1 ORDER BY seq`, holdID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []part{{seq: 0, authID: ph.authID, amount: ph.authorized}}
	for rows.Next() {
		var p part
		if err := rows.Scan(&p.seq, &p.authID, &p.amount, &p.captured, &p.refunded); err != nil {
			return nil, err
		}
		out[0].amount -= p.amount
		out = append(out, p)
	}
	return out, rows.Err()
}

// extendable asks the provider whether a hold's card can be raised (a
// provider that cannot say is taken to be able to).
func (x *ProviderPayments) extendable(ctx context.Context, authID string) (bool, error) {
	if e, ok := x.p.(interface {
		Extendable(context.Context, string) (bool, error)
	}); ok {
		return e.Extendable(ctx, authID)
	}
	return true, nil
}

// addPart authorizes more as a new part of a hold, on the same card and
// for the same payee, keyed by the hold, its new total and its declines so
// far (extendKey) so a retry makes it once, and records it. A refusal (declined, or a card that asks for
// authentication in the middle of a session) is ErrInsufficient.
func (x *ProviderPayments) addPart(ctx context.Context, holdID string, ph providerHold, more, total int64) error {
	var payer, ref string
	if err := x.db.QueryRowContext(ctx, `SELECT user_id, ref FROM billing_holds WHERE id = $1`, holdID).Scan(&payer, &ref); err != nil {
		return err
	}
	cust, pm, err := x.Customer(ctx, payer)
	if err != nil {
		return err
	}
	acct, _, err := x.PayeeAccount(ctx, ph.payeeID)
	if err != nil {
		return err
	}
	if cust == "" || pm == "" || acct == "" {
		return fmt.Errorf("%w: the card or the payee is gone", ErrInsufficient)
	}
	amount := max(more, x.Minimum(ph.currency)) // a part is a charge of its own
	auth := Authorization{PayerCustomer: cust, PaymentMethod: pm, PayeeAccount: acct, Amount: Money{amount, ph.currency}, Ref: ref,
		IdempotencyKey: extendKey("parley-part-", holdID, total, ph)}
	if auth.OnBehalfOf, err = x.onBehalfOf(ctx, ph.payeeID, acct); err != nil {
		return err
	}
	res, err := x.p.Authorize(ctx, auth)
	if err != nil {
		if res.ID != "" {
			x.Abandon(ctx, Authorized{AuthID: res.ID, Ref: ref})
		}
		if errors.Is(err, ErrInsufficient) || errors.Is(err, ErrActionRequired) {
			return x.declined(ctx, holdID, fmt.Errorf("%w: the card refused to hold more", ErrInsufficient))
		}
		return err
	}
	var gone error
	err = x.db.Tx(ctx, func(tx *sql.Tx) error {
		var known int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM billing_provider_hold_parts WHERE provider = $1 AND auth_id = $2`,
			x.p.Name(), res.ID).Scan(&known); err != nil || known > 0 {
			return err // a retry of one recorded already
		}
		// The hold may have been settled or released while the card was
		// asked (the session ended): its capture or cancel is queued
		// already and would never reach this part, so it is not recorded.
		// Settle locks the hold too, so the two take turns.
		h, err := x.svc.lockHold(ctx, tx, holdID)
		if err != nil {
			return err
		}
		if h.State != "held" {
			gone = fmt.Errorf("%w: the hold is %s", ErrNotFound, h.State)
			return gone
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO billing_provider_hold_parts (hold_id, seq, provider, auth_id, amount, created_at)
			VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM billing_provider_hold_parts WHERE hold_id = $1), $2, $3, $4, $5)`,
			holdID, x.p.Name(), res.ID, amount, x.now()); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE billing_provider_holds SET authorized = authorized + $1 WHERE hold_id = $2`, amount, holdID)
		return err
	})
	if gone != nil && errors.Is(err, gone) {
		x.Abandon(ctx, Authorized{AuthID: res.ID, Ref: ref})
	}
	return err
}

// spread splits amount across parts in order, each filled before the
// next, then moves money back from a part to the one before when the later
// one would be charged less than the provider's minimum (min): the total
// stays exact, and each capture is one the provider takes where it can be.
func spread(parts []part, amount, minimum int64) []int64 {
	out := make([]int64, len(parts))
	left := amount
	for i, p := range parts {
		out[i] = min(left, p.amount-p.captured)
		left -= out[i]
	}
	for i := len(out) - 1; i > 0; i-- {
		if out[i] == 0 || out[i] >= minimum {
			continue
		}
		need := min(minimum, parts[i].amount) - out[i]
		if out[i-1]-need >= minimum {
			out[i-1] -= need
			out[i] += need
		}
	}
	return out
}

// capturable is spread with what the provider cannot take left out: a
// part whose share is still below the minimum (the one before could not
// spare enough) captures nothing, so the sum may be less than amount — and
// that sum is what is charged, never more than is captured.
func capturable(parts []part, amount, minimum int64) []int64 {
	out := spread(parts, amount, minimum)
	for i, c := range out {
		if c < minimum {
			out[i] = 0
		}
	}
	return out
}

// shares splits total (a commission) across amounts in proportion, each
// cumulative share rounded half up (ProRata), so they add up to total.
func shares(amounts []int64, total int64) []int64 {
	var sum, done, given int64
	for _, a := range amounts {
		sum += a
	}
	out := make([]int64, len(amounts))
	for i, a := range amounts {
		done += a
		cum := ProRata(total, done, sum)
		out[i] = cum - given
		given = cum
	}
	return out
}

// queueCapture queues the capture of caps (one per part, capturable's)
// with fee spread across them, or the cancel of the parts that take
// nothing, and records what each part captured.
func (x *ProviderPayments) queueCapture(ctx context.Context, tx *sql.Tx, holdID string, ph providerHold, ps []part, caps []int64, fee int64, payeeID string) error {
	fees := shares(caps, fee)
	for i, p := range ps {
		kind, key := "capture", "parley-capture-"+holdID
		if caps[i] == 0 {
			kind, key = "cancel", "parley-cancel-"+holdID
		}
		if p.seq > 0 {
			key += "-" + strconv.Itoa(p.seq)
			if _, err := tx.ExecContext(ctx, `UPDATE billing_provider_hold_parts SET captured = $1 WHERE hold_id = $2 AND seq = $3`,
				caps[i], holdID, p.seq); err != nil {
				return err
			}
		}
		one := ph
		one.authID = p.authID
		if err := x.queue(ctx, tx, holdID, one, kind, caps[i], fees[i], payeeID, key); err != nil {
			return err
		}
	}
	return nil
}

// queueRefund queues the refund of amount (commissionBack of it the
// platform's) across a hold's parts, from the last captured back to the
// first, with keys of the settlement's refunded total.
func (x *ProviderPayments) queueRefund(ctx context.Context, tx *sql.Tx, holdID string, ph providerHold, st Settlement, amount, commissionBack int64) error {
	ps, err := x.parts(ctx, tx, holdID, ph)
	if err != nil {
		return err
	}
	// The first part's captured and refunded are what the others leave.
	ps[0].captured, ps[0].refunded = st.Amount.Amount, st.Refunded-amount
	for _, p := range ps[1:] {
		ps[0].captured -= p.captured
		ps[0].refunded -= p.refunded
	}
	backs := make([]int64, len(ps))
	left := amount
	for i := len(ps) - 1; i >= 0 && left > 0; i-- {
		backs[i] = min(left, ps[i].captured-ps[i].refunded)
		left -= backs[i]
	}
	if left > 0 {
		return fmt.Errorf("%w: refund %d beyond the parts' captures", ErrTooMuch, amount)
	}
	fees := shares(backs, commissionBack)
	// A refund that failed at the provider was reversed, so the refunded
	// total may come again: the key then counts the failures too.
	var failed int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM billing_provider_ops WHERE hold_id = $1 AND kind = 'refund' AND state = 'failed'`,
		holdID).Scan(&failed); err != nil {
		return err
	}
	for i, p := range ps {
		if backs[i] == 0 {
			continue
		}
		key := "parley-refund-" + st.ID + "-" + strconv.FormatInt(st.Refunded, 10)
		if failed > 0 {
			key += "-f" + strconv.Itoa(failed)
		}
		if p.seq > 0 {
			key += "-" + strconv.Itoa(p.seq)
			if _, err := tx.ExecContext(ctx, `UPDATE billing_provider_hold_parts SET refunded = refunded + $1 WHERE hold_id = $2 AND seq = $3`,
				backs[i], holdID, p.seq); err != nil {
				return err
			}
		}
		one := ph
		one.authID = p.authID
		if err := x.queue(ctx, tx, holdID, one, "refund", backs[i], fees[i], st.PayeeID, key); err != nil {
			return err
		}
	}
	return nil
}
