package realtime_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/db/dbtest"
	"github.com/parley-chat/parley/internal/realtime"
)

func TestMessagesReachEveryDeviceInOrder(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, dsn string) {
		n := startNode(t, dsn)
		ctx := context.Background()
		ana, bo := n.person("Ana"), n.person("Bo")
		conv, err := bo.OpenDirect(ctx, ana.user.ID)
		if err != nil {
			t.Fatal(err)
		}
		_, phone := ana.stream(t, nil)
		_, laptop := ana.stream(t, nil)
		boStream, boInbox := bo.stream(t, nil)

		const count = 50
		for i := range count {
			m, err := boStream.Send(ctx, conv.ID, fmt.Sprint("m", i), fmt.Sprint("message ", i))
			if err != nil {
				t.Fatal(err)
			}
			if m.Seq != int64(i+2) { // seq 1 is the conversation's creation
				t.Fatalf("ack %d has seq %d", i, m.Seq)
			}
		}
		for name, box := range map[string]*inbox{"ana's phone": phone, "ana's laptop": laptop, "bo's own stream": boInbox} {
			eventually(t, name+" to receive every message", func() bool { return len(box.messages(conv.ID)) == count })
			for i, ev := range box.messages(conv.ID) {
				if ev.Message.Body != fmt.Sprint("message ", i) || ev.Seq != int64(i+2) {
					t.Fatalf("%s: event %d = seq %d %q: out of order", name, i, ev.Seq, ev.Message.Body)
				}
			}
		}
	})
}

func TestRetriedSendOverWebSocketStoresOnce(t *testing.T) {
	n := startNode(t, dbtest.SQLiteDSN(t))
	ctx := context.Background()
	ana, bo := n.person("Ana"), n.person("Bo")
	conv, _ := ana.OpenDirect(ctx, bo.user.ID)
	s, box := ana.stream(t, nil)
	first, err := s.Send(ctx, conv.ID, "same-id", "hello")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := s.Request(ctx, map[string]any{"type": "send", "conversation_id": conv.ID, "client_id": "same-id", "body": "hello again"})
	if err != nil {
		t.Fatal(err)
	}
	var ack struct {
		Created bool           `json:"created"`
		Message client.Message `json:"message"`
	}
	_ = json.Unmarshal(raw, &ack)
	if ack.Created || ack.Message.ID != first.ID || ack.Message.Body != "hello" {
		t.Fatalf("retry ack = %+v, want the first message, not created", ack)
	}
	// A marker after the retry: once it arrives, the retry's event (if any)
	// would have arrived before it.
	if _, err := s.Send(ctx, conv.ID, "marker", "marker"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the marker", func() bool { return len(box.messages(conv.ID)) >= 2 })
	if got := box.messages(conv.ID); len(got) != 2 {
		t.Fatalf("%d message events, want 2 (the retry must not announce again)", len(got))
	}
}

func TestAStreamResumesFromItsCursorsWithoutLossOrRepeats(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, dsn string) {
		n := startNode(t, dsn)
		ctx := context.Background()
		ana, bo := n.person("Ana"), n.person("Bo")
		conv, _ := bo.OpenDirect(ctx, ana.user.ID)
		s, box := ana.stream(t, nil)
		for i := range 3 {
			if _, err := bo.Send(ctx, conv.ID, fmt.Sprint("a", i), "before"); err != nil {
				t.Fatal(err)
			}
		}
		eventually(t, "the first messages", func() bool { return len(box.messages(conv.ID)) == 3 })
		cursor := s.Cursor(conv.ID)
		s.Close() // the device goes offline

		var sent []string
		for i := range 20 {
			body := fmt.Sprint("while away ", i)
			if _, err := bo.Send(ctx, conv.ID, fmt.Sprint("b", i), body); err != nil {
				t.Fatal(err)
			}
			sent = append(sent, body)
		}
		_, back := ana.stream(t, map[string]int64{conv.ID: cursor})
		eventually(t, "the missed messages", func() bool { return len(back.messages(conv.ID)) == 20 })
		got := back.messages(conv.ID)
		for i, body := range sent {
			if got[i].Message.Body != body {
				t.Fatalf("resumed event %d = %q, want %q", i, got[i].Message.Body, body)
			}
		}
		if got[0].Seq != cursor+1 {
			t.Fatalf("resume started at seq %d, want %d", got[0].Seq, cursor+1)
		}
	})
}

