package desk

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/db/dbtest"
)

// benchEach runs a benchmark once per engine, as sub-benchmarks.
func benchEach(b *testing.B, fn func(b *testing.B, f *fixture)) {
	for _, engine := range []string{"sqlite", "postgres"} {
		b.Run(engine, func(b *testing.B) {
			dsn := "sqlite:" + dbtest.SQLiteDSN(b)
			if engine == "postgres" {
				dsn = dbtest.PostgresDSN(b)
			}
			fn(b, newFixture(b, dbtest.Open(b, dsn, migrations...)))
		})
	}
}

func (f *fixture) benchAgents(b *testing.B, n int, queue string) []string {
	ids := make([]string, n)
	for i := range ids {
		u, err := f.auth.CreateUser(f.ctx, fmt.Sprintf("agent-%d-%d@example.com", i, time.Now().UnixNano()), "Agent", "correct horse battery", "agent")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := f.desk.SetAgent(f.ctx, u.ID, AgentInput{Queues: []string{queue}}); err != nil {
			b.Fatal(err)
		}
		if _, err := f.desk.SetStatus(f.ctx, u.ID, Available); err != nil {
			b.Fatal(err)
		}
		ids[i] = u.ID
	}
	return ids
}

// BenchmarkHelpToOffer is the server's share of "Help pressed → the
// agent's devices ring" with agents free: opening a guest's request (guest
// account, conversation, the request) and routing it, which happens inside
// the same call. It reports p50 and p99 of that time.
func BenchmarkHelpToOffer(b *testing.B) {
	benchEach(b, func(b *testing.B, f *fixture) {
		if _, err := f.desk.CreateQueue(f.ctx, QueueInput{Key: "phones", Name: "Phones", Hours: allWeek(), MaxWaiting: 10000}); err != nil {
			b.Fatal(err)
		}
		f.benchAgents(b, 20, "phones")
		times := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			start := time.Now()
			r, err := f.desk.Open(f.ctx, Caller{}, RequestInput{Queue: "phones", Channel: ChannelChat, Name: "Guest"})
			times = append(times, time.Since(start))
			if err != nil {
				b.Fatal(err)
			}
			if r.Status != Offered {
				b.Fatalf("request %d is %s with agents free", i, r.Status)
			}
			b.StopTimer()
			if _, err := f.desk.Cancel(f.ctx, r.CustomerID, r.ID); err != nil { // frees the agent again
				b.Fatal(err)
			}
			b.StartTimer()
		}
		b.StopTimer()
		reportPercentiles(b, times)
	})
}

// BenchmarkRouting1000Waiting200Agents is routing throughput: 1,000
// customers wait, 200 agents become free at once, and one Dispatch offers
// each agent a request. It reports offers per second.
func BenchmarkRouting1000Waiting200Agents(b *testing.B) {
	benchEach(b, func(b *testing.B, f *fixture) {
		if _, err := f.desk.CreateQueue(f.ctx, QueueInput{Key: "phones", Name: "Phones", Hours: allWeek(), MaxWaiting: 10000}); err != nil {
			b.Fatal(err)
		}
		agents := f.benchAgents(b, 200, "phones")
		var offers time.Duration
		made := 0
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			if _, err := f.d.ExecContext(f.ctx, `UPDATE desk_agents SET status = 'away'`); err != nil {
				b.Fatal(err)
			}
			if _, err := f.d.ExecContext(f.ctx, `UPDATE desk_offers SET state = 'withdrawn' WHERE state = 'pending'`); err != nil {
				b.Fatal(err)
			}
			if _, err := f.d.ExecContext(f.ctx, `UPDATE desk_requests SET status = 'abandoned' WHERE status IN ('waiting', 'offered')`); err != nil {
				b.Fatal(err)
			}
			for range 1000 {
				if _, err := f.desk.Open(f.ctx, Caller{}, RequestInput{Queue: "phones", Channel: ChannelVideo, Name: "Guest"}); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := f.d.ExecContext(f.ctx, `UPDATE desk_agents SET status = 'available'`); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			start := time.Now()
			n, err := f.desk.Dispatch(context.Background())
			offers += time.Since(start)
			if err != nil {
				b.Fatal(err)
			}
			if n != len(agents) {
				b.Fatalf("%d offers for %d free agents", n, len(agents))
			}
			made += n
		}
		b.ReportMetric(float64(made)/offers.Seconds(), "offers/s")
	})
}

func reportPercentiles(b *testing.B, times []time.Duration) {
	if len(times) == 0 {
		return
	}
	slices.Sort(times)
	at := func(p float64) time.Duration { return times[min(len(times)-1, int(float64(len(times))*p))] }
	b.ReportMetric(float64(at(0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(at(0.99).Microseconds())/1000, "p99-ms")
}

// allWeek is open all day, every day, in UTC.
func allWeek() *Schedule {
	w := Week{}
	for d := time.Sunday; d <= time.Saturday; d++ {
		w[d] = []Interval{{Open: "00:00", Close: "24:00"}}
	}
	return &Schedule{TimeZone: "UTC", Weekly: w}
}
