package auth

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parley-chat/parley/internal/db"
	"github.com/parley-chat/parley/internal/httpx"
)

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return sub
}

// SignupInput is what a person sends to create an account.
type SignupInput struct {
	Email    string
	Name     string
	Password string
	Invite   string // required in invite mode
}

// Signup creates an account and signs it in. The very first account of an
// installation becomes its operator (admin), whatever the sign-up mode, so a
// fresh installation can be set up from the browser.
func (s *Service) Signup(ctx context.Context, in SignupInput, client ClientInfo) (User, string, error) {
	var v httpx.Validator
	email := NormalizeEmail(in.Email)
	v.Check(email != "", "email", "enter a valid email address")
	name := checkName(&v, in.Name)
	checkPassword(&v, "password", in.Password)
	if err := v.Err(); err != nil {
		return User{}, "", err
	}
	hash, err := s.hash.Hash(ctx, in.Password)
	if err != nil {
		return User{}, "", err
	}
	var (
		user  User
		token string
	)
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.lockSignups(ctx, tx); err != nil {
			return err
		}
		var users int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE NOT guest`).Scan(&users); err != nil {
			return err
		}
		role := RoleMember
		switch {
		case users == 0:
			role = RoleAdmin
		case s.cfg.SignupMode == SignupClosed:
			return ErrSignupClosed
		case s.cfg.SignupMode == SignupInvite:
			r, err := s.redeemInvite(ctx, tx, in.Invite, email)
			if err != nil {
				return err
			}
			role = r
		}
		var err error
		if user, err = s.insertUser(ctx, tx, email, name, role, hash); err != nil {
			return err
		}
		if s.cfg.SignupMode == SignupInvite && users > 0 {
			if _, err := tx.ExecContext(ctx, `UPDATE invites SET used_by = $1 WHERE token_hash = $2`,
				user.ID, hashSecret(in.Invite)); err != nil {
				return err
			}
		}
		token, err = s.startSession(ctx, tx, user.ID, client)
		return err
	})
	return user, token, err
}

// lockSignups serialises sign-ups so that exactly one first account
// becomes admin, even with several nodes (SQLite's single writer already
// serialises them).
func (s *Service) lockSignups(ctx context.Context, tx *sql.Tx) error {
	if s.db.Dialect != db.Postgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7340321)`)
	return err
}

func (s *Service) redeemInvite(ctx context.Context, tx *sql.Tx, secret, email string) (Role, error) {
	if secret == "" {
		return "", ErrInviteRequired
	}
	var (
		role        Role
		inviteEmail string
	)
	err := tx.QueryRowContext(ctx, `UPDATE invites SET used_at = $1
		WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1
		RETURNING role, email`, s.now(), hashSecret(secret)).Scan(&role, &inviteEmail)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && inviteEmail != "" && inviteEmail != email) {
		return "", ErrInviteRequired
	}
	return role, err
}

func (s *Service) insertUser(ctx context.Context, q db.Querier, email, name string, role Role, hash string) (User, error) {
	u := User{ID: newID(), Email: email, Name: name, Role: role, CreatedAt: s.now()}
	_, err := q.ExecContext(ctx, `INSERT INTO users (id, email, name, role, password_hash, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6)`, u.ID, u.Email, u.Name, u.Role, hash, u.CreatedAt)
	if db.IsUniqueViolation(err) {
		return User{}, ErrEmailTaken
	}
	return u, err
}

// CreateUser makes an account with a given role, without signing it in;
// the CLI and admins use it, whatever the sign-up mode.
func (s *Service) CreateUser(ctx context.Context, email, name, password string, role Role) (User, error) {
	var v httpx.Validator
	email = NormalizeEmail(email)
	v.Check(email != "", "email", "enter a valid email address")
	name = checkName(&v, name)
	checkPassword(&v, "password", password)
	v.Check(role.Valid(), "role", "must be admin, agent, expert or member")
	if err := v.Err(); err != nil {
		return User{}, err
	}
	hash, err := s.hash.Hash(ctx, password)
	if err != nil {
		return User{}, err
	}
	return s.insertUser(ctx, s.db, email, name, role, hash)
}

