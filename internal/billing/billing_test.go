package billing

import (
	"context"
	"database/sql"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/parley-chat/parley/internal/db"
	"github.com/parley-chat/parley/internal/db/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func TestCommissionRoundsHalfUpAndSharesAddUp(t *testing.T) {
	for _, c := range []struct {
		amount int64
		rate   BasisPoints
		want   int64
	}{
		{1005, 2000, 201}, // 200.5 rounds up
		{1004, 2000, 201}, // 200.8
		{1002, 2000, 200}, // 200.4
		{1, 2000, 0},      // 0.2
		{3, 2000, 1},      // 0.6
		{999, 0, 0},       // Health: no commission
		{999, 10000, 999}, // all of it
		{MaxAmount, 2000, MaxAmount / 5},
	} {
		if got := Commission(c.amount, c.rate); got != c.want {
			t.Errorf("Commission(%d, %d) = %d, want %d", c.amount, c.rate, got, c.want)
		}
	}
	for _, c := range []struct{ share, part, whole, want int64 }{
		{201, 500, 1005, 100}, // 100.0
		{201, 503, 1005, 101}, // 100.6
		{201, 1005, 1005, 201},
		{201, 2000, 1005, 201}, // never more than the share
		{0, 5, 10, 0},
		{7, 1, 3, 2}, // 2.33
		{7, 2, 3, 5}, // 4.67
	} {
		if got := ProRata(c.share, c.part, c.whole); got != c.want {
			t.Errorf("ProRata(%d, %d, %d) = %d, want %d", c.share, c.part, c.whole, got, c.want)
		}
	}
}

func TestCurrenciesAreISO4217WithTheirMinorUnits(t *testing.T) {
	for code, digits := range map[string]int{"USD": 2, "usd": 2, "JPY": 0, "KRW": 0, "BHD": 3, "EUR": 2} {
		got, d, err := CheckCurrency(code)
		if err != nil || d != digits || len(got) != 3 {
			t.Errorf("%s: %s %d %v, want %d digits", code, got, d, err, digits)
		}
	}
	for _, bad := range []string{"", "US", "USDD", "XYZ", "ABC", "123", "XXX", "XTS"} {
		if _, _, err := CheckCurrency(bad); !errors.Is(err, ErrCurrency) {
			t.Errorf("%q: %v, want ErrCurrency", bad, err)
		}
	}
}

type fixture struct {
	t   *testing.T
	ctx context.Context
	d   *db.DB
	svc *Service
}

func each(t *testing.T, fn func(t *testing.T, f *fixture)) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		fn(t, &fixture{t: t, ctx: context.Background(), d: d, svc: NewService(d, nil)})
	}, Migrations)
}

// tx runs fn in a transaction and returns its error.
func (f *fixture) tx(fn func(tx *sql.Tx) error) error { return f.d.Tx(f.ctx, fn) }

