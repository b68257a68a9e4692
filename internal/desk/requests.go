package desk

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/chat"
)

// Request is a customer's call for help, from pressing Help to the rating.
type Request struct {
	ID         string `json:"id"`
	QueueID    string `json:"queue_id"`
	QueueName  string `json:"queue_name"`
	Channel    string `json:"channel"`
	Status     string `json:"status"`
	CustomerID string `json:"customer_id"`
	Name       string `json:"name"`
	// Identity is guest, member (signed in), verified (the site signed who
	// it is) or forged (a signature that did not verify: treated as a
	// guest, and flagged to the agent).
	Identity   string `json:"identity"`
	ExternalID string `json:"external_id,omitempty"`
	Location   string `json:"location,omitempty"` // a kiosk's store
	Page       string `json:"page,omitempty"`     // the page the widget was on
	Device     string `json:"device,omitempty"`
	// Position in line (1 is next) and the estimated wait, while waiting
	// (not once an agent is being rung).
	Position             int `json:"position,omitempty"`
	EstimatedWaitSeconds int `json:"estimated_wait_seconds"`

	CallbackContact string     `json:"callback_contact,omitempty"`
	CallbackAt      *time.Time `json:"callback_at,omitempty"`

	CreatedAt      time.Time  `json:"created_at"`
	AnsweredAt     *time.Time `json:"answered_at"`
	EndedAt        *time.Time `json:"ended_at"`
	EndReason      string     `json:"end_reason,omitempty"`
	AgentID        string     `json:"agent_id,omitempty"`
	AgentName      string     `json:"agent_name,omitempty"`
	ConversationID string     `json:"conversation_id"`
	CallID         string     `json:"call_id,omitempty"`
	// Transfers counts hand-overs; WarmAgentID is the agent who stays in
	// the session until the next accepts a warm transfer.
	Transfers     int    `json:"transfers"`
	WarmAgentID   string `json:"warm_agent_id,omitempty"`
	Rating        *int   `json:"rating"`
	RatingComment string `json:"rating_comment,omitempty"`
	// For agents and managers only.
	WrapUpCode string `json:"wrapup_code,omitempty"`
	Notes      string `json:"notes,omitempty"`

	// Token is the guest's credential, only in the answer that made it.
	Token string `json:"token,omitempty"`
}

// Identity is who a site says its signed-in user is: Signature is the hex
// HMAC-SHA256 of UserID under the queue's widget secret, made by the
// site's server.
type Identity struct {
	UserID    string `json:"user_id"`
	Name      string `json:"name"`
	Signature string `json:"signature"`
}

// RequestInput opens a request.
type RequestInput struct {
	Queue    string    `json:"queue"`
	Channel  string    `json:"channel"`
	Name     string    `json:"name"`
	Identity *Identity `json:"identity"`
	Location string    `json:"location"`
	Page     string    `json:"page"`
	Device   string    `json:"device"`
	Message  string    `json:"message"` // the customer's first words, posted in the conversation
	// Callback books a call back outside hours instead of waiting.
	Callback *CallbackInput `json:"callback"`
}

// CallbackInput is a customer's contact and preferred time.
type CallbackInput struct {
	Contact string     `json:"contact"`
	At      *time.Time `json:"at"`
}

// Caller is who opens a request: a signed-in person, or nobody (a guest
// through the widget or kiosk). Origin is the browser's Origin header ("" for
// programs); Own says it is this server's own origin (the kiosk page).
type Caller struct {
	User   *auth.User
	Origin string
	Own    bool
}

// Sign returns the signature a site's server makes for one of its users.
func Sign(secret, userID string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(userID))
	return hex.EncodeToString(m.Sum(nil))
}

func checkText(fe *fieldErrors, field, v string, limit int) string {
	v = strings.TrimSpace(v)
	if !utf8.ValidString(v) || utf8.RuneCountInString(v) > limit || strings.ContainsFunc(v, isControl) {
		fe.add(field, fmt.Sprintf("at most %d characters, no control characters", limit))
	}
	return v
}

