package market

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/billing"
	"github.com/parley-chat/parley/internal/calls"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/db"
	"github.com/parley-chat/parley/internal/db/dbtest"
	"github.com/parley-chat/parley/internal/desk"
	"github.com/parley-chat/parley/internal/mail"
)

func TestChargesFollowTheWrittenRules(t *testing.T) {
	thirty := 30
	for _, c := range []struct {
		model    string
		price    int64
		min      int
		seconds  int64
		want     int64
		why      string
		holdMins *int
	}{
		{PerMinute, 150, 1, 0, 0, "never connected: free", nil},
		{PerMinute, 150, 1, 1, 150, "one second is a started minute", nil},
		{PerMinute, 150, 1, 60, 150, "exactly a minute", nil},
		{PerMinute, 150, 1, 61, 300, "rounded up to the whole minute", nil},
		{PerMinute, 150, 5, 90, 750, "at least the minimum", nil},
		{PerMinute, 150, 5, 301, 900, "past the minimum, by the minute", nil},
		{PerHour, 6000, 1, 60 * 45, 4500, "three quarters of an hour", nil},
		{PerHour, 6001, 1, 60, 100, "price × minutes ÷ 60, half up (100.0167)", nil},
		{PerHour, 6030, 1, 60, 101, "half up (100.5)", nil},
		{PerSession, 5000, 0, 10, 5000, "the price once connected", &thirty},
		{Free, 0, 0, 3600, 0, "free", nil},
	} {
		if got := Charge(c.model, c.price, c.min, c.seconds); got != c.want {
			t.Errorf("%s %d for %ds: %d, want %d (%s)", c.model, c.price, c.seconds, got, c.want, c.why)
		}
	}
	if got := HoldFor(PerMinute, 150, 1, nil); got != 15*150 {
		t.Errorf("an open-ended per-minute session holds %d, want 15 minutes", got)
	}
	if got := HoldFor(PerSession, 5000, 0, &thirty); got != 5000 {
		t.Errorf("a per-session hold: %d", got)
	}
	if got := CoveredSeconds(PerHour, 6001, 1000, nil); Charge(PerHour, 6001, 1, got) > 1000 {
		t.Errorf("the time a per-hour hold covers costs more than it: %d s", got)
	}
	for _, c := range []struct {
		policy string
		before time.Duration
		want   int64
	}{
		{"flexible", 2 * time.Hour, 0}, {"flexible", 59 * time.Minute, 250},
		{"moderate", 25 * time.Hour, 0}, {"moderate", 23 * time.Hour, 500},
		{"strict", 8 * 24 * time.Hour, 0}, {"strict", 3 * 24 * time.Hour, 500}, {"strict", time.Hour, 1000},
	} {
		if got := CancellationFee(c.policy, 1000, c.before); got != c.want {
			t.Errorf("%s %v before: fee %d, want %d", c.policy, c.before, got, c.want)
		}
	}
}

// meter is the server's measure of both-connected time, set by the test
// (calls' own tests prove the measure from real media).
type meter struct {
	mu sync.Mutex
	d  map[string]time.Duration
}

func (m *meter) BothConnected(_ context.Context, callID, _, _ string, _ time.Time) (time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.d[callID], nil
}

func (m *meter) set(callID string, d time.Duration) {
	m.mu.Lock()
	m.d[callID] = d
	m.mu.Unlock()
}

type money struct {
	*fixture
	now   time.Time
	bill  *billing.Service
	calls *calls.Service
	meter *meter
}

