// A session from its end to the rating: ending, wrap-up, notes, the
// customer giving up, and the rating.

package desk

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Cancel is the customer giving up while waiting (or a booked callback
// they no longer need).
func (s *Service) Cancel(ctx context.Context, userID, requestID string) (Request, error) {
	var warm string
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.lockRow(ctx, tx, "desk_requests", requestID); err != nil {
			return err
		}
		var customer, status, queueID string
		err := tx.QueryRowContext(ctx, `SELECT customer_id, status, queue_id, warm_agent_id FROM desk_requests WHERE id = $1`, requestID).
			Scan(&customer, &status, &queueID, &warm)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && customer != userID) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		if status != Waiting && status != Offered && status != Callback {
			return fmt.Errorf("%w: the request is %s", ErrWrongState, status)
		}
		if err := s.withdrawOffers(ctx, tx, `request_id = $1`, requestID); err != nil {
			return err
		}
		if warm != "" { // the agent who stayed through a warm transfer is free
			if _, err := tx.ExecContext(ctx, `UPDATE desk_requests SET warm_agent_id = '' WHERE id = $1`, requestID); err != nil {
				return err
			}
			if err := s.releaseAgent(ctx, tx, warm, queueID, s.now()); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE desk_requests SET status = 'abandoned', ended_at = $1, end_reason = 'cancelled' WHERE id = $2`,
			s.now(), requestID)
		return err
	})
	if err != nil {
		return Request{}, err
	}
	r, err := s.request(ctx, s.db, requestID)
	if err == nil {
		s.hook(ctx, "request.abandoned", r)
		if warm != "" {
			s.notify(ctx, warm, "request", r)
			s.notifyAgent(ctx, warm)
		}
		if r.CallID != "" { // a transferred session's call ends with it
			if _, err := s.calls.Finish(ctx, r.CallID); err != nil && !isEnded(err) {
				s.cfg.Log.Warn("desk: ending the call of a cancelled transfer", "request", r.ID, "err", err)
			}
		}
		s.route(ctx)
	}
	return customerView(r), err
}

// End closes a session, by its agent or its customer: the call ends, the
// customer is asked for a rating, and the agent goes to wrap-up (or stays
// available while they still have chats).
func (s *Service) End(ctx context.Context, userID, requestID string) (Request, error) {
	return s.end(ctx, userID, requestID, "")
}

// end closes a session; reason "" means whoever userID is (agent or
// customer); the sweeper passes "call-ended" with the agent as userID.
func (s *Service) end(ctx context.Context, userID, requestID, reason string) (Request, error) {
	var agentID string
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.lockRow(ctx, tx, "desk_requests", requestID); err != nil {
			return err
		}
		var customer, status, queueID, warm string
		err := tx.QueryRowContext(ctx, `SELECT customer_id, COALESCE(agent_id, ''), status, queue_id, warm_agent_id FROM desk_requests WHERE id = $1`,
			requestID).Scan(&customer, &agentID, &status, &queueID, &warm)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && userID != customer && userID != agentID && userID != warm) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		inWarmTransfer := warm != "" && (status == Waiting || status == Offered)
		if status != InSession && !inWarmTransfer {
			return fmt.Errorf("%w: the request is %s", ErrWrongState, status)
		}
		if inWarmTransfer {
			// The agent who stayed through a warm transfer (or the customer)
			// ends it before anyone took it: the offer is withdrawn.
			if err := s.withdrawOffers(ctx, tx, `request_id = $1`, requestID); err != nil {
				return err
			}
			agentID = warm
			if _, err := tx.ExecContext(ctx, `UPDATE desk_requests SET agent_id = $1, warm_agent_id = '' WHERE id = $2`, warm, requestID); err != nil {
				return err
			}
		}
		now := s.now()
		switch {
		case reason != "":
		case userID == customer:
			reason = "customer"
		default:
			reason = "agent"
		}
		if _, err := tx.ExecContext(ctx, `UPDATE desk_requests SET status = 'ended', ended_at = $1, end_reason = $2 WHERE id = $3`,
			now, reason, requestID); err != nil {
			return err
		}
		err = s.releaseAgent(ctx, tx, agentID, queueID, now)
		return err
	})
	if err != nil {
		return Request{}, err
	}
	r, err := s.request(ctx, s.db, requestID)
	if err != nil {
		return Request{}, err
	}
	if r.CallID != "" {
		if _, err := s.calls.Finish(ctx, r.CallID); err != nil && !isEnded(err) {
			s.cfg.Log.Warn("desk: ending the session's call", "request", r.ID, "err", err)
		}
	}
	s.hook(ctx, "session.ended", r)
	s.notify(ctx, r.CustomerID, "request", customerView(r))
	s.notify(ctx, agentID, "request", r)
	s.notifyAgent(ctx, agentID)
	s.route(ctx)
	if userID == r.CustomerID {
		return customerView(r), nil
	}
	return r, nil
}

// WrapUp records the agent's reason code and notes after a session and
// makes them available again.
func (s *Service) WrapUp(ctx context.Context, agentID, requestID, code, notes string) (Request, error) {
	var fe fieldErrors
	code = checkText(&fe, "code", code, 100)
	if code == "" {
		fe.add("code", "choose a reason code")
	}
	if len(notes) > 10_000 {
		fe.add("notes", "at most 10,000 bytes")
	}
	if err := fe.err(); err != nil {
		return Request{}, err
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var agent, status string
		err := tx.QueryRowContext(ctx, `SELECT COALESCE(agent_id, ''), status FROM desk_requests WHERE id = $1`, requestID).Scan(&agent, &status)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && agent != agentID) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		if status != Ended {
			return fmt.Errorf("%w: wrap up a session once it has ended", ErrWrongState)
		}
		now := s.now()
		if _, err := tx.ExecContext(ctx, `UPDATE desk_requests SET wrapup_code = $1, notes = $2 WHERE id = $3`, code, notes, requestID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE desk_agents SET status = 'available', status_since = $1, idle_since = $1, wrapup_until = NULL
			WHERE user_id = $2 AND status = 'wrapup'`, now, agentID)
		return err
	})
	if err != nil {
		return Request{}, err
	}
	s.notifyAgent(ctx, agentID)
	s.route(ctx)
	return s.request(ctx, s.db, requestID)
}