func TestASlowReaderIsCutOffWithoutSlowingOthersAndLosesNothing(t *testing.T) {
	n := startNode(t, dbtest.SQLiteDSN(t), func(c *app.Config) {
		c.Realtime = realtime.Config{QueueFrames: 16, QueueBytes: 256 << 10, WriteTimeout: 2 * time.Second, FrameRate: 10000, FrameBurst: 1000}
	})
	ctx := context.Background()
	ana, bo := n.person("Ana"), n.person("Bo")
	conv, _ := bo.OpenDirect(ctx, ana.user.ID)
	stuck := ana.raw(t, n) // never reads while the messages flow
	_, healthy := ana.stream(t, nil)
	boStream, _ := bo.stream(t, nil)

	const count = 400
	body := strings.Repeat("x", 16<<10-64)
	for i := range count {
		if _, err := boStream.Send(ctx, conv.ID, fmt.Sprint("m", i), fmt.Sprint(i, body)); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "the healthy device to receive everything", func() bool { return len(healthy.messages(conv.ID)) == count })
	if code := stuck.closeCode(); code != realtime.CloseSlowConsumer && code != websocket.CloseAbnormalClosure {
		t.Fatalf("stuck connection closed with %d, want %d (or cut: 1006)", code, realtime.CloseSlowConsumer)
	}
	// The cut device resumes from the start of the conversation and gets it all.
	_, resumed := ana.stream(t, map[string]int64{conv.ID: 1})
	eventually(t, "the cut device to catch up", func() bool { return len(resumed.messages(conv.ID)) == count })
}

func TestOutsidersGetNothing(t *testing.T) {
	n := startNode(t, dbtest.SQLiteDSN(t))
	ctx := context.Background()
	ana, bo, eve := n.person("Ana"), n.person("Bo"), n.person("Eve")
	conv, _ := ana.OpenDirect(ctx, bo.user.ID)
	eveStream, eveBox := eve.stream(t, nil)
	_, err := eveStream.Send(ctx, conv.ID, "sneak", "let me in")
	var fe *client.FrameError
	if !errors.As(err, &fe) || fe.Code != "not-found" {
		t.Fatalf("outsider send: %v, want a not-found error frame", err)
	}
	if _, err := eveStream.Request(ctx, map[string]any{"type": "read", "conversation_id": conv.ID, "seq": 1}); !errors.As(err, &fe) || fe.Code != "not-found" {
		t.Fatalf("outsider read: %v", err)
	}
	if err := eveStream.Typing(conv.ID); err != nil {
		t.Fatal(err)
	}
	// Eve's own conversation proves her stream is live and ordered after
	// the attempts above.
	own, _ := eve.OpenDirect(ctx, ana.user.ID)
	if _, err := ana.Send(ctx, conv.ID, "private", "for Bo only"); err != nil {
		t.Fatal(err)
	}
	if _, err := eveStream.Send(ctx, own.ID, "mine", "hello Ana"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "eve's own message", func() bool { return len(eveBox.messages(own.ID)) == 1 })
	if got := eveBox.messages(conv.ID); len(got) != 0 {
		t.Fatalf("an outsider received %d events of a conversation she is not in", len(got))
	}
	if got := eveBox.framesOf("typing"); len(got) != 0 {
		t.Fatalf("typing leaked: %v", got)
	}
}

func TestBadFramesGetErrorsAndPersistentGarbageCloses(t *testing.T) {
	n := startNode(t, dbtest.SQLiteDSN(t))
	ana := n.person("Ana")
	r := ana.raw(t, n)
	for _, tc := range []struct{ frame, code string }{
		{`not json`, "bad-frame"},
		{`{"v":1,"type":"send"}`, "bad-frame"},
		{`{"v":1,"type":"teleport","id":"x"}`, "unknown-type"},
		{`{"v":2,"type":"ping","id":"y"}`, "unsupported-version"},
		{`{"v":1,"type":"ping","id":"z","extra":true}`, "bad-frame"},
	} {
		r.sendText(tc.frame)
		f := r.next()
		if f["type"] != "error" || f["code"] != tc.code {
			t.Fatalf("frame %s → %v, want error %s", tc.frame, f, tc.code)
		}
	}
	r.sendText(`{"v":1,"type":"ping","id":"alive"}`)
	if f := r.next(); f["type"] != "pong" || f["id"] != "alive" {
		t.Fatalf("ping → %v", f)
	}
	for range 10 {
		// The server may hang up before the last of these: that is the point.
		_ = r.ws.WriteMessage(websocket.TextMessage, []byte(`{{{`))
	}
	if code := r.closeCode(); code != realtime.CloseBadFrames {
		t.Fatalf("close code %d, want %d", code, realtime.CloseBadFrames)
	}
}

