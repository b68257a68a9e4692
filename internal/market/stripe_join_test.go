package market

import (
	"errors"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/billing"
)

// A paid session booked far ahead whose card hold has not been placed
// cannot be opened — it would be free — and is a 402 that says why.
func TestAPaidSessionWithoutItsHoldCannotBeJoined(t *testing.T) {
	eachCard(t, func(t *testing.T, m *cardMoney) {
		ex, l := m.expertWith("computers-electronics", perMinute("Windows on a Mac", 150))
		m.connected(ex)
		lea := m.user("Lea")
		m.card(lea, "pm_card_visa")
		start := time.Date(2026, 3, 13, 15, 0, 0, 0, time.UTC)
		se, err := m.svc.Book(m.ctx, lea, BookingInput{Listing: l.ID, Start: &start})
		if err != nil || se.holdID != "" {
			t.Fatalf("booked far ahead: %+v, %v", se, err)
		}
		m.now = start.Add(-5 * time.Minute) // the sweep has not placed it
		_, err = m.svc.Join(m.ctx, lea, se.ID)
		var pe *PaymentError
		if !errors.As(err, &pe) || pe.Reason != ReasonNotHeld || pe.Hold == nil || *pe.Hold != (billing.Money{Amount: 2250, Currency: "USD"}) ||
			pe.Problem().Status != 402 {
			t.Fatalf("joining an unheld paid session: %v", err)
		}
		if got, _ := m.svc.Session(m.ctx, lea, se.ID); got.Status != Booked || got.CallID != "" {
			t.Fatalf("the session: %+v", got)
		}
		// Once held, it opens.
		m.now = start.Add(-AuthorizeBefore)
		if err := m.svc.Sweep(m.ctx); err != nil {
			t.Fatal(err)
		}
		m.now = start.Add(-5 * time.Minute)
		if got, err := m.svc.Join(m.ctx, lea, se.ID); err != nil || got.Status != Active {
			t.Fatalf("joining once held: %+v, %v", got, err)
		}
	})
}
