package chat

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/parley-chat/parley/internal/db"
	"github.com/parley-chat/parley/internal/db/dbtest"
)

// checkLog verifies a conversation's change log: sequence numbers 1…last
// without gaps or duplicates, one message.created event per stored
// message, and that event carrying the message's own seq.
func (f *fixture) checkLog(t *testing.T, convID string) (messages int) {
	t.Helper()
	ctx := context.Background()
	var last int64
	if err := f.d.QueryRowContext(ctx, `SELECT last_seq FROM conversations WHERE id = $1`, convID).Scan(&last); err != nil {
		t.Fatal(err)
	}
	rows, err := f.d.QueryContext(ctx, `SELECT e.seq, e.type, COALESCE(m.seq, -1) FROM events e
		LEFT JOIN messages m ON m.id = e.message_id WHERE e.conversation_id = $1 ORDER BY e.seq`, convID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	want := int64(1)
	for rows.Next() {
		var (
			seq, msgSeq int64
			typ         string
		)
		if err := rows.Scan(&seq, &typ, &msgSeq); err != nil {
			t.Fatal(err)
		}
		if seq != want {
			t.Fatalf("conversation %s: event seq %d, want %d (a gap or a duplicate)", convID, seq, want)
		}
		want++
		if typ == EventMessageCreated {
			if msgSeq != seq {
				t.Fatalf("conversation %s: message.created at %d names a message with seq %d", convID, seq, msgSeq)
			}
			messages++
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if want-1 != last {
		t.Fatalf("conversation %s: last_seq %d, but %d events", convID, last, want-1)
	}
	var stored int
	if err := f.d.QueryRowContext(ctx, `SELECT COUNT(*) FROM messages WHERE conversation_id = $1`, convID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != messages {
		t.Fatalf("conversation %s: %d messages stored, %d message.created events", convID, stored, messages)
	}
	return messages
}

// announcedOnce checks that every message.created was announced exactly
// once and returns how many were.
func (f *fixture) announcedOnce(t *testing.T) int {
	t.Helper()
	f.rec.mu.Lock()
	defer f.rec.mu.Unlock()
	seen := map[string]bool{}
	for _, ev := range f.rec.events {
		if ev.Type != EventMessageCreated {
			continue
		}
		key := fmt.Sprintf("%s/%d", ev.ConversationID, ev.Seq)
		if seen[key] || ev.Message == nil || ev.Message.Seq != ev.Seq {
			t.Fatalf("announcement %s repeated or without its message: %+v", key, ev)
		}
		seen[key] = true
	}
	return len(seen)
}

// Many senders at once, to one conversation and to several, each message
// sent twice at the same time and some again afterwards: every message is
// stored exactly once, every attempt gets the same answer, and each
// conversation's sequence has no gaps.
func TestGroupCommitStoresEachMessageOnceWithoutGaps(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		var users []string
		for i := range 6 {
			users = append(users, f.user(fmt.Sprintf("User%d", i)))
		}
		var convs []string
		for i := range 3 {
			c, err := f.svc.CreateGroup(ctx, users[0], fmt.Sprintf("Group %d", i), users[1:])
			if err != nil {
				t.Fatal(err)
			}
			convs = append(convs, c.ID)
		}
		d, _, err := f.svc.OpenDirect(ctx, users[1], users[2])
		if err != nil {
			t.Fatal(err)
		}
		convs = append(convs, d.ID)

		type key struct{ sender, conv, client string }
		type answer struct {
			id      string
			seq     int64
			created bool
		}
		var (
			mu      sync.Mutex
			answers = map[key][]answer{}
			wg      sync.WaitGroup
		)
		send := func(k key, body string) {
			m, created, err := f.svc.Send(ctx, k.sender, k.conv, SendInput{ClientID: k.client, Body: body})
			if err != nil {
				t.Errorf("send %v: %v", k, err)
				return
			}
			mu.Lock()
			answers[k] = append(answers[k], answer{m.ID, m.Seq, created})
			mu.Unlock()
		}
		const perSender = 20
		for si := 1; si <= 2; si++ { // users 1 and 2 are in every conversation
			for g := range 4 {
				wg.Go(func() {
					for i := range perSender {
						conv := convs[0] // a busy one...
						if i%2 == 1 {
							conv = convs[(g+i)%len(convs)] // ...and the others
						}
						k := key{users[si], conv, fmt.Sprintf("g%d-m%d", g, i)}
						body := fmt.Sprintf("word%d%d%d", si, g, i)
						var twice sync.WaitGroup
						twice.Go(func() { send(k, body) })
						twice.Go(func() { send(k, body+" retried") })
						twice.Wait()
						if i%5 == 0 {
							send(k, body+" retried later")
						}
					}
				})
			}
		}
		wg.Wait()
		if t.Failed() {
			return
		}

		perConv := map[string]int{}
		for k, as := range answers {
			created := 0
			for _, a := range as {
				if a.id != as[0].id || a.seq != as[0].seq {
					t.Fatalf("%v: attempts answered %+v and %+v", k, as[0], a)
				}
				if a.created {
					created++
				}
			}
			if created != 1 {
				t.Fatalf("%v: %d attempts created the message, want 1", k, created)
			}
			perConv[k.conv]++
		}
		total := 0
		for _, c := range convs {
			if got := f.checkLog(t, c); got != perConv[c] {
				t.Fatalf("conversation %s: %d messages stored, %d sent", c, got, perConv[c])
			}
			total += perConv[c]
		}
		if got := f.announcedOnce(t); got != total {
			t.Fatalf("%d messages announced, %d stored", got, total)
		}
		// What one sends, one has read.
		for _, c := range convs {
			for _, u := range users[1:3] {
				var read, sent int64
				if err := f.d.QueryRowContext(ctx, `SELECT m.read_seq, COALESCE((SELECT MAX(seq) FROM messages
					WHERE conversation_id = $1 AND sender_id = $2), 0) FROM members m WHERE m.conversation_id = $1 AND m.user_id = $2`,
					c, u).Scan(&read, &sent); err != nil {
					t.Fatal(err)
				}
				if read < sent {
					t.Fatalf("conversation %s: read cursor %d before the sender's own message %d", c, read, sent)
				}
			}
		}
		// Every message is searchable.
		hits, _, err := f.svc.Search(ctx, users[1], SearchQuery{Text: "word1319", Limit: 10})
		if err != nil || len(hits) != 1 {
			t.Fatalf("search for one message: %d hits, %v", len(hits), err)
		}
	})
}

// run commits reqs as one batch, as the committer would, and waits for
// their outcome.
func (f *fixture) runBatch(reqs ...*sendReq) {
	f.svc.commitBatch(reqs)
	f.svc.toPublisher(reqs)
	for _, r := range reqs {
		<-r.done
	}
}

func newReq(ctx context.Context, user, conv string, in SendInput) *sendReq {
	return &sendReq{ctx: ctx, userID: user, convID: conv, in: in, done: make(chan struct{})}
}

// One batch with messages that fail in every way a message can: each
// fails alone, and the others are stored, numbered without gaps and
// announced.
func TestBadMessagesInABatchFailAlone(t *testing.T) {
	attachEach(t, func(t *testing.T, w *attachWorld) {
		ctx := context.Background()
		f := w.fixture
		fileA := w.upload(w.ana, w.conv, "a.txt", []byte("first"))
		fileOther := w.upload(w.ana, w.other, "b.txt", []byte("elsewhere"))
		// A message the database itself fails on, which rolls the whole
		// transaction back on PostgreSQL.
		f.svc.storeHook = func(ctx context.Context, q db.Querier, r *sendReq) error {
			if r.in.ClientID == "db-fails" {
				_, err := q.ExecContext(ctx, `SELECT no_such_column FROM messages`)
				return err
			}
			return nil
		}
		canceled, cancel := context.WithCancel(ctx)
		cancel()
		good1 := newReq(ctx, w.ana, w.conv, SendInput{ClientID: "good-1", Body: "one"})
		outsider := newReq(ctx, w.cy, w.conv, SendInput{ClientID: "x", Body: "let me in"})
		badReply := newReq(ctx, w.ana, w.conv, SendInput{ClientID: "bad-reply", Body: "re", ReplyTo: "nope"})
		badMention := newReq(ctx, w.bo, w.conv, SendInput{ClientID: "bad-mention", Body: "hey", Mentions: []string{w.cy}})
		withFile := newReq(ctx, w.ana, w.conv, SendInput{ClientID: "file", Body: "see", Attachments: []string{fileA.ID}})
		sameFile := newReq(ctx, w.ana, w.conv, SendInput{ClientID: "same-file", Body: "again", Attachments: []string{fileA.ID}})
		wrongConvFile := newReq(ctx, w.ana, w.conv, SendInput{ClientID: "wrong-file", Body: "x", Attachments: []string{fileOther.ID}})
		dbFails := newReq(ctx, w.bo, w.conv, SendInput{ClientID: "db-fails", Body: "boom"})
		gone := newReq(canceled, w.bo, w.conv, SendInput{ClientID: "gone", Body: "nobody waits"})
		retry := newReq(ctx, w.ana, w.conv, SendInput{ClientID: "good-1", Body: "one, again"})
		good2 := newReq(ctx, w.bo, w.conv, SendInput{ClientID: "good-2", Body: "two"})
		otherConv := newReq(ctx, w.cy, w.other, SendInput{ClientID: "good-3", Body: "three"})
		retryFile := newReq(ctx, w.ana, w.conv, SendInput{ClientID: "file", Body: "see", Attachments: []string{fileA.ID}})
		f.runBatch(good1, outsider, badReply, badMention, withFile, sameFile, wrongConvFile, dbFails, gone, retry, good2, otherConv, retryFile)

		for _, r := range []*sendReq{outsider} {
			if _, _, err := f.svc.outcome(ctx, r); !errors.Is(err, ErrNotFound) {
				t.Errorf("%s: %v, want ErrNotFound", r.in.ClientID, err)
			}
		}
		for _, tc := range []struct {
			r     *sendReq
			field string
		}{{badReply, "reply_to"}, {badMention, "mentions"}, {sameFile, "attachments"}, {wrongConvFile, "attachments"}} {
			_, _, err := f.svc.outcome(ctx, tc.r)
			wantProblem(t, err, 422, tc.field)
		}
		if _, _, err := f.svc.outcome(ctx, dbFails); err == nil || ownFault(err) {
			t.Errorf("db-fails: %v, want the database's error", err)
		}
		if _, _, err := f.svc.outcome(ctx, gone); !errors.Is(err, context.Canceled) {
			t.Errorf("canceled: %v", err)
		}
		stored := map[string]Message{}
		for _, r := range []*sendReq{good1, withFile, good2, otherConv} {
			m, created, err := f.svc.outcome(ctx, r)
			if err != nil || !created {
				t.Fatalf("%s: created=%v err=%v", r.in.ClientID, created, err)
			}
			stored[r.in.ClientID] = m
		}
		for _, tc := range []struct {
			r     *sendReq
			first string
		}{{retry, "good-1"}, {retryFile, "file"}} {
			m, created, err := f.svc.outcome(ctx, tc.r)
			if err != nil || created || m.ID != stored[tc.first].ID || m.Body != stored[tc.first].Body {
				t.Errorf("retry of %s: %+v created=%v err=%v; want the first message", tc.first, m, created, err)
			}
		}
		if got := stored["file"].Attachments; len(got) != 1 || got[0].ID != fileA.ID {
			t.Errorf("attachments = %+v", got)
		}
		if w.messageOf(fileA.ID) != stored["file"].ID || w.messageOf(fileOther.ID) != "" {
			t.Errorf("files claimed by %q and %q", w.messageOf(fileA.ID), w.messageOf(fileOther.ID))
		}
		if n := f.checkLog(t, w.conv); n != 3 {
			t.Errorf("%d messages in the group, want 3", n)
		}
		if n := f.checkLog(t, w.other); n != 1 {
			t.Errorf("%d messages in the direct conversation, want 1", n)
		}
		if n := f.announcedOnce(t); n != 4 {
			t.Errorf("%d messages announced, want 4", n)
		}
		if n := dbtest.Count(t, f.d, "messages"); n != 4 {
			t.Errorf("%d messages stored, want 4", n)
		}
		// Their sequence follows the order they came in.
		if !(stored["good-1"].Seq < stored["file"].Seq && stored["file"].Seq < stored["good-2"].Seq) {
			t.Errorf("seqs %d, %d, %d out of order", stored["good-1"].Seq, stored["file"].Seq, stored["good-2"].Seq)
		}
		// And the next send carries on from there.
		next := f.send(w.bo, w.conv, "after", "after the batch")
		if next.Seq != stored["good-2"].Seq+1 {
			t.Errorf("next seq %d after %d", next.Seq, stored["good-2"].Seq)
		}
		ids := []string{}
		for _, m := range stored {
			ids = append(ids, m.ID)
		}
		slices.Sort(ids)
		if len(slices.Compact(ids)) != 4 {
			t.Errorf("ids %v", ids)
		}
	})
}

// A batch of plain messages over several conversations, as PostgreSQL
// stores it in a few array statements: retries of one client id inside the
// batch and of a message stored before it are answered with the first
// message, a non-member and an unknown conversation fail alone, and every
// conversation's log stays gap-free.
func TestPlainBatchAcrossConversations(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		ana, bo, cy := f.user("Ana"), f.user("Bo"), f.user("Cy")
		g1, err := f.svc.CreateGroup(ctx, ana, "One", []string{bo})
		if err != nil {
			t.Fatal(err)
		}
		g2, err := f.svc.CreateGroup(ctx, ana, "Two", []string{cy})
		if err != nil {
			t.Fatal(err)
		}
		direct, _, err := f.svc.OpenDirect(ctx, bo, cy)
		if err != nil {
			t.Fatal(err)
		}
		earlier := f.send(ana, g1.ID, "early", "before the batch")

		a1 := newReq(ctx, ana, g1.ID, SendInput{ClientID: "a1", Body: "first"})
		outsider := newReq(ctx, bo, g2.ID, SendInput{ClientID: "b1", Body: "not my group"})
		c1 := newReq(ctx, cy, g2.ID, SendInput{ClientID: "c1", Body: "hello two"})
		a1Again := newReq(ctx, ana, g1.ID, SendInput{ClientID: "a1", Body: "first, retried"})
		earlyAgain := newReq(ctx, ana, g1.ID, SendInput{ClientID: "early", Body: "before, retried"})
		unknown := newReq(ctx, ana, "no-such-conversation", SendInput{ClientID: "u1", Body: "anyone?"})
		a2 := newReq(ctx, ana, g2.ID, SendInput{ClientID: "a2", Body: "hello from ana"})
		d1 := newReq(ctx, bo, direct.ID, SendInput{ClientID: "d1", Body: "psst"})
		bo1 := newReq(ctx, bo, g1.ID, SendInput{ClientID: "a1", Body: "same client id, other sender"})
		a1Third := newReq(ctx, ana, g1.ID, SendInput{ClientID: "a1", Body: "first, third try"})
		f.runBatch(a1, outsider, c1, a1Again, earlyAgain, unknown, a2, d1, bo1, a1Third)

		for _, r := range []*sendReq{outsider, unknown} {
			if _, _, err := f.svc.outcome(ctx, r); !errors.Is(err, ErrNotFound) {
				t.Errorf("%s: %v, want ErrNotFound", r.in.ClientID, err)
			}
		}
		stored := map[*sendReq]Message{}
		for _, r := range []*sendReq{a1, c1, a2, d1, bo1} {
			m, created, err := f.svc.outcome(ctx, r)
			if err != nil || !created || m.Body != r.in.Body {
				t.Fatalf("%s in %s: %+v created=%v err=%v", r.in.ClientID, r.convID, m, created, err)
			}
			stored[r] = m
		}
		for _, tc := range []struct {
			r     *sendReq
			first Message
		}{{a1Again, stored[a1]}, {a1Third, stored[a1]}, {earlyAgain, earlier}} {
			m, created, err := f.svc.outcome(ctx, tc.r)
			if err != nil || created || m.ID != tc.first.ID || m.Seq != tc.first.Seq || m.Body != tc.first.Body {
				t.Errorf("retry %q: %+v created=%v err=%v; want %+v", tc.r.in.Body, m, created, err, tc.first)
			}
		}
		// In each conversation, in the order they came.
		if !(earlier.Seq < stored[a1].Seq && stored[a1].Seq < stored[bo1].Seq) || stored[c1].Seq >= stored[a2].Seq {
			t.Errorf("seqs out of order: early %d, a1 %d, bo %d; c1 %d, a2 %d",
				earlier.Seq, stored[a1].Seq, stored[bo1].Seq, stored[c1].Seq, stored[a2].Seq)
		}
		for conv, want := range map[string]int{g1.ID: 3, g2.ID: 2, direct.ID: 1} {
			if n := f.checkLog(t, conv); n != want {
				t.Errorf("conversation %s: %d messages, want %d", conv, n, want)
			}
		}
		if n := f.announcedOnce(t); n != 6 {
			t.Errorf("%d messages announced, want 6", n)
		}
		// What one sends, one has read; the conversation's activity moved.
		var read int64
		if err := f.d.QueryRowContext(ctx, `SELECT read_seq FROM members WHERE conversation_id = $1 AND user_id = $2`,
			g2.ID, ana).Scan(&read); err != nil || read != stored[a2].Seq {
			t.Errorf("ana's read cursor in Two: %d (%v), want %d", read, err, stored[a2].Seq)
		}
		got, err := f.svc.Get(ctx, cy, direct.ID)
		if err != nil || !got.LastActivityAt.Equal(stored[d1].CreatedAt) || got.LastSeq != stored[d1].Seq {
			t.Errorf("direct conversation after the batch: %+v, %v", got, err)
		}
		hits, _, err := f.svc.Search(ctx, cy, SearchQuery{Text: "psst", Limit: 10})
		if err != nil || len(hits) != 1 {
			t.Errorf("search: %d hits, %v", len(hits), err)
		}
	})
}

