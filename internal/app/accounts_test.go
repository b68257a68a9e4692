package app_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/app"
)

func TestFirstAccountBecomesAdminAndLaterOnesMembers(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		_, first := e.signup("  Ana@Example.COM ", "Ana")
		if first.Role != "admin" || first.Email != "ana@example.com" || first.Name != "Ana" {
			t.Fatalf("first account = %+v, want admin ana@example.com", first)
		}
		_, second := e.signup("bo@example.com", "Bo")
		if second.Role != "member" {
			t.Fatalf("second account role = %q, want member", second.Role)
		}
	})
}

func TestConfigSaysAFreshInstallationAwaitsItsOperator(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		var cfg struct{ Setup bool }
		e.client().do("GET", "/api/v1/config", nil).want(t, http.StatusOK).decode(t, &cfg)
		if !cfg.Setup {
			t.Fatal("a fresh installation's config has setup false")
		}
		e.signup("ana@example.com", "Ana")
		e.client().do("GET", "/api/v1/config", nil).want(t, http.StatusOK).decode(t, &cfg)
		if cfg.Setup {
			t.Fatal("config still says setup once the operator's account exists")
		}
	})
}

func TestSignupRejectsBadInputAndWritesNothing(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		e.signup("taken@example.com", "Taken")
		c := e.client()
		cases := []struct {
			name   string
			body   any
			status int
			slug   string
			fields []string
		}{
			{"malformed JSON", `{"email": "a@example.com",`, 400, "bad-request", nil},
			{"not an object", `[1, 2]`, 400, "bad-request", nil},
			{"wrong type", `{"email": 5, "name": "A", "password": "0123456789"}`, 400, "bad-request", []string{"email"}},
			{"unknown field", `{"email": "a@example.com", "name": "A", "password": "0123456789", "admin": true}`, 400, "bad-request", []string{"admin"}},
			{"two values", `{"email": "a@example.com"} {}`, 400, "bad-request", nil},
			{"empty body", ``, 400, "bad-request", nil},
			{"too large", `{"name": "` + strings.Repeat("x", 1<<20) + `"}`, 413, "too-large", nil},
			{"invalid fields", map[string]string{"email": "not-an-email", "name": " ", "password": "short"}, 422, "validation", []string{"email", "name", "password"}},
			{"password too long", map[string]string{"email": "a@example.com", "name": "A", "password": strings.Repeat("p", 257)}, 422, "validation", []string{"password"}},
			{"name too long", map[string]string{"email": "a@example.com", "name": strings.Repeat("n", 101), "password": goodPassword}, 422, "validation", []string{"name"}},
			{"control character in name", map[string]string{"email": "a@example.com", "name": "A\x07", "password": goodPassword}, 422, "validation", []string{"name"}},
			{"duplicate email in other case", map[string]string{"email": "TAKEN@example.com", "name": "Again", "password": goodPassword}, 409, "email-taken", []string{"email"}},
		}
		users, sessions := e.count("users"), e.count("sessions")
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				p := c.do("POST", "/api/v1/auth/signup", tc.body).problem(t, tc.status, tc.slug)
				for _, f := range tc.fields {
					if !slices.Contains(p.fields(), f) {
						t.Errorf("problem does not name field %q: %+v", f, p)
					}
				}
				if c.cookie != "" {
					t.Error("a rejected sign-up set a session cookie")
				}
			})
		}
		if got := e.count("users"); got != users {
			t.Errorf("users: %d rows after rejected sign-ups, want %d", got, users)
		}
		if got := e.count("sessions"); got != sessions {
			t.Errorf("sessions: %d rows after rejected sign-ups, want %d", got, sessions)
		}
		c.header = http.Header{"Content-Type": {"text/plain"}}
		c.do("POST", "/api/v1/auth/signup", `{}`).problem(t, 415, "unsupported-media-type")
	})
}