// Open opens a request on a queue, or books a callback when it is closed.
// A queue that cannot take it answers *ClosedError with what it offers.
func (s *Service) Open(ctx context.Context, caller Caller, in RequestInput) (Request, error) {
	q, err := s.Queue(ctx, strings.TrimSpace(in.Queue))
	if errors.Is(err, ErrNotFound) {
		return Request{}, &ValidationError{Fields: []FieldError{{Field: "queue", Detail: "no such queue"}}}
	} else if err != nil {
		return Request{}, err
	}
	if caller.Origin != "" && !caller.Own && !q.AllowsOrigin(caller.Origin) {
		return Request{}, ErrOriginDenied
	}
	var fe fieldErrors
	if in.Channel == "" {
		in.Channel = q.Channels[0]
	}
	if !q.Offers(in.Channel) {
		fe.add("channel", "this queue offers "+strings.Join(q.Channels, ", "))
	}
	in.Name = checkText(&fe, "name", in.Name, 100)
	if in.Name == "" && caller.User == nil && (in.Identity == nil || in.Identity.Name == "") {
		fe.add("name", "tell the agent your name")
	}
	in.Location = checkText(&fe, "location", in.Location, 200)
	in.Page = checkText(&fe, "page", in.Page, 2000)
	in.Device = checkText(&fe, "device", in.Device, 200)
	if len(in.Message) > chat.MaxBodyBytes {
		fe.add("message", "too long")
	}
	if in.Identity != nil {
		in.Identity.UserID = checkText(&fe, "identity.user_id", in.Identity.UserID, 200)
		in.Identity.Name = checkText(&fe, "identity.name", in.Identity.Name, 100)
		if in.Identity.UserID == "" {
			fe.add("identity.user_id", "required with an identity")
		}
	}
	if in.Callback != nil {
		in.Callback.Contact = checkText(&fe, "callback.contact", in.Callback.Contact, 200)
		if in.Callback.Contact == "" {
			fe.add("callback.contact", "how should the agent reach you?")
		}
	}
	if err := fe.err(); err != nil {
		return Request{}, err
	}
	now := s.now()
	status := Waiting
	if in.Callback == nil {
		// Refuse a full queue before making a guest and a conversation (the
		// transaction below checks again, for requests arriving together).
		var waiting int
		if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM desk_requests WHERE queue_id = $1 AND status IN ('waiting', 'offered')`,
			q.ID).Scan(&waiting); err != nil {
			return Request{}, err
		}
		if waiting >= q.MaxWaiting {
			return Request{}, &ClosedError{Reason: "full", Offer: q.WhenClosed}
		}
	}
	if in.Callback != nil {
		if q.WhenClosed != "callback" {
			return Request{}, &ValidationError{Fields: []FieldError{{Field: "callback", Detail: "this queue does not take callbacks"}}}
		}
		status = Callback
	} else if err := s.canTake(ctx, q, now); err != nil {
		return Request{}, err
	}

	r := Request{ID: newID(), QueueID: q.ID, QueueName: q.Name, Channel: in.Channel, Status: status, Name: in.Name,
		Identity: "guest", Location: in.Location, Page: in.Page, Device: in.Device, CreatedAt: now}
	if in.Callback != nil {
		r.CallbackContact, r.CallbackAt = in.Callback.Contact, in.Callback.At
	}
	if in.Identity != nil {
		r.Identity = "forged"
		if hmac.Equal([]byte(strings.ToLower(in.Identity.Signature)), []byte(Sign(q.WidgetSecret, in.Identity.UserID))) {
			r.Identity, r.ExternalID = "verified", in.Identity.UserID
			if in.Identity.Name != "" {
				r.Name = in.Identity.Name
			}
		}
	}
	if caller.User != nil && !caller.User.Guest {
		r.Identity, r.CustomerID = "member", caller.User.ID
		if r.Name == "" {
			r.Name = caller.User.Name
		}
	} else {
		if r.Name == "" && in.Identity != nil {
			r.Name = in.Identity.Name
		}
		u, token, err := s.auth.CreateGuest(ctx, r.Name)
		if err != nil {
			return Request{}, err
		}
		r.CustomerID, r.Token = u.ID, token
	}
	conv, err := s.chat.CreateGroup(ctx, r.CustomerID, q.Name+" · "+r.Name, nil)
	if err != nil {
		return Request{}, err
	}
	r.ConversationID = conv.ID
	if strings.TrimSpace(in.Message) != "" {
		if _, _, err := s.chat.Send(ctx, r.CustomerID, conv.ID, chat.SendInput{ClientID: "desk-" + r.ID, Body: in.Message}); err != nil {
			return Request{}, err
		}
	}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if status == Waiting {
			if err := s.lockRow(ctx, tx, "desk_queues", q.ID); err != nil {
				return err
			}
			var waiting int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM desk_requests WHERE queue_id = $1 AND status IN ('waiting', 'offered')`,
				q.ID).Scan(&waiting); err != nil {
				return err
			}
			if waiting >= q.MaxWaiting {
				return &ClosedError{Reason: "full", Offer: q.WhenClosed}
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO desk_requests (id, queue_id, channel, status, customer_id, name, identity, external_id,
			location, page, device, callback_contact, callback_at, created_at, enqueued_at, conversation_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $15)`,
			r.ID, r.QueueID, r.Channel, r.Status, r.CustomerID, r.Name, r.Identity, r.ExternalID, r.Location, r.Page, r.Device,
			r.CallbackContact, nullTime(r.CallbackAt), now, r.ConversationID)
		return err
	})
	if err != nil {
		return Request{}, err
	}
	s.hook(ctx, "request.created", r)
	s.route(ctx)
	token := r.Token
	r, err = s.request(ctx, s.db, r.ID)
	r.Token = token
	return r, err
}

// canTake says why a queue cannot take a waiting customer now, if so.
func (s *Service) canTake(ctx context.Context, q Queue, now time.Time) error {
	if !q.OpenAt(now) {
		e := &ClosedError{Reason: "closed", Offer: q.WhenClosed}
		if next, ok := q.hours.NextOpen(now); ok {
			e.NextOpen = &next
		}
		return e
	}
	var signedIn int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM desk_agents a JOIN desk_agent_queues aq ON aq.user_id = a.user_id
		WHERE aq.queue_id = $1 AND a.status <> 'offline'`, q.ID).Scan(&signedIn); err != nil {
		return err
	}
	if signedIn == 0 {
		return &ClosedError{Reason: "no-agents", Offer: q.WhenClosed}
	}
	return nil
}