func eachMoney(t *testing.T, fn func(t *testing.T, f *money)) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		m := &money{now: time.Date(2026, 3, 3, 15, 0, 0, 0, time.UTC), meter: &meter{d: map[string]time.Duration{}}}
		clock := func() time.Time { return m.now }
		ch := chat.NewService(d, nil, clock, nil)
		m.calls = calls.NewService(d, ch, nil, calls.Config{Node: "n1", Now: clock})
		m.bill = billing.NewService(d, clock)
		m.fixture = &fixture{t: t, ctx: context.Background(), d: d,
			auth: auth.NewService(d, auth.Config{Argon2: auth.Argon2Params{Memory: 64, Time: 1, Threads: 1}, Now: clock}),
			svc:  NewService(d, Config{Chat: ch, Calls: m.calls, Meter: m.meter, Billing: m.bill, Now: clock})}
		fn(t, m)
	}, auth.Migrations, chat.Migrations, calls.Migrations, billing.Migrations, Migrations)
}

func (m *money) topUp(user string, cents int64) {
	m.t.Helper()
	if err := m.d.Tx(m.ctx, func(tx *sql.Tx) error {
		_, err := m.bill.TopUp(m.ctx, tx, user, billing.Money{Amount: cents, Currency: "USD"}, "test")
		return err
	}); err != nil {
		m.t.Fatal(err)
	}
}

func (m *money) wallet(user string) int64 {
	b, err := m.bill.Ledger.Balance(m.ctx, m.d, billing.Account{Kind: billing.Wallet, OwnerID: user}, "USD")
	if err != nil {
		m.t.Fatal(err)
	}
	return b
}

// expertWith publishes one approved listing with the expert's week open
// 09:00–17:00 New York and available now.
func (m *money) expertWith(category string, in ListingInput) (string, Listing) {
	m.t.Helper()
	ex := m.approvedExpert("Exa", category)
	in.Category = category
	l, err := m.svc.CreateListing(m.ctx, ex, in)
	if err != nil {
		m.t.Fatal(err)
	}
	if l, err = m.svc.ReviewListing(m.ctx, m.operator(), l.ID, "approve", ""); err != nil {
		m.t.Fatal(err)
	}
	w := desk.Week{}
	for d := time.Monday; d <= time.Friday; d++ {
		w[d] = []desk.Interval{{Open: "09:00", Close: "17:00"}}
	}
	if _, err := m.svc.SetAvailability(m.ctx, ex, Availability{Hours: desk.Schedule{TimeZone: "America/New_York", Weekly: w},
		BufferMinutes: 15, AvailableNow: true}); err != nil {
		m.t.Fatal(err)
	}
	return ex, l
}

