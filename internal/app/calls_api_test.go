package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/calls"
)

// Calls as their users meet them: start, ring, answer, decline, leave, end
// and miss, through the real server, every answer checked against
// api/openapi.yaml by the harness.

type callMember struct {
	UserID   string     `json:"user_id"`
	Role     string     `json:"role"`
	State    string     `json:"state"`
	JoinedAt *time.Time `json:"joined_at"`
}

type call struct {
	ID             string       `json:"id"`
	ConversationID string       `json:"conversation_id"`
	Kind           string       `json:"kind"`
	OneWay         bool         `json:"one_way"`
	State          string       `json:"state"`
	StartedBy      string       `json:"started_by"`
	CreatedAt      time.Time    `json:"created_at"`
	AnsweredAt     *time.Time   `json:"answered_at"`
	EndedAt        *time.Time   `json:"ended_at"`
	EndReason      string       `json:"end_reason"`
	Members        []callMember `json:"members"`
}

// member returns userID's state in the call, "" when not in it.
func (c call) member(userID string) string {
	for _, m := range c.Members {
		if m.UserID == userID {
			return m.State
		}
	}
	return ""
}

// role returns userID's role in a one-way call.
func (c call) role(userID string) string {
	for _, m := range c.Members {
		if m.UserID == userID {
			return m.Role
		}
	}
	return ""
}

func (c call) joinedAt(userID string) *time.Time {
	for _, m := range c.Members {
		if m.UserID == userID {
			return m.JoinedAt
		}
	}
	return nil
}

// wantMembers fails unless the call's members are exactly these, with
// these states (user id → state).
func wantMembers(t *testing.T, c call, want map[string]string) {
	t.Helper()
	if len(c.Members) != len(want) {
		t.Fatalf("call members %+v, want %v", c.Members, want)
	}
	for user, state := range want {
		if got := c.member(user); got != state {
			t.Fatalf("member %s is %q, want %q; members %+v", user, got, state, c.Members)
		}
	}
}

type callSummary struct {
	ID       string `json:"id"`
	Kind     string `json:"kind"`
	Reason   string `json:"reason"`
	Duration int64  `json:"duration"`
}

// callEvent is an event of a conversation's history as calls see it.
type callEvent struct {
	Seq     int64        `json:"seq"`
	Type    string       `json:"type"`
	ActorID string       `json:"actor_id"`
	At      time.Time    `json:"at"`
	Call    *callSummary `json:"call"`
}

func callPath(id string, action ...string) string {
	p := "/api/v1/calls/" + id
	for _, a := range action {
		p += "/" + a
	}
	return p
}

func (c *client) startCall(t *testing.T, conv, kind string) call {
	t.Helper()
	var out call
	c.do("POST", convPath(conv, "calls"), map[string]any{"kind": kind}).want(t, http.StatusCreated).decode(t, &out)
	return out
}

// callAction posts join, decline, leave or end and returns the call.
func (c *client) callAction(t *testing.T, id, action string) call {
	t.Helper()
	var out call
	c.do("POST", callPath(id, action), nil).want(t, http.StatusOK).decode(t, &out)
	return out
}

func (c *client) getCall(t *testing.T, id string) call {
	t.Helper()
	var out call
	c.do("GET", callPath(id), nil).want(t, http.StatusOK).decode(t, &out)
	return out
}

// callHistory returns the call events of a conversation's history, in order.
func (c *client) callHistory(t *testing.T, conv string) []callEvent {
	t.Helper()
	var p page[callEvent]
	c.do("GET", convPath(conv, "events"), nil).want(t, http.StatusOK).decode(t, &p)
	var out []callEvent
	for _, ev := range p.Items {
		if ev.Type == "call.started" || ev.Type == "call.ended" {
			out = append(out, ev)
		}
	}
	return out
}

// callRows counts the rows of the messenger's and the calls' tables, to
// prove that refused requests wrote nothing.
func (e *env) callRows() map[string]int {
	out := e.rows()
	for _, table := range []string{"calls", "call_members"} {
		out[table] = e.count(table)
	}
	return out
}

func (e *env) wantCallRows(t *testing.T, before map[string]int) {
	t.Helper()
	after := e.callRows()
	for table, n := range before {
		if after[table] != n {
			t.Errorf("%s: %d rows, want %d: a refused request wrote something", table, after[table], n)
		}
	}
}

func sameTime(got *time.Time, want time.Time) bool { return got != nil && got.Equal(want) }