func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return *t
}

const requestColumns = `r.id, r.queue_id, q.name, r.channel, r.status, r.customer_id, r.name, r.identity, r.external_id, r.location,
	r.page, r.device, r.callback_contact, r.callback_at, r.created_at, r.enqueued_at, r.answered_at, r.ended_at, r.end_reason,
	COALESCE(r.agent_id, ''), COALESCE(u.name, ''), r.conversation_id, r.call_id, r.rating, r.rating_comment, r.wrapup_code, r.notes,
	r.transfers, r.warm_agent_id`

const requestFrom = ` FROM desk_requests r JOIN desk_queues q ON q.id = r.queue_id LEFT JOIN users u ON u.id = r.agent_id `

func scanRequest(row interface{ Scan(...any) error }) (Request, time.Time, error) {
	var (
		r                           Request
		enqueued                    time.Time
		callbackAt, answered, ended sql.NullTime
		rating                      sql.NullInt64
	)
	err := row.Scan(&r.ID, &r.QueueID, &r.QueueName, &r.Channel, &r.Status, &r.CustomerID, &r.Name, &r.Identity, &r.ExternalID,
		&r.Location, &r.Page, &r.Device, &r.CallbackContact, &callbackAt, &r.CreatedAt, &enqueued, &answered, &ended, &r.EndReason,
		&r.AgentID, &r.AgentName, &r.ConversationID, &r.CallID, &rating, &r.RatingComment, &r.WrapUpCode, &r.Notes,
		&r.Transfers, &r.WarmAgentID)
	if errors.Is(err, sql.ErrNoRows) {
		return Request{}, enqueued, ErrNotFound
	}
	if callbackAt.Valid {
		r.CallbackAt = &callbackAt.Time
	}
	if answered.Valid {
		r.AnsweredAt = &answered.Time
	}
	if ended.Valid {
		r.EndedAt = &ended.Time
	}
	if rating.Valid {
		n := int(rating.Int64)
		r.Rating = &n
	}
	return r, enqueued, err
}