func TestAPerMinuteSessionStartedNowChargesExactlyTheConnectedTime(t *testing.T) {
	eachMoney(t, func(t *testing.T, m *money) {
		ex, l := m.expertWith("computers-electronics", perMinute("Windows on a Mac", 150))
		lea := m.user("Lea")
		m.topUp(lea, 5000)
		se, err := m.svc.Book(m.ctx, lea, BookingInput{Listing: l.ID, Now: true})
		if err != nil {
			t.Fatal(err)
		}
		if se.Status != Ringing || se.CallID == "" || se.Held != 15*150 || m.wallet(lea) != 5000-15*150 {
			t.Fatalf("a session started now: %+v, wallet %d", se, m.wallet(lea))
		}
		// The expert answers: the session is on.
		if _, err := m.calls.Join(m.ctx, ex, se.CallID); err != nil {
			t.Fatal(err)
		}
		if err := m.svc.Sweep(m.ctx); err != nil {
			t.Fatal(err)
		}
		m.meter.set(se.CallID, 7*time.Minute+10*time.Second) // a drop paused it: the SFU's both-connected time
		running, _ := m.svc.Session(m.ctx, lea, se.ID)
		if running.Status != Active || running.BillableSeconds != 430 || running.Charged != 8*150 {
			t.Fatalf("the running meter: %+v", running)
		}
		if _, err := m.svc.End(m.ctx, "someone-else", se.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("a stranger ending it: %v", err)
		}
		done, err := m.svc.End(m.ctx, lea, se.ID)
		if err != nil {
			t.Fatal(err)
		}
		if done.Status != Completed || done.Charged != 1200 || done.Commission != 240 || done.ExpertShare != 960 {
			t.Fatalf("the settled session: %+v", done)
		}
		if m.wallet(lea) != 3800 {
			t.Fatalf("the learner paid %d, want 1200", 5000-m.wallet(lea))
		}
		payable, _ := m.bill.Ledger.Balance(m.ctx, m.d, billing.Account{Kind: billing.Payable, OwnerID: ex}, "USD")
		if payable != 960 {
			t.Fatalf("the expert earned %d", payable)
		}
		if c, _ := m.calls.Get(m.ctx, lea, se.CallID); c.State != calls.Ended {
			t.Fatalf("the call after the session: %s", c.State)
		}
		if _, err := m.svc.End(m.ctx, lea, se.ID); !errors.Is(err, ErrWrongState) {
			t.Fatalf("ending twice: %v", err)
		}
		// A review, once; the expert answers once.
		if _, err := m.svc.AddReview(m.ctx, lea, se.ID, 5, "Worked first time"); err != nil {
			t.Fatal(err)
		}
		if _, err := m.svc.AddReview(m.ctx, lea, se.ID, 1, "again"); !errors.Is(err, ErrReviewed) {
			t.Fatalf("a second review: %v", err)
		}
		if err := m.svc.Reply(m.ctx, ex, se.ID, "Thank you!"); err != nil {
			t.Fatal(err)
		}
		if got, _ := m.svc.Listing(m.ctx, lea, false, l.ID); got.Rating == nil || *got.Rating != 5 || got.Reviews != 1 {
			t.Fatalf("the listing's rating: %+v", got)
		}
		if e, _ := m.svc.Expert(m.ctx, ex); e.Rating == nil || *e.Rating != 5 || e.Reviews != 1 {
			t.Fatalf("the expert's rating: %+v", e)
		}
		// The money-back guarantee within 72 hours, decided by the operator.
		c, err := m.svc.ClaimGuarantee(m.ctx, lea, se.ID, "It broke again")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.svc.DecideClaim(m.ctx, m.operator(), c.ID, true, "fair"); err != nil {
			t.Fatal(err)
		}
		if m.wallet(lea) != 5000 {
			t.Fatalf("after the guarantee the wallet is %d", m.wallet(lea))
		}
	})
}