func (f *fixture) must(fn func(tx *sql.Tx) error) {
	f.t.Helper()
	if err := f.tx(fn); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) balance(kind, owner string) int64 {
	f.t.Helper()
	b, err := f.svc.Ledger.Balance(f.ctx, f.d, Account{kind, owner}, "USD")
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

// checkBooks verifies that every entry sums to zero, that the lines add up
// to each account's balance, and that the whole ledger sums to zero.
func (f *fixture) checkBooks() {
	f.t.Helper()
	var n int
	if err := f.d.QueryRowContext(f.ctx, `SELECT COUNT(*) FROM (SELECT entry_id FROM billing_lines GROUP BY entry_id HAVING SUM(amount) <> 0) x`).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	if n != 0 {
		f.t.Fatalf("%d entries do not balance", n)
	}
	// Accounts that keep a balance row agree with their lines; the others'
	// balance is their lines.
	if err := f.d.QueryRowContext(f.ctx, `SELECT COUNT(*) FROM billing_accounts a WHERE a.kind IN ('wallet', 'hold', 'payable', 'payout')
		AND a.balance <> COALESCE((SELECT SUM(amount) FROM billing_lines l WHERE l.account_id = a.id), 0)`).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	if n != 0 {
		f.t.Fatalf("%d accounts' balances differ from their lines", n)
	}
	var total int64
	if err := f.d.QueryRowContext(f.ctx, `SELECT COALESCE(SUM(amount), 0) FROM billing_lines`).Scan(&total); err != nil {
		f.t.Fatal(err)
	}
	if total != 0 {
		f.t.Fatalf("the ledger sums to %d", total)
	}
}

func usd(n int64) Money { return Money{Amount: n, Currency: "USD"} }

func TestAPaidSessionHoldsCapturesSplitsAndRefundsProRata(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		f.must(func(tx *sql.Tx) error { _, err := f.svc.TopUp(f.ctx, tx, "lea", usd(5000), "test card"); return err })
		var h Hold
		f.must(func(tx *sql.Tx) (err error) {
			h, err = f.svc.PlaceHold(f.ctx, tx, "lea", usd(1500), "session-1")
			return
		})
		if f.balance(Wallet, "lea") != 3500 || f.balance(HoldAcct, "lea") != 1500 {
			t.Fatalf("after the hold: wallet %d, held %d", f.balance(Wallet, "lea"), f.balance(HoldAcct, "lea"))
		}
		f.must(func(tx *sql.Tx) (err error) { h, err = f.svc.ExtendHold(f.ctx, tx, h.ID, 1500); return })
		// Capture can never exceed the hold.
		if err := f.tx(func(tx *sql.Tx) error { _, err := f.svc.Settle(f.ctx, tx, h.ID, 3001, "exa", 2000); return err }); !errors.Is(err, ErrTooMuch) {
			t.Fatalf("capturing more than held: %v", err)
		}
		var st Settlement
		f.must(func(tx *sql.Tx) (err error) { st, err = f.svc.Settle(f.ctx, tx, h.ID, 1005, "exa", 2000); return })
		if st.Commission != 201 || st.PayeeShare != 804 {
			t.Fatalf("the split: %+v", st)
		}
		if f.balance(Wallet, "lea") != 3995 || f.balance(HoldAcct, "lea") != 0 || f.balance(Payable, "exa") != 804 ||
			f.balance(Revenue, "") != 201 || f.balance(Clearing, "") != 0 {
			t.Fatal("balances after settling are wrong")
		}
		if err := f.tx(func(tx *sql.Tx) error { _, err := f.svc.Settle(f.ctx, tx, h.ID, 10, "exa", 2000); return err }); !errors.Is(err, ErrNotFound) {
			t.Fatalf("settling a hold twice: %v", err)
		}
		// Two partial refunds give back exactly what one full refund would.
		f.must(func(tx *sql.Tx) (err error) { st, err = f.svc.Refund(f.ctx, tx, st.ID, 503, "refund.expert"); return })
		if st.RefundedCommission != 101 || f.balance(Revenue, "") != 100 || f.balance(Payable, "exa") != 402 {
			t.Fatalf("after refunding 503: %+v, revenue %d, payable %d", st, f.balance(Revenue, ""), f.balance(Payable, "exa"))
		}
		if err := f.tx(func(tx *sql.Tx) error { _, err := f.svc.Refund(f.ctx, tx, st.ID, 503, ""); return err }); !errors.Is(err, ErrTooMuch) {
			t.Fatalf("refunding more than is left: %v", err)
		}
		f.must(func(tx *sql.Tx) (err error) {
			st, err = f.svc.Refund(f.ctx, tx, st.ID, 502, "refund.guarantee")
			return
		})
		if f.balance(Revenue, "") != 0 || f.balance(Payable, "exa") != 0 || f.balance(Wallet, "lea") != 5000 {
			t.Fatal("a full refund in two parts did not give everything back")
		}
		f.checkBooks()
	})
}

