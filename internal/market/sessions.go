package market

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/parley-chat/parley/internal/billing"
	"github.com/parley-chat/parley/internal/calls"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/db"
	"github.com/parley-chat/parley/internal/desk"
	"github.com/parley-chat/parley/internal/httpx"
)

// Chat is what sessions need of the messenger: the learner and the expert
// talk in their direct conversation, before, during and after.
type Chat interface {
	OpenDirect(ctx context.Context, userID, peerID string) (chat.Conversation, bool, error)
}

// Calls is what sessions need of calls.
type Calls interface {
	Start(ctx context.Context, userID, convID, kind, role string) (calls.Call, error)
	Get(ctx context.Context, userID, callID string) (calls.Call, error)
	Finish(ctx context.Context, callID string) (calls.Call, error)
}

// Meter says how long two people were both media-connected in a call, up
// to a time: the server's own measure of billable time.
type Meter interface {
	BothConnected(ctx context.Context, callID, a, b string, until time.Time) (time.Duration, error)
}

// Session statuses.
const (
	Booked    = "booked"    // a slot in the future
	Ringing   = "ringing"   // "start now": the expert's devices ring
	Active    = "active"    // the call has started
	Completed = "completed" // ended and settled
	Cancelled = "cancelled"
	Missed    = "missed" // "start now" nobody answered, or a booked session nobody joined
)

// Errors of sessions.
var (
	ErrSlotTaken   = errors.New("market: that time is taken")
	ErrUnavailable = errors.New("market: the expert does not take sessions then")
	ErrPayment     = errors.New("market: payment required")
)

// Session is a meeting of a learner and an expert over a listing.
type Session struct {
	ID             string        `json:"id"`
	ListingID      string        `json:"listing_id"`
	ListingTitle   string        `json:"listing_title"`
	ExpertID       string        `json:"expert_id"`
	ExpertName     string        `json:"expert_name"`
	LearnerID      string        `json:"learner_id"`
	LearnerName    string        `json:"learner_name"`
	Kind           string        `json:"kind"` // booked, now
	Status         string        `json:"status"`
	StartAt        time.Time     `json:"start_at"`
	EndAt          time.Time     `json:"end_at"`
	PriceModel     string        `json:"price_model"`
	Price          billing.Money `json:"price"`
	MinBillable    int           `json:"min_billable_minutes"`
	SessionMinutes *int          `json:"session_minutes"`
	CommissionBps  int           `json:"commission_bps"`
	Cancellation   string        `json:"cancellation"`
	Held           int64         `json:"held"` // what the hold covers, in minor units
	ConversationID string        `json:"conversation_id"`
	CallID         string        `json:"call_id,omitempty"`
	StartedAt      *time.Time    `json:"started_at"`
	EndedAt        *time.Time    `json:"ended_at"`
	EndedBy        string        `json:"ended_by,omitempty"`
	// BillableSeconds and Charged: the running meter while active, the
	// final figures once completed. Commission and ExpertShare split
	// Charged.
	BillableSeconds int64     `json:"billable_seconds"`
	Charged         int64     `json:"charged"`
	Commission      int64     `json:"commission"`
	ExpertShare     int64     `json:"expert_share"`
	Refunded        int64     `json:"refunded"`
	CancelFee       int64     `json:"cancel_fee"`
	Reviewed        bool      `json:"reviewed"` // the learner has left their review
	Claimed         bool      `json:"claimed"`  // a guarantee claim was made
	CreatedAt       time.Time `json:"created_at"`

	holdID, settlementID string
}

// Availability is when an expert takes sessions.
type Availability struct {
	Hours         desk.Schedule `json:"hours"`
	BufferMinutes int           `json:"buffer_minutes"`
	MaxPerDay     int           `json:"max_per_day"`
	AvailableNow  bool          `json:"available_now"`
}