// SetNotes keeps the agent's private notes during a session.
func (s *Service) SetNotes(ctx context.Context, agentID, requestID, notes string) (Request, error) {
	if len(notes) > 10_000 {
		return Request{}, &ValidationError{Fields: []FieldError{{Field: "notes", Detail: "at most 10,000 bytes"}}}
	}
	res, err := s.db.ExecContext(ctx, `UPDATE desk_requests SET notes = $1 WHERE id = $2 AND agent_id = $3`, notes, requestID, agentID)
	if err != nil {
		return Request{}, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Request{}, ErrNotFound
	}
	return s.request(ctx, s.db, requestID)
}

// ErrRated is a second rating of one session.
var ErrRated = errors.New("desk: this session is already rated")

// Rate is the customer's 1–5 score and comment once the session ended.
func (s *Service) Rate(ctx context.Context, userID, requestID string, score int, comment string) (Request, error) {
	var fe fieldErrors
	if score < 1 || score > 5 {
		fe.add("score", "from 1 to 5")
	}
	if len(comment) > 2000 || !validText(comment) {
		fe.add("comment", "at most 2,000 bytes of text")
	}
	if err := fe.err(); err != nil {
		return Request{}, err
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var (
			customer, status string
			rating           sql.NullInt64
		)
		err := tx.QueryRowContext(ctx, `SELECT customer_id, status, rating FROM desk_requests WHERE id = $1`, requestID).Scan(&customer, &status, &rating)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && customer != userID) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		if status != Ended {
			return fmt.Errorf("%w: rate a session once it has ended", ErrWrongState)
		}
		if rating.Valid {
			return ErrRated
		}
		_, err = tx.ExecContext(ctx, `UPDATE desk_requests SET rating = $1, rating_comment = $2 WHERE id = $3`, score, comment, requestID)
		return err
	})
	if err != nil {
		return Request{}, err
	}
	r, err := s.request(ctx, s.db, requestID)
	if err == nil {
		s.hook(ctx, "csat.submitted", r)
	}
	return customerView(r), err
}
