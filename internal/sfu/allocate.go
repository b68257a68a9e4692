package sfu

import (
	"errors"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pion/sdp/v3"
)

// Layer choice. Every rateInterval the room measures each layer's bitrate
// and, for each subscriber, picks one layer of every simulcast track it
// receives:
//
//  1. No larger than needed for the size the subscriber shows the track at
//     (SetTrackPreference): the smallest layer at least that wide or tall.
//  2. Within its bandwidth estimate, less what its plain tracks (audio,
//     non-simulcast video) take: every track starts at its smallest layer,
//     then tracks go up one layer at a time, screens before cameras,
//     while the sum fits. Keeping the current layer needs it to fit the
//     estimate; going above it needs 15 % headroom, so a figure that
//     hovers at a boundary does not flap.
//  3. GCC cannot see bandwidth the SFU does not use (its estimate stays
//     near 1.5 times what is sent), so when the estimate allows nothing
//     more, a subscriber below its wanted size is probed: one track goes
//     up one layer, no sooner than probeBackoff after the last drop. If
//     the estimate then falls below what is sent, the track comes back
//     down and the backoff doubles (up to maxProbeBackoff).
//  4. A drop is not made within settle of a rise: GCC needs that long to
//     see the new rate.
//
// The smallest layer is always sent: video is never paused for lack of
// bandwidth. A switch happens at the target layer's next keyframe, which
// is requested at once (and again each interval until it comes).
const (
	rateInterval    = 500 * time.Millisecond
	upHeadroom      = 0.85
	settle          = 2 * time.Second
	probeBackoff    = 4 * time.Second
	maxProbeBackoff = 32 * time.Second
)

// unlimited is the budget of a subscriber without an estimate.
const unlimited = math.MaxInt64

// ErrBadPreference is returned for a negative size.
var ErrBadPreference = errors.New("sfu: bad track preference")

// preference is the size a subscriber shows a track at; 0 is no limit.
type preference struct{ maxWidth, maxHeight int }

// allocState is a subscriber's memory between allocations.
type allocState struct {
	mu        sync.Mutex
	lastUp    time.Time
	lastDown  time.Time
	lastProbe time.Time
	backoff   time.Duration
}

// SetTrackPreference says at what size the participant shows a track
// (CSS pixels times the device pixel ratio, say): for a simulcast track the
// SFU then sends the smallest layer at least maxWidth wide or maxHeight
// tall, bandwidth permitting. Zero for both lifts the limit. It has no
// effect on a track that is not simulcast.
func (p *Participant) SetTrackPreference(trackID string, maxWidth, maxHeight int) error {
	if maxWidth < 0 || maxHeight < 0 {
		return ErrBadPreference
	}
	p.mu.Lock()
	if p.subscribed[trackID] == nil {
		p.mu.Unlock()
		return ErrNotPublished
	}
	p.prefs[trackID] = preference{maxWidth, maxHeight}
	p.mu.Unlock()
	p.allocate(time.Now())
	return nil
}

// choice is one simulcast track in an allocation.
type choice struct {
	d      *downTrack
	layers []*layer // available, smallest first
	cap    int      // index of the largest layer wanted
	cur    int      // index of the current target, -1 when none or gone
	pick   int
}

func (c *choice) rate(i int) int64 {
	l := c.layers[i]
	if r := l.bitrate.Load(); r > 0 {
		return r
	}
	return nominalBitrates[len(c.layers)][i]
}

// allocate picks the layer of every simulcast track the participant
// receives.
func (p *Participant) allocate(now time.Time) {
	p.mu.Lock()
	var cs []*choice
	var fixed int64
	for id, t := range p.subscribed {
		if !t.simulcast {
			if !t.paused.Load() {
				fixed += t.bitrate.Load()
			}
			continue
		}
		d := p.downs[id]
		layers := t.available(now)
		if d == nil || len(layers) == 0 {
			continue
		}
		pref, ok := p.prefs[id]
		c := &choice{d: d, layers: layers, cap: capIndex(layers, pref, ok), cur: -1}
		for i, l := range layers {
			if int32(l.rank) == d.target.Load() {
				c.cur = i
			}
		}
		cs = append(cs, c)
	}
	p.mu.Unlock()
	if len(cs) == 0 {
		return
	}
	slices.SortFunc(cs, func(a, b *choice) int {
		if (a.d.track.source == Screen) != (b.d.track.source == Screen) {
			if a.d.track.source == Screen {
				return -1
			}
			return 1
		}
		return strings.Compare(a.d.track.id, b.d.track.id)
	})
	budget := int64(unlimited)
	if est := p.estimate(); est > 0 {
		budget = max(0, est-fixed)
	}
	p.alloc.mu.Lock()
	p.alloc.plan(now, cs, budget)
	p.alloc.mu.Unlock()
	for _, c := range cs {
		l := c.layers[c.pick]
		if c.pick != c.cur {
			c.d.target.Store(int32(l.rank))
		}
		if c.d.current.Load() != int32(l.rank) {
			c.d.track.requestKeyframe(l) // throttled; repeats a lost request
		}
	}
}