func TestLoginGivesOneAnswerForUnknownEmailAndWrongPassword(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		e.signup("ana@example.com", "Ana")
		c := e.client()
		wrong := c.do("POST", "/api/v1/auth/login", map[string]string{"email": "ana@example.com", "password": "wrong password"}).
			problem(t, 401, "bad-credentials")
		unknown := c.do("POST", "/api/v1/auth/login", map[string]string{"email": "nobody@example.com", "password": "wrong password"}).
			problem(t, 401, "bad-credentials")
		if wrong.Detail != unknown.Detail || wrong.Title != unknown.Title {
			t.Fatalf("answers differ: %+v vs %+v", wrong, unknown)
		}
		if c.cookie != "" {
			t.Fatal("failed sign-in set a cookie")
		}

		res := c.do("POST", "/api/v1/auth/login", map[string]string{"email": "ANA@example.com", "password": goodPassword}).want(t, 200)
		ck := res.header.Get("Set-Cookie")
		for _, attr := range []string{"HttpOnly", "SameSite=Lax", "Path=/"} {
			if !strings.Contains(ck, attr) {
				t.Errorf("session cookie %q lacks %s", ck, attr)
			}
		}
		if strings.Contains(ck, "Secure") {
			t.Errorf("cookie %q is Secure over plain HTTP", ck)
		}
		var me user
		c.do("GET", "/api/v1/me", nil).want(t, 200).decode(t, &me)
		if me.Email != "ana@example.com" {
			t.Fatalf("me = %+v", me)
		}
	})
}

func TestRepeatedFailedSignInsAreThrottledPerAccount(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		e.signup("ana@example.com", "Ana")
		c := e.client()
		bad := map[string]string{"email": "ana@example.com", "password": "wrong password"}
		for range 5 {
			c.do("POST", "/api/v1/auth/login", bad).problem(t, 401, "bad-credentials")
		}
		res := c.do("POST", "/api/v1/auth/login", map[string]string{"email": "ana@example.com", "password": goodPassword})
		res.problem(t, 429, "rate-limited")
		if res.header.Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
		if e.count("sessions") != 1 { // only the sign-up's
			t.Fatal("a throttled sign-in created a session")
		}
		// An unknown account is throttled the same way, so a 429 reveals nothing.
		for range 5 {
			c.do("POST", "/api/v1/auth/login", map[string]string{"email": "ghost@example.com", "password": "x"}).problem(t, 401, "bad-credentials")
		}
		c.do("POST", "/api/v1/auth/login", map[string]string{"email": "ghost@example.com", "password": "x"}).problem(t, 429, "rate-limited")

		e.clock.Advance(16 * time.Minute)
		c.do("POST", "/api/v1/auth/login", map[string]string{"email": "ana@example.com", "password": goodPassword}).want(t, 200)
	})
}

func TestFailedSignInsAreThrottledPerClientAddress(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		c := e.client()
		for i := range 20 {
			email := "guess" + string(rune('a'+i)) + "@example.com"
			c.do("POST", "/api/v1/auth/login", map[string]string{"email": email, "password": "x"}).problem(t, 401, "bad-credentials")
		}
		c.do("POST", "/api/v1/auth/login", map[string]string{"email": "fresh@example.com", "password": "x"}).problem(t, 429, "rate-limited")
	})
}

func TestLogoutEndsTheSession(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		c, _ := e.signup("ana@example.com", "Ana")
		stolen := *c
		c.do("POST", "/api/v1/auth/logout", nil).want(t, 204)
		if c.cookie != "" {
			t.Fatal("logout did not clear the cookie")
		}
		stolen.do("GET", "/api/v1/me", nil).problem(t, 401, "unauthorized")
		c.do("POST", "/api/v1/auth/logout", nil).problem(t, 401, "unauthorized")
	})
}

func TestChangePasswordEndsOtherSessions(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		phone, _ := e.signup("ana@example.com", "Ana")
		laptop := e.client()
		laptop.do("POST", "/api/v1/auth/login", map[string]string{"email": "ana@example.com", "password": goodPassword}).want(t, 200)

		phone.do("POST", "/api/v1/auth/password", map[string]string{"current_password": "not it at all", "new_password": "a brand new secret"}).
			problem(t, 403, "wrong-password")
		laptop.do("GET", "/api/v1/me", nil).want(t, 200) // the failed change ended nothing
		phone.do("POST", "/api/v1/auth/password", map[string]string{"current_password": goodPassword, "new_password": "short"}).
			problem(t, 422, "validation")

		phone.do("POST", "/api/v1/auth/password", map[string]string{"current_password": goodPassword, "new_password": "a brand new secret"}).want(t, 204)
		phone.do("GET", "/api/v1/me", nil).want(t, 200)
		laptop.do("GET", "/api/v1/me", nil).problem(t, 401, "unauthorized")

		other := e.client()
		other.do("POST", "/api/v1/auth/login", map[string]string{"email": "ana@example.com", "password": goodPassword}).problem(t, 401, "bad-credentials")
		other.do("POST", "/api/v1/auth/login", map[string]string{"email": "ana@example.com", "password": "a brand new secret"}).want(t, 200)
	})
}

