package market

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"

	"github.com/parley-chat/parley/internal/billing"
	"github.com/parley-chat/parley/internal/httpx"
)

// Why a payment was refused, in a 402's reason.
const (
	ReasonWallet   = "insufficient_wallet" // the wallet holds less than the hold
	ReasonNoCard   = "no_card"             // Stripe: no card saved
	ReasonDeclined = "card_declined"       // Stripe: the card refused
	ReasonNotHeld  = "not_held"            // Stripe: a session booked ahead whose card is not held yet
)

// PaymentError is a session refused for its money, with what the learner
// needs to put it right: the hold asked for and (wallet) the balance, or
// (a card that wants 3-D Secure) where to authenticate and how to carry
// on. It is ErrPayment; Problem gives it its 402 with those fields.
type PaymentError struct {
	Reason  string
	Detail  string
	Hold    *billing.Money
	Balance *billing.Money
	// A card asking its payer to authenticate: AuthURL is the bank's
	// page, Attempt the booking waiting for it (ConfirmBooking).
	AuthURL, Attempt string
}

func (e *PaymentError) Error() string { return ErrPayment.Error() + ": " + e.Detail }

// Unwrap makes it ErrPayment.
func (e *PaymentError) Unwrap() error { return ErrPayment }

// Problem is the 402: payment-required with reason, hold and balance, or
// authentication-required with the URL to authenticate at and the route
// that completes the booking afterwards.
func (e *PaymentError) Problem() *httpx.Problem {
	ext := map[string]any{}
	if e.Hold != nil {
		ext["hold"] = *e.Hold
	}
	if e.Balance != nil {
		ext["balance"] = *e.Balance
	}
	if e.AuthURL != "" {
		p := httpx.NewProblem(http.StatusPaymentRequired, "authentication-required", "Authentication required",
			"the card's bank asks you to confirm this payment; the booking is completed when you come back")
		ext["authentication_url"] = e.AuthURL
		ext["attempt"] = e.Attempt
		ext["continue"] = "/api/v1/market/bookings/" + e.Attempt + "/confirm"
		p.Extensions = ext
		return p
	}
	ext["reason"] = e.Reason
	p := httpx.NewProblem(http.StatusPaymentRequired, "payment-required", "Payment required", e.Detail)
	p.Extensions = ext
	return p
}

// walletBalance is a person's wallet in a currency, for a 402 (nil when it
// cannot be read: the 402 goes out without it).
func (s *Service) walletBalance(ctx context.Context, userID, currency string) *billing.Money {
	if s.cfg.Billing == nil {
		return nil
	}
	b, err := s.cfg.Billing.Ledger.Balance(ctx, s.db, billing.Account{Kind: billing.Wallet, OwnerID: userID}, currency)
	if err != nil {
		s.cfg.Log.Warn("market: reading a wallet for a 402", "user", userID, "err", err)
		return nil
	}
	return &billing.Money{Amount: b, Currency: currency}
}

// heldForJoin refuses to open a paid session that holds nothing — one
// booked far ahead whose card hold the sweep has not placed (yet): it
// would be free. 402 payment-required, reason not_held, with the hold
// asked for.
func (s *Service) heldForJoin(ctx context.Context, se Session) error {
	if se.PriceModel == Free || se.holdID != "" {
		return nil
	}
	var (
		amount   int64
		currency string
	)
	err := s.db.QueryRowContext(ctx, `SELECT amount, currency FROM market_deferred_holds WHERE session_id = $1`, se.ID).Scan(&amount, &currency)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // nothing to hold (a price of 0)
	} else if err != nil {
		return err
	}
	hold := billing.Money{Amount: amount, Currency: currency}
	return &PaymentError{Reason: ReasonNotHeld, Hold: &hold,
		Detail: "the learner's card is not held for this session yet; add or replace the card in the wallet, and the hold is tried again"}
}

// CheckPublish refuses a paid listing from an expert the payment provider
// cannot pay yet (Stripe: payouts not set up): 409 payouts-not-set-up. The
// wallet pays anyone.
func (s *Service) CheckPublish(ctx context.Context, expertID, priceModel string) error {
	if priceModel == Free || priceModel == "" {
		return nil
	}
	err := s.payments().PayeeReady(ctx, expertID)
	if errors.Is(err, billing.ErrPayeeNotReady) {
		return httpx.Conflict("payouts-not-set-up", "set up payouts with Stripe (Set up payouts) before publishing a paid listing")
	}
	return err
}

// minimumHold raises a hold to the provider's smallest charge in its
// currency (Stripe: 50 US cents or the like), so a short session's card
// hold is never refused for being too small.
func (s *Service) minimumHold(hold int64, currency string) (int64, error) {
	if m := s.payments().Minimum(currency); hold < m {
		return m, nil
	}
	return hold, nil
}

