package app_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSearchFindsOnlyWhatTheCallerMaySee(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ana, _ := e.signup("ana@example.com", "Ana")
		bo, boU := e.signup("bo@example.com", "Bo")
		cy, cyU := e.signup("cy@example.com", "Cy")
		ab := ana.direct(t, boU.ID, http.StatusCreated)
		ac := ana.direct(t, cyU.ID, http.StatusCreated)
		g := ana.group(t, "Finance", boU.ID, cyU.ID)

		e.clock.Advance(time.Minute)
		report := ana.send(t, ab.ID, "s1", "The quarterly report is ready")
		e.clock.Advance(time.Minute)
		budget := ana.send(t, ac.ID, "s2", "quarterly budget, secret")
		e.clock.Advance(time.Minute)
		plan := cy.send(t, g.ID, "s3", "Quarterly plan for the group")
		old := ana.send(t, ab.ID, "s4", "quarterly draft to delete")
		ana.do("DELETE", msgPath(ab.ID, old.ID), nil).want(t, 204)

		ids := func(p page[message]) []string {
			var out []string
			for _, m := range p.Items {
				out = append(out, m.ID)
			}
			return out
		}
		if got := ids(ana.search(t, "q=quarterly")); !slices.Equal(got, []string{plan.ID, budget.ID, report.ID}) {
			t.Fatalf("Ana finds %v, want newest first %v", got, []string{plan.ID, budget.ID, report.ID})
		}
		if got := ids(bo.search(t, "q=quarterly")); !slices.Equal(got, []string{plan.ID, report.ID}) {
			t.Fatalf("Bo finds %v: another conversation's message leaked, or one is missing", got)
		}
		if got := ids(bo.search(t, "q=secret+budget")); len(got) != 0 {
			t.Fatalf("Bo finds Ana and Cy's message: %v", got)
		}
		if got := ids(ana.search(t, "q=quarterly+report")); !slices.Equal(got, []string{report.ID}) {
			t.Fatalf("every word must match: %v", got)
		}
		if got := ids(ana.search(t, "q=quarterly&conversation="+ac.ID)); !slices.Equal(got, []string{budget.ID}) {
			t.Fatalf("in one conversation: %v", got)
		}
		bo.do("GET", "/api/v1/search?q=quarterly&conversation="+ac.ID, nil).problem(t, 404, "not-found")

		// Pages of one.
		var got []string
		cursor := ""
		for range 5 {
			p := ana.search(t, "q=quarterly&limit=1&cursor="+cursor)
			got = append(got, ids(p)...)
			if p.NextCursor == "" {
				break
			}
			cursor = p.NextCursor
		}
		if !slices.Equal(got, []string{plan.ID, budget.ID, report.ID}) {
			t.Fatalf("paging gave %v", got)
		}

		// An edit is found by its new words only.
		ana.do("PATCH", msgPath(ab.ID, report.ID), map[string]any{"body": "The annual summary is ready"}).want(t, 200)
		if got := ids(bo.search(t, "q=annual")); !slices.Equal(got, []string{report.ID}) {
			t.Fatalf("after the edit, 'annual' finds %v", got)
		}
		if got := ids(bo.search(t, "q=quarterly")); !slices.Equal(got, []string{plan.ID}) {
			t.Fatalf("after the edit, 'quarterly' finds %v", got)
		}

		// Leaving a group hides it from search.
		cy.do("DELETE", convPath(g.ID, "members", cyU.ID), nil).want(t, 204)
		if got := ids(cy.search(t, "q=plan")); len(got) != 0 {
			t.Fatalf("after leaving, Cy still finds %v", got)
		}

		// Search syntax typed by a person is taken literally, never an error.
		for _, q := range []string{`"quarterly`, `quarterly*`, `NEAR(quarterly plan)`, `plan OR budget`, `body:plan`, `*`, `-`, `'); DROP TABLE messages; --`} {
			ana.search(t, "q="+url.QueryEscape(q))
		}
		wantFields(t, ana.do("GET", "/api/v1/search?q=", nil).problem(t, 422, "validation"), "q")
		wantFields(t, ana.do("GET", "/api/v1/search", nil).problem(t, 422, "validation"), "q")
		wantFields(t, ana.do("GET", "/api/v1/search?q=+++", nil).problem(t, 422, "validation"), "q")
		wantFields(t, ana.do("GET", "/api/v1/search?q="+strings.Repeat("x", 201), nil).problem(t, 422, "validation"), "q")
		ana.search(t, "q="+strings.Repeat("é", 200))
		ana.do("GET", "/api/v1/search?q=x&limit=101", nil).problem(t, 400, "bad-request")
		ana.do("GET", "/api/v1/search?q=x&cursor=nonsense!", nil).problem(t, 400, "bad-request")
	})
}

