// Calls beyond the lifecycle: one-way help roles, the live calls a new
// device finds, and the call history a thread reads.

package app_test

import (
	"fmt"
	"net/http"
	"testing"
)

func TestAHelpCallGivesEachMemberARole(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ana, anaU := e.signup("ana@example.com", "Ana")
		bo, boU := e.signup("bo@example.com", "Bo")
		conv := ana.direct(t, boU.ID, http.StatusCreated)

		// Without a role the starter helps.
		var c call
		ana.do("POST", convPath(conv.ID, "calls"), map[string]any{"kind": "help"}).want(t, http.StatusCreated).decode(t, &c)
		if c.Kind != "help" || !c.OneWay {
			t.Fatalf("a help call: %+v", c)
		}
		for user, role := range map[string]string{anaU.ID: "helper", boU.ID: "customer"} {
			if got := c.role(user); got != role {
				t.Fatalf("%s has role %q, want %q", user, got, role)
			}
		}
		bo.callAction(t, c.ID, "join")
		ended := ana.callAction(t, c.ID, "end")
		if ended.State != "ended" || ended.Kind != "help" {
			t.Fatalf("after the end: %+v", ended)
		}
		if h := bo.callHistory(t, conv.ID); len(h) != 2 || h[1].Call.Kind != "help" {
			t.Fatalf("the history shows %+v", h)
		}

		// Asking for help: the other person helps.
		bo.do("POST", convPath(conv.ID, "calls"), map[string]any{"kind": "help", "role": "customer"}).want(t, http.StatusCreated).decode(t, &c)
		if c.role(boU.ID) != "customer" || c.role(anaU.ID) != "helper" {
			t.Fatalf("roles when asking for help: %+v", c.Members)
		}
		// An ordinary call has no roles.
		bo.callAction(t, c.ID, "end")
		v := ana.startCall(t, conv.ID, "video")
		if v.OneWay || v.role(anaU.ID) != "" || v.role(boU.ID) != "" {
			t.Fatalf("a video call: %+v", v)
		}
	})
}

func TestADeviceOpenedMidRingFindsTheLiveCall(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ana, _ := e.signup("ana@example.com", "Ana")
		bo, boU := e.signup("bo@example.com", "Bo")
		cy, _ := e.signup("cy@example.com", "Cy")
		conv := ana.direct(t, boU.ID, http.StatusCreated)
		var none struct {
			Items []call `json:"items"`
		}
		bo.do("GET", "/api/v1/calls", nil).want(t, http.StatusOK).decode(t, &none)
		if len(none.Items) != 0 {
			t.Fatalf("live calls before any: %+v", none.Items)
		}
		c := ana.startCall(t, conv.ID, "video")
		var live struct {
			Items []call `json:"items"`
		}
		bo.do("GET", "/api/v1/calls", nil).want(t, http.StatusOK).decode(t, &live)
		if len(live.Items) != 1 || live.Items[0].ID != c.ID || live.Items[0].member(boU.ID) != "ringing" {
			t.Fatalf("bo's new device sees %+v", live.Items)
		}
		cy.do("GET", "/api/v1/calls", nil).want(t, http.StatusOK).decode(t, &live)
		if len(live.Items) != 0 {
			t.Fatal("someone outside the conversation sees its call")
		}
		ana.callAction(t, c.ID, "end")
		bo.do("GET", "/api/v1/calls", nil).want(t, http.StatusOK).decode(t, &live)
		if len(live.Items) != 0 {
			t.Fatal("an ended call is still live")
		}
	})
}

func TestAThreadReadsItsCallHistoryBetweenSeqs(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ana, _ := e.signup("ana@example.com", "Ana")
		_, boU := e.signup("bo@example.com", "Bo")
		conv := ana.direct(t, boU.ID, http.StatusCreated)
		first := ana.startCall(t, conv.ID, "voice")
		ana.callAction(t, first.ID, "end")
		second := ana.startCall(t, conv.ID, "video")
		ana.callAction(t, second.ID, "end")
		var all page[callEvent]
		ana.do("GET", convPath(conv.ID, "events")+"?type=call.ended", nil).want(t, http.StatusOK).decode(t, &all)
		if len(all.Items) != 2 || all.Items[0].Call.ID != first.ID || all.Items[1].Call.ID != second.ID {
			t.Fatalf("the call history: %+v", all.Items)
		}
		for _, ev := range all.Items {
			if ev.Type != "call.ended" {
				t.Fatalf("a %s among call.ended", ev.Type)
			}
		}
		var before page[callEvent]
		ana.do("GET", fmt.Sprintf("%s?type=call.ended&type=call.started&before=%d", convPath(conv.ID, "events"), all.Items[1].Seq), nil).
			want(t, http.StatusOK).decode(t, &before)
		if len(before.Items) != 3 || before.Items[2].Type != "call.started" || before.Items[2].Call.ID != second.ID {
			t.Fatalf("before the second end: %+v", before.Items)
		}
		ana.do("GET", convPath(conv.ID, "events")+"?type=call.exploded", nil).problem(t, 400, "bad-request")
		ana.do("GET", convPath(conv.ID, "events")+"?before=-1", nil).problem(t, 400, "bad-request")
	})
}
