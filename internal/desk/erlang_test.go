package desk

import (
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"
	"time"
)

// exactErlang computes Erlang B and Erlang C for agents servers offered
// traffic p/q Erlangs from the textbook formulas, in exact integer
// arithmetic with real factorials, as an independent check of the
// recursion the package uses:
//
//	B = (A^N/N!) / Σ_{k=0}^{N} A^k/k!
//	C = (A^N/N! · N/(N−A)) / (Σ_{k=0}^{N−1} A^k/k! + A^N/N! · N/(N−A))
//
// Every term is multiplied by q^N·N! to make it an integer:
// A^k/k! becomes p^k · q^(N−k) · N!/k!.
func exactErlang(agents int, p, q int64) (erlangB, erlangC float64) {
	n := int64(agents)
	bigP, bigQ := big.NewInt(p), big.NewInt(q)
	term := func(k int64) *big.Int {
		t := new(big.Int).Exp(bigP, big.NewInt(k), nil)
		t.Mul(t, new(big.Int).Exp(bigQ, big.NewInt(n-k), nil))
		factorials := new(big.Int).MulRange(1, n) // N!
		kFactorial := new(big.Int).MulRange(1, k) // k!; MulRange(1, 0) is 1
		return t.Mul(t, factorials.Quo(factorials, kFactorial))
	}
	below := new(big.Int) // Σ_{k<N}
	for k := int64(0); k < n; k++ {
		below.Add(below, term(k))
	}
	last := term(n)
	b := new(big.Rat).SetFrac(last, new(big.Int).Add(below, last))
	// N/(N−A) = N·q / (N·q − p)
	nq := new(big.Int).Mul(big.NewInt(n), bigQ)
	spare := new(big.Int).Sub(nq, bigP)
	waiting := new(big.Int).Mul(last, nq)
	c := new(big.Rat).SetFrac(waiting, new(big.Int).Add(new(big.Int).Mul(below, spare), waiting))
	erlangB, _ = b.Float64()
	erlangC, _ = c.Float64()
	return erlangB, erlangC
}

func TestErlangRecursionMatchesExactFormula(t *testing.T) {
	tests := []struct {
		p, q    int64 // traffic p/q Erlangs
		agents  []int
		maxRel  float64
		comment string
	}{
		{1, 2, []int{1, 2, 3, 5}, 1e-13, "half an Erlang"},
		{5, 2, []int{3, 4, 6, 10}, 1e-13, "2.5 Erlangs"},
		{10, 1, []int{11, 12, 13, 14, 15, 20, 30}, 1e-13, "10 Erlangs"},
		{48, 1, []int{49, 55, 60, 80}, 1e-12, "48 Erlangs"},
		{2001, 20, []int{101, 110, 130}, 1e-12, "100.05 Erlangs"},
		{1000, 1, []int{1001, 1011, 1050, 1100}, 1e-11, "1,000 Erlangs: A^N/N! alone overflows a float64"},
	}
	for _, tt := range tests {
		traffic := float64(tt.p) / float64(tt.q)
		for _, n := range tt.agents {
			wantB, wantC := exactErlang(n, tt.p, tt.q)
			gotB := erlangB(n, traffic)
			s := Workload{HandleTime: time.Minute}.figures(n, traffic, gotB)
			if rel := math.Abs(gotB-wantB) / wantB; rel > tt.maxRel {
				t.Errorf("%s, %d agents: Erlang B = %.15g, want %.15g (relative error %.1e)", tt.comment, n, gotB, wantB, rel)
			}
			if rel := math.Abs(s.WaitProbability-wantC) / wantC; rel > tt.maxRel {
				t.Errorf("%s, %d agents: Erlang C = %.15g, want %.15g (relative error %.1e)", tt.comment, n, s.WaitProbability, wantC, rel)
			}
		}
	}
}