// request loads a request with its place in line.
func (s *Service) request(ctx context.Context, q querier, id string) (Request, error) {
	r, enqueued, err := scanRequest(q.QueryRowContext(ctx, `SELECT `+requestColumns+requestFrom+`WHERE r.id = $1`, id))
	if err != nil {
		return Request{}, err
	}
	if r.Status == Waiting { // once offered, an agent is being rung: no line to show
		if err := s.placeInLine(ctx, q, &r, enqueued); err != nil {
			return Request{}, err
		}
	}
	return r, nil
}

// placeInLine fills in the position and the estimated wait: the customers
// ahead, shared among the agents working the queue, each taking the
// queue's recent average handle time (3 minutes until there is history).
// An agent free now takes the first in line at once.
func (s *Service) placeInLine(ctx context.Context, q querier, r *Request, enqueued time.Time) error {
	var ahead int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM desk_requests WHERE queue_id = $1 AND status IN ('waiting', 'offered')
		AND (enqueued_at < $2 OR (enqueued_at = $2 AND id < $3))`, r.QueueID, enqueued, r.ID).Scan(&ahead); err != nil {
		return err
	}
	load, err := s.queueLoad(ctx, q, r.QueueID)
	if err != nil {
		return err
	}
	r.Position = ahead + 1
	r.EstimatedWaitSeconds = load.wait(r.Position)
	return nil
}

// load is what a queue's estimated waits are made of: the agents free and
// working, and the recent average handle time.
type load struct {
	free, working int
	aht           time.Duration
}

func (s *Service) queueLoad(ctx context.Context, q querier, queueID string) (load, error) {
	var l load
	if err := q.QueryRowContext(ctx, `SELECT COALESCE(SUM(CASE WHEN a.status = 'available' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN a.status IN ('available', 'busy', 'wrapup') THEN 1 ELSE 0 END), 0)
		FROM desk_agents a JOIN desk_agent_queues aq ON aq.user_id = a.user_id WHERE aq.queue_id = $1`, queueID).Scan(&l.free, &l.working); err != nil {
		return l, err
	}
	var err error
	l.aht, err = s.averageHandle(ctx, q, queueID)
	return l, err
}

// wait is the estimated wait of the customer at position (1 is next).
func (l load) wait(position int) int {
	waitingFor := position - l.free // customers who must wait for someone to finish
	if waitingFor <= 0 {
		return 0
	}
	return int(math.Ceil(float64(waitingFor) * l.aht.Seconds() / float64(max(l.working, 1))))
}

// DefaultHandleTime is the handle time assumed before a queue has history.
const DefaultHandleTime = 3 * time.Minute

// averageHandle is the mean handle time (answer to end) of the queue's
// last 50 sessions.
func (s *Service) averageHandle(ctx context.Context, q querier, queueID string) (time.Duration, error) {
	rows, err := q.QueryContext(ctx, `SELECT answered_at, ended_at FROM desk_requests
		WHERE queue_id = $1 AND status = 'ended' AND answered_at IS NOT NULL ORDER BY ended_at DESC LIMIT 50`, queueID)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var total time.Duration
	n := 0
	for rows.Next() {
		var a, e time.Time
		if err := rows.Scan(&a, &e); err != nil {
			return 0, err
		}
		total += e.Sub(a)
		n++
	}
	if n == 0 {
		return DefaultHandleTime, rows.Err()
	}
	return total / time.Duration(n), rows.Err()
}

// Viewer is who looks at a request.
type Viewer struct {
	UserID  string
	Manager bool // admins and agents with the manager flag
}

// Get returns a request to its customer, its agent, or a manager; only
// agents and managers see the notes and wrap-up.
func (s *Service) Get(ctx context.Context, v Viewer, id string) (Request, error) {
	r, err := s.request(ctx, s.db, id)
	if err != nil {
		return Request{}, err
	}
	return s.visible(ctx, v, r)
}

func (s *Service) visible(ctx context.Context, v Viewer, r Request) (Request, error) {
	switch {
	case v.Manager || (v.UserID != "" && (r.AgentID == v.UserID || r.WarmAgentID == v.UserID)):
		return r, nil
	case r.CustomerID == v.UserID:
		r.Notes, r.WrapUpCode = "", ""
		return r, nil
	}
	// An agent with a pending offer for it sees it too.
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM desk_offers WHERE request_id = $1 AND agent_id = $2`, r.ID, v.UserID).Scan(&n); err != nil {
		return Request{}, err
	}
	if n > 0 {
		return r, nil
	}
	return Request{}, ErrNotFound
}

