package market

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/parley-chat/parley/internal/mail"
)

// Reminder lead times: the day before a booked session, and just before.
const (
	RemindDay  = 24 * time.Hour
	RemindSoon = 15 * time.Minute
)

// Notifier shows a person an in-app notice on all their devices.
type Notifier interface {
	Notice(ctx context.Context, userID, kind string, payload any)
}

// remind sends the reminders that are due — in the app and by e-mail — to
// both people of each booked session, once each.
func (s *Service) remind(ctx context.Context) error {
	now := s.now()
	for _, step := range []struct {
		stage, before string
		lead          time.Duration
	}{{"soon", "'', 'day'", RemindSoon}, {"day", "''", RemindDay}} {
		rows, err := s.db.QueryContext(ctx, `SELECT s.id, s.start_at, s.learner_id, lu.email, lu.name, s.expert_id, eu.email, eu.name, ml.title
			FROM market_sessions s JOIN users lu ON lu.id = s.learner_id JOIN users eu ON eu.id = s.expert_id JOIN market_listings ml ON ml.id = s.listing_id
			WHERE s.status = 'booked' AND s.reminded IN (`+step.before+`) AND s.start_at <= $1 AND s.start_at > $2 LIMIT 200`,
			now.Add(step.lead), now)
		if err != nil {
			return err
		}
		type due struct {
			id, title string
			start     time.Time
			people    [2][3]string // id, email, name
		}
		var list []due
		for rows.Next() {
			var d due
			if err := rows.Scan(&d.id, &d.start, &d.people[0][0], &d.people[0][1], &d.people[0][2], &d.people[1][0], &d.people[1][1],
				&d.people[1][2], &d.title); err != nil {
				rows.Close()
				return err
			}
			list = append(list, d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, d := range list {
			// Mark first: a reminder is better missed than sent twice by two
			// nodes (the update is the claim).
			res, err := s.db.ExecContext(ctx, `UPDATE market_sessions SET reminded = $1 WHERE id = $2 AND reminded IN (`+step.before+`)`, step.stage, d.id)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				continue
			}
			for i, p := range d.people {
				other := d.people[1-i][2]
				payload := map[string]any{"session_id": d.id, "listing_title": d.title, "start_at": d.start, "with": other, "stage": step.stage}
				if s.cfg.Notify != nil {
					s.cfg.Notify.Notice(ctx, p[0], "session_reminder", payload)
				}
				if s.cfg.Mail != nil && !strings.HasSuffix(p[1], ".invalid") {
					when := "tomorrow"
					if step.stage == "soon" {
						when = "in " + fmt.Sprint(int(d.start.Sub(now).Round(time.Minute)/time.Minute)) + " minutes"
					}
					msg := mail.Message{To: p[1], Subject: fmt.Sprintf("Your Parley session %s: %s", when, d.title),
						Body: fmt.Sprintf("Hello %s,\n\nYour session \"%s\" with %s starts %s (%s UTC).\nOpen Parley a few minutes before to join the call.\n",
							p[2], d.title, other, when, d.start.UTC().Format("Mon 2 Jan 2006 15:04"))}
					if err := s.cfg.Mail.Send(ctx, msg); err != nil {
						s.cfg.Log.Warn("market: a reminder could not be mailed", "session", d.id, "err", err)
					}
				}
			}
		}
	}
	return nil
}
