package realtime_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/bus/bustest"
	"github.com/parley-chat/parley/internal/db/dbtest"
	"github.com/parley-chat/parley/internal/realtime"
)

// cluster starts two nodes sharing one PostgreSQL database and NATS.
func cluster(t *testing.T) (a, b *node) {
	dsn := dbtest.PostgresDSN(t)
	nats := bustest.NATSURL(t)
	opts := func(name string) func(*app.Config) {
		return func(c *app.Config) {
			c.NATS = nats
			c.Node = fmt.Sprintf("%s-%d", name, accountSeq.Add(1))
			c.Realtime = realtime.Config{PresenceInterval: 200 * time.Millisecond}
		}
	}
	return startNode(t, dsn, opts("a")), startNode(t, dsn, opts("b"))
}

func TestClusterDeliversAcrossNodes(t *testing.T) {
	a, b := cluster(t)
	ctx := context.Background()
	ana := a.person("Ana")
	bo := a.person("Bo")
	boOnB := bo.on(t, b)
	conv, err := ana.OpenDirect(ctx, bo.user.ID)
	if err != nil {
		t.Fatal(err)
	}
	_, boBox := boOnB.stream(t, nil)
	anaStream, _ := ana.stream(t, nil)
	for i := range 20 {
		if _, err := anaStream.Send(ctx, conv.ID, fmt.Sprint(i), fmt.Sprint("from node a ", i)); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "bo on node b to receive node a's messages", func() bool { return len(boBox.messages(conv.ID)) == 20 })
	for i, ev := range boBox.messages(conv.ID) {
		if ev.Message.Body != fmt.Sprint("from node a ", i) {
			t.Fatalf("message %d on node b: %q", i, ev.Message.Body)
		}
	}
}

func TestClusterPresenceAndNodeDeath(t *testing.T) {
	a, b := cluster(t)
	ctx := context.Background()
	ana, bo := a.person("Ana"), a.person("Bo")
	if _, err := ana.OpenDirect(ctx, bo.user.ID); err != nil {
		t.Fatal(err)
	}
	boStream, boBox := bo.on(t, b).stream(t, nil)
	if _, err := boStream.Request(ctx, map[string]any{"type": "watch", "user_ids": []string{ana.user.ID}}); err != nil {
		t.Fatal(err)
	}
	last := func() string {
		frames := boBox.framesOf("presence")
		if len(frames) == 0 {
			return ""
		}
		var f struct {
			Presence realtime.Status `json:"presence"`
		}
		_ = json.Unmarshal(frames[len(frames)-1].Raw, &f)
		return f.Presence.Status
	}
	ana.stream(t, nil) // ana connects to node a
	eventually(t, "node b to see ana online", func() bool { return last() == "online" })

	// Node a dies without a word: its bus connection goes first, so no
	// "offline" notice can leave it; then its sockets are cut.
	_ = a.app.Bus.Close()
	a.stop()
	start := time.Now()
	eventually(t, "node b to take ana offline", func() bool { return last() == "offline" })
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("ana went offline %v after her node died; the stated bound is 3 heartbeats", took)
	}
}

func TestClusterClientMovesToAnotherNodeWithoutLoss(t *testing.T) {
	a, b := cluster(t)
	ctx := context.Background()
	ana, bo := a.person("Ana"), a.person("Bo")
	conv, _ := bo.OpenDirect(ctx, ana.user.ID)
	onA, box := ana.on(t, a).stream(t, nil)
	if _, err := bo.Send(ctx, conv.ID, "1", "before"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the first message", func() bool { return len(box.messages(conv.ID)) == 1 })
	cursor := onA.Cursor(conv.ID)

	_ = a.app.Bus.Close()
	a.stop()
	boOnB := bo.on(t, b)
	for i := range 10 {
		if _, err := boOnB.Send(ctx, conv.ID, fmt.Sprint("b", i), fmt.Sprint("while moving ", i)); err != nil {
			t.Fatal(err)
		}
	}
	_, moved := ana.on(t, b).stream(t, map[string]int64{conv.ID: cursor})
	eventually(t, "the messages sent while moving", func() bool { return len(moved.messages(conv.ID)) == 10 })
	for i, ev := range moved.messages(conv.ID) {
		if ev.Message.Body != fmt.Sprint("while moving ", i) {
			t.Fatalf("after moving, message %d = %q", i, ev.Message.Body)
		}
	}
}
