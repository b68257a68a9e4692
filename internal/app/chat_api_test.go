package app_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDirectConversationIsOnePerPairFromEitherSide(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ana, anaU := e.signup("ana@example.com", "Ana")
		bo, boU := e.signup("bo@example.com", "Bo")
		cy, _ := e.signup("cy@example.com", "Cy")

		first := ana.direct(t, boU.ID, http.StatusCreated)
		if first.Kind != "direct" || first.Title != "" || first.MemberCount != 2 || first.Role != "member" ||
			first.Peer == nil || first.Peer.ID != boU.ID || first.Peer.Name != "Bo" || first.LastSeq != 1 {
			t.Fatalf("new direct conversation = %+v", first)
		}
		before := e.rows()
		again := bo.direct(t, anaU.ID, http.StatusOK)
		if again.ID != first.ID || again.Peer == nil || again.Peer.ID != anaU.ID {
			t.Fatalf("from the other side: %+v, want conversation %s with Ana", again, first.ID)
		}
		if ana.direct(t, boU.ID, http.StatusOK).ID != first.ID {
			t.Fatal("asking again made another conversation")
		}
		e.wantRows(t, before)

		// Notes to self: a direct conversation of one.
		self := ana.direct(t, anaU.ID, http.StatusCreated)
		if self.MemberCount != 1 || self.Peer != nil {
			t.Fatalf("notes to self = %+v", self)
		}

		// Outsiders see nothing of it.
		cy.do("GET", convPath(first.ID), nil).problem(t, 404, "not-found")
		cy.do("GET", convPath(first.ID, "members"), nil).problem(t, 404, "not-found")
		if list := cy.conversations(t); len(list) != 0 {
			t.Fatalf("a stranger lists %d conversations", len(list))
		}
		e.client().do("GET", convPath(first.ID), nil).problem(t, 401, "unauthorized")
		ana.do("GET", convPath("0195a2b4-7c3e-7d12-8f00-123456789abc"), nil).problem(t, 404, "not-found")
		ana.do("GET", convPath("not-a-uuid"), nil).problem(t, 404, "not-found")

		members := bo.members(t, first.ID)
		if len(members) != 2 {
			t.Fatalf("members = %+v", members)
		}
		for _, m := range members {
			if m.Role != "member" || (m.UserID != anaU.ID && m.UserID != boU.ID) {
				t.Errorf("member %+v", m)
			}
		}
	})
}

func TestCreateConversationRejectsBadInputAndWritesNothing(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ana, _ := e.signup("ana@example.com", "Ana")
		_, boU := e.signup("bo@example.com", "Bo")
		ghost := "0195a2b4-7c3e-7d12-8f00-123456789abc"
		cases := []struct {
			name   string
			body   any
			status int
			slug   string
			fields []string
		}{
			{"no kind", map[string]any{"user_id": boU.ID}, 422, "validation", []string{"kind"}},
			{"unknown kind", map[string]any{"kind": "channel", "title": "x"}, 422, "validation", []string{"kind"}},
			{"direct without user", map[string]any{"kind": "direct"}, 422, "validation", []string{"user_id"}},
			{"direct with a title", map[string]any{"kind": "direct", "user_id": boU.ID, "title": "Hi"}, 422, "validation", []string{"kind"}},
			{"direct with members", map[string]any{"kind": "direct", "user_id": boU.ID, "members": []string{boU.ID}}, 422, "validation", []string{"kind"}},
			{"direct with a stranger", map[string]any{"kind": "direct", "user_id": ghost}, 422, "validation", []string{"user_id"}},
			{"group with user_id", map[string]any{"kind": "group", "title": "G", "user_id": boU.ID}, 422, "validation", []string{"user_id"}},
			{"group without title", map[string]any{"kind": "group", "members": []string{boU.ID}}, 422, "validation", []string{"title"}},
			{"blank title", map[string]any{"kind": "group", "title": "   "}, 422, "validation", []string{"title"}},
			{"title too long", map[string]any{"kind": "group", "title": strings.Repeat("é", 201)}, 422, "validation", []string{"title"}},
			{"control character in title", map[string]any{"kind": "group", "title": "a\x1bb"}, 422, "validation", []string{"title"}},
			{"unknown member", map[string]any{"kind": "group", "title": "G", "members": []string{boU.ID, ghost}}, 422, "validation", []string{"members"}},
			{"unknown field", `{"kind": "group", "title": "G", "topic": "x"}`, 400, "bad-request", []string{"topic"}},
			{"members not an array", `{"kind": "group", "title": "G", "members": "x"}`, 400, "bad-request", []string{"members"}},
			{"malformed", `{"kind": `, 400, "bad-request", nil},
		}
		before := e.rows()
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				wantFields(t, ana.do("POST", "/api/v1/conversations", tc.body).problem(t, tc.status, tc.slug), tc.fields...)
			})
		}
		ana.header = http.Header{"Content-Type": {"text/plain"}}
		ana.do("POST", "/api/v1/conversations", `{"kind": "group", "title": "G"}`).problem(t, 415, "unsupported-media-type")
		ana.header = nil
		e.wantRows(t, before)

		// A title of exactly 200 characters is fine, and is trimmed.
		g := ana.group(t, "  "+strings.Repeat("é", 200)+" ", boU.ID)
		if g.Title != strings.Repeat("é", 200) {
			t.Fatalf("title %q", g.Title)
		}
	})
}