func TestDirectCallIsAnsweredThenCompletedWithItsDuration(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ana, anaU := e.signup("ana@example.com", "Ana")
		bo, boU := e.signup("bo@example.com", "Bo")
		cy, _ := e.signup("cy@example.com", "Cy")
		conv := ana.direct(t, boU.ID, http.StatusCreated)

		started := e.clock.Now()
		c := ana.startCall(t, conv.ID, "video")
		if c.ID == "" || c.ConversationID != conv.ID || c.Kind != "video" || c.State != "ringing" || c.StartedBy != anaU.ID ||
			!c.CreatedAt.Equal(started) || c.AnsweredAt != nil || c.EndedAt != nil || c.EndReason != "" {
			t.Fatalf("started call %+v", c)
		}
		wantMembers(t, c, map[string]string{anaU.ID: "joined", boU.ID: "ringing"})
		if !sameTime(c.joinedAt(anaU.ID), started) || c.joinedAt(boU.ID) != nil {
			t.Fatalf("joined_at of the members: %+v", c.Members)
		}
		if got := bo.getCall(t, c.ID); got.State != "ringing" || got.member(boU.ID) != "ringing" {
			t.Fatalf("the callee sees %+v", got)
		}

		// One call at a time: a second start names the live call, from
		// either side, and writes nothing.
		before := e.callRows()
		for _, who := range []*client{ana, bo} {
			p := who.do("POST", convPath(conv.ID, "calls"), map[string]any{"kind": "voice"}).problem(t, 409, "call-active")
			if len(p.Errors) != 1 || p.Errors[0].Field != "call_id" || p.Errors[0].Detail != c.ID {
				t.Fatalf("call-active does not name the live call %s: %+v", c.ID, p)
			}
		}
		// Bad input, with nothing written.
		for _, bad := range []map[string]any{{"kind": "audio"}, {"kind": ""}, {}} {
			wantFields(t, ana.do("POST", convPath(conv.ID, "calls"), bad).problem(t, 422, "validation"), "kind")
		}
		for _, bad := range []map[string]any{{"kind": "help", "role": "boss"}, {"kind": "video", "role": "helper"}, {"kind": "voice", "role": "customer"}} {
			wantFields(t, ana.do("POST", convPath(conv.ID, "calls"), bad).problem(t, 422, "validation"), "role")
		}
		ana.do("POST", convPath(conv.ID, "calls"), `{"kind": "voice", "video": true}`).problem(t, 400, "bad-request")
		ana.do("POST", convPath(conv.ID, "calls"), `{"kind": 1}`).problem(t, 400, "bad-request")
		// Someone outside the conversation cannot see or touch the call,
		// nor start one there; an unknown conversation or call is the same.
		cy.do("POST", convPath(conv.ID, "calls"), map[string]any{"kind": "video"}).problem(t, 404, "not-found")
		cy.do("GET", callPath(c.ID), nil).problem(t, 404, "not-found")
		for _, action := range []string{"join", "decline", "leave", "end"} {
			cy.do("POST", callPath(c.ID, action), nil).problem(t, 404, "not-found")
		}
		const unknown = "0195a2b4-7c3e-7d12-8f00-123456789abc"
		ana.do("POST", convPath(unknown, "calls"), map[string]any{"kind": "video"}).problem(t, 404, "not-found")
		ana.do("GET", callPath(unknown), nil).problem(t, 404, "not-found")
		ana.do("POST", callPath(unknown, "join"), nil).problem(t, 404, "not-found")
		e.client().do("POST", convPath(conv.ID, "calls"), map[string]any{"kind": "video"}).problem(t, 401, "unauthorized")
		e.client().do("GET", callPath(c.ID), nil).problem(t, 401, "unauthorized")
		e.wantCallRows(t, before)
		if got := ana.getCall(t, c.ID); got.State != "ringing" || got.member(boU.ID) != "ringing" {
			t.Fatalf("after refused requests the call is %+v", got)
		}

		// Bo answers five seconds later.
		e.clock.Advance(5 * time.Second)
		answered := e.clock.Now()
		c = bo.callAction(t, c.ID, "join")
		if c.State != "active" || !sameTime(c.AnsweredAt, answered) || c.EndedAt != nil {
			t.Fatalf("answered call %+v", c)
		}
		wantMembers(t, c, map[string]string{anaU.ID: "joined", boU.ID: "joined"})
		if !sameTime(c.joinedAt(boU.ID), answered) {
			t.Fatalf("bo joined_at %v, want %v", c.joinedAt(boU.ID), answered)
		}

		// They talk for 65 s; Ana hangs up, Bo two seconds later.
		e.clock.Advance(65 * time.Second)
		c = ana.callAction(t, c.ID, "leave")
		if c.State != "active" || c.member(anaU.ID) != "left" || c.member(boU.ID) != "joined" {
			t.Fatalf("after ana left: %+v", c)
		}
		e.clock.Advance(2 * time.Second)
		ended := e.clock.Now()
		c = bo.callAction(t, c.ID, "leave")
		if c.State != "ended" || c.EndReason != "completed" || !sameTime(c.EndedAt, ended) || !sameTime(c.AnsweredAt, answered) {
			t.Fatalf("ended call %+v", c)
		}
		wantMembers(t, c, map[string]string{anaU.ID: "left", boU.ID: "left"})

		// The history has the call, from both sides.
		for _, who := range []*client{ana, bo} {
			h := who.callHistory(t, conv.ID)
			if len(h) != 2 {
				t.Fatalf("call events %+v, want call.started and call.ended", h)
			}
			s, end := h[0], h[1]
			if s.Type != "call.started" || s.ActorID != anaU.ID || !s.At.Equal(started) || s.Call == nil ||
				*s.Call != (callSummary{ID: c.ID, Kind: "video"}) {
				t.Fatalf("call.started %+v %+v", s, s.Call)
			}
			if end.Type != "call.ended" || end.ActorID != boU.ID || !end.At.Equal(ended) || end.Seq <= s.Seq || end.Call == nil ||
				*end.Call != (callSummary{ID: c.ID, Kind: "video", Reason: "completed", Duration: 67}) {
				t.Fatalf("call.ended %+v %+v", end, end.Call)
			}
		}
		if got := ana.conversation(t, conv.ID); !got.LastActivityAt.Equal(ended) {
			t.Fatalf("last_activity_at %v, want the call's end %v", got.LastActivityAt, ended)
		}

		// An ended call never changes again.
		before = e.callRows()
		for _, action := range []string{"join", "decline", "leave", "end"} {
			bo.do("POST", callPath(c.ID, action), nil).problem(t, 409, "call-ended")
		}
		e.wantCallRows(t, before)
		if got := bo.getCall(t, c.ID); got.State != "ended" || got.EndReason != "completed" {
			t.Fatalf("ended call now %+v", got)
		}

		// The conversation is free for the next call.
		next := bo.startCall(t, conv.ID, "voice")
		if next.ID == c.ID || next.State != "ringing" || next.StartedBy != boU.ID || next.Kind != "voice" {
			t.Fatalf("next call %+v", next)
		}
		wantMembers(t, next, map[string]string{anaU.ID: "ringing", boU.ID: "joined"})
	})
}

