package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/db"
	"github.com/parley-chat/parley/internal/db/dbtest"
	"github.com/parley-chat/parley/internal/httpx"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// recorder is an Announcer that keeps what was announced.
type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) Publish(_ context.Context, subject string, data []byte) error {
	if !strings.HasPrefix(subject, "chat.conv.") {
		return nil
	}
	var ev Event
	if err := json.Unmarshal(data, &ev); err != nil {
		return err
	}
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
	return nil
}

func (r *recorder) types() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, ev := range r.events {
		out = append(out, ev.Type)
	}
	return out
}

type fixture struct {
	t    *testing.T
	d    *db.DB
	svc  *Service
	auth *auth.Service
	rec  *recorder

	mu    sync.Mutex
	clock time.Time
}

// each runs fn on both engines with a fresh messenger.
func each(t *testing.T, fn func(t *testing.T, f *fixture)) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := &fixture{t: t, d: d, rec: &recorder{}, clock: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
		// Each reading is a millisecond later, so creation order is strict.
		now := func() time.Time {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.clock = f.clock.Add(time.Millisecond)
			return f.clock
		}
		f.svc = NewService(d, f.rec, now, func(err error) { t.Errorf("announce: %v", err) })
		f.auth = auth.NewService(d, auth.Config{Argon2: auth.Argon2Params{Memory: 64, Time: 1, Threads: 1}})
		fn(t, f)
	}, auth.Migrations, Migrations)
}

func (f *fixture) user(name string) string {
	f.t.Helper()
	u, err := f.auth.CreateUser(context.Background(), strings.ToLower(name)+"@example.com", name, "correct horse battery", auth.RoleMember)
	if err != nil {
		f.t.Fatal(err)
	}
	return u.ID
}

func (f *fixture) send(user, conv, clientID, body string) Message {
	f.t.Helper()
	m, _, err := f.svc.Send(context.Background(), user, conv, SendInput{ClientID: clientID, Body: body})
	if err != nil {
		f.t.Fatalf("send %q: %v", body, err)
	}
	return m
}

func wantProblem(t *testing.T, err error, status int, field string) {
	t.Helper()
	var p *httpx.Problem
	if !errors.As(err, &p) || p.Status != status {
		t.Fatalf("error %v, want a %d problem", err, status)
	}
	if field != "" && !slices.ContainsFunc(p.Errors, func(e httpx.FieldError) bool { return e.Field == field }) {
		t.Fatalf("problem %+v does not name %q", p, field)
	}
}

func TestDirectConversationIsOnePerPair(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		ana, bo := f.user("Ana"), f.user("Bo")
		c1, created, err := f.svc.OpenDirect(ctx, ana, bo)
		if err != nil || !created {
			t.Fatalf("first open: created=%v err=%v", created, err)
		}
		c2, created, err := f.svc.OpenDirect(ctx, bo, ana)
		if err != nil || created || c2.ID != c1.ID {
			t.Fatalf("second open from the other side: %s created=%v err=%v, want %s", c2.ID, created, err, c1.ID)
		}
		if c1.Kind != Direct || c1.Peer == nil || c1.Peer.ID != bo || c2.Peer.ID != ana || c1.MemberCount != 2 {
			t.Fatalf("conversation = %+v / %+v", c1, c2)
		}
		if _, _, err := f.svc.OpenDirect(ctx, ana, "no-such-user"); err == nil {
			t.Fatal("a direct conversation with nobody was opened")
		}
		if n := dbtest.Count(t, f.d, "conversations"); n != 1 {
			t.Fatalf("%d conversations, want 1", n)
		}
	})
}

