// Handing a session on to another queue or agent, warm or cold.

package desk

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// TransferInput moves a session to another queue's line or to one agent.
// Warm keeps the current agent in the session until the next one accepts;
// cold lets them go at once.
type TransferInput struct {
	Queue string `json:"queue"`
	Agent string `json:"agent"`
	Warm  bool   `json:"warm"`
}

// ErrAgentUnavailable is a transfer to an agent who cannot take it now.
var ErrAgentUnavailable = errors.New("desk: that agent is not available")

// Transfer hands a session on. The customer keeps their conversation and
// call and their place: a transferred request goes to the front of its new
// line (it keeps the time it first joined one).
func (s *Service) Transfer(ctx context.Context, agentID, requestID string, in TransferInput) (Request, error) {
	var fe fieldErrors
	if (in.Queue == "") == (in.Agent == "") {
		fe.add("queue", "name a queue or an agent to transfer to, not both")
	}
	if in.Agent == agentID {
		fe.add("agent", "that is you")
	}
	if err := fe.err(); err != nil {
		return Request{}, err
	}
	var offer *Offer
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.lockRow(ctx, tx, "desk_requests", requestID); err != nil {
			return err
		}
		var owner, status, queueID string
		err := tx.QueryRowContext(ctx, `SELECT COALESCE(agent_id, ''), status, queue_id FROM desk_requests WHERE id = $1`, requestID).
			Scan(&owner, &status, &queueID)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && owner != agentID) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		if status != InSession {
			return fmt.Errorf("%w: only a session going on can be transferred", ErrWrongState)
		}
		target := queueID
		if in.Queue != "" {
			if err := tx.QueryRowContext(ctx, `SELECT id FROM desk_queues WHERE id = $1 OR key = $1`, in.Queue).Scan(&target); errors.Is(err, sql.ErrNoRows) {
				return &ValidationError{Fields: []FieldError{{Field: "queue", Detail: "no such queue"}}}
			} else if err != nil {
				return err
			}
		}
		now := s.now()
		warm := ""
		if in.Warm {
			warm = agentID
		}
		if _, err := tx.ExecContext(ctx, `UPDATE desk_requests SET status = 'waiting', queue_id = $1, warm_agent_id = $2,
			transfers = transfers + 1 WHERE id = $3`, target, warm, requestID); err != nil {
			return err
		}
		if in.Agent != "" {
			var ring int
			if err := tx.QueryRowContext(ctx, `SELECT ring_timeout_seconds FROM desk_queues WHERE id = $1`, target).Scan(&ring); err != nil {
				return err
			}
			var free int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM desk_agents a WHERE a.user_id = $1 AND a.status = 'available'
				AND NOT EXISTS (SELECT 1 FROM desk_offers o WHERE o.agent_id = a.user_id AND o.state = 'pending')`, in.Agent).Scan(&free); err != nil {
				return err
			}
			if free == 0 {
				return ErrAgentUnavailable
			}
			if offer, err = s.insertOffer(ctx, tx, requestID, in.Agent, ring); err != nil {
				return err
			}
		}
		if in.Warm {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE desk_requests SET agent_id = NULL WHERE id = $1`, requestID); err != nil {
			return err
		}
		return s.handOff(ctx, tx, agentID, now)
	})
	if err != nil {
		return Request{}, err
	}
	r, err := s.request(ctx, s.db, requestID)
	if err != nil {
		return Request{}, err
	}
	if !in.Warm && r.CallID != "" {
		if _, err := s.calls.Leave(ctx, agentID, r.CallID); err != nil && !isEnded(err) {
			s.cfg.Log.Warn("desk: leaving the call after a cold transfer", "request", r.ID, "err", err)
		}
	}
	if offer != nil {
		s.announceOffer(ctx, *offer)
	} else {
		s.route(ctx)
	}
	s.notify(ctx, r.CustomerID, "request", customerView(r))
	s.notifyAgent(ctx, agentID)
	return s.request(ctx, s.db, requestID)
}