func TestSessionsCanBeListedAndEndedOnlyByTheirOwner(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		phone, _ := e.signup("ana@example.com", "Ana")
		laptop := e.client()
		laptop.header = http.Header{"User-Agent": {"Laptop Browser"}}
		laptop.do("POST", "/api/v1/auth/login", map[string]string{"email": "ana@example.com", "password": goodPassword}).want(t, 200)
		mallory, _ := e.signup("mallory@example.com", "Mallory")

		var list struct {
			Items []struct {
				ID        string `json:"id"`
				UserAgent string `json:"user_agent"`
				Current   bool   `json:"current"`
			} `json:"items"`
		}
		phone.do("GET", "/api/v1/sessions", nil).want(t, 200).decode(t, &list)
		if len(list.Items) != 2 {
			t.Fatalf("sessions = %+v, want 2", list.Items)
		}
		var laptopID string
		for _, s := range list.Items {
			if s.UserAgent == "Laptop Browser" {
				laptopID = s.ID
				if s.Current {
					t.Error("the laptop's session is marked current on the phone")
				}
			}
		}
		if laptopID == "" {
			t.Fatal("laptop session not listed")
		}
		mallory.do("DELETE", "/api/v1/sessions/"+laptopID, nil).problem(t, 404, "not-found")
		laptop.do("GET", "/api/v1/me", nil).want(t, 200)
		phone.do("DELETE", "/api/v1/sessions/"+laptopID, nil).want(t, 204)
		laptop.do("GET", "/api/v1/me", nil).problem(t, 401, "unauthorized")
	})
}

func TestSessionsEndWhenIdleAndAtTheirLifetime(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		c, _ := e.signup("ana@example.com", "Ana")
		e.clock.Advance(47 * time.Hour)
		c.do("GET", "/api/v1/me", nil).want(t, 200) // use keeps it alive
		e.clock.Advance(47 * time.Hour)
		c.do("GET", "/api/v1/me", nil).want(t, 200)
		e.clock.Advance(49 * time.Hour) // idle longer than 48 h
		c.do("GET", "/api/v1/me", nil).problem(t, 401, "unauthorized")

		d, _ := e.signup("bo@example.com", "Bo")
		for range 4 { // used every day, but the absolute lifetime is 4 days
			e.clock.Advance(24 * time.Hour)
			d.do("GET", "/api/v1/me", nil).want(t, 200)
		}
		e.clock.Advance(time.Hour)
		d.do("GET", "/api/v1/me", nil).problem(t, 401, "unauthorized")
	}, func(c *app.Config) {
		c.SessionIdle = 48 * time.Hour
		c.SessionLifetime = 96*time.Hour + 30*time.Minute
	})
}

type token struct {
	ID         string  `json:"id"`
	Name       string  `json:"name"`
	Prefix     string  `json:"prefix"`
	Token      string  `json:"token"`
	LastUsedAt *string `json:"last_used_at"`
}

