package auth

import (
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parley-chat/parley/internal/httpx"
)

// CookieName is the session cookie.
const CookieName = "parley_session"

// HTTP serves the accounts API and identifies callers for every route.
type HTTP struct {
	svc *Service
	// TrustedProxies may say, by X-Forwarded-Proto, that the client used
	// HTTPS; AlwaysSecure marks cookies Secure regardless (a public https URL).
	TrustedProxies []netip.Prefix
	AlwaysSecure   bool
	MaxBody        int64
	Log            *slog.Logger // where internal errors met outside a handler go
}

// NewHTTP binds handlers to the service.
func NewHTTP(svc *Service) *HTTP { return &HTTP{svc: svc, MaxBody: httpx.DefaultMaxBody} }

// Routes registers the accounts API.
func (h *HTTP) Routes(rt *httpx.Router) {
	rt.Handle("POST /api/v1/auth/signup", h.signup)
	rt.Handle("POST /api/v1/auth/login", h.login)
	rt.Handle("POST /api/v1/auth/logout", h.logout)
	rt.Handle("POST /api/v1/auth/password", h.changePassword)
	rt.Handle("GET /api/v1/me", h.me)
	rt.Handle("GET /api/v1/sessions", h.listSessions)
	rt.Handle("DELETE /api/v1/sessions/{id}", h.endSession)
	rt.Handle("GET /api/v1/tokens", h.listTokens)
	rt.Handle("POST /api/v1/tokens", h.createToken)
	rt.Handle("DELETE /api/v1/tokens/{id}", h.revokeToken)
	rt.Handle("GET /api/v1/users", h.searchUsers)
	rt.Handle("POST /api/v1/users", h.createUser)
	rt.Handle("PATCH /api/v1/users/{id}", h.updateUser)
	rt.Handle("POST /api/v1/bots", h.createBot)
	rt.Handle("GET /api/v1/invites", h.listInvites)
	rt.Handle("POST /api/v1/invites", h.createInvite)
	rt.Handle("DELETE /api/v1/invites/{id}", h.deleteInvite)
}

