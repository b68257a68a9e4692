package calls_test

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/calls"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/db"
	"github.com/parley-chat/parley/internal/db/dbtest"
	"github.com/parley-chat/parley/internal/sfu"
)

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func at(minutes float64) time.Time { return t0.Add(time.Duration(minutes * float64(time.Minute))) }

// iv is a device's interval from minute a to minute b (b < 0: still open).
func iv(device string, a, b float64) calls.Interval {
	i := calls.Interval{Device: device, From: at(a)}
	if b >= 0 {
		i.To = at(b)
	}
	return i
}

func TestOverlap(t *testing.T) {
	mins := func(m float64) time.Duration { return time.Duration(m * float64(time.Minute)) }
	for _, tc := range []struct {
		name  string
		a, b  []calls.Interval
		until float64
		want  time.Duration
	}{
		{"nobody", nil, nil, 60, 0},
		{"one side only", []calls.Interval{iv("x", 0, 10)}, nil, 60, 0},
		{"the same span", []calls.Interval{iv("x", 0, 10)}, []calls.Interval{iv("y", 0, 10)}, 60, mins(10)},
		{"disjoint", []calls.Interval{iv("x", 0, 10)}, []calls.Interval{iv("y", 10, 20)}, 60, 0},
		{"partly", []calls.Interval{iv("x", 0, 10)}, []calls.Interval{iv("y", 5, 20)}, 60, mins(5)},
		{"nested", []calls.Interval{iv("x", 0, 30)}, []calls.Interval{iv("y", 10, 12)}, 60, mins(2)},
		{"a drop pauses the meter",
			[]calls.Interval{iv("x", 0, 30)},
			[]calls.Interval{iv("y", 0, 10), iv("y", 12.5, 30)}, 60, mins(27.5)},
		{"two devices overlapping count once",
			[]calls.Interval{iv("laptop", 0, 20), iv("phone", 10, 30)},
			[]calls.Interval{iv("y", 0, 30)}, 60, mins(30)},
		{"two devices on both sides",
			[]calls.Interval{iv("laptop", 0, 10), iv("phone", 5, 15), iv("laptop", 20, 25)},
			[]calls.Interval{iv("phone", 8, 22), iv("tablet", 9, 12)}, 60, mins(7 + 2)},
		{"out of order and touching",
			[]calls.Interval{iv("x", 10, 20), iv("x", 0, 10)},
			[]calls.Interval{iv("y", 5, 15)}, 60, mins(10)},
		{"open intervals run until until",
			[]calls.Interval{iv("x", 0, -1)}, []calls.Interval{iv("y", 5, -1)}, 20, mins(15)},
		{"closed ones are cut at until too",
			[]calls.Interval{iv("x", 0, 50)}, []calls.Interval{iv("y", 5, -1)}, 20, mins(15)},
		{"nothing after until",
			[]calls.Interval{iv("x", 30, 40)}, []calls.Interval{iv("y", 0, -1)}, 20, 0},
		{"zero-length intervals count nothing",
			[]calls.Interval{iv("x", 5, 5), iv("x", 7, 7)}, []calls.Interval{iv("y", 0, 10)}, 60, 0},
		{"backwards intervals count nothing",
			[]calls.Interval{iv("x", 9, 3)}, []calls.Interval{iv("y", 0, 10)}, 60, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := calls.Overlap(tc.a, tc.b, at(tc.until)); got != tc.want {
				t.Fatalf("Overlap = %v, want %v", got, tc.want)
			}
			if got := calls.Overlap(tc.b, tc.a, at(tc.until)); got != tc.want {
				t.Fatalf("Overlap swapped = %v, want %v", got, tc.want)
			}
		})
	}
	// Overlap with oneself is the time one was connected at all.
	if got := calls.Overlap([]calls.Interval{iv("l", 0, 20), iv("p", 10, 30)}, []calls.Interval{iv("l", 0, 20), iv("p", 10, 30)}, at(60)); got != mins(30) {
		t.Fatalf("self overlap %v", got)
	}
}

