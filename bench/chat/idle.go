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
		mu      sync.Mutex
		conns   []*websocket.Conn
		open    atomic.Int64
		dropErr atomic.Value // why the first connection that had opened ended
		next    = cfg.Offset
		closed  = make(chan struct{})
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
			// otherwise silent. gorilla's own answer must be written
			// within 1 s, which a worker among a dozen on 2 busy cores
			// (load average above 30 while 100,000 connect) missed for
			// 1 connection in 100,000, ending it at the client only: the
			// answer here has no deadline (a pong is 6 bytes on
			// loopback), so a connection ends only if the server ends it.
			ws.SetPingHandler(func(data string) error {
				err := ws.WriteControl(websocket.PongMessage, []byte(data), time.Time{})
				if errors.Is(err, websocket.ErrCloseSent) {
					return nil
				}
				return err
			})
			go func() {
				for {
					if _, _, err := ws.NextReader(); err != nil {
						select {
						case <-closed:
						default:
							open.Add(-1)
							dropErr.CompareAndSwap(nil, "closed after opening: "+err.Error())
						}
						return
					}
				}
			}()
			return nil
		})
		msg, _ := firstErr.Load().(string)
		if msg == "" {
			msg, _ = dropErr.Load().(string)
		}
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

// IdleStep is the servers' memory with Connections idle connections:
// the sums over every node, and each node in Nodes.
type IdleStep struct {
	Connections   int        `json:"connections"`
	ServerConns   float64    `json:"server_reported_connections"`
	RSS           int64      `json:"rss_bytes"`          // after settling, before any forced collection
	RSSAfterGC    int64      `json:"rss_after_gc_bytes"` // after a forced collection
	HeapAlloc     uint64     `json:"heap_alloc_bytes"`   // live heap after a forced collection
	StackInuse    uint64     `json:"stack_inuse_bytes"`  // goroutine stacks
	Goroutines    int        `json:"goroutines"`
	ConnectSecond float64    `json:"connect_seconds"` // time to open this step's connections
	Failed        int64      `json:"failed_connections"`
	FirstError    string     `json:"first_error,omitempty"`
	Nodes         []NodeStep `json:"nodes,omitempty"` // with more than one node
}

// NodeStep is one node's share of an IdleStep.
type NodeStep struct {
	Node        string  `json:"node"`
	Connections int     `json:"connections"` // held by the workers dialing this node
	ServerConns float64 `json:"server_reported_connections"`
	RSS         int64   `json:"rss_bytes"`
	RSSAfterGC  int64   `json:"rss_after_gc_bytes"`
	HeapAlloc   uint64  `json:"heap_alloc_bytes"`
	StackInuse  uint64  `json:"stack_inuse_bytes"`
	Goroutines  int     `json:"goroutines"`
	Failed      int64   `json:"failed_connections"`
}

// NodeIdle is one node's memory per connection over the whole run.
type NodeIdle struct {
	Node        string  `json:"node"`
	Connections int     `json:"connections"`
	RSS         int64   `json:"rss_bytes"`
	RSSPerConn  float64 `json:"rss_bytes_per_connection"`
	RSSSlope    float64 `json:"rss_slope_bytes_per_connection"`
	HeapPerConn float64 `json:"heap_bytes_per_connection"`
	StackPer    float64 `json:"stack_bytes_per_connection"`
	Goroutines  int     `json:"goroutines"`
}

// IdleResult is the idle scenario's outcome.
type IdleResult struct {
	Steps          []IdleStep `json:"steps"`
	Nodes          int        `json:"nodes"`
	PerNode        []NodeIdle `json:"per_node,omitempty"`
	ClientProcs    int        `json:"client_processes"`
	Sources        []string   `json:"source_addresses"`
	GCForced       bool       `json:"gc_forced"`
	RSSPerConn     float64    `json:"rss_bytes_per_connection"`       // (RSS at max − RSS at 0) / max, summed over nodes
	TotalRSSPer    float64    `json:"total_rss_bytes_per_connection"` // RSS at max (every node's, fixed cost included) / max
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
	Procs       int // client processes in all, spread over the nodes
	Sources     []string
	Settle      time.Duration
}