// Identify resolves the caller from a bearer token or the session cookie
// and puts it in the request's context. A bad bearer token is refused at
// once (a program should hear that its token is wrong); a stale cookie
// just makes the request anonymous and is cleared.
func (h *HTTP) Identify(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		authz := r.Header.Get("Authorization")
		if authz == "" {
			// A browser's WebSocket cannot send headers: a page holding a
			// token (the help widget's guest) offers it as a subprotocol.
			if tok := WebSocketToken(r); tok != "" {
				authz = "Bearer " + tok
			}
		}
		if authz != "" {
			scheme, secret, _ := strings.Cut(authz, " ")
			if !strings.EqualFold(scheme, "Bearer") {
				w.Header().Set("WWW-Authenticate", `Bearer realm="parley"`)
				httpx.WriteError(w, r, h.Log, httpx.Unauthorized("use Authorization: Bearer <token>"))
				return
			}
			p, err := h.svc.AuthenticateToken(ctx, strings.TrimSpace(secret))
			if err != nil {
				w.Header().Set("WWW-Authenticate", `Bearer realm="parley", error="invalid_token"`)
				httpx.WriteError(w, r, h.Log, mapError(err))
				return
			}
			next.ServeHTTP(w, r.WithContext(WithPrincipal(ctx, p)))
			return
		}
		if c, err := r.Cookie(CookieName); err == nil && c.Value != "" {
			p, err := h.svc.AuthenticateSession(ctx, c.Value)
			switch {
			case err == nil:
				r = r.WithContext(WithPrincipal(ctx, p))
			case errors.Is(err, ErrUnauthenticated):
				h.clearCookie(w, r)
			default:
				httpx.WriteError(w, r, h.Log, err)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// WebSocketTokenProtocol prefixes a token offered as a WebSocket
// subprotocol: new WebSocket(url, ["parley.v1", "parley.token." + token]).
const WebSocketTokenProtocol = "parley.token."

// WebSocketToken returns the token a WebSocket handshake offers as a
// subprotocol, or "".
func WebSocketToken(r *http.Request) string {
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		return ""
	}
	for _, line := range r.Header.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(line, ",") {
			if tok, ok := strings.CutPrefix(strings.TrimSpace(p), WebSocketTokenProtocol); ok {
				return tok
			}
		}
	}
	return ""
}

// Need returns the caller when it holds one of roles (any role when none
// are named; admins pass every check): 401 when anonymous, 403 otherwise.
func Need(r *http.Request, roles ...Role) (*Principal, error) {
	p := FromContext(r.Context())
	if p == nil {
		return nil, httpx.Unauthorized("sign in, or send an API token")
	}
	if p.User.Guest && !guestMay(r.Pattern) {
		return nil, httpx.Forbidden("a guest may only use its own help conversations")
	}
	if len(roles) > 0 && !p.Is(roles...) {
		return nil, httpx.Forbidden("your role does not allow this")
	}
	return p, nil
}

// mapError turns the service's errors into problems; anything unknown
// stays an internal error.
func mapError(err error) error {
	var terr *ThrottledError
	switch {
	case errors.As(err, &terr):
		return httpx.TooManyRequests(terr.RetryAfter)
	case errors.Is(err, ErrEmailTaken):
		p := httpx.Conflict("email-taken", "an account with this email already exists")
		p.Errors = []httpx.FieldError{{Field: "email", Detail: "already registered"}}
		return p
	case errors.Is(err, ErrBadCredentials):
		return httpx.NewProblem(http.StatusUnauthorized, "bad-credentials", "Sign-in failed", "wrong email or password")
	case errors.Is(err, ErrUnauthenticated):
		return httpx.Unauthorized("the session or token is not valid")
	case errors.Is(err, ErrSignupClosed):
		return httpx.NewProblem(http.StatusForbidden, "signup-closed", "Sign-up is closed",
			"ask an administrator to create your account")
	case errors.Is(err, ErrInviteRequired):
		p := httpx.NewProblem(http.StatusForbidden, "invite-required", "Invite required",
			"sign-up needs a valid, unused invite for this email address")
		p.Errors = []httpx.FieldError{{Field: "invite", Detail: "not valid"}}
		return p
	case errors.Is(err, ErrWrongPassword):
		p := httpx.NewProblem(http.StatusForbidden, "wrong-password", "Wrong password", "the current password is wrong")
		p.Errors = []httpx.FieldError{{Field: "current_password", Detail: "wrong password"}}
		return p
	case errors.Is(err, ErrLastAdmin):
		return httpx.Conflict("last-admin", "the installation's last admin cannot lose the role")
	case errors.Is(err, ErrNotFound):
		return httpx.NotFound()
	}
	return err
}

// pageParams reads the limit (default 50, at most 100) and cursor of a
// newest-first list.
func pageParams(r *http.Request) (NewestFirst, int, error) {
	var after NewestFirst
	limit, err := httpx.PageLimit(r, 50, 100)
	if err != nil {
		return after, 0, err
	}
	_, err = httpx.DecodeCursor(r, &after)
	return after, limit, err
}

func writePage[T any](w http.ResponseWriter, items []T, next *NewestFirst) error {
	page := httpx.Page[T]{Items: items}
	if next != nil {
		page.NextCursor = httpx.EncodeCursor(next)
	}
	return httpx.WriteJSON(w, http.StatusOK, page)
}

func (h *HTTP) client(r *http.Request) ClientInfo {
	return ClientInfo{UserAgent: r.UserAgent(), IP: httpx.ClientIP(r.Context()).String()}
}

func (h *HTTP) setCookie(w http.ResponseWriter, r *http.Request, secret string) {
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: secret, Path: "/",
		MaxAge:   int(h.svc.cfg.SessionLifetime / time.Second),
		HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: h.AlwaysSecure || httpx.IsHTTPS(r, h.TrustedProxies),
	})
}

func (h *HTTP) clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: h.AlwaysSecure || httpx.IsHTTPS(r, h.TrustedProxies),
	})
}

