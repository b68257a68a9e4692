package calls

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/parley-chat/parley/internal/db"
	"github.com/parley-chat/parley/internal/sfu"
)

// Media presence: the call's home node records, from its SFU's own
// connection events, when each device of each person had its media
// connected (sfu.Participant.OnConnected: at least one of the device's two
// PeerConnections connected). A paid session bills the time both parties
// were connected: Overlap of their Presence.

// Interval is a span during which one device of a person had its media
// connected to the call.
type Interval struct {
	Device string    `json:"device"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to,omitzero"` // zero while still connected
}

// Open reports whether the device is still connected.
func (i Interval) Open() bool { return i.To.IsZero() }

// PresenceStale is how long an open interval may go without its node
// vouching for it (every sweep, once a second) before any node's sweep
// closes it at the last time it was vouched for: its node is gone.
const PresenceStale = 30 * time.Second

// RecordPresence records that a device of a member had its media connected
// (or stopped having it) at a time the SFU gives. A device has at most one
// open interval: a second "connected" changes nothing, as does a
// "disconnected" without an open interval. Nothing is recorded for a call
// that has ended — its end closed every interval. The home node's media
// calls it; tests of billing may call it with their own clock.
func (s *Service) RecordPresence(ctx context.Context, callID, userID, device string, connected bool, at time.Time) error {
	at = db.Time(at)
	if !connected {
		_, err := s.db.ExecContext(ctx, `UPDATE call_presence
			SET disconnected_at = CASE WHEN connected_at > $1 THEN connected_at ELSE $1 END
			WHERE call_id = $2 AND user_id = $3 AND device = $4 AND disconnected_at IS NULL`, at, callID, userID, device)
		return err
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		// Taken in turns with the call's end (which locks the row for
		// update): an interval is either closed by the end or not opened.
		lock := ""
		if s.db.Dialect == db.Postgres {
			lock = " FOR SHARE"
		}
		var state string
		err := tx.QueryRowContext(ctx, `SELECT state FROM calls WHERE id = $1`+lock, callID).Scan(&state)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil || state == Ended {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO call_presence (call_id, user_id, device, connected_at, run, seen_at)
			VALUES ($1, $2, $3, $4, $5, $4) ON CONFLICT DO NOTHING`, callID, userID, device, at, s.run)
		return err
	})
}

// Presence returns a call's recorded media presence: each person's
// intervals (every device's, in the order they began). It does not check
// who asks: it is for the server (billing), not for members.
func (s *Service) Presence(ctx context.Context, callID string) (map[string][]Interval, error) {
	var one int
	if err := s.db.QueryRowContext(ctx, `SELECT 1 FROM calls WHERE id = $1`, callID).Scan(&one); errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	} else if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT user_id, device, connected_at, disconnected_at FROM call_presence
		WHERE call_id = $1 ORDER BY connected_at, user_id, device`, callID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]Interval{}
	for rows.Next() {
		var (
			user string
			iv   Interval
			to   sql.NullTime
		)
		if err := rows.Scan(&user, &iv.Device, &iv.From, &to); err != nil {
			return nil, err
		}
		if to.Valid {
			iv.To = to.Time
		}
		out[user] = append(out[user], iv)
	}
	return out, rows.Err()
}

// sweepPresence keeps media presence honest across node failures: this run
// vouches for the intervals it opened; what an earlier run of this node
// left open (it stopped, and its media with it) closes at the last time
// that run vouched for it; and so does any interval no node has vouched
// for in PresenceStale (its node is gone for good).
func (s *Service) sweepPresence(ctx context.Context) error {
	now := s.now()
	if _, err := s.db.ExecContext(ctx, `UPDATE call_presence SET seen_at = $1 WHERE run = $2 AND disconnected_at IS NULL`,
		now, s.run); err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE call_presence SET disconnected_at = seen_at
		WHERE disconnected_at IS NULL AND run <> $1 AND call_id IN (SELECT id FROM calls WHERE node = $2)`, s.run, s.cfg.Node); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, `UPDATE call_presence SET disconnected_at = seen_at
		WHERE disconnected_at IS NULL AND seen_at < $1`, now.Add(-PresenceStale))
	return err
}

// closePresence closes a call's open intervals at its end, inside the
// end's transaction.
func closePresence(ctx context.Context, tx *sql.Tx, callID string, now time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE call_presence
		SET disconnected_at = CASE WHEN connected_at > $1 THEN connected_at ELSE $1 END
		WHERE call_id = $2 AND disconnected_at IS NULL`, now, callID)
	return err
}

// trackPresence records a participant's media presence as its SFU reports
// it; the device is the participant id's part after "user~".
func (m *Media) trackPresence(callID, userID string, p *sfu.Participant) {
	device := strings.TrimPrefix(p.ID(), userID+"~")
	p.OnConnected(func(connected bool, at time.Time) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := m.svc.RecordPresence(ctx, callID, userID, device, connected, at); err != nil {
			m.svc.log().Warn("call presence", "call", callID, "participant", p.ID(), "connected", connected, "err", err)
		}
	})
}

// span is a half-open stretch of time [from, to).
type span struct{ from, to time.Time }

// union merges intervals (of one person's devices) into disjoint spans in
// time order, open ones running to until and everything cut there.
func union(ivs []Interval, until time.Time) []span {
	spans := make([]span, 0, len(ivs))
	for _, iv := range ivs {
		to := iv.To
		if iv.Open() || to.After(until) {
			to = until
		}
		if to.After(iv.From) {
			spans = append(spans, span{iv.From, to})
		}
	}
	slices.SortFunc(spans, func(a, b span) int { return a.from.Compare(b.from) })
	out := spans[:0]
	for _, sp := range spans {
		if n := len(out); n > 0 && !sp.from.After(out[n-1].to) {
			if sp.to.After(out[n-1].to) {
				out[n-1].to = sp.to
			}
			continue
		}
		out = append(out, sp)
	}
	return out
}

// Overlap is the total time two people were both connected: each one's
// intervals (from several devices, say) are merged first, open intervals
// run until until, and nothing after until counts. Overlap(a, a, until)
// is the time a was connected at all.
func Overlap(a, b []Interval, until time.Time) time.Duration {
	ua, ub := union(a, until), union(b, until)
	var total time.Duration
	for i, j := 0, 0; i < len(ua) && j < len(ub); {
		from, to := ua[i].from, ua[i].to
		if ub[j].from.After(from) {
			from = ub[j].from
		}
		if ub[j].to.Before(to) {
			to = ub[j].to
		}
		if to.After(from) {
			total += to.Sub(from)
		}
		if ua[i].to.Before(ub[j].to) {
			i++
		} else {
			j++
		}
	}
	return total
}