func TestAFloodIsThrottledThenClosed(t *testing.T) {
	n := startNode(t, dbtest.SQLiteDSN(t), func(c *app.Config) {
		c.Realtime = realtime.Config{FrameRate: 1, FrameBurst: 5, MaxThrottled: 10}
	})
	r := n.person("Ana").raw(t, n)
	for i := range 30 {
		// The server may hang up before the last of these (after
		// MaxThrottled), and a write then fails: that is the point.
		if err := r.ws.WriteMessage(websocket.TextMessage, fmt.Appendf(nil, `{"v":1,"type":"ping","id":"p%d"}`, i)); err != nil {
			break
		}
	}
	var pongs, limited int
	for {
		f, err := r.read()
		if err != nil {
			break
		}
		switch {
		case f["type"] == "pong":
			pongs++
		case f["code"] == "rate-limited":
			limited++
		}
	}
	if pongs > 6 || limited == 0 {
		t.Fatalf("%d pongs and %d rate-limit errors for a flood of 30", pongs, limited)
	}
	if code := r.closeCode(); code != realtime.CloseTooManyFrames && code != -1 {
		t.Fatalf("close code %d", code)
	}
}

func TestTypingAndReadReceiptsReachTheOtherMembers(t *testing.T) {
	n := startNode(t, dbtest.SQLiteDSN(t))
	ctx := context.Background()
	ana, bo := n.person("Ana"), n.person("Bo")
	conv, _ := ana.OpenDirect(ctx, bo.user.ID)
	anaStream, _ := ana.stream(t, nil)
	boStream, boBox := bo.stream(t, nil)
	if err := anaStream.Typing(conv.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "bo to see ana typing", func() bool { return len(boBox.framesOf("typing")) == 1 })
	var typing struct {
		Typing struct {
			UserID         string `json:"user_id"`
			ConversationID string `json:"conversation_id"`
		} `json:"typing"`
	}
	_ = json.Unmarshal(boBox.framesOf("typing")[0].Raw, &typing)
	if typing.Typing.UserID != ana.user.ID || typing.Typing.ConversationID != conv.ID {
		t.Fatalf("typing frame %s", boBox.framesOf("typing")[0].Raw)
	}
	m, err := boStream.Send(ctx, conv.ID, "1", "did you read this?")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := anaStream.Request(ctx, map[string]any{"type": "read", "conversation_id": conv.ID, "seq": m.Seq}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "bo to get ana's receipt", func() bool {
		for _, f := range boBox.framesOf("receipt") {
			var r struct {
				Receipt struct {
					UserID  string `json:"user_id"`
					ReadSeq int64  `json:"read_seq"`
				} `json:"receipt"`
			}
			_ = json.Unmarshal(f.Raw, &r)
			if r.Receipt.UserID == ana.user.ID && r.Receipt.ReadSeq == m.Seq {
				return true
			}
		}
		return false
	})
}

func TestNewConversationsAndRemovalsReachConnectedDevices(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, dsn string) {
		n := startNode(t, dsn)
		ctx := context.Background()
		ana, bo := n.person("Ana"), n.person("Bo")
		_, boBox := bo.stream(t, nil)
		g, err := ana.CreateGroup(ctx, "Team", []string{bo.user.ID})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ana.Send(ctx, g.ID, "1", "welcome"); err != nil {
			t.Fatal(err)
		}
		eventually(t, "bo to hear of the new group", func() bool { return len(boBox.messages(g.ID)) == 1 })

		// Removed: bo hears of it, then nothing more.
		if err := ana.RemoveMember(ctx, g.ID, bo.user.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := ana.Send(ctx, g.ID, "2", "after bo left"); err != nil {
			t.Fatal(err)
		}
		// A marker in a conversation bo is still in orders the check.
		d, _ := ana.OpenDirect(ctx, bo.user.ID)
		if _, err := ana.Send(ctx, d.ID, "m", "marker"); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the marker", func() bool { return len(boBox.messages(d.ID)) == 1 })
		if got := boBox.messages(g.ID); len(got) != 1 {
			t.Fatalf("bo received %d group messages after removal, want only the one before", len(got))
		}
	})
}

