package app_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// Shapes and helpers the messenger's API tests share. Those tests meet the
// messenger as its users do: every exchange goes through the real server
// and is checked against api/openapi.yaml by the harness.

type person struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type conversation struct {
	ID             string    `json:"id"`
	Kind           string    `json:"kind"`
	Title          string    `json:"title"`
	CreatedBy      string    `json:"created_by"`
	LastSeq        int64     `json:"last_seq"`
	LastActivityAt time.Time `json:"last_activity_at"`
	MemberCount    int       `json:"member_count"`
	ReadSeq        int64     `json:"read_seq"`
	Unread         int       `json:"unread"`
	Role           string    `json:"role"`
	Peer           *person   `json:"peer"`
	LastMessage    *message  `json:"last_message"`
}

type member struct {
	UserID  string `json:"user_id"`
	Name    string `json:"name"`
	Role    string `json:"role"`
	ReadSeq int64  `json:"read_seq"`
}

type attachment struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	Width       int    `json:"width"`
	Height      int    `json:"height"`
}

type reaction struct {
	Emoji   string   `json:"emoji"`
	UserIDs []string `json:"user_ids"`
}

type message struct {
	ID             string       `json:"id"`
	ConversationID string       `json:"conversation_id"`
	Seq            int64        `json:"seq"`
	SenderID       string       `json:"sender_id"`
	ClientID       string       `json:"client_id"`
	Body           string       `json:"body"`
	ReplyTo        *string      `json:"reply_to"`
	Mentions       []string     `json:"mentions"`
	Attachments    []attachment `json:"attachments"`
	Reactions      []reaction   `json:"reactions"`
	EditedAt       *time.Time   `json:"edited_at"`
	Deleted        bool         `json:"deleted"`
}

type event struct {
	Seq       int64    `json:"seq"`
	Type      string   `json:"type"`
	ActorID   string   `json:"actor_id"`
	Message   *message `json:"message"`
	MessageID string   `json:"message_id"`
	UserID    string   `json:"user_id"`
	Role      string   `json:"role"`
	Emoji     string   `json:"emoji"`
	Title     string   `json:"title"`
}

type page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
	More       bool   `json:"more"`
}

func convPath(id string, rest ...string) string {
	return "/api/v1/conversations/" + strings.Join(append([]string{id}, rest...), "/")
}

func msgPath(conv, msg string, rest ...string) string {
	return convPath(conv, append([]string{"messages", msg}, rest...)...)
}

func reactionPath(conv, msg, emoji string) string {
	return msgPath(conv, msg, "reactions", url.PathEscape(emoji))
}

// direct opens the direct conversation with peer, wanting status (201 the
// first time, 200 after).
func (c *client) direct(t *testing.T, peer string, status int) conversation {
	t.Helper()
	var conv conversation
	c.do("POST", "/api/v1/conversations", map[string]any{"kind": "direct", "user_id": peer}).want(t, status).decode(t, &conv)
	return conv
}

func (c *client) group(t *testing.T, title string, members ...string) conversation {
	t.Helper()
	var conv conversation
	c.do("POST", "/api/v1/conversations", map[string]any{"kind": "group", "title": title, "members": members}).
		want(t, http.StatusCreated).decode(t, &conv)
	return conv
}

func (c *client) send(t *testing.T, conv, clientID, body string) message {
	t.Helper()
	var m message
	c.do("POST", convPath(conv, "messages"), map[string]any{"client_id": clientID, "body": body}).
		want(t, http.StatusCreated).decode(t, &m)
	return m
}

func (c *client) conversation(t *testing.T, id string) conversation {
	t.Helper()
	var conv conversation
	c.do("GET", convPath(id), nil).want(t, http.StatusOK).decode(t, &conv)
	return conv
}

func (c *client) conversations(t *testing.T) []conversation {
	t.Helper()
	var p page[conversation]
	c.do("GET", "/api/v1/conversations", nil).want(t, http.StatusOK).decode(t, &p)
	return p.Items
}

func (c *client) messages(t *testing.T, conv, query string) page[message] {
	t.Helper()
	var p page[message]
	c.do("GET", convPath(conv, "messages")+query, nil).want(t, http.StatusOK).decode(t, &p)
	return p
}

func (c *client) events(t *testing.T, conv, query string) page[event] {
	t.Helper()
	var p page[event]
	c.do("GET", convPath(conv, "events")+query, nil).want(t, http.StatusOK).decode(t, &p)
	return p
}

func (c *client) members(t *testing.T, conv string) []member {
	t.Helper()
	var p page[member]
	c.do("GET", convPath(conv, "members"), nil).want(t, http.StatusOK).decode(t, &p)
	return p.Items
}

func (c *client) search(t *testing.T, query string) page[message] {
	t.Helper()
	var p page[message]
	c.do("GET", "/api/v1/search?"+query, nil).want(t, http.StatusOK).decode(t, &p)
	return p
}

func wantFields(t *testing.T, p problem, fields ...string) {
	t.Helper()
	for _, f := range fields {
		if !slices.Contains(p.fields(), f) {
			t.Errorf("problem does not name field %q: %+v", f, p)
		}
	}
}

// rows counts the rows of the messenger's tables, to prove that refused
// requests wrote nothing.
func (e *env) rows() map[string]int {
	out := map[string]int{}
	for _, table := range []string{"conversations", "members", "messages", "events", "reactions", "attachments"} {
		out[table] = e.count(table)
	}
	return out
}

func (e *env) wantRows(t *testing.T, before map[string]int) {
	t.Helper()
	after := e.rows()
	for table, n := range before {
		if after[table] != n {
			t.Errorf("%s: %d rows, want %d: a refused request wrote something", table, after[table], n)
		}
	}
}
