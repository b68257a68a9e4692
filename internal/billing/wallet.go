package billing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/parley-chat/parley/internal/db"
)

// Service is billing with the built-in wallet as payment provider: money
// comes in by top-ups (the operator's credit, or a test top-up), is held
// from a wallet before paid time, and captured, split and refunded inside
// the ledger. Each operation takes the caller's transaction, so a
// session's end and its money are one commit.
type Service struct {
	db     *db.DB
	Ledger *Ledger
	now    func() time.Time
}

// NewService builds billing over the database.
func NewService(d *db.DB, now func() time.Time) *Service {
	l := NewLedger(d, now)
	return &Service{db: d, Ledger: l, now: l.now}
}

// Hold is money set aside from a wallet.
type Hold struct {
	ID        string    `json:"id"`
	UserID    string    `json:"user_id"`
	Amount    Money     `json:"amount"`
	State     string    `json:"state"` // held, settled, released
	Ref       string    `json:"ref"`
	CreatedAt time.Time `json:"created_at"`

	source string // where the money came from: Wallet, or External (a card at a provider)
}

// from is the account a hold's money came from and goes back to when
// released or refunded: the payer's wallet, or the outside world for money
// a provider holds on a card.
func (h Hold) from() Account {
	if h.source == External {
		return Account{External, ""}
	}
	return Account{Wallet, h.UserID}
}

// Settlement is captured money split between payee and platform.
type Settlement struct {
	ID                 string    `json:"id"`
	Ref                string    `json:"ref"`
	PayerID            string    `json:"payer_id"`
	PayeeID            string    `json:"payee_id"`
	Amount             Money     `json:"amount"`
	Commission         int64     `json:"commission"`
	PayeeShare         int64     `json:"payee_share"`
	Refunded           int64     `json:"refunded"`
	RefundedCommission int64     `json:"refunded_commission"`
	CreatedAt          time.Time `json:"created_at"`
}

func checkMoney(m Money, allowZero bool) (Money, error) {
	code, _, err := CheckCurrency(m.Currency)
	if err != nil {
		return Money{}, err
	}
	if m.Amount < 0 || (m.Amount == 0 && !allowZero) || m.Amount > MaxAmount {
		return Money{}, fmt.Errorf("%w: %d", ErrAmount, m.Amount)
	}
	return Money{Amount: m.Amount, Currency: code}, nil
}

// ErrAmount is an amount that is negative, zero where money must move, or
// absurd.
var ErrAmount = errors.New("billing: bad amount")

// TopUp credits a wallet from outside (the operator, or a test card).
func (s *Service) TopUp(ctx context.Context, tx *sql.Tx, userID string, m Money, reason string) (Entry, error) {
	m, err := checkMoney(m, false)
	if err != nil {
		return Entry{}, err
	}
	if err := s.Ledger.Lock(ctx, tx, m.Currency, Account{External, ""}, Account{Wallet, userID}); err != nil {
		return Entry{}, err
	}
	return s.Ledger.Post(ctx, tx, Entry{Reason: "topup", Ref: reason, Currency: m.Currency, Lines: []Line{
		{Account{External, ""}, -m.Amount},
		{Account{Wallet, userID}, m.Amount},
	}})
}

// PlaceHold sets money aside from userID's wallet for ref (a session):
// ErrInsufficient when the wallet has less.
func (s *Service) PlaceHold(ctx context.Context, tx *sql.Tx, userID string, m Money, ref string) (Hold, error) {
	return s.placeHold(ctx, tx, userID, m, ref, Wallet, "")
}

