package auth

import (
	"context"
	"database/sql"
	"errors"
	"github.com/parley-chat/parley/internal/httpx"
	"strings"
	"time"
	"unicode/utf8"
)

// Token is an API token for a program, bot or device, as its owner sees
// it. The secret itself is shown once, when it is made.
type Token struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
}

// MaxTokensPerUser bounds how many live tokens one account may hold.
const MaxTokensPerUser = 100

// CreateToken makes an API token for userID and returns it with its secret.
// A nil expiresAt means the token lives until revoked.
func (s *Service) CreateToken(ctx context.Context, userID, name string, expiresAt *time.Time) (Token, string, error) {
	var v httpx.Validator
	name = strings.TrimSpace(name)
	v.Check(name != "" && utf8.ValidString(name) && utf8.RuneCountInString(name) <= MaxName, "name",
		"enter a name of at most 100 characters")
	now := s.now()
	if expiresAt != nil {
		v.Check(expiresAt.After(now), "expires_at", "must be in the future")
		t := expiresAt.UTC().Truncate(time.Microsecond)
		expiresAt = &t
	}
	if err := v.Err(); err != nil {
		return Token{}, "", err
	}
	secret, hash := newSecret(tokenPrefix)
	t := Token{ID: newID(), Name: name, Prefix: secret[:len(tokenPrefix)+6], CreatedAt: now, ExpiresAt: expiresAt}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM api_tokens WHERE user_id = $1`, userID).Scan(&n); err != nil {
			return err
		}
		if n >= MaxTokensPerUser {
			return httpx.Invalid(httpx.FieldError{Field: "name", Detail: "you hold the most tokens allowed (100); revoke one first"})
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO api_tokens (id, user_id, name, prefix, token_hash, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, t.ID, userID, t.Name, t.Prefix, hash, t.CreatedAt, t.ExpiresAt)
		return err
	})
	if err != nil {
		return Token{}, "", err
	}
	return t, secret, nil
}

// AuthenticateToken resolves a bearer token.
func (s *Service) AuthenticateToken(ctx context.Context, secret string) (*Principal, error) {
	if !strings.HasPrefix(secret, tokenPrefix) {
		return nil, ErrUnauthenticated
	}
	var (
		p        Principal
		lastUsed sql.NullTime
		expires  sql.NullTime
	)
	err := s.db.QueryRowContext(ctx, `SELECT t.id, t.last_used_at, t.expires_at, u.id, u.email, u.name, u.role, u.guest, u.created_at
		FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1`, hashSecret(secret)).
		Scan(&p.TokenID, &lastUsed, &expires, &p.User.ID, &p.User.Email, &p.User.Name, &p.User.Role, &p.User.Guest, &p.User.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrUnauthenticated
	}
	if err != nil {
		return nil, err
	}
	now := s.now()
	if expires.Valid && !expires.Time.After(now) {
		return nil, ErrUnauthenticated
	}
	if !lastUsed.Valid || now.Sub(lastUsed.Time) >= lastSeenGranularity {
		if _, err := s.db.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = $1 WHERE id = $2`, now, p.TokenID); err != nil {
			return nil, err
		}
	}
	return &p, nil
}

// ListTokens returns a page of the user's tokens, newest first.
func (s *Service) ListTokens(ctx context.Context, userID string, after NewestFirst, limit int) ([]Token, *NewestFirst, error) {
	t, id := after.bounds()
	rows, err := s.db.QueryContext(ctx, `SELECT id, name, prefix, created_at, last_used_at, expires_at
		FROM api_tokens WHERE user_id = $1 AND (created_at < $2 OR (created_at = $2 AND id < $3))
		ORDER BY created_at DESC, id DESC LIMIT $4`, userID, t, id, limit+1)
	if err != nil {
		return nil, nil, err
	}
	return collectPage(rows, limit, func(x *Token) NewestFirst { return NewestFirst{x.CreatedAt, x.ID} },
		func(x *Token) error {
			var lastUsed, expires sql.NullTime
			if err := rows.Scan(&x.ID, &x.Name, &x.Prefix, &x.CreatedAt, &lastUsed, &expires); err != nil {
				return err
			}
			x.LastUsedAt, x.ExpiresAt = nullTime(lastUsed), nullTime(expires)
			return nil
		})
}

func nullTime(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	return &t.Time
}

// RevokeToken deletes one of the user's tokens.
func (s *Service) RevokeToken(ctx context.Context, userID, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM api_tokens WHERE id = $1 AND user_id = $2`, id, userID)
	if err := affectedOne(res, err); err != nil {
		return err
	}
	s.announceEnded(ctx, Ended{TokenIDs: []string{id}})
	return nil
}

// Invite lets one person sign up in invite mode, with a given role.
type Invite struct {
	ID        string     `json:"id"`
	Role      Role       `json:"role"`
	Email     string     `json:"email,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	UsedAt    *time.Time `json:"used_at"`
}

// CreateInvite makes an invite valid for ttl (default 7 days), optionally
// bound to one email address; it returns the secret to hand over.
func (s *Service) CreateInvite(ctx context.Context, by *Principal, role Role, email string, ttl time.Duration) (Invite, string, error) {
	var v httpx.Validator
	if role == "" {
		role = RoleMember
	}
	v.Check(role.Valid(), "role", "must be admin, agent, expert or member")
	if email != "" {
		email = NormalizeEmail(email)
		v.Check(email != "", "email", "enter a valid email address")
	}
	if ttl == 0 {
		ttl = 7 * 24 * time.Hour
	}
	v.Check(ttl > 0 && ttl <= 90*24*time.Hour, "expires_in_hours", "must be from 1 hour to 90 days")
	if err := v.Err(); err != nil {
		return Invite{}, "", err
	}
	secret, hash := newSecret(invitePrefix)
	now := s.now()
	inv := Invite{ID: newID(), Role: role, Email: email, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	_, err := s.db.ExecContext(ctx, `INSERT INTO invites (id, token_hash, role, email, created_by, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, inv.ID, hash, inv.Role, inv.Email, by.User.ID, inv.CreatedAt, inv.ExpiresAt)
	if err != nil {
		return Invite{}, "", err
	}
	return inv, secret, nil
}

// ListInvites returns a page of invites, newest first.
func (s *Service) ListInvites(ctx context.Context, after NewestFirst, limit int) ([]Invite, *NewestFirst, error) {
	t, id := after.bounds()
	rows, err := s.db.QueryContext(ctx, `SELECT id, role, email, created_at, expires_at, used_at
		FROM invites WHERE created_at < $1 OR (created_at = $1 AND id < $2)
		ORDER BY created_at DESC, id DESC LIMIT $3`, t, id, limit+1)
	if err != nil {
		return nil, nil, err
	}
	return collectPage(rows, limit, func(x *Invite) NewestFirst { return NewestFirst{x.CreatedAt, x.ID} },
		func(x *Invite) error {
			var used sql.NullTime
			if err := rows.Scan(&x.ID, &x.Role, &x.Email, &x.CreatedAt, &x.ExpiresAt, &used); err != nil {
				return err
			}
			x.UsedAt = nullTime(used)
			return nil
		})
}

// DeleteInvite withdraws an invite.
func (s *Service) DeleteInvite(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM invites WHERE id = $1`, id)
	return affectedOne(res, err)
}
