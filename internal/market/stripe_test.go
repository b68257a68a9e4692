package market

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82"

	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/billing"
	"github.com/parley-chat/parley/internal/billing/stripepay"
	"github.com/parley-chat/parley/internal/billing/stripepay/stripefake"
	"github.com/parley-chat/parley/internal/calls"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/db"
	"github.com/parley-chat/parley/internal/db/dbtest"
)

// cardMoney is the marketplace with Stripe as its payment provider, over
// the stateful fake.
type cardMoney struct {
	*money
	fake *stripefake.Server
	pay  *billing.ProviderPayments
	sp   *stripepay.Provider
	// notices is what the marketplace told people in the app.
	notices *paymentNotices
}

func eachCard(t *testing.T, fn func(t *testing.T, m *cardMoney)) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		fake := stripefake.New()
		t.Cleanup(fake.Close)
		quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
		sp, err := stripepay.New(stripepay.Config{SecretKey: "sk_test_fake", WebhookSecret: "whsec_test", BackendURL: fake.URL,
			MaxNetworkRetries: stripe.Int64(0), Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		m := &cardMoney{money: &money{now: time.Date(2026, 3, 3, 15, 0, 0, 0, time.UTC), meter: &meter{d: map[string]time.Duration{}}}, fake: fake,
			sp: sp, notices: &paymentNotices{}}
		clock := func() time.Time { return m.now }
		ch := chat.NewService(d, nil, clock, nil)
		m.calls = calls.NewService(d, ch, nil, calls.Config{Node: "n1", Now: clock})
		m.bill = billing.NewService(d, clock)
		m.pay = billing.NewProviderPayments(m.bill, sp, quiet)
		m.fixture = &fixture{t: t, ctx: context.Background(), d: d,
			auth: auth.NewService(d, auth.Config{Argon2: auth.Argon2Params{Memory: 64, Time: 1, Threads: 1}, Now: clock}),
			svc: NewService(d, Config{Chat: ch, Calls: m.calls, Meter: m.meter, Billing: m.bill, Payments: m.pay, Now: clock,
				Notify: m.notices})}
		fn(t, m)
	}, auth.Migrations, chat.Migrations, calls.Migrations, billing.Migrations, Migrations)
}

// card gives a learner a Stripe customer with a saved payment method.
func (m *cardMoney) card(user, pm string) {
	m.t.Helper()
	cus := "cus_" + user
	m.fake.AddCustomer(cus)
	if err := m.pay.SetCustomer(m.ctx, user, cus); err != nil {
		m.t.Fatal(err)
	}
	if err := m.pay.SavePaymentMethod(m.ctx, m.d, cus, pm); err != nil {
		m.t.Fatal(err)
	}
}

// connected gives an expert a connected account that takes payments.
func (m *cardMoney) connected(user string) string {
	m.t.Helper()
	acct := "acct_" + user
	m.fake.AddAccount(acct)
	if err := m.pay.SetPayeeAccount(m.ctx, user, acct); err != nil {
		m.t.Fatal(err)
	}
	if err := m.pay.SetAccountStatus(m.ctx, m.d, acct, true, true, true, m.now); err != nil {
		m.t.Fatal(err)
	}
	return acct
}

func (m *cardMoney) balance(kind, owner string) int64 {
	m.t.Helper()
	b, err := m.bill.Ledger.Balance(m.ctx, m.d, billing.Account{Kind: kind, OwnerID: owner}, "USD")
	if err != nil {
		m.t.Fatal(err)
	}
	return b
}

// balances checks the ledger sums to zero and the accounts hold what is
// wanted: the learner's hold, the expert's payable and payout, the
// platform's revenue and the outside world (what cards paid, net).
func (m *cardMoney) balances(learner, expert string, hold, payable, payout, revenue, external int64) {
	m.t.Helper()
	var sum int64
	if err := m.d.QueryRowContext(m.ctx, `SELECT COALESCE(SUM(amount), 0) FROM billing_lines`).Scan(&sum); err != nil {
		m.t.Fatal(err)
	}
	got := [6]int64{m.balance(billing.HoldAcct, learner), m.balance(billing.Payable, expert), m.balance(billing.Payout, expert),
		m.balance(billing.Revenue, ""), m.balance(billing.External, ""), m.balance(billing.Wallet, learner)}
	want := [6]int64{hold, payable, payout, revenue, external, 0}
	if sum != 0 || got != want {
		m.t.Fatalf("ledger (hold, payable, payout, revenue, external, wallet) = %v, want %v; lines sum to %d", got, want, sum)
	}
}

