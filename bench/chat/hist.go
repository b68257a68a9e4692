package chat

import (
	"math/bits"
	"time"
)

// Hist is a log-linear latency histogram in nanoseconds: 64 buckets per
// power of two (about 1.6 % resolution) from 1 ns to about 18 minutes. It
// is not safe for concurrent use: each receiver keeps its own and they are
// merged at the end, so recording costs no lock and no shared cache line.
type Hist struct {
	counts [histBuckets]uint64
	n      uint64
	max    uint64
}

const (
	histSubBits = 6
	histSub     = 1 << histSubBits
	histBuckets = 40 * histSub
)

func histIndex(v uint64) int {
	if v < histSub {
		return int(v)
	}
	shift := bits.Len64(v) - histSubBits - 1
	i := (shift+1)*histSub + int(v>>shift) - histSub
	if i >= histBuckets {
		return histBuckets - 1
	}
	return i
}

// histLow returns the smallest value that falls in bucket i and the
// bucket's width.
func histLow(i int) (low, width uint64) {
	if i < histSub {
		return uint64(i), 1
	}
	shift := i/histSub - 1
	return uint64(i%histSub+histSub) << shift, 1 << shift
}

// Record adds one observation.
func (h *Hist) Record(d time.Duration) {
	v := uint64(max(d, 0))
	h.counts[histIndex(v)]++
	h.n++
	h.max = max(h.max, v)
}

// Merge adds o's observations to h.
func (h *Hist) Merge(o *Hist) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// Count is the number of observations.
func (h *Hist) Count() uint64 { return h.n }

// Max is the largest observation.
func (h *Hist) Max() time.Duration { return time.Duration(h.max) }

// Quantile returns the value below which a fraction q of the observations
// fall (the middle of the bucket holding it, never above the maximum).
func (h *Hist) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.5)
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			low, w := histLow(i)
			return time.Duration(min(low+w/2, h.max))
		}
	}
	return time.Duration(h.max)
}
