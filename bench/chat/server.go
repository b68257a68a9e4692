package chat

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// server is the Parley under test: a child process the bench started, or
// a running server given by URL (then pid is 0 and memory and CPU come
// from its /metrics).
type server struct {
	URL      string
	debugURL string // the bench server's GC and pprof listener; "" with --server serve or --url
	pid      int
	cmd      *exec.Cmd
	logPath  string
	exited   chan struct{}
	http     *http.Client
}

// serverSpec says how to start a server.
type serverSpec struct {
	Exe     string // the parley binary
	Mode    string // "bench" (parley bench serve, with a debug listener) or "serve"
	DataDir string
	DB      string
	LogPath string
	NATS    string // shared with the other nodes; "" keeps events in the process
	Node    string // node name; "" lets the server pick one
	// FreeMedia has a plain "parley serve" take free media ports instead
	// of its fixed defaults, so that several nodes can run on one machine
	// (the bench server always takes free ones).
	FreeMedia bool
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startServer starts a server process and waits until it is ready.
func startServer(ctx context.Context, spec serverSpec) (*server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	args := []string{"serve", "--addr", addr, "--data-dir", spec.DataDir, "--rate-limit", "0", "--log-level", "warn"}
	var debugAddr string
	if spec.Mode == "bench" {
		if debugAddr, err = freeAddr(); err != nil {
			return nil, err
		}
		args = []string{"bench", "serve", "--addr", addr, "--data-dir", spec.DataDir, "--debug-addr", debugAddr}
	}
	if spec.DB != "" {
		args = append(args, "--db", spec.DB)
	}
	if spec.NATS != "" {
		args = append(args, "--nats", spec.NATS)
	}
	if spec.Node != "" {
		args = append(args, "--node", spec.Node)
	}
	if spec.FreeMedia && spec.Mode != "bench" {
		args = append(args, "--rtc-udp-port", "0", "--rtc-tcp-port", "0", "--turn-port", "0")
	}
	logf, err := os.OpenFile(spec.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(spec.Exe, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// No PARLEY_* setting of the caller's may change the server under test.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PARLEY_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	setChildAttrs(cmd)
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	s := &server{
		URL: "http://" + addr, pid: cmd.Process.Pid, cmd: cmd, logPath: spec.LogPath,
		exited: make(chan struct{}), http: &http.Client{Timeout: 5 * time.Minute},
	}
	if debugAddr != "" {
		s.debugURL = "http://" + debugAddr
	}
	go func() { _ = cmd.Wait(); logf.Close(); close(s.exited) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := s.http.Get(s.URL + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case <-s.exited:
			return nil, fmt.Errorf("bench: the server exited at start; its log: %s", s.logTail())
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("bench: the server did not become ready; its log: %s", s.logTail())
		}
	}
}

func externalServer(url string) *server {
	return &server{URL: strings.TrimSuffix(url, "/"), http: &http.Client{Timeout: time.Minute}}
}

func (s *server) logTail() string {
	if s.logPath == "" {
		return ""
	}
	b, _ := os.ReadFile(s.logPath)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return s.logPath + "\n" + string(b)
}

// stop ends the server with SIGTERM, as an operator would, and kills it
// if it has not stopped within 30 s.
func (s *server) stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// cpu returns the server's user+system CPU time so far.
func (s *server) cpu(ctx context.Context) (time.Duration, error) {
	if s.pid != 0 {
		return procCPU(s.pid)
	}
	m, err := s.metrics(ctx)
	if err != nil {
		return 0, err
	}
	return time.Duration(m["process_cpu_seconds_total"] * float64(time.Second)), nil
}

// rss returns the server's resident memory in bytes.
func (s *server) rss(ctx context.Context) (int64, error) {
	if s.pid != 0 {
		return procRSS(s.pid)
	}
	m, err := s.metrics(ctx)
	if err != nil {
		return 0, err
	}
	return int64(m["process_resident_memory_bytes"]), nil
}

// metrics reads the server's Prometheus metrics: each series by its full
// name with labels, and labelled series also summed under their name.
func (s *server) metrics(ctx context.Context) (map[string]float64, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+"/metrics", nil)
	res, err := s.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		series := ""
		if i := strings.IndexByte(name, '{'); i >= 0 {
			// A label value may hold a space: take the value after the
			// closing brace.
			j := strings.LastIndexByte(line, '}')
			series, name, rest = line[:j+1], name[:i], strings.TrimSpace(line[j+1:])
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err == nil {
			out[name] += v
			if series != "" {
				out[series] = v
			}
		}
	}
	return out, sc.Err()
}

// memStats is what the bench server reports after a forced collection.
type memStats struct {
	HeapAlloc    uint64 `json:"heap_alloc"`
	HeapInuse    uint64 `json:"heap_inuse"`
	HeapIdle     uint64 `json:"heap_idle"`
	HeapReleased uint64 `json:"heap_released"`
	StackInuse   uint64 `json:"stack_inuse"`
	Sys          uint64 `json:"sys"`
	Goroutines   int    `json:"goroutines"`
	NumGC        uint32 `json:"num_gc"`
	Forced       bool   `json:"-"`
}

// gc forces a collection in the bench server and returns its memory
// statistics; other servers report their current (uncollected) figures.
func (s *server) gc(ctx context.Context) (memStats, error) {
	if s.debugURL == "" {
		m, err := s.metrics(ctx)
		if err != nil {
			return memStats{}, err
		}
		return memStats{
			HeapAlloc: uint64(m["go_memstats_heap_alloc_bytes"]), HeapInuse: uint64(m["go_memstats_heap_inuse_bytes"]),
			HeapIdle: uint64(m["go_memstats_heap_idle_bytes"]), HeapReleased: uint64(m["go_memstats_heap_released_bytes"]),
			StackInuse: uint64(m["go_memstats_stack_inuse_bytes"]), Sys: uint64(m["go_memstats_sys_bytes"]),
			Goroutines: int(m["go_goroutines"]),
		}, nil
	}
	req, _ := http.NewRequestWithContext(ctx, "POST", s.debugURL+"/debug/gc", nil)
	res, err := s.http.Do(req)
	if err != nil {
		return memStats{}, err
	}
	defer res.Body.Close()
	var ms memStats
	err = json.NewDecoder(res.Body).Decode(&ms)
	ms.Forced = true
	return ms, err
}

// profile saves one of the bench server's profiles: "profile" (CPU, for
// d), "trace" (an execution trace, for d) or a runtime/pprof profile name
// such as "heap" or "goroutine".
func (s *server) profile(ctx context.Context, name string, d time.Duration, path string) error {
	if s.debugURL == "" {
		return errors.New("bench: profiles need the bench server (--server bench)")
	}
	u := s.debugURL + "/debug/pprof/" + name
	if name == "profile" || name == "trace" {
		u += "?seconds=" + strconv.Itoa(int(d/time.Second))
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
	res, err := s.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 1024))
		return fmt.Errorf("bench: profile %s: %s: %s", name, res.Status, b)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// procCPU reads a process's user and system time from /proc/<pid>/stat.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	return statCPU(b)
}

// clockTick is USER_HZ, 100 on every Linux platform Go supports.
const clockTick = 10 * time.Millisecond

func statCPU(stat []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("bench: unreadable /proc stat")
	}
	f := strings.Fields(string(stat[i+1:]))
	// After the command: state(3) … utime(14) stime(15).
	if len(f) < 13 {
		return 0, errors.New("bench: short /proc stat")
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(u+s) * clockTick, nil
}

// commandCPU sums the CPU time of every process named comm (for example
// "postgres", whose backends do part of the server's work).
func commandCPU(comm string) time.Duration {
	entries, _ := os.ReadDir("/proc")
	var total time.Duration
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		open, close := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
		if open < 0 || close < open || string(b[open+1:close]) != comm {
			continue
		}
		if d, err := statCPU(b); err == nil {
			total += d
		}
	}
	return total
}

// procRSS reads VmRSS from /proc/<pid>/status.
func procRSS(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("bench: no VmRSS")
}

// machineBusy is the CPU time the whole machine has spent busy (user,
// nice, system, interrupts, steal), from the first line of /proc/stat.
func machineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	var ticks int64
	for _, i := range []int{1, 2, 3, 6, 7, 8} { // user nice system irq softirq steal
		v, _ := strconv.ParseInt(f[i], 10, 64)
		ticks += v
	}
	return time.Duration(ticks) * clockTick
}