// fakeChat is what the calls service needs of the messenger, without it.
type fakeChat struct{ members []string }

func (f fakeChat) RecordCallEvent(context.Context, *sql.Tx, string, string, string, chat.CallSummary, time.Time) (chat.Event, error) {
	return chat.Event{}, nil
}
func (f fakeChat) Announce(context.Context, ...chat.Event)             {}
func (f fakeChat) MemberIDs(context.Context, string) ([]string, error) { return f.members, nil }

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

func TestPresenceIsRecordedAndClosedOnBothEngines(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		for _, q := range []string{
			`INSERT INTO users (id, email, name, role, password_hash, created_at, updated_at) VALUES ('ana', 'ana@x', 'Ana', 'member', '', $1, $1)`,
			`INSERT INTO users (id, email, name, role, password_hash, created_at, updated_at) VALUES ('bo', 'bo@x', 'Bo', 'member', '', $1, $1)`,
			`INSERT INTO conversations (id, kind, created_by, created_at, last_activity_at) VALUES ('c1', 'direct', 'ana', $1, $1)`,
			`INSERT INTO members (conversation_id, user_id, role, joined_at, joined_seq) VALUES ('c1', 'ana', 'member', $1, 0)`,
			`INSERT INTO members (conversation_id, user_id, role, joined_at, joined_seq) VALUES ('c1', 'bo', 'member', $1, 0)`,
		} {
			if _, err := d.ExecContext(ctx, q, t0); err != nil {
				t.Fatal(err)
			}
		}
		clk := &clock{now: t0}
		svc := calls.NewService(d, fakeChat{[]string{"ana", "bo"}}, nil, calls.Config{Node: "n1", Now: clk.Now})
		call, err := svc.Start(ctx, "ana", "c1", calls.Video, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Join(ctx, "bo", call.ID); err != nil {
			t.Fatal(err)
		}
		record := func(s *calls.Service, user, device string, on bool, minute float64) {
			t.Helper()
			if err := s.RecordPresence(ctx, call.ID, user, device, on, at(minute)); err != nil {
				t.Fatalf("%s %s %v at %v: %v", user, device, on, minute, err)
			}
		}
		presence := func(s *calls.Service) map[string][]calls.Interval {
			t.Helper()
			p, err := s.Presence(ctx, call.ID)
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		same := func(what string, got, want []calls.Interval) {
			t.Helper()
			if len(got) != len(want) {
				t.Fatalf("%s: %+v, want %+v", what, got, want)
			}
			for i := range got {
				if got[i].Device != want[i].Device || !got[i].From.Equal(want[i].From) || !got[i].To.Equal(want[i].To) {
					t.Fatalf("%s: interval %d is %+v, want %+v", what, i, got[i], want[i])
				}
			}
		}

		record(svc, "ana", "laptop", true, 0)
		record(svc, "bo", "phone", true, 1)
		record(svc, "bo", "phone", true, 1.5) // already connected: nothing new
		record(svc, "ana", "phone", true, 2)  // a second device
		record(svc, "ana", "laptop", false, 3)
		record(svc, "bo", "phone", false, 5) // a drop...
		record(svc, "bo", "phone", false, 5.5)
		record(svc, "bo", "phone", true, 7) // ... and back
		p := presence(svc)
		same("ana", p["ana"], []calls.Interval{iv("laptop", 0, 3), iv("phone", 2, -1)})
		same("bo", p["bo"], []calls.Interval{iv("phone", 1, 5), iv("phone", 7, -1)})
		if got, want := calls.Overlap(p["ana"], p["bo"], at(10)), 7*time.Minute; got != want {
			t.Fatalf("overlap until minute 10: %v, want %v", got, want)
		}

		// The node vouches for its open intervals every sweep; then it
		// stops, and its next run (same node) finds them open: they close
		// at the last time they were vouched for, not when it came back.
		clk.Set(at(8))
		if err := svc.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		clk.Set(at(8).Add(calls.PresenceStale / 3)) // back before anything is stale
		restarted := calls.NewService(d, fakeChat{[]string{"ana", "bo"}}, nil, calls.Config{Node: "n1", Now: clk.Now})
		if err := restarted.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		p = presence(restarted)
		same("ana after the restart", p["ana"], []calls.Interval{iv("laptop", 0, 3), iv("phone", 2, 8)})
		same("bo after the restart", p["bo"], []calls.Interval{iv("phone", 1, 5), iv("phone", 7, 8)})

		// An interval of a node that is gone for good is closed by any
		// node once nobody vouched for it in PresenceStale.
		record(restarted, "ana", "laptop", true, 20)
		other := calls.NewService(d, fakeChat{[]string{"ana", "bo"}}, nil, calls.Config{Node: "n2", Now: clk.Now})
		clk.Set(at(20).Add(calls.PresenceStale / 2))
		if err := other.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		if p = presence(other); !p["ana"][2].Open() {
			t.Fatalf("closed too early: %+v", p["ana"])
		}
		clk.Set(at(20).Add(calls.PresenceStale + time.Second))
		if err := other.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		same("ana after her node vanished", presence(other)["ana"], []calls.Interval{iv("laptop", 0, 3), iv("phone", 2, 8), iv("laptop", 20, 20)})

		// The call's end closes whatever is open, at the end.
		record(restarted, "bo", "phone", true, 30)
		record(restarted, "ana", "laptop", true, 31)
		clk.Set(at(40))
		if _, err := restarted.End(ctx, "ana", call.ID); err != nil {
			t.Fatal(err)
		}
		record(restarted, "bo", "tablet", true, 41) // too late: nothing opens
		p = presence(restarted)
		same("ana at the end", p["ana"], []calls.Interval{iv("laptop", 0, 3), iv("phone", 2, 8), iv("laptop", 20, 20), iv("laptop", 31, 40)})
		same("bo at the end", p["bo"], []calls.Interval{iv("phone", 1, 5), iv("phone", 7, 8), iv("phone", 30, 40)})
		if got, want := calls.Overlap(p["ana"], p["bo"], at(60)), 4*time.Minute+time.Minute+9*time.Minute; got != want {
			t.Fatalf("overlap of the whole call: %v, want %v", got, want)
		}

		if _, err := svc.Presence(ctx, "no-such-call"); !errors.Is(err, calls.ErrNotFound) {
			t.Fatalf("presence of no call: %v", err)
		}
		if err := svc.RecordPresence(ctx, "no-such-call", "ana", "x", true, t0); !errors.Is(err, calls.ErrNotFound) {
			t.Fatalf("recording in no call: %v", err)
		}
	}, auth.Migrations, chat.Migrations, calls.Migrations)
}

