package chat

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/db/dbtest"
)

// BenchmarkStoreBatch stores batches of plain messages the way the
// committer does, one message per conversation of ten members, and
// reports the time per batch and per message: the committer's share of a
// send, without the network.
func BenchmarkStoreBatch(b *testing.B) {
	for _, size := range []int{1, 5, 25} {
		b.Run(fmt.Sprintf("sqlite/batch=%d", size), func(b *testing.B) { benchStoreBatch(b, dbtest.SQLiteDSN(b), size) })
		b.Run(fmt.Sprintf("postgres/batch=%d", size), func(b *testing.B) { benchStoreBatch(b, dbtest.PostgresDSN(b), size) })
	}
}

func benchStoreBatch(b *testing.B, dsn string, size int) {
	ctx := context.Background()
	d := dbtest.Open(b, dsn, auth.Migrations, Migrations)
	svc := NewService(d, nil, time.Now, nil)
	as := auth.NewService(d, auth.Config{Argon2: auth.Argon2Params{Memory: 64, Time: 1, Threads: 1}})
	const groups = 50
	type group struct {
		id      string
		members []string
	}
	gs := make([]group, groups)
	for gi := range gs {
		for m := range 10 {
			u, err := as.CreateUser(ctx, fmt.Sprintf("u%d-%d@example.com", gi, m), "U", "correct horse battery", auth.RoleMember)
			if err != nil {
				b.Fatal(err)
			}
			gs[gi].members = append(gs[gi].members, u.ID)
		}
		c, err := svc.CreateGroup(ctx, gs[gi].members[0], "g"+strconv.Itoa(gi), gs[gi].members[1:])
		if err != nil {
			b.Fatal(err)
		}
		gs[gi].id = c.ID
	}
	n := 0
	b.ResetTimer()
	for b.Loop() {
		batch := make([]*sendReq, size)
		for i := range batch {
			g := gs[(n+i)%groups]
			batch[i] = newReq(ctx, g.members[n%10], g.id, SendInput{ClientID: "c" + strconv.Itoa(n) + "-" + strconv.Itoa(i), Body: "a message of about the size people send, with a few words in it"})
		}
		n += size
		svc.commitBatch(batch)
		for _, r := range batch {
			if r.err != nil || r.msg.Seq == 0 {
				b.Fatalf("not stored: %v", r.err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(n), "µs/msg")
}
