package desk

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parley-chat/parley/internal/calls"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/db"
)

// Offer is a request ringing on one agent's devices until ExpiresAt.
type Offer struct {
	ID        string    `json:"id"`
	RequestID string    `json:"request_id"`
	AgentID   string    `json:"agent_id"`
	State     string    `json:"state"` // pending, accepted, declined, expired, withdrawn
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	// Request and History are what the console shows while it rings.
	Request *Request  `json:"request,omitempty"`
	History []Request `json:"history,omitempty"`
}

// Dispatch offers waiting requests to free agents, oldest request first,
// each to the longest-idle available agent who serves its queue, has its
// skills at the levels asked and room for its channel — preferring agents
// it has not rung yet. It returns how many offers it made.
//
// Any number of nodes may dispatch at once. On PostgreSQL each offer is a
// transaction that locks one request and one agent with FOR UPDATE SKIP
// LOCKED, so two nodes pick different pairs; SQLite's single writer runs
// them one at a time. Either way the partial unique indexes on pending
// offers are the last word: a duplicate cannot be committed.
func (s *Service) Dispatch(ctx context.Context) (int, error) {
	made, clashes := 0, 0
	for {
		offer, err := s.dispatchOne(ctx)
		if err != nil {
			if db.IsUniqueViolation(err) && clashes < 100 {
				clashes++ // another node took that agent or request first; look again
				continue
			}
			return made, err
		}
		if offer == nil {
			return made, nil
		}
		made++
		s.announceOffer(ctx, *offer)
	}
}

// dispatchBatch is how many waiting requests one offer looks through for
// one some free agent can take.
const dispatchBatch = 200

// dispatchOne makes at most one offer: to the first request in line that
// some free agent can take.
func (s *Service) dispatchOne(ctx context.Context) (*Offer, error) {
	var offer *Offer
	requestLock, agentLock := "", ""
	if s.db.Dialect == db.Postgres {
		requestLock, agentLock = ` FOR UPDATE SKIP LOCKED`, ` FOR UPDATE OF a SKIP LOCKED`
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var free int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM desk_agents a WHERE a.status = 'available'
			AND NOT EXISTS (SELECT 1 FROM desk_offers o WHERE o.agent_id = a.user_id AND o.state = 'pending')`).Scan(&free); err != nil || free == 0 {
			return err
		}
		// Read the head of the line without locks, then lock only the
		// request about to be offered: locking the whole batch would write
		// a row lock on each of them for every single offer.
		type waiting struct{ id, queue, channel string }
		rows, err := tx.QueryContext(ctx, `SELECT id, queue_id, channel FROM desk_requests WHERE status = 'waiting'
			ORDER BY enqueued_at, id LIMIT $1`, dispatchBatch)
		if err != nil {
			return err
		}
		var line []waiting
		for rows.Next() {
			var w waiting
			if err := rows.Scan(&w.id, &w.queue, &w.channel); err != nil {
				rows.Close()
				return err
			}
			line = append(line, w)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, w := range line {
			capacity := `NOT EXISTS (SELECT 1 FROM desk_requests b WHERE b.agent_id = a.user_id AND b.status = 'active')`
			if w.channel == ChannelChat {
				capacity = `NOT EXISTS (SELECT 1 FROM desk_requests b WHERE b.agent_id = a.user_id AND b.status = 'active' AND b.channel <> 'chat')
				AND (SELECT COUNT(*) FROM desk_requests b WHERE b.agent_id = a.user_id AND b.status = 'active') < a.max_chats`
			}
			var agentID string
			err := tx.QueryRowContext(ctx, `SELECT a.user_id FROM desk_agents a
				JOIN desk_agent_queues aq ON aq.user_id = a.user_id AND aq.queue_id = $1
				WHERE a.status = 'available'
				  AND NOT EXISTS (SELECT 1 FROM desk_offers o WHERE o.agent_id = a.user_id AND o.state = 'pending')
				  AND NOT EXISTS (SELECT 1 FROM desk_queue_skills qs WHERE qs.queue_id = $1 AND NOT EXISTS (
				      SELECT 1 FROM desk_agent_skills sk WHERE sk.user_id = a.user_id AND sk.skill = qs.skill AND sk.level >= qs.min_level))
				  AND `+capacity+`
				ORDER BY (SELECT COUNT(*) FROM desk_offers o WHERE o.request_id = $2 AND o.agent_id = a.user_id), a.idle_since, a.user_id
				LIMIT 1`+agentLock, w.queue, w.id).Scan(&agentID)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			} else if err != nil {
				return err
			}
			if requestLock != "" {
				var still string
				err := tx.QueryRowContext(ctx, `SELECT id FROM desk_requests WHERE id = $1 AND status = 'waiting'`+requestLock, w.id).Scan(&still)
				if errors.Is(err, sql.ErrNoRows) {
					continue // another node is offering it, or it left the line
				} else if err != nil {
					return err
				}
			}
			var ring int
			if err := tx.QueryRowContext(ctx, `SELECT ring_timeout_seconds FROM desk_queues WHERE id = $1`, w.queue).Scan(&ring); err != nil {
				return err
			}
			offer, err = s.insertOffer(ctx, tx, w.id, agentID, ring)
			return err
		}
		return nil
	})
	return offer, err
}

// insertOffer rings agentID for a request in tx: the offer, and the
// request marked offered.
func (s *Service) insertOffer(ctx context.Context, tx *sql.Tx, requestID, agentID string, ringSeconds int) (*Offer, error) {
	now := s.now()
	o := Offer{ID: newID(), RequestID: requestID, AgentID: agentID, State: "pending", CreatedAt: now,
		ExpiresAt: now.Add(time.Duration(ringSeconds) * time.Second)}
	if _, err := tx.ExecContext(ctx, `INSERT INTO desk_offers (id, request_id, agent_id, state, created_at, expires_at)
		VALUES ($1, $2, $3, 'pending', $4, $5)`, o.ID, o.RequestID, o.AgentID, o.CreatedAt, o.ExpiresAt); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE desk_requests SET status = 'offered', offers = offers + 1 WHERE id = $1`, requestID); err != nil {
		return nil, err
	}
	return &o, nil
}

