package chat

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Idle connections are held by worker processes (`parley bench
// idle-worker`), because one process may hold only as many sockets as its
// open-files limit allows. The bench talks to each worker over its
// standard input and output, one line at a time:
//
//	→ {"url":…,"tokens":[…],"sources":[…]}   once, first
//	→ open N                                  open N more connections
//	← ok <open> <failed> <first error>        when they are open (or failed)
//
// and closes the worker's standard input to end it.

type workerConfig struct {
	URL     string   `json:"url"`
	Tokens  []string `json:"tokens"`
	Sources []string `json:"sources"` // local addresses to connect from, round robin
	Offset  int      `json:"offset"`  // where this worker starts in Tokens
}

// RunIdleWorker is the worker process's body.
func RunIdleWorker(ctx context.Context, in io.Reader, out io.Writer) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	if !sc.Scan() {
		return errors.New("idle-worker: no configuration on standard input")
	}
	var cfg workerConfig
	if err := json.Unmarshal(sc.Bytes(), &cfg); err != nil {
		return fmt.Errorf("idle-worker: configuration: %w", err)
	}
	if len(cfg.Tokens) == 0 {
		return errors.New("idle-worker: no tokens")
	}
	sources := cfg.Sources
	if len(sources) == 0 {
		sources = []string{""} // the system's choice
	}
	var dialers []*dialer
	for _, s := range sources {
		var ip net.IP
		if s != "" {
			if ip = net.ParseIP(s); ip == nil {
				return fmt.Errorf("idle-worker: bad source address %q", s)
			}
		}
		d, err := newDialer(cfg.URL, ip, 512)
		if err != nil {
			return err
		}
		dialers = append(dialers, d)
	}
	var (
		mu     sync.Mutex
		conns  []*websocket.Conn
		open   atomic.Int64
		next   = cfg.Offset
		closed = make(chan struct{})
	)
	defer func() {
		close(closed)
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
	}()
	for sc.Scan() {
		cmd, arg, _ := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		if cmd != "open" {
			return fmt.Errorf("idle-worker: unknown command %q", cmd)
		}
		n, err := strconv.Atoi(arg)
		if err != nil || n < 0 {
			return fmt.Errorf("idle-worker: open %q", arg)
		}
		first := next
		next += n
		var (
			failed   atomic.Int64
			firstErr atomic.Value
		)
		_ = parallel(ctx, n, 64, func(ctx context.Context, i int) error {
			k := first + i
			ws, err := dialers[k%len(dialers)].dial(ctx, cfg.Tokens[k%len(cfg.Tokens)])
			if err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err.Error())
				return nil
			}
			mu.Lock()
			conns = append(conns, ws)
			mu.Unlock()
			open.Add(1)
			// Reading answers the server's pings; the connection is
			// otherwise silent.
			go func() {
				for {
					if _, _, err := ws.NextReader(); err != nil {
						select {
						case <-closed:
						default:
							open.Add(-1)
						}
						return
					}
				}
			}()
			return nil
		})
		msg, _ := firstErr.Load().(string)
		fmt.Fprintf(out, "ok %d %d %s\n", open.Load(), failed.Load(), strings.ReplaceAll(msg, "\n", " "))
	}
	return sc.Err()
}

// worker is a running idle-worker process.
type worker struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	out   *bufio.Scanner
	open  int64
	fails int64
	err   string
}

func startWorker(exe string, cfg workerConfig) (*worker, error) {
	cmd := exec.Command(exe, "bench", "idle-worker")
	cmd.Stderr = os.Stderr
	setChildAttrs(cmd)
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	w := &worker{cmd: cmd, in: in, out: bufio.NewScanner(out)}
	b, _ := json.Marshal(cfg)
	if _, err := fmt.Fprintf(in, "%s\n", b); err != nil {
		w.stop()
		return nil, err
	}
	return w, nil
}

