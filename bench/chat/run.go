// Package chat is Parley's messaging load generator, run as `parley bench
// chat`. On loopback it measures what docs/PERFORMANCE.md publishes: idle
// authenticated connections and the server's memory per connection;
// messages persisted and fanned out to groups of ten per second; send →
// deliver latency at fixed rates; and how long a device thousands of
// messages behind takes to catch up.
//
// By default it starts the server under test as a separate process on a
// free loopback port with an empty data folder (or a scratch PostgreSQL
// database it creates and drops), so the server's memory and CPU are read
// alone from /proc. It restarts the server before each scenario, so one
// scenario's garbage does not count against the next.
package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Config is everything `parley bench chat` can be told.
type Config struct {
	Exe        string // the parley binary to start servers and workers with
	URL        string // a running server to target instead of starting one
	ServerMode string // "bench" (default) or "serve"
	DB         string // PostgreSQL URL for the server, used as it is
	PGAdmin    string // PostgreSQL URL where a scratch database is created and dropped
	DataDir    string // the server's data folder; empty makes (and removes) a temporary one
	Keep       bool   // keep the data folder
	Nodes      int    // idle: server nodes sharing PostgreSQL and NATS (1 by default)
	NATS       string // NATS URL the started servers share

	Scenario string // idle, throughput, latency, catchup or all, or a comma-separated list

	Connections int
	IdleSteps   int
	ClientProcs int
	PerProc     int
	Sources     []string
	Settle      time.Duration

	Groups       int
	Rate         float64
	ConnRate     float64
	LatencyRates []float64
	Window       int
	Warmup       time.Duration
	Duration     time.Duration
	BodySize     int

	CatchUpMessages int
	CatchUpConvs    int
	CatchUpRuns     int

	ProfileDir string
	JSON       string
	WaitQuiet  time.Duration // before each scenario, wait up to this long for other processes to go quiet
}

// Report is the outcome of a run.
type Report struct {
	Machine    Machine          `json:"machine"`
	Engine     string           `json:"engine"`
	Server     string           `json:"server"`
	Command    string           `json:"command"`
	OpenFiles  uint64           `json:"open_files_limit"`
	SetupSecs  float64          `json:"setup_s"`
	Idle       *IdleResult      `json:"idle,omitempty"`
	Throughput *LoadResult      `json:"throughput,omitempty"`
	Latency    []*LoadResult    `json:"latency,omitempty"`
	CatchUp    []*CatchUpResult `json:"catch_up,omitempty"`
	TotalSecs  float64          `json:"total_s"`
}

// Machine describes where the figures were measured.
type Machine struct {
	CPUs   int    `json:"cpus"`
	Model  string `json:"cpu_model"`
	Go     string `json:"go"`
	Kernel string `json:"kernel"`
}

func machine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.Model = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

func (c *Config) defaults() error {
	for _, sc := range strings.Split(c.Scenario, ",") {
		switch sc {
		case "idle", "throughput", "latency", "catchup", "all":
		default:
			return fmt.Errorf("bench: scenario %q: use idle, throughput, latency, catchup or all (or a comma-separated list)", sc)
		}
	}
	switch c.ServerMode {
	case "":
		c.ServerMode = "bench"
	case "bench", "serve":
	default:
		return fmt.Errorf("bench: server %q: use bench or serve", c.ServerMode)
	}
	if c.DB != "" && c.PGAdmin != "" {
		return errors.New("bench: give --db or --pg-admin, not both")
	}
	if c.URL != "" && (c.DB != "" || c.PGAdmin != "" || c.DataDir != "") {
		return errors.New("bench: with --url the server is yours: --db, --pg-admin and --data-dir do not apply")
	}
	if c.Groups < 1 || c.Window < 1 || c.IdleSteps < 1 || c.CatchUpRuns < 1 || c.ConnRate <= 0 {
		return errors.New("bench: --groups, --window, --idle-steps, --catchup-runs and --conn-rate must be positive")
	}
	if c.PerProc <= 0 {
		c.PerProc = 10_000
	}
	if c.Nodes < 0 {
		return errors.New("bench: --nodes must be positive")
	}
	if c.Nodes == 0 {
		c.Nodes = 1
	}
	if c.Nodes > 1 {
		switch {
		case c.URL != "":
			return errors.New("bench: --nodes starts its own servers: it does not apply with --url")
		case c.Scenario != "idle":
			return errors.New("bench: --nodes applies to the idle scenario only (--scenario idle)")
		case c.DB == "" && c.PGAdmin == "":
			return errors.New("bench: --nodes above 1 needs PostgreSQL for the nodes to share (--pg-admin or --db)")
		case c.NATS == "":
			return errors.New("bench: --nodes above 1 needs a NATS server for the nodes to share (--nats nats://…)")
		case c.Connections < c.Nodes:
			return errors.New("bench: fewer --connections than --nodes")
		}
	}
	if c.ClientProcs <= 0 {
		c.ClientProcs = max(1, (c.Connections+c.PerProc-1)/c.PerProc)
	}
	return nil
}