// placeHold records a hold of m for ref, its money from the payer's wallet
// (source Wallet) or from outside (External: a provider's authorization,
// entryRef naming it on the ledger's entry instead of the hold).
func (s *Service) placeHold(ctx context.Context, tx *sql.Tx, userID string, m Money, ref, source, entryRef string) (Hold, error) {
	m, err := checkMoney(m, false)
	if err != nil {
		return Hold{}, err
	}
	h := Hold{ID: newID(), UserID: userID, Amount: m, State: "held", Ref: ref, CreatedAt: s.now(), source: source}
	if entryRef == "" {
		entryRef = h.ID
	}
	if err := s.Ledger.Lock(ctx, tx, m.Currency, h.from(), Account{HoldAcct, userID}); err != nil {
		return Hold{}, err
	}
	if _, err := s.Ledger.Post(ctx, tx, Entry{Reason: "hold", Ref: entryRef, Currency: m.Currency, Lines: []Line{
		{h.from(), -m.Amount},
		{Account{HoldAcct, userID}, m.Amount},
	}}); err != nil {
		return Hold{}, err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO billing_holds (id, user_id, currency, amount, state, ref, created_at, source)
		VALUES ($1, $2, $3, $4, 'held', $5, $6, $7)`, h.ID, userID, m.Currency, m.Amount, ref, h.CreatedAt, source)
	return h, err
}

// ExtendHold adds to a hold still held (a per-minute session going on).
func (s *Service) ExtendHold(ctx context.Context, tx *sql.Tx, holdID string, more int64) (Hold, error) {
	h, err := s.lockHold(ctx, tx, holdID)
	if err != nil {
		return Hold{}, err
	}
	if h.State != "held" {
		return Hold{}, fmt.Errorf("%w: the hold is %s", ErrNotFound, h.State)
	}
	if _, err := checkMoney(Money{more, h.Amount.Currency}, false); err != nil {
		return Hold{}, err
	}
	if err := s.Ledger.Lock(ctx, tx, h.Amount.Currency, h.from(), Account{HoldAcct, h.UserID}); err != nil {
		return Hold{}, err
	}
	if _, err := s.Ledger.Post(ctx, tx, Entry{Reason: "hold", Ref: h.ID, Currency: h.Amount.Currency, Lines: []Line{
		{h.from(), -more},
		{Account{HoldAcct, h.UserID}, more},
	}}); err != nil {
		return Hold{}, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE billing_holds SET amount = amount + $1 WHERE id = $2`, more, holdID); err != nil {
		return Hold{}, err
	}
	h.Amount.Amount += more
	return h, nil
}

func (s *Service) lockHold(ctx context.Context, tx *sql.Tx, holdID string) (Hold, error) {
	lock := ""
	if s.db.Dialect == db.Postgres {
		lock = " FOR UPDATE"
	}
	var h Hold
	err := tx.QueryRowContext(ctx, `SELECT id, user_id, currency, amount, state, ref, created_at, source FROM billing_holds WHERE id = $1`+lock, holdID).
		Scan(&h.ID, &h.UserID, &h.Amount.Currency, &h.Amount.Amount, &h.State, &h.Ref, &h.CreatedAt, &h.source)
	if errors.Is(err, sql.ErrNoRows) {
		return Hold{}, ErrNotFound
	}
	return h, err
}

// Release gives a held amount back to the wallet untouched.
func (s *Service) Release(ctx context.Context, tx *sql.Tx, holdID string) error {
	_, err := s.Settle(ctx, tx, holdID, 0, "", 0)
	return err
}

