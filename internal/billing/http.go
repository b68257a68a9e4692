package billing

import (
	"database/sql"
	"encoding/csv"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/httpx"
)

// HTTP serves balances, the ledger, top-ups and payouts.
type HTTP struct {
	svc     *Service
	MaxBody int64
}

// NewHTTP binds handlers to the service.
func NewHTTP(svc *Service) *HTTP { return &HTTP{svc: svc, MaxBody: httpx.DefaultMaxBody} }

// Routes registers the billing API.
func (h *HTTP) Routes(rt *httpx.Router) {
	rt.Handle("GET /api/v1/billing/balance", h.balance)
	rt.Handle("GET /api/v1/billing/ledger", h.ledger)
	rt.Handle("GET /api/v1/billing/statement", h.statement)
	rt.Handle("POST /api/v1/billing/topups", h.topUp)
	rt.Handle("POST /api/v1/billing/payouts", h.payouts)
}

// Problem maps billing errors to problems.
func Problem(err error) error {
	switch {
	case errors.Is(err, ErrCurrency):
		return httpx.Invalid(httpx.FieldError{Field: "amount.currency", Detail: "an ISO 4217 currency such as USD"})
	case errors.Is(err, ErrAmount):
		return httpx.Invalid(httpx.FieldError{Field: "amount.amount", Detail: "more than 0, in minor units, and not absurd"})
	case errors.Is(err, ErrInsufficient):
		return httpx.NewProblem(http.StatusPaymentRequired, "payment-required", "Payment required", err.Error())
	case errors.Is(err, ErrNotFound):
		return httpx.NotFound()
	}
	return err
}

// Balance is one person's money in one currency.
type Balance struct {
	Currency string `json:"currency"`
	Wallet   int64  `json:"wallet"`   // theirs to spend
	Held     int64  `json:"held"`     // set aside for sessions
	Payable  int64  `json:"payable"`  // earned, not yet paid out (experts)
	PaidOut  int64  `json:"paid_out"` // paid out so far (experts)
}

