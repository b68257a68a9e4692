// Package client is the Go SDK for Parley's HTTP API and realtime gateway.
// Bots, devices (a TV, a kiosk), the load generator and Parley's own tests
// use it: sign in or use an API token, call the REST API, and hold a
// Stream that receives events live and, after any disconnection, resumes
// from its cursors so that no event is missed or seen twice.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client talks to one Parley server as one account.
type Client struct {
	base  *url.URL
	http  *http.Client
	token string
}

// Option configures a Client.
type Option func(*Client)

// WithToken authenticates with an API token instead of signing in.
func WithToken(token string) Option { return func(c *Client) { c.token = token } }

// WithHTTPClient replaces the HTTP client (its Jar is replaced by the
// client's own cookie jar when it has none).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// New returns a client for the server at baseURL (e.g. http://localhost:8080).
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimSuffix(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("client: base URL %q: want http(s)://host[:port]", baseURL)
	}
	c := &Client{base: u, http: &http.Client{Timeout: 30 * time.Second}}
	for _, o := range opts {
		o(c)
	}
	if c.http.Jar == nil {
		jar, _ := cookiejar.New(nil)
		c.http.Jar = jar
	}
	return c, nil
}

// Error is a problem the server answered with (RFC 9457).
type Error struct {
	Status    int          `json:"status"`
	Type      string       `json:"type"`
	Title     string       `json:"title"`
	Detail    string       `json:"detail"`
	RequestID string       `json:"request_id"`
	Errors    []FieldError `json:"errors"`
}

// FieldError names one invalid field.
type FieldError struct {
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("parley: %d %s: %s (request %s)", e.Status, e.Title, e.Detail, e.RequestID)
}

// Slug is the stable part of the problem type, e.g. "not-found".
func (e *Error) Slug() string { return strings.TrimPrefix(e.Type, "urn:parley:problem:") }

// IsStatus reports whether err is a server answer with that status.
func IsStatus(err error, status int) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == status
}

// do sends a JSON request and decodes a JSON answer into out (when not nil).
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) (int, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, err
		}
		body = bytes.NewReader(b)
	}
	u := *c.base
	u.Path += path
	u.RawQuery = query.Encode()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return 0, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	// A cookie session must show our origin on unsafe requests, as a
	// browser would.
	req.Header.Set("Origin", c.base.Scheme+"://"+c.base.Host)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if res.StatusCode >= 400 {
		e := &Error{Status: res.StatusCode, Title: res.Status}
		_ = json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(e)
		return res.StatusCode, e
	}
	if out != nil && res.StatusCode != http.StatusNoContent {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			return res.StatusCode, fmt.Errorf("client: decode %s %s: %w", method, path, err)
		}
	}
	return res.StatusCode, nil
}