func TestAPITokensAuthenticateProgramsUntilRevoked(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		c, ana := e.signup("ana@example.com", "Ana")
		var tok token
		c.do("POST", "/api/v1/tokens", map[string]string{"name": "lobby TV"}).want(t, 201).decode(t, &tok)
		if !strings.HasPrefix(tok.Token, "pt_") || !strings.HasPrefix(tok.Token, tok.Prefix) || tok.Name != "lobby TV" {
			t.Fatalf("token = %+v", tok)
		}

		bot := e.client()
		bot.token = tok.Token
		bot.origin = "https://elsewhere.example" // programs are not held to the browser's origin rule
		var me user
		bot.do("GET", "/api/v1/me", nil).want(t, 200).decode(t, &me)
		if me.ID != ana.ID {
			t.Fatalf("token authenticated as %+v", me)
		}
		bot.do("POST", "/api/v1/tokens", map[string]string{"name": "made by the bot"}).want(t, 201)

		var list struct{ Items []token }
		res := c.do("GET", "/api/v1/tokens", nil).want(t, 200)
		res.decode(t, &list)
		if len(list.Items) != 2 || strings.Contains(string(res.body), tok.Token) {
			t.Fatalf("listing: %s (must not contain the secret)", res.body)
		}

		mallory, _ := e.signup("mallory@example.com", "Mallory")
		mallory.do("DELETE", "/api/v1/tokens/"+tok.ID, nil).problem(t, 404, "not-found")
		bot.do("GET", "/api/v1/me", nil).want(t, 200)

		c.do("DELETE", "/api/v1/tokens/"+tok.ID, nil).want(t, 204)
		bot.do("GET", "/api/v1/me", nil).problem(t, 401, "unauthorized")

		for _, bad := range []string{"Bearer pt_nonsense", "Basic dXNlcjpwYXNz", "Bearer "} {
			x := e.client()
			x.header = http.Header{"Authorization": {bad}}
			x.do("GET", "/api/v1/me", nil).problem(t, 401, "unauthorized")
		}
		c.do("POST", "/api/v1/tokens", map[string]string{"name": ""}).problem(t, 422, "validation")
		c.do("POST", "/api/v1/tokens", map[string]any{"name": "old", "expires_at": "2020-01-01T00:00:00Z"}).problem(t, 422, "validation")
	})
}

func TestExpiredTokensStopWorking(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		c, _ := e.signup("ana@example.com", "Ana")
		var tok token
		expires := e.clock.Now().Add(time.Hour).Format(time.RFC3339)
		c.do("POST", "/api/v1/tokens", map[string]string{"name": "short", "expires_at": expires}).want(t, 201).decode(t, &tok)
		bot := e.client()
		bot.token = tok.Token
		bot.do("GET", "/api/v1/me", nil).want(t, 200)
		e.clock.Advance(61 * time.Minute)
		bot.do("GET", "/api/v1/me", nil).problem(t, 401, "unauthorized")
	})
}

func TestRolesAreEnforcedOnAdminRoutes(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		admin, ana := e.signup("ana@example.com", "Ana")
		member, bo := e.signup("bo@example.com", "Bo")
		anon := e.client()

		anon.do("PATCH", "/api/v1/users/"+bo.ID, map[string]string{"role": "agent"}).problem(t, 401, "unauthorized")
		member.do("PATCH", "/api/v1/users/"+bo.ID, map[string]string{"role": "admin"}).problem(t, 403, "forbidden")
		member.do("GET", "/api/v1/invites", nil).problem(t, 403, "forbidden")
		member.do("POST", "/api/v1/users", map[string]string{"email": "x@example.com", "name": "X", "password": goodPassword}).problem(t, 403, "forbidden")
		var me user
		member.do("GET", "/api/v1/me", nil).want(t, 200).decode(t, &me)
		if me.Role != "member" {
			t.Fatalf("a refused change altered the role: %+v", me)
		}

		admin.do("PATCH", "/api/v1/users/"+bo.ID, map[string]string{"role": "superuser"}).problem(t, 422, "validation")
		admin.do("PATCH", "/api/v1/users/no-such-user", map[string]string{"role": "agent"}).problem(t, 404, "not-found")
		var changed user
		admin.do("PATCH", "/api/v1/users/"+bo.ID, map[string]string{"role": "agent"}).want(t, 200).decode(t, &changed)
		if changed.Role != "agent" {
			t.Fatalf("role = %q", changed.Role)
		}
		member.do("GET", "/api/v1/me", nil).want(t, 200).decode(t, &me)
		if me.Role != "agent" {
			t.Fatalf("the role change did not reach the live session: %+v", me)
		}
		admin.do("PATCH", "/api/v1/users/"+ana.ID, map[string]string{"role": "member"}).problem(t, 409, "last-admin")

		var created user
		admin.do("POST", "/api/v1/users", map[string]string{"email": "cy@example.com", "name": "Cy", "password": goodPassword, "role": "expert"}).
			want(t, 201).decode(t, &created)
		if created.Role != "expert" {
			t.Fatalf("created = %+v", created)
		}
	})
}