// startNow books a session now and has the expert answer: it is active.
func (m *cardMoney) startNow(learner string, l Listing) Session {
	m.t.Helper()
	se, err := m.svc.Book(m.ctx, learner, BookingInput{Listing: l.ID, Now: true})
	if err != nil {
		m.t.Fatal(err)
	}
	if _, err := m.calls.Join(m.ctx, l.ExpertID, se.CallID); err != nil {
		m.t.Fatal(err)
	}
	if err := m.svc.Sweep(m.ctx); err != nil {
		m.t.Fatal(err)
	}
	return se
}

func (m *cardMoney) intent(se Session) stripefake.Intent {
	m.t.Helper()
	ops, err := m.pay.Ops(m.ctx, se.holdID)
	var auth string
	if err == nil {
		err = m.d.QueryRowContext(m.ctx, `SELECT auth_id FROM billing_provider_holds WHERE hold_id = $1`, se.holdID).Scan(&auth)
	}
	if err != nil {
		m.t.Fatal(err, ops)
	}
	in, ok := m.fake.Intent(auth)
	if !ok {
		m.t.Fatalf("Stripe has no payment intent %s", auth)
	}
	return in
}

func TestACardSessionCapturesExactlyTheChargeWithTheCommissionAsTheFee(t *testing.T) {
	eachCard(t, func(t *testing.T, m *cardMoney) {
		ex, l := m.expertWith("computers-electronics", perMinute("Windows on a Mac", 150))
		acct := m.connected(ex)
		lea := m.user("Lea")
		m.card(lea, "pm_card_visa")
		se := m.startNow(lea, l)
		in := m.intent(se)
		if in.Status != "requires_capture" || in.Amount != 15*150 || in.Destination != acct || in.Metadata[stripepay.RefKey] != se.ID {
			t.Fatalf("the hold at Stripe: %+v", in)
		}
		m.balances(lea, ex, 15*150, 0, 0, 0, -15*150)

		// The learner extends by 15 minutes: Stripe raises the authorization.
		if _, err := m.svc.Extend(m.ctx, lea, se.ID, 15); err != nil {
			t.Fatal(err)
		}
		if in = m.intent(se); in.Amount != 30*150 || in.Increments != 1 {
			t.Fatalf("after extending: %+v", in)
		}

		m.meter.set(se.CallID, 7*time.Minute+10*time.Second)
		done, err := m.svc.End(m.ctx, lea, se.ID)
		if err != nil {
			t.Fatal(err)
		}
		if done.Status != Completed || done.Charged != 1200 || done.Commission != 240 || done.ExpertShare != 960 {
			t.Fatalf("the settled session: %+v", done)
		}
		in = m.intent(se)
		if in.Status != "succeeded" || in.Received != 1200 || in.Fee != 240 || in.Released != 30*150-1200 || in.Captures != 1 {
			t.Fatalf("the capture at Stripe: %+v", in)
		}
		// The hold is gone, the rest back at the card, the expert's share
		// transferred to their account (paid out), the commission revenue.
		m.balances(lea, ex, 0, 0, 960, 240, -1200)
		for _, r := range m.fake.Requests() {
			if r.Method == "POST" && r.IdempotencyKey == "" {
				t.Errorf("%s %s without an idempotency key", r.Method, r.Path)
			}
		}
	})
}

