package market

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/parley-chat/parley/internal/billing"
	"github.com/parley-chat/parley/internal/db"
	"github.com/parley-chat/parley/internal/mail"
)

// Card holds of sessions booked far ahead. A card authorization lapses
// after about 7 days, so a session booked further ahead than
// AuthorizeAhead is not authorized at booking (the card and the expert's
// account are checked, nothing is held): the sweep places its hold off
// session AuthorizeBefore its start (a strict listing, whose fees start 7
// days before, 6 days before), retries a failure every AuthorizeRetry —
// the learner is told at the first failure, in the app and by e-mail, and
// may change their card meanwhile — and cancels the session without a fee
// if it still holds nothing AuthorizeCutoff before its start, telling both
// people. A cancellation fee that falls due before the hold is placed is
// waived. The wallet holds at booking, always.
const (
	AuthorizeAhead  = 6 * 24 * time.Hour
	AuthorizeBefore = 24 * time.Hour
	AuthorizeRetry  = 2 * time.Hour
	AuthorizeCutoff = 2 * time.Hour
)

// authorizeAt is when the sweep places a deferred hold of a session
// starting at start under a cancellation policy.
func authorizeAt(start time.Time, policy string) time.Time {
	if policy == "strict" {
		return start.Add(-AuthorizeAhead)
	}
	return start.Add(-AuthorizeBefore)
}

// deferHold says whether a booking's card hold is placed later, near its
// start, instead of at booking.
func (s *Service) deferHold(p bookingPlan) bool {
	return p.in.Start != nil && s.payments().Defers() && p.se.StartAt.Sub(s.now()) > AuthorizeAhead
}

// recordDeferred records, in the booking's transaction, a hold the sweep
// places later.
func (s *Service) recordDeferred(ctx context.Context, tx *sql.Tx, p bookingPlan) error {
	at := authorizeAt(p.se.StartAt, p.se.Cancellation)
	_, err := tx.ExecContext(ctx, `INSERT INTO market_deferred_holds (session_id, amount, currency, next_at, status, created_at)
		VALUES ($1, $2, $3, $4, 'pending', $5)`, p.se.ID, p.hold, p.se.Price.Currency, at, s.now())
	return err
}

// moveDeferred follows a rescheduled session's start in tx.
func (s *Service) moveDeferred(ctx context.Context, tx *sql.Tx, id string, start time.Time, policy string) error {
	_, err := tx.ExecContext(ctx, `UPDATE market_deferred_holds SET next_at = $1 WHERE session_id = $2 AND status = 'pending'`,
		authorizeAt(start, policy), id)
	return err
}

// deferAgain, in a reschedule's transaction, lets go of a session's card
// hold when its new start is more than AuthorizeAhead after the hold was
// placed (the authorization would lapse before the session), and makes it
// a deferred hold the sweep places near the new start, as if booked that
// far ahead; it returns the released hold, whose cancel is flushed after
// the commit. A wallet's hold never lapses and is kept.
func (s *Service) deferAgain(ctx context.Context, tx *sql.Tx, id string, start time.Time, policy string) (released string, err error) {
	if !s.payments().Defers() {
		return "", nil
	}
	var (
		holdID, currency, source string
		amount                   int64
		placed                   time.Time
	)
	err = tx.QueryRowContext(ctx, `SELECT h.id, h.amount, h.currency, h.source, h.created_at FROM market_sessions s
		JOIN billing_holds h ON h.id = s.hold_id WHERE s.id = $1 AND h.state = 'held'`, id).Scan(&holdID, &amount, &currency, &source, &placed)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil // no hold yet (deferred already), or none needed
	} else if err != nil {
		return "", err
	}
	if source != billing.External || start.Sub(placed) <= AuthorizeAhead {
		return "", nil
	}
	if _, err := s.payments().Settle(ctx, tx, holdID, 0, "", 0); err != nil {
		return "", err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE market_sessions SET hold_id = '' WHERE id = $1`, id); err != nil {
		return "", err
	}
	// The hold let go of was an attempt (the booking's is the first; a
	// session deferred before keeps its count), so the next hold's
	// idempotency key (parley-hold-<session>-<n>) is a new one.
	_, err = tx.ExecContext(ctx, `INSERT INTO market_deferred_holds (session_id, amount, currency, next_at, attempts, status, created_at)
		VALUES ($1, $2, $3, $4, 1, 'pending', $5)
		ON CONFLICT (session_id) DO UPDATE SET amount = $2, currency = $3, next_at = $4, status = 'pending', last_error = ''`,
		id, amount, currency, authorizeAt(start, policy), s.now())
	return holdID, err
}

// placeDeferred places the deferred holds whose time has come (Sweep).
func (s *Service) placeDeferred(ctx context.Context) error {
	ids, err := db.Strings(ctx, s.db, `SELECT session_id FROM market_deferred_holds WHERE status = 'pending' AND next_at <= $1
		ORDER BY next_at LIMIT 100`, s.now())
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := s.placeOne(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) placeOne(ctx context.Context, id string) error {
	se, err := s.session(ctx, s.db, id)
	if err != nil {
		return err
	}
	return s.place(ctx, se)
}

// place places the deferred hold of se, as it was read before: the
// attempt is claimed only while it is still due (a reschedule since moved
// it), and the hold is recorded only on the session still booked at the
// start it was read with; otherwise the authorization is let go of.
func (s *Service) place(ctx context.Context, se Session) error {
	now, id := s.now(), se.ID
	if se.Status != Booked || se.holdID != "" {
		_, err := s.db.ExecContext(ctx, `UPDATE market_deferred_holds SET status = 'dropped' WHERE session_id = $1 AND status = 'pending'`, id)
		return err
	}
	if !now.Before(se.StartAt.Add(-AuthorizeCutoff)) {
		return s.dropUnpaid(ctx, se)
	}
	var (
		amount   int64
		currency string
		attempts int
		lastErr  string
	)
	if err := s.db.QueryRowContext(ctx, `SELECT amount, currency, attempts, last_error FROM market_deferred_holds WHERE session_id = $1`, id).
		Scan(&amount, &currency, &attempts, &lastErr); err != nil {
		return err
	}
	// Claim this attempt (two nodes sweep): the next is due AuthorizeRetry
	// later, or at the cutoff if that is sooner.
	next := min(now.Add(AuthorizeRetry).UnixNano(), se.StartAt.Add(-AuthorizeCutoff).UnixNano())
	res, err := s.db.ExecContext(ctx, `UPDATE market_deferred_holds SET attempts = attempts + 1, next_at = $1
		WHERE session_id = $2 AND status = 'pending' AND attempts = $3 AND next_at <= $4`, time.Unix(0, next).UTC(), id, attempts, now)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	// Nobody is present: a card that wants authentication is declined.
	// Each attempt has its own key, so a card changed since is tried.
	actx := billing.KeyAttempt(billing.OffSession(ctx), attempts+1)
	authorized, err := s.payments().Authorize(actx, se.LearnerID, se.ExpertID, billing.Money{Amount: amount, Currency: currency}, id)
	if err != nil {
		if errors.Is(err, billing.ErrInsufficient) || errors.Is(err, billing.ErrPayeeNotReady) || errors.Is(err, billing.ErrActionRequired) {
			reason := strings.TrimPrefix(err.Error(), billing.ErrInsufficient.Error()+": ")
			if _, uerr := s.db.ExecContext(ctx, `UPDATE market_deferred_holds SET last_error = $1 WHERE session_id = $2`, reason, id); uerr != nil {
				return uerr
			}
			if lastErr == "" { // the first failure (since it was deferred)
				s.tellUnpaid(ctx, se, "session_payment_failed", reason)
			}
			return nil
		}
		return err
	}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE market_deferred_holds SET status = 'placed', last_error = '' WHERE session_id = $1 AND status = 'pending'`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errAttemptDone
		}
		h, err := s.payments().PlaceHold(ctx, tx, authorized)
		if err != nil {
			return err
		}
		res, err = tx.ExecContext(ctx, `UPDATE market_sessions SET hold_id = $1 WHERE id = $2 AND status = 'booked' AND hold_id = ''
			AND start_at = $3`, h.ID, id, se.StartAt)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: the session is no longer booked", ErrWrongState)
		}
		return nil
	})
	if err != nil {
		s.payments().Abandon(ctx, authorized)
		if errors.Is(err, errAttemptDone) || errors.Is(err, ErrWrongState) {
			return nil
		}
		return err
	}
	return nil
}

