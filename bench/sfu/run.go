// Package sfu is the end-to-end media benchmark behind `parley bench
// sfu`: a real server process on this machine, one publisher and N
// subscribers as Pion clients in the bench's process, and the server's
// CPU time and memory read from /proc.
package sfu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
)

// Config is one run of the bench.
type Config struct {
	Targets     []string // "parley", "galene"
	ParleyExe   string
	GaleneExe   string
	Subscribers []int
	Warmup      time.Duration
	Duration    time.Duration
	FPS         int
	VideoKbps   int
	KeyInterval time.Duration
	MediaIP     string // "" picks the first non-loopback IPv4
	JSON        string
	Keep        bool
	// Rounds repeats every measurement; within a round the targets
	// alternate at each count, so that a change in the machine's load
	// hits both alike. Medians are printed at the end.
	Rounds int
	// ProfileDir, when set, records a CPU profile of the server over each
	// window with perf (perf record -g), into <target>-<n>-<round>.perf.data.
	ProfileDir string
}

// Result is one measured window.
type Result struct {
	Target      string  `json:"target"`
	Subscribers int     `json:"subscribers"`
	Receiving   int     `json:"receiving"` // subscribers that got packets in the window
	Seconds     float64 `json:"seconds"`
	Packets     int64   `json:"packets"` // received by all subscribers in the window
	ServerCPU   float64 `json:"server_cpu_seconds"`
	CPUPerMPkt  float64 `json:"cpu_seconds_per_million_packets"`
	CorePercent float64 `json:"server_core_percent"`
	RSSBase     int64   `json:"rss_publisher_only_bytes"`
	RSS         int64   `json:"rss_bytes"`
	RSSPerSub   float64 `json:"rss_per_subscriber_bytes"`
	BenchCPU    float64 `json:"bench_cpu_seconds"`
	KeyRequests int64   `json:"keyframe_requests"`
	Load        string  `json:"load_before"`
	LoadAfter   string  `json:"load_after"`
	Round       int     `json:"round"`
}

// PerSubRate is the packets per second each subscriber received.
func (r Result) PerSubRate() float64 {
	if r.Subscribers == 0 || r.Seconds == 0 {
		return 0
	}
	return float64(r.Packets) / float64(r.Subscribers) / r.Seconds
}

type target interface {
	name() string
	start(ctx context.Context, dir string, maxSubs int) (*process, error)
	publish(ctx context.Context, offer string) (answer string, err error)
	subscribe(ctx context.Context, api *webrtc.API, i int, total *atomic.Int64) (*subscriber, error)
}

// frameBytes is the size of each video frame for the bitrate and rate.
func frameBytes(kbps, fps int) int { return kbps * 1000 / 8 / fps }