func TestNoMoneyNoSessionAndNoCaptureAboveTheHold(t *testing.T) {
	eachMoney(t, func(t *testing.T, m *money) {
		_, l := m.expertWith("health", perMinute("Nutrition check", 200))
		poor, rich := m.user("Poor"), m.user("Rich")
		m.topUp(poor, 100)
		if _, err := m.svc.Book(m.ctx, poor, BookingInput{Listing: l.ID, Now: true}); !errors.Is(err, ErrPayment) {
			t.Fatalf("a wallet short of the hold: %v, want ErrPayment", err)
		}
		var n int
		_ = m.d.QueryRowContext(m.ctx, `SELECT COUNT(*) FROM market_sessions`).Scan(&n)
		if n != 0 || m.wallet(poor) != 100 {
			t.Fatal("a refused booking left a session or moved money")
		}
		m.topUp(rich, 10_000)
		se, err := m.svc.Book(m.ctx, rich, BookingInput{Listing: l.ID, Now: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.calls.Join(m.ctx, l.ExpertID, se.CallID); err != nil {
			t.Fatal(err)
		}
		// 20 minutes connected against 15 held: the meter ends it at the hold.
		m.meter.set(se.CallID, 20*time.Minute)
		if err := m.svc.Sweep(m.ctx); err != nil { // ringing → active
			t.Fatal(err)
		}
		if err := m.svc.Sweep(m.ctx); err != nil { // the hold is used up
			t.Fatal(err)
		}
		done, _ := m.svc.Session(m.ctx, rich, se.ID)
		if done.Status != Completed || done.EndedBy != "meter" || done.Charged != 15*200 || done.Commission != 0 {
			t.Fatalf("a Health session past its hold: %+v (Health takes no commission)", done)
		}
	})
}

func TestHangingUpBeforeTheExpertAnswersCostsNothing(t *testing.T) {
	eachMoney(t, func(t *testing.T, m *money) {
		_, l := m.expertWith("cooking", perMinute("Kimchi", 100))
		lea := m.user("Lea")
		m.topUp(lea, 5000)
		se, err := m.svc.Book(m.ctx, lea, BookingInput{Listing: l.ID, Now: true})
		if err != nil {
			t.Fatal(err)
		}
		got, err := m.svc.End(m.ctx, lea, se.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != Cancelled || got.Charged != 0 || m.wallet(lea) != 5000 {
			t.Fatalf("hanging up while it rang: %+v, wallet %d", got, m.wallet(lea))
		}
		if c, _ := m.calls.Get(m.ctx, lea, se.CallID); c.State != calls.Ended {
			t.Fatalf("the call still rings: %s", c.State)
		}
	})
}

func TestBookingsNeverOverlapEvenWhenTwoLearnersClickAtOnce(t *testing.T) {
	eachMoney(t, func(t *testing.T, m *money) {
		thirty := 30
		in := perMinute("Guitar", 100)
		in.PriceModel, in.SessionMinutes, in.MinBillableMinutes = PerSession, &thirty, 0
		in.Price.Amount = 4000
		_, l := m.expertWith("art-music", in)
		// Wednesday 10:00 New York.
		slot := time.Date(2026, 3, 4, 15, 0, 0, 0, time.UTC)
		learners := make([]string, 6)
		for i := range learners {
			learners[i] = m.user("Learner")
			m.topUp(learners[i], 10_000)
		}
		var wg sync.WaitGroup
		results := make(chan error, len(learners))
		for i, lr := range learners {
			wg.Go(func() {
				start := slot.Add(time.Duration(i%2) * 20 * time.Minute) // 10:00 and 10:20: they overlap
				_, err := m.svc.Book(m.ctx, lr, BookingInput{Listing: l.ID, Start: &start})
				results <- err
			})
		}
		wg.Wait()
		close(results)
		booked := 0
		for err := range results {
			switch {
			case err == nil:
				booked++
			case !errors.Is(err, ErrSlotTaken):
				t.Fatalf("booking: %v", err)
			}
		}
		if booked != 1 {
			t.Fatalf("%d overlapping bookings were taken", booked)
		}
		// Whichever won (10:00–10:30 or 10:20–10:50), 10:40 is taken — inside
		// the session or its 15-minute buffer — and 11:10 is free.
		tooSoon, free := slot.Add(40*time.Minute), slot.Add(70*time.Minute)
		if _, err := m.svc.Book(m.ctx, learners[0], BookingInput{Listing: l.ID, Start: &tooSoon}); !errors.Is(err, ErrSlotTaken) {
			t.Fatalf("a booking in the buffer: %v", err)
		}
		if _, err := m.svc.Book(m.ctx, learners[1], BookingInput{Listing: l.ID, Start: &free}); err != nil {
			t.Fatalf("a booking after the buffer: %v", err)
		}
		evening, past := time.Date(2026, 3, 4, 23, 30, 0, 0, time.UTC), m.now.Add(-time.Hour)
		if _, err := m.svc.Book(m.ctx, learners[2], BookingInput{Listing: l.ID, Start: &evening}); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("a booking outside the expert's hours: %v", err)
		}
		if _, err := m.svc.Book(m.ctx, learners[2], BookingInput{Listing: l.ID, Start: &past}); err == nil {
			t.Fatal("a booking in the past was taken")
		}
		// A learner cancelling 20 hours ahead under a flexible policy pays nothing.
		// The learner moves a booking for free outside the fee window; into
		// a taken slot it is refused and stays where it was.
		moved, err := m.svc.Book(m.ctx, learners[4], BookingInput{Listing: l.ID, Start: ptr(slot.Add(4 * time.Hour))})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.svc.Reschedule(m.ctx, learners[4], moved.ID, tooSoon); !errors.Is(err, ErrSlotTaken) {
			t.Fatalf("moving into a taken slot: %v", err)
		}
		later := slot.Add(5 * time.Hour)
		if got, err := m.svc.Reschedule(m.ctx, learners[4], moved.ID, later); err != nil || !got.StartAt.Equal(later) || got.Status != Booked {
			t.Fatalf("moving a booking: %+v %v", got, err)
		}
		ned := m.user("Ned")
		m.topUp(ned, 10_000)
		se, err := m.svc.Book(m.ctx, ned, BookingInput{Listing: l.ID, Start: ptr(slot.Add(2 * time.Hour))})
		if err != nil {
			t.Fatal(err)
		}
		if m.wallet(ned) != 6000 {
			t.Fatalf("booking held %d, want the price", 10_000-m.wallet(ned))
		}
		if _, err := m.svc.Cancel(m.ctx, ned, se.ID); err != nil {
			t.Fatal(err)
		}
		if m.wallet(ned) != 10_000 {
			t.Fatalf("a free cancellation cost %d", 10_000-m.wallet(ned))
		}
	})
}

type sentMail struct {
	mu   sync.Mutex
	msgs []mail.Message
}

func (s *sentMail) Send(_ context.Context, m mail.Message) error {
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	s.mu.Unlock()
	return nil
}

type notices struct {
	mu  sync.Mutex
	got []string
}

func (n *notices) Notice(_ context.Context, userID, kind string, payload any) {
	n.mu.Lock()
	n.got = append(n.got, userID+":"+kind+":"+payload.(map[string]any)["stage"].(string))
	n.mu.Unlock()
}

func TestRemindersGoOutTheDayBeforeAndJustBeforeOnce(t *testing.T) {
	eachMoney(t, func(t *testing.T, m *money) {
		sent, seen := &sentMail{}, &notices{}
		m.svc.cfg.Mail, m.svc.cfg.Notify = sent, seen
		thirty := 30
		in := perMinute("Guitar", 100)
		in.PriceModel, in.SessionMinutes, in.MinBillableMinutes = PerSession, &thirty, 0
		ex, l := m.expertWith("art-music", in)
		lea := m.user("Lea")
		m.topUp(lea, 10_000)
		start := time.Date(2026, 3, 5, 15, 0, 0, 0, time.UTC) // two days ahead, 10:00 in New York
		se, err := m.svc.Book(m.ctx, lea, BookingInput{Listing: l.ID, Start: &start})
		if err != nil {
			t.Fatal(err)
		}
		sweep := func() {
			t.Helper()
			if err := m.svc.Sweep(m.ctx); err != nil {
				t.Fatal(err)
			}
		}
		sweep()
		if len(sent.msgs) != 0 {
			t.Fatalf("reminders two days ahead: %+v", sent.msgs)
		}
		m.now = start.Add(-23 * time.Hour)
		sweep()
		sweep()
		if len(sent.msgs) != 2 || len(seen.got) != 2 {
			t.Fatalf("the day before: %d mails, notices %v", len(sent.msgs), seen.got)
		}
		for _, msg := range sent.msgs {
			if !strings.Contains(msg.Subject, "tomorrow") || !strings.Contains(msg.Body, "Guitar") {
				t.Fatalf("a reminder: %+v", msg)
			}
		}
		m.now = start.Add(-14 * time.Minute)
		sweep()
		sweep()
		want := []string{lea + ":session_reminder:day", ex + ":session_reminder:day", lea + ":session_reminder:soon", ex + ":session_reminder:soon"}
		if len(sent.msgs) != 4 || strings.Join(seen.got, ",") != strings.Join(want, ",") {
			t.Fatalf("just before: %d mails, notices %v", len(sent.msgs), seen.got)
		}
		if !strings.Contains(sent.msgs[3].Subject, "in 14 minutes") {
			t.Fatalf("the last reminder: %q", sent.msgs[3].Subject)
		}
		_ = se
	})
}