// dropUnpaid cancels, without a fee, a session whose hold could not be
// placed by its cutoff, and tells both people — only the session still
// booked, unheld, at the start se was read with (one rescheduled since
// has a new cutoff).
func (s *Service) dropUnpaid(ctx context.Context, se Session) error {
	var cancelled bool
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE market_sessions SET status = 'cancelled', ended_at = $1, ended_by = 'payment'
			WHERE id = $2 AND status = 'booked' AND hold_id = '' AND start_at = $3`, s.now(), se.ID, se.StartAt)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		if cancelled = n > 0; !cancelled {
			return nil // moved, held or let go of meanwhile: the next sweep sees it as it is
		}
		_, err = tx.ExecContext(ctx, `UPDATE market_deferred_holds SET status = 'failed' WHERE session_id = $1 AND status = 'pending'`, se.ID)
		return err
	})
	if err == nil && cancelled {
		s.tellUnpaid(ctx, se, "session_cancelled_unpaid", "")
	}
	return err
}

// tellUnpaid tells the learner (and, once it is cancelled, the expert)
// that a session's card could not be held, in the app and by e-mail.
func (s *Service) tellUnpaid(ctx context.Context, se Session, kind, reason string) {
	people := []string{se.LearnerID}
	subject := "Your card could not be held for " + se.ListingTitle
	body := fmt.Sprintf("Your session \"%s\" on %s UTC needs a hold on your card, and the card refused (%s).\n"+
		"Add or replace your card in Parley's wallet before %s UTC, or the session is cancelled without a fee.\n",
		se.ListingTitle, se.StartAt.UTC().Format("Mon 2 Jan 2006 15:04"), reason, se.StartAt.Add(-AuthorizeCutoff).UTC().Format("Mon 2 Jan 15:04"))
	if kind == "session_cancelled_unpaid" {
		people = append(people, se.ExpertID)
		subject = "Session cancelled: " + se.ListingTitle
		body = fmt.Sprintf("The session \"%s\" on %s UTC is cancelled: the learner's card could not be held in time. Nobody pays a fee.\n",
			se.ListingTitle, se.StartAt.UTC().Format("Mon 2 Jan 2006 15:04"))
	}
	for _, id := range people {
		if s.cfg.Notify != nil {
			s.cfg.Notify.Notice(ctx, id, kind, map[string]any{"session_id": se.ID, "listing_title": se.ListingTitle, "start_at": se.StartAt,
				"reason": reason})
		}
		if s.cfg.Mail == nil {
			continue
		}
		var email string
		if err := s.db.QueryRowContext(ctx, `SELECT email FROM users WHERE id = $1`, id).Scan(&email); err != nil || strings.HasSuffix(email, ".invalid") {
			continue
		}
		if err := s.cfg.Mail.Send(ctx, mail.Message{To: email, Subject: subject, Body: body}); err != nil {
			s.cfg.Log.Warn("market: a payment notice could not be mailed", "session", se.ID, "err", err)
		}
	}
}