// Worked examples that call-centre texts publish. The pages could not be
// retrieved while writing this test, so the rounded figures below are our
// own, worked out in exact rational arithmetic (and again here by
// exactErlang), not copied; they agree with the examples' figures as far
// as we recall them.
//
//   - Call Centre Helper, "Erlang C Formula – Made Simple With an Easy
//     Worked Example": 100 calls in 30 minutes, average handle time 180 s,
//     target 80% answered in 20 s. Traffic 10 Erlangs; with 11 agents the
//     probability of waiting is 0.6821; 13 agents reach 79.6% and 14 are
//     needed, for 88.8% at 71.4% occupancy.
//   - The Erlang-C example in Mitan's "The Erlang-C Formula": 360 calls per
//     half hour, 4-minute calls, 55 agents, target answer time 15 s.
//     Traffic 48 Erlangs, occupancy 87.3%, probability of waiting 0.239,
//     average speed of answer 8.2 s, service level 84.6%.
func TestStaffingWithMatchesPublishedExamples(t *testing.T) {
	tests := []struct {
		name         string
		workload     Workload
		p, q         int64 // the traffic, exactly
		agents       int
		wait, sl     float64
		asa          time.Duration
		occupancy    float64
		roundedTo    float64
		roundedToASA time.Duration
	}{
		{"Call Centre Helper, 11 agents", Workload{CallsPerHour: 200, HandleTime: 180 * time.Second, AnswerTime: 20 * time.Second},
			10, 1, 11, 0.6821, 0.3896, 122781 * time.Millisecond, 0.9091, 0.00005, 50 * time.Millisecond},
		{"Call Centre Helper, 12 agents", Workload{CallsPerHour: 200, HandleTime: 180 * time.Second, AnswerTime: 20 * time.Second},
			10, 1, 12, 0.4494, 0.6402, 40445 * time.Millisecond, 0.8333, 0.00005, 50 * time.Millisecond},
		{"Call Centre Helper, 13 agents", Workload{CallsPerHour: 200, HandleTime: 180 * time.Second, AnswerTime: 20 * time.Second},
			10, 1, 13, 0.2853, 0.7956, 17116 * time.Millisecond, 0.7692, 0.00005, 50 * time.Millisecond},
		{"Call Centre Helper, 14 agents", Workload{CallsPerHour: 200, HandleTime: 180 * time.Second, AnswerTime: 20 * time.Second},
			10, 1, 14, 0.1741, 0.8884, 7836 * time.Millisecond, 0.7143, 0.00005, 50 * time.Millisecond},
		{"Mitan, 55 agents", Workload{CallsPerHour: 720, HandleTime: 4 * time.Minute, AnswerTime: 15 * time.Second},
			48, 1, 55, 0.239, 0.846, 8200 * time.Millisecond, 0.873, 0.0005, 50 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := StaffingWith(tt.workload, tt.agents)
			if err != nil {
				t.Fatal(err)
			}
			traffic := float64(tt.p) / float64(tt.q)
			if math.Abs(s.Traffic-traffic) > 1e-12 {
				t.Errorf("traffic = %g Erlangs, want %g", s.Traffic, traffic)
			}
			near := func(what string, got, want, tolerance float64) {
				t.Helper()
				if math.Abs(got-want) > tolerance {
					t.Errorf("%s = %.6f, want %.4f", what, got, want)
				}
			}
			// The published, rounded figures.
			near("probability of waiting", s.WaitProbability, tt.wait, tt.roundedTo)
			near("service level", s.ServiceLevel, tt.sl, tt.roundedTo)
			near("occupancy", s.Occupancy, tt.occupancy, tt.roundedTo)
			if d := s.AverageSpeedOfAnswer - tt.asa; d < -tt.roundedToASA || d > tt.roundedToASA {
				t.Errorf("average speed of answer = %v, want %v", s.AverageSpeedOfAnswer, tt.asa)
			}
			// The same figures, worked out exactly from the textbook formula.
			_, exactWait := exactErlang(tt.agents, tt.p, tt.q)
			spare := float64(tt.agents) - traffic
			handle := tt.workload.HandleTime.Seconds()
			near("probability of waiting (exact)", s.WaitProbability, exactWait, 1e-12)
			near("service level (exact)", s.ServiceLevel, 1-exactWait*math.Exp(-spare*tt.workload.AnswerTime.Seconds()/handle), 1e-12)
			near("occupancy (exact)", s.Occupancy, traffic/float64(tt.agents), 1e-15)
			near("average speed of answer (exact)", s.AverageSpeedOfAnswer.Seconds(), exactWait*handle/spare, 1e-6)
		})
	}
}