func TestSignupModes(t *testing.T) {
	t.Run("closed", func(t *testing.T) {
		eachEngine(t, func(t *testing.T, e *env) {
			e.signup("ana@example.com", "Ana") // the first account may always be made
			c := e.client()
			c.do("GET", "/api/v1/config", nil).want(t, 200)
			c.do("POST", "/api/v1/auth/signup", map[string]string{"email": "bo@example.com", "name": "Bo", "password": goodPassword}).
				problem(t, 403, "signup-closed")
			if e.count("users") != 1 {
				t.Fatal("closed sign-up wrote a user")
			}
		}, func(c *app.Config) { c.SignupMode = "closed" })
	})
	t.Run("invite", func(t *testing.T) {
		eachEngine(t, func(t *testing.T, e *env) {
			admin, _ := e.signup("ana@example.com", "Ana")
			c := e.client()
			signup := func(email, invite string) *response {
				return c.do("POST", "/api/v1/auth/signup", map[string]string{"email": email, "name": "New", "password": goodPassword, "invite": invite})
			}
			signup("bo@example.com", "").problem(t, 403, "invite-required")
			signup("bo@example.com", "pi_forged").problem(t, 403, "invite-required")

			var inv struct {
				ID    string `json:"id"`
				Token string `json:"token"`
				Role  string `json:"role"`
			}
			admin.do("POST", "/api/v1/invites", map[string]any{"role": "agent", "email": "bo@example.com"}).want(t, 201).decode(t, &inv)
			signup("someone-else@example.com", inv.Token).problem(t, 403, "invite-required")
			var bo user
			signup("bo@example.com", inv.Token).want(t, 201).decode(t, &bo)
			if bo.Role != "agent" {
				t.Fatalf("invited user role = %q, want agent", bo.Role)
			}
			e.client().do("POST", "/api/v1/auth/signup", map[string]string{"email": "bo2@example.com", "name": "Again", "password": goodPassword, "invite": inv.Token}).
				problem(t, 403, "invite-required")

			var open struct{ Token string }
			admin.do("POST", "/api/v1/invites", map[string]any{"expires_in_hours": 1}).want(t, 201).decode(t, &open)
			e.clock.Advance(2 * time.Hour)
			e.client().do("POST", "/api/v1/auth/signup", map[string]string{"email": "late@example.com", "name": "Late", "password": goodPassword, "invite": open.Token}).
				problem(t, 403, "invite-required")
			admin.do("POST", "/api/v1/invites", map[string]any{"role": "wizard"}).problem(t, 422, "validation")

			var list struct{ Items []map[string]any }
			admin.do("GET", "/api/v1/invites", nil).want(t, 200).decode(t, &list)
			if len(list.Items) != 2 {
				t.Fatalf("invites = %v", list.Items)
			}
			admin.do("DELETE", "/api/v1/invites/"+inv.ID, nil).want(t, 204)
			admin.do("DELETE", "/api/v1/invites/"+inv.ID, nil).problem(t, 404, "not-found")
		}, func(c *app.Config) { c.SignupMode = "invite" })
	})
}

func TestUserSearchPaginatesAndHidesEmails(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		admin, _ := e.signup("ana@example.com", "Ana Admin")
		member, _ := e.signup("bo@example.com", "Bo")
		for _, n := range []string{"Kim One", "Kim Two", "Kim Three", "kim four", "Kim_Five"} {
			e.signup(strings.ReplaceAll(strings.ToLower(n), " ", ".")+"@example.com", n)
		}
		type page struct {
			Items []struct {
				ID    string `json:"id"`
				Name  string `json:"name"`
				Email string `json:"email"`
			} `json:"items"`
			NextCursor string `json:"next_cursor"`
		}
		var names []string
		cursor := ""
		for range 10 {
			var p page
			member.do("GET", "/api/v1/users?query=kim&limit=2&cursor="+cursor, nil).want(t, 200).decode(t, &p)
			for _, it := range p.Items {
				names = append(names, it.Name)
				if it.Email != "" {
					t.Errorf("a member sees %s's email", it.Name)
				}
			}
			if p.NextCursor == "" {
				break
			}
			cursor = p.NextCursor
		}
		want := []string{"kim four", "Kim One", "Kim Three", "Kim Two", "Kim_Five"}
		if !slices.Equal(names, want) {
			t.Fatalf("search pages = %v, want %v", names, want)
		}

		var exact page
		member.do("GET", "/api/v1/users?query=ana@example.com", nil).want(t, 200).decode(t, &exact)
		if len(exact.Items) != 1 || exact.Items[0].Email != "ana@example.com" {
			t.Fatalf("exact email search = %+v", exact.Items)
		}
		var underscore page
		member.do("GET", "/api/v1/users?query=_", nil).want(t, 200).decode(t, &underscore)
		if len(underscore.Items) != 1 {
			t.Fatalf("'_' must match literally, got %+v", underscore.Items)
		}
		var all page
		admin.do("GET", "/api/v1/users?query=kim&limit=100", nil).want(t, 200).decode(t, &all)
		if len(all.Items) != 5 || all.Items[0].Email == "" {
			t.Fatalf("admin search = %+v", all.Items)
		}

		member.do("GET", "/api/v1/users?limit=0", nil).problem(t, 400, "bad-request")
		member.do("GET", "/api/v1/users?limit=1000", nil).problem(t, 400, "bad-request")
		member.do("GET", "/api/v1/users?cursor=not-ours!", nil).problem(t, 400, "bad-request")
		e.client().do("GET", "/api/v1/users?query=kim", nil).problem(t, 401, "unauthorized")
	})
}