// Run measures every target at every subscriber count.
func Run(ctx context.Context, cfg Config, out io.Writer) ([]Result, error) {
	ip := net.ParseIP(cfg.MediaIP)
	if cfg.MediaIP == "" {
		ip = defaultMediaIP()
	}
	if ip == nil {
		return nil, fmt.Errorf("--media-ip %q is not an address", cfg.MediaIP)
	}
	api, err := newAPI(ip)
	if err != nil {
		return nil, err
	}
	st := stream{FPS: cfg.FPS, FrameBytes: frameBytes(cfg.VideoKbps, cfg.FPS), KeyInterval: cfg.KeyInterval}
	fmt.Fprintf(out, "stream: VP8 %d fps × %d B (%d kbit/s), keyframe every %s, Opus 20 ms × 120 B; media over %s; window %s after %s warm-up\n",
		st.FPS, st.FrameBytes, cfg.VideoKbps, cfg.KeyInterval, ip, cfg.Duration, cfg.Warmup)
	var results []Result
	for round := 1; round <= max(1, cfg.Rounds); round++ {
		for _, n := range cfg.Subscribers {
			for _, name := range cfg.Targets {
				var t target
				switch name {
				case "parley":
					t = &parleyTarget{exe: cfg.ParleyExe}
				case "galene":
					if cfg.GaleneExe == "" {
						return results, errors.New("--galene: the path of a Galène binary is needed for the galene target")
					}
					t = &galeneTarget{exe: cfg.GaleneExe}
				default:
					return results, fmt.Errorf("unknown target %q (parley or galene)", name)
				}
				r, err := runOne(ctx, cfg, api, st, t, n, out)
				if err != nil {
					return results, fmt.Errorf("%s with %d subscribers: %w", name, n, err)
				}
				r.Round = round
				results = append(results, r)
				fmt.Fprintf(out, "round %d: %-7s %4d subs: %6.0f pkts/s per sub (%d receiving), server %5.1f%% of a core, %6.2f CPU-s per million packets, RSS %.1f MiB (%.1f with the publisher only, %.0f KiB per subscriber); bench used %.1f CPU-s; load %s before, %s after\n",
					round, r.Target, r.Subscribers, r.PerSubRate(), r.Receiving, r.CorePercent, r.CPUPerMPkt,
					float64(r.RSS)/(1<<20), float64(r.RSSBase)/(1<<20), r.RSSPerSub/1024, r.BenchCPU, r.Load, r.LoadAfter)
			}
		}
	}
	if cfg.JSON != "" {
		b, _ := json.MarshalIndent(results, "", "  ")
		if err := os.WriteFile(cfg.JSON, b, 0o644); err != nil {
			return results, err
		}
	}
	return results, nil
}

func runOne(ctx context.Context, cfg Config, api *webrtc.API, st stream, t target, n int, out io.Writer) (Result, error) {
	dir, err := os.MkdirTemp("", "parley-bench-sfu-"+t.name()+"-")
	if err != nil {
		return Result{}, err
	}
	if !cfg.Keep {
		defer os.RemoveAll(dir)
	}
	load := loadAvg()
	proc, err := t.start(ctx, dir, n)
	if err != nil {
		return Result{}, err
	}
	defer proc.stop()

	pub, offer, err := newPublisher(api)
	if err != nil {
		return Result{}, err
	}
	defer pub.close()
	connected := make(chan struct{})
	var once sync.Once
	pub.pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			once.Do(func() { close(connected) })
		}
	})
	answer, err := t.publish(ctx, offer)
	if err == nil {
		err = setAnswer(pub.pc, answer)
	}
	if err != nil {
		return Result{}, fmt.Errorf("publish: %w", err)
	}
	select {
	case <-connected:
	case <-time.After(20 * time.Second):
		return Result{}, fmt.Errorf("the publisher did not connect; server log: %s", proc.logTail())
	}
	pub.start(st)
	time.Sleep(2 * time.Second)
	rssBase, _ := procRSS(proc.pid())

	var total atomic.Int64
	subs := make([]*subscriber, n)
	defer func() {
		for _, s := range subs {
			if s != nil {
				s.shutdown()
			}
		}
	}()
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		firstEr error
		next    atomic.Int64
	)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				s, err := t.subscribe(ctx, api, i, &total)
				if err != nil {
					mu.Lock()
					if firstEr == nil {
						firstEr = fmt.Errorf("subscriber %d: %w", i, err)
					}
					mu.Unlock()
					return
				}
				subs[i] = s
			}
		}()
	}
	wg.Wait()
	if firstEr != nil {
		return Result{}, firstEr
	}
	fmt.Fprintf(out, "%s: %d subscribers connected; warming up\n", t.name(), n)
	if err := sleep(ctx, cfg.Warmup); err != nil {
		return Result{}, err
	}

	before := make([]int64, n)
	for i, s := range subs {
		before[i] = s.packets.Load()
	}
	var prof *profiler
	if cfg.ProfileDir != "" {
		if prof, err = startProfile(cfg.ProfileDir, t.name(), n, proc.pid()); err != nil {
			return Result{}, err
		}
	}
	p0, c0, b0, k0, t0 := total.Load(), mustCPU(proc.pid()), selfCPU(), pub.keys.Load(), time.Now()
	if err := sleep(ctx, cfg.Duration); err != nil {
		return Result{}, err
	}
	p1, c1, b1, k1, t1 := total.Load(), mustCPU(proc.pid()), selfCPU(), pub.keys.Load(), time.Now()
	if prof != nil {
		if err := prof.stop(); err != nil {
			fmt.Fprintf(out, "profile: %v\n", err)
		}
	}
	rss, _ := procRSS(proc.pid())
	receiving := 0
	for i, s := range subs {
		if s.packets.Load() > before[i] {
			receiving++
		}
	}
	r := Result{
		Target: t.name(), Subscribers: n, Receiving: receiving, Seconds: t1.Sub(t0).Seconds(),
		Packets: p1 - p0, ServerCPU: (c1 - c0).Seconds(), RSSBase: rssBase, RSS: rss,
		BenchCPU: (b1 - b0).Seconds(), KeyRequests: k1 - k0, Load: load, LoadAfter: loadAvg(),
	}
	r.CorePercent = 100 * r.ServerCPU / r.Seconds
	if r.Packets > 0 {
		r.CPUPerMPkt = r.ServerCPU / (float64(r.Packets) / 1e6)
	}
	r.RSSPerSub = float64(rss-rssBase) / float64(n)
	return r, nil
}

