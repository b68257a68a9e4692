package billing

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/db"
	"github.com/parley-chat/parley/internal/db/dbtest"
)

// BenchmarkSessionEnds is ledger throughput under concurrent session ends:
// each operation settles one held session (release the rest, capture,
// split with the commission: 3 entries, 7 lines) in its own transaction,
// from 8 goroutines at once, over 50 learners and 10 experts, so the
// platform's clearing and revenue accounts are shared by every one. It
// reports entries and settlements per second.
func BenchmarkSessionEnds(b *testing.B) {
	for _, engine := range []string{"sqlite", "postgres"} {
		b.Run(engine, func(b *testing.B) {
			dsn := "sqlite:" + dbtest.SQLiteDSN(b)
			if engine == "postgres" {
				dsn = dbtest.PostgresDSN(b)
			}
			d := dbtest.Open(b, dsn, Migrations)
			svc := NewService(d, nil)
			ctx := context.Background()
			const learners, experts, workers = 50, 10, 8
			for i := range learners {
				if err := d.Tx(ctx, func(tx *sql.Tx) error {
					_, err := svc.TopUp(ctx, tx, fmt.Sprint("l", i), Money{1 << 40, "USD"}, "bench")
					return err
				}); err != nil {
					b.Fatal(err)
				}
			}
			// Holds are placed outside the timed part: what is measured is
			// the end of a session, which is what happens at the busy hour.
			holds := make([]string, b.N)
			for i := range holds {
				if err := d.Tx(ctx, func(tx *sql.Tx) error {
					h, err := svc.PlaceHold(ctx, tx, fmt.Sprint("l", i%learners), Money{3000, "USD"}, fmt.Sprint("s", i))
					holds[i] = h.ID
					return err
				}); err != nil {
					b.Fatal(err)
				}
			}
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for range workers {
				wg.Go(func() {
					for {
						i := int(next.Add(1)) - 1
						if i >= b.N {
							return
						}
						if err := d.Tx(ctx, func(tx *sql.Tx) error {
							_, err := svc.Settle(ctx, tx, holds[i], int64(1000+i%2000), fmt.Sprint("e", i%experts), 2000)
							return err
						}); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "settlements/s")
			b.ReportMetric(float64(3*b.N)/elapsed.Seconds(), "entries/s")
			checkBalanced(b, d)
		})
	}
}

func checkBalanced(b *testing.B, d *db.DB) {
	var total int64
	if err := d.QueryRowContext(context.Background(), `SELECT COALESCE(SUM(amount), 0) FROM billing_lines`).Scan(&total); err != nil || total != 0 {
		b.Fatalf("after the benchmark the ledger sums to %d (%v)", total, err)
	}
}