func TestADeclinedCardIs402AndWritesNothing(t *testing.T) {
	eachCard(t, func(t *testing.T, m *cardMoney) {
		ex, l := m.expertWith("cooking", perMinute("Kimchi", 100))
		lea := m.user("Lea")
		count := func() (n int) {
			_ = m.d.QueryRowContext(m.ctx, `SELECT (SELECT COUNT(*) FROM market_sessions) + (SELECT COUNT(*) FROM billing_entries)
				+ (SELECT COUNT(*) FROM billing_holds) + (SELECT COUNT(*) FROM billing_provider_ops)`).Scan(&n)
			return n
		}
		// No connected account yet: the expert cannot take card payments.
		m.card(lea, "pm_card_visa")
		if _, err := m.svc.Book(m.ctx, lea, BookingInput{Listing: l.ID, Now: true}); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("an expert without an account: %v, want ErrUnavailable", err)
		}
		m.connected(ex)
		for _, pm := range []string{"pm_card_chargeDeclinedInsufficientFunds", "pm_card_chargeDeclined", "pm_card_authenticationRequired"} {
			m.card(lea, pm)
			_, err := m.svc.Book(m.ctx, lea, BookingInput{Listing: l.ID, Now: true})
			if !errors.Is(err, ErrPayment) {
				t.Fatalf("%s: %v, want ErrPayment", pm, err)
			}
			if n := count(); n != 0 {
				t.Fatalf("%s: a refused booking wrote %d rows", pm, n)
			}
		}
		bob := m.user("Bob") // never saved a card
		if _, err := m.svc.Book(m.ctx, bob, BookingInput{Listing: l.ID, Now: true}); !errors.Is(err, ErrPayment) {
			t.Fatalf("no card: %v, want ErrPayment", err)
		}
		// The card that wanted 3-D Secure held nothing, and its payment was
		// let go of.
		cancels := 0
		for _, r := range m.fake.Requests() {
			if r.Method == "POST" && strings.HasSuffix(r.Path, "/cancel") {
				cancels++
			}
		}
		if cancels != 1 {
			t.Fatalf("%d cancels, want 1 (the payment that needed 3-D Secure)", cancels)
		}
	})
}

func TestACaptureThatFailsAfterTheCommitIsRetriedAndCapturesOnce(t *testing.T) {
	eachCard(t, func(t *testing.T, m *cardMoney) {
		ex, l := m.expertWith("computers-electronics", perMinute("Windows on a Mac", 150))
		m.connected(ex)
		lea := m.user("Lea")
		m.card(lea, "pm_card_visa")

		for i, after := range []bool{true, false} {
			// after: Stripe captured, but its answer was lost; before:
			// Stripe was not reached at all.
			se := m.startNow(lea, l)
			m.meter.set(se.CallID, 3*time.Minute)
			m.fake.Interrupt("POST", "/capture", after)
			done, err := m.svc.End(m.ctx, lea, se.ID)
			if err != nil || done.Status != Completed || done.Charged != 450 {
				t.Fatalf("ending while Stripe fails: %+v, %v", done, err)
			}
			ops, _ := m.pay.Ops(m.ctx, se.holdID)
			if len(ops) != 1 || ops[0].State != "pending" || ops[0].Attempts != 1 || ops[0].Kind != "capture" {
				t.Fatalf("the capture after a failure: %+v", ops)
			}
			wantCaptures := map[bool]int{true: 1, false: 0}[after]
			if in := m.intent(se); in.Captures != wantCaptures {
				t.Fatalf("captures at Stripe after the failure: %d, want %d", in.Captures, wantCaptures)
			}
			// The ledger holds what the session decided; the op what Stripe
			// has yet to do.
			m.balances(lea, ex, 0, 0, int64(i+1)*360, int64(i+1)*90, -int64(i+1)*450)
			// The sweep retries once the wait is over, with the same key.
			if err := m.svc.Sweep(m.ctx); err != nil {
				t.Fatal(err)
			}
			if ops, _ = m.pay.Ops(m.ctx, se.holdID); ops[0].State != "pending" {
				t.Fatal("a retry before its time")
			}
			m.now = m.now.Add(time.Minute)
			if err := m.svc.Sweep(m.ctx); err != nil {
				t.Fatal(err)
			}
			if ops, _ = m.pay.Ops(m.ctx, se.holdID); ops[0].State != "done" || ops[0].Attempts != 2 {
				t.Fatalf("after the retry: %+v", ops)
			}
			if in := m.intent(se); in.Captures != 1 || in.Received != 450 || in.Fee != 90 {
				t.Fatalf("the retried capture at Stripe: %+v", in)
			}
			// A second sweep (or a second node) changes nothing.
			if err := m.svc.Sweep(m.ctx); err != nil {
				t.Fatal(err)
			}
			m.balances(lea, ex, 0, 0, int64(i+1)*360, int64(i+1)*90, -int64(i+1)*450)
			m.now = m.now.Add(20 * time.Minute)
		}
	})
}