// SetAvailability sets an approved expert's hours, buffer, daily maximum
// and "available now" switch.
func (s *Service) SetAvailability(ctx context.Context, expertID string, a Availability) (Availability, error) {
	var v httpx.Validator
	if _, err := a.Hours.Compile(); err != nil {
		var ve *desk.ValidationError
		if !errors.As(err, &ve) {
			return Availability{}, err
		}
		for _, f := range ve.Fields {
			v.Check(false, "hours."+f.Field, f.Detail)
		}
	}
	v.Check(a.BufferMinutes >= 0 && a.BufferMinutes <= 240, "buffer_minutes", "from 0 to 240")
	if a.MaxPerDay == 0 {
		a.MaxPerDay = 8
	}
	v.Check(a.MaxPerDay >= 1 && a.MaxPerDay <= 48, "max_per_day", "from 1 to 48")
	if err := v.Err(); err != nil {
		return Availability{}, err
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := requireApproved(ctx, tx, expertID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO market_availability (expert_id, hours, buffer_minutes, max_per_day, available_now, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (expert_id) DO UPDATE SET hours = $2, buffer_minutes = $3, max_per_day = $4,
			available_now = $5, updated_at = $6`, expertID, jsonText(a.Hours), a.BufferMinutes, a.MaxPerDay, a.AvailableNow, s.now())
		return err
	})
	return a, err
}

// AvailabilityOf returns an expert's availability (closed, not available
// now, when never set).
func (s *Service) AvailabilityOf(ctx context.Context, q db.Querier, expertID string) (Availability, *desk.Hours, error) {
	var (
		a     Availability
		hours string
	)
	err := q.QueryRowContext(ctx, `SELECT hours, buffer_minutes, max_per_day, available_now FROM market_availability WHERE expert_id = $1`,
		expertID).Scan(&hours, &a.BufferMinutes, &a.MaxPerDay, &a.AvailableNow)
	if errors.Is(err, sql.ErrNoRows) {
		a = Availability{Hours: desk.Schedule{TimeZone: "UTC", Weekly: desk.Week{}}, MaxPerDay: 8}
	} else if err != nil {
		return Availability{}, nil, err
	} else if err := json.Unmarshal([]byte(hours), &a.Hours); err != nil {
		return Availability{}, nil, err
	}
	h, err := a.Hours.Compile()
	return a, h, err
}

// BookingInput books a slot (Start) or asks for a session now (Now).
type BookingInput struct {
	Listing string     `json:"listing"`
	Start   *time.Time `json:"start"`
	Now     bool       `json:"now"`
}

// Book books a free slot of a listing for a learner, or starts a session
// now when the listing allows it and the expert is available: the price
// (or its first block) is held from the learner's wallet first, so a
// learner who cannot pay never takes an expert's time (ErrPayment, as a
// *PaymentError with the hold and the balance). Two learners asking for
// overlapping times get one booking and one ErrSlotTaken: bookings of one
// expert take turns on the expert's row. A card that asks its payer to
// authenticate (3-D Secure) books nothing yet: the attempt is recorded and
// a *PaymentError carries where to authenticate and how to continue
// (ConfirmBooking).
func (s *Service) Book(ctx context.Context, learnerID string, in BookingInput) (Session, error) {
	p, err := s.planBooking(ctx, learnerID, in, newID())
	if err != nil {
		return Session{}, err
	}
	// A card is authorized before the transaction (nothing waits on the
	// provider inside it), and let go of if the booking does not commit.
	var authorized billing.Authorized
	if p.deferred {
		// Held near the start (deferred.go): check now that it can be.
		if err := s.payments().Prepare(ctx, learnerID, p.se.ExpertID); err != nil {
			return Session{}, p.authError(err)
		}
	}
	if p.hold > 0 && !p.deferred {
		authorized, err = s.payments().Authorize(ctx, learnerID, p.se.ExpertID, p.holdMoney(), p.se.ID)
		var action *billing.ActionRequiredError
		switch {
		case errors.As(err, &action):
			return Session{}, s.awaitAuthentication(ctx, p, action)
		case err != nil:
			return Session{}, p.authError(err)
		}
	}
	return s.commitBooking(ctx, p, authorized, false)
}

// bookingPlan is a booking checked and priced, before any money moves.
type bookingPlan struct {
	in       BookingInput
	se       Session
	hold     int64
	deferred bool // a card hold placed near the start by the sweep (see deferred.go)
}

func (p bookingPlan) holdMoney() billing.Money {
	return billing.Money{Amount: p.hold, Currency: p.se.Price.Currency}
}

// authError is a refused authorization as the marketplace says it.
func (p bookingPlan) authError(err error) error {
	hold := p.holdMoney()
	switch {
	case errors.Is(err, billing.ErrNoPaymentMethod):
		return &PaymentError{Reason: ReasonNoCard, Hold: &hold, Detail: "save a card first"}
	case errors.Is(err, billing.ErrInsufficient):
		return &PaymentError{Reason: ReasonDeclined, Hold: &hold, Detail: strings.TrimPrefix(err.Error(), billing.ErrInsufficient.Error()+": ")}
	case errors.Is(err, billing.ErrPayeeNotReady):
		return fmt.Errorf("%w: the expert cannot take card payments yet", ErrUnavailable)
	}
	return err
}

// planBooking checks a booking and prices it as session id; nothing is
// written.
func (s *Service) planBooking(ctx context.Context, learnerID string, in BookingInput, id string) (bookingPlan, error) {
	var v httpx.Validator
	v.Check(in.Listing != "", "listing", "required")
	v.Check((in.Start != nil) != in.Now, "start", "give a start time, or now: true — not both")
	if err := v.Err(); err != nil {
		return bookingPlan{}, err
	}
	l, err := s.Listing(ctx, learnerID, false, in.Listing)
	if errors.Is(err, ErrNotFound) {
		return bookingPlan{}, httpx.Invalid(httpx.FieldError{Field: "listing", Detail: "no such listing"})
	} else if err != nil {
		return bookingPlan{}, err
	}
	if l.ExpertID == learnerID {
		return bookingPlan{}, httpx.Invalid(httpx.FieldError{Field: "listing", Detail: "you cannot book your own listing"})
	}
	cat, err := s.category(ctx, s.db, l.Category)
	if err != nil {
		return bookingPlan{}, err
	}
	now := s.now()
	minutes := HoldBlockMinutes
	if l.SessionMinutes != nil {
		minutes = *l.SessionMinutes
	} else if l.PriceModel == PerHour || l.PriceModel == Free {
		minutes = 60
	}
	start := now
	if in.Start != nil {
		start = db.Time(*in.Start)
		if !start.After(now) {
			return bookingPlan{}, httpx.Invalid(httpx.FieldError{Field: "start", Detail: "in the future"})
		}
	} else if !l.StartNow {
		return bookingPlan{}, fmt.Errorf("%w: this listing is booked ahead, not started now", ErrUnavailable)
	}
	end := start.Add(time.Duration(minutes) * time.Minute)
	conv, _, err := s.cfg.Chat.OpenDirect(ctx, learnerID, l.ExpertID)
	if err != nil {
		return bookingPlan{}, err
	}
	se := Session{ID: id, ListingID: l.ID, ExpertID: l.ExpertID, LearnerID: learnerID, Kind: "booked", Status: Booked,
		StartAt: start, EndAt: end, PriceModel: l.PriceModel, Price: l.Price, MinBillable: l.MinBillableMinutes,
		SessionMinutes: l.SessionMinutes, CommissionBps: cat.CommissionBps, Cancellation: l.Cancellation,
		ConversationID: conv.ID, CreatedAt: now}
	if in.Now {
		se.Kind, se.Status = "now", Ringing
	}
	p := bookingPlan{in: in, se: se, hold: HoldFor(l.PriceModel, l.Price.Amount, l.MinBillableMinutes, l.SessionMinutes)}
	if p.hold > 0 {
		if p.hold, err = s.minimumHold(p.hold, l.Price.Currency); err != nil {
			return bookingPlan{}, err
		}
		p.deferred = s.deferHold(p)
	}
	return p, nil
}

// commitBooking writes a planned booking with its authorization in one
// transaction (checking the slot again), then rings the expert for a
// session now. confirming marks its booking attempt booked in the same
// transaction. An authorization the booking could not use is let go of.
func (s *Service) commitBooking(ctx context.Context, p bookingPlan, authorized billing.Authorized, confirming bool) (Session, error) {
	se := p.se
	hold, now := p.hold, s.now()
	var short *PaymentError
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if s.inBooking != nil {
			if err := s.inBooking(ctx, tx); err != nil {
				return err
			}
		}
		if confirming {
			res, err := tx.ExecContext(ctx, `UPDATE market_booking_attempts SET status = 'booked' WHERE id = $1 AND status = 'pending'`, se.ID)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return errAttemptDone
			}
		}
		// One expert's bookings take turns: lock their row, then look.
		if s.db.Dialect == db.Postgres {
			if _, err := tx.ExecContext(ctx, `SELECT 1 FROM market_experts WHERE user_id = $1 FOR UPDATE`, se.ExpertID); err != nil {
				return err
			}
		}
		if err := s.checkSlot(ctx, tx, se.ExpertID, se.StartAt, se.EndAt, p.in.Now); err != nil {
			return err
		}
		if hold > 0 && !p.deferred {
			h, err := s.payments().PlaceHold(ctx, tx, authorized)
			if errors.Is(err, billing.ErrInsufficient) {
				m := p.holdMoney()
				short = &PaymentError{Reason: ReasonWallet, Hold: &m,
					Detail: fmt.Sprintf("the wallet has less than the %d %s this session holds", hold, se.Price.Currency)}
				return short
			} else if err != nil {
				return err
			}
			se.holdID, se.Held = h.ID, hold
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO market_sessions (id, listing_id, expert_id, learner_id, kind, status, start_at, end_at,
			price_model, price_amount, currency, min_billable_minutes, session_minutes, commission_bps, cancellation, hold_id,
			conversation_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
			se.ID, se.ListingID, se.ExpertID, se.LearnerID, se.Kind, se.Status, se.StartAt, se.EndAt, se.PriceModel, se.Price.Amount,
			se.Price.Currency, se.MinBillable, se.SessionMinutes, se.CommissionBps, se.Cancellation, se.holdID, se.ConversationID, now)
		if err != nil {
			return err
		}
		if p.deferred {
			return s.recordDeferred(ctx, tx, p)
		}
		return nil
	})
	if errors.Is(err, errAttemptDone) {
		// Completed meanwhile (a second tab, a retry): that booking stands.
		return s.Session(ctx, se.LearnerID, se.ID)
	}
	if err != nil {
		if confirming && !refused(err) {
			// A failure on the way (the database) is not a refusal: the
			// learner authenticated, so the attempt and its authorization
			// stay for their retry (as in ConfirmBooking's planning).
			return Session{}, err
		}
		if hold > 0 && !p.deferred {
			s.payments().Abandon(ctx, authorized)
		}
		if confirming {
			s.failAttempt(ctx, se.ID)
		}
		if short != nil {
			short.Balance = s.walletBalance(ctx, se.LearnerID, se.Price.Currency)
		}
		return Session{}, err
	}
	if p.in.Now {
		// The expert's devices ring like any call; nobody answering makes
		// the session missed and releases the hold (Sweep).
		call, err := s.cfg.Calls.Start(ctx, se.LearnerID, se.ConversationID, calls.Video, "")
		var active *calls.ActiveError
		if errors.As(err, &active) {
			call.ID, err = active.CallID, nil
		}
		if err == nil {
			_, err = s.db.ExecContext(ctx, `UPDATE market_sessions SET call_id = $1 WHERE id = $2`, call.ID, se.ID)
		}
		if err != nil {
			// The expert could not be rung: give the money back at once.
			if rerr := s.miss(ctx, se); rerr != nil {
				s.cfg.Log.Error("market: releasing the hold of a session that could not ring", "session", se.ID, "err", rerr)
			}
			return Session{}, err
		}
	}
	return s.Session(ctx, se.LearnerID, se.ID)
}

// checkSlot refuses a time outside the expert's hours, over their daily
// maximum, or within their buffer of another session.
func (s *Service) checkSlot(ctx context.Context, tx *sql.Tx, expertID string, start, end time.Time, now bool) error {
	a, hours, err := s.AvailabilityOf(ctx, tx, expertID)
	if err != nil {
		return err
	}
	if now {
		if !a.AvailableNow {
			return fmt.Errorf("%w: the expert is not available now", ErrUnavailable)
		}
	} else {
		closes, ok := hours.NextClose(start)
		if !hours.OpenAt(start) || (ok && closes.Before(end)) {
			return fmt.Errorf("%w: outside the expert's hours", ErrUnavailable)
		}
		day := start.In(hours.Location())
		dayStart := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, hours.Location())
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM market_sessions WHERE expert_id = $1
			AND status IN ('booked', 'ringing', 'active', 'completed') AND start_at >= $2 AND start_at < $3`,
			expertID, dayStart.UTC(), dayStart.AddDate(0, 0, 1).UTC()).Scan(&n); err != nil {
			return err
		}
		if n >= a.MaxPerDay {
			return fmt.Errorf("%w: the expert's day is full", ErrUnavailable)
		}
	}
	buffer := time.Duration(a.BufferMinutes) * time.Minute
	var clash int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM market_sessions WHERE expert_id = $1 AND status IN ('booked', 'ringing', 'active')
		AND start_at < $2 AND end_at > $3`, expertID, end.Add(buffer), start.Add(-buffer)).Scan(&clash); err != nil {
		return err
	}
	if clash > 0 {
		return ErrSlotTaken
	}
	return nil
}

const sessionColumns = `s.id, s.listing_id, s.expert_id, s.learner_id, s.kind, s.status, s.start_at, s.end_at, s.price_model, s.price_amount,
	s.currency, s.min_billable_minutes, s.session_minutes, s.commission_bps, s.cancellation, s.hold_id, s.settlement_id, s.conversation_id,
	s.call_id, s.started_at, s.ended_at, s.ended_by, s.billable_seconds, s.charged, s.commission, s.cancel_fee, s.created_at,
	COALESCE(h.amount, 0), COALESCE(st.refunded, 0), lu.name, eu.name, ml.title,
	EXISTS (SELECT 1 FROM market_reviews rv WHERE rv.session_id = s.id), EXISTS (SELECT 1 FROM market_claims mc WHERE mc.session_id = s.id)`

const sessionFrom = ` FROM market_sessions s LEFT JOIN billing_holds h ON h.id = s.hold_id LEFT JOIN billing_settlements st ON st.id = s.settlement_id
	JOIN users lu ON lu.id = s.learner_id JOIN users eu ON eu.id = s.expert_id JOIN market_listings ml ON ml.id = s.listing_id `

func scanSession(row interface{ Scan(...any) error }) (Session, error) {
	var (
		se             Session
		minutes        sql.NullInt64
		started, ended sql.NullTime
	)
	err := row.Scan(&se.ID, &se.ListingID, &se.ExpertID, &se.LearnerID, &se.Kind, &se.Status, &se.StartAt, &se.EndAt, &se.PriceModel,
		&se.Price.Amount, &se.Price.Currency, &se.MinBillable, &minutes, &se.CommissionBps, &se.Cancellation, &se.holdID, &se.settlementID,
		&se.ConversationID, &se.CallID, &started, &ended, &se.EndedBy, &se.BillableSeconds, &se.Charged, &se.Commission, &se.CancelFee,
		&se.CreatedAt, &se.Held, &se.Refunded, &se.LearnerName, &se.ExpertName, &se.ListingTitle, &se.Reviewed, &se.Claimed)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, ErrNotFound
	} else if err != nil {
		return Session{}, err
	}
	if minutes.Valid {
		n := int(minutes.Int64)
		se.SessionMinutes = &n
	}
	if started.Valid {
		se.StartedAt = &started.Time
	}
	if ended.Valid {
		se.EndedAt = &ended.Time
	}
	se.ExpertShare = se.Charged - se.Commission
	return se, nil
}

func (s *Service) session(ctx context.Context, q db.Querier, id string) (Session, error) {
	return scanSession(q.QueryRowContext(ctx, `SELECT `+sessionColumns+sessionFrom+`WHERE s.id = $1`, id))
}

// Session returns a session to its learner or expert (an operator passes
// ""), with the running meter while it goes on.
func (s *Service) Session(ctx context.Context, userID, id string) (Session, error) {
	se, err := s.session(ctx, s.db, id)
	if err != nil {
		return Session{}, err
	}
	if userID != "" && userID != se.LearnerID && userID != se.ExpertID {
		return Session{}, ErrNotFound
	}
	if se.Status == Active && se.CallID != "" && s.cfg.Meter != nil {
		d, err := s.cfg.Meter.BothConnected(ctx, se.CallID, se.LearnerID, se.ExpertID, s.now())
		if err != nil {
			return Session{}, err
		}
		se.BillableSeconds = int64(d / time.Second)
		se.Charged = min(Charge(se.PriceModel, se.Price.Amount, se.MinBillable, se.BillableSeconds), se.Held)
		se.Commission = billing.Commission(se.Charged, billing.BasisPoints(se.CommissionBps))
		se.ExpertShare = se.Charged - se.Commission
	}
	return se, nil
}

// Join starts a booked session's call (from ten minutes before its start)
// or answers the call of a session that rings; it returns the session with
// its call.
func (s *Service) Join(ctx context.Context, userID, id string) (Session, error) {
	se, err := s.Session(ctx, userID, id)
	if err != nil {
		return Session{}, err
	}
	switch se.Status {
	case Booked:
		if s.now().Before(se.StartAt.Add(-10 * time.Minute)) {
			return Session{}, fmt.Errorf("%w: the session opens ten minutes before it starts", ErrWrongState)
		}
		if err := s.heldForJoin(ctx, se); err != nil {
			return Session{}, err
		}
		call, err := s.cfg.Calls.Start(ctx, userID, se.ConversationID, calls.Video, "")
		var active *calls.ActiveError
		if errors.As(err, &active) {
			call.ID, err = active.CallID, nil
		}
		if err != nil {
			return Session{}, err
		}
		if _, err := s.db.ExecContext(ctx, `UPDATE market_sessions SET status = 'active', call_id = $1, started_at = $2 WHERE id = $3 AND status = 'booked'`,
			call.ID, s.now(), id); err != nil {
			return Session{}, err
		}
	case Ringing, Active:
	default:
		return Session{}, fmt.Errorf("%w: the session is %s", ErrWrongState, se.Status)
	}
	return s.Session(ctx, userID, id)
}

// End ends a session going on, by either person (or the meter when the
// hold runs out): in one transaction the billable time is fixed, exactly
// the charge is captured, the rest of the hold released and the ledger
// written with the commission — then the call ends.
func (s *Service) End(ctx context.Context, userID, id string) (Session, error) {
	se, err := s.Session(ctx, userID, id)
	if err != nil {
		return Session{}, err
	}
	if se.Status == Ringing && userID != "" {
		// Hanging up before the expert answered: nothing happened, nothing
		// is charged, and it does not count as a session of the day.
		if se.CallID != "" {
			if _, err := s.cfg.Calls.Finish(ctx, se.CallID); err != nil && !errors.Is(err, calls.ErrEnded) {
				return Session{}, err
			}
		}
		if err := s.db.Tx(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, `UPDATE market_sessions SET status = 'cancelled', ended_at = $1, ended_by = $2 WHERE id = $3 AND status = 'ringing'`,
				s.now(), userID, id)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return fmt.Errorf("%w: the session was answered or ended meanwhile", ErrWrongState)
			}
			return s.settleFee(ctx, tx, se, 0)
		}); err != nil {
			return Session{}, err
		}
		s.flush(ctx, se.holdID)
		return s.session(ctx, s.db, id)
	}
	if se.Status != Active && se.Status != Ringing {
		return Session{}, fmt.Errorf("%w: the session is %s", ErrWrongState, se.Status)
	}
	now := s.now()
	var seconds int64
	if se.CallID != "" && s.cfg.Meter != nil {
		d, err := s.cfg.Meter.BothConnected(ctx, se.CallID, se.LearnerID, se.ExpertID, now)
		if err != nil {
			return Session{}, err
		}
		seconds = int64(d / time.Second)
	}
	charge := min(Charge(se.PriceModel, se.Price.Amount, se.MinBillable, seconds), se.Held)
	by := userID
	if by == "" {
		by = "meter"
	}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE market_sessions SET status = 'completed', ended_at = $1, ended_by = $2, billable_seconds = $3
			WHERE id = $4 AND status IN ('active', 'ringing')`, now, by, seconds, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: the session has ended already", ErrWrongState)
		}
		if se.holdID == "" {
			return nil
		}
		st, err := s.payments().Settle(ctx, tx, se.holdID, charge, se.ExpertID, billing.BasisPoints(se.CommissionBps))
		if err != nil {
			return err
		}
		// What was taken: the charge, or nothing below the provider's
		// minimum (billing.ProviderPayments.Settle).
		_, err = tx.ExecContext(ctx, `UPDATE market_sessions SET charged = $1, commission = $2, settlement_id = $3 WHERE id = $4`,
			st.Amount.Amount, st.Commission, st.ID, id)
		return err
	})
	if err != nil {
		return Session{}, err
	}
	// The capture at the provider follows the commit; one that fails
	// stays queued and the sweep retries it (its idempotency key makes it
	// capture once).
	s.flush(ctx, se.holdID)
	if se.CallID != "" {
		if _, err := s.cfg.Calls.Finish(ctx, se.CallID); err != nil && !errors.Is(err, calls.ErrEnded) {
			s.cfg.Log.Warn("market: ending a session's call", "session", id, "err", err)
		}
	}
	return s.session(ctx, s.db, id)
}
