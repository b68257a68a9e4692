package desk

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/calls"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/db"
	"github.com/parley-chat/parley/internal/db/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// clock is a settable time source shared by every service of a test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// news keeps the desk frames each person was sent.
type news struct {
	mu     sync.Mutex
	byUser map[string][]map[string]json.RawMessage
}

func (n *news) Publish(_ context.Context, subject string, data []byte) error {
	user, ok := strings.CutPrefix(subject, "desk.user.")
	if !ok {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	n.mu.Lock()
	n.byUser[user] = append(n.byUser[user], m)
	n.mu.Unlock()
	return nil
}

// kinds lists the kinds of desk news a person got, in order.
func (n *news) kinds(user string) []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for _, m := range n.byUser[user] {
		var k string
		_ = json.Unmarshal(m["kind"], &k)
		out = append(out, k)
	}
	return out
}

// fixture is one desk with its accounts, messenger and calls on one
// database; node makes a second desk (another node) on the same database.
type fixture struct {
	t     testing.TB
	ctx   context.Context
	d     *db.DB
	clock *clock
	auth  *auth.Service
	chat  *chat.Service
	calls *calls.Service
	news  *news
	desk  *Service
	n     int
}

func newFixture(t testing.TB, d *db.DB) *fixture {
	// Tuesday 2026-03-03 15:00 UTC: 10:00 in New York.
	f := &fixture{t: t, ctx: context.Background(), d: d, clock: &clock{t: time.Date(2026, 3, 3, 15, 0, 0, 0, time.UTC)},
		news: &news{byUser: map[string][]map[string]json.RawMessage{}}}
	f.auth = auth.NewService(d, auth.Config{Argon2: auth.Argon2Params{Memory: 64, Time: 1, Threads: 1}, Now: f.clock.Now})
	f.chat = chat.NewService(d, nil, f.clock.Now, nil)
	f.calls = calls.NewService(d, f.chat, nil, calls.Config{Node: "n1", Now: f.clock.Now})
	f.desk = f.node()
	return f
}

// node is another desk process sharing the database.
func (f *fixture) node() *Service {
	return NewService(f.d, f.auth, f.chat, f.calls, f.news, Config{MissedOffersBeforeAway: 2, Now: f.clock.Now})
}

func (f *fixture) user(name string) auth.User {
	f.t.Helper()
	f.n++
	u, err := f.auth.CreateUser(f.ctx, fmt.Sprintf("%s-%d@example.com", strings.ToLower(name), f.n), name, "correct horse battery", auth.RoleAgent)
	if err != nil {
		f.t.Fatal(err)
	}
	return u
}

// weekdays9to17 is open 09:00–17:00 New York time, Monday to Friday.
func weekdays9to17() *Schedule {
	w := Week{}
	for d := time.Monday; d <= time.Friday; d++ {
		w[d] = []Interval{{Open: "09:00", Close: "17:00"}}
	}
	return &Schedule{TimeZone: "America/New_York", Weekly: w}
}

func (f *fixture) queue(key string, mod ...func(*QueueInput)) Queue {
	f.t.Helper()
	in := QueueInput{Key: key, Name: strings.ToUpper(key[:1]) + key[1:], Channels: []string{ChannelVideo, ChannelVoice, ChannelChat},
		Hours: weekdays9to17(), Origins: []string{"https://shop.example"}}
	for _, m := range mod {
		m(&in)
	}
	q, err := f.desk.CreateQueue(f.ctx, in)
	if err != nil {
		f.t.Fatal(err)
	}
	return q
}

// agent makes an available agent of queues with skills.
func (f *fixture) agent(name string, skills map[string]int, queues ...string) auth.User {
	f.t.Helper()
	u := f.user(name)
	if _, err := f.desk.SetAgent(f.ctx, u.ID, AgentInput{Queues: queues, Skills: skills}); err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.desk.SetStatus(f.ctx, u.ID, Available); err != nil {
		f.t.Fatal(err)
	}
	return u
}

// open is a guest pressing Help on the shop's site.
func (f *fixture) open(queue, channel, name string) Request {
	f.t.Helper()
	r, err := f.desk.Open(f.ctx, Caller{Origin: "https://shop.example"}, RequestInput{Queue: queue, Channel: channel, Name: name})
	if err != nil {
		f.t.Fatalf("open %s: %v", name, err)
	}
	return r
}

// pending returns the agent's pending offer, failing when there is not
// exactly one.
func (f *fixture) pending(agentID string) Offer {
	f.t.Helper()
	os, err := f.desk.Offers(f.ctx, agentID)
	if err != nil {
		f.t.Fatal(err)
	}
	if len(os) != 1 {
		f.t.Fatalf("agent %s has %d pending offers, want 1", agentID, len(os))
	}
	return os[0]
}

func (f *fixture) noOffer(agentID string) {
	f.t.Helper()
	os, err := f.desk.Offers(f.ctx, agentID)
	if err != nil {
		f.t.Fatal(err)
	}
	if len(os) != 0 {
		f.t.Fatalf("agent %s has an offer for %s; want none", agentID, os[0].RequestID)
	}
}

func (f *fixture) sweep() {
	f.t.Helper()
	if err := f.desk.Sweep(f.ctx); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) status(userID string) string {
	f.t.Helper()
	a, err := f.desk.Agent(f.ctx, userID)
	if err != nil {
		f.t.Fatal(err)
	}
	return a.Status
}

func (f *fixture) request(id string) Request {
	f.t.Helper()
	r, err := f.desk.Get(f.ctx, Viewer{Manager: true}, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

// migrations are what the desk's tests need on each engine.
var migrations = []db.Migrations{auth.Migrations, chat.Migrations, calls.Migrations, Migrations}

func each(t *testing.T, fn func(t *testing.T, f *fixture)) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) { fn(t, newFixture(t, d)) }, migrations...)
}

func ptr[T any](v T) *T { return &v }