func (w *worker) openMore(n int) error {
	if _, err := fmt.Fprintf(w.in, "open %d\n", n); err != nil {
		return err
	}
	if !w.out.Scan() {
		return fmt.Errorf("idle-worker ended: %v", w.out.Err())
	}
	f := strings.SplitN(w.out.Text(), " ", 4)
	if len(f) < 3 || f[0] != "ok" {
		return fmt.Errorf("idle-worker: %q", w.out.Text())
	}
	w.open, _ = strconv.ParseInt(f[1], 10, 64)
	w.fails, _ = strconv.ParseInt(f[2], 10, 64)
	if len(f) == 4 && f[3] != "" {
		w.err = f[3]
	}
	return nil
}

func (w *worker) stop() {
	_ = w.in.Close()
	done := make(chan struct{})
	go func() { _ = w.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = w.cmd.Process.Kill()
		<-done
	}
}

// IdleStep is the server's memory with Connections idle connections.
type IdleStep struct {
	Connections   int     `json:"connections"`
	ServerConns   float64 `json:"server_reported_connections"`
	RSS           int64   `json:"rss_bytes"`          // after settling, before any forced collection
	RSSAfterGC    int64   `json:"rss_after_gc_bytes"` // after a forced collection
	HeapAlloc     uint64  `json:"heap_alloc_bytes"`   // live heap after a forced collection
	StackInuse    uint64  `json:"stack_inuse_bytes"`  // goroutine stacks
	Goroutines    int     `json:"goroutines"`
	ConnectSecond float64 `json:"connect_seconds"` // time to open this step's connections
	Failed        int64   `json:"failed_connections"`
	FirstError    string  `json:"first_error,omitempty"`
}

// IdleResult is the idle scenario's outcome.
type IdleResult struct {
	Steps          []IdleStep `json:"steps"`
	ClientProcs    int        `json:"client_processes"`
	Sources        []string   `json:"source_addresses"`
	GCForced       bool       `json:"gc_forced"`
	RSSPerConn     float64    `json:"rss_bytes_per_connection"`       // (RSS at max − RSS at 0) / max
	RSSSlope       float64    `json:"rss_slope_bytes_per_connection"` // least-squares slope over the steps
	HeapPerConn    float64    `json:"heap_bytes_per_connection"`
	StackPerConn   float64    `json:"stack_bytes_per_connection"`
	GoroutinesPer  float64    `json:"goroutines_per_connection"`
	Projected100k  float64    `json:"projected_rss_bytes_at_100k"`
	ConnectsPerSec float64    `json:"connections_per_second"`
	HeapProfile    string     `json:"heap_profile,omitempty"`
}

type idleSpec struct {
	Exe         string
	Connections int
	Steps       int
	Procs       int
	Sources     []string
	Settle      time.Duration
}

