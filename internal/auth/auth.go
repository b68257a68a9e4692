// Package auth owns accounts and access: users and their roles, argon2id
// passwords, server-side sessions, API tokens for programs and devices,
// invitations, sign-in throttling, and the middleware that tells every
// other package who is calling.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/parley-chat/parley/internal/db"
	"github.com/parley-chat/parley/internal/httpx"
)

//go:embed migrations
var migrationFS embed.FS

// Migrations is the accounts schema.
var Migrations = db.Migrations{Component: "auth", FS: mustSub(migrationFS, "migrations")}

// Role is what a user may do. Admin (the operator) may do everything.
type Role string

const (
	RoleAdmin  Role = "admin"
	RoleAgent  Role = "agent"
	RoleExpert Role = "expert"
	RoleMember Role = "member"
)

// Valid reports whether r is one of the four roles.
func (r Role) Valid() bool {
	switch r {
	case RoleAdmin, RoleAgent, RoleExpert, RoleMember:
		return true
	}
	return false
}

// SignupMode says who may create an account.
type SignupMode string

const (
	SignupOpen   SignupMode = "open"   // anyone
	SignupInvite SignupMode = "invite" // holders of an invite an admin made
	SignupClosed SignupMode = "closed" // only admins, with the CLI or the API
)

// Valid reports whether m is a known mode.
func (m SignupMode) Valid() bool {
	return m == SignupOpen || m == SignupInvite || m == SignupClosed
}

// Limits on what people type.
const (
	MinPassword = 10
	MaxPassword = 256
	MaxName     = 100
	MaxEmail    = 254
)

// User is an account as others see it.
type User struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	Guest     bool      `json:"guest,omitempty"` // a help-desk customer without an account
	CreatedAt time.Time `json:"created_at"`
}

// Config tunes the service; zero fields take the defaults.
type Config struct {
	SignupMode      SignupMode
	SessionIdle     time.Duration // a session unused this long ends (default 7 days)
	SessionLifetime time.Duration // no session lives longer (default 30 days)
	Argon2          Argon2Params  // default DefaultArgon2
	// Failed sign-ins allowed per account and per client address within
	// FailureWindow before answering 429 (defaults 5, 20 and 15 minutes).
	AccountFailures, AddressFailures int
	FailureWindow                    time.Duration
	Now                              func() time.Time
	// Announce, when set, hears of ended sessions and revoked tokens, so
	// that live connections made with them are closed (bus.Bus fits).
	Announce Announcer
}

// Announcer publishes a notice after a commit.
type Announcer interface {
	Publish(ctx context.Context, subject string, data []byte) error
}

// EndedSubject carries Ended notices.
const EndedSubject = "auth.ended"

// Ended lists credentials that stopped being valid.
type Ended struct {
	SessionIDs []string `json:"session_ids,omitempty"`
	TokenIDs   []string `json:"token_ids,omitempty"`
}

// announceEnded tells live connections their credentials ended. A lost
// notice leaves a connection open until it next reconnects, when the
// credential is checked again.
func (s *Service) announceEnded(ctx context.Context, e Ended) {
	if s.cfg.Announce == nil || (len(e.SessionIDs) == 0 && len(e.TokenIDs) == 0) {
		return
	}
	data, _ := json.Marshal(e)
	_ = s.cfg.Announce.Publish(context.WithoutCancel(ctx), EndedSubject, data)
}

// Service implements accounts and access on a database.
type Service struct {
	db        *db.DB
	cfg       Config
	now       func() time.Time
	hash      *hasher
	byAccount *throttle
	byAddress *throttle
}

