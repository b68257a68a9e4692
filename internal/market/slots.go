package market

import (
	"context"
	"time"
)

// SlotStep is the spacing of the start times offered on a listing page.
const SlotStep = 30 * time.Minute

// FreeSlots lists up to limit start times from from on (within 14 days)
// at which the listing's session fits the expert's hours, buffer and
// daily maximum — the "next free times" a learner sees, in UTC (the page
// shows them in the learner's zone).
func (s *Service) FreeSlots(ctx context.Context, listingID string, from time.Time, limit int) ([]time.Time, error) {
	l, err := s.Listing(ctx, "", false, listingID)
	if err != nil {
		return nil, err
	}
	a, hours, err := s.AvailabilityOf(ctx, s.db, l.ExpertID)
	if err != nil {
		return nil, err
	}
	minutes := HoldBlockMinutes
	if l.SessionMinutes != nil {
		minutes = *l.SessionMinutes
	} else if l.PriceModel == PerHour || l.PriceModel == Free {
		minutes = 60
	}
	length := time.Duration(minutes) * time.Minute
	buffer := time.Duration(a.BufferMinutes) * time.Minute
	until := from.Add(14 * 24 * time.Hour)
	type span struct{ start, end time.Time }
	var taken []span
	perDay := map[string]int{}
	rows, err := s.db.QueryContext(ctx, `SELECT start_at, end_at, status FROM market_sessions WHERE expert_id = $1
		AND status IN ('booked', 'ringing', 'active', 'completed') AND end_at > $2 AND start_at < $3`,
		l.ExpertID, from.Add(-24*time.Hour), until.Add(24*time.Hour))
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var (
			sp     span
			status string
		)
		if err := rows.Scan(&sp.start, &sp.end, &status); err != nil {
			rows.Close()
			return nil, err
		}
		perDay[sp.start.In(hours.Location()).Format(time.DateOnly)]++
		if status != Completed {
			taken = append(taken, sp)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := []time.Time{}
	t := from.Truncate(SlotStep)
	if t.Before(from) {
		t = t.Add(SlotStep)
	}
	for ; t.Before(until) && len(out) < limit; t = t.Add(SlotStep) {
		end := t.Add(length)
		closes, ok := hours.NextClose(t)
		if !hours.OpenAt(t) || (ok && closes.Before(end)) || perDay[t.In(hours.Location()).Format(time.DateOnly)] >= a.MaxPerDay {
			continue
		}
		free := true
		for _, sp := range taken {
			if sp.start.Before(end.Add(buffer)) && sp.end.After(t.Add(-buffer)) {
				free = false
				break
			}
		}
		if free {
			out = append(out, t.UTC())
		}
	}
	return out, rows.Err()
}
