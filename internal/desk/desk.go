package desk

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/calls"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/db"
	"github.com/parley-chat/parley/internal/httpx"
)

//go:embed migrations
var migrationFS embed.FS

// Migrations is the help desk's schema; it needs accounts.
var Migrations = db.Migrations{Component: "desk", FS: func() fs.FS {
	sub, err := fs.Sub(migrationFS, "migrations")
	if err != nil {
		panic(err)
	}
	return sub
}()}

// Channels a queue offers.
const (
	ChannelVideo = "video"
	ChannelVoice = "voice"
	ChannelChat  = "chat"
)

// Agent statuses. Busy and wrap-up are the router's to set; agents choose
// among the others.
const (
	Available = "available"
	Busy      = "busy"
	WrapUp    = "wrapup"
	Away      = "away"
	Offline   = "offline"
)

// Request statuses.
const (
	Waiting   = "waiting"   // in line
	Offered   = "offered"   // an agent's devices ring
	InSession = "active"    // an agent took it
	Ended     = "ended"     // the session is over
	Abandoned = "abandoned" // the customer gave up (or was never answered) before an agent took it
	Callback  = "callback"  // booked outside hours; joins the line when the queue opens
)

// Errors the handlers map to problems.
var (
	ErrNotFound   = errors.New("desk: not found")
	ErrOfferGone  = errors.New("desk: the offer expired or was taken")
	ErrNotAllowed = errors.New("desk: not allowed")
	// ErrWrongState is an action the request or agent is not in a state
	// for (rating a session still going on, say).
	ErrWrongState   = errors.New("desk: not now")
	ErrOriginDenied = errors.New("desk: origin not allowed")
)

// ClosedError answers a request to a queue that cannot take it now, with
// what it offers instead.
type ClosedError struct {
	Reason   string     // closed, full, no-agents
	Offer    string     // callback, message, none
	NextOpen *time.Time // when the queue next opens, if it does
}

func (e *ClosedError) Error() string { return "desk: queue " + e.Reason }

// Auth is what the desk needs of accounts.
type Auth interface {
	CreateGuest(ctx context.Context, name string) (auth.User, string, error)
	UserByID(ctx context.Context, id string) (auth.User, error)
}

// Chat is what the desk needs of the messenger: each request has a
// conversation between the customer and whoever helps.
type Chat interface {
	CreateGroup(ctx context.Context, userID, title string, memberIDs []string) (chat.Conversation, error)
	AddMember(ctx context.Context, userID, convID, newMember string, role chat.Role) (chat.Member, error)
	Send(ctx context.Context, userID, convID string, in chat.SendInput) (chat.Message, bool, error)
}

// Calls is what the desk needs of calls.
type Calls interface {
	StartHelp(ctx context.Context, helperID, convID, kind string) (calls.Call, error)
	Invite(ctx context.Context, callID, userID, role string) (calls.Call, error)
	Leave(ctx context.Context, userID, callID string) (calls.Call, error)
	Finish(ctx context.Context, callID string) (calls.Call, error)
}

// Announcer publishes live news (bus.Bus fits).
type Announcer interface {
	Publish(ctx context.Context, subject string, data []byte) error
}

// Config tunes the desk.
type Config struct {
	// MissedOffersBeforeAway puts an agent away after this many offers in a
	// row ran out unanswered (3).
	MissedOffersBeforeAway int
	// Subject names the bus subject of one person's desk news
	// (realtime.DeskSubject).
	Subject func(userID string) string
	Now     func() time.Time
	Log     *slog.Logger
}

// Service runs the help desk.
type Service struct {
	db       *db.DB
	auth     Auth
	chat     Chat
	calls    Calls
	announce Announcer
	cfg      Config
	now      func() time.Time
	line     map[string]lineState // what PublishLine last told each waiting customer (one loop calls it)
}

// NewService builds the desk.
func NewService(d *db.DB, a Auth, c Chat, cl Calls, an Announcer, cfg Config) *Service {
	if cfg.MissedOffersBeforeAway == 0 {
		cfg.MissedOffersBeforeAway = 3
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Subject == nil {
		cfg.Subject = func(userID string) string { return "desk.user." + userID }
	}
	s := &Service{db: d, auth: a, chat: c, calls: cl, announce: an, cfg: cfg,
		now: func() time.Time { return db.Time(cfg.Now()) }}
	return s
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// notify sends a person's devices a piece of desk news.
func (s *Service) notify(ctx context.Context, userID, kind string, payload any) {
	if s.announce == nil || userID == "" {
		return
	}
	data, err := json.Marshal(map[string]any{"kind": kind, kind: payload})
	if err != nil {
		return
	}
	_ = s.announce.Publish(context.WithoutCancel(ctx), s.cfg.Subject(userID), data)
}

// route offers what can be offered now that something changed (a request
// arrived, an agent became free), before the caller's answer goes out: a
// customer who presses Help rings a free agent within their own request.
// Sweep catches anything this misses.
func (s *Service) route(ctx context.Context) {
	if _, err := s.Dispatch(context.WithoutCancel(ctx)); err != nil {
		s.cfg.Log.Warn("desk: routing", "err", err)
	}
}

// lockRow takes a row lock on PostgreSQL (SQLite's single writer already
// serialises writers).
func (s *Service) lockRow(ctx context.Context, tx *sql.Tx, table, id string) error {
	if s.db.Dialect != db.Postgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SELECT 1 FROM `+table+` WHERE id = $1 FOR UPDATE`, id)
	return err
}

// Problem maps the desk's errors to problems.
func Problem(err error) error {
	var ve *ValidationError
	var ce *ClosedError
	switch {
	case errors.As(err, &ve):
		fields := make([]httpx.FieldError, len(ve.Fields))
		for i, f := range ve.Fields {
			fields[i] = httpx.FieldError(f)
		}
		return httpx.Invalid(fields...)
	case errors.As(err, &ce):
		p := httpx.NewProblem(409, "queue-"+ce.Reason, "The queue cannot take a request now", closedDetail(ce))
		p.Errors = []httpx.FieldError{{Field: "offer", Detail: ce.Offer}}
		if ce.NextOpen != nil {
			p.Errors = append(p.Errors, httpx.FieldError{Field: "next_open", Detail: ce.NextOpen.Format(time.RFC3339)})
		}
		return p
	case errors.Is(err, ErrNotFound):
		return httpx.NotFound()
	case errors.Is(err, ErrOfferGone):
		return httpx.Conflict("offer-gone", "the offer expired or another agent took the request")
	case errors.Is(err, ErrOriginDenied):
		return httpx.Forbidden("this site is not allowed to use the queue's widget")
	case errors.Is(err, ErrWrongState):
		return httpx.Conflict("wrong-state", strings.TrimPrefix(err.Error(), ErrWrongState.Error()+": "))
	case errors.Is(err, ErrNotAllowed):
		return httpx.Forbidden(err.Error())
	}
	return err
}

func closedDetail(e *ClosedError) string {
	var why string
	switch e.Reason {
	case "closed":
		why = "the queue is outside its business hours"
	case "full":
		why = "the queue has as many waiting customers as it takes"
	default:
		why = "no agent is signed in"
	}
	switch e.Offer {
	case "callback":
		return why + "; book a callback instead"
	case "message":
		return why + "; leave a message instead"
	}
	return why
}