func (c *Config) wants(s string) bool {
	for _, sc := range strings.Split(c.Scenario, ",") {
		if sc == "all" || sc == s {
			return true
		}
	}
	return false
}

// Run runs the configured scenarios and prints their results to out as
// they come.
func Run(ctx context.Context, cfg Config, out io.Writer) (*Report, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	begin := time.Now()
	say := func(s string) { fmt.Fprintf(out, "%s %s\n", time.Now().Format("15:04:05"), s) }
	rep := &Report{Machine: machine(), Server: cfg.ServerMode, Command: strings.Join(os.Args, " ")}
	limit, err := RaiseOpenFiles()
	if err != nil {
		say("open files: " + err.Error())
	}
	rep.OpenFiles = limit
	say(fmt.Sprintf("machine: %d CPUs, %s, %s, Linux %s; open files limit %d (soft raised to hard)",
		rep.Machine.CPUs, rep.Machine.Model, rep.Machine.Go, rep.Machine.Kernel, limit))
	if perNode := spread(cfg.Connections, cfg.Nodes)[0]; cfg.wants("idle") && limit > 0 && cfg.URL == "" && uint64(perNode)+200 > limit {
		return nil, fmt.Errorf("bench: %d idle connections per node need more open files than a server may have (%d); give more --nodes or measure fewer and extrapolate", perNode, limit)
	}

	// Storage for the servers the bench starts.
	dbURL := cfg.DB
	rep.Engine = "sqlite"
	if cfg.URL != "" {
		rep.Engine = "as configured at " + cfg.URL
	}
	if cfg.PGAdmin != "" {
		name := "parley_bench_" + newRunID()
		if dbURL, err = createDatabase(ctx, cfg.PGAdmin, name); err != nil {
			return nil, err
		}
		say("created PostgreSQL database " + name)
		defer func() {
			if err := dropDatabase(cfg.PGAdmin, name); err != nil {
				say("drop database: " + err.Error())
			} else {
				say("dropped PostgreSQL database " + name)
			}
		}()
	}
	if dbURL != "" {
		rep.Engine = "postgres"
	}
	dataDir := cfg.DataDir
	if dataDir == "" && cfg.URL == "" {
		if dataDir, err = os.MkdirTemp("", "parley-bench-"); err != nil {
			return nil, err
		}
		if !cfg.Keep {
			defer os.RemoveAll(dataDir)
		}
	}
	if cfg.ProfileDir != "" {
		if err := os.MkdirAll(cfg.ProfileDir, 0o755); err != nil {
			return nil, err
		}
	}
	spec := serverSpec{Exe: cfg.Exe, Mode: cfg.ServerMode, DataDir: dataDir, DB: dbURL, NATS: cfg.NATS, LogPath: filepath.Join(dataDir, "server.log")}
	var external *server
	if cfg.URL != "" {
		external = externalServer(cfg.URL)
	}
	// withServer runs fn against a freshly started server (or the given
	// one) and stops it after.
	withServer := func(name string, fn func(*server) error) error {
		if name != "setup" && cfg.WaitQuiet > 0 {
			waitQuiet(ctx, cfg.WaitQuiet, say)
		}
		if external != nil {
			return fn(external)
		}
		srv, err := startServer(ctx, spec)
		if err != nil {
			return err
		}
		defer srv.stop()
		say(fmt.Sprintf("%s: server pid %d at %s (%s, %s)", name, srv.pid, srv.URL, rep.Engine, cfg.ServerMode))
		return fn(srv)
	}
	// withNodes starts cfg.Nodes servers (each its own address, debug
	// address, media ports, node name and log) and runs fn against them.
	withNodes := func(name string, fn func([]*server) error) error {
		if cfg.Nodes <= 1 || external != nil {
			return withServer(name, func(srv *server) error { return fn([]*server{srv}) })
		}
		if cfg.WaitQuiet > 0 {
			waitQuiet(ctx, cfg.WaitQuiet, say)
		}
		var srvs []*server
		defer func() {
			for _, s := range srvs {
				s.stop()
			}
		}()
		for i := range cfg.Nodes {
			ns := spec
			ns.Node = fmt.Sprintf("bench-%d", i+1)
			ns.LogPath = filepath.Join(dataDir, "server-"+ns.Node+".log")
			ns.FreeMedia = true
			srv, err := startServer(ctx, ns)
			if err != nil {
				return fmt.Errorf("node %s: %w", ns.Node, err)
			}
			srvs = append(srvs, srv)
			say(fmt.Sprintf("%s: node %s pid %d at %s (%s, %s, NATS %s)", name, ns.Node, srv.pid, srv.URL, rep.Engine, cfg.ServerMode, cfg.NATS))
		}
		return fn(srvs)
	}

	f := &fixture{runID: newRunID()}
	err = withServer("setup", func(srv *server) error {
		if cfg.wants("idle") || cfg.wants("throughput") || cfg.wants("latency") {
			say(fmt.Sprintf("setup: %d users in %d groups of %d, each with an API token", cfg.Groups*GroupSize, cfg.Groups, GroupSize))
			if err := f.makeLoadUsers(ctx, srv.URL, cfg.Groups, say); err != nil {
				return err
			}
		}
		if cfg.wants("catchup") {
			say(fmt.Sprintf("setup: catch-up backlog of %d messages in one conversation and %d spread over %d",
				cfg.CatchUpMessages, cfg.CatchUpMessages/max(cfg.CatchUpConvs, 1)*cfg.CatchUpConvs, cfg.CatchUpConvs))
			if err := f.makeCatchUp(ctx, srv.URL, cfg.CatchUpMessages, cfg.CatchUpConvs, say); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	rep.SetupSecs = time.Since(begin).Seconds()

	if cfg.wants("idle") {
		sources := cfg.Sources
		if !loopbackURL(cfg.URL) {
			sources = nil
		}
		err := withNodes("idle", func(srvs []*server) error {
			say(fmt.Sprintf("idle: %d connections over %d node(s) in %d steps from %d client processes, source addresses %s",
				cfg.Connections, len(srvs), cfg.IdleSteps, clientProcs(cfg.ClientProcs, len(srvs)), strings.Join(sources, ",")))
			var err error
			rep.Idle, err = runIdle(ctx, srvs, f, idleSpec{Exe: cfg.Exe, Connections: cfg.Connections, Steps: cfg.IdleSteps,
				Procs: cfg.ClientProcs, Sources: sources, Settle: cfg.Settle}, cfg.ProfileDir, say)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("idle: %w", err)
		}
		printIdle(out, rep.Idle)
		if external != nil {
			fmt.Fprintln(out, "  NOTE: with --url the server was not restarted after the sign-ups, whose argon2id memory it may still be\n"+
				"  returning to the system: per-connection memory is meaningful only on a server started fresh before this scenario.")
			fmt.Fprintln(out)
		}
	}
	loadSpecFor := func(name string, rate float64) loadSpec {
		return loadSpec{Name: name, Rate: rate, ConnRate: cfg.ConnRate, Window: cfg.Window,
			Warmup: cfg.Warmup, Duration: cfg.Duration, BodySize: cfg.BodySize}
	}
	if cfg.wants("throughput") {
		err := withServer("throughput", func(srv *server) error {
			offered := cfg.Rate
			if offered == 0 {
				offered = cfg.ConnRate * float64(len(f.users))
			}
			say(fmt.Sprintf("throughput: %d senders offering %.0f messages/s in total for %s after %s of warm-up",
				len(f.users), offered, cfg.Duration, cfg.Warmup))
			var err error
			rep.Throughput, err = runLoad(ctx, srv, f, loadSpecFor("throughput-"+rep.Engine, cfg.Rate), cfg.ProfileDir, say)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("throughput: %w", err)
		}
		printLoad(out, rep.Throughput)
	}
	if cfg.wants("latency") {
		for _, rate := range cfg.LatencyRates {
			err := withServer(fmt.Sprintf("latency at %.0f/s", rate), func(srv *server) error {
				r, err := runLoad(ctx, srv, f, loadSpecFor(fmt.Sprintf("latency-%s-%.0f", rep.Engine, rate), rate), cfg.ProfileDir, say)
				rep.Latency = append(rep.Latency, r)
				return err
			})
			if err != nil {
				return nil, fmt.Errorf("latency: %w", err)
			}
			printLoad(out, rep.Latency[len(rep.Latency)-1])
		}
	}
	if cfg.wants("catchup") {
		err := withServer("catch-up", func(srv *server) error {
			var err error
			rep.CatchUp, err = runCatchUp(ctx, srv, f, cfg.CatchUpRuns, say)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("catch-up: %w", err)
		}
		printCatchUp(out, rep.CatchUp)
	}
	rep.TotalSecs = time.Since(begin).Seconds()
	say(fmt.Sprintf("done in %.0f s", rep.TotalSecs))
	if cfg.JSON != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(cfg.JSON, append(b, '\n'), 0o644); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// waitQuiet waits until the machine's other processes use less than a
// tenth of a core over 3 s, or for at most max: on a shared machine, a
// neighbour's build or browser test moves the figures more than anything
// measured here.
func waitQuiet(ctx context.Context, max time.Duration, say func(string)) {
	deadline := time.Now().Add(max)
	for said := false; ; {
		b0, s0 := machineBusy(), selfCPU()
		select {
		case <-ctx.Done():
			return
		case <-time.After(3 * time.Second):
		}
		cores := ((machineBusy() - b0) - (selfCPU() - s0)).Seconds() / 3
		if cores < 0.1 {
			return
		}
		if time.Now().After(deadline) {
			say(fmt.Sprintf("other processes still use %.2f cores; measuring anyway (see \"other processes\" below)", cores))
			return
		}
		if !said {
			say(fmt.Sprintf("waiting (up to %s) for other processes to go quiet: they use %.2f cores", max, cores))
			said = true
		}
	}
}

func loopbackURL(u string) bool {
	if u == "" {
		return true
	}
	p, err := url.Parse(u)
	if err != nil {
		return false
	}
	if p.Hostname() == "localhost" {
		return true
	}
	ip := net.ParseIP(p.Hostname())
	return ip != nil && ip.IsLoopback()
}

func createDatabase(ctx context.Context, admin, name string) (string, error) {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", fmt.Errorf("bench: connect to PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("bench: create database: %w", err)
	}
	u, err := url.Parse(admin)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

func dropDatabase(admin, name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	return err
}

func printIdle(w io.Writer, r *IdleResult) {
	last := r.Steps[len(r.Steps)-1]
	gc := "after a forced GC"
	if !r.GCForced {
		gc = "no forced GC (plain serve)"
	}
	nodes := "one server process"
	if r.Nodes > 1 {
		nodes = fmt.Sprintf("%d server nodes sharing PostgreSQL and NATS; figures summed over the nodes", r.Nodes)
	}
	fmt.Fprintf(w, `
IDLE  %d authenticated connections held (%d failed; the servers count %.0f), %s
  %d client processes, %.0f connections/s
  server RSS in total         %.1f MiB at %d connections (%.1f MiB with none): %.1f KiB per connection
  server RSS per connection   %.1f KiB  ((RSS at %d − RSS at 0) / %d)
  RSS slope over %d steps     %.1f KiB per connection; projected RSS at 100,000: %.0f MiB
  live heap per connection    %.1f KiB  (%s)
  stacks per connection       %.1f KiB, %.2f goroutines per connection (%d goroutines in all)
  target                      ≥ 100,000 connections at ≤ 12 KiB each
`, last.Connections, last.Failed, last.ServerConns, nodes, r.ClientProcs, r.ConnectsPerSec,
		mib(last.RSS), last.Connections, mib(r.Steps[0].RSS), r.TotalRSSPer/1024,
		r.RSSPerConn/1024, last.Connections, last.Connections,
		len(r.Steps), r.RSSSlope/1024, r.Projected100k/(1<<20),
		r.HeapPerConn/1024, gc, r.StackPerConn/1024, r.GoroutinesPer, last.Goroutines)
	for _, n := range r.PerNode {
		fmt.Fprintf(w, "  %-10s %6d connections, RSS %6.1f MiB: %.1f KiB per connection (slope %.1f), heap %.1f KiB, stacks %.1f KiB, %d goroutines\n",
			n.Node, n.Connections, mib(n.RSS), n.RSSPerConn/1024, n.RSSSlope/1024, n.HeapPerConn/1024, n.StackPer/1024, n.Goroutines)
	}
	fmt.Fprintln(w)
}

func printLoad(w io.Writer, r *LoadResult) {
	fmt.Fprintf(w, `
LOAD %s: %d groups of %d, %d connections, offered %.0f msgs/s, window %.1f s
  persisted (acked)       %.0f msgs/s   (%d sent, %d acked, %d sends skipped with the window full, errors %v)
  delivered               %.0f deliveries/s (%d per message; %d missing after draining; %v slow-consumer closes)
  send → deliver          p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.1f ms  (%d samples)
  send → ack              p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.1f ms
  CPU                     server %.1f s (%.0f%% of a core), postgres %.1f s, load generator %.1f s, other processes %.1f s
  per million deliveries  server %.1f CPU-s, postgres %.1f CPU-s
  server RSS              %.0f MiB
  database/sql %-5s pool  %.0f waits for a connection, %.1f requests waiting on average
`, r.Name, r.Groups, GroupSize, r.Connections, r.OfferedRate, r.WindowSeconds,
		r.AckRate, r.Sent, r.Acked, r.Stalled, r.Errors,
		r.DeliveryRate, r.ExpectedPerMsg, r.Missing, r.SlowConsumers,
		r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.P999, r.Latency.Max, r.Latency.Count,
		r.AckLatency.P50, r.AckLatency.P90, r.AckLatency.P99, r.AckLatency.P999, r.AckLatency.Max,
		r.ServerCPU, 100*r.ServerCPU/r.WindowSeconds, r.DBCPU, r.ClientCPU, r.OtherCPU,
		r.CPUPerMillion, r.DBPerMillion, mib(r.ServerRSS), r.PoolName, r.PoolWaits, r.PoolWaiting)
	if r.Profile != "" {
		fmt.Fprintf(w, "  CPU profile             %s\n", r.Profile)
	}
	fmt.Fprintln(w)
}

func printCatchUp(w io.Writer, rs []*CatchUpResult) {
	fmt.Fprintln(w)
	for _, r := range rs {
		fmt.Fprintf(w, "CATCH-UP %s: %d events behind; connect → caught up median %.0f ms (min %.0f, max %.0f over %d runs), %.0f events/s, server %.2f CPU-s per run, other processes %.2f CPU-s per run\n",
			r.Variant, r.Events, r.Median, r.Min, r.Max, len(r.Runs), r.EventsPerSec, r.ServerCPU, r.OtherCPU)
	}
	fmt.Fprintln(w, "  target: 10,000 messages behind caught up in under a second")
	fmt.Fprintln(w)
}