// Settle captures amount (at most what is held) from a hold, gives the
// rest back, and splits what was captured: the commission (at rate, see
// Commission) to the platform's revenue, the remainder to payeeID's
// payable — all in tx, with the session's end. Capturing zero releases the
// hold and records no settlement.
func (s *Service) Settle(ctx context.Context, tx *sql.Tx, holdID string, amount int64, payeeID string, rate BasisPoints) (Settlement, error) {
	h, err := s.lockHold(ctx, tx, holdID)
	if err != nil {
		return Settlement{}, err
	}
	if h.State != "held" {
		return Settlement{}, fmt.Errorf("%w: the hold is %s", ErrNotFound, h.State)
	}
	if amount < 0 || amount > h.Amount.Amount {
		return Settlement{}, fmt.Errorf("%w: capture %d of a hold of %d", ErrTooMuch, amount, h.Amount.Amount)
	}
	if rate < 0 || rate > 10_000 {
		return Settlement{}, fmt.Errorf("%w: commission rate %d", ErrAmount, rate)
	}
	cur, payer := h.Amount.Currency, h.UserID
	touched := []Account{{HoldAcct, payer}, h.from()}
	if amount > 0 {
		touched = append(touched, Account{Clearing, ""}, Account{Payable, payeeID}, Account{Revenue, ""})
	}
	if err := s.Ledger.Lock(ctx, tx, cur, touched...); err != nil {
		return Settlement{}, err
	}
	if rest := h.Amount.Amount - amount; rest > 0 {
		if _, err := s.Ledger.Post(ctx, tx, Entry{Reason: "release", Ref: h.ID, Currency: cur, Lines: []Line{
			{Account{HoldAcct, payer}, -rest},
			{h.from(), rest},
		}}); err != nil {
			return Settlement{}, err
		}
	}
	now := s.now()
	state := "settled"
	if amount == 0 {
		state = "released"
	}
	if _, err := tx.ExecContext(ctx, `UPDATE billing_holds SET state = $1, settled_at = $2 WHERE id = $3`, state, now, holdID); err != nil {
		return Settlement{}, err
	}
	if amount == 0 {
		return Settlement{}, nil
	}
	st := Settlement{ID: newID(), Ref: h.Ref, PayerID: payer, PayeeID: payeeID, Amount: Money{amount, cur},
		Commission: Commission(amount, rate), CreatedAt: now}
	st.PayeeShare = amount - st.Commission
	if _, err := s.Ledger.Post(ctx, tx, Entry{Reason: "capture", Ref: st.ID, Currency: cur, Lines: []Line{
		{Account{HoldAcct, payer}, -amount},
		{Account{Clearing, ""}, amount},
	}}); err != nil {
		return Settlement{}, err
	}
	if _, err := s.Ledger.Post(ctx, tx, Entry{Reason: "commission", Ref: st.ID, Currency: cur, Lines: []Line{
		{Account{Clearing, ""}, -amount},
		{Account{Payable, payeeID}, st.PayeeShare},
		{Account{Revenue, ""}, st.Commission},
	}}); err != nil {
		return Settlement{}, err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO billing_settlements (id, hold_id, ref, payer_id, payee_id, currency, amount, commission, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, st.ID, holdID, st.Ref, payer, payeeID, cur, amount, st.Commission, now)
	return st, err
}

// Refund gives part of a settlement back to its payer, taking it from the
// payee's share and the platform's commission pro rata (ProRata): the
// commission given back so far is always ProRata(commission, refunded so
// far, amount), so several partial refunds reverse exactly what one would.
// More than is left to refund is ErrTooMuch. reason names the kind of
// refund in the ledger (refund, refund.guarantee, refund.expert, …).
func (s *Service) Refund(ctx context.Context, tx *sql.Tx, settlementID string, amount int64, reason string) (Settlement, error) {
	if reason == "" {
		reason = "refund"
	}
	lock := ""
	if s.db.Dialect == db.Postgres {
		lock = " FOR UPDATE"
	}
	var st Settlement
	err := tx.QueryRowContext(ctx, `SELECT id, ref, payer_id, payee_id, currency, amount, commission, refunded, refunded_commission, created_at
		FROM billing_settlements WHERE id = $1`+lock, settlementID).Scan(&st.ID, &st.Ref, &st.PayerID, &st.PayeeID, &st.Amount.Currency,
		&st.Amount.Amount, &st.Commission, &st.Refunded, &st.RefundedCommission, &st.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Settlement{}, ErrNotFound
	} else if err != nil {
		return Settlement{}, err
	}
	if amount <= 0 {
		return Settlement{}, fmt.Errorf("%w: refund %d", ErrAmount, amount)
	}
	if amount > st.Amount.Amount-st.Refunded {
		return Settlement{}, fmt.Errorf("%w: refund %d, %d left to refund", ErrTooMuch, amount, st.Amount.Amount-st.Refunded)
	}
	// The money goes back where it came from: the payer's wallet, or the
	// outside world for a provider's capture.
	back := Account{Wallet, st.PayerID}
	var source string
	if err := tx.QueryRowContext(ctx, `SELECT h.source FROM billing_settlements s JOIN billing_holds h ON h.id = s.hold_id WHERE s.id = $1`,
		st.ID).Scan(&source); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return Settlement{}, err
	}
	if source == External {
		back = Account{External, ""}
	}
	if err := s.Ledger.Lock(ctx, tx, st.Amount.Currency, Account{Payable, st.PayeeID}, Account{Revenue, ""}, back); err != nil {
		return Settlement{}, err
	}
	refunded := st.Refunded + amount
	commissionBack := ProRata(st.Commission, refunded, st.Amount.Amount) - st.RefundedCommission
	if _, err := s.Ledger.Post(ctx, tx, Entry{Reason: reason, Ref: st.ID, Currency: st.Amount.Currency, Lines: []Line{
		{Account{Payable, st.PayeeID}, -(amount - commissionBack)},
		{Account{Revenue, ""}, -commissionBack},
		{back, amount},
	}}); err != nil {
		return Settlement{}, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE billing_settlements SET refunded = $1, refunded_commission = $2 WHERE id = $3`,
		refunded, st.RefundedCommission+commissionBack, st.ID); err != nil {
		return Settlement{}, err
	}
	st.Refunded, st.RefundedCommission = refunded, st.RefundedCommission+commissionBack
	st.PayeeShare = st.Amount.Amount - st.Commission
	return st, nil
}

// PayOut pays payeeID's whole payable balance in a currency out to them,
// if it reaches minimum; it returns the amount paid (0 when below).
func (s *Service) PayOut(ctx context.Context, tx *sql.Tx, payeeID, cur string, minimum int64) (int64, error) {
	if err := s.Ledger.Lock(ctx, tx, cur, Account{Payable, payeeID}, Account{Payout, payeeID}); err != nil {
		return 0, err
	}
	bal, err := s.Ledger.Balance(ctx, tx, Account{Payable, payeeID}, cur)
	if err != nil || bal <= 0 || bal < minimum {
		return 0, err
	}
	id := newID()
	if _, err := s.Ledger.Post(ctx, tx, Entry{Reason: "payout", Ref: id, Currency: cur, Lines: []Line{
		{Account{Payable, payeeID}, -bal},
		{Account{Payout, payeeID}, bal},
	}}); err != nil {
		return 0, err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO billing_payouts (id, payee_id, currency, amount, created_at) VALUES ($1, $2, $3, $4, $5)`,
		id, payeeID, cur, bal, s.now())
	return bal, err
}

// PaidOut is one payee's payout in a run.
type PaidOut struct {
	PayeeID string `json:"payee_id"`
	Amount  Money  `json:"amount"`
}

// PayOutAll pays every payee whose payable balance in cur reaches minimum,
// each in a transaction of its own (one failure does not undo the others).
func (s *Service) PayOutAll(ctx context.Context, cur string, minimum int64) ([]PaidOut, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT owner_id FROM billing_accounts WHERE kind = 'payable' AND currency = $1 AND balance > 0
		AND balance >= $2 ORDER BY owner_id`, cur, minimum)
	if err != nil {
		return nil, err
	}
	var payees []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		payees = append(payees, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := []PaidOut{}
	for _, p := range payees {
		var paid int64
		if err := s.db.Tx(ctx, func(tx *sql.Tx) (err error) { paid, err = s.PayOut(ctx, tx, p, cur, minimum); return }); err != nil {
			return out, err
		}
		if paid > 0 {
			out = append(out, PaidOut{PayeeID: p, Amount: Money{paid, cur}})
		}
	}
	return out, nil
}