// dropMedia forgets the device's PeerConnections, as a browser that lost
// them does; the next publish and subscribe offer make new ones.
func (d *device) dropMedia() {
	d.mu.Lock()
	pub, sub := d.pub, d.sub
	d.pub, d.sub = nil, nil
	d.mu.Unlock()
	for _, pc := range []*webrtc.PeerConnection{pub, sub} {
		if pc != nil {
			_ = pc.Close()
		}
	}
}

// A video call's meter, from the SFU's own events: both connect, Bo's
// connection drops and comes back, the call ends. What both were
// connected for is the call less Bo's gap.
func TestMediaPresenceFollowsTheSFUThroughADrop(t *testing.T) {
	url, a := startApp(t, func(c *app.Config) { c.RTC.DisconnectTimeout = 2 * time.Second })
	ctx := context.Background()
	ana, bo := newDevice(t, url, "Ana"), newDevice(t, url, "Bo")
	conv, err := ana.c.OpenDirect(ctx, bo.user.ID)
	if err != nil {
		t.Fatal(err)
	}
	call, err := ana.c.StartCall(ctx, conv.ID, "video")
	if err != nil {
		t.Fatal(err)
	}
	ana.callID, bo.callID = call.ID, call.ID
	for _, d := range []*device{ana, bo} {
		if _, err := d.rtc("connect", nil); err != nil {
			t.Fatalf("%s connect: %v", d.user.Name, err)
		}
	}
	for _, d := range []*device{ana, bo} {
		if err := d.publish(sfu.Microphone, sfu.Camera); err != nil {
			t.Fatal(err)
		}
	}
	presence := func() map[string][]calls.Interval {
		p, err := a.Calls.Presence(ctx, call.ID)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	// shape says whether a person's intervals are, in order, closed (false)
	// or open (true) as given.
	shape := func(ivs []calls.Interval, open ...bool) bool {
		if len(ivs) != len(open) {
			return false
		}
		for i := range ivs {
			if ivs[i].Open() != open[i] {
				return false
			}
		}
		return true
	}
	eventually(t, "both to be media-connected", func() bool {
		p := presence()
		return shape(p[ana.user.ID], true) && shape(p[bo.user.ID], true)
	})
	eventually(t, "media to flow", func() bool { return ana.count(":camera") > 10 && bo.count(":camera") > 10 })

	// Bo's connection drops (his WebSocket stays): the SFU notices by
	// itself, and the meter pauses for him alone.
	dropped := time.Now()
	bo.dropMedia()
	eventually(t, "bo's interval to close", func() bool {
		p := presence()
		return shape(p[bo.user.ID], false) && shape(p[ana.user.ID], true)
	})
	if to := presence()[bo.user.ID][0].To; to.Before(dropped) {
		t.Fatalf("bo's interval closed at %v, before he dropped at %v", to, dropped)
	} else {
		t.Logf("the SFU reported bo's drop %v after it (DisconnectTimeout 2 s)", to.Sub(dropped))
	}

	// He comes back: a new connect (once the SFU has let his old device
	// go) and a new publish make a new interval.
	eventually(t, "bo to reconnect", func() bool {
		_, err := bo.rtc("connect", nil)
		return err == nil
	})
	back := time.Now()
	if err := bo.publish(sfu.Microphone, sfu.Camera); err != nil {
		t.Fatal(err)
	}
	eventually(t, "bo's new interval", func() bool {
		p := presence()
		return shape(p[bo.user.ID], false, true) && shape(p[ana.user.ID], true)
	})
	eventually(t, "ana to receive bo again", func() bool { return ana.count(":camera") > 10 })

	ana.ending.Store(true)
	bo.ending.Store(true)
	if got, err := ana.c.CallAction(ctx, call.ID, "end"); err != nil || got.State != "ended" {
		t.Fatalf("ending the call: %+v %v", got, err)
	}
	p := presence()
	if !shape(p[ana.user.ID], false) || !shape(p[bo.user.ID], false, false) {
		t.Fatalf("after the end, open intervals remain: %+v", p)
	}
	ended, err := a.Calls.Get(ctx, ana.user.ID, call.ID)
	if err != nil || ended.EndedAt == nil || ended.AnsweredAt == nil {
		t.Fatalf("the ended call: %+v %v", ended, err)
	}
	anaIv, boIv := p[ana.user.ID][0], p[bo.user.ID]
	for _, i := range append([]calls.Interval{anaIv}, boIv...) {
		if i.From.Before(ended.CreatedAt) || i.To.After(*ended.EndedAt) {
			t.Fatalf("interval %+v outside the call %v–%v", i, ended.CreatedAt, *ended.EndedAt)
		}
	}
	if boIv[1].From.Before(back) {
		t.Fatalf("bo's second interval began at %v, before he came back at %v", boIv[1].From, back)
	}
	gap := boIv[1].From.Sub(boIv[0].To)
	duration := ended.EndedAt.Sub(*ended.AnsweredAt)
	overlap := calls.Overlap(p[ana.user.ID], p[bo.user.ID], *ended.EndedAt)
	if gap <= 0 || overlap <= 0 || overlap >= duration || overlap > duration-gap {
		t.Fatalf("overlap %v, call %v, bo's gap %v: want 0 < overlap ≤ call − gap", overlap, duration, gap)
	}
	// Nobody is billed for more than either was connected.
	if bos := calls.Overlap(boIv, boIv, *ended.EndedAt); overlap > bos {
		t.Fatalf("overlap %v, but bo was connected only %v", overlap, bos)
	}
}
