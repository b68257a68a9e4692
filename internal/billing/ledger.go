package billing

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/parley-chat/parley/internal/db"
)

//go:embed migrations
var migrationFS embed.FS

// Migrations is the billing schema.
var Migrations = db.Migrations{Component: "billing", FS: func() fs.FS {
	sub, err := fs.Sub(migrationFS, "migrations")
	if err != nil {
		panic(err)
	}
	return sub
}()}

// Account kinds. A person's money is in their wallet; a hold is money set
// aside from it; clearing is where captured money waits to be split in the
// same transaction; payable is what the platform owes an expert; revenue
// is the platform's commission; external is the outside world (top-ups
// come from it, payouts go to it through payout).
const (
	Wallet   = "wallet"
	HoldAcct = "hold"
	Clearing = "clearing"
	Payable  = "payable"
	Revenue  = "revenue"
	External = "external"
	Payout   = "payout"
)

// Account names one ledger account.
type Account struct {
	Kind    string // one of the kinds above
	OwnerID string // the person, for wallet, hold, payable and payout; "" for the platform's
}

// Line moves Amount into (positive) or out of (negative) an account.
type Line struct {
	Account Account
	Amount  int64
}

// Entry is one journal entry: lines in one currency that sum to zero.
type Entry struct {
	ID        string    `json:"id"`
	Reason    string    `json:"reason"` // topup, hold, capture, release, commission, refund, payout
	Ref       string    `json:"ref"`    // the session, hold or settlement it belongs to
	Currency  string    `json:"currency"`
	CreatedAt time.Time `json:"created_at"`
	Lines     []Line    `json:"-"`
}

// Errors.
var (
	ErrUnbalanced   = errors.New("billing: an entry's lines must sum to zero")
	ErrInsufficient = errors.New("billing: insufficient funds")
	ErrNotFound     = errors.New("billing: not found")
	ErrTooMuch      = errors.New("billing: more than there is to take")
)

// Ledger writes entries and reads balances.
type Ledger struct {
	db  *db.DB
	now func() time.Time
}