func TestAgentsNeededReachesTheTargetWithTheFewestAgents(t *testing.T) {
	tests := []struct {
		name     string
		workload Workload
		agents   int
	}{
		// Call Centre Helper: 13 agents give 79.6%, short of 80%.
		{"Call Centre Helper, 80/20", Workload{CallsPerHour: 200, HandleTime: 180 * time.Second, ServiceLevel: 0.8, AnswerTime: 20 * time.Second}, 14},
		// Mitan: 54 agents give 79.3%, 55 give 84.6%.
		{"Mitan, 80/15", Workload{CallsPerHour: 720, HandleTime: 4 * time.Minute, ServiceLevel: 0.8, AnswerTime: 15 * time.Second}, 55},
		{"Mitan, 90/15", Workload{CallsPerHour: 720, HandleTime: 4 * time.Minute, ServiceLevel: 0.9, AnswerTime: 15 * time.Second}, 57},
		// 1,000 Erlangs (20,000 calls an hour of 3 minutes): 1,010 agents
		// give 78.3%, 1,011 give 81.4% (exactErlang, below).
		{"1,000 Erlangs, 80/20", Workload{CallsPerHour: 20000, HandleTime: 180 * time.Second, ServiceLevel: 0.8, AnswerTime: 20 * time.Second}, 1011},
		// A target time of 0 asks that many never wait: SL = 1 − C.
		{"nobody waits, 10 Erlangs", Workload{CallsPerHour: 200, HandleTime: 180 * time.Second, ServiceLevel: 0.8, AnswerTime: 0}, 14},
		{"a quiet queue still needs one agent", Workload{CallsPerHour: 1, HandleTime: time.Minute, ServiceLevel: 0.8, AnswerTime: 20 * time.Second}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := AgentsNeeded(tt.workload)
			if err != nil {
				t.Fatal(err)
			}
			if s.Agents != tt.agents {
				t.Fatalf("agents = %d, want %d (%+v)", s.Agents, tt.agents, s)
			}
			// Checked against the exact formula: this many reach the
			// target, one fewer does not (or would be unstable).
			serviceLevel := func(agents int) float64 {
				traffic := tt.workload.CallsPerHour / 3600 * tt.workload.HandleTime.Seconds()
				if float64(agents) <= traffic {
					return 0
				}
				p, q := exactTraffic(t, tt.workload)
				_, wait := exactErlang(agents, p, q)
				return 1 - wait*math.Exp(-(float64(agents)-traffic)*tt.workload.AnswerTime.Seconds()/tt.workload.HandleTime.Seconds())
			}
			if sl := serviceLevel(tt.agents); sl < tt.workload.ServiceLevel || math.Abs(sl-s.ServiceLevel) > 1e-9 {
				t.Errorf("exact service level with %d agents = %.6f, reported %.6f, target %.2f", tt.agents, sl, s.ServiceLevel, tt.workload.ServiceLevel)
			}
			if tt.agents > 1 {
				if sl := serviceLevel(tt.agents - 1); sl >= tt.workload.ServiceLevel {
					t.Errorf("%d agents already reach %.6f", tt.agents-1, sl)
				}
			}
			same, err := StaffingWith(tt.workload, s.Agents)
			if err != nil || same != s {
				t.Errorf("StaffingWith(%d) = %+v, %v; want %+v", s.Agents, same, err, s)
			}
		})
	}
}

