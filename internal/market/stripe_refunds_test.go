package market

import (
	"testing"
	"time"
)

// A refund made in Stripe's dashboard that is still pending is recorded
// only once it succeeds, once; a refund of Parley's that Stripe answers
// failed is not retried, is marked failed for the operator, and the
// ledger's refund is reversed — at once, or when a webhook says so later.
func TestRefundsAreRecordedOnlyWhenTheySucceed(t *testing.T) {
	eachCard(t, func(t *testing.T, m *cardMoney) {
		ex, l := m.expertWith("computers-electronics", perMinute("Windows on a Mac", 150))
		m.connected(ex)
		lea := m.user("Lea")
		m.card(lea, "pm_card_visa")
		se := m.startNow(lea, l)
		m.meter.set(se.CallID, 10*time.Minute)
		done, err := m.svc.End(m.ctx, lea, se.ID)
		if err != nil || done.Charged != 1500 {
			t.Fatalf("ended: %+v, %v", done, err)
		}
		m.balances(lea, ex, 0, 0, 1200, 300, -1500)
		pi := m.intent(se)
		refunded := func() int64 {
			t.Helper()
			s, err := m.svc.Session(m.ctx, lea, se.ID)
			if err != nil {
				t.Fatal(err)
			}
			return s.Refunded
		}

		// From the dashboard, pending: nothing yet.
		re := m.fake.RefundOutsidePending(pi.ID, 500)
		m.deliver("charge.refunded")
		if r := refunded(); r != 0 {
			t.Fatalf("a pending refund was recorded: %d", r)
		}
		m.fake.SettleRefund(re, "succeeded")
		m.deliver("charge.refund.updated")
		if r := refunded(); r != 500 {
			t.Fatalf("after it succeeded: %d", r)
		}
		m.balances(lea, ex, 0, 0, 800, 200, -1000)

		// Parley's own, answered failed: not retried, failed for the
		// operator, the ledger as before it.
		m.fake.FailRefunds(true)
		if _, err := m.svc.Refund(m.ctx, ex, se.ID, 300, ""); err != nil {
			t.Fatal(err)
		}
		if r := refunded(); r != 500 {
			t.Fatalf("after a failed refund: %d", r)
		}
		m.balances(lea, ex, 0, 0, 800, 200, -1000)
		ops, err := m.pay.Ops(m.ctx, se.holdID)
		if err != nil {
			t.Fatal(err)
		}
		last := ops[len(ops)-1]
		if last.Kind != "refund" || last.State != "failed" || last.Attempts != 1 {
			t.Fatalf("the failed refund's op: %+v", last)
		}
		m.now = m.now.Add(2 * time.Hour)
		if err := m.svc.Sweep(m.ctx); err != nil {
			t.Fatal(err)
		}
		if ops, _ := m.pay.Ops(m.ctx, se.holdID); ops[len(ops)-1].Attempts != 1 {
			t.Fatalf("a failed refund was tried again: %+v", ops[len(ops)-1])
		}

		// One that succeeded, then failed later (the card's bank sent it
		// back): reversed when the webhook says so, once.
		m.fake.FailRefunds(false)
		if _, err := m.svc.Refund(m.ctx, ex, se.ID, 300, ""); err != nil {
			t.Fatal(err)
		}
		m.balances(lea, ex, 0, 0, 560, 140, -700)
		ops, _ = m.pay.Ops(m.ctx, se.holdID)
		last = ops[len(ops)-1]
		if last.State != "done" || !m.fake.SettleRefund(last.ProviderRef, "failed") {
			t.Fatalf("the refund: %+v", last)
		}
		m.deliver("charge.refund.updated")
		if r := refunded(); r != 500 {
			t.Fatalf("after the refund failed later: %d", r)
		}
		m.balances(lea, ex, 0, 0, 800, 200, -1000)
	})
}
