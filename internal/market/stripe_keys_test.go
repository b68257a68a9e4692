package market

import (
	"errors"
	"strings"
	"testing"
)

// Stripe replays a declined request's answer for its idempotency key, so
// an extension tried again after a decline has a key of its own; a new
// part's authorization has a key of its own kind, never an incremental
// authorization's.
func TestAnExtensionTriedAgainAfterADeclineIsANewRequest(t *testing.T) {
	eachCard(t, func(t *testing.T, m *cardMoney) {
		ex, l := m.expertWith("computers-electronics", perMinute("Windows on a Mac", 150))
		m.connected(ex)
		lea, bob := m.user("Lea"), m.user("Bob")
		m.card(lea, "pm_card_incrementDeclined")
		se := m.startNow(lea, l)
		for range 2 {
			if _, err := m.svc.Extend(m.ctx, lea, se.ID, 15); !errors.Is(err, ErrPayment) {
				t.Fatalf("extending on a card that declines: %v", err)
			}
		}
		var keys []string
		for _, r := range m.fake.Requests() {
			if strings.HasSuffix(r.Path, "/increment_authorization") {
				if r.Replayed {
					t.Errorf("the extension after a decline was answered by the decline's replay (key %s)", r.IdempotencyKey)
				}
				keys = append(keys, r.IdempotencyKey)
			}
		}
		if len(keys) != 2 || keys[0] == keys[1] {
			t.Fatalf("extension keys %v", keys)
		}

		if _, err := m.svc.End(m.ctx, lea, se.ID); err != nil {
			t.Fatal(err)
		}
		m.card(bob, "pm_card_noIncremental")
		other := m.startNow(bob, l)
		if _, err := m.svc.Extend(m.ctx, bob, other.ID, 15); err != nil {
			t.Fatal(err)
		}
		var part string
		for _, r := range m.fake.Requests() {
			if r.Method == "POST" && r.Path == "/v1/payment_intents" && strings.Contains(r.IdempotencyKey, "-"+other.holdID+"-") {
				part = r.IdempotencyKey
			}
		}
		if !strings.HasPrefix(part, "parley-part-") {
			t.Fatalf("the second payment's key is %q", part)
		}
	})
}