func TestPresenceFollowsDevicesAndHidesStrangers(t *testing.T) {
	n := startNode(t, dbtest.SQLiteDSN(t))
	ctx := context.Background()
	ana, bo, stranger := n.person("Ana"), n.person("Bo"), n.person("Stranger")
	if _, err := ana.OpenDirect(ctx, bo.user.ID); err != nil {
		t.Fatal(err)
	}
	boStream, boBox := bo.stream(t, nil)
	raw, err := boStream.Request(ctx, map[string]any{"type": "watch", "user_ids": []string{ana.user.ID, stranger.user.ID}})
	if err != nil {
		t.Fatal(err)
	}
	var ack struct {
		Presence []realtime.Status `json:"presence"`
	}
	_ = json.Unmarshal(raw, &ack)
	if len(ack.Presence) != 1 || ack.Presence[0].UserID != ana.user.ID || ack.Presence[0].Status != "offline" {
		t.Fatalf("watch answer %s: want ana offline and no stranger", raw)
	}
	statusOf := func() string {
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
	phone, _ := ana.stream(t, nil)
	eventually(t, "ana online", func() bool { return statusOf() == "online" })
	laptop, _ := ana.stream(t, nil)
	if err := phone.Notify(map[string]any{"type": "presence", "status": "away"}); err != nil {
		t.Fatal(err)
	}
	if err := laptop.Notify(map[string]any{"type": "presence", "status": "away"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "ana away on every device", func() bool { return statusOf() == "away" })
	phone.Close()
	laptop.Close()
	eventually(t, "ana offline", func() bool { return statusOf() == "offline" })
	seen, err := n.app.Auth.LastSeen(ctx, []string{ana.user.ID})
	if err != nil || seen[ana.user.ID].IsZero() {
		t.Fatalf("last seen not stored: %v %v", seen, err)
	}
}

func TestConnectionsCloseWhenTheirCredentialEnds(t *testing.T) {
	n := startNode(t, dbtest.SQLiteDSN(t))
	ctx := context.Background()
	ana := n.person("Ana")
	viaToken := ana.raw(t, n)
	tokens, _, err := n.app.Auth.ListTokens(ctx, ana.user.ID, auth.NewestFirst{}, 10)
	if err != nil || len(tokens) != 1 {
		t.Fatalf("tokens: %v %v", tokens, err)
	}
	if err := n.app.Auth.RevokeToken(ctx, ana.user.ID, tokens[0].ID); err != nil {
		t.Fatal(err)
	}
	if code := viaToken.closeCode(); code != realtime.CloseUnauthorized {
		t.Fatalf("close code %d after the token was revoked, want %d", code, realtime.CloseUnauthorized)
	}

	// A session: signing out ends the stream for good.
	s := ana.Stream(ctx, client.StreamOptions{})
	waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.WaitConnected(waitCtx); err != nil {
		t.Fatal(err)
	}
	if err := ana.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.Done():
	case <-waitCtx.Done():
		t.Fatal("the stream outlived its session")
	}
	if err := s.Close(); !errors.Is(err, client.ErrUnauthorized) {
		t.Fatalf("stream ended with %v, want ErrUnauthorized", err)
	}
}

// Sends written back to back, without waiting for answers, are all stored
// and answered in the order they were sent, and every message reaches the
// sending connection too.
func TestPipelinedSendsAreAnsweredInOrder(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, dsn string) {
		n := startNode(t, dsn)
		ctx := context.Background()
		ana, bo := n.person("Ana"), n.person("Bo")
		conv, err := ana.OpenDirect(ctx, bo.user.ID)
		if err != nil {
			t.Fatal(err)
		}
		r := ana.raw(t, n)
		const count = 40
		for i := range count {
			r.sendText(fmt.Sprintf(`{"v":1,"type":"send","id":"r%d","conversation_id":%q,"client_id":"p%d","body":"pipelined %d"}`, i, conv.ID, i, i))
		}
		seqs := map[float64]bool{}
		nextAck := 0
		for nextAck < count || len(seqs) < count {
			f := r.next()
			switch f["type"] {
			case "ack":
				if want := fmt.Sprint("r", nextAck); f["id"] != want {
					t.Fatalf("ack %v, want %s: answers out of order", f["id"], want)
				}
				if m := f["message"].(map[string]any); m["body"] != fmt.Sprint("pipelined ", nextAck) {
					t.Fatalf("ack %s carries %v", f["id"], m["body"])
				}
				nextAck++
			case "event":
				if ev := f["event"].(map[string]any); ev["type"] == "message.created" {
					seqs[ev["seq"].(float64)] = true
				}
			}
		}
	})
}