// plan sets each choice's pick; the rules are at the top of this file.
func (a *allocState) plan(now time.Time, cs []*choice, budget int64) {
	if a.backoff == 0 {
		a.backoff = probeBackoff
	}
	var cost int64
	for _, c := range cs {
		c.pick = 0
		cost += c.rate(0)
	}
	for changed := true; changed; {
		changed = false
		for _, c := range cs {
			if c.pick >= c.cap {
				continue
			}
			next := c.pick + 1
			extra := c.rate(next) - c.rate(c.pick)
			limit := budget
			if next > c.cur && budget != unlimited {
				limit = int64(float64(budget) * upHeadroom)
			}
			if cost+extra <= limit {
				c.pick, cost, changed = next, cost+extra, true
			}
		}
	}
	up, down := false, false
	for _, c := range cs {
		if c.cur >= 0 && c.pick < c.cur && c.cur <= c.cap {
			if now.Sub(a.lastUp) < settle {
				c.pick = c.cur // too soon to judge the last rise
				continue
			}
			down = true
		}
		if c.pick > c.cur {
			up = true
		}
	}
	if down {
		if now.Sub(a.lastProbe) < settle+2*rateInterval {
			a.backoff = min(2*a.backoff, maxProbeBackoff) // the probe failed
		}
		a.lastDown = now
	} else if now.Sub(a.lastDown) > maxProbeBackoff {
		a.backoff = probeBackoff
	}
	if !up && !down && budget != unlimited && now.Sub(a.lastUp) >= settle &&
		now.Sub(a.lastDown) >= a.backoff && now.Sub(a.lastProbe) >= a.backoff {
		for _, c := range cs {
			if c.pick < c.cap && c.pick == c.cur {
				c.pick++
				a.lastProbe, up = now, true
				break
			}
		}
	}
	if up {
		a.lastUp = now
	}
}

// capIndex is the index of the smallest layer covering the preferred size
// (the largest layer when none does, sizes are unknown, or no preference).
func capIndex(layers []*layer, pref preference, ok bool) int {
	top := len(layers) - 1
	if !ok || (pref.maxWidth == 0 && pref.maxHeight == 0) {
		return top
	}
	for i := range layers {
		w, h := layerSize(layers, i)
		if w == 0 {
			return top
		}
		if (pref.maxWidth > 0 && w >= pref.maxWidth) || (pref.maxHeight > 0 && h >= pref.maxHeight) {
			return i
		}
	}
	return top
}

// layerSize is a layer's size from its keyframes, or inferred from another
// layer's, each rank being half the size of the next (the browsers'
// default scaleResolutionDownBy of 4, 2, 1); 0, 0 when nothing is known.
func layerSize(layers []*layer, i int) (int, int) {
	for _, l := range layers {
		w, h := int(l.width.Load()), int(l.height.Load())
		if w == 0 {
			continue
		}
		shift := layers[i].rank - l.rank
		if shift >= 0 {
			return w << shift, h << shift
		}
		return w >> -shift, h >> -shift
	}
	return 0, 0
}

// estimate is the subscriber's bandwidth in bits per second, 0 when
// unknown: an injected figure (tests), else GCC's, if the subscriber's
// connection negotiated TWCC feedback and carries a simulcast track
// (without either GCC only repeats its starting guess).
func (p *Participant) estimate() int64 {
	if v := p.estimateOverride.Load(); v > 0 {
		return v
	}
	p.mu.Lock()
	est := p.estimator
	on := p.ccGate != nil && p.ccGate.on.Load()
	var twcc bool
	for _, s := range p.senders {
		for _, ext := range s.GetParameters().HeaderExtensions {
			twcc = twcc || ext.URI == sdp.TransportCCURI
		}
		break // every sender shares the connection's extensions
	}
	p.mu.Unlock()
	if est == nil || !twcc || !on {
		return 0
	}
	return int64(est.GetTargetBitrate())
}

// watchLayers measures layer bitrates and reallocates layers, every
// rateInterval, and sends sender reports every reportInterval, until the
// room closes.
func (r *Room) watchLayers() {
	tick := time.NewTicker(rateInterval)
	defer tick.Stop()
	last, lastReport := time.Now(), time.Now()
	for now := range tick.C {
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			return
		}
		tracks := make([]*forwardedTrack, 0, len(r.tracks))
		for _, t := range r.tracks {
			tracks = append(tracks, t)
		}
		ps := make([]*Participant, 0, len(r.participants))
		for _, p := range r.participants {
			ps = append(ps, p)
		}
		r.mu.Unlock()
		for _, t := range tracks {
			t.sampleRates(now.Sub(last))
		}
		last = now
		for _, p := range ps {
			p.allocate(now)
		}
		if now.Sub(lastReport) >= reportInterval-rateInterval/2 {
			lastReport = now
			for _, p := range ps {
				p.sendReports()
			}
		}
	}
}