// runIdle opens connections in steps and reads the server's memory at
// each: after settling (RSS as an operator sees it), then after a forced
// collection (what the connections keep alive).
func runIdle(ctx context.Context, srv *server, f *fixture, spec idleSpec, profileDir string, progress func(string)) (*IdleResult, error) {
	tokens := make([]string, len(f.users))
	for i, u := range f.users {
		tokens[i] = u.Token
	}
	res := &IdleResult{ClientProcs: spec.Procs, Sources: spec.Sources}
	workers := make([]*worker, spec.Procs)
	defer func() {
		for _, w := range workers {
			if w != nil {
				w.stop()
			}
		}
	}()
	for i := range workers {
		w, err := startWorker(spec.Exe, workerConfig{URL: srv.URL, Tokens: tokens, Sources: spec.Sources, Offset: i * 7919})
		if err != nil {
			return nil, err
		}
		workers[i] = w
	}
	measure := func(n int, took time.Duration) (IdleStep, error) {
		st := IdleStep{Connections: n, ConnectSecond: took.Seconds()}
		select {
		case <-time.After(spec.Settle):
		case <-ctx.Done():
			return st, ctx.Err()
		}
		var err error
		if st.RSS, err = srv.rss(ctx); err != nil {
			return st, err
		}
		ms, err := srv.gc(ctx)
		if err != nil {
			return st, err
		}
		res.GCForced = ms.Forced
		st.HeapAlloc, st.StackInuse, st.Goroutines = ms.HeapAlloc, ms.StackInuse, ms.Goroutines
		st.RSSAfterGC, _ = srv.rss(ctx)
		m, _ := srv.metrics(ctx)
		st.ServerConns = m["parley_ws_connections"]
		for _, w := range workers {
			st.Failed += w.fails
			if st.FirstError == "" {
				st.FirstError = w.err
			}
		}
		return st, nil
	}
	base, err := measure(0, 0)
	if err != nil {
		return nil, err
	}
	res.Steps = append(res.Steps, base)
	progress(fmt.Sprintf("  0 connections: RSS %.1f MiB, heap %.1f MiB", mib(base.RSS), mib(int64(base.HeapAlloc))))
	opened := 0
	var totalConnect time.Duration
	for step := 1; step <= spec.Steps; step++ {
		target := spec.Connections * step / spec.Steps
		add := target - opened
		start := time.Now()
		errs := make(chan error, len(workers))
		for i, w := range workers {
			share := add / len(workers)
			if i < add%len(workers) {
				share++
			}
			go func() { errs <- w.openMore(share) }()
		}
		for range workers {
			if err := <-errs; err != nil {
				return nil, err
			}
		}
		took := time.Since(start)
		totalConnect += took
		opened = target
		var open int64
		for _, w := range workers {
			open += w.open
		}
		st, err := measure(int(open), took)
		if err != nil {
			return nil, err
		}
		res.Steps = append(res.Steps, st)
		progress(fmt.Sprintf("  %d connections (%d failed) in %.1fs: RSS %.1f MiB, heap %.1f MiB, stacks %.1f MiB, %d goroutines",
			open, st.Failed, took.Seconds(), mib(st.RSS), mib(int64(st.HeapAlloc)), mib(int64(st.StackInuse)), st.Goroutines))
		if st.Failed > 0 {
			progress("  first failure: " + st.FirstError)
		}
	}
	last := res.Steps[len(res.Steps)-1]
	if profileDir != "" && srv.debugURL != "" {
		res.HeapProfile = profileDir + "/idle.heap.pprof"
		if err := srv.profile(ctx, "heap", 0, res.HeapProfile); err != nil {
			progress("  heap profile: " + err.Error())
		}
		_ = srv.profile(ctx, "goroutine", 0, profileDir+"/idle.goroutine.pprof")
	}
	if n := float64(last.Connections); n > 0 {
		res.RSSPerConn = float64(last.RSS-base.RSS) / n
		res.HeapPerConn = (float64(last.HeapAlloc) - float64(base.HeapAlloc)) / n
		res.StackPerConn = (float64(last.StackInuse) - float64(base.StackInuse)) / n
		res.GoroutinesPer = float64(last.Goroutines-base.Goroutines) / n
		res.ConnectsPerSec = n / totalConnect.Seconds()
	}
	var xs, ys []float64
	for _, s := range res.Steps {
		xs, ys = append(xs, float64(s.Connections)), append(ys, float64(s.RSS))
	}
	slope, intercept := fitLine(xs, ys)
	res.RSSSlope = slope
	res.Projected100k = intercept + slope*100_000
	return res, nil
}

// fitLine is an ordinary least-squares fit y = a·x + b.
func fitLine(xs, ys []float64) (a, b float64) {
	n := float64(len(xs))
	var sx, sy, sxx, sxy float64
	for i := range xs {
		sx, sy, sxx, sxy = sx+xs[i], sy+ys[i], sxx+xs[i]*xs[i], sxy+xs[i]*ys[i]
	}
	d := n*sxx - sx*sx
	if n < 2 || d == 0 {
		return math.NaN(), math.NaN()
	}
	a = (n*sxy - sx*sy) / d
	return a, (sy - a*sx) / n
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
