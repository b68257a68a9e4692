package market

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/db"
	"github.com/parley-chat/parley/internal/db/dbtest"
)

var benchWords = strings.Fields(`guitar piano violin drums singing cooking baking kimchi pasta bread windows mac linux
	python excel resume interview yoga running nutrition diet garden roses tomatoes knitting sewing makeup hair chess
	photography drawing painting watercolor spanish korean english french math physics chemistry essay taxes budget`)

// BenchmarkSearch100kListings is discovery over 100,000 approved listings
// by 1,000 experts: a full-text query with a filter and the default sort,
// a price sort within a category, and a two-word prefix query. It reports
// p50 and p99 per query.
func BenchmarkSearch100kListings(b *testing.B) {
	for _, engine := range []string{"sqlite", "postgres"} {
		b.Run(engine, func(b *testing.B) {
			dsn := "sqlite:" + dbtest.SQLiteDSN(b)
			if engine == "postgres" {
				dsn = dbtest.PostgresDSN(b)
			}
			d := dbtest.Open(b, dsn, auth.Migrations, Migrations)
			svc := NewService(d, Config{})
			seedListings(b, d, 1000, 100_000)
			queries := []Query{
				{Text: "guitar lessons", Language: "en"},
				{Category: "cooking", Sort: "price_asc"},
				{Text: "korean cook"},
				{Text: "python", PriceModel: PerMinute, Sort: "rating"},
			}
			if testing.Verbose() {
				for _, q := range queries {
					start := time.Now()
					for range 20 {
						if _, _, err := svc.Search(context.Background(), q); err != nil {
							b.Fatal(err)
						}
					}
					b.Logf("%+v: %v each", q, time.Since(start)/20)
				}
			}
			times := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				if _, _, err := svc.Search(context.Background(), queries[i%len(queries)]); err != nil {
					b.Fatal(err)
				}
				times = append(times, time.Since(start))
			}
			b.StopTimer()
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(times[min(len(times)-1, len(times)*99/100)].Microseconds())/1000, "p99-ms")
		})
	}
}

// seedListings writes experts and approved listings straight into the
// tables, in batches (the API would take minutes for 100,000).
func seedListings(b *testing.B, d *db.DB, experts, listings int) {
	ctx := context.Background()
	now := time.Now().UTC()
	rng := rand.New(rand.NewPCG(1, 2))
	cats := []string{"art-music", "computers-electronics", "cooking", "education-careers", "fashion-beauty", "fitness-nutrition", "health", "home-garden"}
	for i := range experts {
		id := fmt.Sprintf("00000000-0000-7000-8000-%012d", i)
		if _, err := d.ExecContext(ctx, `INSERT INTO users (id, email, name, role, password_hash, created_at, updated_at) VALUES ($1, $2, $3, 'member', '', $4, $4)`,
			id, fmt.Sprintf("e%d@example.com", i), fmt.Sprintf("Expert %d", i), now); err != nil {
			b.Fatal(err)
		}
		if _, err := d.ExecContext(ctx, `INSERT INTO market_experts (user_id, status, headline, bio, languages, categories, created_at, updated_at)
			VALUES ($1, 'approved', 'h', 'b', '["en"]', '["cooking"]', $2, $2)`, id, now); err != nil {
			b.Fatal(err)
		}
	}
	const batch = 500
	for start := 0; start < listings; start += batch {
		var (
			rows []string
			args []any
		)
		for i := start; i < min(start+batch, listings); i++ {
			words := make([]string, 8)
			for w := range words {
				words[w] = benchWords[rng.IntN(len(benchWords))]
			}
			models := []string{PerMinute, PerHour, PerSession, Free}
			model := models[i%4]
			price := int64(100 + rng.IntN(10000))
			if model == Free {
				price = 0
			}
			minutes := any(nil)
			if model == PerHour || model == PerSession {
				minutes = 30
			}
			lang := []string{`["en"]`, `["ko"]`, `["en","ko"]`}[i%3]
			n := len(args)
			rows = append(rows, fmt.Sprintf("($%d, $%d, 'approved', $%d, $%d, $%d, $%d, '', $%d, $%d, 'USD', 0, $%d, 'flexible', true, true, $%d, $%d, $%d, $%d)",
				n+1, n+2, n+3, n+4, n+5, n+6, n+7, n+8, n+9, n+10, n+11, n+12, n+12))
			args = append(args, fmt.Sprintf("00000000-0000-7000-9000-%012d", i), fmt.Sprintf("00000000-0000-7000-8000-%012d", i%experts),
				strings.Join(words[:3], " ")+" lessons", strings.Join(words, " ")+" — live sessions with an expert.", cats[i%len(cats)],
				lang, model, price, minutes, rng.IntN(50)*5, rng.IntN(50), now)
		}
		if _, err := d.ExecContext(ctx, `INSERT INTO market_listings (id, expert_id, status, title, description, category, languages, intro_video,
			price_model, price_amount, currency, min_billable_minutes, session_minutes, cancellation, start_now, expert_approved, rating_sum, rating_count, created_at, updated_at)
			VALUES `+strings.Join(rows, ", "), args...); err != nil {
			b.Fatal(err)
		}
	}
	if d.Dialect == db.Postgres {
		if _, err := d.ExecContext(ctx, `ANALYZE market_listings`); err != nil {
			b.Fatal(err)
		}
	}
}
