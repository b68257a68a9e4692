package market

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

// paymentNotices records what the marketplace told people in the app.
type paymentNotices struct {
	mu   sync.Mutex
	sent []string // "user kind"
}

func (n *paymentNotices) Notice(_ context.Context, userID, kind string, _ any) {
	n.mu.Lock()
	n.sent = append(n.sent, userID+" "+kind)
	n.mu.Unlock()
}

func (n *paymentNotices) count(userID, kind string) (c int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, s := range n.sent {
		if s == userID+" "+kind {
			c++
		}
	}
	return c
}

func (m *cardMoney) deferred(id string) (status string, attempts int) {
	m.t.Helper()
	if err := m.d.QueryRowContext(m.ctx, `SELECT status, attempts FROM market_deferred_holds WHERE session_id = $1`, id).Scan(&status, &attempts); err != nil {
		m.t.Fatal(err)
	}
	return status, attempts
}

// A session booked ten days ahead holds nothing at booking; the sweep
// places its hold off session a day before it starts.
func TestASessionBookedFarAheadIsHeldADayBefore(t *testing.T) {
	eachCard(t, func(t *testing.T, m *cardMoney) {
		ex, l := m.expertWith("computers-electronics", perMinute("Windows on a Mac", 150))
		m.connected(ex)
		lea, bob := m.user("Lea"), m.user("Bob")
		m.card(lea, "pm_card_visa")
		start := time.Date(2026, 3, 13, 15, 0, 0, 0, time.UTC) // a Friday, ten days on
		// Without a card it is refused at once, as any booking.
		if _, err := m.svc.Book(m.ctx, bob, BookingInput{Listing: l.ID, Start: &start}); err == nil {
			t.Fatal("a booking far ahead without a card was taken")
		}
		se, err := m.svc.Book(m.ctx, lea, BookingInput{Listing: l.ID, Start: &start})
		if err != nil || se.Status != Booked || se.Held != 0 || se.holdID != "" {
			t.Fatalf("booked far ahead: %+v, %v", se, err)
		}
		if n := len(m.fake.Requests()); n != 0 {
			t.Fatalf("%d requests to Stripe at booking", n)
		}
		m.balances(lea, ex, 0, 0, 0, 0, 0)

		m.now = start.Add(-AuthorizeBefore - time.Minute)
		if err := m.svc.Sweep(m.ctx); err != nil {
			t.Fatal(err)
		}
		if st, _ := m.deferred(se.ID); st != "pending" {
			t.Fatalf("before its time: %s", st)
		}
		m.now = start.Add(-AuthorizeBefore)
		if err := m.svc.Sweep(m.ctx); err != nil {
			t.Fatal(err)
		}
		got, err := m.svc.Session(m.ctx, "", se.ID)
		if err != nil || got.Held != 15*150 || got.Status != Booked {
			t.Fatalf("a day before: %+v, %v", got, err)
		}
		if st, n := m.deferred(se.ID); st != "placed" || n != 1 {
			t.Fatalf("the deferred hold: %s after %d attempts", st, n)
		}
		in := m.intent(got)
		if !in.OffSession || in.Status != "requires_capture" || in.Amount != 15*150 {
			t.Fatalf("the hold at Stripe: %+v", in)
		}
		m.balances(lea, ex, 15*150, 0, 0, 0, -15*150)
	})
}