func TestDeclinedAndCancelledCalls(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ana, anaU := e.signup("ana@example.com", "Ana")
		bo, boU := e.signup("bo@example.com", "Bo")
		conv := ana.direct(t, boU.ID, http.StatusCreated)

		// Bo declines: the call ends as declined.
		c := ana.startCall(t, conv.ID, "voice")
		before := e.callRows()
		ana.do("POST", callPath(c.ID, "decline"), nil).problem(t, 403, "forbidden") // the caller leaves or ends instead
		e.wantCallRows(t, before)
		e.clock.Advance(3 * time.Second)
		c = bo.callAction(t, c.ID, "decline")
		if c.State != "ended" || c.EndReason != "declined" || c.AnsweredAt != nil || !sameTime(c.EndedAt, e.clock.Now()) {
			t.Fatalf("declined call %+v", c)
		}
		wantMembers(t, c, map[string]string{anaU.ID: "left", boU.ID: "declined"})
		h := ana.callHistory(t, conv.ID)
		if len(h) != 2 || h[1].Type != "call.ended" || h[1].ActorID != boU.ID ||
			*h[1].Call != (callSummary{ID: c.ID, Kind: "voice", Reason: "declined"}) {
			t.Fatalf("history after a declined call: %+v", h)
		}

		// Ana gives up before Bo answers: cancelled, and Bo missed it.
		c = ana.startCall(t, conv.ID, "video")
		e.clock.Advance(10 * time.Second)
		c = ana.callAction(t, c.ID, "leave")
		if c.State != "ended" || c.EndReason != "cancelled" || c.AnsweredAt != nil {
			t.Fatalf("cancelled call %+v", c)
		}
		wantMembers(t, c, map[string]string{anaU.ID: "left", boU.ID: "missed"})
		h = bo.callHistory(t, conv.ID)
		if len(h) != 4 || h[2].Type != "call.started" || h[3].Type != "call.ended" || h[3].ActorID != anaU.ID ||
			*h[3].Call != (callSummary{ID: c.ID, Kind: "video", Reason: "cancelled"}) {
			t.Fatalf("history after a cancelled call: %+v", h)
		}
		bo.do("POST", callPath(c.ID, "join"), nil).problem(t, 409, "call-ended")

		// Ending a call that still rings cancels it too.
		c = ana.startCall(t, conv.ID, "video")
		c = ana.callAction(t, c.ID, "end")
		if c.State != "ended" || c.EndReason != "cancelled" {
			t.Fatalf("call ended while ringing: %+v", c)
		}
		wantMembers(t, c, map[string]string{anaU.ID: "left", boU.ID: "missed"})

		// In a direct conversation either person may end an answered call.
		c = ana.startCall(t, conv.ID, "video")
		bo.callAction(t, c.ID, "join")
		e.clock.Advance(90 * time.Second)
		c = bo.callAction(t, c.ID, "end")
		if c.State != "ended" || c.EndReason != "completed" {
			t.Fatalf("call ended by the callee: %+v", c)
		}
		wantMembers(t, c, map[string]string{anaU.ID: "left", boU.ID: "left"})
		h = ana.callHistory(t, conv.ID)
		if last := h[len(h)-1]; last.Type != "call.ended" || last.ActorID != boU.ID ||
			*last.Call != (callSummary{ID: c.ID, Kind: "video", Reason: "completed", Duration: 90}) {
			t.Fatalf("last call event %+v %+v", last, last.Call)
		}
	})
}

