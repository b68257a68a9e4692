package market

import (
	"testing"
	"time"
)

// A hold extended by a second payment, where the first cannot spare what
// the second would need to reach Stripe's minimum: the second's share is
// not taken, and the session is charged exactly what Stripe captures — the
// commission and the expert's share computed on that.
func TestAPartBelowTheMinimumIsNotCharged(t *testing.T) {
	eachCard(t, func(t *testing.T, m *cardMoney) {
		// 5 cents a minute: 15 minutes hold 75, an extension another 75.
		ex, l := m.expertWith("computers-electronics", perMinute("Windows on a Mac", 5))
		m.connected(ex)
		lea := m.user("Lea")
		m.card(lea, "pm_card_noIncremental")
		se := m.startNow(lea, l)
		if _, err := m.svc.Extend(m.ctx, lea, se.ID, 15); err != nil {
			t.Fatal(err)
		}
		var second string
		if err := m.d.QueryRowContext(m.ctx, `SELECT auth_id FROM billing_provider_hold_parts WHERE hold_id = $1`, se.holdID).Scan(&second); err != nil {
			t.Fatal(err)
		}
		// 16 minutes: 80, of which the second payment's 5 is below the
		// minimum and the first (75) cannot give it 45 and keep 50.
		m.meter.set(se.CallID, 16*time.Minute)
		done, err := m.svc.End(m.ctx, lea, se.ID)
		if err != nil || done.Charged != 75 || done.Commission != 15 {
			t.Fatalf("ended: %+v, %v", done, err)
		}
		first := m.intent(se)
		two, _ := m.fake.Intent(second)
		if first.Received != 75 || first.Fee != 15 || two.Received != 0 || two.Status != "canceled" {
			t.Fatalf("captured %d (fee %d); the second %+v", first.Received, first.Fee, two)
		}
		ops, err := m.pay.Ops(m.ctx, se.holdID)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range ops {
			if o.State != "done" {
				t.Fatalf("op %+v", o)
			}
		}
		// Learner paid 75: 15 to the platform, 60 paid out to the expert.
		m.balances(lea, ex, 0, 0, 60, 15, -75)
	})
}