// announceOffer rings the agent's devices and tells the customer someone
// is being rung.
func (s *Service) announceOffer(ctx context.Context, o Offer) {
	r, err := s.request(ctx, s.db, o.RequestID)
	if err != nil {
		s.cfg.Log.Warn("desk: offer made but its request cannot be read", "offer", o.ID, "err", err)
		return
	}
	o.Request = &r
	if o.History, err = s.History(ctx, r, 5); err != nil {
		o.History = nil
	}
	s.notify(ctx, o.AgentID, "offer", o)
	s.notify(ctx, r.CustomerID, "request", r)
}

// Offers lists an agent's pending offers (at most one) with what the
// console shows.
func (s *Service) Offers(ctx context.Context, agentID string) ([]Offer, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, request_id, agent_id, state, created_at, expires_at FROM desk_offers
		WHERE agent_id = $1 AND state = 'pending'`, agentID)
	if err != nil {
		return nil, err
	}
	var out []Offer
	for rows.Next() {
		var o Offer
		if err := rows.Scan(&o.ID, &o.RequestID, &o.AgentID, &o.State, &o.CreatedAt, &o.ExpiresAt); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		r, err := s.request(ctx, s.db, out[i].RequestID)
		if err != nil {
			return nil, err
		}
		out[i].Request = &r
		if out[i].History, err = s.History(ctx, r, 5); err != nil {
			return nil, err
		}
	}
	if out == nil {
		out = []Offer{}
	}
	return out, nil
}

// Accept takes an offer: the request becomes the agent's session, the
// agent joins the customer's conversation, and for video or voice a one-way
// help call starts with the agent as helper. An offer that expired, was
// withdrawn or is someone else's is ErrOfferGone (or not found).
func (s *Service) Accept(ctx context.Context, agentID, offerID string) (Request, error) {
	var requestID, warm string
	err := s.db.Tx(ctx, func(tx *sql.Tx) (err error) {
		if requestID, err = s.ownPendingOffer(ctx, tx, agentID, offerID); err != nil {
			return err
		}
		now := s.now()
		if _, err := tx.ExecContext(ctx, `UPDATE desk_offers SET state = 'accepted', decided_at = $1 WHERE id = $2`, now, offerID); err != nil {
			return err
		}
		var queueID string
		if err := tx.QueryRowContext(ctx, `SELECT warm_agent_id, queue_id FROM desk_requests WHERE id = $1`, requestID).Scan(&warm, &queueID); err != nil {
			return err
		}
		// The first answer is the one the numbers count; a transfer keeps it.
		if _, err := tx.ExecContext(ctx, `UPDATE desk_requests SET status = 'active', agent_id = $1, answered_at = COALESCE(answered_at, $2),
			warm_agent_id = '' WHERE id = $3`, agentID, now, requestID); err != nil {
			return err
		}
		// A call fills an agent; chats fill them at their limit.
		_, err = tx.ExecContext(ctx, `UPDATE desk_agents SET missed_in_row = 0, status = CASE
			WHEN (SELECT COUNT(*) FROM desk_requests b WHERE b.agent_id = $1 AND b.status = 'active' AND b.channel <> 'chat') > 0 THEN 'busy'
			WHEN (SELECT COUNT(*) FROM desk_requests b WHERE b.agent_id = $1 AND b.status = 'active') >= max_chats THEN 'busy'
			ELSE status END,
			status_since = $2 WHERE user_id = $1`, agentID, now)
		if err != nil || warm == "" || warm == agentID {
			return err
		}
		// A warm transfer's first agent stayed until now; the session goes
		// on with someone else, so they have nothing to wrap up.
		return s.handOff(ctx, tx, warm, now)
	})
	if err != nil {
		return Request{}, err
	}
	r, err := s.request(ctx, s.db, requestID)
	if err != nil {
		return Request{}, err
	}
	if _, err := s.chat.AddMember(ctx, r.CustomerID, r.ConversationID, agentID, chat.RoleAdmin); err != nil && !errors.Is(err, chat.ErrAlreadyThere) {
		return Request{}, fmt.Errorf("desk: adding the agent to the conversation: %w", err)
	}
	// A callback's customer is not online: the agent calls them back on
	// the contact they left, so no call rings their (closed) page.
	if r.Channel != ChannelChat && r.CallbackContact == "" {
		if err := s.bringIntoCall(ctx, &r, agentID); err != nil {
			return Request{}, err
		}
	}
	if warm != "" && warm != agentID {
		if r.CallID != "" {
			if _, err := s.calls.Leave(ctx, warm, r.CallID); err != nil && !isEnded(err) {
				s.cfg.Log.Warn("desk: the first agent leaving the call after a warm transfer", "request", r.ID, "err", err)
			}
		}
		s.notify(ctx, warm, "request", r)
		s.notifyAgent(ctx, warm)
	}
	if r.Transfers == 0 {
		s.hook(ctx, "request.answered", r)
	}
	s.notify(ctx, r.CustomerID, "request", customerView(r))
	s.notifyAgent(ctx, agentID)
	return r, nil
}

// bringIntoCall puts the agent into the session's help call: rung into the
// call that goes on (after a transfer), or as the helper of a new one.
func (s *Service) bringIntoCall(ctx context.Context, r *Request, agentID string) error {
	if r.CallID != "" {
		_, err := s.calls.Invite(ctx, r.CallID, agentID, calls.Helper)
		if err == nil {
			return nil
		}
		if !isEnded(err) {
			return fmt.Errorf("desk: bringing the agent into the call: %w", err)
		}
	}
	call, err := s.calls.StartHelp(ctx, agentID, r.ConversationID, r.Channel)
	if err != nil {
		return fmt.Errorf("desk: starting the call: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE desk_requests SET call_id = $1 WHERE id = $2`, call.ID, r.ID); err != nil {
		return err
	}
	r.CallID = call.ID
	return nil
}

