package billing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"

	"github.com/parley-chat/parley/internal/db"
)

// Authorized is a hold a payment provider agreed to before the hold is
// recorded: the marketplace asks for it before the booking's transaction
// (a card is never authorized while the database waits), records it inside
// (PlaceHold), and lets go of it when the transaction does not commit
// (Abandon). For the wallet AuthID is "": the wallet holds inside the
// transaction.
type Authorized struct {
	PayerID, PayeeID string
	Amount           Money
	Ref              string // the session
	AuthID           string // the provider's authorization (a PaymentIntent)
}

// Errors of outside providers.
var (
	// ErrNoPaymentMethod is a payer without a saved card at the provider.
	ErrNoPaymentMethod = fmt.Errorf("%w: save a card first", ErrInsufficient)
	// ErrPayeeNotReady is a payee without a connected account that may
	// take payments.
	ErrPayeeNotReady = errors.New("billing: the payee cannot take card payments yet")
)

// ProviderPayments is billing with an outside payment provider (Stripe): the
// provider holds and moves the money, and the ledger records every step
// as it does for the wallet, so balances, statements and the CSV export
// stay one truth. A hold's money comes from the external account (a card
// authorization) instead of the payer's wallet, and released or refunded
// money goes back there. Captures, cancels and refunds are written to the
// ledger in the caller's transaction together with an op (the outbox,
// billing_provider_ops) and carried out at the provider after the commit
// (Flush), with the op's idempotency key: a crash or a failure between the
// commit and the provider leaves the op pending, and the next Flush (the
// marketplace's sweep) retries it, which the key makes act once. A
// destination charge transfers the payee's share to their connected
// account with the capture, so the settlement records it as paid out in
// the same transaction (payable → payout), and a refund records the
// transfer's reversal: the payable account never holds a provider's money,
// and the wallet's payout run cannot pay it twice.
type ProviderPayments struct {
	svc *Service
	db  *db.DB
	p   Provider
	log *slog.Logger
	now func() time.Time

	// ReturnURL is where a payer asked to authenticate a booking's card
	// (3-D Secure) comes back to, for a session ref; nil refuses such cards.
	ReturnURL func(ref string) string
	// Country is the platform's country (ISO 3166, e.g. US): a payee whose
	// account is in another is charged on_behalf_of their account, so
	// the charge settles in their country. "" never sets it.
	Country string
}

// NewProviderPayments builds billing over svc's ledger with provider p.
func NewProviderPayments(svc *Service, p Provider, log *slog.Logger) *ProviderPayments {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &ProviderPayments{svc: svc, db: svc.db, p: p, log: log, now: svc.now}
}

// Provider is the provider money moves through.
func (x *ProviderPayments) Provider() Provider { return x.p }

// Service is the ledger's billing.
func (x *ProviderPayments) Service() *Service { return x.svc }

func holdKey(ref string) string { return "parley-hold-" + ref }