func TestSendNumbersMessagesAndRetriesAreIdempotent(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		ana, bo, cy := f.user("Ana"), f.user("Bo"), f.user("Cy")
		c, _, _ := f.svc.OpenDirect(ctx, ana, bo)
		m1 := f.send(ana, c.ID, "c-1", "hello")
		m2 := f.send(bo, c.ID, "c-1", "hi!") // client ids are per sender
		if m1.Seq != 2 || m2.Seq != 3 {      // seq 1 is the conversation's creation
			t.Fatalf("seqs = %d, %d; want 2, 3", m1.Seq, m2.Seq)
		}
		again, created, err := f.svc.Send(ctx, ana, c.ID, SendInput{ClientID: "c-1", Body: "hello (retried)"})
		if err != nil || created || again.ID != m1.ID || again.Body != "hello" {
			t.Fatalf("retry = %+v created=%v err=%v; want the first message", again, created, err)
		}
		if n := dbtest.Count(t, f.d, "messages"); n != 2 {
			t.Fatalf("%d messages after a retry, want 2", n)
		}
		if _, _, err := f.svc.Send(ctx, cy, c.ID, SendInput{ClientID: "x", Body: "let me in"}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("outsider send: %v, want ErrNotFound", err)
		}
		if _, _, err := f.svc.Send(ctx, cy, c.ID, SendInput{ClientID: "c-1", Body: "guess"}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("outsider retry of a known client id: %v, want ErrNotFound", err)
		}
	})
}

func TestSendRejectsBadMessagesAndWritesNothing(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		ana, bo, cy := f.user("Ana"), f.user("Bo"), f.user("Cy")
		c, _, _ := f.svc.OpenDirect(ctx, ana, bo)
		before := dbtest.Count(t, f.d, "events")
		cases := []struct {
			in    SendInput
			field string
		}{
			{SendInput{ClientID: "a", Body: ""}, "body"},
			{SendInput{ClientID: "a", Body: "   \n"}, "body"},
			{SendInput{ClientID: "a", Body: strings.Repeat("x", MaxBodyBytes+1)}, "body"},
			{SendInput{ClientID: "a", Body: "bad \xff utf-8"}, "body"},
			{SendInput{ClientID: "a", Body: "nul \x00 inside"}, "body"},
			{SendInput{ClientID: "", Body: "no id"}, "client_id"},
			{SendInput{ClientID: "has space", Body: "x"}, "client_id"},
			{SendInput{ClientID: strings.Repeat("i", 65), Body: "x"}, "client_id"},
			{SendInput{ClientID: "a", Body: "x", ReplyTo: "nope"}, "reply_to"},
			{SendInput{ClientID: "a", Body: "x", Mentions: []string{cy}}, "mentions"},
		}
		for _, tc := range cases {
			_, _, err := f.svc.Send(ctx, ana, c.ID, tc.in)
			wantProblem(t, err, 422, tc.field)
		}
		if n := dbtest.Count(t, f.d, "messages"); n != 0 {
			t.Fatalf("%d messages written by rejected sends", n)
		}
		if n := dbtest.Count(t, f.d, "events"); n != before {
			t.Fatalf("rejected sends wrote %d events", n-before)
		}
		if got := f.rec.types(); slices.Contains(got, EventMessageCreated) {
			t.Fatalf("a rejected send was announced: %v", got)
		}
		ok := f.send(ana, c.ID, "max", strings.Repeat("가", MaxBodyBytes/3)) // 3 bytes each: at the limit
		if ok.Seq == 0 {
			t.Fatal("a message at the limit was refused")
		}
	})
}

