package market

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82"

	"github.com/parley-chat/parley/internal/billing"
	"github.com/parley-chat/parley/internal/billing/stripepay"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/httpx"
)

// deliver hands the fake's newest event of a type to the webhook's
// handling, as Stripe's delivery would; it says whether it acted.
func (m *cardMoney) deliver(typ string) bool {
	m.t.Helper()
	raw := m.fake.LastEvent(typ)
	if raw == nil {
		m.t.Fatalf("Stripe sent no %s", typ)
	}
	return m.deliverRaw(raw)
}

// deliverRaw hands an event to the webhook's handling.
func (m *cardMoney) deliverRaw(raw []byte) bool {
	m.t.Helper()
	var ev stripe.Event
	if err := json.Unmarshal(raw, &ev); err != nil {
		m.t.Fatal(err)
	}
	e, err := stripepay.ParseEvent(ev)
	if err != nil {
		m.t.Fatal(err)
	}
	h := &stripepay.HTTP{P: m.sp, Pay: m.pay, HoldCanceled: m.svc.HoldCanceled}
	acted, err := h.Act(m.ctx, e)
	if err != nil {
		m.t.Fatal(err)
	}
	return acted
}

// tomorrow is a free slot of expertWith's week: Wednesday 10:00 New York.
func (m *cardMoney) tomorrow() *time.Time {
	t := time.Date(2026, 3, 4, 15, 0, 0, 0, time.UTC)
	return &t
}

func (m *cardMoney) attemptStatus(id string) string {
	m.t.Helper()
	var status string
	if err := m.d.QueryRowContext(m.ctx, `SELECT status FROM market_booking_attempts WHERE id = $1`, id).Scan(&status); err != nil {
		m.t.Fatal(err)
	}
	return status
}

func (m *cardMoney) sessions() (n int) {
	m.t.Helper()
	if err := m.d.QueryRowContext(m.ctx, `SELECT COUNT(*) FROM market_sessions`).Scan(&n); err != nil {
		m.t.Fatal(err)
	}
	return n
}

func authenticationRequired(t *testing.T, err error) *PaymentError {
	t.Helper()
	var pe *PaymentError
	if !errors.As(err, &pe) || pe.AuthURL == "" || pe.Attempt == "" || !errors.Is(err, ErrPayment) {
		t.Fatalf("%v, want a 402 asking to authenticate", err)
	}
	if p := pe.Problem(); p.Status != 402 || p.Type != httpx.ProblemTypePrefix+"authentication-required" ||
		p.Extensions["continue"] != "/api/v1/market/bookings/"+pe.Attempt+"/confirm" {
		t.Fatalf("the problem: %+v", p)
	}
	return pe
}

// A card that asks for 3-D Secure books nothing yet: the learner is sent
// to their bank, and back, Parley checks the payment and books — once,
// however often the return is repeated.
func TestACardAskingFor3DSecureBooksWhenTheLearnerComesBack(t *testing.T) {
	eachCard(t, func(t *testing.T, m *cardMoney) {
		m.pay.ReturnURL = func(ref string) string { return "https://parley.test/market/bookings/" + ref + "/return" }
		ex, l := m.expertWith("computers-electronics", perMinute("Windows on a Mac", 150))
		m.connected(ex)
		lea := m.user("Lea")
		m.card(lea, "pm_card_authenticationRequired")

		_, err := m.svc.Book(m.ctx, lea, BookingInput{Listing: l.ID, Start: m.tomorrow()})
		pe := authenticationRequired(t, err)
		if pe.Hold == nil || *pe.Hold != (billing.Money{Amount: 15 * 150, Currency: "USD"}) || m.sessions() != 0 {
			t.Fatalf("before authenticating: %+v, %d sessions", pe, m.sessions())
		}
		m.balances(lea, ex, 0, 0, 0, 0, 0)
		// Not back from the bank yet: still waiting.
		_, err = m.svc.ConfirmBooking(m.ctx, lea, pe.Attempt)
		authenticationRequired(t, err)
		// Someone else cannot complete it.
		if _, err := m.svc.ConfirmBooking(m.ctx, m.user("Mallory"), pe.Attempt); !errors.Is(err, ErrNotFound) {
			t.Fatalf("another learner confirming: %v", err)
		}

		var auth string
		if err := m.d.QueryRowContext(m.ctx, `SELECT auth_id FROM market_booking_attempts WHERE id = $1`, pe.Attempt).Scan(&auth); err != nil {
			t.Fatal(err)
		}
		if !m.fake.Authenticate(auth, true) {
			t.Fatal("no payment waited for 3-D Secure")
		}
		se, err := m.svc.ConfirmBooking(m.ctx, lea, pe.Attempt)
		if err != nil || se.ID != pe.Attempt || se.Status != Booked || se.Held != 15*150 {
			t.Fatalf("confirmed: %+v, %v", se, err)
		}
		again, err := m.svc.ConfirmBooking(m.ctx, lea, pe.Attempt)
		if err != nil || again.ID != se.ID || m.sessions() != 1 || m.attemptStatus(pe.Attempt) != "booked" {
			t.Fatalf("confirming again: %+v, %v, %d sessions", again, err, m.sessions())
		}
		m.balances(lea, ex, 15*150, 0, 0, 0, -15*150)
		if in := m.intent(se); in.Status != "requires_capture" || in.Metadata[stripepay.RefKey] != se.ID {
			t.Fatalf("the hold at Stripe: %+v", in)
		}
	})
}

// Back from the bank to find the slot taken: 409, nothing booked, and the
// authorization is let go of; a bank that refused is a 402.
func TestA3DSecureBookingWhoseSlotWentMeanwhileIsCancelled(t *testing.T) {
	eachCard(t, func(t *testing.T, m *cardMoney) {
		m.pay.ReturnURL = func(ref string) string { return "https://parley.test/market/bookings/" + ref + "/return" }
		ex, l := m.expertWith("computers-electronics", perMinute("Windows on a Mac", 150))
		m.connected(ex)
		lea, bob := m.user("Lea"), m.user("Bob")
		m.card(lea, "pm_card_authenticationRequired")
		m.card(bob, "pm_card_visa")

		_, err := m.svc.Book(m.ctx, lea, BookingInput{Listing: l.ID, Start: m.tomorrow()})
		pe := authenticationRequired(t, err)
		if _, err := m.svc.Book(m.ctx, bob, BookingInput{Listing: l.ID, Start: m.tomorrow()}); err != nil {
			t.Fatal(err)
		}
		var auth string
		_ = m.d.QueryRowContext(m.ctx, `SELECT auth_id FROM market_booking_attempts WHERE id = $1`, pe.Attempt).Scan(&auth)
		m.fake.Authenticate(auth, true)
		if _, err := m.svc.ConfirmBooking(m.ctx, lea, pe.Attempt); !errors.Is(err, ErrSlotTaken) {
			t.Fatalf("confirming a taken slot: %v, want ErrSlotTaken", err)
		}
		if in, _ := m.fake.Intent(auth); in.Status != "canceled" {
			t.Fatalf("the authorization of a booking that failed: %+v", in)
		}
		if _, err := m.svc.ConfirmBooking(m.ctx, lea, pe.Attempt); !errors.Is(err, ErrWrongState) || m.sessions() != 1 {
			t.Fatalf("confirming a failed attempt: %v, %d sessions", err, m.sessions())
		}
		m.balances(lea, ex, 0, 0, 0, 0, -15*150) // Bob's hold only

		// The bank refuses: 402, the payment let go of.
		_, err = m.svc.Book(m.ctx, lea, BookingInput{Listing: l.ID, Now: true})
		pe = authenticationRequired(t, err)
		_ = m.d.QueryRowContext(m.ctx, `SELECT auth_id FROM market_booking_attempts WHERE id = $1`, pe.Attempt).Scan(&auth)
		m.fake.Authenticate(auth, false)
		if _, err := m.svc.ConfirmBooking(m.ctx, lea, pe.Attempt); !errors.Is(err, ErrPayment) || m.attemptStatus(pe.Attempt) != "failed" {
			t.Fatalf("a refused authentication: %v", err)
		}
		if in, _ := m.fake.Intent(auth); in.Status != "canceled" {
			t.Fatalf("the refused payment: %+v", in)
		}
	})
}

// An authorization that is not the attempt's (another amount) is refused
// and let go of.
func TestA3DSecureConfirmationChecksThePaymentMatches(t *testing.T) {
	eachCard(t, func(t *testing.T, m *cardMoney) {
		m.pay.ReturnURL = func(ref string) string { return "https://parley.test/r/" + ref }
		ex, l := m.expertWith("computers-electronics", perMinute("Windows on a Mac", 150))
		m.connected(ex)
		lea := m.user("Lea")
		m.card(lea, "pm_card_authenticationRequired")
		_, err := m.svc.Book(m.ctx, lea, BookingInput{Listing: l.ID, Now: true})
		pe := authenticationRequired(t, err)
		var auth string
		_ = m.d.QueryRowContext(m.ctx, `SELECT auth_id FROM market_booking_attempts WHERE id = $1`, pe.Attempt).Scan(&auth)
		m.fake.Authenticate(auth, true)
		// The payment holds 2250; pretend the attempt was for less.
		if _, err := m.d.ExecContext(m.ctx, `UPDATE market_listings SET price_amount = 100 WHERE id = $1`, l.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := m.svc.ConfirmBooking(m.ctx, lea, pe.Attempt); !errors.Is(err, ErrWrongState) || m.sessions() != 0 {
			t.Fatalf("a payment that does not match: %v", err)
		}
		if in, _ := m.fake.Intent(auth); in.Status != "canceled" {
			t.Fatalf("the payment that did not match: %+v", in)
		}
	})
}

// Stripe's minimum charge: a hold is at least 50 US cents; a charge below
// it is not taken — the hold is released and the session is free.
func TestAChargeBelowStripesMinimumIsNotTaken(t *testing.T) {
	eachCard(t, func(t *testing.T, m *cardMoney) {
		five := 5
		in := perMinute("A quick question", 30)
		in.PriceModel, in.SessionMinutes, in.MinBillableMinutes = PerSession, &five, 0
		ex, l := m.expertWith("computers-electronics", in)
		m.connected(ex)
		lea := m.user("Lea")
		m.card(lea, "pm_card_visa")
		se := m.startNow(lea, l)
		if se.Held != 50 || m.intent(se).Amount != 50 {
			t.Fatalf("a 30-cent session's hold: %d (Stripe %d), want Stripe's minimum 50", se.Held, m.intent(se).Amount)
		}
		m.meter.set(se.CallID, 2*time.Minute)
		done, err := m.svc.End(m.ctx, lea, se.ID)
		if err != nil || done.Charged != 0 || done.Commission != 0 || done.Status != Completed {
			t.Fatalf("a 30-cent session: %+v, %v", done, err)
		}
		if in := m.intent(se); in.Status != "canceled" || in.Received != 0 {
			t.Fatalf("at Stripe: %+v", in)
		}
		m.balances(lea, ex, 0, 0, 0, 0, 0)

		// At the minimum it is taken.
		in.Price.Amount, in.Title = 50, "A longer question"
		l2, err := m.svc.CreateListing(m.ctx, ex, in)
		if err == nil {
			l2, err = m.svc.ReviewListing(m.ctx, m.operator(), l2.ID, "approve", "")
		}
		if err != nil {
			t.Fatal(err)
		}
		se = m.startNow(lea, l2)
		m.meter.set(se.CallID, 2*time.Minute)
		if done, err = m.svc.End(m.ctx, lea, se.ID); err != nil || done.Charged != 50 || m.intent(se).Received != 50 {
			t.Fatalf("a 50-cent session: %+v, %v", done, err)
		}
	})
}

// Refunds made in Stripe's dashboard reach the ledger through the
// charge.refunded webhook, pro rata like Parley's own and once each by
// refund id; Parley's own refunds are not counted twice.
func TestARefundMadeInStripesDashboardIsRecordedOnce(t *testing.T) {
	eachCard(t, func(t *testing.T, m *cardMoney) {
		ex, l := m.expertWith("computers-electronics", perMinute("Windows on a Mac", 150))
		m.connected(ex)
		lea := m.user("Lea")
		m.card(lea, "pm_card_visa")
		se := m.startNow(lea, l)
		m.meter.set(se.CallID, 7*time.Minute+10*time.Second)
		if _, err := m.svc.End(m.ctx, lea, se.ID); err != nil {
			t.Fatal(err)
		}
		m.balances(lea, ex, 0, 0, 960, 240, -1200)
		// Parley refunds 300; Stripe's event for it changes nothing more.
		if _, err := m.svc.Refund(m.ctx, ex, se.ID, 300, ""); err != nil {
			t.Fatal(err)
		}
		m.deliver("charge.refunded")
		m.balances(lea, ex, 0, 0, 720, 180, -900)

		// The operator refunds 500 more in the dashboard.
		if m.fake.RefundOutside(m.intent(se).ID, 500) == "" {
			t.Fatal("the fake did not refund")
		}
		if !m.deliver("charge.refunded") {
			t.Fatal("the event was not acted on")
		}
		// Pro rata: 800 refunded of 1200 → commission back 160, so 80 now.
		m.balances(lea, ex, 0, 0, 320, 80, -400)
		if m.deliver("charge.refunded") {
			t.Fatal("a repeated delivery acted again")
		}
		// The same refund seen in a later event (another refund's) counts once.
		m.fake.RefundOutside(m.intent(se).ID, 100)
		m.deliver("charge.refunded")
		m.balances(lea, ex, 0, 0, 240, 60, -300)
		got, err := m.svc.Session(m.ctx, "", se.ID)
		if err != nil || got.Refunded != 900 {
			t.Fatalf("the session's refunds: %+v, %v", got, err)
		}
	})
}

// A dispute freezes the expert's share: no refund from Parley until it
// closes.
func TestADisputeFreezesTheSessionsRefundsUntilItCloses(t *testing.T) {
	eachCard(t, func(t *testing.T, m *cardMoney) {
		ex, l := m.expertWith("computers-electronics", perMinute("Windows on a Mac", 150))
		m.connected(ex)
		lea := m.user("Lea")
		m.card(lea, "pm_card_visa")
		se := m.startNow(lea, l)
		m.meter.set(se.CallID, 4*time.Minute)
		if _, err := m.svc.End(m.ctx, lea, se.ID); err != nil {
			t.Fatal(err)
		}
		dp := m.fake.OpenDispute(m.intent(se).ID, "fraudulent")
		m.deliver("charge.dispute.created")
		ds, err := m.pay.Disputes(m.ctx)
		if err != nil || len(ds) != 1 || !ds[0].Open || ds[0].Ref != se.ID || ds[0].PayeeID != ex || ds[0].Amount.Amount != 600 {
			t.Fatalf("the operator's disputes: %+v, %v", ds, err)
		}
		if _, err := m.svc.Refund(m.ctx, ex, se.ID, 100, ""); !errors.Is(err, billing.ErrDisputed) {
			t.Fatalf("a refund while disputed: %v", err)
		}
		if p, ok := Problem(billing.ErrDisputed).(*httpx.Problem); !ok || p.Status != 409 {
			t.Fatalf("the problem: %v", Problem(billing.ErrDisputed))
		}
		m.fake.CloseDispute(dp, true)
		m.deliver("charge.dispute.closed")
		if _, err := m.svc.Refund(m.ctx, ex, se.ID, 100, ""); err != nil {
			t.Fatalf("a refund after the dispute closed: %v", err)
		}
	})
}

// A hold cancelled in Stripe's dashboard lets its booked session go,
// without a fee.
func TestAHoldCancelledInStripesDashboardCancelsTheBooking(t *testing.T) {
	eachCard(t, func(t *testing.T, m *cardMoney) {
		ex, l := m.expertWith("computers-electronics", perMinute("Windows on a Mac", 150))
		m.connected(ex)
		lea := m.user("Lea")
		m.card(lea, "pm_card_visa")
		se, err := m.svc.Book(m.ctx, lea, BookingInput{Listing: l.ID, Start: m.tomorrow()})
		if err != nil {
			t.Fatal(err)
		}
		m.fake.CancelOutside(m.intent(se).ID)
		m.deliver("payment_intent.canceled")
		got, err := m.svc.Session(m.ctx, "", se.ID)
		if err != nil || got.Status != Cancelled || got.Charged != 0 {
			t.Fatalf("the session: %+v, %v", got, err)
		}
		m.balances(lea, ex, 0, 0, 0, 0, 0)
	})
}

// With Stripe, an expert publishes paid listings only once payouts are set
// up; free ones always.
func TestPaidListingsWaitForPayouts(t *testing.T) {
	eachCard(t, func(t *testing.T, m *cardMoney) {
		ex := m.approvedExpert("Exa", "cooking")
		err := m.svc.CheckPublish(m.ctx, ex, PerMinute)
		var p *httpx.Problem
		if !errors.As(err, &p) || p.Status != 409 || p.Type != httpx.ProblemTypePrefix+"payouts-not-set-up" {
			t.Fatalf("no payouts: %v", err)
		}
		if err := m.svc.CheckPublish(m.ctx, ex, Free); err != nil {
			t.Fatal(err)
		}
		m.connected(ex)
		if err := m.svc.CheckPublish(m.ctx, ex, PerMinute); err != nil {
			t.Fatal(err)
		}
	})
}

// With the platform's country set, an expert whose account is in another
// country is charged on_behalf_of their account; one at home is not.
func TestAnExpertAbroadIsChargedOnBehalfOfTheirAccount(t *testing.T) {
	eachCard(t, func(t *testing.T, m *cardMoney) {
		m.pay.Country = "US"
		ex, l := m.expertWith("computers-electronics", perMinute("Windows on a Mac", 150))
		acct := m.connected(ex)
		lea := m.user("Lea")
		m.card(lea, "pm_card_visa")
		for _, c := range []struct{ country, want string }{{"DE", acct}, {"US", ""}} {
			if err := m.pay.SetPayeeCountry(m.ctx, ex, c.country); err != nil {
				t.Fatal(err)
			}
			se := m.startNow(lea, l)
			if in := m.intent(se); in.OnBehalfOf != c.want || in.Destination != acct {
				t.Fatalf("an expert in %s: on_behalf_of %q, want %q", c.country, in.OnBehalfOf, c.want)
			}
			if _, err := m.svc.End(m.ctx, lea, se.ID); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// A card without incremental authorization is extended by a second
// payment; the end captures across both exactly — the first filled first,
// the commission spread so the fees add up to it — and a refund goes back
// from the last.
func TestACardWithoutIncrementalAuthorizationIsExtendedByASecondPayment(t *testing.T) {
	eachCard(t, func(t *testing.T, m *cardMoney) {
		ex, l := m.expertWith("computers-electronics", perMinute("Windows on a Mac", 150))
		m.connected(ex)
		lea := m.user("Lea")
		m.card(lea, "pm_card_noIncremental")
		for _, c := range []struct {
			minutes                   time.Duration
			first, second, fee1, fee2 int64
		}{
			{20 * time.Minute, 2250, 750, 450, 150},
			// 15 min 9 s bills 16 minutes, 2400: the second payment's 150
			// is above Stripe's minimum.
			{15*time.Minute + 9*time.Second, 2250, 150, 450, 30},
		} {
			se := m.startNow(lea, l)
			if _, err := m.svc.Extend(m.ctx, lea, se.ID, 15); err != nil {
				t.Fatal(err)
			}
			first := m.intent(se)
			var parts []string
			rows, err := m.d.QueryContext(m.ctx, `SELECT auth_id FROM billing_provider_hold_parts WHERE hold_id = $1`, se.holdID)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var a string
				_ = rows.Scan(&a)
				parts = append(parts, a)
			}
			rows.Close()
			if first.Increments != 0 || first.Amount != 2250 || len(parts) != 1 {
				t.Fatalf("extending: first %+v, parts %v", first, parts)
			}
			second, _ := m.fake.Intent(parts[0])
			if second.Amount != 2250 || second.Status != "requires_capture" || second.Customer != first.Customer ||
				second.Destination != first.Destination || second.Metadata[stripepay.RefKey] != se.ID {
				t.Fatalf("the second payment: %+v", second)
			}
			m.meter.set(se.CallID, c.minutes)
			done, err := m.svc.End(m.ctx, lea, se.ID)
			if err != nil || done.Charged != c.first+c.second || done.Commission != c.fee1+c.fee2 {
				t.Fatalf("ended: %+v, %v", done, err)
			}
			first, _ = m.fake.Intent(first.ID)
			second, _ = m.fake.Intent(second.ID)
			if first.Received != c.first || first.Fee != c.fee1 || second.Received != c.second || second.Fee != c.fee2 {
				t.Fatalf("captured %d (fee %d) and %d (fee %d), want %+v", first.Received, first.Fee, second.Received, second.Fee, c)
			}
		}
		// A refund goes back from the second payment first.
		ss, err := m.svc.Sessions(m.ctx, lea)
		if err != nil {
			t.Fatal(err)
		}
		se := ss[len(ss)-1] // the 20-minute one
		if _, err := m.svc.Refund(m.ctx, ex, se.ID, 1000, ""); err != nil {
			t.Fatal(err)
		}
		var parts string
		_ = m.d.QueryRowContext(m.ctx, `SELECT auth_id FROM billing_provider_hold_parts WHERE hold_id = $1`, se.holdID).Scan(&parts)
		second, _ := m.fake.Intent(parts)
		if first := m.intent(se); second.Refunded != 750 || first.Refunded != 250 {
			t.Fatalf("refunded %d of the first and %d of the second", first.Refunded, second.Refunded)
		}
		var sum int64
		if err := m.d.QueryRowContext(m.ctx, `SELECT COALESCE(SUM(amount), 0) FROM billing_lines`).Scan(&sum); err != nil || sum != 0 {
			t.Fatalf("the ledger sums to %d, %v", sum, err)
		}
	})
}

// A booking cancelled by the other person while one of them reschedules it
// stays cancelled: the reschedule, working from the session as it read it
// (booked), must not book it again with its hold already released.
func TestASessionCancelledMeanwhileIsNotRescheduled(t *testing.T) {
	eachCard(t, func(t *testing.T, m *cardMoney) {
		ex, l := m.expertWith("computers-electronics", perMinute("Windows on a Mac", 150))
		m.connected(ex)
		lea := m.user("Lea")
		m.card(lea, "pm_card_visa")
		se, err := m.svc.Book(m.ctx, lea, BookingInput{Listing: l.ID, Start: m.tomorrow()})
		if err != nil {
			t.Fatal(err)
		}
		read, err := m.svc.Session(m.ctx, ex, se.ID) // the expert's reschedule reads it…
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.svc.Cancel(m.ctx, lea, se.ID); err != nil { // …the learner cancels…
			t.Fatal(err)
		}
		later := m.tomorrow().Add(2 * time.Hour)
		if _, err := m.svc.reschedule(m.ctx, ex, read, later); !errors.Is(err, ErrWrongState) { // …and it goes on
			t.Fatalf("rescheduling a cancelled session: %v", err)
		}
		got, err := m.svc.Session(m.ctx, "", se.ID)
		if err != nil || got.Status != Cancelled || !got.StartAt.Equal(*m.tomorrow()) {
			t.Fatalf("the session: %+v, %v", got, err)
		}
		m.balances(lea, ex, 0, 0, 0, 0, 0)
	})
}

// A cancellation fee below Stripe's minimum is not taken, like any charge
// below it — and the session does not say it was.
func TestACancellationFeeBelowStripesMinimumIsNeitherTakenNorRecorded(t *testing.T) {
	eachCard(t, func(t *testing.T, m *cardMoney) {
		thirty := 30
		in := perMinute("A quick question", 40)
		in.PriceModel, in.SessionMinutes, in.MinBillableMinutes, in.Cancellation = PerSession, &thirty, 0, "strict"
		ex, l := m.expertWith("computers-electronics", in)
		m.connected(ex)
		lea := m.user("Lea")
		m.card(lea, "pm_card_visa")
		se, err := m.svc.Book(m.ctx, lea, BookingInput{Listing: l.ID, Start: m.tomorrow()})
		if err != nil || se.Held != 50 {
			t.Fatalf("booked: %+v, %v", se, err)
		}
		// A day ahead, strict: half of the 50 held, 25 — below the minimum.
		got, err := m.svc.Cancel(m.ctx, lea, se.ID)
		if err != nil || got.Status != Cancelled || got.Charged != 0 || got.CancelFee != 0 {
			t.Fatalf("cancelled: %+v, %v", got, err)
		}
		if in := m.intent(se); in.Status != "canceled" || in.Received != 0 {
			t.Fatalf("at Stripe: %+v", in)
		}
		m.balances(lea, ex, 0, 0, 0, 0, 0)
	})
}

// An extension asked for as the session ends (the learner's Extend read it
// going on; the end settled it since) authorizes nothing more: a second
// payment made now would never be captured or cancelled, since the end's
// capture was queued without it.
func TestAnExtensionRacingTheEndLeavesNoAuthorizationBehind(t *testing.T) {
	eachCard(t, func(t *testing.T, m *cardMoney) {
		ex, l := m.expertWith("computers-electronics", perMinute("Windows on a Mac", 150))
		m.connected(ex)
		lea := m.user("Lea")
		m.card(lea, "pm_card_noIncremental")
		se := m.startNow(lea, l)
		m.meter.set(se.CallID, 5*time.Minute)
		if _, err := m.svc.End(m.ctx, lea, se.ID); err != nil {
			t.Fatal(err)
		}
		intents := func() (n int) {
			for _, r := range m.fake.Requests() {
				if r.Method == "POST" && r.Path == "/v1/payment_intents" {
					n++
				}
			}
			return n
		}
		before := intents()
		if err := m.pay.Raise(m.ctx, se.holdID, 15*150); !errors.Is(err, billing.ErrNotFound) {
			t.Fatalf("raising a settled hold: %v", err)
		}
		var parts int
		if err := m.d.QueryRowContext(m.ctx, `SELECT COUNT(*) FROM billing_provider_hold_parts`).Scan(&parts); err != nil || parts != 0 {
			t.Fatalf("%d parts recorded, %v", parts, err)
		}
		if n := intents() - before; n != 0 {
			t.Fatalf("%d payment intents made for a settled hold", n)
		}
		m.balances(lea, ex, 0, 0, 600, 150, -750)
	})
}

// downChat is a messenger that fails on the way.
type downChat struct{ Chat }

func (downChat) OpenDirect(context.Context, string, string) (chat.Conversation, bool, error) {
	return chat.Conversation{}, false, errors.New("the messenger is down")
}

// Back from the bank while something on Parley's side fails on the way:
// the booking is not refused for good — the attempt and the authorization
// the learner just gave stay, and the learner's retry books.
func TestA3DSecureBookingSurvivesAFailureOnTheWay(t *testing.T) {
	eachCard(t, func(t *testing.T, m *cardMoney) {
		m.pay.ReturnURL = func(ref string) string { return "https://parley.test/market/bookings/" + ref + "/return" }
		ex, l := m.expertWith("computers-electronics", perMinute("Windows on a Mac", 150))
		m.connected(ex)
		lea := m.user("Lea")
		m.card(lea, "pm_card_authenticationRequired")
		_, err := m.svc.Book(m.ctx, lea, BookingInput{Listing: l.ID, Start: m.tomorrow()})
		pe := authenticationRequired(t, err)
		var auth string
		if err := m.d.QueryRowContext(m.ctx, `SELECT auth_id FROM market_booking_attempts WHERE id = $1`, pe.Attempt).Scan(&auth); err != nil {
			t.Fatal(err)
		}
		if !m.fake.Authenticate(auth, true) {
			t.Fatal("no payment waited for 3-D Secure")
		}
		up := m.svc.cfg.Chat
		m.svc.cfg.Chat = downChat{up}
		if _, err := m.svc.ConfirmBooking(m.ctx, lea, pe.Attempt); err == nil {
			t.Fatal("confirmed with the messenger down")
		}
		if in, _ := m.fake.Intent(auth); in.Status != "requires_capture" || m.attemptStatus(pe.Attempt) != "pending" {
			t.Fatalf("after a failure on the way: the payment %s, the attempt %s", in.Status, m.attemptStatus(pe.Attempt))
		}
		m.svc.cfg.Chat = up
		se, err := m.svc.ConfirmBooking(m.ctx, lea, pe.Attempt)
		if err != nil || se.Status != Booked || se.Held != 15*150 || m.attemptStatus(pe.Attempt) != "booked" {
			t.Fatalf("retried: %+v, %v", se, err)
		}
		m.balances(lea, ex, 15*150, 0, 0, 0, -15*150)
	})
}

// A session held from the learner's wallet before the server switched to
// Stripe settles in the ledger alone, and the wallet has no minimum: its
// 30 cents are charged, not waived as Stripe's minimum would have them.
func TestAWalletHoldFromBeforeStripeKeepsTheWalletsRules(t *testing.T) {
	eachCard(t, func(t *testing.T, m *cardMoney) {
		five := 5
		in := perMinute("A quick question", 30)
		in.PriceModel, in.SessionMinutes, in.MinBillableMinutes = PerSession, &five, 0
		ex, l := m.expertWith("computers-electronics", in)
		m.connected(ex)
		lea := m.user("Lea")
		m.topUp(lea, 1000)
		m.svc.cfg.Payments = nil // the wallet, as before the switch
		se := m.startNow(lea, l)
		if se.Held != 30 {
			t.Fatalf("the wallet's hold: %+v", se)
		}
		m.svc.cfg.Payments = m.pay // now Stripe
		m.meter.set(se.CallID, 2*time.Minute)
		done, err := m.svc.End(m.ctx, lea, se.ID)
		if err != nil || done.Charged != 30 || done.Commission != 6 {
			t.Fatalf("ended: %+v, %v", done, err)
		}
		if w, p, r := m.wallet(lea), m.balance(billing.Payable, ex), m.balance(billing.Revenue, ""); w != 970 || p != 24 || r != 6 {
			t.Fatalf("wallet %d, payable %d, revenue %d; want 970, 24, 6", w, p, r)
		}
		for _, r := range m.fake.Requests() {
			if strings.Contains(r.Path, "payment_intents") {
				t.Fatalf("Stripe was asked %s %s for a wallet's hold", r.Method, r.Path)
			}
		}
	})
}
