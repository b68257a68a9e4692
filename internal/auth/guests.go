package auth

import (
	"context"
	"sync"
	"time"
)

// GuestTokenLifetime bounds a guest's token: long enough for a wait, a
// session and the rating after it.
const GuestTokenLifetime = 24 * time.Hour

// guestRoutes are the API routes a guest may call: its own conversations,
// messages and calls, the WebSocket, and its help requests. Everything
// else — people search, new conversations, tokens, administration — is 403,
// so a guest token handed to a web page reaches nothing but the help it
// asked for.
var guestRoutes = map[string]bool{
	"GET /api/v1/me":                                                         true,
	"GET /api/v1/ws":                                                         true,
	"GET /api/v1/conversations":                                              true,
	"GET /api/v1/conversations/{id}":                                         true,
	"GET /api/v1/conversations/{id}/members":                                 true,
	"GET /api/v1/conversations/{id}/messages":                                true,
	"POST /api/v1/conversations/{id}/messages":                               true,
	"PATCH /api/v1/conversations/{id}/messages/{message}":                    true,
	"DELETE /api/v1/conversations/{id}/messages/{message}":                   true,
	"PUT /api/v1/conversations/{id}/messages/{message}/reactions/{emoji}":    true,
	"DELETE /api/v1/conversations/{id}/messages/{message}/reactions/{emoji}": true,
	"POST /api/v1/conversations/{id}/read":                                   true,
	"GET /api/v1/conversations/{id}/events":                                  true,
	"POST /api/v1/conversations/{id}/attachments":                            true,
	"GET /api/v1/attachments/{id}":                                           true,
	"GET /api/v1/calls/{id}":                                                 true,
	"POST /api/v1/calls/{id}/join":                                           true,
	"POST /api/v1/calls/{id}/decline":                                        true,
	"POST /api/v1/calls/{id}/leave":                                          true,
	"POST /api/v1/calls/{id}/end":                                            true,
}

// guestMu guards guestRoutes: servers built in parallel (tests) add the
// desk's routes while others serve.
var guestMu sync.RWMutex

// AllowGuests adds routes a guest may call (the help desk's own).
func AllowGuests(patterns ...string) {
	guestMu.Lock()
	defer guestMu.Unlock()
	for _, p := range patterns {
		guestRoutes[p] = true
	}
}

func guestMay(pattern string) bool {
	guestMu.RLock()
	defer guestMu.RUnlock()
	return guestRoutes[pattern]
}

// CreateGuest makes a guest account and its token, valid for
// GuestTokenLifetime. Guests never appear in people search.
func (s *Service) CreateGuest(ctx context.Context, name string) (User, string, error) {
	expires := s.now().Add(GuestTokenLifetime)
	return s.createTokenAccount(ctx, "guest", name, true, &expires)
}
