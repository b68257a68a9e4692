package chat

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"github.com/parley-chat/parley/client"
)

// CatchUpResult is how long a device behind takes to catch up.
type CatchUpResult struct {
	Variant       string    `json:"variant"`
	Conversations int       `json:"conversations"`
	Events        int64     `json:"events"`
	Runs          []float64 `json:"runs_ms"`
	Min           float64   `json:"min_ms"`
	Median        float64   `json:"median_ms"`
	Max           float64   `json:"max_ms"`
	EventsPerSec  float64   `json:"events_per_s"` // at the median
	ServerCPU     float64   `json:"server_cpu_s_per_run"`
	OtherCPU      float64   `json:"other_processes_cpu_s_per_run"`
}

// runCatchUp measures, with the SDK's Stream exactly as a device uses it,
// the time from connecting to having received every event after the
// device's cursors: the stream dials, reads hello, lists the
// conversations and fetches each one's events after its cursor in pages of
// 1,000, and reports itself connected only then.
func runCatchUp(ctx context.Context, srv *server, f *fixture, runs int, progress func(string)) ([]*CatchUpResult, error) {
	cf := f.catch
	variants := []struct {
		name  string
		convs []string
	}{
		{"one conversation", []string{cf.Single}},
		{fmt.Sprintf("%d conversations", len(cf.Spread)), cf.Spread},
	}
	var out []*CatchUpResult
	for _, v := range variants {
		cursors := maps.Clone(cf.Last)
		var want int64
		for _, c := range v.convs {
			cursors[c] = cf.Base[c]
			want += cf.Last[c] - cf.Base[c]
		}
		res := &CatchUpResult{Variant: v.name, Conversations: len(v.convs), Events: want}
		cpu0, _ := srv.cpu(ctx)
		all0, cl0, db0 := machineBusy(), selfCPU(), commandCPU("postgres")
		for range runs {
			d, got, err := catchUpOnce(ctx, srv.URL, cf.Catch.Token, cursors)
			if err != nil {
				return nil, err
			}
			if got != want {
				return nil, fmt.Errorf("bench: catch-up (%s) delivered %d events, want %d", v.name, got, want)
			}
			res.Runs = append(res.Runs, float64(d)/1e6)
		}
		cpu1, _ := srv.cpu(ctx)
		res.ServerCPU = (cpu1 - cpu0).Seconds() / float64(runs)
		if srv.pid != 0 {
			other := machineBusy() - all0 - (cpu1 - cpu0) - (selfCPU() - cl0) - (commandCPU("postgres") - db0)
			res.OtherCPU = other.Seconds() / float64(runs)
		}
		sorted := slices.Sorted(slices.Values(res.Runs))
		res.Min, res.Median, res.Max = sorted[0], sorted[len(sorted)/2], sorted[len(sorted)-1]
		res.EventsPerSec = float64(want) / (res.Median / 1e3)
		progress(fmt.Sprintf("  %s: %d events, median %.0f ms (min %.0f, max %.0f)", v.name, want, res.Median, res.Min, res.Max))
		out = append(out, res)
	}
	return out, nil
}

func catchUpOnce(ctx context.Context, base, token string, cursors map[string]int64) (time.Duration, int64, error) {
	// A fresh client per run: the device's first request opens its own
	// connection, as after waking up.
	c, err := client.New(base, client.WithToken(token), client.WithHTTPClient(&http.Client{Timeout: time.Minute}))
	if err != nil {
		return 0, 0, err
	}
	var got atomic.Int64
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	start := time.Now()
	st := c.Stream(ctx, client.StreamOptions{
		Cursors:    cursors,
		OnEvent:    func(client.Event) { got.Add(1) },
		MinBackoff: time.Second,
	})
	err = st.WaitConnected(ctx)
	d := time.Since(start)
	_ = st.Close()
	return d, got.Load(), err
}
