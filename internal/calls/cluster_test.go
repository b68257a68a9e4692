package calls_test

import (
	"context"
	"testing"

	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/bus/bustest"
	"github.com/parley-chat/parley/internal/db/dbtest"
	"github.com/parley-chat/parley/internal/sfu"
)

// A call started through node A has its media on A; Bo's device holds its
// WebSocket on node B. Its signaling is relayed between the nodes, and
// media flows both ways.
func TestACallWhoseMembersSitOnTwoNodes(t *testing.T) {
	dsn, nats := dbtest.PostgresDSN(t), bustest.NATSURL(t)
	node := func(name string) func(*app.Config) {
		return func(c *app.Config) {
			c.DB, c.NATS, c.Node = dsn, nats, name+"-"+t.Name()
		}
	}
	urlA, urlB := startServer(t, node("a")), startServer(t, node("b"))
	ctx := context.Background()
	ana := newDevice(t, urlA, "Ana")
	bo := newDevice(t, urlB, "Bo")
	conv, err := ana.c.OpenDirect(ctx, bo.user.ID)
	if err != nil {
		t.Fatal(err)
	}
	call, err := ana.c.StartCall(ctx, conv.ID, "video")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "bo's device on node b to ring", func() bool { return bo.sawEvent("call.started") != nil })
	ana.callID, bo.callID = call.ID, call.ID
	for _, d := range []*device{ana, bo} {
		if _, err := d.rtc("connect", nil); err != nil {
			t.Fatalf("%s connect: %v", d.user.Name, err)
		}
	}
	if err := bo.publish(sfu.Microphone, sfu.Camera); err != nil {
		t.Fatalf("bo publishing through node b: %v", err)
	}
	if err := ana.publish(sfu.Microphone, sfu.Camera); err != nil {
		t.Fatal(err)
	}
	eventually(t, "ana (node a) to receive bo's media", func() bool { return ana.count(":camera") > 20 })
	eventually(t, "bo (node b) to receive ana's media", func() bool { return bo.count(":camera") > 20 })

	// Bo's WebSocket on node b closes: node a takes his device out.
	bo.stream.Close()
	eventually(t, "the call to go on with ana alone", func() bool {
		c, err := ana.c.CallAction(ctx, call.ID, "join")
		if err != nil {
			return false
		}
		for _, m := range c.Members {
			if m.UserID == bo.user.ID {
				return m.State == "left"
			}
		}
		return false
	})
}
