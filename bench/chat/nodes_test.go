package chat

import (
	"slices"
	"strings"
	"testing"
)

func TestSpread(t *testing.T) {
	for _, c := range []struct {
		n, k int
		want []int
	}{
		{100_000, 6, []int{16_667, 16_667, 16_667, 16_667, 16_666, 16_666}},
		{19_000, 1, []int{19_000}},
		{7, 3, []int{3, 2, 2}},
		{2, 4, []int{1, 1, 0, 0}},
		{5, 0, []int{5}},
	} {
		got := spread(c.n, c.k)
		if !slices.Equal(got, c.want) {
			t.Errorf("spread(%d, %d) = %v, want %v", c.n, c.k, got, c.want)
		}
		sum := 0
		for _, v := range got {
			sum += v
		}
		if sum != c.n {
			t.Errorf("spread(%d, %d) sums to %d", c.n, c.k, sum)
		}
	}
}

func TestClientProcsPerNode(t *testing.T) {
	for _, c := range []struct{ procs, nodes, want int }{
		{10, 6, 12}, {2, 1, 2}, {1, 3, 3}, {0, 1, 1}, {6, 6, 6},
	} {
		if got := clientProcs(c.procs, c.nodes); got != c.want {
			t.Errorf("clientProcs(%d, %d) = %d, want %d", c.procs, c.nodes, got, c.want)
		}
	}
}

func TestNodesFlagNeedsPostgresAndNATS(t *testing.T) {
	base := func() Config {
		return Config{Scenario: "idle", Groups: 1, Window: 1, IdleSteps: 1, CatchUpRuns: 1, ConnRate: 1,
			Connections: 100_000, Nodes: 6, PGAdmin: "postgres://postgres@127.0.0.1/postgres", NATS: "nats://127.0.0.1:4222"}
	}
	for _, c := range []struct {
		name string
		edit func(*Config)
		want string // "" for no error
	}{
		{"postgres and NATS", func(*Config) {}, ""},
		{"--db instead of --pg-admin", func(c *Config) { c.PGAdmin, c.DB = "", "postgres://x/y" }, ""},
		{"one node needs neither", func(c *Config) { c.Nodes, c.PGAdmin, c.NATS = 1, "", "" }, ""},
		{"no PostgreSQL", func(c *Config) { c.PGAdmin = "" }, "PostgreSQL"},
		{"no NATS", func(c *Config) { c.NATS = "" }, "NATS"},
		{"not only idle", func(c *Config) { c.Scenario = "idle,throughput" }, "idle scenario only"},
		{"a running server", func(c *Config) { c.URL = "http://127.0.0.1:8080"; c.PGAdmin = "" }, "--url"},
		{"negative", func(c *Config) { c.Nodes = -1 }, "positive"},
		{"fewer connections than nodes", func(c *Config) { c.Connections = 3 }, "fewer"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := base()
			c.edit(&cfg)
			err := cfg.defaults()
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("error %v, want one mentioning %q", err, c.want)
			}
		})
	}
	cfg := base()
	cfg.Nodes = 0
	if err := cfg.defaults(); err != nil || cfg.Nodes != 1 {
		t.Fatalf("--nodes 0: %v, nodes %d; want 1 node", err, cfg.Nodes)
	}
}