// exactTraffic returns a workload's traffic as a fraction: calls per hour
// (whole, in these tests) × handle time in seconds / 3600.
func exactTraffic(t *testing.T, w Workload) (p, q int64) {
	t.Helper()
	if w.CallsPerHour != math.Trunc(w.CallsPerHour) || w.HandleTime%time.Second != 0 {
		t.Fatalf("exactTraffic needs whole calls and seconds: %+v", w)
	}
	return int64(w.CallsPerHour) * int64(w.HandleTime/time.Second), 3600
}

func TestStaffingImprovesWithEachAgent(t *testing.T) {
	for _, w := range []Workload{
		{CallsPerHour: 200, HandleTime: 180 * time.Second, AnswerTime: 20 * time.Second},
		{CallsPerHour: 37, HandleTime: 7 * time.Minute, AnswerTime: time.Minute},
		{CallsPerHour: 20000, HandleTime: 180 * time.Second, AnswerTime: 20 * time.Second},
	} {
		traffic := w.CallsPerHour / 3600 * w.HandleTime.Seconds()
		var previous Staffing
		for agents := int(traffic) + 1; agents < int(traffic)+60; agents++ {
			s, err := StaffingWith(w, agents)
			if err != nil {
				t.Fatal(err)
			}
			if s.Agents != agents || math.Abs(s.Occupancy-traffic/float64(agents)) > 1e-15 || s.Occupancy >= 1 {
				t.Fatalf("%d agents: %+v", agents, s)
			}
			for what, p := range map[string]float64{"wait": s.WaitProbability, "service level": s.ServiceLevel} {
				if p < 0 || p > 1 || math.IsNaN(p) {
					t.Fatalf("%d agents: %s = %g, not a probability", agents, what, p)
				}
			}
			if previous.Agents != 0 {
				if s.ServiceLevel < previous.ServiceLevel || s.WaitProbability > previous.WaitProbability || s.AverageSpeedOfAnswer > previous.AverageSpeedOfAnswer {
					t.Fatalf("%d agents do worse than %d: %+v vs %+v", agents, previous.Agents, s, previous)
				}
			}
			// Service level is never below the share that does not wait.
			if s.ServiceLevel < 1-s.WaitProbability-1e-15 {
				t.Fatalf("%d agents: service level %g below 1 − C = %g", agents, s.ServiceLevel, 1-s.WaitProbability)
			}
			previous = s
		}
	}
}

