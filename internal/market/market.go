// Package market owns the expert marketplace: experts and their vetting,
// categories with their commissions, listings and their review, discovery,
// and (with billing) paid sessions.
package market

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/parley-chat/parley/internal/billing"
	"github.com/parley-chat/parley/internal/blob"
	"github.com/parley-chat/parley/internal/db"
	"github.com/parley-chat/parley/internal/httpx"
	"github.com/parley-chat/parley/internal/mail"
)

//go:embed migrations
var migrationFS embed.FS

// Migrations is the marketplace's schema; it needs accounts.
var Migrations = db.Migrations{Component: "market", FS: func() fs.FS {
	sub, err := fs.Sub(migrationFS, "migrations")
	if err != nil {
		panic(err)
	}
	return sub
}()}

// Review states shared by experts and listings.
const (
	Pending          = "pending"
	Approved         = "approved"
	Rejected         = "rejected"
	ChangesRequested = "changes_requested"
	Suspended        = "suspended"
	Withdrawn        = "withdrawn" // a listing its expert took down
)

// Errors the handlers map to problems.
var (
	ErrNotFound    = errors.New("market: not found")
	ErrNotApproved = errors.New("market: only approved experts may do this")
	ErrWrongState  = errors.New("market: not in a state for this")
	ErrApplied     = errors.New("market: already applied")
)

// Config wires the marketplace to the services its sessions use.
type Config struct {
	Chat    Chat
	Calls   Calls
	Meter   Meter
	Billing *billing.Service
	Blobs   blob.Store  // experts' photos and listings' intro videos
	Mail    mail.Mailer // reminders by e-mail (none when nil)
	Notify  Notifier    // reminders in the app (none when nil)
	// ContactPolicy is what pre-session chat does with e-mail addresses
	// and phone numbers: mask (the default), flag or off.
	ContactPolicy string
	Now           func() time.Time
	Log           *slog.Logger

	// Payments moves sessions' money: the wallet (Billing) when nil, or an
	// outside provider (billing.ProviderPayments).
	Payments Payments
}

// Service runs the marketplace.
type Service struct {
	db  *db.DB
	cfg Config
	now func() time.Time
	// inBooking, when set (tests), runs first in a booking's transaction:
	// a way to make the database fail there.
	inBooking func(ctx context.Context, tx *sql.Tx) error
}

// NewService builds the marketplace.
func NewService(d *db.DB, cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.ContactPolicy == "" {
		cfg.ContactPolicy = ContactMask
	}
	return &Service{db: d, cfg: cfg, now: func() time.Time { return db.Time(cfg.Now()) }}
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only our own plain types go in
	}
	return string(b)
}

func isControl(r rune) bool { return (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f }

// text trims and checks a text field: required or not, at most limit
// characters, valid UTF-8, no control characters but newlines and tabs.
func text(v *httpx.Validator, field, s string, required bool, limit int) string {
	s = strings.TrimSpace(s)
	ok := utf8.ValidString(s) && utf8.RuneCountInString(s) <= limit && !strings.ContainsFunc(s, isControl)
	v.Check(ok, field, fmt.Sprintf("at most %d characters of text", limit))
	if required {
		v.Check(s != "", field, "required")
	}
	return s
}

// languages checks a list of BCP 47 language tags (simple form: "en",
// "ko", "pt-BR").
func languages(v *httpx.Validator, field string, tags []string) []string {
	if len(tags) == 0 {
		v.Check(false, field, "name at least one language, such as en or ko")
		return []string{}
	}
	v.Check(len(tags) <= 20, field, "at most 20 languages")
	out := make([]string, 0, len(tags))
	for i, t := range tags {
		t = strings.TrimSpace(t)
		v.Check(validTag(t), fmt.Sprintf("%s[%d]", field, i), "a language tag such as en, ko or pt-BR")
		out = append(out, t)
	}
	return out
}

func validTag(t string) bool {
	parts := strings.Split(t, "-")
	if len(parts[0]) < 2 || len(parts[0]) > 3 || len(parts) > 3 {
		return false
	}
	for _, p := range parts {
		if p == "" || len(p) > 8 {
			return false
		}
		for _, r := range p {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
				return false
			}
		}
	}
	return true
}

// decide records an operator's decision in tx.
func (s *Service) decide(ctx context.Context, tx *sql.Tx, subjectType, subjectID, decision, reason, by string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO market_decisions (id, subject_type, subject_id, decision, reason, decided_by, decided_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, newID(), subjectType, subjectID, decision, reason, by, s.now())
	return err
}

// Decision is one recorded review decision.
type Decision struct {
	Decision  string    `json:"decision"`
	Reason    string    `json:"reason,omitempty"`
	DecidedBy string    `json:"decided_by"`
	DecidedAt time.Time `json:"decided_at"`
}

// Decisions lists the decisions on a subject, oldest first.
func (s *Service) Decisions(ctx context.Context, subjectType, subjectID string) ([]Decision, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT decision, reason, decided_by, decided_at FROM market_decisions
		WHERE subject_type = $1 AND subject_id = $2 ORDER BY decided_at, id`, subjectType, subjectID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Decision{}
	for rows.Next() {
		var d Decision
		if err := rows.Scan(&d.Decision, &d.Reason, &d.DecidedBy, &d.DecidedAt); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Problem maps the marketplace's errors to problems.
func Problem(err error) error {
	var pay *PaymentError
	if errors.As(err, &pay) {
		return pay.Problem()
	}
	switch {
	case errors.Is(err, billing.ErrDisputed):
		return httpx.Conflict("disputed", strings.TrimPrefix(err.Error(), billing.ErrDisputed.Error()+": "))
	case errors.Is(err, ErrNotFound):
		return httpx.NotFound()
	case errors.Is(err, ErrNotAllowed):
		return httpx.Forbidden(strings.TrimPrefix(err.Error(), ErrNotAllowed.Error()+": "))
	case errors.Is(err, ErrNotApproved):
		return httpx.Forbidden(err.Error())
	case errors.Is(err, ErrApplied):
		return httpx.Conflict("already-applied", "you have applied already; edit your application instead")
	case errors.Is(err, ErrMediaTooLarge):
		return httpx.NewProblem(413, "too-large", "Too large", strings.TrimPrefix(err.Error(), ErrMediaTooLarge.Error()+": "))
	case errors.Is(err, ErrSlotTaken):
		return httpx.Conflict("slot-taken", "that time was just taken; choose another")
	case errors.Is(err, ErrUnavailable):
		return httpx.Conflict("expert-unavailable", strings.TrimPrefix(err.Error(), ErrUnavailable.Error()+": "))
	case errors.Is(err, ErrPayment):
		return httpx.NewProblem(402, "payment-required", "Payment required", strings.TrimPrefix(err.Error(), ErrPayment.Error()+": "))
	case errors.Is(err, ErrReviewed):
		return httpx.Conflict("already-reviewed", "this session has its review already")
	case errors.Is(err, billing.ErrTooMuch):
		return httpx.Conflict("too-much", "more than there is: "+err.Error())
	case errors.Is(err, ErrWrongState):
		return httpx.Conflict("wrong-state", strings.TrimPrefix(err.Error(), ErrWrongState.Error()+": "))
	}
	return err
}
