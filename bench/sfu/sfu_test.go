package sfu

import (
	"strings"
	"testing"
	"time"
)

func TestVP8FramesSayWhetherTheyAreKeyframes(t *testing.T) {
	buf := make([]byte, 100)
	if f := vp8Frame(buf, true, 1); !isVP8Key(f) || f[3] != 0x9d || f[4] != 0x01 || f[5] != 0x2a {
		t.Fatalf("a keyframe: % x", f[:10])
	}
	if f := vp8Frame(buf, false, 2); isVP8Key(f) {
		t.Fatalf("an interframe reads as a keyframe: % x", f[:3])
	}
	if got := frameBytes(1400, 30); got != 5833 {
		t.Fatalf("frame size for 1400 kbit/s at 30 fps: %d", got)
	}
}

func TestParseStatCPU(t *testing.T) {
	// A command name with spaces and a parenthesis; utime 250, stime 50 ticks.
	stat := "1234 (par ley) x) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0 100 1000 200"
	d, err := parseStatCPU(stat)
	if err != nil || d != 3*time.Second {
		t.Fatalf("got %v %v, want 3s", d, err)
	}
	if _, err := parseStatCPU("garbage"); err == nil {
		t.Fatal("garbage parsed")
	}
}

func TestTable(t *testing.T) {
	r := Result{Target: "parley", Subscribers: 10, Seconds: 10, Packets: 20_000, CorePercent: 5, CPUPerMPkt: 25,
		RSS: 100 << 20, RSSBase: 90 << 20, RSSPerSub: 1 << 20}
	if r.PerSubRate() != 200 {
		t.Fatalf("rate %v", r.PerSubRate())
	}
	if tb := Table([]Result{r}); !strings.Contains(tb, "| parley | 10 | 200 | 5.0 | 25.0 | 100.0 MiB (90.0 MiB) | 1024 KiB |") {
		t.Fatal(tb)
	}
}

func TestParseCounts(t *testing.T) {
	if got, err := ParseCounts(" 10, 50,,100 "); err != nil || len(got) != 3 || got[2] != 100 {
		t.Fatalf("%v %v", got, err)
	}
	for _, bad := range []string{"", "10,x", "0", "-5"} {
		if _, err := ParseCounts(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestMediansGroupRoundsPerTargetAndCount(t *testing.T) {
	rs := []Result{
		{Target: "parley", Subscribers: 10, CPUPerMPkt: 30, RSSPerSub: 1024, Load: "1", Round: 1},
		{Target: "galene", Subscribers: 10, CPUPerMPkt: 20, RSSPerSub: 2048, Load: "2", Round: 1},
		{Target: "parley", Subscribers: 10, CPUPerMPkt: 10, RSSPerSub: 3072, Load: "3", Round: 2},
		{Target: "galene", Subscribers: 10, CPUPerMPkt: 40, RSSPerSub: 2048, Load: "4", Round: 2},
		{Target: "parley", Subscribers: 10, CPUPerMPkt: 20, RSSPerSub: 2048, Load: "5", Round: 3},
	}
	lines := strings.Split(strings.TrimSpace(Medians(rs)), "\n")
	if len(lines) != 4 {
		t.Fatalf("want a header, a rule and two rows:\n%s", strings.Join(lines, "\n"))
	}
	for i, want := range []string{
		"| parley | 10 | 3 | **20.0** (30.0, 10.0, 20.0) | 2 KiB | 1; 3; 5 |",
		"| galene | 10 | 2 | **30.0** (20.0, 40.0) | 2 KiB | 2; 4 |",
	} {
		if lines[2+i] != want {
			t.Errorf("row %d:\n got %s\nwant %s", i, lines[2+i], want)
		}
	}
}
