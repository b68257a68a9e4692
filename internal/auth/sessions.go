package auth

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/parley-chat/parley/internal/db"
)

// Session is one signed-in device, as its owner sees it.
type Session struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	UserAgent  string    `json:"user_agent"`
	IP         string    `json:"ip"`
	Current    bool      `json:"current"`
}

// Prefixes make leaked secrets recognisable (and greppable by scanners).
const (
	sessionPrefix = "ps_"
	tokenPrefix   = "pt_"
	invitePrefix  = "pi_"
)

// lastSeenGranularity bounds how often a session's last use is written:
// reads should not each cost a write.
const lastSeenGranularity = time.Minute

func (s *Service) startSession(ctx context.Context, q db.Querier, userID string, client ClientInfo) (string, error) {
	client = client.trimmed()
	secret, hash := newSecret(sessionPrefix)
	now := s.now()
	_, err := q.ExecContext(ctx, `INSERT INTO sessions (id, user_id, token_hash, created_at, last_seen_at, expires_at, user_agent, ip)
		VALUES ($1, $2, $3, $4, $4, $5, $6, $7)`,
		newID(), userID, hash, now, now.Add(s.cfg.SessionLifetime), client.UserAgent, client.IP)
	return secret, err
}

// AuthenticateSession resolves a session cookie. A session past its
// absolute lifetime or idle for longer than the idle timeout is ended.
func (s *Service) AuthenticateSession(ctx context.Context, secret string) (*Principal, error) {
	if !strings.HasPrefix(secret, sessionPrefix) {
		return nil, ErrUnauthenticated
	}
	var (
		p        Principal
		lastSeen time.Time
		expires  time.Time
	)
	err := s.db.QueryRowContext(ctx, `SELECT s.id, s.last_seen_at, s.expires_at, u.id, u.email, u.name, u.role, u.created_at
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1`, hashSecret(secret)).
		Scan(&p.SessionID, &lastSeen, &expires, &p.User.ID, &p.User.Email, &p.User.Name, &p.User.Role, &p.User.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrUnauthenticated
	}
	if err != nil {
		return nil, err
	}
	now := s.now()
	if !expires.After(now) || now.Sub(lastSeen) >= s.cfg.SessionIdle {
		if _, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE id = $1`, p.SessionID); err != nil {
			return nil, err
		}
		return nil, ErrUnauthenticated
	}
	if now.Sub(lastSeen) >= lastSeenGranularity {
		if _, err := s.db.ExecContext(ctx, `UPDATE sessions SET last_seen_at = $1 WHERE id = $2`, now, p.SessionID); err != nil {
			return nil, err
		}
	}
	return &p, nil
}

// Logout ends the session behind secret.
func (s *Service) Logout(ctx context.Context, sessionID string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE id = $1`, sessionID); err != nil {
		return err
	}
	s.announceEnded(ctx, Ended{SessionIDs: []string{sessionID}})
	return nil
}

// ListSessions returns a page of the caller's live sessions, newest first.
func (s *Service) ListSessions(ctx context.Context, p *Principal, after NewestFirst, limit int) ([]Session, *NewestFirst, error) {
	t, id := after.bounds()
	rows, err := s.db.QueryContext(ctx, `SELECT id, created_at, last_seen_at, expires_at, user_agent, ip
		FROM sessions WHERE user_id = $1 AND expires_at > $2 AND last_seen_at > $3
		  AND (created_at < $4 OR (created_at = $4 AND id < $5))
		ORDER BY created_at DESC, id DESC LIMIT $6`,
		p.User.ID, s.now(), s.now().Add(-s.cfg.SessionIdle), t, id, limit+1)
	if err != nil {
		return nil, nil, err
	}
	return collectPage(rows, limit, func(x *Session) NewestFirst { return NewestFirst{x.CreatedAt, x.ID} },
		func(x *Session) error {
			if err := rows.Scan(&x.ID, &x.CreatedAt, &x.LastSeenAt, &x.ExpiresAt, &x.UserAgent, &x.IP); err != nil {
				return err
			}
			x.Current = x.ID == p.SessionID
			return nil
		})
}

// NewestFirst is the position in a list ordered by creation, newest first:
// the creation time and id of the last item of the previous page.
type NewestFirst struct {
	CreatedAt time.Time `json:"t"`
	ID        string    `json:"i"`
}

// bounds gives the keyset arguments; the zero value starts at the top.
func (c NewestFirst) bounds() (time.Time, string) {
	if c.ID == "" {
		return time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), ""
	}
	return c.CreatedAt, c.ID
}

// collectPage scans up to limit rows (the query asked for limit+1) and
// returns the key of the last one kept when more remain.
func collectPage[T any](rows *sql.Rows, limit int, key func(*T) NewestFirst, scan func(*T) error) ([]T, *NewestFirst, error) {
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		var x T
		if err := scan(&x); err != nil {
			return nil, nil, err
		}
		out = append(out, x)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	if len(out) > limit {
		out = out[:limit]
		next := key(&out[limit-1])
		return out, &next, nil
	}
	return out, nil, nil
}

// EndSession signs out one of the caller's own sessions. Another user's
// session is ErrNotFound, as if it did not exist.
func (s *Service) EndSession(ctx context.Context, p *Principal, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE id = $1 AND user_id = $2`, id, p.User.ID)
	if err := affectedOne(res, err); err != nil {
		return err
	}
	s.announceEnded(ctx, Ended{SessionIDs: []string{id}})
	return nil
}

func affectedOne(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// PruneSessions deletes sessions past their lifetime or idle timeout; the
// server runs it periodically.
func (s *Service) PruneSessions(ctx context.Context) (int64, error) {
	now := s.now()
	res, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2`,
		now, now.Add(-s.cfg.SessionIdle))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
