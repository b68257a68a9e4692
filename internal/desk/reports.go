package desk

import (
	"context"
	"database/sql"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"
)

// Wallboard is the live picture of one queue.
type Wallboard struct {
	QueueID            string         `json:"queue_id"`
	QueueName          string         `json:"queue_name"`
	Open               bool           `json:"open"`
	Waiting            int            `json:"waiting"`
	LongestWaitSeconds int            `json:"longest_wait_seconds"`
	Agents             map[string]int `json:"agents"` // status → count
	// Today, in the queue's time zone.
	Today DayReport `json:"today"`
}

// DayReport is a queue's numbers for one local day.
//
// Offered counts requests that joined the line that day (callbacks when
// they joined it); Answered those an agent took; Abandoned those that left
// the line unanswered. ServiceLevel is the share of answered and abandoned
// requests answered within the queue's target: answered-within ÷
// (answered + abandoned); null when there were none.
type DayReport struct {
	Date                    string   `json:"date"`
	Offered                 int      `json:"offered"`
	Answered                int      `json:"answered"`
	AnsweredWithinTarget    int      `json:"answered_within_target"`
	Abandoned               int      `json:"abandoned"`
	AverageAbandonSeconds   *float64 `json:"average_abandon_seconds"`
	ServiceLevel            *float64 `json:"service_level"`
	AverageSpeedOfAnswer    *float64 `json:"average_speed_of_answer_seconds"`
	AverageHandleSeconds    *float64 `json:"average_handle_seconds"`
	CSAT                    *float64 `json:"csat"` // mean rating 1–5
	Ratings                 int      `json:"ratings"`
	abandonSum, asaSum, aht float64
	handled, ratingSum      int
}

// Wallboards returns the live picture of every queue.
func (s *Service) Wallboards(ctx context.Context) ([]Wallboard, error) {
	queues, err := s.Queues(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]Wallboard, 0, len(queues))
	for _, q := range queues {
		w := Wallboard{QueueID: q.ID, QueueName: q.Name, Open: q.OpenAt(now), Agents: map[string]int{}}
		for _, st := range []string{Available, Busy, WrapUp, Away, Offline} {
			w.Agents[st] = 0
		}
		var oldest *time.Time
		rows, err := s.db.QueryContext(ctx, `SELECT enqueued_at FROM desk_requests WHERE queue_id = $1 AND status IN ('waiting', 'offered')`, q.ID)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var t time.Time
			if err := rows.Scan(&t); err != nil {
				rows.Close()
				return nil, err
			}
			w.Waiting++
			if oldest == nil || t.Before(*oldest) {
				oldest = &t
			}
		}
		rows.Close()
		if oldest != nil {
			w.LongestWaitSeconds = int(now.Sub(*oldest) / time.Second)
		}
		arows, err := s.db.QueryContext(ctx, `SELECT a.status, COUNT(*) FROM desk_agents a JOIN desk_agent_queues aq ON aq.user_id = a.user_id
			WHERE aq.queue_id = $1 GROUP BY a.status`, q.ID)
		if err != nil {
			return nil, err
		}
		for arows.Next() {
			var (
				st string
				n  int
			)
			if err := arows.Scan(&st, &n); err != nil {
				arows.Close()
				return nil, err
			}
			w.Agents[st] = n
		}
		arows.Close()
		today := now.In(q.hours.Location()).Format(time.DateOnly)
		days, err := s.Report(ctx, q.ID, today, today)
		if err != nil {
			return nil, err
		}
		w.Today = days[0]
		out = append(out, w)
	}
	return out, nil
}

// MaxReportDays bounds one report.
const MaxReportDays = 366