// releaseAgent frees an agent whose session ended or moved on: wrap-up for
// the queue's wrap-up time, or straight back to available when there is
// none — unless other chats keep them, in which case they have room again.
func (s *Service) releaseAgent(ctx context.Context, tx *sql.Tx, agentID, queueID string, now time.Time) error {
	var wrapup, others int
	if err := tx.QueryRowContext(ctx, `SELECT wrapup_seconds FROM desk_queues WHERE id = $1`, queueID).Scan(&wrapup); err != nil {
		return err
	}
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM desk_requests WHERE agent_id = $1 AND status = 'active'`, agentID).Scan(&others); err != nil {
		return err
	}
	var err error
	switch {
	case others > 0:
		_, err = tx.ExecContext(ctx, `UPDATE desk_agents SET status = 'available', status_since = $1 WHERE user_id = $2 AND status = 'busy'`, now, agentID)
	case wrapup == 0:
		_, err = tx.ExecContext(ctx, `UPDATE desk_agents SET status = 'available', status_since = $1, idle_since = $1
			WHERE user_id = $2 AND status = 'busy'`, now, agentID)
	default:
		_, err = tx.ExecContext(ctx, `UPDATE desk_agents SET status = 'wrapup', status_since = $1, wrapup_until = $2
			WHERE user_id = $3 AND status IN ('busy', 'available')`, now, now.Add(time.Duration(wrapup)*time.Second), agentID)
	}
	return err
}

// handOff frees an agent whose session went on with someone else: no
// wrap-up (the session is not over), straight back to available — busy
// still if other sessions keep them at capacity.
func (s *Service) handOff(ctx context.Context, tx *sql.Tx, agentID string, now time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE desk_agents SET status = CASE
		WHEN (SELECT COUNT(*) FROM desk_requests b WHERE b.agent_id = $1 AND b.status = 'active' AND b.channel <> 'chat') > 0 THEN 'busy'
		WHEN (SELECT COUNT(*) FROM desk_requests b WHERE b.agent_id = $1 AND b.status = 'active') >= max_chats THEN 'busy'
		ELSE 'available' END,
		status_since = $2, idle_since = $2, wrapup_until = NULL WHERE user_id = $1 AND status IN ('busy', 'wrapup', 'available')`, agentID, now)
	return err
}

