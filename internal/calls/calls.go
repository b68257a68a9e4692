// Package calls owns the life of a call in a conversation — ring, accept,
// decline, join late, leave, end, miss — and bridges each device's
// signaling to the media server: who may publish what follows from the
// call's kind and the person's role, and the SFU enforces it.
package calls

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/db"
	"github.com/parley-chat/parley/internal/httpx"
)

//go:embed migrations
var migrationFS embed.FS

// Migrations is the calls schema; it needs chat's conversations.
var Migrations = db.Migrations{Component: "calls", FS: func() fs.FS {
	sub, err := fs.Sub(migrationFS, "migrations")
	if err != nil {
		panic(err)
	}
	return sub
}()}

// Kinds and states.
const (
	Voice = "voice"
	Video = "video"
	// Help is a one-way video call: the helper shows a camera, the
	// customer only a microphone and, if they choose, a screen the helper
	// draws on. (A one-way voice call is kind voice with roles.)
	Help = "help"

	// Roles in a one-way call.
	Helper   = "helper"
	Customer = "customer"

	Ringing = "ringing"
	Active  = "active"
	Ended   = "ended"

	// Why a call ended.
	Completed = "completed" // answered, then everyone left or someone ended it
	Missed    = "missed"    // nobody answered before the ring timeout
	Declined  = "declined"  // everyone called declined
	Cancelled = "cancelled" // the caller gave up before an answer
)

// Call is a call as its members see it.
type Call struct {
	ID             string       `json:"id"`
	ConversationID string       `json:"conversation_id"`
	Kind           string       `json:"kind"`
	OneWay         bool         `json:"one_way"` // roles decide who may send a camera
	State          string       `json:"state"`
	StartedBy      string       `json:"started_by"`
	CreatedAt      time.Time    `json:"created_at"`
	AnsweredAt     *time.Time   `json:"answered_at"`
	EndedAt        *time.Time   `json:"ended_at"`
	EndReason      string       `json:"end_reason,omitempty"`
	Members        []CallMember `json:"members"`
}

// CallMember is one person's part in a call.
type CallMember struct {
	UserID   string     `json:"user_id"`
	Role     string     `json:"role,omitempty"` // helper or customer, in one-way calls
	State    string     `json:"state"`          // ringing, joined, left, declined, missed
	JoinedAt *time.Time `json:"joined_at"`
}

// Chat is what calls need of the messenger.
type Chat interface {
	RecordCallEvent(ctx context.Context, tx *sql.Tx, convID, actorID, typ string, call chat.CallSummary, at time.Time) (chat.Event, error)
	Announce(ctx context.Context, events ...chat.Event)
	MemberIDs(ctx context.Context, convID string) ([]string, error)
}

// Announcer publishes live call updates (bus.Bus fits).
type Announcer interface {
	Publish(ctx context.Context, subject string, data []byte) error
}

// Subject carries live updates of calls in a conversation: who joined,
// declined or left, so devices stop ringing and show who is there.
func Subject(convID string) string { return "chat.call." + convID }

// Errors the handlers map to problems.
var (
	ErrNotFound   = errors.New("calls: not found")
	ErrCallActive = errors.New("calls: a call is already going on in this conversation")
	ErrEnded      = errors.New("calls: the call has ended")
	ErrNotAllowed = errors.New("calls: not allowed")
)

// ActiveError carries the call already going on, so a client can join it.
type ActiveError struct{ CallID string }

func (e *ActiveError) Error() string { return ErrCallActive.Error() }
func (e *ActiveError) Unwrap() error { return ErrCallActive }

// Config tunes the service.
type Config struct {
	Node        string        // this node, recorded as the home of the calls it starts
	RingTimeout time.Duration // unanswered calls end as missed after this (30 s)
	Now         func() time.Time
	Log         *slog.Logger
}

// Service runs calls.
type Service struct {
	db       *db.DB
	chat     Chat
	announce Announcer
	cfg      Config
	now      func() time.Time
	media    *Media
	// run names this process: the media presence it records is its own
	// to vouch for (sweepPresence).
	run string
}