func TestConcurrentSendsGetDistinctContiguousSeqs(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		ana, bo := f.user("Ana"), f.user("Bo")
		c, _, _ := f.svc.OpenDirect(ctx, ana, bo)
		const n = 40
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			seqs []int64
		)
		for i := range n {
			wg.Go(func() {
				sender := []string{ana, bo}[i%2]
				// Every message is also sent twice at once, as a flaky
				// network's retry would: exactly one must be stored.
				for range 2 {
					m, _, err := f.svc.Send(ctx, sender, c.ID, SendInput{ClientID: fmt.Sprintf("m%d", i), Body: "concurrent"})
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					seqs = append(seqs, m.Seq)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		slices.Sort(seqs)
		seqs = slices.Compact(seqs)
		if len(seqs) != n || seqs[0] != 2 || seqs[n-1] != n+1 {
			t.Fatalf("seqs = %v, want %d distinct from 2 to %d", seqs, n, n+1)
		}
		if got := dbtest.Count(t, f.d, "messages"); got != n {
			t.Fatalf("%d messages stored, want %d", got, n)
		}
	})
}

func TestEventsReplayEveryChangeInOrderWithCurrentState(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		ana, bo := f.user("Ana"), f.user("Bo")
		c, _, _ := f.svc.OpenDirect(ctx, ana, bo)
		m1 := f.send(ana, c.ID, "1", "first")
		m2 := f.send(bo, c.ID, "2", "second")
		if _, err := f.svc.Edit(ctx, ana, c.ID, m1.ID, "first, edited"); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.React(ctx, bo, c.ID, m1.ID, "👍", true); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.React(ctx, bo, c.ID, m1.ID, "👍", true); err != nil { // again: no change
			t.Fatal(err)
		}
		if err := f.svc.Delete(ctx, bo, c.ID, m2.ID); err != nil {
			t.Fatal(err)
		}

		events, more, err := f.svc.Events(ctx, bo, c.ID, 0, 100)
		if err != nil || more {
			t.Fatalf("events: more=%v err=%v", more, err)
		}
		var types []string
		for i, ev := range events {
			if ev.Seq != int64(i+1) {
				t.Fatalf("event %d has seq %d: the log has a gap", i, ev.Seq)
			}
			types = append(types, ev.Type)
		}
		want := []string{EventConversationCreated, EventMessageCreated, EventMessageCreated, EventMessageEdited, EventReactionAdded, EventMessageDeleted}
		if !slices.Equal(types, want) {
			t.Fatalf("types = %v, want %v", types, want)
		}
		if slices.Compare(f.rec.types(), want) != 0 {
			t.Fatalf("announced %v, want %v", f.rec.types(), want)
		}
		// Replay shows the messages as they are now: the edit on the first,
		// the reaction, and the second's tombstone with no text left.
		first, second := events[1].Message, events[2].Message
		if first.Body != "first, edited" || first.EditedAt == nil || len(first.Reactions) != 1 || first.Reactions[0].UserIDs[0] != bo {
			t.Fatalf("replayed first message = %+v", first)
		}
		if !second.Deleted || second.Body != "" {
			t.Fatalf("replayed deleted message = %+v", second)
		}
		// A device that has seen up to seq 3 gets only the rest.
		rest, _, _ := f.svc.Events(ctx, ana, c.ID, 3, 100)
		if len(rest) != 3 || rest[0].Seq != 4 {
			t.Fatalf("after 3: %d events from seq %d", len(rest), rest[0].Seq)
		}
		page, more, _ := f.svc.Events(ctx, ana, c.ID, 0, 2)
		if len(page) != 2 || !more {
			t.Fatalf("limited page: %d events, more=%v", len(page), more)
		}
	})
}

func TestOnlyTheAuthorEditsOrDeletes(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		ana, bo := f.user("Ana"), f.user("Bo")
		c, _, _ := f.svc.OpenDirect(ctx, ana, bo)
		m := f.send(ana, c.ID, "1", "mine")
		if _, err := f.svc.Edit(ctx, bo, c.ID, m.ID, "hijacked"); !errors.Is(err, ErrForbidden) {
			t.Fatalf("edit by another: %v, want ErrForbidden", err)
		}
		if err := f.svc.Delete(ctx, bo, c.ID, m.ID); !errors.Is(err, ErrForbidden) {
			t.Fatalf("delete by another: %v, want ErrForbidden", err)
		}
		if _, err := f.svc.Edit(ctx, ana, c.ID, m.ID, ""); err == nil {
			t.Fatal("an edit to nothing was accepted")
		}
		msgs, _, _ := f.svc.Messages(ctx, ana, c.ID, MessagePage{Limit: 10})
		if msgs[0].Body != "mine" || msgs[0].EditedAt != nil {
			t.Fatalf("a refused edit changed the message: %+v", msgs[0])
		}
		if err := f.svc.Delete(ctx, ana, c.ID, m.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Edit(ctx, ana, c.ID, m.ID, "undead"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("edit of a deleted message: %v, want ErrNotFound", err)
		}
	})
}