func customerView(r Request) Request {
	r.Notes, r.WrapUpCode = "", ""
	return r
}

func (s *Service) notifyAgent(ctx context.Context, agentID string) {
	if a, err := s.Agent(ctx, agentID); err == nil {
		s.notify(ctx, agentID, "agent", a)
	}
}

// ownPendingOffer locks an offer of agentID's that still rings and returns
// its request: ErrNotFound for someone else's (or none), ErrOfferGone for
// one taken, declined, withdrawn or past its time (an expired one the
// sweeper moves on as a miss).
func (s *Service) ownPendingOffer(ctx context.Context, tx *sql.Tx, agentID, offerID string) (string, error) {
	if err := s.lockRow(ctx, tx, "desk_offers", offerID); err != nil {
		return "", err
	}
	var (
		requestID, state, owner string
		expires                 time.Time
	)
	err := tx.QueryRowContext(ctx, `SELECT request_id, agent_id, state, expires_at FROM desk_offers WHERE id = $1`, offerID).
		Scan(&requestID, &owner, &state, &expires)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && owner != agentID) {
		return "", ErrNotFound
	} else if err != nil {
		return "", err
	}
	if state != "pending" || !s.now().Before(expires) {
		return "", ErrOfferGone
	}
	return requestID, nil
}