func TestUnansweredCallIsMissedAfterTheRingTimeout(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		ana, anaU := e.signup("ana@example.com", "Ana")
		bo, boU := e.signup("bo@example.com", "Bo")
		conv := ana.direct(t, boU.ID, http.StatusCreated)
		c := ana.startCall(t, conv.ID, "video")

		e.clock.Advance(29 * time.Second)
		if err := e.app.Calls.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		if got := bo.getCall(t, c.ID); got.State != "ringing" {
			t.Fatalf("before the ring timeout the call is %+v", got)
		}

		e.clock.Advance(2 * time.Second)
		if err := e.app.Calls.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		c = bo.getCall(t, c.ID)
		if c.State != "ended" || c.EndReason != "missed" || c.AnsweredAt != nil || !sameTime(c.EndedAt, e.clock.Now()) {
			t.Fatalf("after the ring timeout the call is %+v", c)
		}
		wantMembers(t, c, map[string]string{anaU.ID: "left", boU.ID: "missed"})

		// Sweeping again changes nothing; the history has one missed call.
		e.clock.Advance(time.Minute)
		if err := e.app.Calls.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		h := bo.callHistory(t, conv.ID)
		if len(h) != 2 || h[0].Type != "call.started" || h[1].Type != "call.ended" || h[1].ActorID != anaU.ID ||
			*h[1].Call != (callSummary{ID: c.ID, Kind: "video", Reason: "missed"}) {
			t.Fatalf("history after a missed call: %+v", h)
		}
		bo.do("POST", callPath(c.ID, "join"), nil).problem(t, 409, "call-ended")

		// An answered call does not ring out; but one that no device has
		// been connected to for a minute (every browser crashed, say) ends
		// by itself, so the conversation can call again.
		c = ana.startCall(t, conv.ID, "voice")
		bo.callAction(t, c.ID, "join")
		e.clock.Advance(calls.EmptyCallGrace - time.Second)
		if err := e.app.Calls.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		if got := ana.getCall(t, c.ID); got.State != "active" {
			t.Fatalf("an answered call within the grace: %+v", got)
		}
		e.clock.Advance(2 * time.Second)
		if err := e.app.Calls.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		if got := ana.getCall(t, c.ID); got.State != "ended" || got.EndReason != "completed" {
			t.Fatalf("an answered call nobody is connected to, after the grace: %+v", got)
		}
	})
}