// A card that refuses when the hold is due: the learner is told, the
// sweep tries again (with a new key, so a card changed since is tried),
// and a session still unheld at the cutoff is cancelled without a fee.
func TestADeferredHoldThatFailsIsRetriedThenTheSessionIsCancelled(t *testing.T) {
	eachCard(t, func(t *testing.T, m *cardMoney) {
		ex, l := m.expertWith("computers-electronics", perMinute("Windows on a Mac", 150))
		m.connected(ex)
		lea := m.user("Lea")
		m.card(lea, "pm_card_visa")
		first := time.Date(2026, 3, 13, 15, 0, 0, 0, time.UTC)
		second := time.Date(2026, 3, 13, 19, 0, 0, 0, time.UTC)
		a, err := m.svc.Book(m.ctx, lea, BookingInput{Listing: l.ID, Start: &first})
		if err != nil {
			t.Fatal(err)
		}
		b, err := m.svc.Book(m.ctx, lea, BookingInput{Listing: l.ID, Start: &second})
		if err != nil {
			t.Fatal(err)
		}
		// The card needs 3-D Secure, which nobody can do off session.
		m.card(lea, "pm_card_authenticationRequired")
		m.now = first.Add(-AuthorizeBefore)
		if err := m.svc.Sweep(m.ctx); err != nil {
			t.Fatal(err)
		}
		if st, n := m.deferred(a.ID); st != "pending" || n != 1 || m.notices.count(lea, "session_payment_failed") != 1 {
			t.Fatalf("after a refusal: %s, %d attempts, %v", st, n, m.notices.sent)
		}
		// The learner saves another card: the next try takes it.
		m.card(lea, "pm_card_visa")
		m.now = m.now.Add(AuthorizeRetry)
		if err := m.svc.Sweep(m.ctx); err != nil {
			t.Fatal(err)
		}
		if st, n := m.deferred(a.ID); st != "placed" || n != 2 {
			t.Fatalf("after saving a good card: %s, %d attempts", st, n)
		}

		// The second session's card refuses until the cutoff.
		m.card(lea, "pm_card_chargeDeclined")
		for m.now = second.Add(-AuthorizeBefore); m.now.Before(second.Add(-AuthorizeCutoff)); m.now = m.now.Add(AuthorizeRetry) {
			if err := m.svc.Sweep(m.ctx); err != nil {
				t.Fatal(err)
			}
		}
		if st, n := m.deferred(b.ID); st != "pending" || n < 10 || m.notices.count(lea, "session_payment_failed") != 2 {
			t.Fatalf("before the cutoff: %s after %d attempts, notices %v", st, n, m.notices.sent)
		}
		m.now = second.Add(-AuthorizeCutoff)
		if err := m.svc.Sweep(m.ctx); err != nil {
			t.Fatal(err)
		}
		got, err := m.svc.Session(m.ctx, "", b.ID)
		if err != nil || got.Status != Cancelled || got.Charged != 0 || got.CancelFee != 0 {
			t.Fatalf("at the cutoff: %+v, %v", got, err)
		}
		if st, _ := m.deferred(b.ID); st != "failed" || m.notices.count(lea, "session_cancelled_unpaid") != 1 ||
			m.notices.count(ex, "session_cancelled_unpaid") != 1 {
			t.Fatalf("after the cutoff: %s, notices %v", st, m.notices.sent)
		}
		// The first session, held but never joined, went by meanwhile:
		// missed, its hold released.
		if got, _ := m.svc.Session(m.ctx, "", a.ID); got.Status != Missed {
			t.Fatalf("the first session: %+v", got)
		}
		m.balances(lea, ex, 0, 0, 0, 0, 0)
	})
}

// The learner cancels a session booked far ahead just as the sweep places
// its hold: the cancellation, working from the session as it read it
// (unheld), must still release the hold the sweep placed meanwhile — not
// leave it held on a cancelled session.
func TestADeferredHoldPlacedWhileTheLearnerCancelsIsReleased(t *testing.T) {
	eachCard(t, func(t *testing.T, m *cardMoney) {
		ex, l := m.expertWith("computers-electronics", perMinute("Windows on a Mac", 150))
		m.connected(ex)
		lea := m.user("Lea")
		m.card(lea, "pm_card_visa")
		start := time.Date(2026, 3, 13, 15, 0, 0, 0, time.UTC)
		se, err := m.svc.Book(m.ctx, lea, BookingInput{Listing: l.ID, Start: &start})
		if err != nil {
			t.Fatal(err)
		}
		m.now = start.Add(-AuthorizeBefore)
		read, err := m.svc.Session(m.ctx, lea, se.ID) // the cancel reads it unheld…
		if err != nil || read.holdID != "" {
			t.Fatalf("before the sweep: %+v, %v", read, err)
		}
		if err := m.svc.Sweep(m.ctx); err != nil { // …the sweep places the hold…
			t.Fatal(err)
		}
		held, err := m.svc.Session(m.ctx, "", se.ID)
		if err != nil || held.holdID == "" {
			t.Fatalf("the sweep placed nothing: %+v, %v", held, err)
		}
		if _, err := m.svc.cancel(m.ctx, lea, read); err != nil { // …and the cancel commits
			t.Fatal(err)
		}
		got, err := m.svc.Session(m.ctx, "", se.ID)
		if err != nil || got.Status != Cancelled || got.Charged != 0 || got.CancelFee != 0 {
			t.Fatalf("cancelled: %+v, %v", got, err)
		}
		if in := m.intent(held); in.Status != "canceled" || in.Received != 0 {
			t.Fatalf("the hold at Stripe after the cancel: %+v", in)
		}
		m.balances(lea, ex, 0, 0, 0, 0, 0)
	})
}