func TestGroupsListUnreadCountsAndLastMessages(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ana, anaU := e.signup("ana@example.com", "Ana")
		bo, boU := e.signup("bo@example.com", "Bo")
		cy, cyU := e.signup("cy@example.com", "Cy")

		ab := ana.direct(t, boU.ID, http.StatusCreated)
		e.clock.Advance(time.Minute)
		// The creator is ignored among the members, and duplicates too.
		g := ana.group(t, " Design ", boU.ID, cyU.ID, boU.ID, anaU.ID)
		if g.Kind != "group" || g.Title != "Design" || g.MemberCount != 3 || g.Role != "admin" || g.Peer != nil || g.CreatedBy != anaU.ID {
			t.Fatalf("new group = %+v", g)
		}
		if got := cy.conversation(t, g.ID); got.Role != "member" || got.Unread != 0 || got.LastMessage != nil {
			t.Fatalf("group as a member sees it = %+v", got)
		}

		e.clock.Advance(time.Minute)
		a1 := ana.send(t, ab.ID, "a1", "one")
		ana.send(t, ab.ID, "a2", "two")
		a3 := ana.send(t, ab.ID, "a3", "three")
		if a1.Seq != 2 || a3.Seq != 4 || a1.SenderID != anaU.ID || a1.ConversationID != ab.ID {
			t.Fatalf("messages numbered %d..%d: %+v", a1.Seq, a3.Seq, a1)
		}

		list := bo.conversations(t)
		if len(list) != 2 || list[0].ID != ab.ID || list[1].ID != g.ID {
			t.Fatalf("Bo's list is not by latest activity: %+v", list)
		}
		got := list[0]
		if got.Unread != 3 || got.ReadSeq != 1 || got.LastSeq != 4 || got.LastMessage == nil ||
			got.LastMessage.ID != a3.ID || got.LastMessage.Body != "three" || got.Peer == nil || got.Peer.ID != anaU.ID {
			t.Fatalf("Bo sees %+v (last message %+v), want 3 unread up to %q", got, got.LastMessage, "three")
		}
		if mine := ana.conversation(t, ab.ID); mine.Unread != 0 || mine.ReadSeq != 4 {
			t.Fatalf("the sender has unread messages of their own: %+v", mine)
		}

		// The read cursor moves forward only, and not past the end.
		read := func(seq any, want int64) {
			t.Helper()
			var r struct {
				ReadSeq int64 `json:"read_seq"`
			}
			bo.do("POST", convPath(ab.ID, "read"), map[string]any{"seq": seq}).want(t, 200).decode(t, &r)
			if r.ReadSeq != want {
				t.Fatalf("read %v: read_seq %d, want %d", seq, r.ReadSeq, want)
			}
		}
		read(3, 3)
		if c := bo.conversation(t, ab.ID); c.Unread != 1 || c.ReadSeq != 3 {
			t.Fatalf("after reading up to 3: %+v", c)
		}
		read(2, 3)
		read(100, 4)
		if c := bo.conversation(t, ab.ID); c.Unread != 0 {
			t.Fatalf("after reading everything: %+v", c)
		}
		for _, m := range ana.members(t, ab.ID) {
			if m.UserID == boU.ID && m.ReadSeq != 4 {
				t.Errorf("Ana sees Bo's read cursor at %d, want 4", m.ReadSeq)
			}
		}
		before := e.rows()
		wantFields(t, bo.do("POST", convPath(ab.ID, "read"), map[string]any{"seq": -1}).problem(t, 422, "validation"), "seq")
		wantFields(t, bo.do("POST", convPath(ab.ID, "read"), `{"seq": "3"}`).problem(t, 400, "bad-request"), "seq")
		cy.do("POST", convPath(ab.ID, "read"), map[string]any{"seq": 4}).problem(t, 404, "not-found")
		e.wantRows(t, before)

		// A message deleted before it was read is not unread.
		a4 := ana.send(t, ab.ID, "a4", "four")
		if c := bo.conversation(t, ab.ID); c.Unread != 1 {
			t.Fatalf("unread %d, want 1", c.Unread)
		}
		ana.do("DELETE", msgPath(ab.ID, a4.ID), nil).want(t, 204)
		c := bo.conversation(t, ab.ID)
		if c.Unread != 0 || c.LastMessage == nil || !c.LastMessage.Deleted || c.LastMessage.Body != "" {
			t.Fatalf("after the unread message was deleted: %+v, last %+v", c, c.LastMessage)
		}
	})
}