func TestGroupCallOnlyTheStarterEndsItAndOthersJoinLate(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ana, anaU := e.signup("ana@example.com", "Ana")
		bo, boU := e.signup("bo@example.com", "Bo")
		cy, cyU := e.signup("cy@example.com", "Cy")
		dee, deeU := e.signup("dee@example.com", "Dee")
		g := ana.group(t, "Design", boU.ID, cyU.ID)

		c := ana.startCall(t, g.ID, "video")
		wantMembers(t, c, map[string]string{anaU.ID: "joined", boU.ID: "ringing", cyU.ID: "ringing"})

		// One decline does not end a group call while others still ring.
		c = bo.callAction(t, c.ID, "decline")
		if c.State != "ringing" {
			t.Fatalf("after one decline: %+v", c)
		}
		wantMembers(t, c, map[string]string{anaU.ID: "joined", boU.ID: "declined", cyU.ID: "ringing"})

		e.clock.Advance(4 * time.Second)
		answered := e.clock.Now()
		c = cy.callAction(t, c.ID, "join")
		if c.State != "active" || !sameTime(c.AnsweredAt, answered) {
			t.Fatalf("answered group call %+v", c)
		}

		// Only the one who started it ends it for everyone; the others leave.
		before := e.callRows()
		for _, who := range []*client{bo, cy} {
			who.do("POST", callPath(c.ID, "end"), nil).problem(t, 403, "forbidden")
		}
		e.wantCallRows(t, before)
		if got := cy.getCall(t, c.ID); got.State != "active" || got.member(cyU.ID) != "joined" {
			t.Fatalf("after refused ends: %+v", got)
		}
		c = cy.callAction(t, c.ID, "leave")
		if c.State != "active" || c.member(cyU.ID) != "left" {
			t.Fatalf("after cy left: %+v", c)
		}

		// Joining late: Bo, who had declined, and Dee, added to the group
		// after the call began. The answer time stays the first one.
		e.clock.Advance(time.Minute)
		c = bo.callAction(t, c.ID, "join")
		if c.State != "active" || !sameTime(c.AnsweredAt, answered) || !sameTime(c.joinedAt(boU.ID), e.clock.Now()) {
			t.Fatalf("bo joined late: %+v", c)
		}
		dee.do("POST", callPath(c.ID, "join"), nil).problem(t, 404, "not-found") // not a member yet
		ana.do("POST", convPath(g.ID, "members"), map[string]any{"user_id": deeU.ID}).want(t, http.StatusCreated)
		c = dee.callAction(t, c.ID, "join")
		wantMembers(t, c, map[string]string{anaU.ID: "joined", boU.ID: "joined", cyU.ID: "left", deeU.ID: "joined"})
		// Cy comes back.
		c = cy.callAction(t, c.ID, "join")
		if c.member(cyU.ID) != "joined" {
			t.Fatalf("cy rejoined: %+v", c)
		}

		// The one who started it may leave; the call goes on without them.
		c = ana.callAction(t, c.ID, "leave")
		if c.State != "active" || c.member(anaU.ID) != "left" {
			t.Fatalf("after ana left: %+v", c)
		}
		// And still end it for everyone.
		e.clock.Advance(10 * time.Second)
		c = ana.callAction(t, c.ID, "end")
		if c.State != "ended" || c.EndReason != "completed" || !sameTime(c.EndedAt, e.clock.Now()) {
			t.Fatalf("ended group call %+v", c)
		}
		wantMembers(t, c, map[string]string{anaU.ID: "left", boU.ID: "left", cyU.ID: "left", deeU.ID: "left"})

		h := dee.callHistory(t, g.ID)
		if len(h) != 2 || h[0].Type != "call.started" || h[1].Type != "call.ended" || h[1].ActorID != anaU.ID ||
			*h[1].Call != (callSummary{ID: c.ID, Kind: "video", Reason: "completed", Duration: 70}) {
			t.Fatalf("group call history %+v", h)
		}
	})
}