func TestNothingMovesWithoutTheMoney(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		f.must(func(tx *sql.Tx) error { _, err := f.svc.TopUp(f.ctx, tx, "lea", usd(1000), "t"); return err })
		var before int
		_ = f.d.QueryRowContext(f.ctx, `SELECT COUNT(*) FROM billing_lines`).Scan(&before)
		for name, fn := range map[string]func(tx *sql.Tx) error{
			"a hold over the wallet": func(tx *sql.Tx) error { _, err := f.svc.PlaceHold(f.ctx, tx, "lea", usd(1001), "s"); return err },
			"a negative top-up":      func(tx *sql.Tx) error { _, err := f.svc.TopUp(f.ctx, tx, "lea", usd(-5), "t"); return err },
			"a zero hold":            func(tx *sql.Tx) error { _, err := f.svc.PlaceHold(f.ctx, tx, "lea", usd(0), "s"); return err },
			"an unknown currency":    func(tx *sql.Tx) error { _, err := f.svc.TopUp(f.ctx, tx, "lea", Money{5, "XXQ"}, "t"); return err },
			"an absurd amount":       func(tx *sql.Tx) error { _, err := f.svc.TopUp(f.ctx, tx, "lea", usd(MaxAmount+1), "t"); return err },
			"an unbalanced entry": func(tx *sql.Tx) error {
				_, err := f.svc.Ledger.Post(f.ctx, tx, Entry{Reason: "x", Currency: "USD", Lines: []Line{{Account{Wallet, "lea"}, 5}}})
				return err
			},
		} {
			if err := f.tx(fn); err == nil {
				t.Fatalf("%s was taken", name)
			}
		}
		var after int
		_ = f.d.QueryRowContext(f.ctx, `SELECT COUNT(*) FROM billing_lines`).Scan(&after)
		if after != before || f.balance(Wallet, "lea") != 1000 {
			t.Fatal("a refused operation moved money")
		}
		err := f.tx(func(tx *sql.Tx) error { _, err := f.svc.PlaceHold(f.ctx, tx, "lea", usd(1001), "s"); return err })
		if !errors.Is(err, ErrInsufficient) {
			t.Fatalf("an overdraft: %v, want ErrInsufficient", err)
		}
		f.checkBooks()
	})
}