func TestConversationListPagesByActivity(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ana, _ := e.signup("ana@example.com", "Ana")
		_, boU := e.signup("bo@example.com", "Bo")
		var want []string // newest activity first
		for i := range 5 {
			g := ana.group(t, fmt.Sprintf("G%d", i), boU.ID)
			want = append([]string{g.ID}, want...)
			if i%2 == 0 { // some share an instant, so the id breaks the tie
				e.clock.Advance(time.Second)
			}
		}
		// A message makes the oldest the newest.
		e.clock.Advance(time.Second)
		ana.send(t, want[4], "bump", "hello")
		want = append([]string{want[4]}, want[:4]...)

		var got []string
		cursor := ""
		for range 10 {
			var p page[conversation]
			ana.do("GET", "/api/v1/conversations?limit=2&cursor="+cursor, nil).want(t, 200).decode(t, &p)
			for _, c := range p.Items {
				got = append(got, c.ID)
			}
			if p.NextCursor == "" {
				break
			}
			cursor = p.NextCursor
		}
		if !slices.Equal(got, want) {
			t.Fatalf("pages gave %v, want %v", got, want)
		}
		ana.do("GET", "/api/v1/conversations?limit=0", nil).problem(t, 400, "bad-request")
		ana.do("GET", "/api/v1/conversations?limit=201", nil).problem(t, 400, "bad-request")
		ana.do("GET", "/api/v1/conversations?cursor=nonsense!", nil).problem(t, 400, "bad-request")
	})
}