// User is an account.
type User struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"created_at"`
}

// Signup creates an account and signs in as it.
func (c *Client) Signup(ctx context.Context, email, name, password string) (User, error) {
	var u User
	_, err := c.do(ctx, "POST", "/api/v1/auth/signup", nil,
		map[string]string{"email": email, "name": name, "password": password}, &u)
	return u, err
}

// Login signs in; the session cookie is kept for later calls.
func (c *Client) Login(ctx context.Context, email, password string) (User, error) {
	var u User
	_, err := c.do(ctx, "POST", "/api/v1/auth/login", nil, map[string]string{"email": email, "password": password}, &u)
	return u, err
}

// Me returns the signed-in account.
func (c *Client) Me(ctx context.Context) (User, error) {
	var u User
	_, err := c.do(ctx, "GET", "/api/v1/me", nil, nil, &u)
	return u, err
}

// CreateToken makes an API token and returns its secret.
func (c *Client) CreateToken(ctx context.Context, name string) (string, error) {
	var out struct {
		Token string `json:"token"`
	}
	_, err := c.do(ctx, "POST", "/api/v1/tokens", nil, map[string]string{"name": name}, &out)
	return out.Token, err
}

// Conversation is a conversation as the caller sees it.
type Conversation struct {
	ID             string    `json:"id"`
	Kind           string    `json:"kind"`
	Title          string    `json:"title"`
	LastSeq        int64     `json:"last_seq"`
	LastActivityAt time.Time `json:"last_activity_at"`
	MemberCount    int       `json:"member_count"`
	ReadSeq        int64     `json:"read_seq"`
	Unread         int       `json:"unread"`
	Role           string    `json:"role"`
	LastMessage    *Message  `json:"last_message"`
}

// Message is a message in its current state.
type Message struct {
	ID             string     `json:"id"`
	ConversationID string     `json:"conversation_id"`
	Seq            int64      `json:"seq"`
	SenderID       string     `json:"sender_id"`
	ClientID       string     `json:"client_id"`
	Body           string     `json:"body"`
	ReplyTo        *string    `json:"reply_to"`
	Mentions       []string   `json:"mentions"`
	CreatedAt      time.Time  `json:"created_at"`
	EditedAt       *time.Time `json:"edited_at"`
	Deleted        bool       `json:"deleted"`
	Reactions      []struct {
		Emoji   string   `json:"emoji"`
		UserIDs []string `json:"user_ids"`
	} `json:"reactions"`
}

// Event is one change of a conversation, numbered by Seq.
type Event struct {
	ConversationID string    `json:"conversation_id"`
	Seq            int64     `json:"seq"`
	Type           string    `json:"type"`
	ActorID        string    `json:"actor_id"`
	At             time.Time `json:"at"`
	Message        *Message  `json:"message,omitempty"`
	MessageID      string    `json:"message_id,omitempty"`
	UserID         string    `json:"user_id,omitempty"`
	Emoji          string    `json:"emoji,omitempty"`
	Title          string    `json:"title,omitempty"`
}

// OpenDirect returns the direct conversation with userID, creating it.
func (c *Client) OpenDirect(ctx context.Context, userID string) (Conversation, error) {
	var conv Conversation
	_, err := c.do(ctx, "POST", "/api/v1/conversations", nil, map[string]string{"kind": "direct", "user_id": userID}, &conv)
	return conv, err
}

// CreateGroup makes a group with the caller as admin.
func (c *Client) CreateGroup(ctx context.Context, title string, members []string) (Conversation, error) {
	var conv Conversation
	_, err := c.do(ctx, "POST", "/api/v1/conversations", nil, map[string]any{"kind": "group", "title": title, "members": members}, &conv)
	return conv, err
}

// Conversations lists every conversation of the caller, most recent first.
func (c *Client) Conversations(ctx context.Context) ([]Conversation, error) {
	var all []Conversation
	q := url.Values{"limit": {"200"}}
	for {
		var page struct {
			Items      []Conversation `json:"items"`
			NextCursor string         `json:"next_cursor"`
		}
		if _, err := c.do(ctx, "GET", "/api/v1/conversations", q, nil, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Items...)
		if page.NextCursor == "" {
			return all, nil
		}
		q.Set("cursor", page.NextCursor)
	}
}

// Send posts a message over HTTP. Retrying with the same clientID is safe:
// the server returns the first message instead of storing a second.
func (c *Client) Send(ctx context.Context, convID, clientID, body string) (Message, error) {
	var m Message
	_, err := c.do(ctx, "POST", "/api/v1/conversations/"+url.PathEscape(convID)+"/messages", nil,
		map[string]string{"client_id": clientID, "body": body}, &m)
	return m, err
}

// Events returns up to limit events of a conversation after seq, and
// whether more follow.
func (c *Client) Events(ctx context.Context, convID string, after int64, limit int) ([]Event, bool, error) {
	var page struct {
		Items []Event `json:"items"`
		More  bool    `json:"more"`
	}
	q := url.Values{"after": {strconv.FormatInt(after, 10)}, "limit": {strconv.Itoa(limit)}}
	_, err := c.do(ctx, "GET", "/api/v1/conversations/"+url.PathEscape(convID)+"/events", q, nil, &page)
	return page.Items, page.More, err
}

// MarkRead moves the read cursor of a conversation.
func (c *Client) MarkRead(ctx context.Context, convID string, seq int64) (int64, error) {
	var out struct {
		ReadSeq int64 `json:"read_seq"`
	}
	_, err := c.do(ctx, "POST", "/api/v1/conversations/"+url.PathEscape(convID)+"/read", nil, map[string]int64{"seq": seq}, &out)
	return out.ReadSeq, err
}

// RemoveMember takes userID out of a group (or, with one's own id, leaves).
func (c *Client) RemoveMember(ctx context.Context, convID, userID string) error {
	_, err := c.do(ctx, "DELETE", "/api/v1/conversations/"+url.PathEscape(convID)+"/members/"+url.PathEscape(userID), nil, nil, nil)
	return err
}

// Logout ends the session (a token stays valid until revoked).
func (c *Client) Logout(ctx context.Context) error {
	_, err := c.do(ctx, "POST", "/api/v1/auth/logout", nil, nil, nil)
	return err
}

// Call is a call in a conversation.
type Call struct {
	ID             string `json:"id"`
	ConversationID string `json:"conversation_id"`
	Kind           string `json:"kind"`
	OneWay         bool   `json:"one_way"`
	State          string `json:"state"`
	EndReason      string `json:"end_reason"`
	Members        []struct {
		UserID string `json:"user_id"`
		Role   string `json:"role"`
		State  string `json:"state"`
	} `json:"members"`
}

// StartCall rings the other members of a conversation; kind is "voice"
// or "video".
func (c *Client) StartCall(ctx context.Context, convID, kind string) (Call, error) {
	return c.startCall(ctx, convID, map[string]string{"kind": kind})
}

// StartHelpCall starts a one-way help call in which the caller has role
// ("helper" or "customer") and everyone else the other one.
func (c *Client) StartHelpCall(ctx context.Context, convID, role string) (Call, error) {
	return c.startCall(ctx, convID, map[string]string{"kind": "help", "role": role})
}

func (c *Client) startCall(ctx context.Context, convID string, body map[string]string) (Call, error) {
	var call Call
	_, err := c.do(ctx, "POST", "/api/v1/conversations/"+url.PathEscape(convID)+"/calls", nil, body, &call)
	return call, err
}

// CallAction joins, declines, leaves or ends a call (action is one of
// "join", "decline", "leave", "end").
func (c *Client) CallAction(ctx context.Context, callID, action string) (Call, error) {
	var call Call
	_, err := c.do(ctx, "POST", "/api/v1/calls/"+url.PathEscape(callID)+"/"+action, nil, nil, &call)
	return call, err
}