// TestManyConcurrentSessionsRefundsAndPayoutsBalanceToTheCent runs random
// sessions — holds, extensions, settlements at random rates, refunds,
// payouts — from several goroutines at once, keeps its own expected
// balances, and then checks the ledger against them and itself.
func TestManyConcurrentSessionsRefundsAndPayoutsBalanceToTheCent(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		learners, experts := []string{"l1", "l2", "l3", "l4"}, []string{"e1", "e2"}
		var mu sync.Mutex
		wallet := map[string]int64{}
		for _, l := range learners {
			f.must(func(tx *sql.Tx) error { _, err := f.svc.TopUp(f.ctx, tx, l, usd(100_000), "t"); return err })
			wallet[l] = 100_000
		}
		var captured, refunded, paid int64
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(w), 7))
				for range 25 {
					learner, expert := learners[rng.IntN(len(learners))], experts[rng.IntN(len(experts))]
					held := int64(100 + rng.IntN(3000))
					var h Hold
					err := f.tx(func(tx *sql.Tx) (err error) { h, err = f.svc.PlaceHold(f.ctx, tx, learner, usd(held), "s"); return })
					if errors.Is(err, ErrInsufficient) {
						continue
					} else if err != nil {
						t.Error(err)
						return
					}
					if rng.IntN(2) == 0 {
						more := int64(1 + rng.IntN(500))
						if err := f.tx(func(tx *sql.Tx) (err error) { h, err = f.svc.ExtendHold(f.ctx, tx, h.ID, more); return }); err == nil {
							held += more
						} else if !errors.Is(err, ErrInsufficient) {
							t.Error(err)
							return
						}
					}
					capture := rng.Int64N(held + 1)
					rate := BasisPoints([]int{0, 1500, 2000}[rng.IntN(3)])
					var st Settlement
					if err := f.tx(func(tx *sql.Tx) (err error) { st, err = f.svc.Settle(f.ctx, tx, h.ID, capture, expert, rate); return }); err != nil {
						t.Error(err)
						return
					}
					var back int64
					if capture > 0 && rng.IntN(3) == 0 {
						back = 1 + rng.Int64N(capture)
						if err := f.tx(func(tx *sql.Tx) error { _, err := f.svc.Refund(f.ctx, tx, st.ID, back, ""); return err }); err != nil {
							t.Error(err)
							return
						}
					}
					var out int64
					if rng.IntN(5) == 0 {
						if err := f.tx(func(tx *sql.Tx) (err error) { out, err = f.svc.PayOut(f.ctx, tx, expert, "USD", 500); return }); err != nil {
							t.Error(err)
							return
						}
					}
					mu.Lock()
					wallet[learner] += back - capture
					captured += capture
					refunded += back
					paid += out
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		for l, want := range wallet {
			if got := f.balance(Wallet, l); got != want {
				t.Fatalf("%s's wallet is %d, want %d", l, got, want)
			}
			if f.balance(HoldAcct, l) != 0 {
				t.Fatalf("%s has money left on hold", l)
			}
		}
		var payable, payouts int64
		for _, e := range experts {
			payable += f.balance(Payable, e)
			payouts += f.balance(Payout, e)
		}
		if payouts != paid || payable+payouts+f.balance(Revenue, "") != captured-refunded {
			t.Fatalf("payable %d + paid out %d + revenue %d ≠ captured %d − refunded %d", payable, payouts, f.balance(Revenue, ""), captured, refunded)
		}
		f.checkBooks()
		t.Logf("captured %d, refunded %d, paid out %d", captured, refunded, paid)
	})
}

func TestScheduledPayoutsPayEveryoneAboveTheMinimumOnce(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		f.must(func(tx *sql.Tx) error { _, err := f.svc.TopUp(f.ctx, tx, "lea", usd(100_000), "t"); return err })
		f.must(func(tx *sql.Tx) error {
			_, err := f.svc.TopUp(f.ctx, tx, "lea", Money{Amount: 100_000, Currency: "EUR"}, "t")
			return err
		})
		settle := func(payee string, m Money) {
			t.Helper()
			f.must(func(tx *sql.Tx) error {
				h, err := f.svc.PlaceHold(f.ctx, tx, "lea", m, "s")
				if err != nil {
					return err
				}
				_, err = f.svc.Settle(f.ctx, tx, h.ID, m.Amount, payee, 2000)
				return err
			})
		}
		settle("rich", usd(10_000))                            // 8,000 payable
		settle("poor", usd(1_000))                             // 800: below the minimum
		settle("euro", Money{Amount: 20_000, Currency: "EUR"}) // 16,000 EUR payable
		var wg sync.WaitGroup
		results := make(chan []PaidOut, 2)
		for range 2 { // two nodes run the schedule at once
			wg.Go(func() {
				paid, err := f.svc.PayOutDue(f.ctx, 5_000)
				if err != nil {
					t.Error(err)
				}
				results <- paid
			})
		}
		wg.Wait()
		close(results)
		total := map[string]int64{}
		for paid := range results {
			for _, p := range paid {
				total[p.PayeeID+" "+p.Amount.Currency] += p.Amount.Amount
			}
		}
		if len(total) != 2 || total["rich USD"] != 8_000 || total["euro EUR"] != 16_000 {
			t.Fatalf("paid out %v", total)
		}
		if f.balance(Payable, "poor") != 800 || f.balance(Payable, "rich") != 0 {
			t.Fatal("the payout run paid the wrong people")
		}
		f.checkBooks()
	})
}