func TestSendIsIdempotentAndRefusesBadMessages(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ana, anaU := e.signup("ana@example.com", "Ana")
		bo, boU := e.signup("bo@example.com", "Bo")
		cy, cyU := e.signup("cy@example.com", "Cy")
		conv := ana.direct(t, boU.ID, http.StatusCreated)

		first := ana.send(t, conv.ID, "web-1:a.b_c", "hello Bo")
		if first.Seq != 2 || first.ClientID != "web-1:a.b_c" || first.Body != "hello Bo" || first.Deleted || first.EditedAt != nil ||
			first.ReplyTo != nil || len(first.Mentions) != 0 || len(first.Attachments) != 0 || len(first.Reactions) != 0 {
			t.Fatalf("sent %+v", first)
		}
		before := e.rows()
		// The retry of a send whose answer was lost: the same message, not a
		// second one, even if the retry's body differs.
		var retry message
		ana.do("POST", convPath(conv.ID, "messages"), map[string]any{"client_id": "web-1:a.b_c", "body": "hello Bo"}).want(t, 200).decode(t, &retry)
		if retry.ID != first.ID || retry.Seq != first.Seq || retry.Body != first.Body {
			t.Fatalf("retry gave %+v, want %+v", retry, first)
		}
		ana.do("POST", convPath(conv.ID, "messages"), map[string]any{"client_id": "web-1:a.b_c", "body": "changed"}).want(t, 200).decode(t, &retry)
		if retry.ID != first.ID || retry.Body != "hello Bo" {
			t.Fatalf("retry with another body gave %+v", retry)
		}
		e.wantRows(t, before)
		// The same client_id from someone else is their own message.
		reply := bo.send(t, conv.ID, "web-1:a.b_c", "hi Ana")
		if reply.ID == first.ID || reply.Seq != 3 {
			t.Fatalf("Bo's message with Ana's client_id: %+v", reply)
		}

		// Replies and mentions.
		var m message
		bo.do("POST", convPath(conv.ID, "messages"), map[string]any{
			"client_id": "r1", "body": "@Ana see above", "reply_to": first.ID, "mentions": []string{anaU.ID, anaU.ID},
		}).want(t, 201).decode(t, &m)
		if m.ReplyTo == nil || *m.ReplyTo != first.ID || !slices.Equal(m.Mentions, []string{anaU.ID}) {
			t.Fatalf("reply %+v", m)
		}

		// At the limits.
		ana.send(t, conv.ID, "max-ascii", strings.Repeat("x", 16<<10))
		ana.send(t, conv.ID, "max-utf8", strings.Repeat("é", 8<<10)) // 2 bytes each
		ana.send(t, conv.ID, strings.Repeat("c", 64), "longest client id")

		before = e.rows()
		cases := []struct {
			name   string
			body   any
			status int
			slug   string
			fields []string
		}{
			{"body over 16 KiB", map[string]any{"client_id": "big", "body": strings.Repeat("x", 16<<10+1)}, 422, "validation", []string{"body"}},
			{"body over 16 KiB of UTF-8", map[string]any{"client_id": "big2", "body": strings.Repeat("é", 8<<10) + "x"}, 422, "validation", []string{"body"}},
			{"empty body", map[string]any{"client_id": "e1", "body": ""}, 422, "validation", []string{"body"}},
			{"no body", map[string]any{"client_id": "e2"}, 422, "validation", []string{"body"}},
			{"blank body", map[string]any{"client_id": "e3", "body": " \n\t "}, 422, "validation", []string{"body"}},
			{"NUL in body", `{"client_id": "n1", "body": "a\u0000b"}`, 422, "validation", []string{"body"}},
			{"no client_id", map[string]any{"body": "hi"}, 422, "validation", []string{"client_id"}},
			{"client_id too long", map[string]any{"client_id": strings.Repeat("c", 65), "body": "hi"}, 422, "validation", []string{"client_id"}},
			{"client_id with a space", map[string]any{"client_id": "a b", "body": "hi"}, 422, "validation", []string{"client_id"}},
			{"client_id with a slash", map[string]any{"client_id": "a/b", "body": "hi"}, 422, "validation", []string{"client_id"}},
			{"mention of a stranger", map[string]any{"client_id": "m1", "body": "hi", "mentions": []string{cyU.ID}}, 422, "validation", []string{"mentions"}},
			{"too many mentions", map[string]any{"client_id": "m2", "body": "hi", "mentions": slices.Repeat([]string{anaU.ID}, 101)}, 422, "validation", []string{"mentions"}},
			{"reply to nothing", map[string]any{"client_id": "r2", "body": "hi", "reply_to": "0195a2b4-7c3e-7d12-8f00-123456789abc"}, 422, "validation", []string{"reply_to"}},
			{"unknown attachment", map[string]any{"client_id": "f1", "body": "", "attachments": []string{"0195a2b4-7c3e-7d12-8f00-123456789abc"}}, 422, "validation", []string{"attachments"}},
			{"unknown field", `{"client_id": "u1", "body": "hi", "silent": true}`, 400, "bad-request", []string{"silent"}},
			{"body not a string", `{"client_id": "u2", "body": 5}`, 400, "bad-request", []string{"body"}},
			{"empty request", ``, 400, "bad-request", nil},
			{"request over 1 MiB", `{"client_id": "u3", "body": "` + strings.Repeat("x", 1<<20) + `"}`, 413, "too-large", nil},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				wantFields(t, ana.do("POST", convPath(conv.ID, "messages"), tc.body).problem(t, tc.status, tc.slug), tc.fields...)
			})
		}
		e.wantRows(t, before)

		// A stranger can neither write nor read, and learns nothing.
		cy.do("POST", convPath(conv.ID, "messages"), map[string]any{"client_id": "x1", "body": "let me in"}).problem(t, 404, "not-found")
		cy.do("POST", convPath(conv.ID, "messages"), map[string]any{"client_id": first.ClientID, "body": "retry?"}).problem(t, 404, "not-found")
		cy.do("GET", convPath(conv.ID, "messages"), nil).problem(t, 404, "not-found")
		cy.do("GET", convPath(conv.ID, "events"), nil).problem(t, 404, "not-found")
		cy.do("PATCH", msgPath(conv.ID, first.ID), map[string]any{"body": "mine now"}).problem(t, 404, "not-found")
		cy.do("DELETE", msgPath(conv.ID, first.ID), nil).problem(t, 404, "not-found")
		cy.do("PUT", reactionPath(conv.ID, first.ID, "👍"), nil).problem(t, 404, "not-found")
		ana.do("POST", convPath("0195a2b4-7c3e-7d12-8f00-123456789abc", "messages"), map[string]any{"client_id": "x2", "body": "hi"}).problem(t, 404, "not-found")
		e.client().do("POST", convPath(conv.ID, "messages"), map[string]any{"client_id": "x3", "body": "hi"}).problem(t, 401, "unauthorized")
		e.wantRows(t, before)
	})
}

