package chat

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// loadSpec is one run of the messaging load: every member of every group
// holds one connection and sends at a fixed pace; every message is
// delivered to the group's GroupSize connections (the sender's included).
type loadSpec struct {
	Name     string
	Rate     float64 // messages per second offered in total; 0: every sender at ConnRate
	ConnRate float64 // most messages per second one connection sends (the server allows 20)
	Window   int     // sends a connection may have unanswered
	Warmup   time.Duration
	Duration time.Duration
	BodySize int
}

// LoadResult is what one load run measured over its steady window.
type LoadResult struct {
	Name           string            `json:"name"`
	Connections    int               `json:"connections"`
	Groups         int               `json:"groups"`
	OfferedRate    float64           `json:"offered_msgs_per_s"`
	WindowSeconds  float64           `json:"window_s"`
	Sent           uint64            `json:"sent"`
	Acked          uint64            `json:"acked"`
	Errors         map[string]uint64 `json:"errors,omitempty"`
	Stalled        uint64            `json:"stalled_sends"`
	Deliveries     uint64            `json:"deliveries"`
	AckRate        float64           `json:"acked_msgs_per_s"`
	DeliveryRate   float64           `json:"deliveries_per_s"`
	Latency        Quantiles         `json:"send_to_deliver"`
	AckLatency     Quantiles         `json:"send_to_ack"`
	ServerCPU      float64           `json:"server_cpu_s"`
	DBCPU          float64           `json:"postgres_cpu_s"`
	ClientCPU      float64           `json:"client_cpu_s"`
	OtherCPU       float64           `json:"other_processes_cpu_s"` // the rest of the machine: anything above ~0.1 core disturbs the figures
	CPUPerMillion  float64           `json:"server_cpu_s_per_million_deliveries"`
	DBPerMillion   float64           `json:"postgres_cpu_s_per_million_deliveries"`
	Missing        int64             `json:"missing_deliveries"` // over the whole run, after draining
	SlowConsumers  float64           `json:"slow_consumer_closes"`
	PoolName       string            `json:"db_pool,omitempty"`
	PoolWaits      float64           `json:"db_pool_waits"`        // times a request waited for a database connection
	PoolWaitSecs   float64           `json:"db_pool_wait_s"`       // total time waited
	PoolWaiting    float64           `json:"db_pool_mean_waiting"` // goroutines waiting, on average
	ServerRSS      int64             `json:"server_rss_bytes"`
	Profile        string            `json:"cpu_profile,omitempty"`
	ExpectedPerMsg int               `json:"deliveries_per_message"`
}

// Quantiles summarises a latency histogram, in milliseconds.
type Quantiles struct {
	Count uint64  `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p999_ms"`
	Max   float64 `json:"max_ms"`
}

func quantiles(h *Hist) Quantiles {
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	return Quantiles{Count: h.Count(), P50: ms(h.Quantile(0.50)), P90: ms(h.Quantile(0.90)),
		P99: ms(h.Quantile(0.99)), P999: ms(h.Quantile(0.999)), Max: ms(h.Max())}
}

type pendingSend struct {
	id     uint64
	sentNs int64
}

// loadConn is one member's connection.
type loadConn struct {
	l      *load
	idx    int
	conv   string
	ws     *websocket.Conn
	slots  chan struct{}
	prefix string // client id prefix

	mu      sync.Mutex
	pending []pendingSend

	sent, acked, created, errs, stalled, deliveries atomic.Uint64

	hist, ackHist Hist // only the reader touches them
}

// load is a running load test.
type load struct {
	spec     loadSpec
	epoch    time.Time
	winStart atomic.Int64 // latencies are recorded for messages sent in [winStart, winEnd)
	winEnd   atomic.Int64
	stop     chan struct{}
	pad      string

	conns []*loadConn

	errMu    sync.Mutex
	errCodes map[string]uint64
}

func (l *load) now() int64 { return int64(time.Since(l.epoch)) }