func (h *HTTP) signup(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Email    string `json:"email"`
		Name     string `json:"name"`
		Password string `json:"password"`
		Invite   string `json:"invite"`
	}
	if err := httpx.DecodeJSON(w, r, h.MaxBody, &in); err != nil {
		return err
	}
	u, secret, err := h.svc.Signup(r.Context(), SignupInput(in), h.client(r))
	if err != nil {
		return mapError(err)
	}
	h.setCookie(w, r, secret)
	return httpx.WriteJSON(w, http.StatusCreated, u)
}

func (h *HTTP) login(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := httpx.DecodeJSON(w, r, h.MaxBody, &in); err != nil {
		return err
	}
	u, secret, err := h.svc.Login(r.Context(), in.Email, in.Password, h.client(r))
	if err != nil {
		return mapError(err)
	}
	h.setCookie(w, r, secret)
	return httpx.WriteJSON(w, http.StatusOK, u)
}

func (h *HTTP) logout(w http.ResponseWriter, r *http.Request) error {
	p, err := Need(r)
	if err != nil {
		return err
	}
	if p.SessionID != "" {
		if err := h.svc.Logout(r.Context(), p.SessionID); err != nil {
			return err
		}
	}
	h.clearCookie(w, r)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *HTTP) changePassword(w http.ResponseWriter, r *http.Request) error {
	p, err := Need(r)
	if err != nil {
		return err
	}
	var in struct {
		Current string `json:"current_password"`
		New     string `json:"new_password"`
	}
	if err := httpx.DecodeJSON(w, r, h.MaxBody, &in); err != nil {
		return err
	}
	if err := h.svc.ChangePassword(r.Context(), p, in.Current, in.New); err != nil {
		return mapError(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *HTTP) me(w http.ResponseWriter, r *http.Request) error {
	p, err := Need(r)
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, p.User)
}

func (h *HTTP) listSessions(w http.ResponseWriter, r *http.Request) error {
	p, err := Need(r)
	if err != nil {
		return err
	}
	after, limit, err := pageParams(r)
	if err != nil {
		return err
	}
	list, next, err := h.svc.ListSessions(r.Context(), p, after, limit)
	if err != nil {
		return err
	}
	return writePage(w, list, next)
}

func (h *HTTP) endSession(w http.ResponseWriter, r *http.Request) error {
	p, err := Need(r)
	if err != nil {
		return err
	}
	if err := h.svc.EndSession(r.Context(), p, r.PathValue("id")); err != nil {
		return mapError(err)
	}
	if r.PathValue("id") == p.SessionID {
		h.clearCookie(w, r)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *HTTP) listTokens(w http.ResponseWriter, r *http.Request) error {
	p, err := Need(r)
	if err != nil {
		return err
	}
	after, limit, err := pageParams(r)
	if err != nil {
		return err
	}
	list, next, err := h.svc.ListTokens(r.Context(), p.User.ID, after, limit)
	if err != nil {
		return err
	}
	return writePage(w, list, next)
}

func (h *HTTP) createToken(w http.ResponseWriter, r *http.Request) error {
	p, err := Need(r)
	if err != nil {
		return err
	}
	var in struct {
		Name      string     `json:"name"`
		ExpiresAt *time.Time `json:"expires_at"`
	}
	if err := httpx.DecodeJSON(w, r, h.MaxBody, &in); err != nil {
		return err
	}
	t, secret, err := h.svc.CreateToken(r.Context(), p.User.ID, in.Name, in.ExpiresAt)
	if err != nil {
		return mapError(err)
	}
	return httpx.WriteJSON(w, http.StatusCreated, struct {
		Token
		Secret string `json:"token"`
	}{t, secret})
}

func (h *HTTP) revokeToken(w http.ResponseWriter, r *http.Request) error {
	p, err := Need(r)
	if err != nil {
		return err
	}
	if err := h.svc.RevokeToken(r.Context(), p.User.ID, r.PathValue("id")); err != nil {
		return mapError(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *HTTP) searchUsers(w http.ResponseWriter, r *http.Request) error {
	p, err := Need(r)
	if err != nil {
		return err
	}
	limit, err := httpx.PageLimit(r, 20, 100)
	if err != nil {
		return err
	}
	var after UserCursor
	if _, err := httpx.DecodeCursor(r, &after); err != nil {
		return err
	}
	query := r.URL.Query().Get("query")
	if utf8.RuneCountInString(query) > MaxEmail {
		return httpx.Invalid(httpx.FieldError{Field: "query", Detail: "use at most 254 characters"})
	}
	hits, next, err := h.svc.SearchUsers(r.Context(), p, query, after, limit)
	if err != nil {
		return err
	}
	page := httpx.Page[UserHit]{Items: hits}
	if next != nil {
		page.NextCursor = httpx.EncodeCursor(next)
	}
	return httpx.WriteJSON(w, http.StatusOK, page)
}

func (h *HTTP) createUser(w http.ResponseWriter, r *http.Request) error {
	if _, err := Need(r, RoleAdmin); err != nil {
		return err
	}
	var in struct {
		Email    string `json:"email"`
		Name     string `json:"name"`
		Password string `json:"password"`
		Role     Role   `json:"role"`
	}
	if err := httpx.DecodeJSON(w, r, h.MaxBody, &in); err != nil {
		return err
	}
	if in.Role == "" {
		in.Role = RoleMember
	}
	u, err := h.svc.CreateUser(r.Context(), in.Email, in.Name, in.Password, in.Role)
	if err != nil {
		return mapError(err)
	}
	return httpx.WriteJSON(w, http.StatusCreated, u)
}

func (h *HTTP) updateUser(w http.ResponseWriter, r *http.Request) error {
	if _, err := Need(r, RoleAdmin); err != nil {
		return err
	}
	var in struct {
		Role Role `json:"role"`
	}
	if err := httpx.DecodeJSON(w, r, h.MaxBody, &in); err != nil {
		return err
	}
	u, err := h.svc.SetRole(r.Context(), r.PathValue("id"), in.Role)
	if err != nil {
		return mapError(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, u)
}

func (h *HTTP) createBot(w http.ResponseWriter, r *http.Request) error {
	if _, err := Need(r, RoleAdmin); err != nil {
		return err
	}
	var in struct {
		Name string `json:"name"`
	}
	if err := httpx.DecodeJSON(w, r, h.MaxBody, &in); err != nil {
		return err
	}
	u, secret, err := h.svc.CreateBot(r.Context(), in.Name)
	if err != nil {
		return mapError(err)
	}
	return httpx.WriteJSON(w, http.StatusCreated, struct {
		User  User   `json:"user"`
		Token string `json:"token"`
	}{u, secret})
}

func (h *HTTP) listInvites(w http.ResponseWriter, r *http.Request) error {
	if _, err := Need(r, RoleAdmin); err != nil {
		return err
	}
	after, limit, err := pageParams(r)
	if err != nil {
		return err
	}
	list, next, err := h.svc.ListInvites(r.Context(), after, limit)
	if err != nil {
		return err
	}
	return writePage(w, list, next)
}

func (h *HTTP) createInvite(w http.ResponseWriter, r *http.Request) error {
	p, err := Need(r, RoleAdmin)
	if err != nil {
		return err
	}
	var in struct {
		Role           Role   `json:"role"`
		Email          string `json:"email"`
		ExpiresInHours int    `json:"expires_in_hours"`
	}
	if err := httpx.DecodeJSON(w, r, h.MaxBody, &in); err != nil {
		return err
	}
	if in.ExpiresInHours < 0 || in.ExpiresInHours > 90*24 {
		return httpx.Invalid(httpx.FieldError{Field: "expires_in_hours", Detail: "must be from 1 hour to 90 days"})
	}
	inv, secret, err := h.svc.CreateInvite(r.Context(), p, in.Role, in.Email, time.Duration(in.ExpiresInHours)*time.Hour)
	if err != nil {
		return mapError(err)
	}
	return httpx.WriteJSON(w, http.StatusCreated, struct {
		Invite
		Secret string `json:"token"`
		Path   string `json:"path"`
	}{inv, secret, "/?invite=" + secret})
}

func (h *HTTP) deleteInvite(w http.ResponseWriter, r *http.Request) error {
	if _, err := Need(r, RoleAdmin); err != nil {
		return err
	}
	if err := h.svc.DeleteInvite(r.Context(), r.PathValue("id")); err != nil {
		return mapError(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
