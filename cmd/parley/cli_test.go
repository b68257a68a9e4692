package main

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/billing"
	"github.com/parley-chat/parley/internal/db/dbtest"
	"github.com/parley-chat/parley/internal/market"
)

const testPassword = "correct horse battery"

func TestMigrateReportsUpToDate(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, dsn string) {
		want := "database is up to date (sqlite)"
		if isPostgres(dsn) {
			want = "database is up to date (postgres)"
		}
		// The second run finds nothing to do and says the same.
		for range 2 {
			r := mustRun(t, "", join([]string{"migrate"}, storeArgs(dsn))...)
			if strings.TrimSpace(r.out) != want {
				t.Fatalf("migrate printed %q, want %q", r.out, want)
			}
		}
		if !isPostgres(dsn) && !fileExists(t, dsn) {
			t.Fatalf("migrate did not create %s", dsn)
		}
		// The schema is really there: the accounts service works on it.
		a := openTestApp(t, storeConfig(dsn))
		if n, err := a.Auth.CountUsers(context.Background()); err != nil || n != 0 {
			t.Fatalf("CountUsers = %d, %v; want 0, nil", n, err)
		}
	})
}

func TestUserCreate(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		store := storeArgs(dsn)
		create := func(email, role string) []string {
			return join([]string{"user", "create", "--email", email, "--name", "Ana Agent", "--role", role}, store)
		}

		r := mustRun(t, testPassword+"\n", create("Ana@Example.com", "agent")...)
		if !strings.HasPrefix(r.out, "created Ana Agent <ana@example.com> as agent (id ") {
			t.Fatalf("user create printed %q", r.out)
		}
		if strings.Contains(r.out+r.errOut, testPassword) {
			t.Fatalf("user create echoed the password:\nstdout: %s\nstderr: %s", r.out, r.errOut)
		}

		// Refused attempts must not create anything.
		mustFail(t, "short\n", "password: use 10 to 256 characters", create("short@example.com", "agent")...)
		mustFail(t, "", "no password on standard input", create("nopass@example.com", "agent")...)
		mustFail(t, testPassword+"\n", "role: must be admin, agent, expert or member", create("boss@example.com", "boss")...)
		mustFail(t, testPassword+"\n", "already exists", create("ana@example.com", "member")...)
		mustFail(t, testPassword+"\n", `required flag(s) "email" not set`,
			join([]string{"user", "create", "--name", "No Email"}, store)...)
		// The password is never taken from the command line, where other
		// users of the machine could read it.
		mustFail(t, "", "unknown flag: --password",
			append(create("argv@example.com", "agent"), "--password", testPassword)...)
		mustFail(t, "", "unknown flag: --password",
			append(create("argv@example.com", "agent"), "--password="+testPassword)...)

		a := openTestApp(t, storeConfig(dsn))
		u := userByEmail(t, a, "ana@example.com")
		if u.Name != "Ana Agent" || u.Role != auth.RoleAgent {
			t.Fatalf("created user = %+v, want Ana Agent as agent", u)
		}
		// The password read from stdin (without its newline) is the one
		// that signs in.
		if _, _, err := a.Auth.Login(ctx, "ana@example.com", testPassword, auth.ClientInfo{IP: "192.0.2.1"}); err != nil {
			t.Fatalf("sign in with the password given on stdin: %v", err)
		}
		for _, email := range []string{"short@example.com", "nopass@example.com", "boss@example.com", "argv@example.com"} {
			assertNoUser(t, a, email)
		}
		if n, err := a.Auth.CountUsers(ctx); err != nil || n != 1 {
			t.Fatalf("CountUsers = %d, %v; want 1", n, err)
		}
	})
}

func TestUserCreateDefaultsToMember(t *testing.T) {
	t.Parallel()
	dsn := dbtest.SQLiteDSN(t)
	mustRun(t, testPassword, join([]string{"user", "create", "--email", "min@example.com", "--name", "Min"}, storeArgs(dsn))...)
	a := openTestApp(t, storeConfig(dsn))
	if u := userByEmail(t, a, "min@example.com"); u.Role != auth.RoleMember {
		t.Fatalf("role = %q, want member", u.Role)
	}
}