// History lists a customer's earlier requests (by the site's user id when
// verified, else by account), newest first, for the agent's console.
func (s *Service) History(ctx context.Context, r Request, limit int) ([]Request, error) {
	where, arg := `r.customer_id = $1`, r.CustomerID
	if r.ExternalID != "" {
		where, arg = `r.external_id = $1`, r.ExternalID
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+requestColumns+requestFrom+`WHERE `+where+` AND r.id <> $2 ORDER BY r.created_at DESC LIMIT $3`,
		arg, r.ID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Request{}
	for rows.Next() {
		h, _, err := scanRequest(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// Status is a queue as a widget shows it: open or not, and how long a new
// customer would wait.
func (s *Service) Status(ctx context.Context, q Queue) (QueueStatus, error) {
	now := s.now()
	st := QueueStatus{Key: q.Key, Name: q.Name, Channels: q.Channels, Open: q.OpenAt(now), WhenClosed: q.WhenClosed}
	if next, ok := q.hours.NextOpen(now); ok && !st.Open {
		st.NextOpen = &next
	}
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM desk_agents a JOIN desk_agent_queues aq ON aq.user_id = a.user_id
		WHERE aq.queue_id = $1 AND a.status <> 'offline'`, q.ID).Scan(&st.AgentsOnline); err != nil {
		return st, err
	}
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM desk_requests WHERE queue_id = $1 AND status IN ('waiting', 'offered')`,
		q.ID).Scan(&st.Waiting); err != nil {
		return st, err
	}
	if st.Open && st.AgentsOnline > 0 { // otherwise nobody is coming: no estimate
		// A newcomer's wait is that of one more customer at the end of the line.
		l, err := s.queueLoad(ctx, s.db, q.ID)
		if err != nil {
			return st, err
		}
		st.EstimatedWaitSeconds = l.wait(st.Waiting + 1)
	}
	return st, nil
}

// Sessions lists an agent's requests in session, those ended but not yet
// wrapped up, and those they are warm-transferring, oldest first: what the
// console restores after a reload.
func (s *Service) Sessions(ctx context.Context, agentID string) ([]Request, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+requestColumns+requestFrom+`WHERE (r.agent_id = $1
		AND (r.status = 'active' OR (r.status = 'ended' AND r.wrapup_code = '')))
		OR (r.warm_agent_id = $1 AND r.status IN ('waiting', 'offered')) ORDER BY r.answered_at, r.id LIMIT 50`, agentID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Request{}
	for rows.Next() {
		r, _, err := scanRequest(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
