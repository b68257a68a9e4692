package billing

import (
	"slices"
	"testing"
)

// A capture across a hold's parts fills each before the next, and never
// leaves a later part below the provider's minimum when the one before can
// give it enough; the commission's shares add up to it exactly.
func TestACaptureSpreadsAcrossPartsExactly(t *testing.T) {
	parts := []part{{amount: 2250}, {amount: 2250}, {amount: 50}}
	for _, c := range []struct {
		amount int64
		want   []int64
	}{
		{0, []int64{0, 0, 0}},
		{1200, []int64{1200, 0, 0}},
		{2250, []int64{2250, 0, 0}},
		{3000, []int64{2250, 750, 0}},
		{2270, []int64{2220, 50, 0}}, // 20 would be below the minimum
		{4510, []int64{2250, 2210, 50}},
		{4550, []int64{2250, 2250, 50}},
	} {
		got := spread(parts, c.amount, 50)
		var sum int64
		for _, g := range got {
			sum += g
		}
		if !slices.Equal(got, c.want) || sum != c.amount {
			t.Errorf("spread %d = %v, want %v", c.amount, got, c.want)
		}
	}
	for _, c := range []struct {
		amounts []int64
		total   int64
		want    []int64
	}{
		{[]int64{2250, 750}, 600, []int64{450, 150}},
		{[]int64{2220, 50}, 454, []int64{444, 10}},
		{[]int64{1, 1, 1}, 1, []int64{0, 1, 0}},
		{[]int64{0, 500}, 100, []int64{0, 100}},
	} {
		got := shares(c.amounts, c.total)
		var sum int64
		for _, g := range got {
			sum += g
		}
		if !slices.Equal(got, c.want) || sum != c.total {
			t.Errorf("shares of %d over %v = %v, want %v", c.total, c.amounts, got, c.want)
		}
	}
}

// What cannot be captured is left out: a part whose share the one before
// cannot bring up to the minimum captures nothing.
func TestAPartBelowTheMinimumCapturesNothing(t *testing.T) {
	for _, c := range []struct {
		parts  []int64
		amount int64
		want   []int64
	}{
		{[]int64{50, 50}, 60, []int64{50, 0}},
		{[]int64{75, 75}, 80, []int64{75, 0}},
		{[]int64{100, 50}, 120, []int64{70, 50}},
		{[]int64{60, 50, 50}, 130, []int64{60, 50, 0}},
		{[]int64{75}, 30, []int64{0}},
		{[]int64{2250, 2250}, 2270, []int64{2220, 50}},
	} {
		ps := make([]part, len(c.parts))
		for i, a := range c.parts {
			ps[i].amount = a
		}
		if got := capturable(ps, c.amount, 50); !slices.Equal(got, c.want) {
			t.Errorf("capturable %d of %v = %v, want %v", c.amount, c.parts, got, c.want)
		}
	}
}
