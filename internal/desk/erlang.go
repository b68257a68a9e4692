package desk

import (
	"fmt"
	"math"
	"time"
)

// Staffing by Erlang C: the M/M/N queue, where requests arrive at random
// (Poisson) at a steady rate, handle times are exponential, nobody hangs
// up, and each agent takes one request at a time. For an offered traffic
// of A Erlangs (requests per second × average handle time in seconds) and
// N agents, with N > A:
//
//	probability of waiting  C = N·B / (N − A·(1 − B)), B being Erlang B
//	service level           SL(T) = 1 − C·e^(−(N−A)·T/AHT)
//	average speed of answer ASA = C·AHT / (N − A)
//	occupancy               A / N
//
// Nobody hanging up makes the figures cautious: real queues lose some
// callers, which shortens the wait for the rest. With N ≤ A the queue grows
// without bound and none of the figures exist.

// Limits on staffing inputs: beyond them a figure is a typo, not a plan.
const (
	maxCallsPerHour = 1_000_000
	minHandleTime   = time.Second
	maxHandleTime   = 24 * time.Hour
	maxAnswerTime   = 24 * time.Hour
	maxTraffic      = 100_000 // Erlangs
	maxAgents       = 200_000
)

// Workload is a queue's expected traffic and its service goal. Errors name
// its fields calls_per_hour, handle_time, service_level and answer_time.
type Workload struct {
	// CallsPerHour is how many requests (calls, or chats) arrive an hour.
	CallsPerHour float64
	// HandleTime is the average time an agent spends on one, wrap-up
	// included.
	HandleTime time.Duration
	// ServiceLevel is the share to answer within AnswerTime, such as 0.8;
	// more than 0 and less than 1. StaffingWith does not use it.
	ServiceLevel float64
	// AnswerTime is the service level's target time, such as 20 seconds.
	AnswerTime time.Duration
}

// Staffing is what Erlang C expects of a workload with a number of agents.
type Staffing struct {
	Agents int
	// Traffic is the offered load in Erlangs: calls per hour × handle time
	// in hours, the number of agents kept busy on average.
	Traffic float64
	// WaitProbability is the share of requests that wait at all (Erlang C).
	WaitProbability float64
	// ServiceLevel is the share answered within the workload's AnswerTime.
	ServiceLevel float64
	// AverageSpeedOfAnswer is the mean wait over all requests, those
	// answered at once included.
	AverageSpeedOfAnswer time.Duration
	// Occupancy is the share of the agents' time spent handling requests.
	Occupancy float64
}

// AgentsNeeded returns the fewest agents whose expected service level
// reaches the workload's target, with the figures for that many. Bad
// input is a *ValidationError.
func AgentsNeeded(w Workload) (Staffing, error) {
	traffic, err := w.traffic(true)
	if err != nil {
		return Staffing{}, err
	}
	// Service level grows with every agent added, so the first number
	// that reaches the target is the answer. Below ⌊A⌋+1 the queue is
	// unstable, so the search starts there.
	agents := int(math.Floor(traffic)) + 1
	blocking := erlangB(agents, traffic)
	for {
		s := w.figures(agents, traffic, blocking)
		if s.ServiceLevel >= w.ServiceLevel {
			return s, nil
		}
		if agents >= maxAgents {
			// Unreachable within the input limits; kept so the loop is bounded.
			return Staffing{}, fmt.Errorf("desk: no staffing up to %d agents reaches a service level of %g", maxAgents, w.ServiceLevel)
		}
		agents++
		blocking = erlangBNext(agents, traffic, blocking)
	}
}

