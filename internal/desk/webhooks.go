package desk

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/parley-chat/parley/internal/db"
)

// WebhookEvents are the events a webhook may follow.
var WebhookEvents = []string{"request.created", "request.answered", "request.abandoned", "session.ended", "csat.submitted"}

// Webhook sends desk events to a URL, signed with its secret.
type Webhook struct {
	ID        string    `json:"id"`
	URL       string    `json:"url"`
	Events    []string  `json:"events"`
	CreatedAt time.Time `json:"created_at"`
	// Secret signs each delivery; shown once, when the webhook is made.
	Secret string `json:"secret,omitempty"`
}

// Delivery is one attempt history of one event to one webhook.
type Delivery struct {
	ID            string     `json:"id"`
	Event         string     `json:"event"`
	State         string     `json:"state"` // pending, delivered, failed
	Attempts      int        `json:"attempts"`
	NextAttemptAt *time.Time `json:"next_attempt_at"`
	LastStatus    int        `json:"last_status"`
	LastError     string     `json:"last_error,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	DeliveredAt   *time.Time `json:"delivered_at"`
}

// Retry schedule: a failed delivery is tried again after each of these,
// then marked failed.
var webhookBackoff = []time.Duration{10 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, time.Hour, 6 * time.Hour}

// CreateWebhook registers a URL for events (all when none are named).
func (s *Service) CreateWebhook(ctx context.Context, rawURL string, events []string) (Webhook, error) {
	var fe fieldErrors
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || len(rawURL) > 2000 {
		fe.add("url", "must be an http or https URL")
	}
	if len(events) == 0 {
		events = slices.Clone(WebhookEvents)
	}
	for i, e := range events {
		if !slices.Contains(WebhookEvents, e) {
			fe.add(fmt.Sprintf("events[%d]", i), "unknown event")
		}
	}
	if err := fe.err(); err != nil {
		return Webhook{}, err
	}
	w := Webhook{ID: newID(), URL: rawURL, Events: events, CreatedAt: s.now(), Secret: "whsec_" + newSecret()}
	_, err = s.db.ExecContext(ctx, `INSERT INTO desk_webhooks (id, url, secret, events, created_at) VALUES ($1, $2, $3, $4, $5)`,
		w.ID, w.URL, w.Secret, jsonText(w.Events), w.CreatedAt)
	return w, err
}

// Webhooks lists the webhooks (without secrets).
func (s *Service) Webhooks(ctx context.Context) ([]Webhook, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, url, events, created_at FROM desk_webhooks ORDER BY created_at, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Webhook{}
	for rows.Next() {
		var (
			w      Webhook
			events string
		)
		if err := rows.Scan(&w.ID, &w.URL, &events, &w.CreatedAt); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(events), &w.Events); err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// DeleteWebhook removes a webhook and its delivery log.
func (s *Service) DeleteWebhook(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM desk_webhooks WHERE id = $1`, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// Deliveries is a webhook's delivery log, newest first.
func (s *Service) Deliveries(ctx context.Context, webhookID string, limit int) ([]Delivery, error) {
	var one int
	if err := s.db.QueryRowContext(ctx, `SELECT 1 FROM desk_webhooks WHERE id = $1`, webhookID).Scan(&one); errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	} else if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, event, state, attempts, next_attempt_at, last_status, last_error, created_at, delivered_at
		FROM desk_webhook_deliveries WHERE webhook_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2`, webhookID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Delivery{}
	for rows.Next() {
		var (
			d               Delivery
			next, delivered sql.NullTime
		)
		if err := rows.Scan(&d.ID, &d.Event, &d.State, &d.Attempts, &next, &d.LastStatus, &d.LastError, &d.CreatedAt, &delivered); err != nil {
			return nil, err
		}
		if next.Valid && d.State == "pending" {
			d.NextAttemptAt = &next.Time
		}
		if delivered.Valid {
			d.DeliveredAt = &delivered.Time
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// hook queues an event for every webhook that follows it. The delivery
// worker sends it; a failure here is logged, never the caller's problem.
func (s *Service) hook(ctx context.Context, event string, r Request) {
	r.Token = ""
	payload := jsonText(map[string]any{"event": event, "at": s.now(), "request": r})
	ctx = context.WithoutCancel(ctx)
	hooks, err := s.Webhooks(ctx)
	if err != nil {
		s.cfg.Log.Warn("desk: listing webhooks", "err", err)
		return
	}
	for _, w := range hooks {
		if !slices.Contains(w.Events, event) {
			continue
		}
		if _, err := s.db.ExecContext(ctx, `INSERT INTO desk_webhook_deliveries (id, webhook_id, event, payload, state, next_attempt_at, created_at)
			VALUES ($1, $2, $3, $4, 'pending', $5, $5)`, newID(), w.ID, event, payload, s.now()); err != nil {
			s.cfg.Log.Warn("desk: queueing a webhook delivery", "webhook", w.ID, "err", err)
		}
	}
}

// SignatureHeader carries "t=<unix seconds>,v1=<hex HMAC-SHA256 of
// "<t>.<body>" under the webhook's secret>"; a receiver recomputes it and
// rejects old timestamps to stop replays.
const SignatureHeader = "Parley-Signature"

// SignWebhook computes the v1 signature of a body sent at t.
func SignWebhook(secret string, t time.Time, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(t.Unix(), 10) + "."))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// DeliverWebhooks sends the deliveries that are due, at most batch at a
// time. Each is leased (its next attempt moved a minute ahead) before it
// is sent, so two nodes do not send it twice at once.
func (s *Service) DeliverWebhooks(ctx context.Context, client *http.Client) error {
	type due struct {
		id, url, secret, event, payload string
		attempts                        int
	}
	var batch []due
	now := s.now()
	lock := ""
	if s.db.Dialect == db.Postgres {
		lock = ` FOR UPDATE OF d SKIP LOCKED`
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT d.id, w.url, w.secret, d.event, d.payload, d.attempts FROM desk_webhook_deliveries d
			JOIN desk_webhooks w ON w.id = d.webhook_id WHERE d.state = 'pending' AND d.next_attempt_at <= $1
			ORDER BY d.next_attempt_at LIMIT 20`+lock, now)
		if err != nil {
			return err
		}
		for rows.Next() {
			var d due
			if err := rows.Scan(&d.id, &d.url, &d.secret, &d.event, &d.payload, &d.attempts); err != nil {
				rows.Close()
				return err
			}
			batch = append(batch, d)
		}
		rows.Close()
		for _, d := range batch {
			if _, err := tx.ExecContext(ctx, `UPDATE desk_webhook_deliveries SET next_attempt_at = $1 WHERE id = $2`, now.Add(time.Minute), d.id); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	if err != nil {
		return err
	}
	for _, d := range batch {
		status, sendErr := s.send(ctx, client, d.url, d.secret, d.event, d.id, []byte(d.payload))
		attempts := d.attempts + 1
		at := s.now()
		if sendErr == nil {
			_, err = s.db.ExecContext(ctx, `UPDATE desk_webhook_deliveries SET state = 'delivered', attempts = $1, last_status = $2,
				last_error = '', delivered_at = $3 WHERE id = $4`, attempts, status, at, d.id)
		} else if attempts > len(webhookBackoff) {
			_, err = s.db.ExecContext(ctx, `UPDATE desk_webhook_deliveries SET state = 'failed', attempts = $1, last_status = $2,
				last_error = $3 WHERE id = $4`, attempts, status, sendErr.Error(), d.id)
		} else {
			_, err = s.db.ExecContext(ctx, `UPDATE desk_webhook_deliveries SET attempts = $1, last_status = $2, last_error = $3,
				next_attempt_at = $4 WHERE id = $5`, attempts, status, sendErr.Error(), at.Add(webhookBackoff[attempts-1]), d.id)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) send(ctx context.Context, client *http.Client, target, secret, event, id string, body []byte) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	t := s.now()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Parley-Webhooks/1")
	req.Header.Set("Parley-Event", event)
	req.Header.Set("Parley-Delivery", id)
	req.Header.Set(SignatureHeader, "t="+strconv.FormatInt(t.Unix(), 10)+",v1="+SignWebhook(secret, t, body))
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("the receiver answered %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}
