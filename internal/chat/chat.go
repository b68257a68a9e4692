// Package chat owns the messenger's durable state: conversations (direct
// and group), members and their read cursors, messages with replies,
// mentions, edits, tombstones and reactions, full-text search, and the
// per-conversation change log every device catches up from.
//
// Every change is committed with the conversation's next sequence number
// and only then announced on the bus; a device that missed announcements
// asks for the log after the last sequence it has, so nothing acknowledged
// is ever lost.
package chat

import (
	"context"
	"embed"
	"errors"
	"io/fs"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/parley-chat/parley/internal/db"
)

//go:embed migrations
var migrationFS embed.FS

// Migrations is the messenger's schema; it needs auth's users table.
var Migrations = db.Migrations{Component: "chat", FS: mustSub(migrationFS, "migrations")}

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return sub
}

// Limits on what people send.
const (
	MaxBodyBytes     = 16 << 10
	MaxTitle         = 200
	MaxGroupMembers  = 1000
	MaxClientID      = 64
	MaxMentions      = 100
	MaxAttachments   = 10
	MaxEmojiBytes    = 64
	DefaultPageLimit = 50
	MaxPageLimit     = 1000
)

// Kind is a conversation's kind.
type Kind string

const (
	Direct Kind = "direct"
	Group  Kind = "group"
)

// Role is a member's role in a group: admins add and remove members and
// rename the group.
type Role string

const (
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
)

// Conversation is a conversation as one member sees it.
type Conversation struct {
	ID             string    `json:"id"`
	Kind           Kind      `json:"kind"`
	Title          string    `json:"title"`
	CreatedBy      string    `json:"created_by"`
	CreatedAt      time.Time `json:"created_at"`
	LastSeq        int64     `json:"last_seq"`
	LastActivityAt time.Time `json:"last_activity_at"`
	MemberCount    int       `json:"member_count"`
	// The caller's own state in it.
	ReadSeq int64 `json:"read_seq"`
	Unread  int   `json:"unread"`
	MyRole  Role  `json:"role"`
	// For a direct conversation, the other person; for both kinds, the
	// latest message (nil when there is none).
	Peer        *Person  `json:"peer,omitempty"`
	LastMessage *Message `json:"last_message,omitempty"`
}

// Person is a member as others see them.
type Person struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Member is one member of a conversation.
type Member struct {
	UserID   string    `json:"user_id"`
	Name     string    `json:"name"`
	Role     Role      `json:"role"`
	JoinedAt time.Time `json:"joined_at"`
	ReadSeq  int64     `json:"read_seq"`
}

// Message is a message in its current state. A deleted message keeps its
// place (id, seq, sender, time) with its content removed.
type Message struct {
	ID             string       `json:"id"`
	ConversationID string       `json:"conversation_id"`
	Seq            int64        `json:"seq"`
	SenderID       string       `json:"sender_id"`
	ClientID       string       `json:"client_id"`
	Body           string       `json:"body"`
	ReplyTo        *string      `json:"reply_to"`
	Mentions       []string     `json:"mentions"`
	Attachments    []Attachment `json:"attachments"`
	Reactions      []Reaction   `json:"reactions"`
	CreatedAt      time.Time    `json:"created_at"`
	EditedAt       *time.Time   `json:"edited_at"`
	Deleted        bool         `json:"deleted"`
}

// Attachment is a file attached to a message.
type Attachment struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	Width       int    `json:"width,omitempty"`
	Height      int    `json:"height,omitempty"`
}

// Reaction is one emoji on a message and who chose it.
type Reaction struct {
	Emoji   string   `json:"emoji"`
	UserIDs []string `json:"user_ids"`
}

// Event types in the change log.
const (
	EventConversationCreated = "conversation.created"
	EventConversationUpdated = "conversation.updated"
	EventMemberAdded         = "member.added"
	EventMemberRemoved       = "member.removed"
	EventMemberUpdated       = "member.updated" // a member's role changed
	EventMessageCreated      = "message.created"
	EventMessageEdited       = "message.edited"
	EventMessageDeleted      = "message.deleted"
	EventReactionAdded       = "reaction.added"
	EventReactionRemoved     = "reaction.removed"
	EventCallStarted         = "call.started" // a call rang in the conversation
	EventCallEnded           = "call.ended"   // it ended: answered and finished, missed or declined
)

// CallSummary is what the history says of a call.
type CallSummary struct {
	ID       string `json:"id"`
	Kind     string `json:"kind"`
	Reason   string `json:"reason,omitempty"`   // on call.ended: completed, missed, declined, cancelled
	Duration int64  `json:"duration,omitempty"` // seconds, from answer to end
}

// Event is one change of a conversation, numbered by Seq. Message events
// carry the message as it is now.
type Event struct {
	ConversationID string       `json:"conversation_id"`
	Seq            int64        `json:"seq"`
	Type           string       `json:"type"`
	ActorID        string       `json:"actor_id"`
	At             time.Time    `json:"at"`
	Message        *Message     `json:"message,omitempty"`
	MessageID      string       `json:"message_id,omitempty"`
	UserID         string       `json:"user_id,omitempty"`
	Role           Role         `json:"role,omitempty"`
	Emoji          string       `json:"emoji,omitempty"`
	Title          string       `json:"title,omitempty"`
	Call           *CallSummary `json:"call,omitempty"`
}

// eventData is the small per-type payload stored with an event.
type eventData struct {
	UserID string       `json:"user_id,omitempty"`
	Role   Role         `json:"role,omitempty"`
	Emoji  string       `json:"emoji,omitempty"`
	Title  string       `json:"title,omitempty"`
	Call   *CallSummary `json:"call,omitempty"`
}

// Announcer tells other parts of the system, on this node and others,
// that something was committed. bus.Bus satisfies it.
type Announcer interface {
	Publish(ctx context.Context, subject string, data []byte) error
}

// Subject is the bus subject of a conversation's events.
func Subject(conversationID string) string { return "chat.conv." + conversationID }

// Errors the handlers map to problems.
var (
	ErrNotFound     = errors.New("chat: not found")
	ErrForbidden    = errors.New("chat: not allowed")
	ErrGroupFull    = errors.New("chat: group is full")
	ErrNotGroup     = errors.New("chat: not a group")
	ErrAlreadyThere = errors.New("chat: already a member")
)

// Service implements the messenger on a database.
// Moderator may rewrite or refuse a message's text before it is stored.
type Moderator interface {
	Moderate(ctx context.Context, userID, convID, body string) (string, error)
}

// SetModerator installs m (before serving).
func (s *Service) SetModerator(m Moderator) { s.moderator = m }

type Service struct {
	db       *db.DB
	announce Announcer
	now      func() time.Time
	onError  func(error)

	sends sendQueue  // group commit of Send
	fts   ftsIndexer // SQLite: new messages into the full-text index
	// moderator, when set, sees every text before it is stored (the
	// marketplace masks contact details in pre-session chat).
	moderator Moderator
	prepOnce  sync.Once
	// storeHook, when set (tests), runs before each message of a batch is
	// stored; an error from it is that message's.
	storeHook func(ctx context.Context, q db.Querier, r *sendReq) error
}

// NewService builds the service. Announcement failures are reported to
// onError and otherwise ignored: the change is committed, and devices
// catch up from the log.
func NewService(d *db.DB, announce Announcer, now func() time.Time, onError func(error)) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{db: d, announce: announce, now: func() time.Time { return db.Time(now()) }, onError: onError}
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }
