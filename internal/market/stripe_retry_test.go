package market

import (
	"context"
	"database/sql"
	"errors"
	"testing"
)

// A database failure while a 3-D Secure booking is committed is not a
// refusal: the learner authenticated, so the authorization stays and the
// attempt stays open, and their retry books it.
func TestA3DSecureBookingSurvivesADatabaseFailure(t *testing.T) {
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
		lost := errors.New("connection reset by peer")
		m.svc.inBooking = func(context.Context, *sql.Tx) error { return lost }
		if _, err := m.svc.ConfirmBooking(m.ctx, lea, pe.Attempt); !errors.Is(err, lost) {
			t.Fatalf("confirming while the database fails: %v", err)
		}
		if st := m.attemptStatus(pe.Attempt); st != "pending" {
			t.Fatalf("after a database failure the attempt is %s", st)
		}
		if in, _ := m.fake.Intent(auth); in.Status != "requires_capture" {
			t.Fatalf("after a database failure the authorization is %s", in.Status)
		}
		m.svc.inBooking = nil
		se, err := m.svc.ConfirmBooking(m.ctx, lea, pe.Attempt)
		if err != nil || se.ID != pe.Attempt || se.Status != Booked || se.Held != 15*150 {
			t.Fatalf("retried: %+v, %v", se, err)
		}
		m.balances(lea, ex, 15*150, 0, 0, 0, -15*150)
	})
}