func TestUserSetRole(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, dsn string) {
		store := storeArgs(dsn)
		create := func(email, role string) {
			t.Helper()
			mustRun(t, testPassword, join([]string{"user", "create", "--email", email, "--name", strings.Split(email, "@")[0], "--role", role}, store)...)
		}
		setRole := func(email, role string) []string {
			return join([]string{"user", "set-role", "--email", email, "--role", role}, store)
		}
		create("root@example.com", "admin")
		create("sam@example.com", "agent")
		a := openTestApp(t, storeConfig(dsn))
		role := func(email string) auth.Role {
			t.Helper()
			return userByEmail(t, a, email).Role
		}

		r := mustRun(t, "", setRole("sam@example.com", "expert")...)
		if strings.TrimSpace(r.out) != "sam <sam@example.com> is now expert" {
			t.Fatalf("set-role printed %q", r.out)
		}
		if got := role("sam@example.com"); got != auth.RoleExpert {
			t.Fatalf("sam's role = %q, want expert", got)
		}

		mustFail(t, "", "this is the last admin", setRole("root@example.com", "member")...)
		if got := role("root@example.com"); got != auth.RoleAdmin {
			t.Fatalf("the last admin became %q", got)
		}
		mustFail(t, "", "no such account", setRole("nobody@example.com", "admin")...)
		mustFail(t, "", "role: must be admin, agent, expert or member", setRole("sam@example.com", "boss")...)
		mustFail(t, "", `required flag(s) "role" not set`, join([]string{"user", "set-role", "--email", "sam@example.com"}, store)...)

		// With a second admin, the first one may step down.
		mustRun(t, "", setRole("sam@example.com", "admin")...)
		mustRun(t, "", setRole("root@example.com", "member")...)
		if got := role("root@example.com"); got != auth.RoleMember {
			t.Fatalf("root's role = %q, want member", got)
		}
		if got := role("sam@example.com"); got != auth.RoleAdmin {
			t.Fatalf("sam's role = %q, want admin", got)
		}
	})
}

func TestTokenCreate(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		store := storeArgs(dsn)
		mustRun(t, testPassword, join([]string{"user", "create", "--email", "bot@example.com", "--name", "Lobby Bot"}, store)...)

		r := mustRun(t, "", join([]string{"token", "create", "--user", "BOT@example.com", "--name", "lobby TV"}, store)...)
		secret := strings.TrimSpace(r.out)
		if !strings.HasPrefix(secret, "pt_") || strings.ContainsAny(secret, " \n") {
			t.Fatalf("token create printed %q, want exactly one pt_ token", r.out)
		}
		if !strings.Contains(r.errOut, "shown only once") {
			t.Fatalf("token create did not warn on stderr; stderr: %q", r.errOut)
		}
		// A token that expires later also works.
		r2 := mustRun(t, "", join([]string{"token", "create", "--user", "bot@example.com", "--expires-in", "720h"}, store)...)
		expiring := strings.TrimSpace(r2.out)

		mustFail(t, "", "no such account", join([]string{"token", "create", "--user", "ghost@example.com"}, store)...)
		mustFail(t, "", "must not be negative", join([]string{"token", "create", "--user", "bot@example.com", "--expires-in", "-1h"}, store)...)

		a := openTestApp(t, storeConfig(dsn))
		for _, s := range []string{secret, expiring} {
			p, err := a.Auth.AuthenticateToken(ctx, s)
			if err != nil {
				t.Fatalf("the printed token does not authenticate: %v", err)
			}
			if p.User.Email != "bot@example.com" || p.TokenID == "" {
				t.Fatalf("token authenticates as %+v, want bot@example.com", p)
			}
		}
		if _, err := a.Auth.AuthenticateToken(ctx, secret+"x"); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Fatalf("an altered token: err = %v, want ErrUnauthenticated", err)
		}
		u := userByEmail(t, a, "bot@example.com")
		tokens, _, err := a.Auth.ListTokens(ctx, u.ID, auth.NewestFirst{}, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(tokens) != 2 {
			t.Fatalf("bot holds %d tokens, want 2 (the refused ones must not exist): %+v", len(tokens), tokens)
		}
		byName := map[string]auth.Token{}
		for _, tk := range tokens {
			byName[tk.Name] = tk
		}
		if tk, ok := byName["lobby TV"]; !ok || tk.ExpiresAt != nil {
			t.Fatalf("token \"lobby TV\" = %+v, want one that never expires", tk)
		}
		if tk, ok := byName["cli"]; !ok || tk.ExpiresAt == nil {
			t.Fatalf("token \"cli\" = %+v, want one with an expiry", tk)
		}
	})
}