// Login checks a password and starts a session. Unknown email and wrong
// password give the same error after the same work. Repeated failures per
// account and per client address are throttled.
func (s *Service) Login(ctx context.Context, email, password string, client ClientInfo) (User, string, error) {
	email = NormalizeEmail(email)
	now := s.now()
	accountKey, addressKey := "email:"+email, "ip:"+client.IP
	if wait := max(s.byAccount.blocked(accountKey, now), s.byAddress.blocked(addressKey, now)); wait > 0 {
		return User{}, "", &ThrottledError{RetryAfter: wait}
	}
	var (
		u    User
		hash string
	)
	err := s.db.QueryRowContext(ctx, `SELECT id, email, name, role, created_at, password_hash
		FROM users WHERE email = $1`, email).Scan(&u.ID, &u.Email, &u.Name, &u.Role, &u.CreatedAt, &hash)
	if errors.Is(err, sql.ErrNoRows) || email == "" || len(password) > 4*MaxPassword {
		s.hash.burn(ctx, password)
		s.byAccount.fail(accountKey, now)
		s.byAddress.fail(addressKey, now)
		return User{}, "", ErrBadCredentials
	}
	if err != nil {
		return User{}, "", err
	}
	if hash == "" { // a bot: it has no password and signs in only by token
		s.hash.burn(ctx, password)
		s.byAccount.fail(accountKey, now)
		s.byAddress.fail(addressKey, now)
		return User{}, "", ErrBadCredentials
	}
	ok, stale, err := s.hash.Verify(ctx, password, hash)
	if err != nil {
		return User{}, "", err
	}
	if !ok {
		s.byAccount.fail(accountKey, now)
		s.byAddress.fail(addressKey, now)
		return User{}, "", ErrBadCredentials
	}
	s.byAccount.reset(accountKey)
	var token string
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if stale {
			newHash, err := s.hash.Hash(ctx, password)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3`,
				newHash, now, u.ID); err != nil {
				return err
			}
		}
		var err error
		token, err = s.startSession(ctx, tx, u.ID, client)
		return err
	})
	return u, token, err
}

// ChangePassword replaces the password and ends every other session of the
// user: whoever knew the old one is signed out.
func (s *Service) ChangePassword(ctx context.Context, p *Principal, current, next string) error {
	var v httpx.Validator
	checkPassword(&v, "new_password", next)
	if err := v.Err(); err != nil {
		return err
	}
	var hash string
	if err := s.db.QueryRowContext(ctx, `SELECT password_hash FROM users WHERE id = $1`, p.User.ID).Scan(&hash); err != nil {
		return err
	}
	ok, _, err := s.hash.Verify(ctx, current, hash)
	if err != nil {
		return err
	}
	if !ok {
		return ErrWrongPassword
	}
	newHash, err := s.hash.Hash(ctx, next)
	if err != nil {
		return err
	}
	var ended Ended
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3`,
			newHash, s.now(), p.User.ID); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `DELETE FROM sessions WHERE user_id = $1 AND id <> $2 RETURNING id`, p.User.ID, p.SessionID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ended.SessionIDs = append(ended.SessionIDs, id)
		}
		return rows.Err()
	})
	if err != nil {
		return err
	}
	s.announceEnded(ctx, ended)
	return nil
}

// CreateBot makes an account for a program or device — a bot, a lobby TV,
// a kiosk — and its first API token. A bot has role member and no
// password: it cannot sign in, it only uses its token.
func (s *Service) CreateBot(ctx context.Context, name string) (User, string, error) {
	return s.createTokenAccount(ctx, "bot", name, false, nil)
}

// createTokenAccount makes a password-less account (a bot's or a guest's)
// and its one token, which expires at expires if given.
func (s *Service) createTokenAccount(ctx context.Context, kind, name string, guest bool, expires *time.Time) (User, string, error) {
	var v httpx.Validator
	name = checkName(&v, name)
	if err := v.Err(); err != nil {
		return User{}, "", err
	}
	id := newID()
	var (
		u      User
		secret string
	)
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		email := kind + "-" + strings.ReplaceAll(id, "-", "") + "@" + kind + "s.parley.invalid"
		if u, err = s.insertUser(ctx, tx, email, name, RoleMember, ""); err != nil {
			return err
		}
		if guest {
			if _, err = tx.ExecContext(ctx, `UPDATE users SET guest = true WHERE id = $1`, u.ID); err != nil {
				return err
			}
			u.Guest = true
		}
		var hash string
		secret, hash = newSecret(tokenPrefix)
		_, err = tx.ExecContext(ctx, `INSERT INTO api_tokens (id, user_id, name, prefix, token_hash, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, newID(), u.ID, kind, secret[:len(tokenPrefix)+6], hash, s.now(), expires)
		return err
	})
	return u, secret, err
}

// UserByEmail finds an account by email.
func (s *Service) UserByEmail(ctx context.Context, email string) (User, error) {
	return s.userWhere(ctx, `email = $1`, NormalizeEmail(email))
}

// UserByID finds an account by id.
func (s *Service) UserByID(ctx context.Context, id string) (User, error) {
	return s.userWhere(ctx, `id = $1`, id)
}

func (s *Service) userWhere(ctx context.Context, where string, arg any) (User, error) {
	var u User
	err := s.db.QueryRowContext(ctx, `SELECT id, email, name, role, created_at FROM users WHERE `+where, arg).
		Scan(&u.ID, &u.Email, &u.Name, &u.Role, &u.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrNotFound
	}
	return u, err
}

// SetRole changes a user's role. The last admin cannot be demoted, so an
// installation always has an operator.
func (s *Service) SetRole(ctx context.Context, userID string, role Role) (User, error) {
	if !role.Valid() {
		return User{}, httpx.Invalid(httpx.FieldError{Field: "role", Detail: "must be admin, agent, expert or member"})
	}
	var u User
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.lockSignups(ctx, tx); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, `SELECT id, email, name, role, created_at FROM users WHERE id = $1`, userID).
			Scan(&u.ID, &u.Email, &u.Name, &u.Role, &u.CreatedAt)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		if u.Role == RoleAdmin && role != RoleAdmin {
			var admins int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE role = 'admin'`).Scan(&admins); err != nil {
				return err
			}
			if admins <= 1 {
				return ErrLastAdmin
			}
		}
		u.Role = role
		_, err = tx.ExecContext(ctx, `UPDATE users SET role = $1, updated_at = $2 WHERE id = $3`, role, s.now(), userID)
		return err
	})
	return u, err
}