func TestMessagesPageForwardAndBack(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		ana, bo := f.user("Ana"), f.user("Bo")
		c, _, _ := f.svc.OpenDirect(ctx, ana, bo)
		for i := range 10 {
			f.send(ana, c.ID, fmt.Sprint(i), fmt.Sprint("message ", i))
		}
		seqsOf := func(ms []Message) (out []int64) {
			for _, m := range ms {
				out = append(out, m.Seq)
			}
			return out
		}
		fwd, more, _ := f.svc.Messages(ctx, bo, c.ID, MessagePage{After: 4, Limit: 3})
		if !slices.Equal(seqsOf(fwd), []int64{5, 6, 7}) || !more {
			t.Fatalf("after 4: %v more=%v", seqsOf(fwd), more)
		}
		back, more, _ := f.svc.Messages(ctx, bo, c.ID, MessagePage{Before: 6, Limit: 3})
		if !slices.Equal(seqsOf(back), []int64{3, 4, 5}) || !more {
			t.Fatalf("before 6: %v more=%v", seqsOf(back), more)
		}
		first, more, _ := f.svc.Messages(ctx, bo, c.ID, MessagePage{Before: 4, Limit: 3})
		if !slices.Equal(seqsOf(first), []int64{2, 3}) || more {
			t.Fatalf("before 4: %v more=%v", seqsOf(first), more)
		}
	})
}

func TestReadCursorsAndUnreadCounts(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		ana, bo := f.user("Ana"), f.user("Bo")
		c, _, _ := f.svc.OpenDirect(ctx, ana, bo)
		f.send(ana, c.ID, "1", "one")
		f.send(ana, c.ID, "2", "two")
		m3 := f.send(ana, c.ID, "3", "three")
		got, _ := f.svc.Get(ctx, bo, c.ID)
		if got.Unread != 3 || got.LastMessage == nil || got.LastMessage.ID != m3.ID {
			t.Fatalf("bo sees %d unread, last %+v; want 3 and the third message", got.Unread, got.LastMessage)
		}
		mine, _ := f.svc.Get(ctx, ana, c.ID)
		if mine.Unread != 0 || mine.ReadSeq != m3.Seq {
			t.Fatalf("the sender has %d unread at %d; own messages count as read", mine.Unread, mine.ReadSeq)
		}
		if cur, err := f.svc.MarkRead(ctx, bo, c.ID, m3.Seq-1); err != nil || cur != m3.Seq-1 {
			t.Fatalf("mark read: %d %v", cur, err)
		}
		if cur, _ := f.svc.MarkRead(ctx, bo, c.ID, 1); cur != m3.Seq-1 {
			t.Fatalf("the cursor moved back to %d", cur)
		}
		if cur, _ := f.svc.MarkRead(ctx, bo, c.ID, 1<<40); cur != m3.Seq {
			t.Fatalf("cursor %d past the end, want %d", cur, m3.Seq)
		}
		got, _ = f.svc.Get(ctx, bo, c.ID)
		if got.Unread != 0 {
			t.Fatalf("%d unread after reading all", got.Unread)
		}
		if _, err := f.svc.MarkRead(ctx, f.user("Cy"), c.ID, 1); !errors.Is(err, ErrNotFound) {
			t.Fatalf("outsider read: %v", err)
		}
	})
}

func TestListOrdersByLatestActivityAndPages(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		ana := f.user("Ana")
		var ids []string
		for _, name := range []string{"Bo", "Cy", "Di", "Ed"} {
			c, _, _ := f.svc.OpenDirect(ctx, ana, f.user(name))
			ids = append(ids, c.ID)
		}
		f.send(ana, ids[1], "x", "bump Cy") // Cy's conversation is now the latest
		want := []string{ids[1], ids[3], ids[2], ids[0]}
		var got []string
		var after ActivityCursor
		for range 5 {
			page, next, err := f.svc.List(ctx, ana, after, 3)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range page {
				got = append(got, c.ID)
			}
			if next == nil {
				break
			}
			after = *next
		}
		if !slices.Equal(got, want) {
			t.Fatalf("order %v, want %v", got, want)
		}
	})
}