func TestBotCreate(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		store := storeArgs(dsn)
		r := mustRun(t, "", join([]string{"bot", "create", "--name", "Lobby TV"}, store)...)
		secret := strings.TrimSpace(r.out)
		if !strings.HasPrefix(secret, "pt_") || strings.ContainsAny(secret, " \n") {
			t.Fatalf("bot create printed %q, want exactly one pt_ token", r.out)
		}
		mustFail(t, "", "name", join([]string{"bot", "create", "--name", " "}, store)...)

		a := openTestApp(t, storeConfig(dsn))
		p, err := a.Auth.AuthenticateToken(ctx, secret)
		if err != nil || p.User.Name != "Lobby TV" || p.User.Role != auth.RoleMember {
			t.Fatalf("bot token: %+v %v", p, err)
		}
		if _, _, err := a.Auth.Login(ctx, p.User.Email, "", auth.ClientInfo{IP: "192.0.2.1"}); !errors.Is(err, auth.ErrBadCredentials) {
			t.Fatalf("a bot signed in with a password: %v", err)
		}
	})
}

func TestDemo(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		want := map[string]auth.Role{
			"admin@demo.parley.example":  auth.RoleAdmin,
			"agent@demo.parley.example":  auth.RoleAgent,
			"expert@demo.parley.example": auth.RoleExpert,
			"member@demo.parley.example": auth.RoleMember,
		}
		var (
			ids map[string]string
			a   *app.App
		)
		// The second run leaves the accounts alone and succeeds.
		for run := 1; run <= 2; run++ {
			r := mustRun(t, "", join([]string{"demo"}, storeArgs(dsn))...)
			for email := range want {
				if !strings.Contains(r.out, email) {
					t.Fatalf("run %d: demo output lacks %s:\n%s", run, email, r.out)
				}
			}
			if !strings.Contains(r.out, "Password for every demo account: "+demoPassword) {
				t.Fatalf("run %d: demo output lacks the password:\n%s", run, r.out)
			}

			if a == nil {
				a = openTestApp(t, storeConfig(dsn))
			}
			if n, err := a.Auth.CountUsers(ctx); err != nil || n != len(want) {
				t.Fatalf("run %d: CountUsers = %d, %v; want %d", run, n, err, len(want))
			}
			got := map[string]string{}
			for email, role := range want {
				u := userByEmail(t, a, email)
				if u.Role != role {
					t.Fatalf("run %d: %s has role %q, want %q", run, email, u.Role, role)
				}
				got[email] = u.ID
			}
			// Something to try: the desk's queue with its agent, a listing to
			// start now, money in the member's wallet — once, however often it runs.
			agent := userByEmail(t, a, "agent@demo.parley.example")
			if ag, err := a.Desk.Agent(ctx, agent.ID); err != nil || len(ag.Queues) != 1 || !ag.Manager {
				t.Fatalf("run %d: the demo agent: %+v %v", run, ag, err)
			}
			ls, _, err := a.Market.Search(ctx, market.Query{})
			if err != nil || len(ls) != 1 || !ls[0].StartNow {
				t.Fatalf("run %d: the demo listings: %+v %v", run, ls, err)
			}
			member := userByEmail(t, a, "member@demo.parley.example")
			if w, err := a.Billing.Ledger.Balance(ctx, a.DB, billing.Account{Kind: billing.Wallet, OwnerID: member.ID}, "USD"); err != nil || w != 5000 {
				t.Fatalf("run %d: the demo wallet holds %d (%v)", run, w, err)
			}
			if ids != nil && !equalMaps(ids, got) {
				t.Fatalf("the second run replaced accounts: %v, then %v", ids, got)
			}
			ids = got
		}
		if _, _, err := a.Auth.Login(ctx, "expert@demo.parley.example", demoPassword, auth.ClientInfo{IP: "192.0.2.1"}); err != nil {
			t.Fatalf("sign in with the printed demo password: %v", err)
		}
	})
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestVersion(t *testing.T) {
	t.Parallel()
	r := mustRun(t, "", "version")
	if r.out != "parley "+version+"\n" {
		t.Fatalf("version printed %q, want %q", r.out, "parley "+version+"\n")
	}
	if r := mustRun(t, "", "--version"); !strings.Contains(r.out, version) {
		t.Fatalf("--version printed %q, want it to name %q", r.out, version)
	}
	mustFail(t, "", `unknown command "extra"`, "version", "extra")
}

func TestUnknownCommandFails(t *testing.T) {
	t.Parallel()
	r := mustFail(t, "", `unknown command "frobnicate" for "parley"`, "frobnicate")
	if r.out != "" {
		t.Fatalf("an unknown command printed %q on stdout", r.out)
	}
	// Stray arguments and unknown flags are refused too, before anything
	// is opened.
	dir := t.TempDir()
	mustFail(t, "", `unknown command "now" for "parley migrate"`, "migrate", "now", "--data-dir", dir)
	mustFail(t, "", "unknown flag: --frobnicate", "migrate", "--frobnicate", "--data-dir", dir)
	if fileExists(t, filepath.Join(dir, "parley.db")) {
		t.Fatal("a refused command created the database")
	}
}