// Decline refuses an offer; the request goes back to the line and is
// offered to someone else first.
func (s *Service) Decline(ctx context.Context, agentID, offerID string) error {
	var requestID string
	err := s.db.Tx(ctx, func(tx *sql.Tx) (err error) {
		if requestID, err = s.ownPendingOffer(ctx, tx, agentID, offerID); err != nil {
			return err
		}
		return s.closeOffer(ctx, tx, offerID, requestID, "declined")
	})
	if err == nil {
		s.route(ctx)
	}
	return err
}

// closeOffer ends a pending offer and puts its request back in line.
func (s *Service) closeOffer(ctx context.Context, tx *sql.Tx, offerID, requestID, state string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE desk_offers SET state = $1, decided_at = $2 WHERE id = $3 AND state = 'pending'`,
		state, s.now(), offerID); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE desk_requests SET status = 'waiting' WHERE id = $1 AND status = 'offered'`, requestID)
	return err
}

// withdrawOffers takes back the pending offers matching where (an agent
// who stepped away, a customer who gave up).
func (s *Service) withdrawOffers(ctx context.Context, tx *sql.Tx, where string, arg string) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, request_id, agent_id FROM desk_offers WHERE state = 'pending' AND `+where, arg)
	if err != nil {
		return err
	}
	type pair struct{ offer, request, agent string }
	var ps []pair
	for rows.Next() {
		var p pair
		if err := rows.Scan(&p.offer, &p.request, &p.agent); err != nil {
			rows.Close()
			return err
		}
		ps = append(ps, p)
	}
	rows.Close()
	for _, p := range ps {
		if err := s.closeOffer(ctx, tx, p.offer, p.request, "withdrawn"); err != nil {
			return err
		}
		s.notify(ctx, p.agent, "offer_withdrawn", map[string]string{"id": p.offer})
	}
	return rows.Err()
}

// Sweep runs every second on every node: offers that rang out go to the
// next agent (and an agent who let N ring out in a row goes away), timed
// wrap-ups end, and callbacks join the line once their queue opens.
func (s *Service) Sweep(ctx context.Context) error {
	now := s.now()
	lock := ""
	if s.db.Dialect == db.Postgres {
		lock = ` FOR UPDATE SKIP LOCKED`
	}
	var (
		missed  []Offer
		wrapped []string // agents whose wrap-up ran out
	)
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, request_id, agent_id FROM desk_offers WHERE state = 'pending' AND expires_at <= $1`+lock, now)
		if err != nil {
			return err
		}
		for rows.Next() {
			var o Offer
			if err := rows.Scan(&o.ID, &o.RequestID, &o.AgentID); err != nil {
				rows.Close()
				return err
			}
			missed = append(missed, o)
		}
		rows.Close()
		for _, o := range missed {
			if err := s.closeOffer(ctx, tx, o.ID, o.RequestID, "expired"); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE desk_agents SET missed_in_row = missed_in_row + 1,
				status = CASE WHEN missed_in_row + 1 >= $1 AND status = 'available' THEN 'away' ELSE status END,
				status_since = CASE WHEN missed_in_row + 1 >= $1 AND status = 'available' THEN $2 ELSE status_since END
				WHERE user_id = $3`, s.cfg.MissedOffersBeforeAway, now, o.AgentID); err != nil {
				return err
			}
		}
		// Wrap-up that ran out of time ends by itself.
		if wrapped, err = db.Strings(ctx, tx, `SELECT user_id FROM desk_agents WHERE status = 'wrapup' AND wrapup_until <= $1`, now); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE desk_agents SET status = 'available', status_since = $1, idle_since = $1, wrapup_until = NULL
			WHERE status = 'wrapup' AND wrapup_until <= $1`, now)
		return err
	})
	if err != nil {
		return err
	}
	for _, o := range missed {
		s.notify(ctx, o.AgentID, "offer_expired", map[string]string{"id": o.ID})
		s.notifyAgent(ctx, o.AgentID)
	}
	for _, id := range wrapped {
		s.notifyAgent(ctx, id)
	}
	if err := s.openCallbacks(ctx, now); err != nil {
		return err
	}
	if err := s.endSessionsWithoutCall(ctx); err != nil {
		return err
	}
	_, err = s.Dispatch(ctx)
	return err
}