// serverBug fails a check that once caught a real server bug, naming it.
func serverBug(t *testing.T, format string, args ...any) {
	t.Helper()
	t.Fatalf("server bug: "+format, args...)
}

// TestSendRefusesInvalidUTF8 sends a JSON body holding bytes that are not
// UTF-8 (JSON text must be UTF-8, RFC 8259). The server must refuse it, as
// malformed (400) or on body (422), rather than store other text than
// what was sent.
func TestSendRefusesInvalidUTF8(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ana, _ := e.signup("ana@example.com", "Ana")
		_, boU := e.signup("bo@example.com", "Bo")
		conv := ana.direct(t, boU.ID, http.StatusCreated)
		before := e.rows()
		raw := "{\"client_id\": \"latin1\", \"body\": \"caf\xe9 cr\xe8me \xff\"}"
		res := ana.do("POST", convPath(conv.ID, "messages"), raw)
		switch res.status {
		case http.StatusBadRequest:
			res.problem(t, 400, "bad-request")
		case http.StatusUnprocessableEntity:
			wantFields(t, res.problem(t, 422, "validation"), "body")
		case http.StatusCreated:
			var m message
			res.decode(t, &m)
			serverBug(t, "a body of invalid UTF-8 was accepted (201) and stored as %q: encoding/json replaces bad bytes with U+FFFD, "+
				"so the UTF-8 check in chat.checkBody never sees them; httpx.DecodeJSON should refuse a body that is not valid UTF-8 with 400", m.Body)
		default:
			t.Fatalf("status %d, want 400 or 422; body %s", res.status, res.body)
		}
		e.wantRows(t, before)
	})
}

