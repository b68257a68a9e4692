package httpx

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
)

func TestClientAddrBelievesOnlyTrustedProxies(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	cases := []struct {
		remote, xff, want string
	}{
		{"203.0.113.7:5000", "", "203.0.113.7"},
		{"203.0.113.7:5000", "1.2.3.4", "203.0.113.7"},                       // untrusted peer: header ignored
		{"10.0.0.2:5000", "198.51.100.9", "198.51.100.9"},                    // one trusted hop
		{"10.0.0.2:5000", "6.6.6.6, 198.51.100.9, 10.0.0.3", "198.51.100.9"}, // spoofed left part ignored
		{"10.0.0.2:5000", "garbage", "10.0.0.2"},
		{"[::ffff:203.0.113.7]:80", "", "203.0.113.7"},
	}
	for _, tc := range cases {
		var got netip.Addr
		h := ClientAddr(trusted, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = ClientIP(r.Context()) }))
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.remote
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
		if got.String() != tc.want {
			t.Errorf("remote %s xff %q: got %s, want %s", tc.remote, tc.xff, got, tc.want)
		}
	}
}

func TestRateLimiterRefillsOverTime(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewRateLimiter(1, 2, func() time.Time { return now })
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	for range 2 {
		if ok, _ := l.Allow(a); !ok {
			t.Fatal("burst refused")
		}
	}
	if ok, wait := l.Allow(a); ok || wait != time.Second {
		t.Fatalf("over the burst: ok=%v wait=%v, want refused for 1s", ok, wait)
	}
	if ok, _ := l.Allow(b); !ok {
		t.Fatal("another client was limited by the first")
	}
	now = now.Add(time.Second)
	if ok, _ := l.Allow(a); !ok {
		t.Fatal("not refilled after a second")
	}
}

func TestCursorRoundTripsAndRejectsForgeries(t *testing.T) {
	type key struct {
		N string
		I string
	}
	c := EncodeCursor(key{"kim", "01"})
	var got key
	ok, err := DecodeCursor(httptest.NewRequest("GET", "/?cursor="+c, nil), &got)
	if !ok || err != nil || got != (key{"kim", "01"}) {
		t.Fatalf("round trip: %v %v %+v", ok, err, got)
	}
	if _, err := DecodeCursor(httptest.NewRequest("GET", "/?cursor=!!", nil), &got); err == nil {
		t.Fatal("a forged cursor was accepted")
	}
}
