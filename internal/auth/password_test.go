package auth

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestPasswordHashVerifiesOnlyItsPassword(t *testing.T) {
	ctx := context.Background()
	h := newHasher(DefaultArgon2, 1)
	enc, err := h.Hash(ctx, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q is not PHC argon2id with the documented parameters", enc)
	}
	if ok, stale, err := h.Verify(ctx, "correct horse battery", enc); !ok || stale || err != nil {
		t.Fatalf("Verify(right) = %v %v %v", ok, stale, err)
	}
	if ok, _, _ := h.Verify(ctx, "correct horse batterY", enc); ok {
		t.Fatal("a wrong password verified")
	}
	again, _ := h.Hash(ctx, "correct horse battery")
	if again == enc {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
}

func TestHashWithOldParametersIsReportedStale(t *testing.T) {
	ctx := context.Background()
	old := newHasher(Argon2Params{Memory: 64, Time: 1, Threads: 1}, 1)
	enc, _ := old.Hash(ctx, "correct horse battery")
	current := newHasher(DefaultArgon2, 1)
	ok, stale, err := current.Verify(ctx, "correct horse battery", enc)
	if !ok || !stale || err != nil {
		t.Fatalf("Verify(old hash) = ok %v stale %v err %v, want ok and stale", ok, stale, err)
	}
}

func TestMalformedHashesAreErrors(t *testing.T) {
	h := newHasher(Argon2Params{Memory: 64, Time: 1, Threads: 1}, 1)
	for _, enc := range []string{"", "plain", "$argon2i$v=19$m=64,t=1,p=1$c2FsdA$a2V5", "$argon2id$v=18$m=64,t=1,p=1$c2FsdA$a2V5", "$argon2id$v=19$m=64,t=1,p=1$!!$a2V5"} {
		if _, _, err := h.Verify(context.Background(), "x", enc); err == nil {
			t.Errorf("Verify(%q) accepted a malformed hash", enc)
		}
	}
}

func TestNormalizeEmail(t *testing.T) {
	cases := map[string]string{
		"  Ana@Example.COM ":               "ana@example.com",
		"ana@example":                      "",
		"Ana <ana@example.com>":            "",
		"not an email":                     "",
		"":                                 "",
		strings.Repeat("a", 250) + "@x.io": "",
	}
	for in, want := range cases {
		if got := NormalizeEmail(in); got != want {
			t.Errorf("NormalizeEmail(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestThrottleBlocksAfterLimitUntilWindowPasses(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	th := newThrottle(3, 10*time.Minute)
	for i := range 3 {
		if th.blocked("k", now) != 0 {
			t.Fatalf("blocked after %d failures", i)
		}
		th.fail("k", now.Add(time.Duration(i)*time.Minute))
	}
	if wait := th.blocked("k", now.Add(3*time.Minute)); wait != 7*time.Minute {
		t.Fatalf("wait = %v, want 7m (until the first failure leaves the window)", wait)
	}
	if th.blocked("other", now) != 0 {
		t.Fatal("one key blocked another")
	}
	if th.blocked("k", now.Add(10*time.Minute)) != 0 {
		t.Fatal("still blocked after the window")
	}
	th.fail("k", now)
	th.reset("k")
	if len(th.failures) != 0 {
		t.Fatal("reset kept failures")
	}
}