func TestOwnListsPageByCursorNewestFirst(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		c, _ := e.signup("ana@example.com", "Ana")
		var want []string
		for i := range 5 {
			name := "token " + string(rune('A'+i))
			c.do("POST", "/api/v1/tokens", map[string]string{"name": name}).want(t, 201)
			want = append([]string{name}, want...)
			if i%2 == 0 {
				e.clock.Advance(time.Second) // some share a creation time, some do not
			}
		}
		var got []string
		cursor := ""
		for pages := 0; ; pages++ {
			if pages > 5 {
				t.Fatal("pagination does not end")
			}
			var p struct {
				Items      []token `json:"items"`
				NextCursor string  `json:"next_cursor"`
			}
			c.do("GET", "/api/v1/tokens?limit=2&cursor="+cursor, nil).want(t, 200).decode(t, &p)
			for _, it := range p.Items {
				got = append(got, it.Name)
			}
			if p.NextCursor == "" {
				break
			}
			cursor = p.NextCursor
		}
		if !slices.Equal(got, want) {
			t.Fatalf("pages = %v, want %v", got, want)
		}
		c.do("GET", "/api/v1/sessions?limit=101", nil).problem(t, 400, "bad-request")
	})
}

func TestBotsUseTokensOnlyAndPostLikePeople(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		admin, _ := e.signup("ana@example.com", "Ana")
		member, bo := e.signup("bo@example.com", "Bo")
		member.do("POST", "/api/v1/bots", map[string]string{"name": "Sneaky"}).problem(t, 403, "forbidden")
		admin.do("POST", "/api/v1/bots", map[string]string{"name": " "}).problem(t, 422, "validation")
		var made struct {
			User  user   `json:"user"`
			Token string `json:"token"`
		}
		admin.do("POST", "/api/v1/bots", map[string]string{"name": "Lobby TV"}).want(t, 201).decode(t, &made)
		if made.User.Role != "member" || made.User.Name != "Lobby TV" {
			t.Fatalf("bot = %+v", made.User)
		}
		bot := e.client()
		bot.token = made.Token
		var me user
		bot.do("GET", "/api/v1/me", nil).want(t, 200).decode(t, &me)
		if me.ID != made.User.ID {
			t.Fatalf("the bot's token authenticates as %+v", me)
		}
		// It cannot sign in with a password, whatever is tried.
		for _, pw := range []string{"", "correct horse battery", "x"} {
			e.client().do("POST", "/api/v1/auth/login", map[string]string{"email": made.User.Email, "password": pw}).problem(t, 401, "bad-credentials")
		}
		// It talks like a person.
		var conv struct{ ID string }
		bot.do("POST", "/api/v1/conversations", map[string]string{"kind": "direct", "user_id": bo.ID}).want(t, 201).decode(t, &conv)
		bot.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]string{"client_id": "hello", "body": "Your table is ready"}).want(t, 201)
		var page struct {
			Items []struct{ Body string } `json:"items"`
		}
		member.do("GET", "/api/v1/conversations/"+conv.ID+"/messages", nil).want(t, 200).decode(t, &page)
		if len(page.Items) != 1 || page.Items[0].Body != "Your table is ready" {
			t.Fatalf("bo reads %+v", page.Items)
		}
	})
}