// Authorize asks the provider to hold m on the payer's saved card for
// ref, as a charge to the payee's connected account. A declined card, a
// payer without a card, or a card that needs the payer's confirmation is
// ErrInsufficient; a payee whose account cannot take payments is
// ErrPayeeNotReady. Its idempotency key is derived from ref (a session is
// a new id at each booking attempt, so a new card is a new key).
func (x *ProviderPayments) Authorize(ctx context.Context, payerID, payeeID string, m Money, ref string) (Authorized, error) {
	m, err := checkMoney(m, false)
	if err != nil {
		return Authorized{}, err
	}
	cust, pm, err := x.Customer(ctx, payerID)
	if err != nil {
		return Authorized{}, err
	}
	if cust == "" || pm == "" {
		return Authorized{}, ErrNoPaymentMethod
	}
	acct, ready, err := x.PayeeAccount(ctx, payeeID)
	if err != nil {
		return Authorized{}, err
	}
	if acct == "" || !ready {
		return Authorized{}, ErrPayeeNotReady
	}
	a := Authorized{PayerID: payerID, PayeeID: payeeID, Amount: m, Ref: ref}
	auth := Authorization{PayerCustomer: cust, PaymentMethod: pm, PayeeAccount: acct, Amount: m, Ref: ref,
		IdempotencyKey: holdKeyOf(ctx, ref), OffSession: offSession(ctx)}
	if x.ReturnURL != nil && !auth.OffSession {
		auth.ReturnURL = x.ReturnURL(ref)
	}
	if auth.OnBehalfOf, err = x.onBehalfOf(ctx, payeeID, acct); err != nil {
		return Authorized{}, err
	}
	res, err := x.p.Authorize(ctx, auth)
	switch {
	case err == nil:
		a.AuthID = res.ID
		return a, nil
	case res.ID != "" && res.ActionURL != "" && errors.Is(err, ErrActionRequired):
		// The payer must authenticate (3-D Secure): the payment waits for
		// them at the provider; the caller sends them to ActionURL.
		return Authorized{}, &ActionRequiredError{Authorized: Authorized{PayerID: payerID, PayeeID: payeeID, Amount: m, Ref: ref,
			AuthID: res.ID}, URL: res.ActionURL}
	case errors.Is(err, ErrInsufficient):
		reason := "the card was declined"
		var dc interface{ DeclineCode() string }
		if errors.As(err, &dc) && dc.DeclineCode() != "" {
			reason += " (" + dc.DeclineCode() + ")"
		}
		return Authorized{}, fmt.Errorf("%w: %s", ErrInsufficient, reason)
	case res.ID != "":
		// The provider made a payment that holds nothing (the card wants
		// 3-D Secure): let go of it.
		if cerr := x.p.Cancel(ctx, res.ID, "parley-abandon-"+res.ID); cerr != nil {
			x.log.Warn("billing: cancelling an authorization that held nothing", "auth", res.ID, "err", cerr)
		}
		return Authorized{}, fmt.Errorf("%w: the card needs the payer's confirmation, which Parley cannot ask for yet (%v)", ErrInsufficient, err)
	}
	return Authorized{}, err
}