func TestACardRefundReversesAtStripeAndInTheLedger(t *testing.T) {
	eachCard(t, func(t *testing.T, m *cardMoney) {
		ex, l := m.expertWith("computers-electronics", perMinute("Windows on a Mac", 150))
		m.connected(ex)
		lea := m.user("Lea")
		m.card(lea, "pm_card_visa")
		se := m.startNow(lea, l)
		m.meter.set(se.CallID, 8*time.Minute)
		if _, err := m.svc.End(m.ctx, lea, se.ID); err != nil {
			t.Fatal(err)
		}
		m.balances(lea, ex, 0, 0, 960, 240, -1200)
		// The expert gives half back: Stripe refunds it, reverses the
		// transfer and the fee in proportion; so does the ledger.
		got, err := m.svc.Refund(m.ctx, ex, se.ID, 600, "")
		if err != nil || got.Refunded != 600 {
			t.Fatalf("refund: %+v, %v", got, err)
		}
		in := m.intent(se)
		if in.Refunded != 600 || in.FeeRefunded != 120 || in.Reversed != 600 {
			t.Fatalf("the refund at Stripe: %+v", in)
		}
		m.balances(lea, ex, 0, 0, 480, 120, -600)
		// More than is left is refused and moves nothing anywhere.
		if _, err := m.svc.Refund(m.ctx, ex, se.ID, 601, ""); !errors.Is(err, billing.ErrTooMuch) {
			t.Fatalf("refund over what is left: %v", err)
		}
		// The rest by the money-back guarantee.
		c, err := m.svc.ClaimGuarantee(m.ctx, lea, se.ID, "It broke again")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.svc.DecideClaim(m.ctx, m.operator(), c.ID, true, "fair"); err != nil {
			t.Fatal(err)
		}
		if in = m.intent(se); in.Refunded != 1200 || in.FeeRefunded != 240 {
			t.Fatalf("after the guarantee at Stripe: %+v", in)
		}
		m.balances(lea, ex, 0, 0, 0, 0, 0)
		ops, _ := m.pay.Ops(m.ctx, se.holdID)
		if len(ops) != 3 || ops[1].Kind != "refund" || ops[2].State != "done" || ops[2].ProviderRef == "" {
			t.Fatalf("the ops: %+v", ops)
		}
	})
}

func TestACancelledCardSessionCapturesTheFeeOrReleasesTheHold(t *testing.T) {
	eachCard(t, func(t *testing.T, m *cardMoney) {
		thirty := 30
		in := perMinute("Guitar", 100)
		in.PriceModel, in.SessionMinutes, in.MinBillableMinutes, in.Cancellation = PerSession, &thirty, 0, "strict"
		in.Price.Amount = 4000
		ex, l := m.expertWith("art-music", in)
		m.connected(ex)
		lea := m.user("Lea")
		m.card(lea, "pm_card_visa")
		// Wednesday 10:00 and 14:00 New York, a day ahead: strict, 50 %.
		first, err := m.svc.Book(m.ctx, lea, BookingInput{Listing: l.ID, Start: ptr(time.Date(2026, 3, 4, 15, 0, 0, 0, time.UTC))})
		if err != nil {
			t.Fatal(err)
		}
		second, err := m.svc.Book(m.ctx, lea, BookingInput{Listing: l.ID, Start: ptr(time.Date(2026, 3, 4, 19, 0, 0, 0, time.UTC))})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.svc.Cancel(m.ctx, lea, first.ID); err != nil { // the learner: the policy's fee
			t.Fatal(err)
		}
		if in := m.intent(first); in.Status != "succeeded" || in.Received != 2000 || in.Fee != 400 || in.Released != 2000 {
			t.Fatalf("a strict late cancel at Stripe: %+v", in)
		}
		if _, err := m.svc.Cancel(m.ctx, ex, second.ID); err != nil { // the expert: nothing
			t.Fatal(err)
		}
		if in := m.intent(second); in.Status != "canceled" || in.Received != 0 {
			t.Fatalf("an expert's cancel at Stripe: %+v", in)
		}
		m.balances(lea, ex, 0, 0, 1600, 400, -2000)
	})
}
