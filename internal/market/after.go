package market

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parley-chat/parley/internal/billing"
	"github.com/parley-chat/parley/internal/calls"
	"github.com/parley-chat/parley/internal/db"
	"github.com/parley-chat/parley/internal/httpx"
)

// CancellationFee is what a learner who cancels a booked session pays,
// by the listing's policy and how long before the start they cancel, as a
// share of what the session holds:
//
//   - flexible: nothing until 1 hour before; 25 % after that.
//   - moderate: nothing until 24 hours before; 50 % after that.
//   - strict: nothing until 7 days before; 50 % until 24 hours before;
//     everything after that.
//
// An expert who cancels, and a session that could not start, cost the
// learner nothing. Shares are rounded half up to the minor unit.
func CancellationFee(policy string, held int64, before time.Duration) int64 {
	share := int64(0)
	switch policy {
	case "flexible":
		if before < time.Hour {
			share = 25
		}
	case "moderate":
		if before < 24*time.Hour {
			share = 50
		}
	case "strict":
		switch {
		case before < 24*time.Hour:
			share = 100
		case before < 7*24*time.Hour:
			share = 50
		}
	}
	return (held*share + 50) / 100
}

// Cancel cancels a booked session. The learner pays the policy's fee (it
// is captured and split like a session's charge); the expert cancelling
// costs the learner nothing.
func (s *Service) Cancel(ctx context.Context, userID, id string) (Session, error) {
	se, err := s.Session(ctx, userID, id)
	if err != nil {
		return Session{}, err
	}
	return s.cancel(ctx, userID, se)
}

// cancel cancels se, as it was read before. The sweep may have placed a
// deferred hold since (deferred.go): the fee and the release go by the
// session as it is inside the transaction, so that hold is released (or
// its fee taken) rather than left held on a cancelled session.
func (s *Service) cancel(ctx context.Context, userID string, se Session) (Session, error) {
	if se.Status != Booked {
		return Session{}, fmt.Errorf("%w: only a booked session is cancelled; end one going on", ErrWrongState)
	}
	now := s.now()
	id := se.ID
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE market_sessions SET status = 'cancelled', ended_at = $1, ended_by = $2, cancel_fee = 0
			WHERE id = $3 AND status = 'booked'`, now, userID, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: the session is no longer booked", ErrWrongState)
		}
		if se, err = s.session(ctx, tx, id); err != nil {
			return err
		}
		fee := int64(0)
		if userID == se.LearnerID {
			fee = CancellationFee(se.Cancellation, se.Held, se.StartAt.Sub(now))
		}
		return s.settleFee(ctx, tx, se, fee)
	})
	if err != nil {
		return Session{}, err
	}
	s.flush(ctx, se.holdID)
	return s.session(ctx, s.db, id)
}

// settleFee captures fee from a session's hold (releasing the rest), or
// releases it all when the fee is 0, and records the fee taken as the
// session's cancel_fee: a fee the provider cannot take (below its
// minimum) is not taken, and not recorded either.
func (s *Service) settleFee(ctx context.Context, tx *sql.Tx, se Session, fee int64) error {
	if se.holdID == "" {
		return nil
	}
	st, err := s.payments().Settle(ctx, tx, se.holdID, fee, se.ExpertID, billing.BasisPoints(se.CommissionBps))
	if err != nil || st.Amount.Amount == 0 { // nothing taken (a fee below the provider's minimum is not)
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE market_sessions SET charged = $1, commission = $2, settlement_id = $3, cancel_fee = $1 WHERE id = $4`,
		st.Amount.Amount, st.Commission, st.ID, se.ID)
	return err
}

