package market

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82"
)

// Stripe delivers webhooks in any order: a card saved before the one saved
// since, or an account's older state, arriving late changes nothing — at
// Stripe (the customer's default card) or in Parley.
func TestALateWebhookDoesNotUndoANewerOne(t *testing.T) {
	eachCard(t, func(t *testing.T, m *cardMoney) {
		t0 := time.Date(2026, 3, 3, 16, 0, 0, 0, time.UTC)
		m.fake.SetClock(func() time.Time { return t0 })
		lea := m.user("Lea")
		cus := "cus_" + lea
		m.fake.AddCustomer(cus)
		if err := m.pay.SetCustomer(m.ctx, lea, cus); err != nil {
			t.Fatal(err)
		}
		setup := func(key, pm string) []byte {
			id, _, err := m.sp.SetupCard(m.ctx, cus, key)
			if err != nil || !m.fake.ConfirmSetup(id, pm) {
				t.Fatalf("setting up %s: %v", pm, err)
			}
			return m.fake.LastEvent("setup_intent.succeeded")
		}
		older := setup("k-older", "pm_card_visa")
		m.fake.SetClock(func() time.Time { return t0.Add(time.Minute) })
		newer := setup("k-newer", "pm_card_mastercard")
		m.deliverRaw(newer)
		m.deliverRaw(older)
		c, ok, err := m.pay.Card(m.ctx, lea)
		if err != nil || !ok || c.Last4 != "4444" {
			t.Fatalf("the saved card is %+v (%v, %v), want the newer mastercard", c, ok, err)
		}
		if _, pm, _ := m.pay.Customer(m.ctx, lea); pm != "pm_card_mastercard" {
			t.Fatalf("holds would use %s", pm)
		}
		if fc, _ := m.fake.Customer(cus); fc.DefaultPaymentMethod != "pm_card_mastercard" {
			t.Fatalf("Stripe's default card is %s", fc.DefaultPaymentMethod)
		}

		// An account restricted at t0+2min, then the event of t0+1min
		// (still enabled) delivered late: it stays restricted.
		ex := m.user("Exa")
		acct := m.connected(ex)
		account := func(id string, at time.Time, enabled bool) {
			raw, _ := json.Marshal(map[string]any{"id": id, "object": "event", "api_version": stripe.APIVersion, "created": at.Unix(),
				"type": "account.updated", "data": map[string]any{"object": map[string]any{"id": acct, "object": "account",
					"charges_enabled": enabled, "payouts_enabled": enabled, "details_submitted": true}}})
			m.deliverRaw(raw)
		}
		account("evt_restricted", t0.Add(2*time.Minute), false)
		account("evt_late", t0.Add(time.Minute), true)
		if _, ready, err := m.pay.PayeeAccount(m.ctx, ex); err != nil || ready {
			t.Fatalf("the account is ready %v (%v) after a late event", ready, err)
		}
		account("evt_enabled", t0.Add(3*time.Minute), true)
		if _, ready, err := m.pay.PayeeAccount(m.ctx, ex); err != nil || !ready {
			t.Fatalf("the account is ready %v (%v) after a newer event", ready, err)
		}
	})
}

// A session held on a card and moved so far that the authorization would
// lapse before it (more than AuthorizeAhead after the hold was placed)
// lets the hold go at once and is held again by the sweep a day before its
// new start, as if booked that far ahead — rather than left for Stripe to
// cancel.
func TestASessionMovedFarAheadIsHeldAgainNearItsNewStart(t *testing.T) {
	eachCard(t, func(t *testing.T, m *cardMoney) {
		ex, l := m.expertWith("computers-electronics", perMinute("Windows on a Mac", 150))
		m.connected(ex)
		lea := m.user("Lea")
		m.card(lea, "pm_card_visa")
		se, err := m.svc.Book(m.ctx, lea, BookingInput{Listing: l.ID, Start: m.tomorrow()})
		if err != nil || se.holdID == "" {
			t.Fatalf("booked: %+v, %v", se, err)
		}
		first := m.intent(se)
		// Moved by a day: still well within the authorization.
		near := m.tomorrow().Add(48 * time.Hour)
		if se, err = m.svc.Reschedule(m.ctx, ex, se.ID, near); err != nil || se.holdID == "" || se.Held != 2250 {
			t.Fatalf("moved near: %+v, %v", se, err)
		}
		// Moved nine days on: the hold is let go of, and deferred.
		far := m.tomorrow().Add(9 * 24 * time.Hour)
		moved, err := m.svc.Reschedule(m.ctx, ex, se.ID, far)
		if err != nil || moved.holdID != "" || moved.Held != 0 || !moved.StartAt.Equal(far) {
			t.Fatalf("moved far: %+v, %v", moved, err)
		}
		if pi, _ := m.fake.Intent(first.ID); pi.Status != "canceled" {
			t.Fatalf("the first authorization is %s", pi.Status)
		}
		if st, _ := m.deferred(se.ID); st != "pending" {
			t.Fatalf("deferred: %s", st)
		}
		m.balances(lea, ex, 0, 0, 0, 0, 0)
		// The sweep holds it again a day before.
		m.now = far.Add(-AuthorizeBefore)
		if err := m.svc.Sweep(m.ctx); err != nil {
			t.Fatal(err)
		}
		held, err := m.svc.Session(m.ctx, lea, se.ID)
		if err != nil || held.holdID == "" || held.Held != 2250 {
			t.Fatalf("held again: %+v, %v", held, err)
		}
		if second := m.intent(held); second.ID == first.ID || second.Status != "requires_capture" || second.Amount != 2250 {
			t.Fatalf("the new authorization: %+v", second)
		}
		m.balances(lea, ex, 2250, 0, 0, 0, -2250)
	})
}