func TestEditDeleteReactAndCatchUpFromEvents(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ana, anaU := e.signup("ana@example.com", "Ana")
		bo, boU := e.signup("bo@example.com", "Bo")
		g := ana.group(t, "Design", boU.ID)          // seq 1
		m1 := ana.send(t, g.ID, "m1", "first draft") // 2
		m2 := bo.send(t, g.ID, "m2", "looks good")   // 3
		seen := int64(3)                             // where Bo's other device stopped

		before := e.rows()
		bo.do("PATCH", msgPath(g.ID, m1.ID), map[string]any{"body": "hijacked"}).problem(t, 403, "forbidden")
		bo.do("DELETE", msgPath(g.ID, m1.ID), nil).problem(t, 403, "forbidden")
		wantFields(t, ana.do("PATCH", msgPath(g.ID, m1.ID), map[string]any{"body": "  "}).problem(t, 422, "validation"), "body")
		wantFields(t, ana.do("PATCH", msgPath(g.ID, m1.ID), map[string]any{"body": strings.Repeat("x", 16<<10+1)}).problem(t, 422, "validation"), "body")
		ana.do("PATCH", msgPath(g.ID, m1.ID), `{"body": "x", "client_id": "m1"}`).problem(t, 400, "bad-request")
		ana.do("PATCH", msgPath(g.ID, "0195a2b4-7c3e-7d12-8f00-123456789abc"), map[string]any{"body": "x"}).problem(t, 404, "not-found")
		e.wantRows(t, before)

		var edited message
		ana.do("PATCH", msgPath(g.ID, m1.ID), map[string]any{"body": "final text"}).want(t, 200).decode(t, &edited) // 4
		if edited.ID != m1.ID || edited.Seq != m1.Seq || edited.Body != "final text" || edited.EditedAt == nil {
			t.Fatalf("edited %+v", edited)
		}

		// Reactions: doing what is done changes nothing.
		bo.do("PUT", reactionPath(g.ID, m1.ID, "👍"), nil).want(t, 204) // 5
		bo.do("PUT", reactionPath(g.ID, m1.ID, "👍"), nil).want(t, 204)
		e.clock.Advance(time.Second)                                       // so that the order of reacting shows
		ana.do("PUT", reactionPath(g.ID, m1.ID, "👍"), nil).want(t, 204)    // 6
		bo.do("PUT", reactionPath(g.ID, m2.ID, "❤️"), nil).want(t, 204)    // 7
		bo.do("DELETE", reactionPath(g.ID, m2.ID, "❤️"), nil).want(t, 204) // 8
		bo.do("DELETE", reactionPath(g.ID, m2.ID, "❤️"), nil).want(t, 204)
		before = e.rows()
		for _, bad := range []string{"a b", strings.Repeat("x", 65), "\x07"} {
			wantFields(t, bo.do("PUT", reactionPath(g.ID, m1.ID, bad), nil).problem(t, 422, "validation"), "emoji")
		}
		bo.do("PUT", reactionPath(g.ID, "0195a2b4-7c3e-7d12-8f00-123456789abc", "👍"), nil).problem(t, 404, "not-found")
		e.wantRows(t, before)

		p := bo.messages(t, g.ID, "")
		if len(p.Items) != 2 || p.More {
			t.Fatalf("messages %+v", p)
		}
		if r := p.Items[0].Reactions; len(r) != 1 || r[0].Emoji != "👍" || !slices.Equal(r[0].UserIDs, []string{boU.ID, anaU.ID}) {
			t.Fatalf("reactions on m1: %+v", r)
		}
		if len(p.Items[1].Reactions) != 0 {
			t.Fatalf("reactions on m2: %+v", p.Items[1].Reactions)
		}

		ana.do("DELETE", msgPath(g.ID, m1.ID), nil).want(t, 204) // 9
		before = e.rows()
		ana.do("DELETE", msgPath(g.ID, m1.ID), nil).problem(t, 404, "not-found")
		ana.do("PATCH", msgPath(g.ID, m1.ID), map[string]any{"body": "undo"}).problem(t, 404, "not-found")
		bo.do("PUT", reactionPath(g.ID, m1.ID, "🎉"), nil).problem(t, 404, "not-found")
		e.wantRows(t, before)

		// The tombstone keeps its place; its content is gone.
		p = bo.messages(t, g.ID, "")
		tomb := p.Items[0]
		if tomb.ID != m1.ID || tomb.Seq != 2 || !tomb.Deleted || tomb.Body != "" || len(tomb.Reactions) != 0 || tomb.SenderID != anaU.ID {
			t.Fatalf("deleted message reads as %+v", tomb)
		}

		// Bo's other device catches up from where it stopped: every change
		// in order, without gaps, with the messages as they are now.
		ev := bo.events(t, g.ID, fmt.Sprintf("?after=%d", seen))
		wantTypes := []string{"message.edited", "reaction.added", "reaction.added", "reaction.added", "reaction.removed", "message.deleted"}
		var types []string
		for i, x := range ev.Items {
			types = append(types, x.Type)
			if x.Seq != seen+1+int64(i) {
				t.Errorf("event %d has seq %d, want %d", i, x.Seq, seen+1+int64(i))
			}
		}
		if !slices.Equal(types, wantTypes) || ev.More {
			t.Fatalf("events after %d: %v (more %v), want %v", seen, types, ev.More, wantTypes)
		}
		if x := ev.Items[0]; x.MessageID != m1.ID || x.Message == nil || !x.Message.Deleted || x.Message.Body != "" || x.ActorID != anaU.ID {
			t.Errorf("edit event now shows %+v (message %+v), want the tombstone", x, x.Message)
		}
		if x := ev.Items[1]; x.MessageID != m1.ID || x.UserID != boU.ID || x.Emoji != "👍" || x.ActorID != boU.ID {
			t.Errorf("reaction event %+v", x)
		}
		if x := ev.Items[4]; x.MessageID != m2.ID || x.Emoji != "❤️" || x.UserID != boU.ID {
			t.Errorf("reaction removed event %+v", x)
		}
		all := bo.events(t, g.ID, "")
		if len(all.Items) != 9 || all.Items[0].Type != "conversation.created" || all.Items[0].Title != "Design" ||
			all.Items[1].Type != "message.created" || all.Items[2].Message == nil || all.Items[2].Message.Body != "looks good" {
			t.Fatalf("the whole log: %+v", all.Items)
		}
		part := bo.events(t, g.ID, "?after=4&limit=2")
		if len(part.Items) != 2 || part.Items[0].Seq != 5 || !part.More {
			t.Fatalf("a page of events: %+v", part)
		}
		if c := bo.conversation(t, g.ID); c.LastSeq != 9 {
			t.Fatalf("last_seq %d, want 9", c.LastSeq)
		}
		for _, q := range []string{"?after=-1", "?after=x", "?limit=0", "?limit=1001"} {
			bo.do("GET", convPath(g.ID, "events")+q, nil).problem(t, 400, "bad-request")
		}
	})
}