// endSessionsWithoutCall ends video and voice sessions whose help call
// ended by itself — everyone hung up, or the customer never answered and
// it rang out — so the agent is not left busy in a session that is over.
// (It reads the calls table: the one place the desk looks into another
// component's rows, to avoid a call-ended hook across packages.)
func (s *Service) endSessionsWithoutCall(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, `SELECT r.id, r.agent_id FROM desk_requests r JOIN calls c ON c.id = r.call_id
		WHERE r.status = 'active' AND r.call_id <> '' AND c.state = 'ended'`)
	if err != nil {
		return err
	}
	type pair struct{ request, agent string }
	var over []pair
	for rows.Next() {
		var p pair
		if err := rows.Scan(&p.request, &p.agent); err != nil {
			rows.Close()
			return err
		}
		over = append(over, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, p := range over {
		if _, err := s.end(ctx, p.agent, p.request, "call-ended"); err != nil && !errors.Is(err, ErrWrongState) {
			return err
		}
	}
	return nil
}

// openCallbacks moves booked callbacks into the line of queues that are
// open (and whose preferred time has come).
func (s *Service) openCallbacks(ctx context.Context, now time.Time) error {
	queues, err := db.Strings(ctx, s.db, `SELECT DISTINCT queue_id FROM desk_requests WHERE status = 'callback'
		AND (callback_at IS NULL OR callback_at <= $1)`, now)
	if err != nil {
		return err
	}
	for _, id := range queues {
		q, err := s.Queue(ctx, id)
		if err != nil {
			return err
		}
		if !q.OpenAt(now) {
			continue
		}
		if _, err := s.db.ExecContext(ctx, `UPDATE desk_requests SET status = 'waiting', enqueued_at = $1
			WHERE queue_id = $2 AND status = 'callback' AND (callback_at IS NULL OR callback_at <= $1)`, now, id); err != nil {
			return err
		}
	}
	return nil
}

func isEnded(err error) bool { return errors.Is(err, calls.ErrEnded) }

func validText(v string) bool { return utf8.ValidString(v) && !strings.ContainsRune(v, 0) }

// PublishLine tells every waiting customer their place and estimated wait
// when it changed since the last time this node told them.
func (s *Service) PublishLine(ctx context.Context) error {
	// One read of the whole line and one of each queue's load, however
	// long the line: a full request is read only for whoever's news changed.
	rows, err := s.db.QueryContext(ctx, `SELECT id, queue_id, status FROM desk_requests WHERE status IN ('waiting', 'offered')
		ORDER BY queue_id, enqueued_at, id LIMIT 5000`)
	if err != nil {
		return err
	}
	type inLine struct{ id, queue, status string }
	var line []inLine
	for rows.Next() {
		var w inLine
		if err := rows.Scan(&w.id, &w.queue, &w.status); err != nil {
			rows.Close()
			return err
		}
		line = append(line, w)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	seen := make(map[string]lineState, len(line))
	loads := map[string]load{}
	position, queue := 0, ""
	for _, w := range line {
		if w.queue != queue {
			position, queue = 0, w.queue
		}
		position++
		now := lineState{status: w.status}
		if w.status == Waiting { // an offered customer sees "connecting", no line
			l, ok := loads[w.queue]
			if !ok {
				if l, err = s.queueLoad(ctx, s.db, w.queue); err != nil {
					return err
				}
				loads[w.queue] = l
			}
			now.position, now.wait = position, l.wait(position)
		}
		seen[w.id] = now
		if s.line[w.id] == now {
			continue
		}
		r, err := s.request(ctx, s.db, w.id)
		if errors.Is(err, ErrNotFound) {
			continue
		} else if err != nil {
			return err
		}
		s.notify(ctx, r.CustomerID, "request", customerView(r))
	}
	s.line = seen
	return nil
}

type lineState struct {
	status         string
	position, wait int
}