// A session rescheduled while the sweep is about to place its deferred
// hold: the sweep, working from the session as it read it, places nothing
// (the hold is due a day before the new start, not now), and the hold is
// placed a day before the new start.
func TestADeferredHoldFollowsAReschedulingThatRacesTheSweep(t *testing.T) {
	eachCard(t, func(t *testing.T, m *cardMoney) {
		ex, l := m.expertWith("computers-electronics", perMinute("Windows on a Mac", 150))
		m.connected(ex)
		lea := m.user("Lea")
		m.card(lea, "pm_card_visa")
		first := time.Date(2026, 3, 13, 15, 0, 0, 0, time.UTC)
		later := first.AddDate(0, 0, 7)
		se, err := m.svc.Book(m.ctx, lea, BookingInput{Listing: l.ID, Start: &first})
		if err != nil {
			t.Fatal(err)
		}
		m.now = first.Add(-AuthorizeBefore)
		read, err := m.svc.session(m.ctx, m.d, se.ID) // the sweep reads it…
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.svc.Reschedule(m.ctx, lea, se.ID, later); err != nil { // …the learner moves it a week on…
			t.Fatal(err)
		}
		if err := m.svc.place(m.ctx, read); err != nil { // …and the sweep goes on
			t.Fatal(err)
		}
		got, err := m.svc.Session(m.ctx, "", se.ID)
		if err != nil || got.holdID != "" || got.Held != 0 || !got.StartAt.Equal(later) {
			t.Fatalf("a hold placed eight days before the session: %+v, %v", got, err)
		}
		if st, n := m.deferred(se.ID); st != "pending" || n != 0 {
			t.Fatalf("the deferred hold: %s after %d attempts", st, n)
		}
		for _, r := range m.fake.Requests() {
			if strings.Contains(r.Path, "payment_intents") {
				t.Fatalf("Stripe was asked %s %s", r.Method, r.Path)
			}
		}
		m.balances(lea, ex, 0, 0, 0, 0, 0)
		m.now = later.Add(-AuthorizeBefore)
		if err := m.svc.Sweep(m.ctx); err != nil {
			t.Fatal(err)
		}
		if got, err = m.svc.Session(m.ctx, "", se.ID); err != nil || got.Held != 15*150 {
			t.Fatalf("a day before the new start: %+v, %v", got, err)
		}
	})
}

// A session still unheld at its cutoff, rescheduled just as the sweep
// comes to cancel it: the sweep, working from the session as it read it,
// does not cancel the session at its new start, which has its own cutoff.
func TestAnUnheldSessionRescheduledAtItsCutoffIsNotCancelled(t *testing.T) {
	eachCard(t, func(t *testing.T, m *cardMoney) {
		ex, l := m.expertWith("computers-electronics", perMinute("Windows on a Mac", 150))
		m.connected(ex)
		lea := m.user("Lea")
		m.card(lea, "pm_card_chargeDeclined")
		first := time.Date(2026, 3, 13, 15, 0, 0, 0, time.UTC)
		later := first.AddDate(0, 0, 7)
		se, err := m.svc.Book(m.ctx, lea, BookingInput{Listing: l.ID, Start: &first})
		if err != nil {
			t.Fatal(err)
		}
		m.now = first.Add(-AuthorizeCutoff)
		read, err := m.svc.session(m.ctx, m.d, se.ID) // the sweep reads it at the cutoff…
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.svc.Reschedule(m.ctx, ex, se.ID, later); err != nil { // …the expert moves it a week on…
			t.Fatal(err)
		}
		if err := m.svc.place(m.ctx, read); err != nil { // …and the sweep goes on
			t.Fatal(err)
		}
		got, err := m.svc.Session(m.ctx, "", se.ID)
		if err != nil || got.Status != Booked || !got.StartAt.Equal(later) {
			t.Fatalf("the session moved a week on: %+v, %v", got, err)
		}
		if st, _ := m.deferred(se.ID); st != "pending" || m.notices.count(lea, "session_cancelled_unpaid") != 0 {
			t.Fatalf("the deferred hold: %s, notices %v", st, m.notices.sent)
		}
	})
}