// TestContractCatchesCallMistakes makes sure the calls' shapes in
// api/openapi.yaml are strict: each bad exchange breaks them in one way.
func TestContractCatchesCallMistakes(t *testing.T) {
	mustContract(t)
	const (
		id   = "0195a2b4-7c3e-7d12-8f00-123456789abc"
		when = "2026-03-01T12:00:00Z"
	)
	hdr := func(ct string) http.Header {
		return http.Header{"X-Request-Id": {"REQ1"}, "Content-Type": {ct}}
	}
	member := func(state, joined string) string {
		return `{"user_id":"` + id + `","state":"` + state + `","joined_at":` + joined + `}`
	}
	at := `"` + when + `"`
	mkCall := func(state, answered, ended, reason string, members ...string) string {
		s := `{"id":"` + id + `","conversation_id":"` + id + `","kind":"video","one_way":false,"state":"` + state + `","started_by":"` + id +
			`","created_at":"` + when + `","answered_at":` + answered + `,"ended_at":` + ended
		if reason != "" {
			s += `,"end_reason":"` + reason + `"`
		}
		return s + `,"members":[` + strings.Join(members, ",") + `]}`
	}
	ringing := mkCall("ringing", "null", "null", "", member("joined", at), member("ringing", "null"))
	active := mkCall("active", at, "null", "", member("joined", at), member("joined", at))
	completed := mkCall("ended", at, at, "completed", member("left", at), member("missed", "null"))
	missed := mkCall("ended", "null", at, "missed", member("left", at), member("missed", "null"))
	events := func(ev string) string {
		return `{"items":[{"conversation_id":"` + id + `","seq":2,"actor_id":"` + id + `","at":"` + when + `",` + ev + `}],"more":false}`
	}
	active409 := func(errors string) string {
		return `{"type":"urn:parley:problem:call-active","title":"T","status":409,"request_id":"REQ1"` + errors + `}`
	}
	callPathID, startPath, eventsPath := "/api/v1/calls/"+id, convPath(id, "calls"), convPath(id, "events")
	type exchange struct {
		name, method, path string
		status             int
		ct, body           string
	}
	good := []exchange{
		{"ringing", "GET", callPathID, 200, "application/json", ringing},
		{"active", "GET", callPathID, 200, "application/json", active},
		{"completed", "GET", callPathID, 200, "application/json", completed},
		{"missed", "GET", callPathID, 200, "application/json", missed},
		{"started", "POST", startPath, 201, "application/json", ringing},
		{"help", "GET", callPathID, 200, "application/json", strings.Replace(strings.Replace(active, `"video","one_way":false`, `"help","one_way":true`, 1),
			`"state":"joined"`, `"role":"helper","state":"joined"`, 1)},
		{"call-active", "POST", startPath, 409, "application/problem+json", active409(`,"errors":[{"field":"call_id","detail":"` + id + `"}]`)},
		{"call.started", "GET", eventsPath, 200, "application/json", events(`"type":"call.started","call":{"id":"` + id + `","kind":"voice"}`)},
		{"call.ended", "GET", eventsPath, 200, "application/json", events(`"type":"call.ended","call":{"id":"` + id + `","kind":"voice","reason":"completed","duration":67}`)},
		{"call.ended missed", "GET", eventsPath, 200, "application/json", events(`"type":"call.ended","call":{"id":"` + id + `","kind":"voice","reason":"missed"}`)},
	}
	bad := []exchange{
		{"ringing but answered", "GET", callPathID, 200, "application/json", mkCall("ringing", at, "null", "", member("joined", at))},
		{"active without answer", "GET", callPathID, 200, "application/json", mkCall("active", "null", "null", "", member("joined", at))},
		{"active with a reason", "GET", callPathID, 200, "application/json", mkCall("active", at, "null", "completed", member("joined", at))},
		{"ended without reason", "GET", callPathID, 200, "application/json", mkCall("ended", at, at, "", member("left", at))},
		{"ended without ended_at", "GET", callPathID, 200, "application/json", mkCall("ended", at, "null", "completed", member("left", at))},
		{"completed without answer", "GET", callPathID, 200, "application/json", mkCall("ended", "null", at, "completed", member("left", at))},
		{"missed but answered", "GET", callPathID, 200, "application/json", mkCall("ended", at, at, "missed", member("left", at))},
		{"ended with someone in it", "GET", callPathID, 200, "application/json", mkCall("ended", at, at, "completed", member("joined", at))},
		{"joined without joined_at", "GET", callPathID, 200, "application/json", mkCall("active", at, "null", "", member("joined", "null"))},
		{"ringing with joined_at", "GET", callPathID, 200, "application/json", mkCall("active", at, "null", "", member("ringing", at))},
		{"unknown member state", "GET", callPathID, 200, "application/json", mkCall("active", at, "null", "", member("busy", "null"))},
		{"no members", "GET", callPathID, 200, "application/json", mkCall("ringing", "null", "null", "")},
		{"unknown kind", "GET", callPathID, 200, "application/json", strings.Replace(ringing, `"video"`, `"audio"`, 1)},
		{"unknown role", "GET", callPathID, 200, "application/json", strings.Replace(ringing, `"state":"ringing","joined_at"`, `"role":"boss","state":"ringing","joined_at"`, 1)},
		{"one_way missing", "GET", callPathID, 200, "application/json", strings.Replace(ringing, `"one_way":false,`, "", 1)},
		{"extra field", "GET", callPathID, 200, "application/json", strings.Replace(ringing, `"kind"`, `"node":"a","kind"`, 1)},
		{"answered_at missing", "GET", callPathID, 200, "application/json", strings.Replace(ringing, `"answered_at":null,`, "", 1)},
		{"started but active", "POST", startPath, 201, "application/json", active},
		{"call-active without the call", "POST", startPath, 409, "application/problem+json", active409("")},
		{"call-active naming a field", "POST", startPath, 409, "application/problem+json", active409(`,"errors":[{"field":"kind","detail":"` + id + `"}]`)},
		{"call-active naming no id", "POST", startPath, 409, "application/problem+json", active409(`,"errors":[{"field":"call_id","detail":"busy"}]`)},
		{"call event without call", "GET", eventsPath, 200, "application/json", events(`"type":"call.started"`)},
		{"call.started with reason", "GET", eventsPath, 200, "application/json", events(`"type":"call.started","call":{"id":"` + id + `","kind":"voice","reason":"missed"}`)},
		{"call.ended without reason", "GET", eventsPath, 200, "application/json", events(`"type":"call.ended","call":{"id":"` + id + `","kind":"voice"}`)},
		{"missed with duration", "GET", eventsPath, 200, "application/json", events(`"type":"call.ended","call":{"id":"` + id + `","kind":"voice","reason":"missed","duration":3}`)},
		{"summary with extra field", "GET", eventsPath, 200, "application/json", events(`"type":"call.started","call":{"id":"` + id + `","kind":"voice","state":"ringing"}`)},
	}
	run := func(x exchange) error {
		u, err := url.Parse("http://127.0.0.1:1" + x.path)
		if err != nil {
			t.Fatal(err)
		}
		req := &http.Request{Method: x.method, URL: u, Header: http.Header{}, Host: u.Host}
		return contractError(req, &response{status: x.status, header: hdr(x.ct), body: []byte(x.body)})
	}
	for _, x := range good {
		if err := run(x); err != nil {
			t.Errorf("%s: refused a good exchange: %v", x.name, err)
		}
	}
	for _, x := range bad {
		if err := run(x); err == nil {
			t.Errorf("%s: the contract check let it through", x.name)
		}
	}
}