func TestGroupAdminsManageMembers(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ana, anaU := e.signup("ana@example.com", "Ana")
		bo, boU := e.signup("bo@example.com", "Bo")
		cy, cyU := e.signup("cy@example.com", "Cy")
		_, dee := e.signup("dee@example.com", "Dee")
		g := ana.group(t, "Design", boU.ID)
		direct := ana.direct(t, boU.ID, http.StatusCreated)

		before := e.rows()
		bo.do("POST", convPath(g.ID, "members"), map[string]any{"user_id": cyU.ID}).problem(t, 403, "forbidden")
		bo.do("PATCH", convPath(g.ID), map[string]any{"title": "Mine"}).problem(t, 403, "forbidden")
		cy.do("POST", convPath(g.ID, "members"), map[string]any{"user_id": cyU.ID}).problem(t, 404, "not-found")
		wantFields(t, ana.do("POST", convPath(g.ID, "members"), map[string]any{"user_id": "0195a2b4-7c3e-7d12-8f00-123456789abc"}).problem(t, 422, "validation"), "user_id")
		wantFields(t, ana.do("POST", convPath(g.ID, "members"), map[string]any{"user_id": cyU.ID, "role": "owner"}).problem(t, 422, "validation"), "role")
		ana.do("POST", convPath(g.ID, "members"), `{"user": "x"}`).problem(t, 400, "bad-request")
		ana.do("POST", convPath(g.ID, "members"), map[string]any{"user_id": boU.ID}).problem(t, 409, "already-member")
		ana.do("POST", convPath(direct.ID, "members"), map[string]any{"user_id": cyU.ID}).problem(t, 409, "not-a-group")
		ana.do("PATCH", convPath(direct.ID), map[string]any{"title": "Us"}).problem(t, 409, "not-a-group")
		ana.do("DELETE", convPath(direct.ID, "members", boU.ID), nil).problem(t, 409, "not-a-group")
		wantFields(t, ana.do("PATCH", convPath(g.ID), map[string]any{"title": ""}).problem(t, 422, "validation"), "title")
		e.wantRows(t, before)

		var m member
		ana.do("POST", convPath(g.ID, "members"), map[string]any{"user_id": cyU.ID}).want(t, 201).decode(t, &m)
		if m.UserID != cyU.ID || m.Name != "Cy" || m.Role != "member" {
			t.Fatalf("added %+v", m)
		}
		ana.do("POST", convPath(g.ID, "members"), map[string]any{"user_id": cyU.ID}).problem(t, 409, "already-member")
		ana.do("POST", convPath(g.ID, "members"), map[string]any{"user_id": dee.ID, "role": "admin"}).want(t, 201).decode(t, &m)
		if m.Role != "admin" {
			t.Fatalf("added as admin: %+v", m)
		}
		// The newcomer sees the group, its history and its members.
		if c := cy.conversation(t, g.ID); c.MemberCount != 4 || c.Role != "member" {
			t.Fatalf("Cy sees %+v", c)
		}
		var renamed conversation
		ana.do("PATCH", convPath(g.ID), map[string]any{"title": " Design review "}).want(t, 200).decode(t, &renamed)
		if renamed.Title != "Design review" {
			t.Fatalf("renamed to %q", renamed.Title)
		}

		// A member cannot remove another, but anyone can leave.
		bo.do("DELETE", convPath(g.ID, "members", cyU.ID), nil).problem(t, 403, "forbidden")
		cy.do("DELETE", convPath(g.ID, "members", cyU.ID), nil).want(t, 204)
		cy.do("GET", convPath(g.ID), nil).problem(t, 404, "not-found")
		cy.do("GET", convPath(g.ID, "messages"), nil).problem(t, 404, "not-found")
		cy.do("POST", convPath(g.ID, "messages"), map[string]any{"client_id": "x", "body": "still here?"}).problem(t, 404, "not-found")
		cy.do("DELETE", convPath(g.ID, "members", cyU.ID), nil).problem(t, 404, "not-found")
		if list := cy.conversations(t); len(list) != 0 {
			t.Fatalf("Cy still lists %+v", list)
		}
		ana.do("DELETE", convPath(g.ID, "members", cyU.ID), nil).problem(t, 404, "not-found")

		// An admin removes someone; when the last admin leaves, the
		// longest-standing member takes over.
		ana.do("DELETE", convPath(g.ID, "members", dee.ID), nil).want(t, 204)
		ana.do("DELETE", convPath(g.ID, "members", anaU.ID), nil).want(t, 204)
		members := bo.members(t, g.ID)
		if len(members) != 1 || members[0].UserID != boU.ID || members[0].Role != "admin" {
			t.Fatalf("after the last admin left: %+v", members)
		}
		if c := bo.conversation(t, g.ID); c.Role != "admin" || c.MemberCount != 1 || c.Title != "Design review" {
			t.Fatalf("Bo sees %+v", c)
		}
		ev := bo.events(t, g.ID, "")
		var log []string
		for _, x := range ev.Items {
			log = append(log, x.Type+" "+x.UserID+" "+x.Role+x.Title)
		}
		want := []string{
			"conversation.created  Design",
			"member.added " + cyU.ID + " member",
			"member.added " + dee.ID + " admin",
			"conversation.updated  Design review",
			"member.removed " + cyU.ID + " ",
			"member.removed " + dee.ID + " ",
			"member.removed " + anaU.ID + " ",
			"member.updated " + boU.ID + " admin",
		}
		if !slices.Equal(log, want) {
			t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(log, "\n"), strings.Join(want, "\n"))
		}
	})
}