// spread divides n into k shares that differ by at most one, the larger
// first.
func spread(n, k int) []int {
	k = max(k, 1)
	out := make([]int, k)
	for i := range out {
		out[i] = n / k
		if i < n%k {
			out[i]++
		}
	}
	return out
}

// clientProcs is how many worker processes hold the connections: procs
// rounded up to a multiple of the nodes, since each worker dials one node.
func clientProcs(procs, nodes int) int {
	nodes = max(nodes, 1)
	return max(1, (procs+nodes-1)/nodes) * nodes
}

// runIdle opens connections in steps, spread evenly over the nodes, and
// reads every node's memory at each: after settling (RSS as an operator
// sees it), then after a forced collection (what the connections keep
// alive). Each worker process dials one node, so what a node holds is
// exactly its own workers' connections.
func runIdle(ctx context.Context, srvs []*server, f *fixture, spec idleSpec, profileDir string, progress func(string)) (*IdleResult, error) {
	tokens := make([]string, len(f.users))
	for i, u := range f.users {
		tokens[i] = u.Token
	}
	perNodeProcs := clientProcs(spec.Procs, len(srvs)) / len(srvs)
	res := &IdleResult{Nodes: len(srvs), ClientProcs: perNodeProcs * len(srvs), Sources: spec.Sources}
	workers := make([][]*worker, len(srvs)) // by node
	defer func() {
		for _, ws := range workers {
			for _, w := range ws {
				w.stop()
			}
		}
	}()
	for n, srv := range srvs {
		for j := range perNodeProcs {
			k := n*perNodeProcs + j
			w, err := startWorker(spec.Exe, workerConfig{URL: srv.URL, Tokens: tokens, Sources: spec.Sources, Offset: k * 7919})
			if err != nil {
				return nil, err
			}
			workers[n] = append(workers[n], w)
		}
	}
	nodeName := func(n int) string {
		if len(srvs) == 1 {
			return "node"
		}
		return fmt.Sprintf("bench-%d", n+1)
	}
	measure := func(took time.Duration) (IdleStep, error) {
		st := IdleStep{ConnectSecond: took.Seconds()}
		select {
		case <-time.After(spec.Settle):
		case <-ctx.Done():
			return st, ctx.Err()
		}
		// Every node's RSS first, as it settled, then each node's
		// collection.
		nodes := make([]NodeStep, len(srvs))
		for n, srv := range srvs {
			var err error
			if nodes[n].RSS, err = srv.rss(ctx); err != nil {
				return st, err
			}
		}
		for n, srv := range srvs {
			ns := &nodes[n]
			ns.Node = nodeName(n)
			ms, err := srv.gc(ctx)
			if err != nil {
				return st, err
			}
			res.GCForced = ms.Forced
			ns.HeapAlloc, ns.StackInuse, ns.Goroutines = ms.HeapAlloc, ms.StackInuse, ms.Goroutines
			ns.RSSAfterGC, _ = srv.rss(ctx)
			m, _ := srv.metrics(ctx)
			ns.ServerConns = m["parley_ws_connections"]
			for _, w := range workers[n] {
				ns.Connections += int(w.open)
				ns.Failed += w.fails
				if st.FirstError == "" {
					st.FirstError = w.err
				}
			}
			st.Connections += ns.Connections
			st.ServerConns += ns.ServerConns
			st.RSS += ns.RSS
			st.RSSAfterGC += ns.RSSAfterGC
			st.HeapAlloc += ns.HeapAlloc
			st.StackInuse += ns.StackInuse
			st.Goroutines += ns.Goroutines
			st.Failed += ns.Failed
		}
		if len(srvs) > 1 {
			st.Nodes = nodes
		}
		return st, nil
	}
	// A collection first, so that the baseline is what a started node
	// settles to, not the garbage of its start (migrations, the first
	// connections to PostgreSQL and NATS).
	for _, srv := range srvs {
		_, _ = srv.gc(ctx)
	}
	base, err := measure(0)
	if err != nil {
		return nil, err
	}
	res.Steps = append(res.Steps, base)
	progress(fmt.Sprintf("  0 connections: RSS %.1f MiB, heap %.1f MiB (all nodes)", mib(base.RSS), mib(int64(base.HeapAlloc))))
	perNode := spread(spec.Connections, len(srvs))
	opened := make([]int, len(srvs))
	var totalConnect time.Duration
	for step := 1; step <= spec.Steps; step++ {
		start := time.Now()
		errs := make(chan error, len(srvs)*perNodeProcs)
		for n := range srvs {
			target := perNode[n] * step / spec.Steps
			shares := spread(target-opened[n], perNodeProcs)
			opened[n] = target
			for j, w := range workers[n] {
				go func() { errs <- w.openMore(shares[j]) }()
			}
		}
		for range len(srvs) * perNodeProcs {
			if err := <-errs; err != nil {
				return nil, err
			}
		}
		took := time.Since(start)
		totalConnect += took
		st, err := measure(took)
		if err != nil {
			return nil, err
		}
		res.Steps = append(res.Steps, st)
		progress(fmt.Sprintf("  %d connections (%d failed, server says %.0f) in %.1fs: RSS %.1f MiB, heap %.1f MiB, stacks %.1f MiB, %d goroutines",
			st.Connections, st.Failed, st.ServerConns, took.Seconds(), mib(st.RSS), mib(int64(st.HeapAlloc)), mib(int64(st.StackInuse)), st.Goroutines))
		for _, ns := range st.Nodes {
			progress(fmt.Sprintf("    %s: %d connections (%d failed, server says %.0f): RSS %.1f MiB (%.1f after GC), heap %.1f MiB, stacks %.1f MiB, %d goroutines",
				ns.Node, ns.Connections, ns.Failed, ns.ServerConns, mib(ns.RSS), mib(ns.RSSAfterGC), mib(int64(ns.HeapAlloc)), mib(int64(ns.StackInuse)), ns.Goroutines))
		}
		if st.Failed > 0 || st.FirstError != "" {
			progress("  first failure: " + st.FirstError)
		}
	}
	last := res.Steps[len(res.Steps)-1]
	if profileDir != "" {
		for n, srv := range srvs {
			if srv.debugURL == "" {
				continue
			}
			name := "idle"
			if len(srvs) > 1 {
				name += "." + nodeName(n)
			}
			p := profileDir + "/" + name + ".heap.pprof"
			if err := srv.profile(ctx, "heap", 0, p); err != nil {
				progress("  heap profile: " + err.Error())
			} else if res.HeapProfile == "" {
				res.HeapProfile = p
			}
			_ = srv.profile(ctx, "goroutine", 0, profileDir+"/"+name+".goroutine.pprof")
		}
	}
	if n := float64(last.Connections); n > 0 {
		res.RSSPerConn = float64(last.RSS-base.RSS) / n
		res.TotalRSSPer = float64(last.RSS) / n
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
	if len(srvs) > 1 {
		for n := range srvs {
			ni := NodeIdle{Node: nodeName(n)}
			var xs, ys []float64
			for _, s := range res.Steps {
				xs, ys = append(xs, float64(s.Nodes[n].Connections)), append(ys, float64(s.Nodes[n].RSS))
			}
			b, l := base.Nodes[n], last.Nodes[n]
			ni.Connections, ni.RSS, ni.Goroutines = l.Connections, l.RSS, l.Goroutines
			if c := float64(l.Connections); c > 0 {
				ni.RSSPerConn = float64(l.RSS-b.RSS) / c
				ni.HeapPerConn = (float64(l.HeapAlloc) - float64(b.HeapAlloc)) / c
				ni.StackPer = (float64(l.StackInuse) - float64(b.StackInuse)) / c
			}
			ni.RSSSlope, _ = fitLine(xs, ys)
			res.PerNode = append(res.PerNode, ni)
		}
	}
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