func TestMessagesPageForwardAndBack(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ana, _ := e.signup("ana@example.com", "Ana")
		_, boU := e.signup("bo@example.com", "Bo")
		conv := ana.direct(t, boU.ID, http.StatusCreated)
		for i := range 5 { // seqs 2..6
			ana.send(t, conv.ID, fmt.Sprintf("c%d", i), fmt.Sprintf("message %d", i))
		}
		seqs := func(p page[message]) []int64 {
			var out []int64
			for _, m := range p.Items {
				out = append(out, m.Seq)
			}
			return out
		}
		cases := []struct {
			query string
			seqs  []int64
			more  bool
		}{
			{"", []int64{2, 3, 4, 5, 6}, false},
			{"?limit=2", []int64{2, 3}, true},
			{"?after=3&limit=2", []int64{4, 5}, true},
			{"?after=5&limit=2", []int64{6}, false},
			{"?after=6", nil, false},
			{"?before=6&limit=2", []int64{4, 5}, true},
			{"?before=4&limit=2", []int64{2, 3}, false},
			{"?before=2", nil, false},
			{"?after=2&before=6", []int64{3, 4, 5}, false},
			{"?after=2&before=6&limit=2", []int64{3, 4}, true},
		}
		for _, tc := range cases {
			p := ana.messages(t, conv.ID, tc.query)
			if got := seqs(p); !slices.Equal(got, tc.seqs) || p.More != tc.more {
				t.Errorf("%q: seqs %v more %v, want %v more %v", tc.query, got, p.More, tc.seqs, tc.more)
			}
		}
		for _, q := range []string{"?after=-1", "?before=1.5", "?after=x", "?limit=0", "?limit=1001", "?limit=ten"} {
			p := ana.do("GET", convPath(conv.ID, "messages")+q, nil).problem(t, 400, "bad-request")
			if len(p.Errors) == 0 {
				t.Errorf("%q: the problem names no parameter: %+v", q, p)
			}
		}
	})
}