// Report returns a queue's numbers for each local day from from to to
// (inclusive, "2006-01-02", in the queue's time zone).
func (s *Service) Report(ctx context.Context, queueID, from, to string) ([]DayReport, error) {
	q, err := s.Queue(ctx, queueID)
	if err != nil {
		return nil, err
	}
	loc := q.hours.Location()
	var fe fieldErrors
	start, err1 := time.ParseInLocation(time.DateOnly, from, loc)
	end, err2 := time.ParseInLocation(time.DateOnly, to, loc)
	if err1 != nil {
		fe.add("from", "a date such as 2026-11-25")
	}
	if err2 != nil {
		fe.add("to", "a date such as 2026-11-25")
	}
	if err1 == nil && err2 == nil && (end.Before(start) || end.Sub(start) >= MaxReportDays*24*time.Hour) {
		fe.add("to", fmt.Sprintf("on or after from, at most %d days later", MaxReportDays))
	}
	if err := fe.err(); err != nil {
		return nil, err
	}
	days := []DayReport{}
	index := map[string]int{}
	for d := start; !d.After(end); d = d.AddDate(0, 0, 1) {
		index[d.Format(time.DateOnly)] = len(days)
		days = append(days, DayReport{Date: d.Format(time.DateOnly)})
	}
	rows, err := s.db.QueryContext(ctx, `SELECT status, enqueued_at, answered_at, ended_at, rating FROM desk_requests
		WHERE queue_id = $1 AND status <> 'callback' AND enqueued_at >= $2 AND enqueued_at < $3`,
		q.ID, start.UTC(), end.AddDate(0, 0, 1).UTC())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	target := time.Duration(q.ServiceLevelSeconds) * time.Second
	for rows.Next() {
		var (
			status   string
			enqueued time.Time
			answered sql.NullTime
			ended    sql.NullTime
			rating   sql.NullInt64
		)
		if err := rows.Scan(&status, &enqueued, &answered, &ended, &rating); err != nil {
			return nil, err
		}
		i, ok := index[enqueued.In(loc).Format(time.DateOnly)]
		if !ok {
			continue
		}
		d := &days[i]
		d.Offered++
		switch {
		case answered.Valid:
			d.Answered++
			wait := answered.Time.Sub(enqueued)
			d.asaSum += wait.Seconds()
			if wait <= target {
				d.AnsweredWithinTarget++
			}
			if status == Ended && ended.Valid {
				d.handled++
				d.aht += ended.Time.Sub(answered.Time).Seconds()
			}
		case status == Abandoned:
			d.Abandoned++
			if ended.Valid {
				d.abandonSum += ended.Time.Sub(enqueued).Seconds()
			}
		}
		if rating.Valid {
			d.Ratings++
			d.ratingSum += int(rating.Int64)
		}
	}
	for i := range days {
		d := &days[i]
		d.ServiceLevel = ratio(float64(d.AnsweredWithinTarget), float64(d.Answered+d.Abandoned))
		d.AverageSpeedOfAnswer = ratio(d.asaSum, float64(d.Answered))
		d.AverageHandleSeconds = ratio(d.aht, float64(d.handled))
		d.AverageAbandonSeconds = ratio(d.abandonSum, float64(d.Abandoned))
		d.CSAT = ratio(float64(d.ratingSum), float64(d.Ratings))
	}
	return days, rows.Err()
}

func ratio(a, b float64) *float64 {
	if b == 0 {
		return nil
	}
	v := math.Round(a/b*1000) / 1000
	return &v
}

// WriteCSV writes a report as CSV, one row per day.
func WriteCSV(w io.Writer, queue string, days []DayReport) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"queue", "date", "offered", "answered", "answered_within_target", "abandoned", "average_abandon_seconds",
		"service_level", "average_speed_of_answer_seconds", "average_handle_seconds", "csat", "ratings"})
	opt := func(v *float64) string {
		if v == nil {
			return ""
		}
		return strconv.FormatFloat(*v, 'f', -1, 64)
	}
	for _, d := range days {
		_ = cw.Write([]string{queue, d.Date, strconv.Itoa(d.Offered), strconv.Itoa(d.Answered), strconv.Itoa(d.AnsweredWithinTarget),
			strconv.Itoa(d.Abandoned), opt(d.AverageAbandonSeconds), opt(d.ServiceLevel), opt(d.AverageSpeedOfAnswer),
			opt(d.AverageHandleSeconds), opt(d.CSAT), strconv.Itoa(d.Ratings)})
	}
	cw.Flush()
	return cw.Error()
}
