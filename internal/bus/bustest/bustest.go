// Package bustest finds the NATS server tests run against.
package bustest

import (
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// DefaultNATS is used when $PARLEY_TEST_NATS is empty.
const DefaultNATS = "nats://127.0.0.1:4222"

// NATSURL returns $PARLEY_TEST_NATS (or the default) when a server answers
// there; otherwise it skips the test, or fails it when $CI is set.
func NATSURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv("PARLEY_TEST_NATS")
	if url == "" {
		url = DefaultNATS
	}
	host := strings.Split(strings.TrimPrefix(url, "nats://"), ",")[0]
	conn, err := net.DialTimeout("tcp", host, 2*time.Second)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("NATS is required in CI: %v", err)
		}
		t.Skipf("NATS unavailable at %s: %v", url, err)
	}
	conn.Close()
	return url
}