// PlaceHold records an authorization in tx: the ledger moves its amount
// from the external account into the payer's hold account (reason hold,
// ref the provider's authorization).
func (x *ProviderPayments) PlaceHold(ctx context.Context, tx *sql.Tx, a Authorized) (Hold, error) {
	if a.AuthID == "" {
		return Hold{}, fmt.Errorf("%w: no authorization to record", ErrNotFound)
	}
	h, err := x.svc.placeHold(ctx, tx, a.PayerID, a.Amount, a.Ref, External, a.AuthID)
	if err != nil {
		return Hold{}, err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO billing_provider_holds (hold_id, provider, auth_id, payee_id, authorized, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, h.ID, x.p.Name(), a.AuthID, a.PayeeID, a.Amount.Amount, h.CreatedAt)
	return h, err
}

// Abandon lets go of an authorization whose transaction did not commit
// (the slot was taken meanwhile). A failure is logged: an authorization
// nobody captures lapses at the provider (after 7 days at Stripe).
func (x *ProviderPayments) Abandon(ctx context.Context, a Authorized) {
	if a.AuthID == "" {
		return
	}
	if err := x.p.Cancel(ctx, a.AuthID, "parley-abandon-"+a.AuthID); err != nil {
		x.log.Warn("billing: letting go of an unrecorded authorization", "auth", a.AuthID, "ref", a.Ref, "err", err)
	}
}

type providerHold struct {
	authID, payeeID, currency, state string
	amount, authorized               int64
	declines                         int // extensions the card declined (extendKey)
}

// providerHold reads a hold placed at the provider; ok is false for a
// wallet's hold (a session booked before the provider was configured).
func (x *ProviderPayments) providerHold(ctx context.Context, q db.Querier, holdID string) (providerHold, bool, error) {
	var ph providerHold
	err := q.QueryRowContext(ctx, `SELECT p.auth_id, p.payee_id, p.authorized, h.currency, h.amount, h.state, p.extend_declines
		FROM billing_provider_holds p JOIN billing_holds h ON h.id = p.hold_id WHERE p.hold_id = $1`, holdID).Scan(&ph.authID, &ph.payeeID,
		&ph.authorized, &ph.currency, &ph.amount, &ph.state, &ph.declines)
	if errors.Is(err, sql.ErrNoRows) {
		return providerHold{}, false, nil
	}
	return ph, err == nil, err
}

// Raise asks the provider to hold more on a hold's card (incremental
// authorization), before the transaction that records it (ExtendHold). A
// card that refuses, or cannot be raised, is ErrInsufficient and the hold
// stays as it was. The key is derived from the hold and the new total, so
// a retry raises once.
func (x *ProviderPayments) Raise(ctx context.Context, holdID string, more int64) error {
	ph, ok, err := x.providerHold(ctx, x.db, holdID)
	if err != nil || !ok {
		return err
	}
	if ph.state != "held" {
		// Settled or released meanwhile (the session ended): nothing is
		// raised, and no authorization is made that nobody would capture.
		return fmt.Errorf("%w: the hold is %s", ErrNotFound, ph.state)
	}
	total := ph.amount + more
	if _, err := checkMoney(Money{total, ph.currency}, false); err != nil || more <= 0 {
		return fmt.Errorf("%w: raise by %d", ErrAmount, more)
	}
	if total <= ph.authorized {
		return nil
	}
	// A card without incremental authorization (or a hold extended that way
	// before) is extended by another authorization of its own.
	ps, err := x.parts(ctx, x.db, holdID, ph)
	if err != nil {
		return err
	}
	extendable := len(ps) == 1
	if extendable {
		if extendable, err = x.extendable(ctx, ph.authID); err != nil {
			return err
		}
	}
	if !extendable {
		return x.addPart(ctx, holdID, ph, total-ph.authorized, total)
	}
	err = x.p.Extend(ctx, ph.authID, Money{total, ph.currency}, extendKey("parley-extend-", holdID, total, ph))
	switch {
	case errors.Is(err, ErrInsufficient):
		return x.declined(ctx, holdID, fmt.Errorf("%w: the card refused to hold more", ErrInsufficient))
	case err != nil && permanent(err):
		return x.declined(ctx, holdID, fmt.Errorf("%w: the card's hold cannot be raised (%v)", ErrInsufficient, err))
	case err != nil:
		return err
	}
	_, err = x.db.ExecContext(ctx, `UPDATE billing_provider_holds SET authorized = $1 WHERE hold_id = $2 AND authorized < $1`, total, holdID)
	return err
}

// extendKey is the idempotency key of an extension of a hold to total: a
// network retry of the same attempt sends the same key (the provider acts
// once), while an attempt after a decline is a new request — the
// provider replays a decline for its key — so the key counts the hold's
// declined extensions. prefix tells an incremental authorization from a
// new part's (addPart), which are different requests.
func extendKey(prefix, holdID string, total int64, ph providerHold) string {
	return prefix + holdID + "-" + strconv.FormatInt(total, 10) + "-" + strconv.Itoa(ph.declines+1)
}

// declined counts a declined extension of a hold (so the next attempt has
// a key of its own) and returns err.
func (x *ProviderPayments) declined(ctx context.Context, holdID string, err error) error {
	if _, uerr := x.db.ExecContext(ctx, `UPDATE billing_provider_holds SET extend_declines = extend_declines + 1 WHERE hold_id = $1`,
		holdID); uerr != nil {
		return errors.Join(err, uerr)
	}
	return err
}

// ExtendHold records in tx a hold raised by Raise; more than the provider
// authorized (two raises racing) is ErrInsufficient.
func (x *ProviderPayments) ExtendHold(ctx context.Context, tx *sql.Tx, holdID string, more int64) (Hold, error) {
	ph, ok, err := x.providerHold(ctx, tx, holdID)
	if err != nil {
		return Hold{}, err
	}
	if ok && ph.amount+more > ph.authorized {
		return Hold{}, fmt.Errorf("%w: the card holds %d, not %d; try again", ErrInsufficient, ph.authorized, ph.amount+more)
	}
	return x.svc.ExtendHold(ctx, tx, holdID, more)
}

// Settle settles a hold in the ledger exactly as the wallet does (the rest
// released to the external account) and, in the same transaction, queues
// the provider's capture of amount with the commission as its fee — or
// its cancel when amount is 0. Flush carries it out after the commit.
//
// A charge below the provider's minimum (Stripe: 50 US cents or the
// currency's equivalent) cannot be captured, so it is not taken: the hold
// is released and nothing is charged (the returned settlement's amount is
// 0, and the caller records that). Likewise across a hold's parts: a
// part's share that stays below the minimum (capturable) is not taken,
// and the settlement is what the provider captures, the commission
// computed on that.
func (x *ProviderPayments) Settle(ctx context.Context, tx *sql.Tx, holdID string, amount int64, payeeID string, rate BasisPoints) (Settlement, error) {
	_, ok, err := x.providerHold(ctx, tx, holdID)
	if err != nil {
		return Settlement{}, err
	}
	if !ok {
		// A wallet's hold (booked before the provider was configured):
		// the ledger is the money, and the wallet has no minimum.
		return x.svc.Settle(ctx, tx, holdID, amount, payeeID, rate)
	}
	// Lock the hold (Settle locks it again, in the same order) and read
	// what the card holds by now: an extension may have added a part.
	if _, err := x.svc.lockHold(ctx, tx, holdID); err != nil {
		return Settlement{}, err
	}
	ph, _, err := x.providerHold(ctx, tx, holdID)
	if err != nil {
		return Settlement{}, err
	}
	ps, err := x.parts(ctx, tx, holdID, ph)
	if err != nil {
		return Settlement{}, err
	}
	caps := make([]int64, len(ps))
	if amount > 0 && amount <= ph.amount {
		// What the provider can capture across the parts; a part's share
		// below its minimum is not taken, so the ledger charges the rest.
		caps = capturable(ps, amount, x.Minimum(ph.currency))
		amount = 0
		for _, c := range caps {
			amount += c
		}
	}
	st, err := x.svc.Settle(ctx, tx, holdID, amount, payeeID, rate)
	if err != nil {
		return Settlement{}, err
	}
	fee := int64(0)
	if amount > 0 {
		fee = st.Commission
		if err := x.svc.paidOut(ctx, tx, payeeID, Money{st.PayeeShare, st.Amount.Currency}, "payout", newID()); err != nil {
			return Settlement{}, err
		}
	}
	return st, x.queueCapture(ctx, tx, holdID, ph, ps, caps, fee, payeeID)
}

// Refund refunds in the ledger exactly as the wallet does (the money back
// to the external account) and queues the provider's refund of amount in
// the same transaction; the provider reverses the payee's transfer and
// the fee in proportion.
//
// A payment whose dispute is open is not refunded (ErrDisputed): the
// card's bank decides, and the expert's share stays frozen until then.
func (x *ProviderPayments) Refund(ctx context.Context, tx *sql.Tx, settlementID string, amount int64, reason string) (Settlement, error) {
	if d, err := x.disputed(ctx, tx, settlementID); err != nil {
		return Settlement{}, err
	} else if d {
		return Settlement{}, fmt.Errorf("%w: the card's bank decides where this payment goes; refund after the dispute closes", ErrDisputed)
	}
	st, err := x.svc.Refund(ctx, tx, settlementID, amount, reason)
	if err != nil {
		return Settlement{}, err
	}
	var holdID sql.NullString
	if err := tx.QueryRowContext(ctx, `SELECT hold_id FROM billing_settlements WHERE id = $1`, settlementID).Scan(&holdID); err != nil {
		return Settlement{}, err
	}
	ph, ok, err := x.providerHold(ctx, tx, holdID.String)
	if err != nil || !ok {
		return st, err
	}
	// The commission this refund gave back (ProRata's running rule).
	commissionBack := st.RefundedCommission - ProRata(st.Commission, st.Refunded-amount, st.Amount.Amount)
	// The refund reverses the payee's transfer by their share of it.
	if err := x.svc.paidOut(ctx, tx, st.PayeeID, Money{-(amount - commissionBack), st.Amount.Currency}, "payout.reversed", settlementID); err != nil {
		return Settlement{}, err
	}
	return st, x.queueRefund(ctx, tx, holdID.String, ph, st, amount, commissionBack)
}

func (x *ProviderPayments) queue(ctx context.Context, tx *sql.Tx, holdID string, ph providerHold, kind string, amount, fee int64, payeeID, key string) error {
	now := x.now()
	_, err := tx.ExecContext(ctx, `INSERT INTO billing_provider_ops (id, provider, hold_id, auth_id, kind, currency, amount, fee, payee_id,
		idem_key, state, next_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', $11, $11)`,
		newID(), x.p.Name(), holdID, ph.authID, kind, ph.currency, amount, fee, payeeID, key, now)
	return err
}

// Op is one thing the provider must be told, as queued.
type Op struct {
	ID          string    `json:"id"`
	HoldID      string    `json:"hold_id"`
	AuthID      string    `json:"auth_id"`
	Kind        string    `json:"kind"` // capture, cancel, refund
	Amount      Money     `json:"amount"`
	Fee         int64     `json:"fee"`
	State       string    `json:"state"` // pending, done, failed
	Attempts    int       `json:"attempts"`
	LastError   string    `json:"last_error,omitempty"`
	ProviderRef string    `json:"provider_ref,omitempty"`
	NextAt      time.Time `json:"next_at"`
	payeeID     string
	key         string
}

// Ops lists a hold's ops, oldest first.
func (x *ProviderPayments) Ops(ctx context.Context, holdID string) ([]Op, error) {
	return x.ops(ctx, `hold_id = $1`, holdID)
}

func (x *ProviderPayments) ops(ctx context.Context, where string, args ...any) ([]Op, error) {
	rows, err := x.db.QueryContext(ctx, `SELECT id, hold_id, auth_id, kind, currency, amount, fee, payee_id, idem_key, state, attempts,
		last_error, provider_ref, next_at FROM billing_provider_ops WHERE `+where+` ORDER BY hold_id, created_at, id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Op
	for rows.Next() {
		var o Op
		if err := rows.Scan(&o.ID, &o.HoldID, &o.AuthID, &o.Kind, &o.Amount.Currency, &o.Amount.Amount, &o.Fee, &o.payeeID, &o.key,
			&o.State, &o.Attempts, &o.LastError, &o.ProviderRef, &o.NextAt); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// Flush carries out the pending ops of a hold ("" for every hold) whose
// time has come, each hold's in the order they were queued: an op waiting
// for a retry holds back the ones after it (a refund waits for its
// capture). It returns the first failure; a failed op stays pending for
// the next Flush, or is marked failed when the provider refused it for
// good (logged for the operator: an authorization that lapsed, a refund
// made elsewhere).
func (x *ProviderPayments) Flush(ctx context.Context, holdID string) error {
	where, args := `state = 'pending' AND provider = $1`, []any{x.p.Name()}
	if holdID != "" {
		where, args = where+` AND hold_id = $2`, append(args, holdID)
	}
	ops, err := x.ops(ctx, where, args...)
	if err != nil {
		return err
	}
	now := x.now()
	blocked := map[string]bool{}
	var first error
	for _, o := range ops {
		if blocked[o.HoldID] {
			continue
		}
		if o.NextAt.After(now) {
			blocked[o.HoldID] = true
			continue
		}
		if err := x.run(ctx, o); err != nil {
			blocked[o.HoldID] = true
			if first == nil {
				first = err
			}
		}
	}
	return first
}

// retryAfter is how long a failed op waits: 10 s, doubling, at most an hour.
func retryAfter(attempts int) time.Duration {
	return min(10*time.Second<<min(attempts-1, 10), time.Hour)
}

// permanent says whether the provider refused for good (a retry with the
// same key would get the same answer), as opposed to a failure on the way.
func permanent(err error) bool {
	var p interface{ Permanent() bool }
	if errors.As(err, &p) {
		return p.Permanent()
	}
	return errors.Is(err, ErrAmount) || errors.Is(err, ErrCurrency) || errors.Is(err, ErrTooMuch) || errors.Is(err, ErrNotFound) ||
		errors.Is(err, ErrRefundFailed)
}

func (x *ProviderPayments) run(ctx context.Context, o Op) error {
	var (
		ref string
		err error
	)
	switch o.Kind {
	case "capture":
		err = x.p.Capture(ctx, o.AuthID, o.Amount, Money{o.Fee, o.Amount.Currency}, o.key)
	case "cancel":
		err = x.p.Cancel(ctx, o.AuthID, o.key)
	case "refund":
		ref, err = x.p.Refund(ctx, o.AuthID, o.Amount, o.key)
	}
	if err != nil && o.Kind == "refund" && errors.Is(err, ErrRefundFailed) {
		// The card took no refund: the ledger's is reversed with the op
		// marked failed, once.
		if terr := x.db.Tx(ctx, func(tx *sql.Tx) error { return x.RefundFailed(ctx, tx, o.key, err.Error()) }); terr != nil {
			return errors.Join(err, terr)
		}
		return fmt.Errorf("billing: refund at the provider: %w", err)
	}
	if err != nil {
		state := "pending"
		if permanent(err) {
			state = "failed"
			x.log.Error("billing: the payment provider refused an op for good", "op", o.ID, "kind", o.Kind, "auth", o.AuthID, "err", err)
		} else {
			x.log.Warn("billing: a payment provider op failed; it will be retried", "op", o.ID, "kind", o.Kind, "auth", o.AuthID, "err", err)
		}
		if _, uerr := x.db.ExecContext(ctx, `UPDATE billing_provider_ops SET state = $1, attempts = attempts + 1, next_at = $2, last_error = $3
			WHERE id = $4 AND state = 'pending'`, state, x.now().Add(retryAfter(o.Attempts+1)), err.Error(), o.ID); uerr != nil {
			return errors.Join(err, uerr)
		}
		return fmt.Errorf("billing: %s at the provider: %w", o.Kind, err)
	}
	// Another Flush may have finished it meanwhile: the key made the
	// provider act once, and this changes nothing more.
	_, err = x.db.ExecContext(ctx, `UPDATE billing_provider_ops SET state = 'done', attempts = attempts + 1, done_at = $1, provider_ref = $2,
		last_error = '' WHERE id = $3 AND state = 'pending'`, x.now(), ref, o.ID)
	return err
}

// Customer is a payer's customer id and saved payment method at the
// provider ("" when none).
func (x *ProviderPayments) Customer(ctx context.Context, userID string) (customerID, paymentMethod string, err error) {
	err = x.db.QueryRowContext(ctx, `SELECT customer_id, payment_method FROM billing_provider_customers WHERE provider = $1 AND user_id = $2`,
		x.p.Name(), userID).Scan(&customerID, &paymentMethod)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", nil
	}
	return customerID, paymentMethod, err
}

// SetCustomer records a payer's customer id (keeping a saved payment
// method of the same customer).
func (x *ProviderPayments) SetCustomer(ctx context.Context, userID, customerID string) error {
	_, err := x.db.ExecContext(ctx, `INSERT INTO billing_provider_customers (provider, user_id, customer_id, updated_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (provider, user_id) DO UPDATE SET customer_id = $3, updated_at = $4,
		payment_method = CASE WHEN billing_provider_customers.customer_id = $3 THEN billing_provider_customers.payment_method ELSE '' END,
		card_saved_at = CASE WHEN billing_provider_customers.customer_id = $3 THEN billing_provider_customers.card_saved_at ELSE 0 END`,
		x.p.Name(), userID, customerID, x.now())
	return err
}

// SavePaymentMethod records the payment method a customer saved (the
// provider's webhook says so) as the one its holds use; q is the
// webhook's transaction. An unknown customer is ErrNotFound.
func (x *ProviderPayments) SavePaymentMethod(ctx context.Context, q db.Querier, customerID, paymentMethod string) error {
	res, err := q.ExecContext(ctx, `UPDATE billing_provider_customers SET payment_method = $1, updated_at = $2 WHERE provider = $3 AND customer_id = $4`,
		paymentMethod, x.now(), x.p.Name(), customerID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: customer %s", ErrNotFound, customerID)
	}
	return nil
}

// PayeeAccount is a payee's connected account ("" when none) and whether
// it may take payments.
func (x *ProviderPayments) PayeeAccount(ctx context.Context, userID string) (accountID string, ready bool, err error) {
	err = x.db.QueryRowContext(ctx, `SELECT account_id, charges_enabled FROM billing_provider_accounts WHERE provider = $1 AND user_id = $2`,
		x.p.Name(), userID).Scan(&accountID, &ready)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return accountID, ready, err
}

// SetPayeeAccount records a payee's new connected account (not ready
// until the provider says so).
func (x *ProviderPayments) SetPayeeAccount(ctx context.Context, userID, accountID string) error {
	_, err := x.db.ExecContext(ctx, `INSERT INTO billing_provider_accounts (provider, user_id, account_id, updated_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (provider, user_id) DO UPDATE SET account_id = $3, charges_enabled = false, payouts_enabled = false,
		details_submitted = false, status_at = 0, updated_at = $4`, x.p.Name(), userID, accountID, x.now())
	return err
}

// SetAccountStatus records what the provider says of a connected account
// as of at (the webhook event's created time, or when the provider was
// asked); q is the webhook's transaction. What is older than the status
// recorded (an event delivered out of order) changes nothing. An unknown
// account is ignored (one made elsewhere on the platform's provider
// account).
func (x *ProviderPayments) SetAccountStatus(ctx context.Context, q db.Querier, accountID string, charges, payouts, details bool, at time.Time) error {
	_, err := q.ExecContext(ctx, `UPDATE billing_provider_accounts SET charges_enabled = $1, payouts_enabled = $2, details_submitted = $3,
		updated_at = $4, status_at = $7 WHERE provider = $5 AND account_id = $6 AND status_at <= $7`,
		charges, payouts, details, x.now(), x.p.Name(), accountID, at.Unix())
	return err
}

// Once acts on a provider's webhook event once: the event id is recorded
// in the transaction act runs in, so a delivery that repeats (the provider
// delivers again until it is acknowledged) finds it and does nothing, and
// an act that fails records nothing, so the next delivery tries again.
// acted says whether act ran and committed.
func (x *ProviderPayments) Once(ctx context.Context, eventID, typ string, act func(tx *sql.Tx) error) (acted bool, err error) {
	err = x.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO billing_provider_events (provider, event_id, type, received_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (provider, event_id) DO NOTHING`, x.p.Name(), eventID, typ, x.now())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		acted = true
		if act == nil {
			return nil
		}
		return act(tx)
	})
	if err != nil {
		acted = false
	}
	return acted, err
}

// paidOut records money a provider paid to a payee outside the ledger's
// payout run (a destination charge's transfer), or took back from them
// (negative: a refund reversing the transfer): payable → payout.
func (s *Service) paidOut(ctx context.Context, tx *sql.Tx, payeeID string, m Money, reason, ref string) error {
	if err := s.Ledger.Lock(ctx, tx, m.Currency, Account{Payable, payeeID}, Account{Payout, payeeID}); err != nil {
		return err
	}
	if _, err := s.Ledger.Post(ctx, tx, Entry{Reason: reason, Ref: ref, Currency: m.Currency, Lines: []Line{
		{Account{Payable, payeeID}, -m.Amount},
		{Account{Payout, payeeID}, m.Amount},
	}}); err != nil {
		return err
	}
	if m.Amount <= 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO billing_payouts (id, payee_id, currency, amount, created_at) VALUES ($1, $2, $3, $4, $5)`,
		ref, payeeID, m.Currency, m.Amount, s.now())
	return err
}