// NewService applies the defaults to cfg and builds the service.
func NewService(d *db.DB, cfg Config) *Service {
	if cfg.SignupMode == "" {
		cfg.SignupMode = SignupOpen
	}
	if cfg.SessionIdle == 0 {
		cfg.SessionIdle = 7 * 24 * time.Hour
	}
	if cfg.SessionLifetime == 0 {
		cfg.SessionLifetime = 30 * 24 * time.Hour
	}
	if cfg.Argon2 == (Argon2Params{}) {
		cfg.Argon2 = DefaultArgon2
	}
	if cfg.AccountFailures == 0 {
		cfg.AccountFailures = 5
	}
	if cfg.AddressFailures == 0 {
		cfg.AddressFailures = 20
	}
	if cfg.FailureWindow == 0 {
		cfg.FailureWindow = 15 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{
		db:        d,
		cfg:       cfg,
		now:       func() time.Time { return db.Time(cfg.Now()) },
		hash:      newHasher(cfg.Argon2, 4),
		byAccount: newThrottle(cfg.AccountFailures, cfg.FailureWindow),
		byAddress: newThrottle(cfg.AddressFailures, cfg.FailureWindow),
	}
}

// SignupMode reports the configured mode.
func (s *Service) SignupMode() SignupMode { return s.cfg.SignupMode }

// Errors the handlers map to problems.
var (
	ErrEmailTaken      = errors.New("auth: email already registered")
	ErrBadCredentials  = errors.New("auth: wrong email or password")
	ErrSignupClosed    = errors.New("auth: sign-up is closed")
	ErrInviteRequired  = errors.New("auth: a valid invite is required")
	ErrNotFound        = errors.New("auth: not found")
	ErrWrongPassword   = errors.New("auth: current password is wrong")
	ErrLastAdmin       = errors.New("auth: the last admin cannot lose the role")
	ErrUnauthenticated = errors.New("auth: not signed in")
	ErrThrottled       = errors.New("auth: too many failed sign-ins")
)

// Invalid input is reported as an *httpx.Problem (422) listing each field,
// built with an httpx.Validator; the CLI prints the same field errors.

// ThrottledError says how long to wait before trying again.
type ThrottledError struct{ RetryAfter time.Duration }

func (e *ThrottledError) Error() string { return ErrThrottled.Error() }
func (e *ThrottledError) Unwrap() error { return ErrThrottled }

// NormalizeEmail trims and lower-cases an address and checks its form;
// it returns "" when the address is not valid.
func NormalizeEmail(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" || len(s) > MaxEmail {
		return ""
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" || !strings.Contains(s[strings.LastIndex(s, "@")+1:], ".") {
		return ""
	}
	return s
}

func checkName(v *httpx.Validator, name string) string {
	name = strings.TrimSpace(name)
	v.Check(name != "", "name", "enter a name")
	v.Check(utf8.ValidString(name) && utf8.RuneCountInString(name) <= MaxName, "name",
		fmt.Sprintf("use at most %d characters", MaxName))
	v.Check(!strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }), "name",
		"control characters are not allowed")
	return name
}

func checkPassword(v *httpx.Validator, field, pw string) {
	n := utf8.RuneCountInString(pw)
	v.Check(utf8.ValidString(pw) && n >= MinPassword && n <= MaxPassword, field,
		fmt.Sprintf("use %d to %d characters", MinPassword, MaxPassword))
}

// newID returns a UUIDv7: sortable by creation time and unique across nodes.
func newID() string { return uuid.Must(uuid.NewV7()).String() }

// newSecret returns a random token with a readable prefix, and its hash
// for storage: the database never holds a usable credential.
func newSecret(prefix string) (secret, hash string) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("auth: no randomness: " + err.Error())
	}
	secret = prefix + base64.RawURLEncoding.EncodeToString(b)
	return secret, hashSecret(secret)
}

func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// ClientInfo is what a sign-in records about the device.
type ClientInfo struct {
	UserAgent string
	IP        string
}

func (c ClientInfo) trimmed() ClientInfo {
	if len(c.UserAgent) > 256 {
		c.UserAgent = strings.ToValidUTF8(c.UserAgent[:256], "")
	}
	return c
}

// Principal is who is calling, resolved from a session cookie or a token.
type Principal struct {
	User      User
	SessionID string // set when authenticated by session
	TokenID   string // set when authenticated by API token
}

// Is reports whether the principal has one of roles; admins have all.
func (p *Principal) Is(roles ...Role) bool {
	if p.User.Role == RoleAdmin {
		return true
	}
	for _, r := range roles {
		if p.User.Role == r {
			return true
		}
	}
	return false
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the caller, or nil for an anonymous request.
func FromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}