func TestStaffingRefusesBadInput(t *testing.T) {
	good := Workload{CallsPerHour: 200, HandleTime: 3 * time.Minute, ServiceLevel: 0.8, AnswerTime: 20 * time.Second}
	tests := []struct {
		name   string
		change func(*Workload)
		agents int // for StaffingWith; 0 tests AgentsNeeded
		field  string
		detail string
	}{
		{"no calls", func(w *Workload) { w.CallsPerHour = 0 }, 0, "calls_per_hour", "more than 0"},
		{"negative calls", func(w *Workload) { w.CallsPerHour = -5 }, 0, "calls_per_hour", "more than 0"},
		{"NaN calls", func(w *Workload) { w.CallsPerHour = math.NaN() }, 0, "calls_per_hour", "a number"},
		{"infinite calls", func(w *Workload) { w.CallsPerHour = math.Inf(1) }, 0, "calls_per_hour", "a number"},
		{"absurd calls", func(w *Workload) { w.CallsPerHour = 1e9 }, 0, "calls_per_hour", "at most 1000000"},
		{"absurd traffic", func(w *Workload) { w.CallsPerHour = 1e6; w.HandleTime = time.Hour }, 0, "calls_per_hour", "1000000 Erlangs; at most 100000"},
		{"no handle time", func(w *Workload) { w.HandleTime = 0 }, 0, "handle_time", "at least 1 second"},
		{"negative handle time", func(w *Workload) { w.HandleTime = -time.Minute }, 0, "handle_time", "at least 1 second"},
		{"a day-long call", func(w *Workload) { w.HandleTime = 25 * time.Hour }, 0, "handle_time", "at most 24 hours"},
		{"no target", func(w *Workload) { w.ServiceLevel = 0 }, 0, "service_level", "more than 0"},
		{"a perfect target", func(w *Workload) { w.ServiceLevel = 1 }, 0, "service_level", "less than 1"},
		{"a percentage for a share", func(w *Workload) { w.ServiceLevel = 80 }, 0, "service_level", "less than 1"},
		{"NaN target", func(w *Workload) { w.ServiceLevel = math.NaN() }, 0, "service_level", "less than 1"},
		{"negative answer time", func(w *Workload) { w.AnswerTime = -time.Second }, 0, "answer_time", "not be negative"},
		{"absurd answer time", func(w *Workload) { w.AnswerTime = 48 * time.Hour }, 0, "answer_time", "at most 24 hours"},

		{"no agents", func(w *Workload) {}, -1, "agents", "at least 1"},
		{"as many agents as Erlangs", func(w *Workload) {}, 10, "agents", "more than the traffic, 10.00 Erlangs"},
		{"fewer agents than Erlangs", func(w *Workload) {}, 7, "agents", "grows without bound"},
		{"absurd agents", func(w *Workload) {}, 300_000, "agents", "at most 200000"},
		{"bad workload with agents", func(w *Workload) { w.HandleTime = 0 }, 14, "handle_time", "at least 1 second"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := good
			tt.change(&w)
			var err error
			switch tt.agents {
			case 0:
				_, err = AgentsNeeded(w)
			case -1:
				_, err = StaffingWith(w, 0)
			default:
				_, err = StaffingWith(w, tt.agents)
			}
			var invalid *ValidationError
			if !errors.As(err, &invalid) || len(invalid.Fields) != 1 {
				t.Fatalf("got %v, want one field error", err)
			}
			if f := invalid.Fields[0]; f.Field != tt.field || !strings.Contains(f.Detail, tt.detail) {
				t.Errorf("got %s: %q, want %s: …%s…", f.Field, f.Detail, tt.field, tt.detail)
			}
		})
	}
	t.Run("StaffingWith ignores the target", func(t *testing.T) {
		w := good
		w.ServiceLevel = 0
		if _, err := StaffingWith(w, 14); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("every problem at once", func(t *testing.T) {
		_, err := AgentsNeeded(Workload{CallsPerHour: -1, HandleTime: 0, ServiceLevel: 2, AnswerTime: -1})
		var invalid *ValidationError
		if !errors.As(err, &invalid) || len(invalid.Fields) != 4 {
			t.Fatalf("got %v, want four field errors", err)
		}
	})
}

func TestAverageSpeedOfAnswerSaturates(t *testing.T) {
	// 1,000.999999 Erlangs of day-long calls on 1,001 agents: the average
	// wait is about a day / 10⁻⁶, some 2,700 years, more than a Duration
	// holds.
	w := Workload{CallsPerHour: (1001 - 1e-6) / 24, HandleTime: 24 * time.Hour, AnswerTime: 20 * time.Second}
	s, err := StaffingWith(w, 1001)
	if err != nil {
		t.Fatal(err)
	}
	if s.AverageSpeedOfAnswer != time.Duration(math.MaxInt64) {
		t.Errorf("average speed of answer = %v, want the longest Duration", s.AverageSpeedOfAnswer)
	}
	if s.WaitProbability <= 0.99 || s.ServiceLevel >= 0.01 {
		t.Errorf("%+v", s)
	}
}

// BenchmarkAgentsNeeded1000Erlangs staffs 20,000 three-minute calls an
// hour: the Erlang B recursion runs to 1,011 agents.
func BenchmarkAgentsNeeded1000Erlangs(b *testing.B) {
	w := Workload{CallsPerHour: 20000, HandleTime: 180 * time.Second, ServiceLevel: 0.8, AnswerTime: 20 * time.Second}
	for b.Loop() {
		if _, err := AgentsNeeded(w); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStaffingWith1000Erlangs(b *testing.B) {
	w := Workload{CallsPerHour: 20000, HandleTime: 180 * time.Second, AnswerTime: 20 * time.Second}
	for b.Loop() {
		if _, err := StaffingWith(w, 1011); err != nil {
			b.Fatal(err)
		}
	}
}