// UserHit is one result of a people search. Email is shown only to admins
// or when the searcher typed the whole address: members of a marketplace
// must not be able to harvest each other's addresses.
type UserHit struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Role  Role   `json:"role"`
	Email string `json:"email,omitempty"`
}

// SearchUsers finds people whose name contains query or whose email is
// query, ordered by name then id, starting after the cursor. It returns at
// most limit hits and, when there are more, the cursor of the next page.
func (s *Service) SearchUsers(ctx context.Context, p *Principal, query string, after UserCursor, limit int) ([]UserHit, *UserCursor, error) {
	query = strings.ToLower(strings.TrimSpace(query))
	pattern := "%" + escapeLike(query) + "%"
	rows, err := s.db.QueryContext(ctx, `SELECT id, name, role, email, lower(name) FROM users
		WHERE NOT guest AND (lower(name) LIKE $1 ESCAPE '\' OR email = $2)
		  AND (lower(name) > $3 OR (lower(name) = $3 AND id > $4))
		ORDER BY lower(name), id LIMIT $5`, pattern, query, after.Name, after.ID, limit+1)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	hits := []UserHit{}
	var keys []UserCursor
	for rows.Next() {
		var (
			h   UserHit
			key UserCursor
		)
		if err := rows.Scan(&h.ID, &h.Name, &h.Role, &h.Email, &key.Name); err != nil {
			return nil, nil, err
		}
		key.ID = h.ID
		if p.User.Role != RoleAdmin && h.Email != query {
			h.Email = ""
		}
		hits, keys = append(hits, h), append(keys, key)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	if len(hits) > limit {
		return hits[:limit], &keys[limit-1], nil
	}
	return hits, nil, nil
}

// UserCursor is the position after the last hit of a page of SearchUsers.
type UserCursor struct {
	Name string `json:"n"`
	ID   string `json:"i"`
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// HasAccounts reports whether anyone but a help-desk guest has an account:
// until someone does, the installation is waiting for its operator.
func (s *Service) HasAccounts(ctx context.Context) (bool, error) {
	var any bool
	err := s.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE NOT guest)`).Scan(&any)
	return any, err
}

// CountUsers returns how many accounts exist.
func (s *Service) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n)
	return n, err
}

// SetLastSeen records when a user's last device disconnected.
func (s *Service) SetLastSeen(ctx context.Context, userID string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE users SET last_seen_at = $1 WHERE id = $2`, db.Time(at), userID)
	return err
}

// LastSeen returns when each of userIDs was last connected, for those who
// ever were.
func (s *Service) LastSeen(ctx context.Context, userIDs []string) (map[string]time.Time, error) {
	out := make(map[string]time.Time, len(userIDs))
	for chunk := range slices.Chunk(userIDs, 500) {
		args := make([]any, len(chunk))
		ph := make([]string, len(chunk))
		for i, id := range chunk {
			args[i] = id
			ph[i] = "$" + strconv.Itoa(i+1)
		}
		rows, err := s.db.QueryContext(ctx, `SELECT id, last_seen_at FROM users
			WHERE last_seen_at IS NOT NULL AND id IN (`+strings.Join(ph, ",")+`)`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var (
				id string
				at time.Time
			)
			if err := rows.Scan(&id, &at); err != nil {
				rows.Close()
				return nil, err
			}
			out[id] = at
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}