func mustCPU(pid int) time.Duration {
	d, _ := procCPU(pid)
	return d
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// Table formats results as a Markdown table.
func Table(rs []Result) string {
	var b strings.Builder
	b.WriteString("| server | subscribers | packets/s per subscriber | server CPU (% of a core) | CPU-s per million forwarded packets | RSS (publisher only) | RSS per subscriber |\n|---|---|---|---|---|---|---|\n")
	for _, r := range rs {
		fmt.Fprintf(&b, "| %s | %d | %.0f | %.1f | %.1f | %.1f MiB (%.1f MiB) | %.0f KiB |\n", r.Target, r.Subscribers, r.PerSubRate(),
			r.CorePercent, r.CPUPerMPkt, float64(r.RSS)/(1<<20), float64(r.RSSBase)/(1<<20), r.RSSPerSub/1024)
	}
	return b.String()
}

// Medians formats, per target and count, the median of the rounds' CPU
// per million packets and memory per subscriber, with each round's figure.
func Medians(rs []Result) string {
	type key struct {
		target string
		n      int
	}
	var order []key
	groups := map[key][]Result{}
	for _, r := range rs {
		k := key{r.Target, r.Subscribers}
		if groups[k] == nil {
			order = append(order, k)
		}
		groups[k] = append(groups[k], r)
	}
	slices.SortStableFunc(order, func(a, b key) int {
		if a.target != b.target {
			return strings.Compare(b.target, a.target) // parley first
		}
		return a.n - b.n
	})
	var b strings.Builder
	b.WriteString("| server | subscribers | rounds | **median CPU-s per million forwarded packets** (each round) | median RSS per subscriber | load average before (each round) |\n|---|---|---|---|---|---|\n")
	for _, k := range order {
		g := groups[k]
		cpu, mem := make([]float64, len(g)), make([]float64, len(g))
		var each, loads []string
		for i, r := range g {
			cpu[i], mem[i] = r.CPUPerMPkt, r.RSSPerSub
			each = append(each, fmt.Sprintf("%.1f", r.CPUPerMPkt))
			loads = append(loads, r.Load)
		}
		fmt.Fprintf(&b, "| %s | %d | %d | **%.1f** (%s) | %.0f KiB | %s |\n", k.target, k.n, len(g), median(cpu),
			strings.Join(each, ", "), median(mem)/1024, strings.Join(loads, "; "))
	}
	return b.String()
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// ParseCounts parses a comma-separated list of positive subscriber counts.
func ParseCounts(s string) ([]int, error) {
	var out []int
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("--subscribers: %q is not a positive count", v)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("--subscribers: no count given")
	}
	return out, nil
}
