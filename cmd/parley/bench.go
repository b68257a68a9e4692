package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	benchchat "github.com/parley-chat/parley/bench/chat"
	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/httpx"
)

func newBenchCommand(s streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Load generators that measure a Parley server",
	}
	cmd.AddCommand(newBenchChatCommand(s), newBenchSFUCommand(s), newBenchServeCommand(s), newBenchIdleWorkerCommand(s))
	return cmd
}

func newBenchChatCommand(s streams) *cobra.Command {
	var (
		cfg          benchchat.Config
		sources      string
		latencyRates string
	)
	cmd := &cobra.Command{
		Use:   "chat",
		Short: "Measure messaging on loopback: idle connections, throughput, latency, catch-up",
		Long: `Measure Parley's messaging on this machine, over loopback.

By default the command starts the server under test itself, as a separate
process on a free 127.0.0.1 port with an empty data folder (SQLite), so
that the server's memory (VmRSS) and CPU (/proc/<pid>/stat) are read alone.
With --pg-admin it creates a scratch PostgreSQL database there, runs the
server on it and drops it at the end. The server is restarted before each
scenario. With --url it measures a server you run (memory and CPU then come
from its /metrics).

Scenarios:
  idle        open --connections authenticated WebSockets in --idle-steps,
              from --client-procs worker processes and several loopback
              source addresses; report server memory per connection
  throughput  groups of 10 members, every member sending over its
              WebSocket as fast as the per-connection frame limit allows
              (or --rate in total); report messages persisted and
              deliveries per second
  latency     the same load at each of --latency-rates messages/s; report
              send → deliver latency at the receivers
  catchup     a device 10,000 messages behind in one conversation, then
              spread over 100, catching up with the SDK's Stream
  all         all of the above, in that order

With --nodes N (idle only) the bench starts N server processes sharing one
PostgreSQL database (--pg-admin or --db) and the NATS server (--nats), each
on its own address, debug address, media ports and node name, and spreads
the idle connections evenly over them: a process may hold no more
connections than its open-files limit, so more connections than that need
several nodes. Memory is read from every node and reported per node and in
total.

The default server ("--server bench") runs the same app.New and Run as
"parley serve", plus a loopback debug listener through which the bench
forces a garbage collection before reading memory and, with
--profile-dir, takes CPU and heap profiles. "--server serve" starts the
plain "parley serve --rate-limit 0" instead.

The soft open-files limit is raised to the hard limit; the server, which
inherits it, can hold no more connections than that.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			cfg.Exe = exe
			if sources != "" {
				cfg.Sources = strings.Split(sources, ",")
			}
			for _, r := range strings.Split(latencyRates, ",") {
				if r = strings.TrimSpace(r); r == "" {
					continue
				}
				v, err := strconv.ParseFloat(r, 64)
				if err != nil || v <= 0 {
					return fmt.Errorf("--latency-rates: %q is not a rate", r)
				}
				cfg.LatencyRates = append(cfg.LatencyRates, v)
			}
			_, err = benchchat.Run(cmd.Context(), cfg, s.out)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Scenario, "scenario", "all", "idle, throughput, latency, catchup or all, or a comma-separated list")
	f.StringVar(&cfg.URL, "url", "", "measure this running server (http://host:port) instead of starting one")
	f.StringVar(&cfg.ServerMode, "server", "bench", `server to start: "bench" (parley serve plus a debug listener for forced GC and profiles) or "serve"`)
	f.StringVar(&cfg.DB, "db", "", "PostgreSQL URL the started server uses as it is (default: SQLite in the data folder)")
	f.StringVar(&cfg.PGAdmin, "pg-admin", "", "PostgreSQL URL where a scratch database is created for the run and dropped after")
	f.StringVar(&cfg.DataDir, "data-dir", "", "the started server's data folder (default: a temporary folder, removed after)")
	f.IntVar(&cfg.Nodes, "nodes", 1, "idle: start this many server nodes sharing the PostgreSQL database (--pg-admin or --db) and --nats, and spread the connections evenly over them")
	f.StringVar(&cfg.NATS, "nats", "", "NATS URL the started servers share (needed with --nodes above 1)")
	f.BoolVar(&cfg.Keep, "keep", false, "keep the temporary data folder (and the server's log in it)")

	f.IntVar(&cfg.Connections, "connections", 19_000, "idle connections to hold (the server needs as many open files)")
	f.IntVar(&cfg.IdleSteps, "idle-steps", 4, "open the idle connections in this many steps, measuring memory after each")
	f.IntVar(&cfg.ClientProcs, "client-procs", 0, "worker processes holding the idle connections (0: one per --per-proc connections)")
	f.IntVar(&cfg.PerProc, "per-proc", 10_000, "idle connections per worker process when --client-procs is 0")
	f.StringVar(&sources, "source-addrs", "127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5,127.0.0.6,127.0.0.7,127.0.0.8,127.0.0.9",
		"local addresses idle connections are made from, round robin (about 28,000 ports each)")
	f.DurationVar(&cfg.Settle, "settle", 5*time.Second, "wait after each idle step before reading memory")

	f.IntVar(&cfg.Groups, "groups", 50, "groups of 10 members for throughput and latency; each member holds one connection")
	f.Float64Var(&cfg.Rate, "rate", 0, "throughput: messages/s offered in total (0: every member at --conn-rate)")
	f.Float64Var(&cfg.ConnRate, "conn-rate", 18, "most messages/s one connection sends (the server allows 20 frames/s)")
	f.StringVar(&latencyRates, "latency-rates", "2500,5000", "latency: fixed total rates in messages/s, comma-separated")
	f.IntVar(&cfg.Window, "window", 8, "sends a connection may have unanswered")
	f.DurationVar(&cfg.Warmup, "warmup", 5*time.Second, "load before measuring")
	f.DurationVar(&cfg.Duration, "duration", 20*time.Second, "measuring window of each load run")
	f.IntVar(&cfg.BodySize, "body-size", 100, "message body size in bytes")

	f.IntVar(&cfg.CatchUpMessages, "catchup-messages", 10_000, "messages the catching-up device is behind")
	f.IntVar(&cfg.CatchUpConvs, "catchup-convs", 100, "conversations the spread variant's messages are spread over")
	f.IntVar(&cfg.CatchUpRuns, "catchup-runs", 5, "catch-up runs per variant")

	f.StringVar(&cfg.ProfileDir, "profile-dir", "", "save the server's CPU profile of each load window and its heap profile with idle connections here")
	f.StringVar(&cfg.JSON, "json", "", "also write the results as JSON to this file")
	f.DurationVar(&cfg.WaitQuiet, "wait-quiet", 2*time.Minute, "before each scenario, wait up to this long for other processes to use under 0.1 core (0: do not wait)")
	return cmd
}

// newBenchServeCommand is the server `parley bench chat` starts: the
// same app as `parley serve`, configured as `parley serve --rate-limit 0`
// with its other defaults, plus a loopback debug listener.
func newBenchServeCommand(s streams) *cobra.Command {
	var (
		store     storageFlags
		addr      string
		debugAddr string
		natsURL   string
		node      string
	)
	cmd := &cobra.Command{
		Use:    "serve",
		Short:  "Run a server for the load generator (parley serve plus a debug listener)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger(s.err, "text", "warn")
			if err != nil {
				return err
			}
			c := store.config()
			cfg := app.Config{
				Addr: addr, DataDir: c.DataDir, DB: c.DB, Version: c.Version, NATS: natsURL, Node: node,
				ShutdownTimeout: 15 * time.Second, SignupMode: "open",
				SessionIdle: 7 * 24 * time.Hour, SessionLifetime: 30 * 24 * time.Hour,
				RateLimit: 0, RateBurst: 200, MaxBodyBytes: httpx.DefaultMaxBody, MaxUploadBytes: chat.DefaultMaxUpload,
			}
			return benchchat.Serve(cmd.Context(), cfg, debugAddr, log)
		},
	}
	store.register(cmd.Flags())
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on")
	cmd.Flags().StringVar(&debugAddr, "debug-addr", "", "loopback address for forced GC and pprof profiles")
	cmd.Flags().StringVar(&natsURL, "nats", "", "NATS URL(s) shared with the other nodes; empty keeps events in this process")
	cmd.Flags().StringVar(&node, "node", "", "this node's name in a cluster (default: a random one)")
	return cmd
}

func newBenchIdleWorkerCommand(s streams) *cobra.Command {
	return &cobra.Command{
		Use:    "idle-worker",
		Short:  "Hold idle connections for parley bench chat (driven over standard input)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return benchchat.RunIdleWorker(cmd.Context(), s.in, s.out)
		},
	}
}