func TestGroupMembershipRules(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		ana, bo, cy, di := f.user("Ana"), f.user("Bo"), f.user("Cy"), f.user("Di")
		if _, err := f.svc.CreateGroup(ctx, ana, "Team", []string{bo, "ghost"}); err == nil {
			t.Fatal("a group with an unknown member was created")
		}
		if n := dbtest.Count(t, f.d, "conversations"); n != 0 {
			t.Fatal("the refused group was written")
		}
		g, err := f.svc.CreateGroup(ctx, ana, "  Team  ", []string{bo, bo, ana})
		if err != nil {
			t.Fatal(err)
		}
		if g.Title != "Team" || g.MemberCount != 2 || g.MyRole != RoleAdmin {
			t.Fatalf("group = %+v", g)
		}
		if _, err := f.svc.AddMember(ctx, bo, g.ID, cy, ""); !errors.Is(err, ErrForbidden) {
			t.Fatalf("member adding: %v, want ErrForbidden", err)
		}
		if _, err := f.svc.AddMember(ctx, ana, g.ID, cy, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.AddMember(ctx, ana, g.ID, cy, ""); !errors.Is(err, ErrAlreadyThere) {
			t.Fatalf("adding twice: %v", err)
		}
		if _, err := f.svc.Rename(ctx, bo, g.ID, "Mine now"); !errors.Is(err, ErrForbidden) {
			t.Fatalf("member renaming: %v", err)
		}
		if err := f.svc.RemoveMember(ctx, bo, g.ID, cy); !errors.Is(err, ErrForbidden) {
			t.Fatalf("member removing another: %v", err)
		}
		if err := f.svc.RemoveMember(ctx, cy, g.ID, cy); err != nil { // leaving
			t.Fatal(err)
		}
		if _, err := f.svc.Get(ctx, cy, g.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("a member who left still sees the group: %v", err)
		}
		if _, _, err := f.svc.Events(ctx, cy, g.ID, 0, 10); !errors.Is(err, ErrNotFound) {
			t.Fatalf("a member who left still reads the log: %v", err)
		}
		// The only admin leaves: the longest-standing member becomes admin.
		if err := f.svc.RemoveMember(ctx, ana, g.ID, ana); err != nil {
			t.Fatal(err)
		}
		got, _ := f.svc.Get(ctx, bo, g.ID)
		if got.MyRole != RoleAdmin || got.MemberCount != 1 {
			t.Fatalf("after the admin left: %+v", got)
		}
		if _, err := f.svc.AddMember(ctx, bo, g.ID, di, RoleMember); err != nil {
			t.Fatalf("the new admin cannot add: %v", err)
		}
		d, _, _ := f.svc.OpenDirect(ctx, ana, bo)
		if _, err := f.svc.AddMember(ctx, ana, d.ID, cy, ""); !errors.Is(err, ErrNotGroup) {
			t.Fatalf("adding to a direct conversation: %v", err)
		}
	})
}

func TestSearchFindsOnlyWhatTheCallerMaySee(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		ana, bo, cy := f.user("Ana"), f.user("Bo"), f.user("Cy")
		ab, _, _ := f.svc.OpenDirect(ctx, ana, bo)
		bc, _, _ := f.svc.OpenDirect(ctx, bo, cy)
		f.send(ana, ab.ID, "1", "the guitar lesson is at noon")
		gone := f.send(ana, ab.ID, "2", "secret guitar plans")
		f.send(cy, bc.ID, "3", "guitar strings for sale")
		if err := f.svc.Delete(ctx, ana, ab.ID, gone.ID); err != nil {
			t.Fatal(err)
		}
		hits, _, err := f.svc.Search(ctx, ana, SearchQuery{Text: "guitar", Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) != 1 || hits[0].Body != "the guitar lesson is at noon" {
			t.Fatalf("ana's hits = %+v; want only her visible, undeleted message", hits)
		}
		hits, _, _ = f.svc.Search(ctx, bo, SearchQuery{Text: "GUITAR noon", Limit: 10})
		if len(hits) != 1 {
			t.Fatalf("all-words search = %d hits, want 1", len(hits))
		}
		for _, weird := range []string{`"`, `guitar"`, `NEAR(a b)`, `body:guitar`, `*`, `-guitar`, `a OR`} {
			if _, _, err := f.svc.Search(ctx, bo, SearchQuery{Text: weird, Limit: 10}); err != nil {
				t.Errorf("search %q: %v", weird, err)
			}
		}
		if _, _, err := f.svc.Search(ctx, ana, SearchQuery{Text: "guitar", ConversationID: bc.ID, Limit: 10}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("search in someone else's conversation: %v", err)
		}
		var all []string
		var after SearchCursor
		for range 5 {
			page, next, err := f.svc.Search(ctx, bo, SearchQuery{Text: "guitar", After: after, Limit: 1})
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range page {
				all = append(all, m.Body)
			}
			if next == nil {
				break
			}
			after = *next
		}
		if len(all) != 2 || all[0] != "guitar strings for sale" {
			t.Fatalf("paged search = %v, want 2 hits, newest first", all)
		}
	})
}
