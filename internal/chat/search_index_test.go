package chat

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/db/dbtest"
)

// SQLite indexes new messages for search after their commit (search.go).
// Edits and deletes of messages both below and above the watermark must
// leave the index exactly what the messages hold.
func TestSearchIndexFollowsEditsAndDeletesBeforeAndAfterIndexing(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t, dbtest.SQLiteDSN(t), auth.Migrations, Migrations)
	f := &fixture{t: t, d: d, rec: &recorder{}}
	f.svc = NewService(d, f.rec, nil, func(err error) { t.Errorf("chat: %v", err) })
	f.auth = auth.NewService(d, auth.Config{Argon2: auth.Argon2Params{Memory: 64, Time: 1, Threads: 1}})
	// No background run: this test decides what is indexed when.
	hold := func(held bool) {
		f.svc.fts.mu.Lock()
		f.svc.fts.scheduled = held
		f.svc.fts.mu.Unlock()
	}
	hold(true)

	ana, bo := f.user("Ana"), f.user("Bo")
	g, err := f.svc.CreateGroup(ctx, ana, "band", []string{bo})
	if err != nil {
		t.Fatal(err)
	}
	pending := func() int {
		t.Helper()
		var n int
		if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM messages
			WHERE rowid > (SELECT upto FROM messages_fts_indexed)`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	integrity := func() {
		t.Helper()
		if pending() != 0 {
			t.Fatal("integrity check with messages still to index")
		}
		// rank 1: also compare the index with the messages table.
		if _, err := d.ExecContext(ctx, `INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)`); err != nil {
			t.Fatalf("integrity-check: %v", err)
		}
	}
	index := func() {
		t.Helper()
		if err := f.svc.indexPending(ctx); err != nil {
			t.Fatal(err)
		}
		integrity()
	}
	search := func(text string, want ...Message) {
		t.Helper()
		hits, _, err := f.svc.Search(ctx, bo, SearchQuery{Text: text, Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		var got, ids []string
		for _, h := range hits {
			got = append(got, h.ID)
		}
		for _, m := range want {
			ids = append(ids, m.ID)
		}
		slices.Sort(got)
		slices.Sort(ids)
		if !slices.Equal(got, ids) {
			t.Fatalf("search %q: got %v, want %v", text, got, ids)
		}
	}
	hardDelete := func(m Message) {
		t.Helper()
		if _, err := d.ExecContext(ctx, `DELETE FROM messages WHERE id = $1`, m.ID); err != nil {
			t.Fatal(err)
		}
	}

	apple := f.send(ana, g.ID, "1", "alpha apple")
	banana := f.send(ana, g.ID, "2", "alpha banana")
	cherry := f.send(ana, g.ID, "3", "alpha cherry")
	index()

	// Sent, not indexed yet: the commit path left them to the indexer.
	date := f.send(ana, g.ID, "4", "alpha date")
	elder := f.send(ana, g.ID, "5", "alpha elder")
	fig := f.send(ana, g.ID, "6", "alpha fig")
	if n := pending(); n != 3 {
		t.Fatalf("%d messages to index, want 3", n)
	}

	// Edits and deletes on both sides of the watermark.
	if _, err := f.svc.Edit(ctx, ana, g.ID, apple.ID, "omega apple"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Edit(ctx, ana, g.ID, date.ID, "omega date"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Delete(ctx, ana, g.ID, banana.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Delete(ctx, ana, g.ID, elder.ID); err != nil {
		t.Fatal(err)
	}
	hardDelete(cherry) // indexed
	hardDelete(fig)    // not indexed, and the newest row

	// A search indexes what is pending first.
	search("alpha")
	search("omega", apple, date)
	search("apple", apple)
	search("date", date)
	search("banana")
	search("elder")
	search("cherry")
	search("fig")
	integrity()

	// The newest rows, indexed, go: the next message takes a rowid they
	// had, and must still be indexed.
	grape := f.send(ana, g.ID, "7", "alpha grape")
	index()
	hardDelete(grape)
	hardDelete(date)
	integrity()
	honey := f.send(ana, g.ID, "8", "alpha honey")
	if n := pending(); n != 1 {
		t.Fatalf("%d messages to index after the top rows went, want 1", n)
	}
	search("alpha", honey)
	search("omega", apple)
	integrity()

	// The background indexer catches up by itself.
	hold(false)
	f.send(ana, g.ID, "9", "alpha ivy")
	waitFor(t, func() bool { return pending() == 0 })
	integrity()
	search("ivy", mustByClient(t, f, g.ID, ana, "9"))
}

func mustByClient(t *testing.T, f *fixture, conv, user, clientID string) Message {
	t.Helper()
	m, err := f.svc.byClientID(context.Background(), conv, user, clientID)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// waitFor polls cond until it holds, failing after ten seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		<-tick.C
	}
}