// runLoad connects every load user, runs the spec and measures.
func runLoad(ctx context.Context, srv *server, f *fixture, spec loadSpec, profileDir string, progress func(string)) (*LoadResult, error) {
	n := len(f.users)
	perConn := spec.ConnRate
	if spec.Rate > 0 {
		perConn = spec.Rate / float64(n)
		if perConn > spec.ConnRate {
			return nil, fmt.Errorf("bench: %.0f messages/s from %d connections is %.1f/s each, above the %.0f/s a connection may send; use more --groups",
				spec.Rate, n, perConn, spec.ConnRate)
		}
	}
	l := &load{spec: spec, epoch: time.Now(), stop: make(chan struct{}), errCodes: map[string]uint64{},
		pad: strings.Repeat("x", max(spec.BodySize-30, 0))}
	l.winStart.Store(1 << 62)
	l.winEnd.Store(1 << 62)
	l.conns = make([]*loadConn, n)
	runID := newRunID()
	for gi, g := range f.groups {
		for _, m := range g.Members {
			l.conns[m] = &loadConn{l: l, idx: m, conv: f.groups[gi].ID, slots: make(chan struct{}, spec.Window),
				prefix: "lg" + runID + "-" + strconv.Itoa(m)}
		}
	}
	d, err := newDialer(srv.URL, nil, 4096)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	err = parallel(ctx, n, 32, func(ctx context.Context, i int) error {
		ws, err := d.dial(ctx, f.users[i].Token)
		l.conns[i].ws = ws
		return err
	})
	if err != nil {
		l.closeAll()
		return nil, err
	}
	progress(fmt.Sprintf("  %d connections in %.1fs", n, time.Since(start).Seconds()))

	var readers, senders sync.WaitGroup
	for _, c := range l.conns {
		readers.Go(c.read)
	}
	interval := time.Duration(float64(time.Second) / perConn)
	for _, c := range l.conns {
		senders.Go(func() { c.send(interval) })
	}

	res := &LoadResult{Name: spec.Name, Connections: n, Groups: len(f.groups), OfferedRate: perConn * float64(n),
		ExpectedPerMsg: GroupSize, Errors: map[string]uint64{}}
	select {
	case <-time.After(spec.Warmup):
	case <-ctx.Done():
		close(l.stop)
		l.closeAll()
		return nil, ctx.Err()
	}
	var profErr chan error
	if profileDir != "" && srv.debugURL != "" {
		res.Profile = profileDir + "/" + spec.Name + ".cpu.pprof"
		profErr = make(chan error, 1)
		go func() { profErr <- srv.profile(ctx, "profile", spec.Duration, res.Profile) }()
	}
	if traceDir := os.Getenv("PARLEY_BENCH_TRACE_DIR"); traceDir != "" && srv.debugURL != "" {
		// An execution trace of 3 s in the middle of the window (heavy:
		// not for the published figures).
		go func() {
			time.Sleep(spec.Duration/2 - 1500*time.Millisecond)
			if err := srv.profile(ctx, "trace", 3*time.Second, traceDir+"/"+spec.Name+".trace"); err != nil {
				progress("  trace: " + err.Error())
			}
		}()
	}
	m0, _ := srv.metrics(ctx)
	cpu0, _ := srv.cpu(ctx)
	db0 := commandCPU("postgres")
	cl0 := selfCPU()
	all0 := machineBusy()
	s0 := l.snapshot()
	t0 := time.Now()
	l.winStart.Store(l.now())
	select {
	case <-time.After(spec.Duration):
	case <-ctx.Done():
	}
	l.winEnd.Store(l.now())
	t1 := time.Now()
	s1 := l.snapshot()
	cpu1, _ := srv.cpu(ctx)
	db1 := commandCPU("postgres")
	cl1 := selfCPU()
	all1 := machineBusy()
	m1, _ := srv.metrics(ctx)
	res.ServerRSS, _ = srv.rss(ctx)
	close(l.stop)
	senders.Wait()
	// Let what was sent be answered and delivered, then compare.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		s := l.snapshot()
		if s.pending == 0 && s.deliveries >= s.created*GroupSize {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	end := l.snapshot()
	l.closeAll()
	readers.Wait()
	if profErr != nil {
		if err := <-profErr; err != nil {
			progress("  profile: " + err.Error())
		}
	}

	win := t1.Sub(t0).Seconds()
	res.WindowSeconds = win
	res.Sent, res.Acked, res.Stalled = s1.sent-s0.sent, s1.acked-s0.acked, s1.stalled-s0.stalled
	res.Deliveries = s1.deliveries - s0.deliveries
	res.AckRate, res.DeliveryRate = float64(res.Acked)/win, float64(res.Deliveries)/win
	res.ServerCPU, res.DBCPU, res.ClientCPU = (cpu1 - cpu0).Seconds(), (db1 - db0).Seconds(), (cl1 - cl0).Seconds()
	if srv.pid != 0 {
		res.OtherCPU = (all1 - all0).Seconds() - res.ServerCPU - res.DBCPU - res.ClientCPU
	}
	if res.Deliveries > 0 {
		res.CPUPerMillion = res.ServerCPU / float64(res.Deliveries) * 1e6
		res.DBPerMillion = res.DBCPU / float64(res.Deliveries) * 1e6
	}
	res.Missing = int64(end.created*GroupSize) - int64(end.deliveries)
	res.SlowConsumers = m1["parley_ws_slow_consumers_total"] - m0["parley_ws_slow_consumers_total"]
	// database/sql's queue for a connection: on SQLite the "write" pool is
	// the single writer every message goes through. (On PostgreSQL the
	// queue is inside pgxpool, which database/sql does not see.)
	for _, pool := range []string{"write", "main"} {
		key := func(m string) string { return m + `{db_name="` + pool + `"}` }
		if _, ok := m1[key("go_sql_wait_count_total")]; ok {
			res.PoolName = pool
			res.PoolWaits = m1[key("go_sql_wait_count_total")] - m0[key("go_sql_wait_count_total")]
			res.PoolWaitSecs = m1[key("go_sql_wait_duration_seconds_total")] - m0[key("go_sql_wait_duration_seconds_total")]
			res.PoolWaiting = res.PoolWaitSecs / win
			break
		}
	}
	var lat, ack Hist
	for _, c := range l.conns {
		lat.Merge(&c.hist)
		ack.Merge(&c.ackHist)
	}
	res.Latency, res.AckLatency = quantiles(&lat), quantiles(&ack)
	l.errMu.Lock()
	for k, v := range l.errCodes {
		res.Errors[k] = v
	}
	l.errMu.Unlock()
	return res, nil
}

type loadSnapshot struct {
	sent, acked, created, stalled, deliveries, pending uint64
}

func (l *load) snapshot() loadSnapshot {
	var s loadSnapshot
	for _, c := range l.conns {
		s.sent += c.sent.Load()
		s.acked += c.acked.Load()
		s.created += c.created.Load()
		s.stalled += c.stalled.Load()
		s.deliveries += c.deliveries.Load()
		s.pending += uint64(len(c.slots))
	}
	return s
}

func (l *load) closeAll() {
	for _, c := range l.conns {
		if c != nil && c.ws != nil {
			_ = c.ws.Close()
		}
	}
}

// send paces this connection's messages at interval, starting at a random
// phase so that the connections do not send in step. A send that finds the
// window full is skipped (and counted), and a sender that fell behind
// resumes from now instead of bursting: the server allows each connection
// 20 frames a second with a burst of 60.
func (c *loadConn) send(interval time.Duration) {
	l := c.l
	next := time.Now().Add(rand.N(interval))
	var (
		buf   []byte
		reqID uint64
	)
	timer := time.NewTimer(time.Until(next))
	defer timer.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-timer.C:
		}
		select {
		case c.slots <- struct{}{}:
			reqID++
			now := l.now()
			c.mu.Lock()
			c.pending = append(c.pending, pendingSend{reqID, now})
			c.mu.Unlock()
			buf = appendSendFrame(buf[:0], reqID, c.conv, c.prefix, now, c.idx, l.pad)
			_ = c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if err := c.ws.WriteMessage(websocket.TextMessage, buf); err != nil {
				return
			}
			c.sent.Add(1)
		default:
			c.stalled.Add(1)
		}
		next = next.Add(interval)
		if now := time.Now(); now.Sub(next) > interval {
			next = now
		}
		timer.Reset(time.Until(next))
	}
}

