package desk

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Agent is a person who takes requests: the queues they serve, their
// skills, and where they stand.
type Agent struct {
	UserID      string         `json:"user_id"`
	Name        string         `json:"name"`
	Status      string         `json:"status"`
	StatusSince time.Time      `json:"status_since"`
	IdleSince   time.Time      `json:"idle_since"`
	WrapUpUntil *time.Time     `json:"wrapup_until"`
	MaxChats    int            `json:"max_chats"`
	Manager     bool           `json:"manager"`
	Queues      []string       `json:"queues"` // queue ids
	Skills      map[string]int `json:"skills"`
	// MissedInRow counts offers that rang out unanswered since the last
	// one the agent took; at Config.MissedOffersBeforeAway they go away.
	MissedInRow int `json:"missed_in_row"`
}

// AgentInput is what a manager sets for an agent.
type AgentInput struct {
	Queues   []string       `json:"queues"`
	Skills   map[string]int `json:"skills"`
	MaxChats int            `json:"max_chats"`
	Manager  bool           `json:"manager"`
}

// SetAgent makes userID an agent, or changes their queues, skills and
// capacity. A new agent starts offline.
func (s *Service) SetAgent(ctx context.Context, userID string, in AgentInput) (Agent, error) {
	var fe fieldErrors
	if in.MaxChats == 0 {
		in.MaxChats = 3
	}
	if in.MaxChats < 1 || in.MaxChats > 20 {
		fe.add("max_chats", "must be from 1 to 20")
	}
	if in.Skills == nil {
		in.Skills = map[string]int{}
	}
	checkSkills(&fe, "skills", in.Skills)
	if in.Queues == nil {
		in.Queues = []string{}
	}
	if len(in.Queues) > 100 {
		fe.add("queues", "at most 100 queues")
	}
	if err := fe.err(); err != nil {
		return Agent{}, err
	}
	if _, err := s.auth.UserByID(ctx, userID); err != nil {
		return Agent{}, ErrNotFound
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		ids := make([]string, 0, len(in.Queues))
		for i, q := range in.Queues {
			var id string
			err := tx.QueryRowContext(ctx, `SELECT id FROM desk_queues WHERE id = $1 OR key = $1`, q).Scan(&id)
			if errors.Is(err, sql.ErrNoRows) {
				fe.add(fmt.Sprintf("queues[%d]", i), "no such queue")
				continue
			} else if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		if err := fe.err(); err != nil {
			return err
		}
		now := s.now()
		res, err := tx.ExecContext(ctx, `UPDATE desk_agents SET max_chats = $1, manager = $2 WHERE user_id = $3`, in.MaxChats, in.Manager, userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			if _, err := tx.ExecContext(ctx, `INSERT INTO desk_agents (user_id, status, status_since, idle_since, max_chats, manager)
				VALUES ($1, 'offline', $2, $2, $3, $4)`, userID, now, in.MaxChats, in.Manager); err != nil {
				return err
			}
		}
		for _, stmt := range []string{`DELETE FROM desk_agent_queues WHERE user_id = $1`, `DELETE FROM desk_agent_skills WHERE user_id = $1`} {
			if _, err := tx.ExecContext(ctx, stmt, userID); err != nil {
				return err
			}
		}
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `INSERT INTO desk_agent_queues (user_id, queue_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, userID, id); err != nil {
				return err
			}
		}
		for skill, level := range in.Skills {
			if _, err := tx.ExecContext(ctx, `INSERT INTO desk_agent_skills (user_id, skill, level) VALUES ($1, $2, $3)`, userID, skill, level); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Agent{}, err
	}
	s.route(ctx)
	a, err := s.Agent(ctx, userID)
	if err == nil {
		s.notify(ctx, userID, "agent", a)
	}
	return a, err
}

// Agent returns one agent.
func (s *Service) Agent(ctx context.Context, userID string) (Agent, error) {
	agents, err := s.agents(ctx, s.db, `a.user_id = $1`, userID)
	if err != nil {
		return Agent{}, err
	}
	if len(agents) == 0 {
		return Agent{}, ErrNotFound
	}
	return agents[0], nil
}

// Agents lists every agent by name.
func (s *Service) Agents(ctx context.Context) ([]Agent, error) {
	return s.agents(ctx, s.db, `1 = 1`)
}

func (s *Service) agents(ctx context.Context, q querier, where string, args ...any) ([]Agent, error) {
	rows, err := q.QueryContext(ctx, `SELECT a.user_id, u.name, a.status, a.status_since, a.idle_since, a.wrapup_until,
		a.max_chats, a.manager, a.missed_in_row FROM desk_agents a JOIN users u ON u.id = a.user_id WHERE `+where+` ORDER BY u.name, a.user_id`, args...)
	if err != nil {
		return nil, err
	}
	out := []Agent{}
	byID := map[string]*Agent{}
	for rows.Next() {
		var (
			a      Agent
			wrapup sql.NullTime
		)
		if err := rows.Scan(&a.UserID, &a.Name, &a.Status, &a.StatusSince, &a.IdleSince, &wrapup, &a.MaxChats, &a.Manager, &a.MissedInRow); err != nil {
			rows.Close()
			return nil, err
		}
		if wrapup.Valid {
			a.WrapUpUntil = &wrapup.Time
		}
		a.Queues, a.Skills = []string{}, map[string]int{}
		out = append(out, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		byID[out[i].UserID] = &out[i]
	}
	if len(out) == 0 {
		return out, nil
	}
	qrows, err := q.QueryContext(ctx, `SELECT user_id, queue_id FROM desk_agent_queues ORDER BY queue_id`)
	if err != nil {
		return nil, err
	}
	for qrows.Next() {
		var user, queue string
		if err := qrows.Scan(&user, &queue); err != nil {
			qrows.Close()
			return nil, err
		}
		if a := byID[user]; a != nil {
			a.Queues = append(a.Queues, queue)
		}
	}
	qrows.Close()
	srows, err := q.QueryContext(ctx, `SELECT user_id, skill, level FROM desk_agent_skills`)
	if err != nil {
		return nil, err
	}
	defer srows.Close()
	for srows.Next() {
		var (
			user, skill string
			level       int
		)
		if err := srows.Scan(&user, &skill, &level); err != nil {
			return nil, err
		}
		if a := byID[user]; a != nil {
			a.Skills[skill] = level
		}
	}
	return out, srows.Err()
}

// IsManager reports whether userID manages the desk (an admin always
// does; the HTTP layer checks that).
func (s *Service) IsManager(ctx context.Context, userID string) (bool, error) {
	var m bool
	err := s.db.QueryRowContext(ctx, `SELECT manager FROM desk_agents WHERE user_id = $1`, userID).Scan(&m)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return m, err
}

// SetStatus is an agent choosing available, away or offline. Busy and
// wrap-up belong to the router: an agent in a session stays busy, and one
// in wrap-up finishes it (WrapUp) to become available.
func (s *Service) SetStatus(ctx context.Context, userID, status string) (Agent, error) {
	if status != Available && status != Away && status != Offline {
		return Agent{}, &ValidationError{Fields: []FieldError{{Field: "status", Detail: "must be available, away or offline"}}}
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var current string
		err := tx.QueryRowContext(ctx, `SELECT status FROM desk_agents WHERE user_id = $1`, userID).Scan(&current)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		if current == status {
			return nil
		}
		if current == Busy && status == Available {
			return fmt.Errorf("%w: you are in a session; end it first", ErrWrongState)
		}
		now := s.now()
		if _, err := tx.ExecContext(ctx, `UPDATE desk_agents SET status = $1, status_since = $2, missed_in_row = 0, wrapup_until = NULL,
			idle_since = CASE WHEN $1 = 'available' THEN $2 ELSE idle_since END WHERE user_id = $3`, status, now, userID); err != nil {
			return err
		}
		if status != Available {
			// An agent who steps away lets go of the offer ringing for them.
			return s.withdrawOffers(ctx, tx, `agent_id = $1`, userID)
		}
		return nil
	})
	if err != nil {
		return Agent{}, err
	}
	a, err := s.Agent(ctx, userID)
	if err == nil {
		s.notify(ctx, userID, "agent", a)
		s.route(ctx)
	}
	return a, err
}