// Extend holds another block of a per-minute or per-hour session going
// on, with the learner's agreement (only the learner may ask).
func (s *Service) Extend(ctx context.Context, learnerID, id string, minutes int) (Session, error) {
	if minutes == 0 {
		minutes = HoldBlockMinutes
	}
	if minutes < 1 || minutes > 240 {
		return Session{}, httpx.Invalid(httpx.FieldError{Field: "minutes", Detail: "from 1 to 240"})
	}
	se, err := s.Session(ctx, learnerID, id)
	if err != nil {
		return Session{}, err
	}
	if se.LearnerID != learnerID {
		return Session{}, ErrNotFound
	}
	if (se.Status != Active && se.Status != Ringing) || (se.PriceModel != PerMinute && se.PriceModel != PerHour) {
		return Session{}, fmt.Errorf("%w: only a per-minute or per-hour session going on is extended", ErrWrongState)
	}
	more := Charge(se.PriceModel, se.Price.Amount, 0, int64(minutes)*60)
	hold := billing.Money{Amount: more, Currency: se.Price.Currency}
	// A card's hold is raised at the provider first (a refusal changes
	// nothing), then recorded.
	if err := s.payments().Raise(ctx, se.holdID, more); errors.Is(err, billing.ErrInsufficient) {
		return Session{}, &PaymentError{Reason: ReasonDeclined, Hold: &hold,
			Detail: strings.TrimPrefix(err.Error(), billing.ErrInsufficient.Error()+": ")}
	} else if err != nil {
		return Session{}, err
	}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := s.payments().ExtendHold(ctx, tx, se.holdID, more)
		if errors.Is(err, billing.ErrInsufficient) {
			return &PaymentError{Reason: ReasonWallet, Hold: &hold,
				Detail: fmt.Sprintf("the wallet has less than the %d %s another %d minutes hold", more, se.Price.Currency, minutes)}
		} else if err != nil {
			return err
		}
		// The session now reaches further: no one may book that time.
		_, err = tx.ExecContext(ctx, `UPDATE market_sessions SET end_at = $1 WHERE id = $2`, se.EndAt.Add(time.Duration(minutes)*time.Minute), id)
		return err
	})
	var short *PaymentError
	if errors.As(err, &short) && short.Reason == ReasonWallet {
		short.Balance = s.walletBalance(ctx, learnerID, se.Price.Currency)
	}
	if err != nil {
		return Session{}, err
	}
	return s.Session(ctx, learnerID, id)
}

// Sweep runs every few seconds: reminders go out before booked sessions;
// a "start now" session rings until its
// call is answered (then it is active) or ends unanswered (missed, the
// hold released); a session whose billable time has used up its hold
// ends; a booked session nobody joined within its slot is missed.
func (s *Service) Sweep(ctx context.Context) error {
	if err := s.remind(ctx); err != nil {
		return err
	}
	// Card holds of sessions booked far ahead are placed when due.
	if err := s.placeDeferred(ctx); err != nil {
		s.cfg.Log.Warn("market: placing the card holds of sessions booked ahead", "err", err)
	}
	// Payments a provider has not taken yet (a capture that failed after
	// its session's commit) are retried when due.
	if err := s.payments().Flush(ctx, ""); err != nil {
		s.cfg.Log.Warn("market: retrying payments at the provider", "err", err)
	}
	ids, err := db.Strings(ctx, s.db, `SELECT id FROM market_sessions WHERE status IN ('ringing', 'active')
		OR (status = 'booked' AND end_at <= $1)`, s.now())
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := s.sweepOne(ctx, id); err != nil && !errors.Is(err, ErrWrongState) {
			return err
		}
	}
	return nil
}

func (s *Service) sweepOne(ctx context.Context, id string) error {
	se, err := s.Session(ctx, "", id)
	if err != nil {
		return err
	}
	var call calls.Call
	if se.CallID != "" {
		if call, err = s.cfg.Calls.Get(ctx, se.LearnerID, se.CallID); err != nil {
			return err
		}
	}
	switch {
	case se.Status == Booked || (se.Status == Ringing && call.State == calls.Ended && call.AnsweredAt == nil):
		return s.miss(ctx, se)
	case se.Status == Ringing && call.AnsweredAt != nil:
		_, err := s.db.ExecContext(ctx, `UPDATE market_sessions SET status = 'active', started_at = $1 WHERE id = $2 AND status = 'ringing'`,
			*call.AnsweredAt, id)
		return err
	case se.Status == Active && (call.State == calls.Ended ||
		se.BillableSeconds >= CoveredSeconds(se.PriceModel, se.Price.Amount, se.Held, se.SessionMinutes)):
		// Everyone hung up, or the time held is used up.
		_, err := s.End(ctx, "", id)
		return err
	}
	return nil
}