// errAttemptDone is a booking attempt completed by someone else meanwhile.
var errAttemptDone = errors.New("market: the booking attempt is complete")

// awaitAuthentication records a booking whose card asks its payer to
// authenticate (3-D Secure) and answers where to do it.
func (s *Service) awaitAuthentication(ctx context.Context, p bookingPlan, action *billing.ActionRequiredError) error {
	var start any
	if p.in.Start != nil {
		start = p.se.StartAt
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO market_booking_attempts (id, learner_id, listing_id, start_at, amount, currency, auth_id,
		status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8)`, p.se.ID, p.se.LearnerID, p.se.ListingID, start, p.hold,
		p.se.Price.Currency, action.Authorized.AuthID, s.now()); err != nil {
		s.payments().Abandon(ctx, action.Authorized)
		return err
	}
	hold := p.holdMoney()
	return &PaymentError{Hold: &hold, AuthURL: action.URL, Attempt: p.se.ID,
		Detail: "the card's bank asks you to confirm this payment"}
}

func (s *Service) failAttempt(ctx context.Context, id string) {
	if _, err := s.db.ExecContext(ctx, `UPDATE market_booking_attempts SET status = 'failed' WHERE id = $1 AND status = 'pending'`, id); err != nil {
		s.cfg.Log.Warn("market: marking a booking attempt failed", "attempt", id, "err", err)
	}
}

// ConfirmBooking completes a booking whose card asked its payer to
// authenticate, once they are back: the authorization must now hold the
// money (requires_capture) and match the attempt — amount, currency, the
// learner's customer, the expert's account and the session — and the slot
// is checked again (409 slot-taken if it went meanwhile, and the
// authorization is cancelled). Completing it twice books once: the
// session's id is the attempt's.
func (s *Service) ConfirmBooking(ctx context.Context, learnerID, id string) (Session, error) {
	var (
		listing, authID, status, currency string
		amount                            int64
		start                             sql.NullTime
	)
	err := s.db.QueryRowContext(ctx, `SELECT listing_id, start_at, amount, currency, auth_id, status FROM market_booking_attempts
		WHERE id = $1 AND learner_id = $2`, id, learnerID).Scan(&listing, &start, &amount, &currency, &authID, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, ErrNotFound
	} else if err != nil {
		return Session{}, err
	}
	switch status {
	case "booked":
		return s.Session(ctx, learnerID, id)
	case "failed":
		return Session{}, fmt.Errorf("%w: this booking did not go through; book again", ErrWrongState)
	}
	in := BookingInput{Listing: listing, Now: !start.Valid}
	if start.Valid {
		in.Start = &start.Time
	}
	want := billing.Authorized{PayerID: learnerID, Amount: billing.Money{Amount: amount, Currency: currency}, Ref: id, AuthID: authID}
	p, err := s.planBooking(ctx, learnerID, in, id)
	if err == nil && (p.holdMoney() != want.Amount || p.deferred) {
		err = fmt.Errorf("%w: the listing changed since; book again", ErrWrongState)
	}
	if err != nil {
		// The slot went by, or the listing changed: nothing will be booked.
		// A failure on the way (the database, the messenger) is not that:
		// the attempt and its authorization stay for the learner's retry.
		if refused(err) {
			want.PayeeID = p.se.ExpertID
			s.payments().Abandon(ctx, want)
			s.failAttempt(ctx, id)
		}
		return Session{}, err
	}
	want.PayeeID = p.se.ExpertID
	authorized, err := s.payments().Confirm(ctx, want)
	var action *billing.ActionRequiredError
	switch {
	case errors.As(err, &action):
		hold := p.holdMoney()
		return Session{}, &PaymentError{Hold: &hold, AuthURL: action.URL, Attempt: id, Detail: "the payment still waits for you at the card's bank"}
	case err != nil:
		if errors.Is(err, billing.ErrInsufficient) || errors.Is(err, billing.ErrAuthMismatch) {
			s.payments().Abandon(ctx, want)
			s.failAttempt(ctx, id)
		}
		if errors.Is(err, billing.ErrAuthMismatch) {
			return Session{}, fmt.Errorf("%w: %v", ErrWrongState, err)
		}
		return Session{}, p.authError(err)
	}
	return s.commitBooking(ctx, p, authorized, true)
}

// refused says whether a booking was refused for good (its input, the
// listing or the slot), as opposed to failing on the way.
func refused(err error) bool {
	var p *httpx.Problem
	return (errors.As(err, &p) && p.Status < 500) || errors.Is(err, ErrUnavailable) || errors.Is(err, ErrWrongState) ||
		errors.Is(err, ErrNotFound) || errors.Is(err, ErrSlotTaken)
}