// When the database fails a batch, nothing of it is kept: every message is
// tried again alone, the failing one fails by itself, retries inside the
// batch still store their message once, and no sequence number is lost.
func TestFailedBatchIsRolledBackAndTriedOneByOne(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		ana, bo := f.user("Ana"), f.user("Bo")
		g1, err := f.svc.CreateGroup(ctx, ana, "One", []string{bo})
		if err != nil {
			t.Fatal(err)
		}
		g2, err := f.svc.CreateGroup(ctx, bo, "Two", []string{ana})
		if err != nil {
			t.Fatal(err)
		}
		tries := map[string]int{}
		f.svc.storeHook = func(ctx context.Context, q db.Querier, r *sendReq) error {
			tries[r.in.Body]++
			if r.in.ClientID == "db-fails" {
				_, err := q.ExecContext(ctx, `SELECT no_such_column FROM messages`)
				return err
			}
			return nil
		}
		m1 := newReq(ctx, ana, g1.ID, SendInput{ClientID: "m1", Body: "one"})
		m1Again := newReq(ctx, ana, g1.ID, SendInput{ClientID: "m1", Body: "one again"})
		bad := newReq(ctx, bo, g1.ID, SendInput{ClientID: "db-fails", Body: "boom"})
		m2 := newReq(ctx, bo, g2.ID, SendInput{ClientID: "m2", Body: "two"})
		m3 := newReq(ctx, ana, g1.ID, SendInput{ClientID: "m3", Body: "three"})
		f.runBatch(m1, m1Again, bad, m2, m3)

		// One (created first, so first in the batch's order) was stored
		// before the failure, then rolled back with the batch and stored
		// again alone.
		if tries["one"] < 2 {
			t.Errorf("m1 tried %d times; the batch should have been rolled back and retried alone", tries["one"])
		}
		if _, _, err := f.svc.outcome(ctx, bad); err == nil || ownFault(err) {
			t.Errorf("db-fails: %v, want the database's error", err)
		}
		first, created, err := f.svc.outcome(ctx, m1)
		if err != nil || !created {
			t.Fatalf("m1: created=%v err=%v", created, err)
		}
		if m, created, err := f.svc.outcome(ctx, m1Again); err != nil || created || m.ID != first.ID {
			t.Errorf("m1's retry: %+v created=%v err=%v", m, created, err)
		}
		for _, r := range []*sendReq{m2, m3} {
			if _, created, err := f.svc.outcome(ctx, r); err != nil || !created {
				t.Errorf("%s: created=%v err=%v", r.in.ClientID, created, err)
			}
		}
		if n := f.checkLog(t, g1.ID); n != 2 {
			t.Errorf("%d messages in One, want 2", n)
		}
		if n := f.checkLog(t, g2.ID); n != 1 {
			t.Errorf("%d messages in Two, want 1", n)
		}
		if n := f.announcedOnce(t); n != 3 {
			t.Errorf("%d messages announced, want 3", n)
		}
	})
}
