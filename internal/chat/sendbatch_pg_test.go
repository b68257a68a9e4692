package chat

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/db"
)

// On PostgreSQL the batch locks its conversations and reads memberships in
// one statement, whose snapshot predates whatever committed while it
// waited for the lock. Here a member is removed by a transaction that
// holds the conversation's lock while the batch waits for it: the batch
// read a stale "member", its insert stores fewer messages than it
// numbered, and it is rolled back and stored message by message, so the
// removed member's message fails alone and no number is lost.
func TestBatchWaitingOnALockRereadsMembership(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		if f.d.Dialect != db.Postgres {
			t.Skip("SQLite has one writer: a batch never waits for a lock held by another transaction")
		}
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
			tries[r.in.ClientID]++ // the committer's goroutine only
			return nil
		}
		fromAna := newReq(ctx, ana, g1.ID, SendInput{ClientID: "ana-1", Body: "still here"})
		fromBo := newReq(ctx, bo, g1.ID, SendInput{ClientID: "bo-1", Body: "on my way out"})
		elsewhere := newReq(ctx, bo, g2.ID, SendInput{ClientID: "bo-2", Body: "in my own group"})

		done := make(chan struct{})
		err = f.d.Tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `SELECT 1 FROM conversations WHERE id = $1 FOR UPDATE`, g1.ID); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM members WHERE conversation_id = $1 AND user_id = $2`, g1.ID, bo); err != nil {
				return err
			}
			go func() {
				defer close(done)
				f.runBatch(fromAna, fromBo, elsewhere)
			}()
			// Commit only once the batch is waiting for the lock.
			for deadline := time.Now().Add(20 * time.Second); ; {
				var waiting int
				if err := f.d.QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database()
					AND wait_event_type = 'Lock' AND query LIKE '%locked AS MATERIALIZED%'`).Scan(&waiting); err != nil {
					return err
				}
				if waiting > 0 {
					return nil
				}
				if time.Now().After(deadline) {
					return errors.New("the batch never waited for the conversation's lock")
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		<-done

		if tries["ana-1"] < 2 {
			t.Errorf("ana's message tried %d times: the batch should have been retried message by message", tries["ana-1"])
		}
		if _, _, err := f.svc.outcome(ctx, fromBo); !errors.Is(err, ErrNotFound) {
			t.Errorf("the removed member's message: %v, want ErrNotFound", err)
		}
		for _, r := range []*sendReq{fromAna, elsewhere} {
			if m, created, err := f.svc.outcome(ctx, r); err != nil || !created || m.Body != r.in.Body {
				t.Errorf("%s: %+v created=%v err=%v", r.in.ClientID, m, created, err)
			}
		}
		if n := f.checkLog(t, g1.ID); n != 1 {
			t.Errorf("%d messages in One, want 1", n)
		}
		if n := f.checkLog(t, g2.ID); n != 1 {
			t.Errorf("%d messages in Two, want 1", n)
		}
		if n := f.announcedOnce(t); n != 2 {
			t.Errorf("%d messages announced, want 2", n)
		}
	})
}
