package market

import (
	"errors"
	"testing"

	"github.com/parley-chat/parley/internal/billing"
	"github.com/parley-chat/parley/internal/httpx"
)

// A wallet short of the hold is a 402 that carries the hold and the
// balance as money, and books nothing; so is an extension it cannot pay.
func TestAShortWalletIs402WithTheHoldAndTheBalance(t *testing.T) {
	eachMoney(t, func(t *testing.T, m *money) {
		ex, l := m.expertWith("computers-electronics", perMinute("Windows on a Mac", 150))
		lea := m.user("Lea")
		m.topUp(lea, 1000)
		_, err := m.svc.Book(m.ctx, lea, BookingInput{Listing: l.ID, Now: true})
		var pe *PaymentError
		if !errors.As(err, &pe) || !errors.Is(err, ErrPayment) || pe.Reason != ReasonWallet ||
			*pe.Hold != (billing.Money{Amount: 2250, Currency: "USD"}) || pe.Balance == nil || *pe.Balance != (billing.Money{Amount: 1000, Currency: "USD"}) {
			t.Fatalf("a short wallet: %v (%+v)", err, pe)
		}
		p, ok := Problem(err).(*httpx.Problem)
		if !ok || p.Status != 402 || p.Type != httpx.ProblemTypePrefix+"payment-required" || p.Extensions["reason"] != ReasonWallet ||
			p.Extensions["hold"] != (billing.Money{Amount: 2250, Currency: "USD"}) || p.Extensions["balance"] != (billing.Money{Amount: 1000, Currency: "USD"}) {
			t.Fatalf("the problem: %+v", p)
		}
		if m.wallet(lea) != 1000 {
			t.Fatalf("the wallet moved: %d", m.wallet(lea))
		}
		var n int
		if err := m.d.QueryRowContext(m.ctx, `SELECT COUNT(*) FROM market_sessions`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("%d sessions, %v", n, err)
		}

		// Enough for the first block, not for another.
		m.topUp(lea, 2000)
		se, err := m.svc.Book(m.ctx, lea, BookingInput{Listing: l.ID, Now: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.calls.Join(m.ctx, ex, se.CallID); err != nil {
			t.Fatal(err)
		}
		_, err = m.svc.Extend(m.ctx, lea, se.ID, 15)
		if !errors.As(err, &pe) || *pe.Hold != (billing.Money{Amount: 2250, Currency: "USD"}) || *pe.Balance != (billing.Money{Amount: 750, Currency: "USD"}) {
			t.Fatalf("an extension the wallet cannot pay: %v (%+v)", err, pe)
		}
	})
}