// NewLedger builds a ledger over the database.
func NewLedger(d *db.DB, now func() time.Time) *Ledger {
	if now == nil {
		now = time.Now
	}
	return &Ledger{db: d, now: func() time.Time { return db.Time(now()) }}
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// Post writes an entry inside tx: the lines, and each account's balance
// with them. Accounts are created on first use. A line that would take a
// person's money below zero fails the whole entry with ErrInsufficient;
// lines that do not sum to zero are refused before anything is written.
// Accounts are updated in a fixed order, so two entries touching the same
// accounts cannot deadlock on PostgreSQL.
func (l *Ledger) Post(ctx context.Context, tx *sql.Tx, e Entry) (Entry, error) {
	var sum int64
	merged := map[Account]int64{}
	for _, ln := range e.Lines {
		if ln.Amount == 0 {
			continue
		}
		if ln.Amount > MaxAmount || ln.Amount < -MaxAmount {
			return Entry{}, ErrTooMuch
		}
		sum += ln.Amount
		merged[ln.Account] += ln.Amount
	}
	if sum != 0 {
		return Entry{}, ErrUnbalanced
	}
	if _, _, err := CheckCurrency(e.Currency); err != nil {
		return Entry{}, err
	}
	keys := make([]Account, 0, len(merged))
	for a, amt := range merged {
		if amt != 0 {
			keys = append(keys, a)
		}
	}
	if len(keys) == 0 {
		return Entry{}, ErrUnbalanced
	}
	slices.SortFunc(keys, compareAccounts)
	e.ID, e.CreatedAt = newID(), l.now()
	if _, err := tx.ExecContext(ctx, `INSERT INTO billing_entries (id, reason, ref, currency, created_at) VALUES ($1, $2, $3, $4, $5)`,
		e.ID, e.Reason, e.Ref, e.Currency, e.CreatedAt); err != nil {
		return Entry{}, err
	}
	e.Lines = e.Lines[:0:0]
	values, args := make([]string, 0, len(keys)), []any{e.ID}
	for _, a := range keys {
		id, err := l.account(ctx, tx, a, e.Currency)
		if err != nil {
			return Entry{}, err
		}
		amt := merged[a]
		if keepsBalance(a.Kind) {
			if _, err := tx.ExecContext(ctx, `UPDATE billing_accounts SET balance = balance + $1 WHERE id = $2`, amt, id); err != nil {
				if isCheckViolation(err) {
					return Entry{}, fmt.Errorf("%w in %s %s", ErrInsufficient, a.Kind, e.Currency)
				}
				return Entry{}, err
			}
		}
		args = append(args, id, amt)
		values = append(values, fmt.Sprintf("($1, $%d, $%d)", len(args)-1, len(args)))
		e.Lines = append(e.Lines, Line{Account: a, Amount: amt})
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO billing_lines (entry_id, account_id, amount) VALUES `+strings.Join(values, ", "), args...); err != nil {
		return Entry{}, err
	}
	return e, nil
}

// keepsBalance says which accounts keep their balance in their row: a
// person's (wallet, hold, payable, payout), guarded against overdraft by
// the row's CHECK and locked by each operation that moves them. The
// platform's own accounts (clearing, revenue, external) are touched by
// every session end; a balance row for them would make every settlement
// wait for the one before, so their balance is the sum of their lines.
func keepsBalance(kind string) bool {
	return kind == Wallet || kind == HoldAcct || kind == Payable || kind == Payout
}

// Lock makes sure the accounts exist and, on PostgreSQL, locks those that
// keep a balance in one global order (kind, then owner). Every operation of this package locks
// all the accounts it will touch this way before posting, so operations
// sharing accounts — a settlement and a refund both touch the platform's
// revenue and an expert's payable — queue instead of deadlocking. SQLite's
// single writer needs no locks.
func (l *Ledger) Lock(ctx context.Context, tx *sql.Tx, cur string, accounts ...Account) error {
	accounts = slices.Clone(accounts)
	slices.SortFunc(accounts, compareAccounts)
	accounts = slices.Compact(accounts)
	for _, a := range accounts {
		id, err := l.account(ctx, tx, a, cur)
		if err != nil {
			return err
		}
		if l.db.Dialect == db.Postgres && keepsBalance(a.Kind) {
			if _, err := tx.ExecContext(ctx, `SELECT 1 FROM billing_accounts WHERE id = $1 FOR UPDATE`, id); err != nil {
				return err
			}
		}
	}
	return nil
}

func compareAccounts(a, b Account) int {
	return strings.Compare(a.Kind+"\x00"+a.OwnerID, b.Kind+"\x00"+b.OwnerID)
}

// account returns the id of an account, creating it at zero. (Ids are not
// cached: one made by a transaction that then rolls back would dangle, and
// looking outside the transaction could wait for a connection the
// caller's own transactions hold.)
func (l *Ledger) account(ctx context.Context, tx *sql.Tx, a Account, cur string) (string, error) {
	const find = `SELECT id FROM billing_accounts WHERE kind = $1 AND owner_id = $2 AND currency = $3`
	var id string
	err := tx.QueryRowContext(ctx, find, a.Kind, a.OwnerID, cur).Scan(&id)
	if err == nil {
		return id, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", err
	}
	id = newID()
	if _, err := tx.ExecContext(ctx, `INSERT INTO billing_accounts (id, kind, owner_id, currency, created_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (kind, owner_id, currency) DO NOTHING`, id, a.Kind, a.OwnerID, cur, l.now()); err != nil {
		return "", err
	}
	// Someone else may have made it first (ON CONFLICT): read the winner.
	err = tx.QueryRowContext(ctx, find, a.Kind, a.OwnerID, cur).Scan(&id)
	return id, err
}

// Balance is an account's balance (zero for one never used).
func (l *Ledger) Balance(ctx context.Context, q db.Querier, a Account, cur string) (int64, error) {
	var b int64
	query := `SELECT balance FROM billing_accounts WHERE kind = $1 AND owner_id = $2 AND currency = $3`
	if !keepsBalance(a.Kind) {
		query = `SELECT COALESCE(SUM(l.amount), 0) FROM billing_accounts a JOIN billing_lines l ON l.account_id = a.id
			WHERE a.kind = $1 AND a.owner_id = $2 AND a.currency = $3`
	}
	err := q.QueryRowContext(ctx, query, a.Kind, a.OwnerID, cur).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return b, err
}

// isCheckViolation recognises a CHECK constraint failure on both engines
// (the no-overdraft rule of billing_accounts).
func isCheckViolation(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "CHECK constraint failed") || strings.Contains(msg, "SQLSTATE 23514") ||
		strings.Contains(msg, "violates check constraint")
}