// wsFrame is any frame of the WebSocket, as far as calls care.
type wsFrame struct {
	Type          string     `json:"type"`
	ID            string     `json:"id"`
	Code          string     `json:"code"`
	ConnectionID  string     `json:"connection_id"`
	Event         *callEvent `json:"event"`
	Call          *call      `json:"call"`
	CallID        string     `json:"call_id"`
	ParticipantID string     `json:"participant_id"`
	Permissions   *struct {
		Publish   []string `json:"publish"`
		Subscribe bool     `json:"subscribe"`
	} `json:"permissions"`
	Signal *struct {
		Type string `json:"type"`
	} `json:"signal"`
}

// callDevice is a connected WebSocket whose frames a goroutine reads.
type callDevice struct {
	t       *testing.T
	ws      *websocket.Conn
	frames  chan wsFrame
	backlog []wsFrame // arrived, not yet waited for
	connID  string
}

func (c *client) callDevice(t *testing.T) *callDevice {
	t.Helper()
	ws, r := c.dialWS(t, c.e.srv.URL)
	if ws == nil {
		t.Fatalf("handshake: %d %s", r.status, r.body)
	}
	d := &callDevice{t: t, ws: ws, frames: make(chan wsFrame, 256)}
	go func() {
		defer close(d.frames)
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				return
			}
			for line := range strings.SplitSeq(string(data), "\n") {
				var f wsFrame
				if err := json.Unmarshal([]byte(line), &f); err != nil {
					t.Errorf("frame %q: %v", line, err)
					return
				}
				d.frames <- f
			}
		}
	}()
	d.connID = d.wait("hello", func(f wsFrame) bool { return f.Type == "hello" }).ConnectionID
	return d
}

// wait returns the first frame, in the order they came, that match
// accepts; the others stay for later waits.
func (d *callDevice) wait(what string, match func(wsFrame) bool) wsFrame {
	d.t.Helper()
	for i, f := range d.backlog {
		if match(f) {
			d.backlog = slices.Delete(d.backlog, i, i+1)
			return f
		}
	}
	timeout := time.After(5 * time.Second)
	for {
		select {
		case f, ok := <-d.frames:
			if !ok {
				d.t.Fatalf("the connection closed while waiting for %s", what)
			}
			if match(f) {
				return f
			}
			d.backlog = append(d.backlog, f)
		case <-timeout:
			d.t.Fatalf("no %s within 5 s", what)
		}
	}
}

// rtc sends an rtc frame with request id id and returns its answer, an
// ack or an error.
func (d *callDevice) rtc(id, callID, action string, extra map[string]any) wsFrame {
	d.t.Helper()
	f := map[string]any{"v": 1, "type": "rtc", "id": id, "call_id": callID, "action": action}
	for k, v := range extra {
		f[k] = v
	}
	if err := d.ws.WriteJSON(f); err != nil {
		d.t.Fatal(err)
	}
	return d.wait("the answer to "+id, func(f wsFrame) bool { return (f.Type == "ack" || f.Type == "error") && f.ID == id })
}

// callFrame waits for a live update of callID in which match holds.
func (d *callDevice) callFrame(callID, what string, match func(call) bool) call {
	d.t.Helper()
	return *d.wait(what, func(f wsFrame) bool {
		return f.Type == "call" && f.Call != nil && f.Call.ID == callID && match(*f.Call)
	}).Call
}