// miss closes a session that never happened; nothing is charged.
func (s *Service) miss(ctx context.Context, se Session) error {
	defer s.flush(ctx, se.holdID)
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE market_sessions SET status = 'missed', ended_at = $1 WHERE id = $2 AND status IN ('booked', 'ringing')`,
			s.now(), se.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		return s.settleFee(ctx, tx, se, 0)
	})
}

// GuaranteeWindow is how long after a session its learner may claim the
// money-back guarantee.
const GuaranteeWindow = 72 * time.Hour

// Refund gives part (or all, amount 0) of what a completed session
// charged back to the learner, by the operator ("" as userID) or the
// expert; the ledger reverses the expert's share and the commission pro
// rata.
func (s *Service) Refund(ctx context.Context, userID, id string, amount int64, reason string) (Session, error) {
	se, err := s.Session(ctx, userID, id)
	if err != nil {
		return Session{}, err
	}
	if userID != "" && userID != se.ExpertID {
		return Session{}, fmt.Errorf("%w: refunds come from the expert or the operator", ErrNotAllowed)
	}
	if se.settlementID == "" {
		return Session{}, fmt.Errorf("%w: nothing was charged", ErrWrongState)
	}
	if amount == 0 {
		amount = se.Charged - se.Refunded
	}
	kind := "refund.operator"
	if userID != "" {
		kind = "refund.expert"
	}
	if reason == "guarantee" {
		kind = "refund.guarantee"
	}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := s.payments().Refund(ctx, tx, se.settlementID, amount, kind)
		if errors.Is(err, billing.ErrAmount) {
			return httpx.Invalid(httpx.FieldError{Field: "amount", Detail: "more than 0"})
		}
		return err
	})
	if err != nil {
		return Session{}, err
	}
	s.flush(ctx, se.holdID)
	return s.session(ctx, s.db, id)
}

// ErrNotAllowed is an action this person may not take.
var ErrNotAllowed = errors.New("market: not allowed")

// ErrReviewed is a second review of one session.
var ErrReviewed = errors.New("market: already reviewed")

// Review is a learner's verdict on a completed session.
type Review struct {
	ID        string     `json:"id"`
	SessionID string     `json:"session_id"`
	ListingID string     `json:"listing_id"`
	LearnerID string     `json:"learner_id"`
	Score     int        `json:"score"`
	Body      string     `json:"body,omitempty"`
	Reply     string     `json:"reply,omitempty"`
	RepliedAt *time.Time `json:"replied_at"`
	Hidden    bool       `json:"hidden,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
}