func (h *HTTP) balance(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.Need(r)
	if err != nil {
		return err
	}
	rows, err := h.svc.db.QueryContext(r.Context(), `SELECT kind, currency, balance FROM billing_accounts
		WHERE owner_id = $1 AND kind IN ('wallet', 'hold', 'payable', 'payout') ORDER BY currency`, p.User.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	byCur := map[string]*Balance{}
	out := []*Balance{}
	for rows.Next() {
		var (
			kind, cur string
			amount    int64
		)
		if err := rows.Scan(&kind, &cur, &amount); err != nil {
			return err
		}
		b := byCur[cur]
		if b == nil {
			b = &Balance{Currency: cur}
			byCur[cur] = b
			out = append(out, b)
		}
		switch kind {
		case Wallet:
			b.Wallet = amount
		case HoldAcct:
			b.Held = amount
		case Payable:
			b.Payable = amount
		case Payout:
			b.PaidOut = amount
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{"items": out})
}

// Posting is one line of the ledger as the operator reads it.
type Posting struct {
	EntryID  string    `json:"entry_id"`
	At       time.Time `json:"at"`
	Reason   string    `json:"reason"`
	Ref      string    `json:"ref"`
	Account  string    `json:"account"` // kind
	OwnerID  string    `json:"owner_id,omitempty"`
	Currency string    `json:"currency"`
	Amount   int64     `json:"amount"`
}

// ledger lists postings oldest first (the operator's view and CSV export
// for accounting), from after an entry id.
func (h *HTTP) ledger(w http.ResponseWriter, r *http.Request) error {
	if _, err := auth.Need(r, auth.RoleAdmin); err != nil {
		return err
	}
	q := r.URL.Query()
	format := q.Get("format")
	if format != "" && format != "json" && format != "csv" {
		return httpx.Invalid(httpx.FieldError{Field: "format", Detail: "json or csv"})
	}
	limit := 100_000 // entries in one CSV; more with after=
	if format != "csv" {
		var err error
		if limit, err = httpx.PageLimit(r, 100, 1000); err != nil {
			return err
		}
	}
	// Pages hold whole entries: limit counts entries, never splitting one.
	rows, err := h.svc.db.QueryContext(r.Context(), `SELECT e.id, e.created_at, e.reason, e.ref, a.kind, a.owner_id, e.currency, l.amount
		FROM (SELECT id FROM billing_entries WHERE id > $1 ORDER BY id LIMIT $2) page
		JOIN billing_entries e ON e.id = page.id JOIN billing_lines l ON l.entry_id = e.id JOIN billing_accounts a ON a.id = l.account_id
		ORDER BY e.id, a.kind, a.owner_id`, q.Get("after"), limit+1)
	if err != nil {
		return err
	}
	defer rows.Close()
	out := []Posting{}
	entries := 0
	for rows.Next() {
		var p Posting
		if err := rows.Scan(&p.EntryID, &p.At, &p.Reason, &p.Ref, &p.Account, &p.OwnerID, &p.Currency, &p.Amount); err != nil {
			return err
		}
		if len(out) == 0 || out[len(out)-1].EntryID != p.EntryID {
			entries++
		}
		if entries > limit {
			break
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	more := entries > limit
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="ledger.csv"`)
		cw := csv.NewWriter(w)
		_ = cw.Write([]string{"entry_id", "at", "reason", "ref", "account", "owner_id", "currency", "amount"})
		for _, p := range out {
			_ = cw.Write([]string{p.EntryID, p.At.UTC().Format(time.RFC3339Nano), p.Reason, p.Ref, p.Account, p.OwnerID, p.Currency,
				strconv.FormatInt(p.Amount, 10)})
		}
		cw.Flush()
		return cw.Error()
	}
	page := map[string]any{"items": out, "more": more}
	if more && len(out) > 0 {
		page["next"] = out[len(out)-1].EntryID
	}
	return httpx.WriteJSON(w, http.StatusOK, page)
}

// statement lists the caller's own postings — wallet, holds, earnings and
// payouts — newest first: an expert's statement of what they earned and
// were paid, a learner's of what they spent.
func (h *HTTP) statement(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.Need(r)
	if err != nil {
		return err
	}
	limit, err := httpx.PageLimit(r, 100, 500)
	if err != nil {
		return err
	}
	before := r.URL.Query().Get("before")
	if before == "" {
		before = "\uffff"
	}
	// Pages hold whole entries: limit counts the entries, newest first.
	const mine = `FROM billing_accounts a JOIN billing_lines l ON l.account_id = a.id JOIN billing_entries e ON e.id = l.entry_id
		WHERE a.owner_id = $1 AND a.kind IN ('wallet', 'hold', 'payable', 'payout')`
	rows, err := h.svc.db.QueryContext(r.Context(), `SELECT e.id, e.created_at, e.reason, e.ref, a.kind, a.owner_id, e.currency, l.amount `+mine+`
		AND e.id IN (SELECT DISTINCT e.id `+mine+` AND e.id < $2 ORDER BY e.id DESC LIMIT $3)
		ORDER BY e.id DESC, a.kind`, p.User.ID, before, limit+1)
	if err != nil {
		return err
	}
	defer rows.Close()
	out := []Posting{}
	entries := 0
	for rows.Next() {
		var ps Posting
		if err := rows.Scan(&ps.EntryID, &ps.At, &ps.Reason, &ps.Ref, &ps.Account, &ps.OwnerID, &ps.Currency, &ps.Amount); err != nil {
			return err
		}
		if len(out) == 0 || out[len(out)-1].EntryID != ps.EntryID {
			entries++
		}
		if entries > limit {
			break
		}
		out = append(out, ps)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	page := map[string]any{"items": out, "more": entries > limit}
	if entries > limit {
		page["next"] = out[len(out)-1].EntryID
	}
	return httpx.WriteJSON(w, http.StatusOK, page)
}

func (h *HTTP) topUp(w http.ResponseWriter, r *http.Request) error {
	if _, err := auth.Need(r, auth.RoleAdmin); err != nil {
		return err
	}
	var in struct {
		UserID string `json:"user_id"`
		Amount Money  `json:"amount"`
		Note   string `json:"note"`
	}
	if err := httpx.DecodeJSON(w, r, h.MaxBody, &in); err != nil {
		return err
	}
	if in.UserID == "" {
		return httpx.Invalid(httpx.FieldError{Field: "user_id", Detail: "required"})
	}
	if len(in.Note) > 200 || !utf8.ValidString(in.Note) || strings.ContainsFunc(in.Note, unicode.IsControl) {
		return httpx.Invalid(httpx.FieldError{Field: "note", Detail: "at most 200 bytes of text"})
	}
	var one int
	if err := h.svc.db.QueryRowContext(r.Context(), `SELECT 1 FROM users WHERE id = $1`, in.UserID).Scan(&one); errors.Is(err, sql.ErrNoRows) {
		return httpx.Invalid(httpx.FieldError{Field: "user_id", Detail: "no such user"})
	} else if err != nil {
		return err
	}
	var e Entry
	err := h.svc.db.Tx(r.Context(), func(tx *sql.Tx) (err error) {
		e, err = h.svc.TopUp(r.Context(), tx, in.UserID, in.Amount, in.Note)
		return err
	})
	if err != nil {
		return Problem(err)
	}
	// Echo the amount as the ledger holds it (the currency in canonical form).
	return httpx.WriteJSON(w, http.StatusCreated, map[string]any{"entry_id": e.ID, "user_id": in.UserID,
		"amount": Money{Amount: in.Amount.Amount, Currency: e.Currency}})
}

// payouts pays every payee whose payable balance in a currency reaches
// the minimum: the scheduled run an operator (or a cron) starts.
func (h *HTTP) payouts(w http.ResponseWriter, r *http.Request) error {
	if _, err := auth.Need(r, auth.RoleAdmin); err != nil {
		return err
	}
	var in struct {
		Currency string `json:"currency"`
		Minimum  int64  `json:"minimum"`
	}
	if err := httpx.DecodeJSON(w, r, h.MaxBody, &in); err != nil {
		return err
	}
	cur, _, err := CheckCurrency(in.Currency)
	if err != nil {
		return httpx.Invalid(httpx.FieldError{Field: "currency", Detail: "an ISO 4217 currency such as USD"})
	}
	if in.Minimum < 0 || in.Minimum > MaxAmount {
		return httpx.Invalid(httpx.FieldError{Field: "minimum", Detail: "0 or more, in minor units"})
	}
	paid, err := h.svc.PayOutAll(r.Context(), cur, in.Minimum)
	if err != nil {
		return Problem(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{"items": paid})
}
