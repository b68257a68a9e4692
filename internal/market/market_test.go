package market

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/billing"
	"github.com/parley-chat/parley/internal/db"
	"github.com/parley-chat/parley/internal/db/dbtest"
	"github.com/parley-chat/parley/internal/httpx"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

type fixture struct {
	t    *testing.T
	ctx  context.Context
	d    *db.DB
	auth *auth.Service
	svc  *Service
	n    int
}

func each(t *testing.T, fn func(t *testing.T, f *fixture)) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		now := time.Date(2026, 3, 3, 15, 0, 0, 0, time.UTC)
		f := &fixture{t: t, ctx: context.Background(), d: d, svc: NewService(d, Config{Now: func() time.Time { return now }}),
			auth: auth.NewService(d, auth.Config{Argon2: auth.Argon2Params{Memory: 64, Time: 1, Threads: 1}})}
		fn(t, f)
	}, auth.Migrations, Migrations)
}

func (f *fixture) user(name string) string {
	f.t.Helper()
	f.n++
	u, err := f.auth.CreateUser(f.ctx, fmt.Sprintf("%s-%d@example.com", strings.ToLower(name), f.n), name, "correct horse battery", auth.RoleMember)
	if err != nil {
		f.t.Fatal(err)
	}
	return u.ID
}

func application(categories ...string) Application {
	return Application{Headline: "Guitar teacher", Bio: "Twenty years of lessons.", Languages: []string{"en", "ko"},
		Categories: categories, TimeZone: "America/New_York"}
}

// approvedExpert applies and is approved.
func (f *fixture) approvedExpert(name string, categories ...string) string {
	f.t.Helper()
	id := f.user(name)
	a := application(categories...)
	if categories[0] == "health" {
		a.LicenceNumber, a.LicenceJurisdiction = "RD-12345", "NY"
	}
	if _, err := f.svc.Apply(f.ctx, id, a); err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.svc.ReviewExpert(f.ctx, f.operator(), id, "approve", ""); err != nil {
		f.t.Fatal(err)
	}
	return id
}

func (f *fixture) operator() string {
	var id string
	if err := f.d.QueryRowContext(f.ctx, `SELECT id FROM users WHERE email LIKE 'operator-%' LIMIT 1`).Scan(&id); err == nil {
		return id
	}
	return f.user("Operator")
}

func perMinute(title string, cents int64) ListingInput {
	return ListingInput{Title: title, Description: "Learn " + strings.ToLower(title) + " live.", Category: "art-music",
		Languages: []string{"en"}, PriceModel: PerMinute, Price: billing.Money{Amount: cents, Currency: "USD"}, StartNow: true}
}

func fields(err error) []string {
	var p *httpx.Problem
	if !errors.As(err, &p) {
		return nil
	}
	var out []string
	for _, e := range p.Errors {
		out = append(out, e.Field)
	}
	return out
}