// NewService builds the service.
func NewService(d *db.DB, c Chat, a Announcer, cfg Config) *Service {
	if cfg.RingTimeout == 0 {
		cfg.RingTimeout = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Service{db: d, chat: c, announce: a, cfg: cfg, now: func() time.Time { return db.Time(cfg.Now()) },
		run: uuid.NewString()}
}

func (s *Service) log() *slog.Logger { return s.cfg.Log }

func isMember(ctx context.Context, q db.Querier, convID, userID string) (bool, error) {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM members WHERE conversation_id = $1 AND user_id = $2`, convID, userID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// Start rings every other member of a conversation. A conversation has at
// most one call at a time: starting another answers ActiveError with it.
// In a help call the starter takes role (helper by default) and everyone
// else the other role.
func (s *Service) Start(ctx context.Context, userID, convID, kind, role string) (Call, error) {
	var v httpx.Validator
	v.Check(kind == Voice || kind == Video || kind == Help, "kind", "must be voice, video or help")
	if kind == Help {
		if role == "" {
			role = Helper
		}
		v.Check(role == Helper || role == Customer, "role", "must be helper or customer")
	} else {
		v.Check(role == "", "role", "only a help call has roles")
	}
	if err := v.Err(); err != nil {
		return Call{}, err
	}
	if kind != Help {
		return s.start(ctx, userID, convID, kind, nil)
	}
	other := Customer
	if role == Customer {
		other = Helper
	}
	return s.start(ctx, userID, convID, Video, func(member string) string {
		if member == userID {
			return role
		}
		return other
	})
}

// StartHelp starts a one-way call (kind voice or video) in which helperID
// helps every other member of the conversation: the help desk's call once
// an agent accepts a request.
func (s *Service) StartHelp(ctx context.Context, helperID, convID, kind string) (Call, error) {
	if kind != Voice && kind != Video {
		return Call{}, httpx.Invalid(httpx.FieldError{Field: "kind", Detail: "must be voice or video"})
	}
	return s.start(ctx, helperID, convID, kind, func(member string) string {
		if member == helperID {
			return Helper
		}
		return Customer
	})
}

// start opens a call; roleOf is nil for an ordinary call and gives each
// member's role in a one-way one.
func (s *Service) start(ctx context.Context, userID, convID, kind string, roleOf func(string) string) (Call, error) {
	members, err := s.chat.MemberIDs(ctx, convID)
	if err != nil {
		return Call{}, err
	}
	found := false
	for _, m := range members {
		found = found || m == userID
	}
	if !found {
		return Call{}, ErrNotFound
	}
	id := uuid.Must(uuid.NewV7()).String()
	summaryKind := kind
	if roleOf != nil && kind == Video {
		summaryKind = Help
	}
	var events []chat.Event
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		var live string
		err := tx.QueryRowContext(ctx, `SELECT id FROM calls WHERE conversation_id = $1 AND state <> 'ended'`, convID).Scan(&live)
		if err == nil {
			return &ActiveError{CallID: live}
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		now := s.now()
		if _, err := tx.ExecContext(ctx, `INSERT INTO calls (id, conversation_id, kind, one_way, state, started_by, node, created_at)
			VALUES ($1, $2, $3, $4, 'ringing', $5, $6, $7)`, id, convID, kind, roleOf != nil, userID, s.cfg.Node, now); err != nil {
			if db.IsUniqueViolation(err) {
				return ErrCallActive
			}
			return err
		}
		for _, m := range members {
			state, joined, role := "ringing", any(nil), ""
			if m == userID {
				state, joined = "joined", now
			}
			if roleOf != nil {
				role = roleOf(m)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO call_members (call_id, user_id, state, joined_at, role) VALUES ($1, $2, $3, $4, $5)`,
				id, m, state, joined, role); err != nil {
				return err
			}
		}
		ev, err := s.chat.RecordCallEvent(ctx, tx, convID, userID, chat.EventCallStarted, chat.CallSummary{ID: id, Kind: summaryKind}, now)
		events = append(events, ev)
		return err
	})
	if errors.Is(err, ErrCallActive) && !errors.As(err, new(*ActiveError)) {
		// Another start won the race; name its call so the client can join.
		var live string
		if s.db.QueryRowContext(ctx, `SELECT id FROM calls WHERE conversation_id = $1 AND state <> 'ended'`, convID).Scan(&live) == nil {
			err = &ActiveError{CallID: live}
		}
	}
	if err != nil {
		return Call{}, err
	}
	s.chat.Announce(ctx, events...)
	return s.Get(ctx, userID, id)
}

// Role is a member's role in a one-way call ("" in an ordinary one, or
// for someone who is not a member of it).
func (c Call) Role(userID string) string {
	for _, m := range c.Members {
		if m.UserID == userID {
			return m.Role
		}
	}
	return ""
}

// Live lists the calls ringing or going on in the person's conversations:
// what a device that opens in the middle of them must show (ring, or
// offer to join).
func (s *Service) Live(ctx context.Context, userID string) ([]Call, error) {
	ids, err := db.Strings(ctx, s.db, `SELECT c.id FROM calls c JOIN members m ON m.conversation_id = c.conversation_id AND m.user_id = $1
		WHERE c.state <> 'ended' ORDER BY c.created_at, c.id LIMIT 100`, userID)
	if err != nil {
		return nil, err
	}
	out := make([]Call, 0, len(ids))
	for _, id := range ids {
		c, err := s.load(ctx, s.db, id)
		if errors.Is(err, ErrNotFound) {
			continue
		} else if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// Get returns a call to one of its conversation's members.
func (s *Service) Get(ctx context.Context, userID, callID string) (Call, error) {
	c, err := s.load(ctx, s.db, callID)
	if err != nil {
		return Call{}, err
	}
	ok, err := isMember(ctx, s.db, c.ConversationID, userID)
	if err != nil {
		return Call{}, err
	}
	if !ok {
		return Call{}, ErrNotFound
	}
	return c, nil
}

func (s *Service) load(ctx context.Context, q db.Querier, callID string) (Call, error) {
	var (
		c                 Call
		answered, endedAt sql.NullTime
	)
	err := q.QueryRowContext(ctx, `SELECT id, conversation_id, kind, one_way, state, started_by, created_at, answered_at, ended_at, end_reason
		FROM calls WHERE id = $1`, callID).Scan(&c.ID, &c.ConversationID, &c.Kind, &c.OneWay, &c.State, &c.StartedBy, &c.CreatedAt, &answered, &endedAt, &c.EndReason)
	if errors.Is(err, sql.ErrNoRows) {
		return Call{}, ErrNotFound
	}
	if err != nil {
		return Call{}, err
	}
	if c.OneWay && c.Kind == Video {
		c.Kind = Help
	}
	if answered.Valid {
		c.AnsweredAt = &answered.Time
	}
	if endedAt.Valid {
		c.EndedAt = &endedAt.Time
	}
	rows, err := q.QueryContext(ctx, `SELECT user_id, role, state, joined_at FROM call_members WHERE call_id = $1 ORDER BY user_id`, callID)
	if err != nil {
		return Call{}, err
	}
	defer rows.Close()
	c.Members = []CallMember{}
	for rows.Next() {
		var (
			m      CallMember
			joined sql.NullTime
		)
		if err := rows.Scan(&m.UserID, &m.Role, &m.State, &joined); err != nil {
			return Call{}, err
		}
		if joined.Valid {
			m.JoinedAt = &joined.Time
		}
		c.Members = append(c.Members, m)
	}
	return c, rows.Err()
}

// change runs fn on a live call in a transaction, then announces the
// call's new state (and any history events fn recorded).
func (s *Service) change(ctx context.Context, userID, callID string, fn func(tx *sql.Tx, c Call, now time.Time) ([]chat.Event, error)) (Call, error) {
	var events []chat.Event
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		// Changes to one call take turns: two people leaving at once must
		// not each see the other still there. SQLite's single writer already
		// serialises them; PostgreSQL locks the row.
		if s.db.Dialect == db.Postgres {
			if _, err := tx.ExecContext(ctx, `SELECT id FROM calls WHERE id = $1 FOR UPDATE`, callID); err != nil {
				return err
			}
		}
		c, err := s.load(ctx, tx, callID)
		if err != nil {
			return err
		}
		if userID != "" { // "" is the server itself (the ring timeout)
			ok, err := isMember(ctx, tx, c.ConversationID, userID)
			if err != nil {
				return err
			}
			if !ok {
				return ErrNotFound
			}
		}
		if c.State == Ended {
			return ErrEnded
		}
		events, err = fn(tx, c, s.now())
		return err
	})
	if err != nil {
		return Call{}, err
	}
	s.chat.Announce(ctx, events...)
	c, err := s.load(ctx, s.db, callID)
	if err != nil {
		return Call{}, err
	}
	s.publish(ctx, c)
	if c.State == Ended && s.media != nil {
		s.media.closeRoom(c.ID)
	}
	return c, nil
}

func (s *Service) publish(ctx context.Context, c Call) {
	if s.announce == nil {
		return
	}
	data, _ := json.Marshal(c)
	_ = s.announce.Publish(context.WithoutCancel(ctx), Subject(c.ConversationID), data)
}

// Join answers a ringing call, or joins one already going on (late).
func (s *Service) Join(ctx context.Context, userID, callID string) (Call, error) {
	return s.change(ctx, userID, callID, func(tx *sql.Tx, c Call, now time.Time) ([]chat.Event, error) {
		res, err := tx.ExecContext(ctx, `UPDATE call_members SET state = 'joined', joined_at = $1, left_at = NULL
			WHERE call_id = $2 AND user_id = $3`, now, callID, userID)
		if err != nil {
			return nil, err
		}
		if n, _ := res.RowsAffected(); n == 0 { // a member who joined the conversation after the call began
			role := ""
			if c.OneWay {
				role = Customer // a helper is added by who runs the help (the desk's transfer)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO call_members (call_id, user_id, state, joined_at, role) VALUES ($1, $2, 'joined', $3, $4)`,
				callID, userID, now, role); err != nil {
				return nil, err
			}
		}
		if c.State == Ringing && userID != c.StartedBy {
			_, err = tx.ExecContext(ctx, `UPDATE calls SET state = 'active', answered_at = $1 WHERE id = $2`, now, callID)
		}
		return nil, err
	})
}

// Invite rings someone into a call going on, with a role in a one-way
// call: the help desk's transfer brings the next helper in this way. They
// must be a member of the conversation.
func (s *Service) Invite(ctx context.Context, callID, userID, role string) (Call, error) {
	return s.change(ctx, "", callID, func(tx *sql.Tx, c Call, now time.Time) ([]chat.Event, error) {
		ok, err := isMember(ctx, tx, c.ConversationID, userID)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, ErrNotFound
		}
		if !c.OneWay {
			role = ""
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO call_members (call_id, user_id, state, role) VALUES ($1, $2, 'ringing', $3)
			ON CONFLICT (call_id, user_id) DO UPDATE SET state = 'ringing', role = $3, left_at = NULL`, callID, userID, role)
		return nil, err
	})
}

// Decline refuses a ringing call; when nobody is left to answer, the call
// ends as declined.
func (s *Service) Decline(ctx context.Context, userID, callID string) (Call, error) {
	return s.change(ctx, userID, callID, func(tx *sql.Tx, c Call, now time.Time) ([]chat.Event, error) {
		if userID == c.StartedBy {
			return nil, fmt.Errorf("%w: the caller leaves or ends the call instead", ErrNotAllowed)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE call_members SET state = 'declined' WHERE call_id = $1 AND user_id = $2 AND state = 'ringing'`,
			callID, userID); err != nil {
			return nil, err
		}
		if c.State != Ringing {
			return nil, nil
		}
		var ringing int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM call_members WHERE call_id = $1 AND state = 'ringing'`, callID).Scan(&ringing); err != nil {
			return nil, err
		}
		if ringing > 0 {
			return nil, nil
		}
		return s.end(ctx, tx, c, userID, Declined, now)
	})
}

// Leave takes the caller out of the call, and their devices on this node
// out of its media; the last one out ends it.
func (s *Service) Leave(ctx context.Context, userID, callID string) (Call, error) {
	c, err := s.leave(ctx, userID, callID)
	if err == nil && s.media != nil {
		s.media.evict(callID, userID)
	}
	return c, err
}

func (s *Service) leave(ctx context.Context, userID, callID string) (Call, error) {
	return s.change(ctx, userID, callID, func(tx *sql.Tx, c Call, now time.Time) ([]chat.Event, error) {
		if _, err := tx.ExecContext(ctx, `UPDATE call_members SET state = 'left', left_at = $1 WHERE call_id = $2 AND user_id = $3 AND state = 'joined'`,
			now, callID, userID); err != nil {
			return nil, err
		}
		var joined int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM call_members WHERE call_id = $1 AND state = 'joined'`, callID).Scan(&joined); err != nil {
			return nil, err
		}
		switch {
		case c.State == Ringing && userID == c.StartedBy:
			return s.end(ctx, tx, c, userID, Cancelled, now)
		case joined == 0 && c.State == Active:
			return s.end(ctx, tx, c, userID, Completed, now)
		}
		return nil, nil
	})
}

// End ends the call for everyone. In a direct conversation either person
// may; in a group, whoever started the call.
func (s *Service) End(ctx context.Context, userID, callID string) (Call, error) {
	return s.change(ctx, userID, callID, func(tx *sql.Tx, c Call, now time.Time) ([]chat.Event, error) {
		var kind string
		if err := tx.QueryRowContext(ctx, `SELECT kind FROM conversations WHERE id = $1`, c.ConversationID).Scan(&kind); err != nil {
			return nil, err
		}
		if kind == "group" && userID != c.StartedBy {
			return nil, fmt.Errorf("%w: only who started a group call ends it for everyone; leave instead", ErrNotAllowed)
		}
		reason := Completed
		switch {
		case c.State == Ringing && userID == c.StartedBy:
			reason = Cancelled
		case c.State == Ringing:
			reason = Declined
		}
		return s.end(ctx, tx, c, userID, reason, now)
	})
}

// Finish ends a call for everyone on the server's behalf (the help desk
// closing a session), recorded in the name of whoever started it.
func (s *Service) Finish(ctx context.Context, callID string) (Call, error) {
	return s.change(ctx, "", callID, func(tx *sql.Tx, c Call, now time.Time) ([]chat.Event, error) {
		reason := Completed
		if c.State == Ringing {
			reason = Cancelled
		}
		return s.end(ctx, tx, c, c.StartedBy, reason, now)
	})
}

// end closes a call inside tx and records it in the conversation.
func (s *Service) end(ctx context.Context, tx *sql.Tx, c Call, actorID, reason string, now time.Time) ([]chat.Event, error) {
	if _, err := tx.ExecContext(ctx, `UPDATE calls SET state = 'ended', ended_at = $1, end_reason = $2 WHERE id = $3`, now, reason, c.ID); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE call_members SET state = 'missed' WHERE call_id = $1 AND state = 'ringing'`, c.ID); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE call_members SET state = 'left', left_at = $1 WHERE call_id = $2 AND state = 'joined'`, now, c.ID); err != nil {
		return nil, err
	}
	// Nobody is billed past the end, even if their media's node is gone.
	if err := closePresence(ctx, tx, c.ID, now); err != nil {
		return nil, err
	}
	summary := chat.CallSummary{ID: c.ID, Kind: c.Kind, Reason: reason}
	if c.AnsweredAt != nil {
		summary.Duration = int64(now.Sub(*c.AnsweredAt) / time.Second)
	}
	ev, err := s.chat.RecordCallEvent(ctx, tx, c.ConversationID, actorID, chat.EventCallEnded, summary, now)
	if err != nil {
		return nil, err
	}
	return []chat.Event{ev}, nil
}

// EmptyCallGrace is how long an answered call on this node may have no
// device connected to its media before it ends by itself.
const EmptyCallGrace = time.Minute

// Sweep runs every second: it ends calls that rang past the ring timeout as
// missed (also those left ringing by a node that stopped), stops ringing
// the members of a call who did not answer in time (they may still join),
// and ends answered calls of this node that no device has been in for
// EmptyCallGrace (everyone's browser crashed, say). First it keeps media
// presence honest (sweepPresence), so that a call a restarted node ends
// does not bill the time the node was down.
func (s *Service) Sweep(ctx context.Context) error {
	if err := s.sweepPresence(ctx); err != nil {
		return err
	}
	cutoff := s.now().Add(-s.cfg.RingTimeout)
	if _, err := s.db.ExecContext(ctx, `UPDATE call_members SET state = 'missed'
		WHERE state = 'ringing' AND call_id IN (SELECT id FROM calls WHERE state = 'active' AND created_at <= $1)`, cutoff); err != nil {
		return err
	}
	if err := s.sweepRinging(ctx, cutoff); err != nil {
		return err
	}
	return s.sweepEmpty(ctx)
}

func (s *Service) sweepEmpty(ctx context.Context) error {
	if s.media == nil {
		return nil
	}
	ids, err := db.Strings(ctx, s.db, `SELECT id FROM calls WHERE state = 'active' AND node = $1 AND answered_at <= $2`,
		s.cfg.Node, s.now().Add(-EmptyCallGrace))
	if err != nil {
		return err
	}
	for _, id := range ids {
		if s.media.idleFor(id) < EmptyCallGrace {
			continue
		}
		_, err := s.change(ctx, "", id, func(tx *sql.Tx, c Call, now time.Time) ([]chat.Event, error) {
			return s.end(ctx, tx, c, c.StartedBy, Completed, now)
		})
		if err != nil && !errors.Is(err, ErrEnded) {
			return err
		}
	}
	return nil
}

func (s *Service) sweepRinging(ctx context.Context, cutoff time.Time) error {
	list, err := db.Strings(ctx, s.db, `SELECT id FROM calls WHERE state = 'ringing' AND created_at <= $1`, cutoff)
	if err != nil {
		return err
	}
	for _, id := range list {
		_, err := s.change(ctx, "", id, func(tx *sql.Tx, c Call, now time.Time) ([]chat.Event, error) {
			if c.State != Ringing {
				return nil, nil // answered meanwhile
			}
			return s.end(ctx, tx, c, c.StartedBy, Missed, now)
		})
		if err != nil && !errors.Is(err, ErrEnded) {
			return err
		}
	}
	return nil
}
