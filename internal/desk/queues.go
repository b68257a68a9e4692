package desk

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parley-chat/parley/internal/db"
)

// Queue is one product line's line of customers and its rules.
type Queue struct {
	ID   string `json:"id"`
	Key  string `json:"key"` // what the widget and the API name it by: "phones"
	Name string `json:"name"`
	// Channels offered: video, voice, chat.
	Channels []string `json:"channels"`
	// RequiredSkills an agent must have, each at least at its level (1–5).
	RequiredSkills map[string]int `json:"required_skills"`
	Hours          Schedule       `json:"hours"`
	// ServiceLevelSeconds is the answer-time target (15).
	ServiceLevelSeconds int `json:"service_level_seconds"`
	// RingTimeoutSeconds is how long one agent's offer rings (20).
	RingTimeoutSeconds int `json:"ring_timeout_seconds"`
	// WrapUpSeconds is how long an agent's wrap-up may last (60).
	WrapUpSeconds int `json:"wrapup_seconds"`
	// MaxWaiting is how many customers may wait at once (50).
	MaxWaiting int `json:"max_waiting"`
	// WhenClosed is what a customer is offered outside hours: callback,
	// message or none.
	WhenClosed string `json:"when_closed"`
	// Origins may use the queue's widget ("https://shop.example").
	Origins   []string  `json:"origins"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// WidgetSecret signs verified identities; shown to managers only.
	WidgetSecret string `json:"widget_secret,omitempty"`

	hours *Hours
}

// QueueInput is what a manager sends to create or change a queue; zero
// fields take their defaults.
type QueueInput struct {
	Key                 string         `json:"key"`
	Name                string         `json:"name"`
	Channels            []string       `json:"channels"`
	RequiredSkills      map[string]int `json:"required_skills"`
	Hours               *Schedule      `json:"hours"`
	ServiceLevelSeconds int            `json:"service_level_seconds"`
	RingTimeoutSeconds  int            `json:"ring_timeout_seconds"`
	WrapUpSeconds       *int           `json:"wrapup_seconds"` // 0 is no wrap-up; absent is 60
	MaxWaiting          int            `json:"max_waiting"`
	WhenClosed          string         `json:"when_closed"`
	Origins             []string       `json:"origins"`
}

var (
	keyPattern   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	skillPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,62}$`)
)

// check validates the input and fills in defaults; it returns the
// compiled hours.
func (in *QueueInput) check() (*Hours, error) {
	var fe fieldErrors
	in.Key = strings.TrimSpace(in.Key)
	if !keyPattern.MatchString(in.Key) {
		fe.add("key", "use 1–63 lower-case letters, digits and hyphens, starting with a letter or digit")
	}
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || !utf8.ValidString(in.Name) || utf8.RuneCountInString(in.Name) > 100 || strings.ContainsFunc(in.Name, isControl) {
		fe.add("name", "enter a name of at most 100 characters")
	}
	if len(in.Channels) == 0 {
		in.Channels = []string{ChannelVideo, ChannelChat}
	}
	seen := map[string]bool{}
	for i, c := range in.Channels {
		if c != ChannelVideo && c != ChannelVoice && c != ChannelChat {
			fe.add(fmt.Sprintf("channels[%d]", i), "must be video, voice or chat")
		}
		if seen[c] {
			fe.add(fmt.Sprintf("channels[%d]", i), "is listed twice")
		}
		seen[c] = true
	}
	if in.RequiredSkills == nil {
		in.RequiredSkills = map[string]int{}
	}
	checkSkills(&fe, "required_skills", in.RequiredSkills)
	if in.Hours == nil {
		fe.add("hours", "give the queue's business hours")
	}
	var hours *Hours
	if in.Hours != nil {
		var err error
		hours, err = in.Hours.Compile()
		var ve *ValidationError
		if errors.As(err, &ve) {
			for _, f := range ve.Fields {
				fe.add("hours."+f.Field, f.Detail)
			}
		} else if err != nil {
			return nil, err
		}
	}
	defaults := []struct {
		field       string
		v           *int
		def, lo, hi int
	}{
		{"service_level_seconds", &in.ServiceLevelSeconds, 15, 1, 3600},
		{"ring_timeout_seconds", &in.RingTimeoutSeconds, 20, 5, 300},
		{"max_waiting", &in.MaxWaiting, 50, 1, 10000},
	}
	for _, d := range defaults {
		if *d.v == 0 {
			*d.v = d.def
		}
		if *d.v < d.lo || *d.v > d.hi {
			fe.add(d.field, fmt.Sprintf("must be from %d to %d", d.lo, d.hi))
		}
	}
	if in.WrapUpSeconds == nil {
		sixty := 60
		in.WrapUpSeconds = &sixty
	}
	if *in.WrapUpSeconds < 0 || *in.WrapUpSeconds > 3600 {
		fe.add("wrapup_seconds", "must be from 0 to 3600")
	}
	if in.WhenClosed == "" {
		in.WhenClosed = "callback"
	}
	if in.WhenClosed != "callback" && in.WhenClosed != "message" && in.WhenClosed != "none" {
		fe.add("when_closed", "must be callback, message or none")
	}
	if in.Origins == nil {
		in.Origins = []string{}
	}
	for i, o := range in.Origins {
		norm, ok := normalizeOrigin(o)
		if !ok {
			fe.add(fmt.Sprintf("origins[%d]", i), "must be an origin such as https://shop.example (scheme, host and optional port, nothing else)")
		}
		in.Origins[i] = norm
	}
	if len(in.Origins) > 50 {
		fe.add("origins", "at most 50 origins")
	}
	return hours, fe.err()
}

func checkSkills(fe *fieldErrors, field string, skills map[string]int) {
	if len(skills) > 50 {
		fe.add(field, "at most 50 skills")
	}
	names := make([]string, 0, len(skills))
	for k := range skills {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !skillPattern.MatchString(k) {
			fe.add(field+"."+k, "a skill is 1–63 lower-case letters, digits, '_', '.' or '-'")
		}
		if skills[k] < 1 || skills[k] > 5 {
			fe.add(field+"."+k, "a level is from 1 to 5")
		}
	}
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// normalizeOrigin accepts "https://host[:port]" and returns it lower-cased.
func normalizeOrigin(o string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(o))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return o, false
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), true
}

func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// CreateQueue adds a queue. A taken key is a conflict.
func (s *Service) CreateQueue(ctx context.Context, in QueueInput) (Queue, error) {
	hours, err := in.check()
	if err != nil {
		return Queue{}, err
	}
	q := queueFrom(in, hours)
	q.ID, q.WidgetSecret = newID(), newSecret()
	q.CreatedAt, q.UpdatedAt = s.now(), s.now()
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO desk_queues (id, key, name, channels, required_skills, schedule,
			service_level_seconds, ring_timeout_seconds, wrapup_seconds, max_waiting, when_closed, origins, widget_secret, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)`,
			q.ID, q.Key, q.Name, jsonText(q.Channels), jsonText(q.RequiredSkills), jsonText(q.Hours),
			q.ServiceLevelSeconds, q.RingTimeoutSeconds, q.WrapUpSeconds, q.MaxWaiting, q.WhenClosed, jsonText(q.Origins), q.WidgetSecret, q.CreatedAt); err != nil {
			if db.IsUniqueViolation(err) {
				return ErrKeyTaken
			}
			return err
		}
		return writeQueueSkills(ctx, tx, q.ID, q.RequiredSkills)
	})
	return q, err
}

// ErrKeyTaken is a queue key already in use.
var ErrKeyTaken = errors.New("desk: a queue with this key exists")

// UpdateQueue replaces a queue's settings (its id, secret and key stay).
func (s *Service) UpdateQueue(ctx context.Context, id string, in QueueInput) (Queue, error) {
	old, err := s.Queue(ctx, id)
	if err != nil {
		return Queue{}, err
	}
	if in.Key == "" {
		in.Key = old.Key
	}
	hours, err := in.check()
	if err != nil {
		return Queue{}, err
	}
	if in.Key != old.Key {
		return Queue{}, &ValidationError{Fields: []FieldError{{Field: "key", Detail: "a queue's key cannot change: widgets name it"}}}
	}
	q := queueFrom(in, hours)
	q.ID, q.WidgetSecret, q.CreatedAt, q.UpdatedAt = old.ID, old.WidgetSecret, old.CreatedAt, s.now()
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE desk_queues SET name = $1, channels = $2, required_skills = $3, schedule = $4,
			service_level_seconds = $5, ring_timeout_seconds = $6, wrapup_seconds = $7, max_waiting = $8, when_closed = $9,
			origins = $10, updated_at = $11 WHERE id = $12`,
			q.Name, jsonText(q.Channels), jsonText(q.RequiredSkills), jsonText(q.Hours), q.ServiceLevelSeconds,
			q.RingTimeoutSeconds, q.WrapUpSeconds, q.MaxWaiting, q.WhenClosed, jsonText(q.Origins), q.UpdatedAt, q.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM desk_queue_skills WHERE queue_id = $1`, q.ID); err != nil {
			return err
		}
		return writeQueueSkills(ctx, tx, q.ID, q.RequiredSkills)
	})
	if err == nil {
		s.route(ctx) // new skills or hours may match someone waiting
	}
	return q, err
}

func writeQueueSkills(ctx context.Context, tx *sql.Tx, queueID string, skills map[string]int) error {
	for skill, level := range skills {
		if _, err := tx.ExecContext(ctx, `INSERT INTO desk_queue_skills (queue_id, skill, min_level) VALUES ($1, $2, $3)`,
			queueID, skill, level); err != nil {
			return err
		}
	}
	return nil
}

func queueFrom(in QueueInput, hours *Hours) Queue {
	return Queue{Key: in.Key, Name: in.Name, Channels: in.Channels, RequiredSkills: in.RequiredSkills, Hours: *in.Hours,
		ServiceLevelSeconds: in.ServiceLevelSeconds, RingTimeoutSeconds: in.RingTimeoutSeconds, WrapUpSeconds: *in.WrapUpSeconds,
		MaxWaiting: in.MaxWaiting, WhenClosed: in.WhenClosed, Origins: in.Origins, hours: hours}
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only our own plain types go in
	}
	return string(b)
}

const queueColumns = `id, key, name, channels, required_skills, schedule, service_level_seconds, ring_timeout_seconds,
	wrapup_seconds, max_waiting, when_closed, origins, widget_secret, created_at, updated_at`

func scanQueue(row interface{ Scan(...any) error }) (Queue, error) {
	var (
		q                                Queue
		channels, skills, sched, origins string
	)
	err := row.Scan(&q.ID, &q.Key, &q.Name, &channels, &skills, &sched, &q.ServiceLevelSeconds, &q.RingTimeoutSeconds,
		&q.WrapUpSeconds, &q.MaxWaiting, &q.WhenClosed, &origins, &q.WidgetSecret, &q.CreatedAt, &q.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Queue{}, ErrNotFound
	}
	if err != nil {
		return Queue{}, err
	}
	for _, f := range []struct {
		text string
		v    any
	}{{channels, &q.Channels}, {skills, &q.RequiredSkills}, {sched, &q.Hours}, {origins, &q.Origins}} {
		if err := json.Unmarshal([]byte(f.text), f.v); err != nil {
			return Queue{}, fmt.Errorf("desk: queue %s: %w", q.ID, err)
		}
	}
	if q.hours, err = q.Hours.Compile(); err != nil {
		return Queue{}, fmt.Errorf("desk: queue %s hours: %w", q.ID, err)
	}
	return q, nil
}

// Queue returns a queue by id or key.
func (s *Service) Queue(ctx context.Context, idOrKey string) (Queue, error) {
	return scanQueue(s.db.QueryRowContext(ctx, `SELECT `+queueColumns+` FROM desk_queues WHERE id = $1 OR key = $1`, idOrKey))
}

// Queues lists every queue by name.
func (s *Service) Queues(ctx context.Context) ([]Queue, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+queueColumns+` FROM desk_queues ORDER BY name, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Queue{}
	for rows.Next() {
		q, err := scanQueue(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, q)
	}
	return out, rows.Err()
}

// OpenAt reports whether the queue keeps business hours at t.
func (q Queue) OpenAt(t time.Time) bool { return q.hours != nil && q.hours.OpenAt(t) }

// Offers reports whether the queue offers a channel.
func (q Queue) Offers(channel string) bool { return slices.Contains(q.Channels, channel) }

// AllowsOrigin reports whether a web page of origin may use the widget.
func (q Queue) AllowsOrigin(origin string) bool {
	norm, ok := normalizeOrigin(origin)
	return ok && slices.Contains(q.Origins, norm)
}

// Public is the queue as agents see it: without the widget secret.
func (q Queue) Public() Queue {
	q.WidgetSecret = ""
	return q
}

// querier lets functions run inside or outside a transaction.
type querier = db.Querier