// AddReview records the learner's 1–5 and text for a session that
// happened (completed with billable time), once; it counts in the
// listing's rating.
func (s *Service) AddReview(ctx context.Context, learnerID, id string, score int, body string) (Review, error) {
	var v httpx.Validator
	v.Check(score >= 1 && score <= 5, "score", "from 1 to 5")
	body = text(&v, "body", body, false, 5000)
	if err := v.Err(); err != nil {
		return Review{}, err
	}
	se, err := s.Session(ctx, learnerID, id)
	if err != nil {
		return Review{}, err
	}
	if se.LearnerID != learnerID {
		return Review{}, fmt.Errorf("%w: the learner reviews a session", ErrNotAllowed)
	}
	if se.Status != Completed || se.BillableSeconds == 0 {
		return Review{}, fmt.Errorf("%w: review a session once it has happened", ErrWrongState)
	}
	r := Review{ID: newID(), SessionID: id, ListingID: se.ListingID, LearnerID: learnerID, Score: score, Body: body, CreatedAt: s.now()}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO market_reviews (id, session_id, listing_id, expert_id, learner_id, score, body, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, r.ID, id, se.ListingID, se.ExpertID, learnerID, score, body, r.CreatedAt); err != nil {
			if db.IsUniqueViolation(err) {
				return ErrReviewed
			}
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE market_listings SET rating_sum = rating_sum + $1, rating_count = rating_count + 1 WHERE id = $2`,
			score, se.ListingID)
		return err
	})
	return r, err
}

// Reviews lists a listing's visible reviews, newest first.
func (s *Service) Reviews(ctx context.Context, listingID string, limit int) ([]Review, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, session_id, listing_id, learner_id, score, body, reply, replied_at, hidden, created_at
		FROM market_reviews WHERE listing_id = $1 AND NOT hidden ORDER BY created_at DESC, id DESC LIMIT $2`, listingID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Review{}
	for rows.Next() {
		var (
			r       Review
			replied sql.NullTime
		)
		if err := rows.Scan(&r.ID, &r.SessionID, &r.ListingID, &r.LearnerID, &r.Score, &r.Body, &r.Reply, &replied, &r.Hidden, &r.CreatedAt); err != nil {
			return nil, err
		}
		if replied.Valid {
			r.RepliedAt = &replied.Time
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Reply is the expert's one answer to a review of their session.
func (s *Service) Reply(ctx context.Context, expertID, sessionID, body string) error {
	var v httpx.Validator
	body = text(&v, "body", body, true, 5000)
	if err := v.Err(); err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, `UPDATE market_reviews SET reply = $1, replied_at = $2 WHERE session_id = $3 AND expert_id = $4 AND reply = ''`,
		body, s.now(), sessionID, expertID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return nil
	}
	var mine int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM market_reviews WHERE session_id = $1 AND expert_id = $2`, sessionID, expertID).Scan(&mine); err != nil {
		return err
	}
	if mine == 0 {
		return ErrNotFound
	}
	return fmt.Errorf("%w: you answered this review already", ErrWrongState)
}

// HideReview is the operator taking an abusive review out of sight (and
// out of the rating).
func (s *Service) HideReview(ctx context.Context, operatorID, reviewID, reason string) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		var (
			listing string
			score   int
			hidden  bool
		)
		err := tx.QueryRowContext(ctx, `SELECT listing_id, score, hidden FROM market_reviews WHERE id = $1`, reviewID).Scan(&listing, &score, &hidden)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		} else if err != nil || hidden {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE market_reviews SET hidden = true WHERE id = $1`, reviewID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE market_listings SET rating_sum = rating_sum - $1, rating_count = rating_count - 1 WHERE id = $2`,
			score, listing); err != nil {
			return err
		}
		return s.decideReview(ctx, tx, reviewID, reason, operatorID)
	})
}

func (s *Service) decideReview(ctx context.Context, tx *sql.Tx, reviewID, reason, by string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO market_decisions (id, subject_type, subject_id, decision, reason, decided_by, decided_at)
		VALUES ($1, 'review', $2, 'hide', $3, $4, $5)`, newID(), reviewID, reason, by, s.now())
	return err
}

// Claim is a learner's money-back guarantee claim, for the operator.
type Claim struct {
	ID        string     `json:"id"`
	SessionID string     `json:"session_id"`
	Reason    string     `json:"reason"`
	Status    string     `json:"status"` // pending, approved, rejected
	CreatedAt time.Time  `json:"created_at"`
	DecidedAt *time.Time `json:"decided_at"`
}

// ClaimGuarantee is the learner asking for their money back within
// GuaranteeWindow of a completed, charged session; the operator decides.
func (s *Service) ClaimGuarantee(ctx context.Context, learnerID, id, reason string) (Claim, error) {
	var v httpx.Validator
	reason = text(&v, "reason", reason, true, 2000)
	if err := v.Err(); err != nil {
		return Claim{}, err
	}
	se, err := s.Session(ctx, learnerID, id)
	if err != nil {
		return Claim{}, err
	}
	if se.LearnerID != learnerID {
		return Claim{}, fmt.Errorf("%w: the learner claims the guarantee", ErrNotAllowed)
	}
	if se.Status != Completed || se.Charged == 0 || se.EndedAt == nil || s.now().Sub(*se.EndedAt) > GuaranteeWindow {
		return Claim{}, fmt.Errorf("%w: claim within 72 hours of a session you paid for", ErrWrongState)
	}
	c := Claim{ID: newID(), SessionID: id, Reason: reason, Status: "pending", CreatedAt: s.now()}
	_, err = s.db.ExecContext(ctx, `INSERT INTO market_claims (id, session_id, reason, status, created_at) VALUES ($1, $2, $3, 'pending', $4)`,
		c.ID, id, reason, c.CreatedAt)
	if db.IsUniqueViolation(err) {
		return Claim{}, fmt.Errorf("%w: this session has a claim already", ErrWrongState)
	}
	return c, err
}

// DecideClaim approves (refunding what is left of the charge) or rejects
// a guarantee claim, recorded.
func (s *Service) DecideClaim(ctx context.Context, operatorID, claimID string, approve bool, reason string) (Claim, error) {
	var c Claim
	err := s.db.QueryRowContext(ctx, `SELECT id, session_id, reason, status, created_at FROM market_claims WHERE id = $1`, claimID).
		Scan(&c.ID, &c.SessionID, &c.Reason, &c.Status, &c.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Claim{}, ErrNotFound
	} else if err != nil {
		return Claim{}, err
	}
	if c.Status != "pending" {
		return Claim{}, fmt.Errorf("%w: the claim is %s", ErrWrongState, c.Status)
	}
	reason = strings.TrimSpace(reason)
	if len(reason) > 2000 || !utf8.ValidString(reason) {
		return Claim{}, httpx.Invalid(httpx.FieldError{Field: "reason", Detail: "at most 2,000 bytes of text"})
	}
	status := "rejected"
	if approve {
		status = "approved"
	}
	now := s.now()
	var holdID string
	// One transaction decides the claim and gives the money back, so two
	// operators approving at once refund once.
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE market_claims SET status = $1, decided_at = $2, decided_by = $3, decision_reason = $4
			WHERE id = $5 AND status = 'pending'`, status, now, operatorID, reason, claimID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: the claim was decided already", ErrWrongState)
		}
		if !approve {
			return nil
		}
		se, err := s.session(ctx, tx, c.SessionID)
		if err != nil {
			return err
		}
		if left := se.Charged - se.Refunded; left > 0 && se.settlementID != "" {
			_, err = s.payments().Refund(ctx, tx, se.settlementID, left, "refund.guarantee")
			holdID = se.holdID
		}
		return err
	})
	if err != nil {
		return Claim{}, err
	}
	s.flush(ctx, holdID)
	c.Status, c.DecidedAt = status, &now
	return c, nil
}

// Claims lists guarantee claims in a status (all when ""), oldest first.
func (s *Service) Claims(ctx context.Context, status string) ([]Claim, error) {
	switch status {
	case "", "pending", "approved", "rejected":
	default:
		return nil, httpx.Invalid(httpx.FieldError{Field: "status", Detail: "pending, approved or rejected"})
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, session_id, reason, status, created_at, decided_at FROM market_claims
		WHERE $1 = '' OR status = $1 ORDER BY created_at, id LIMIT 500`, status)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Claim{}
	for rows.Next() {
		var (
			c       Claim
			decided sql.NullTime
		)
		if err := rows.Scan(&c.ID, &c.SessionID, &c.Reason, &c.Status, &c.CreatedAt, &decided); err != nil {
			return nil, err
		}
		if decided.Valid {
			c.DecidedAt = &decided.Time
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Sessions lists a person's sessions as learner or expert, newest first.
func (s *Service) Sessions(ctx context.Context, userID string) ([]Session, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+sessionColumns+sessionFrom+`WHERE s.learner_id = $1 OR s.expert_id = $1
		ORDER BY s.start_at DESC, s.id DESC LIMIT 200`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Session{}
	for rows.Next() {
		se, err := scanSession(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, se)
	}
	return out, rows.Err()
}

// Reschedule moves a booked session to another free start. The expert may
// move it at any time; the learner only while cancelling would still be
// free under the listing's policy (inside the fee window they cancel, with
// the fee, and book again). The hold and the terms stay as booked.
func (s *Service) Reschedule(ctx context.Context, userID, id string, start time.Time) (Session, error) {
	se, err := s.Session(ctx, userID, id)
	if err != nil {
		return Session{}, err
	}
	return s.reschedule(ctx, userID, se, start)
}

// reschedule moves se, as it was read before, to start; one cancelled
// (or started) since is left as it is (ErrWrongState), never booked again.
func (s *Service) reschedule(ctx context.Context, userID string, se Session, start time.Time) (Session, error) {
	id := se.ID
	if se.Status != Booked {
		return Session{}, fmt.Errorf("%w: only a booked session is rescheduled", ErrWrongState)
	}
	now := s.now()
	start = db.Time(start)
	if !start.After(now) {
		return Session{}, httpx.Invalid(httpx.FieldError{Field: "start", Detail: "in the future"})
	}
	if userID == se.LearnerID && CancellationFee(se.Cancellation, se.Held, se.StartAt.Sub(now)) > 0 {
		return Session{}, fmt.Errorf("%w: too close to the start to move it for free; cancel (with the policy's fee) and book again", ErrWrongState)
	}
	end := start.Add(se.EndAt.Sub(se.StartAt))
	var released string
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if s.db.Dialect == db.Postgres {
			if _, err := tx.ExecContext(ctx, `SELECT 1 FROM market_experts WHERE user_id = $1 FOR UPDATE`, se.ExpertID); err != nil {
				return err
			}
		}
		// The session's own slot must not count against itself. Only a
		// session still booked moves: one cancelled meanwhile (by the
		// other person, the sweep or the provider) has let go of its hold.
		res, err := tx.ExecContext(ctx, `UPDATE market_sessions SET status = 'cancelled' WHERE id = $1 AND status = 'booked'`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: the session is no longer booked", ErrWrongState)
		}
		if err := s.checkSlot(ctx, tx, se.ExpertID, start, end, false); err != nil {
			return err
		}
		res, err = tx.ExecContext(ctx, `UPDATE market_sessions SET status = 'booked', start_at = $1, end_at = $2 WHERE id = $3`, start, end, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		// A hold placed later follows the new start; a card's hold that
		// would lapse before it is let go of and placed later instead.
		if released, err = s.deferAgain(ctx, tx, id, start, se.Cancellation); err != nil {
			return err
		}
		return s.moveDeferred(ctx, tx, id, start, se.Cancellation)
	})
	if err != nil {
		return Session{}, err
	}
	s.flush(ctx, released)
	return s.session(ctx, s.db, id)
}