func TestVettingDecidesWhoMayPublishAndRecordsEveryDecision(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		op := f.operator()
		ana := f.user("Ana")
		if _, err := f.svc.CreateListing(f.ctx, ana, perMinute("Guitar", 100)); !errors.Is(err, ErrNotApproved) {
			t.Fatalf("a member who is not an expert publishing: %v", err)
		}
		// Health needs a licence.
		if _, err := f.svc.Apply(f.ctx, ana, application("health")); !strings.Contains(strings.Join(fields(err), ","), "licence_number") {
			t.Fatalf("a Health application without a licence: %v", err)
		}
		e, err := f.svc.Apply(f.ctx, ana, application("art-music"))
		if err != nil || e.Status != Pending {
			t.Fatalf("applying: %+v %v", e, err)
		}
		if _, err := f.svc.CreateListing(f.ctx, ana, perMinute("Guitar", 100)); !errors.Is(err, ErrNotApproved) {
			t.Fatalf("a pending expert publishing: %v", err)
		}
		if _, err := f.svc.ReviewExpert(f.ctx, op, ana, "reject", ""); err == nil {
			t.Fatal("a rejection without a reason was taken")
		}
		if _, err := f.svc.ReviewExpert(f.ctx, op, ana, "request_changes", "Add your credentials"); err != nil {
			t.Fatal(err)
		}
		a := application("art-music")
		a.Credentials = "Berklee, 2006"
		if e, _ = f.svc.Apply(f.ctx, ana, a); e.Status != Pending {
			t.Fatalf("after changes the application is %s, want pending again", e.Status)
		}
		if _, err := f.svc.ReviewExpert(f.ctx, op, ana, "approve", ""); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.ReviewExpert(f.ctx, op, ana, "approve", ""); !errors.Is(err, ErrWrongState) {
			t.Fatalf("approving twice: %v", err)
		}
		l, err := f.svc.CreateListing(f.ctx, ana, perMinute("Guitar", 100))
		if err != nil || l.Status != Pending {
			t.Fatalf("a listing: %+v %v", l, err)
		}
		// Nobody sees it until the operator approves it.
		if _, err := f.svc.Listing(f.ctx, f.user("Lea"), false, l.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("a pending listing was shown: %v", err)
		}
		if _, err := f.svc.ReviewListing(f.ctx, op, l.ID, "approve", ""); err != nil {
			t.Fatal(err)
		}
		// A material edit sends it back to review; the start-now switch does not.
		in := perMinute("Guitar", 100)
		in.StartNow = false
		if l, _ = f.svc.UpdateListing(f.ctx, ana, l.ID, in); l.Status != Approved {
			t.Fatalf("switching start-now sent it to review: %s", l.Status)
		}
		in.Price.Amount = 150
		if l, _ = f.svc.UpdateListing(f.ctx, ana, l.ID, in); l.Status != Pending {
			t.Fatalf("a new price did not send it to review: %s", l.Status)
		}
		// Suspending the expert hides their listings.
		if _, err := f.svc.ReviewListing(f.ctx, op, l.ID, "approve", ""); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.ReviewExpert(f.ctx, op, ana, "suspend", "Complaints"); err != nil {
			t.Fatal(err)
		}
		if got, _, _ := f.svc.Search(f.ctx, Query{}); len(got) != 0 {
			t.Fatalf("a suspended expert's listing is found: %+v", got)
		}
		// Reinstating brings it back, in every kind of public query.
		if _, err := f.svc.ReviewExpert(f.ctx, op, ana, "reinstate", ""); err != nil {
			t.Fatal(err)
		}
		for _, q := range []Query{{}, {Category: "art-music", Sort: "price_asc"}, {Text: "guitar"}} {
			if got, _, err := f.svc.Search(f.ctx, q); err != nil || len(got) != 1 || got[0].ID != l.ID {
				t.Fatalf("%+v after reinstating: %+v, %v", q, got, err)
			}
		}
		ds, _ := f.svc.Decisions(f.ctx, "expert", ana)
		var got []string
		for _, d := range ds {
			got = append(got, d.Decision+":"+d.Reason)
		}
		if strings.Join(got, ",") != "request_changes:Add your credentials,approve:,suspend:Complaints,reinstate:" {
			t.Fatalf("the decisions on Ana: %v", got)
		}
	})
}

func TestListingsRefuseBadPrices(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ana := f.approvedExpert("Ana", "art-music")
		thirty := 30
		for name, c := range map[string]struct {
			mod   func(*ListingInput)
			field string
		}{
			"negative":            {func(in *ListingInput) { in.Price.Amount = -1 }, "price.amount"},
			"zero for paid":       {func(in *ListingInput) { in.Price.Amount = 0 }, "price.amount"},
			"absurd":              {func(in *ListingInput) { in.Price.Amount = 1_000_000_01 }, "price.amount"},
			"absurd yen":          {func(in *ListingInput) { in.Price = billing.Money{Amount: 1_000_001, Currency: "JPY"} }, "price.amount"},
			"no such currency":    {func(in *ListingInput) { in.Price.Currency = "ABC" }, "price.currency"},
			"free but priced":     {func(in *ListingInput) { in.PriceModel = Free }, "price.amount"},
			"unknown model":       {func(in *ListingInput) { in.PriceModel = "per_smile" }, "price_model"},
			"per session no time": {func(in *ListingInput) { in.PriceModel = PerSession }, "session_minutes"},
			"per session minimum": {func(in *ListingInput) {
				in.PriceModel, in.SessionMinutes, in.MinBillableMinutes = PerSession, &thirty, 5
			}, "min_billable_minutes"},
			"no category": {func(in *ListingInput) { in.Category = "astrology" }, "category"},
			"no language": {func(in *ListingInput) { in.Languages = nil }, "languages"},
			"bad policy":  {func(in *ListingInput) { in.Cancellation = "lenient" }, "cancellation"},
		} {
			in := perMinute("Guitar", 100)
			c.mod(&in)
			_, err := f.svc.CreateListing(f.ctx, ana, in)
			if !strings.Contains(strings.Join(fields(err), ","), c.field) {
				t.Errorf("%s: %v (fields %v), want %s", name, err, fields(err), c.field)
			}
		}
		var n int
		_ = f.d.QueryRowContext(f.ctx, `SELECT COUNT(*) FROM market_listings`).Scan(&n)
		if n != 0 {
			t.Fatalf("%d listings were stored from bad input", n)
		}
	})
}

func TestDiscoveryFindsFiltersAndSorts(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		op := f.operator()
		ana := f.approvedExpert("Ana", "art-music")
		bo := f.approvedExpert("Bo", "cooking")
		publish := func(expert string, in ListingInput) Listing {
			l, err := f.svc.CreateListing(f.ctx, expert, in)
			if err != nil {
				t.Fatal(err)
			}
			if l, err = f.svc.ReviewListing(f.ctx, op, l.ID, "approve", ""); err != nil {
				t.Fatal(err)
			}
			return l
		}
		guitar := publish(ana, perMinute("Guitar for beginners", 150))
		jazz := perMinute("Jazz piano", 300)
		jazz.Description = "Chords and voicings; some guitar too."
		piano := publish(ana, jazz)
		kimchi := perMinute("Kimchi at home", 90)
		kimchi.Category, kimchi.Languages = "cooking", []string{"ko"}
		cook := publish(bo, kimchi)
		hidden, _ := f.svc.CreateListing(f.ctx, ana, perMinute("Guitar masterclass", 500)) // never approved
		ids := func(ls []Listing) string {
			var out []string
			for _, l := range ls {
				out = append(out, l.Title)
			}
			return strings.Join(out, "|")
		}
		for name, c := range map[string]struct {
			q    Query
			want string
		}{
			"text ranks titles first": {Query{Text: "guitar"}, guitar.Title + "|" + piano.Title},
			"prefix":                  {Query{Text: "kimc"}, cook.Title},
			"category":                {Query{Category: "cooking"}, cook.Title},
			"language":                {Query{Language: "ko"}, cook.Title},
			"price range":             {Query{Currency: "USD", MinPrice: ptr[int64](100), MaxPrice: ptr[int64](200)}, guitar.Title},
			"cheapest first":          {Query{Sort: "price_asc"}, cook.Title + "|" + guitar.Title + "|" + piano.Title},
			"dearest first":           {Query{Sort: "price_desc"}, piano.Title + "|" + guitar.Title + "|" + cook.Title},
			"operator syntax is text": {Query{Text: `guitar" OR "x`}, ""},
		} {
			got, _, err := f.svc.Search(f.ctx, c.q)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if ids(got) != c.want {
				t.Errorf("%s: %q, want %q", name, ids(got), c.want)
			}
		}
		// Pages.
		first, next, _ := f.svc.Search(f.ctx, Query{Sort: "price_asc", Limit: 2})
		second, end, _ := f.svc.Search(f.ctx, Query{Sort: "price_asc", Limit: 2, Cursor: next})
		if len(first) != 2 || next == "" || len(second) != 1 || end != "" || second[0].ID != piano.ID {
			t.Fatalf("pages: %d %q %d %q", len(first), next, len(second), end)
		}
		if _, _, err := f.svc.Search(f.ctx, Query{Sort: "relevance"}); err == nil {
			t.Fatal("relevance without text was taken")
		}
		if _, _, err := f.svc.Search(f.ctx, Query{Cursor: "bogus!"}); err == nil {
			t.Fatal("a made-up cursor was taken")
		}
		_ = hidden
	})
}

func ptr[T any](v T) *T { return &v }