// read handles the server's frames until the connection closes.
func (c *loadConn) read() {
	l := c.l
	var buf bytes.Buffer
	for {
		_, r, err := c.ws.NextReader()
		if err != nil {
			return
		}
		buf.Reset()
		if _, err := buf.ReadFrom(r); err != nil {
			return
		}
		now := l.now()
		splitFrames(buf.Bytes(), func(f []byte) {
			switch string(frameType(f)) {
			case "event":
				sent, sender, ok := bodyStamp(f)
				if !ok {
					return
				}
				c.deliveries.Add(1)
				if sender != c.idx && sent >= l.winStart.Load() && sent < l.winEnd.Load() {
					c.hist.Record(time.Duration(now - sent))
				}
			case "ack":
				p, ok := c.pop(f)
				if !ok {
					return
				}
				c.acked.Add(1)
				if bytes.Contains(f, keyCreated) {
					c.created.Add(1)
				}
				if p.sentNs >= l.winStart.Load() && p.sentNs < l.winEnd.Load() {
					c.ackHist.Record(time.Duration(now - p.sentNs))
				}
			case "error":
				if _, ok := c.pop(f); ok {
					c.errs.Add(1)
				}
				code := string(stringAfter(f, keyCode))
				l.errMu.Lock()
				l.errCodes[code]++
				l.errMu.Unlock()
			}
		})
	}
}

// pop takes the answered send off the queue: the gateway answers a
// connection's frames in order.
func (c *loadConn) pop(f []byte) (pendingSend, bool) {
	id, err := strconv.ParseUint(string(stringAfter(f, keyID)), 10, 64)
	if err != nil {
		return pendingSend{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.pending) > 0 {
		p := c.pending[0]
		c.pending = c.pending[1:]
		if p.id == id {
			<-c.slots
			return p, true
		}
		// An unanswered send (it cannot happen with an in-order server;
		// free its slot so the sender does not stall for ever).
		<-c.slots
	}
	return pendingSend{}, false
}