// StaffingWith returns what Erlang C expects of the workload with the given
// number of agents; the workload's ServiceLevel target is not used. Agents
// must outnumber the traffic in Erlangs: with fewer, the queue grows
// without bound. Bad input is a *ValidationError.
func StaffingWith(w Workload, agents int) (Staffing, error) {
	traffic, err := w.traffic(false)
	if err != nil {
		return Staffing{}, err
	}
	var errs fieldErrors
	switch {
	case agents < 1:
		errs.add("agents", "must be at least 1")
	case agents > maxAgents:
		errs.add("agents", fmt.Sprintf("must be at most %d", maxAgents))
	case float64(agents) <= traffic:
		errs.add("agents", fmt.Sprintf("must be more than the traffic, %.2f Erlangs: with fewer agents the queue grows without bound", traffic))
	}
	if err := errs.err(); err != nil {
		return Staffing{}, err
	}
	return w.figures(agents, traffic, erlangB(agents, traffic)), nil
}

// traffic validates the workload and returns its offered load in Erlangs.
func (w Workload) traffic(needTarget bool) (float64, error) {
	var errs fieldErrors
	switch {
	case math.IsNaN(w.CallsPerHour) || math.IsInf(w.CallsPerHour, 0):
		errs.add("calls_per_hour", "must be a number")
	case w.CallsPerHour <= 0:
		errs.add("calls_per_hour", "must be more than 0")
	case w.CallsPerHour > maxCallsPerHour:
		errs.add("calls_per_hour", fmt.Sprintf("must be at most %d", maxCallsPerHour))
	}
	switch {
	case w.HandleTime < minHandleTime:
		errs.add("handle_time", "must be at least 1 second")
	case w.HandleTime > maxHandleTime:
		errs.add("handle_time", "must be at most 24 hours")
	}
	if needTarget && !(w.ServiceLevel > 0 && w.ServiceLevel < 1) { // also refuses NaN
		errs.add("service_level", "must be more than 0 and less than 1, such as 0.8")
	}
	switch {
	case w.AnswerTime < 0:
		errs.add("answer_time", "must not be negative")
	case w.AnswerTime > maxAnswerTime:
		errs.add("answer_time", "must be at most 24 hours")
	}
	if err := errs.err(); err != nil {
		return 0, err
	}
	traffic := w.CallsPerHour / 3600 * w.HandleTime.Seconds()
	if traffic > maxTraffic {
		errs.add("calls_per_hour", fmt.Sprintf("with this handle time the traffic is %.0f Erlangs; at most %d are supported", traffic, maxTraffic))
		return 0, errs.err()
	}
	return traffic, nil
}

// figures computes the Staffing for agents > traffic, given Erlang B for
// them.
func (w Workload) figures(agents int, traffic, blocking float64) Staffing {
	n := float64(agents)
	spare := n - traffic
	wait := n * blocking / (n - traffic*(1-blocking))
	handle := w.HandleTime.Seconds()
	asa := wait * handle / spare
	return Staffing{
		Agents:               agents,
		Traffic:              traffic,
		WaitProbability:      wait,
		ServiceLevel:         1 - wait*math.Exp(-spare*w.AnswerTime.Seconds()/handle),
		AverageSpeedOfAnswer: seconds(asa),
		Occupancy:            traffic / n,
	}
}

// erlangB returns the probability that a request finds all agents busy in
// a loss system (Erlang B), by the recursion B(0) = 1,
// B(n) = A·B(n−1) / (n + A·B(n−1)). Every step stays within (0, 1], so,
// unlike the textbook form with A^N and N!, it neither overflows nor loses
// precision: a thousand Erlangs cost a thousand multiply-adds.
func erlangB(agents int, traffic float64) float64 {
	b := 1.0
	for n := 1; n <= agents; n++ {
		b = erlangBNext(n, traffic, b)
	}
	return b
}

// erlangBNext steps Erlang B from agents−1 to agents.
func erlangBNext(agents int, traffic, previous float64) float64 {
	ab := traffic * previous
	return ab / (float64(agents) + ab)
}

// seconds converts to a Duration, saturating instead of overflowing: a
// queue with barely more agents than traffic can expect waits of centuries.
func seconds(s float64) time.Duration {
	if ns := s * float64(time.Second); ns < float64(math.MaxInt64) {
		return time.Duration(ns)
	}
	return time.Duration(math.MaxInt64)
}