func TestCallsReachDevicesLiveAndDevicesConnectWithTheirPermissions(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ana, anaU := e.signup("ana@example.com", "Ana")
		bo, boU := e.signup("bo@example.com", "Bo")
		conv := ana.direct(t, boU.ID, http.StatusCreated)
		phone := bo.callDevice(t)

		// The call rings on Bo's device through the history's event.
		c := ana.startCall(t, conv.ID, "voice")
		ev := phone.wait("call.started", func(f wsFrame) bool { return f.Type == "event" && f.Event != nil && f.Event.Type == "call.started" })
		if ev.Event.Call == nil || *ev.Event.Call != (callSummary{ID: c.ID, Kind: "voice"}) || ev.Event.ActorID != anaU.ID {
			t.Fatalf("call.started frame %+v", ev.Event)
		}

		// A frame for a call the device has not connected to.
		if f := phone.rtc("p0", c.ID, "pause", map[string]any{"source": "microphone", "paused": true}); f.Type != "error" || f.Code != "not-connected" {
			t.Fatalf("pause before connect: %+v", f)
		}
		// Connecting answers the call; a voice call publishes no camera.
		ack := phone.rtc("c1", c.ID, "connect", nil)
		if ack.Type != "ack" || ack.ParticipantID != boU.ID+"~"+phone.connID || ack.Permissions == nil || !ack.Permissions.Subscribe ||
			slices.Contains(ack.Permissions.Publish, "camera") || !slices.Contains(ack.Permissions.Publish, "microphone") {
			t.Fatalf("connect to a voice call: %+v %+v", ack, ack.Permissions)
		}
		live := phone.callFrame(c.ID, "the answered call", func(c call) bool { return c.State == "active" })
		if live.member(boU.ID) != "joined" || live.AnsweredAt == nil {
			t.Fatalf("live call after connect %+v", live)
		}
		if f := phone.rtc("c2", c.ID, "connect", nil); f.Type != "error" || f.Code != "already-connected" {
			t.Fatalf("second connect from one device: %+v", f)
		}
		if f := phone.rtc("p1", c.ID, "pause", map[string]any{"source": "camera", "paused": true}); f.Type != "error" || f.Code != "not-published" {
			t.Fatalf("pause of what is not published: %+v", f)
		}

		// Leaving over the socket takes Bo out; Ana is still in.
		if f := phone.rtc("l1", c.ID, "leave", nil); f.Type != "ack" {
			t.Fatalf("leave: %+v", f)
		}
		phone.callFrame(c.ID, "bo leaving", func(c call) bool { return c.member(boU.ID) == "left" && c.State == "active" })
		ana.callAction(t, c.ID, "leave")
		ended := phone.callFrame(c.ID, "the end of the call", func(c call) bool { return c.State == "ended" })
		if ended.EndReason != "completed" {
			t.Fatalf("ended call frame %+v", ended)
		}
		phone.wait("call.ended", func(f wsFrame) bool { return f.Type == "event" && f.Event != nil && f.Event.Type == "call.ended" })
		if f := phone.rtc("c3", c.ID, "connect", nil); f.Type != "error" || f.Code != "call-ended" {
			t.Fatalf("connect to an ended call: %+v", f)
		}

		// A video call lets the device publish its camera.
		v := ana.startCall(t, conv.ID, "video")
		if ack := phone.rtc("c4", v.ID, "connect", nil); ack.Type != "ack" || ack.Permissions == nil || !slices.Contains(ack.Permissions.Publish, "camera") {
			t.Fatalf("connect to a video call: %+v", ack)
		}
		// A device that goes away leaves the call with it.
		phone.ws.Close()
		if got := ana.getCall(t, v.ID); got.State != "active" {
			t.Fatalf("video call %+v", got)
		}
		deadline := time.Now().Add(5 * time.Second)
		for ana.getCall(t, v.ID).member(boU.ID) != "left" {
			if time.Now().After(deadline) {
				t.Fatalf("bo's device closed, yet bo is still in the call: %+v", ana.getCall(t, v.ID))
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// Two people leaving (or ending) at the same moment must end the call
// exactly once; on PostgreSQL this needs the call's row locked.
func TestConcurrentLeavesAndEndsEndTheCallOnce(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ana, _ := e.signup("ana@example.com", "Ana")
		bo, boU := e.signup("bo@example.com", "Bo")
		conv := ana.direct(t, boU.ID, http.StatusCreated)
		manual := 0
		for i := 0; i < 30; i++ {
			c := ana.startCall(t, conv.ID, "voice")
			bo.callAction(t, c.ID, "join")
			action := []string{"leave", "end"}[i%2]
			var wg sync.WaitGroup
			for _, who := range []*client{ana, bo} {
				wg.Add(1)
				go func() { defer wg.Done(); who.do("POST", callPath(c.ID, action), nil) }()
			}
			wg.Wait()
			if got := ana.getCall(t, c.ID); got.State != "ended" {
				t.Errorf("concurrent %s: the call stays %s with members %+v", action, got.State, got.Members)
				ana.callAction(t, c.ID, "end")
				manual++
			}
		}
		ends := 0
		for _, ev := range ana.callHistory(t, conv.ID) {
			if ev.Type == "call.ended" {
				ends++
			}
		}
		if ends-manual != 30 {
			t.Errorf("%d call.ended events for 30 calls", ends-manual)
		}
	})
}

// A device the call's room refuses (full here) must not join its person to
// the call.
func TestARefusedConnectDoesNotJoinTheCall(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ana, _ := e.signup("ana@example.com", "Ana")
		bo, boU := e.signup("bo@example.com", "Bo")
		conv := ana.direct(t, boU.ID, http.StatusCreated)
		c := ana.startCall(t, conv.ID, "voice")
		a := ana.callDevice(t)
		a.rtc("a1", c.ID, "connect", nil)
		b := bo.callDevice(t)
		if f := b.rtc("b1", c.ID, "connect", nil); f.Code != "call-full" {
			t.Fatalf("%+v", f)
		}
		b.ws.Close()
		a.rtc("a2", c.ID, "leave", nil)
		if got := ana.getCall(t, c.ID); got.State != "ended" {
			t.Errorf("bo was refused and ana left, yet the call is %s: %+v", got.State, got.Members)
		}
	}, func(c *app.Config) { c.RTC.MaxParticipants = 1 })
}
