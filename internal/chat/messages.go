package chat

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parley-chat/parley/internal/db"
	"github.com/parley-chat/parley/internal/httpx"
)

// SendInput is a message as a device sends it. ClientID is chosen by the
// device and makes retries safe: the same (sender, conversation, ClientID)
// always yields the first message sent with it.
type SendInput struct {
	ClientID    string   `json:"client_id"`
	Body        string   `json:"body"`
	ReplyTo     string   `json:"reply_to,omitempty"`
	Mentions    []string `json:"mentions,omitempty"`
	Attachments []string `json:"attachments,omitempty"`
}

func validClientID(id string) bool {
	if id == "" || len(id) > MaxClientID {
		return false
	}
	for _, c := range id {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_.:", c)
		if !ok {
			return false
		}
	}
	return true
}

func checkBody(v *httpx.Validator, body string, required bool) {
	v.Check(len(body) <= MaxBodyBytes, "body", fmt.Sprintf("a message holds at most %d bytes", MaxBodyBytes))
	v.Check(utf8.ValidString(body), "body", "must be valid UTF-8")
	v.Check(!strings.ContainsRune(body, 0), "body", "must not contain NUL characters")
	v.Check(!required || strings.TrimSpace(body) != "", "body", "write something")
}

// Send stores a message and returns it with its sequence number; created is
// false when this was a retry of a message already stored. Concurrent sends
// are committed together (sendbatch.go); Send returns once its message is
// committed and announced.
func (s *Service) Send(ctx context.Context, userID, convID string, in SendInput) (Message, bool, error) {
	var v httpx.Validator
	v.Check(validClientID(in.ClientID), "client_id", "1 to 64 letters, digits, '-', '_', '.' or ':'")
	checkBody(&v, in.Body, len(in.Attachments) == 0)
	v.Check(len(in.Mentions) <= MaxMentions, "mentions", fmt.Sprintf("at most %d", MaxMentions))
	v.Check(len(in.Attachments) <= MaxAttachments, "attachments", fmt.Sprintf("at most %d", MaxAttachments))
	if err := v.Err(); err != nil {
		return Message{}, false, err
	}
	if s.moderator != nil && in.Body != "" {
		var err error
		if in.Body, err = s.moderator.Moderate(ctx, userID, convID, in.Body); err != nil {
			return Message{}, false, err
		}
	}
	return s.sendBatched(ctx, &sendReq{ctx: ctx, userID: userID, convID: convID, in: in, done: make(chan struct{})})
}

func (s *Service) checkMentions(ctx context.Context, tx db.Querier, convID string, ids []string) ([]string, error) {
	out := slices.Clone(ids)
	slices.Sort(out)
	out = slices.Compact(out)
	for _, id := range out {
		if _, _, err := membership(ctx, tx, convID, id); err != nil {
			if errors.Is(err, ErrNotFound) {
				return nil, httpx.Invalid(httpx.FieldError{Field: "mentions", Detail: "not a member of this conversation: " + id})
			}
			return nil, err
		}
	}
	if out == nil {
		out = []string{}
	}
	return out, nil
}

func (s *Service) byClientID(ctx context.Context, convID, senderID, clientID string) (Message, error) {
	// No ORDER BY: there is at most one row, and without one PostgreSQL
	// takes the unique (conversation, sender, client id) index instead of
	// walking the conversation by seq (seen on a fresh, unanalysed table).
	msgs, err := s.loadMessages(ctx, s.db, `SELECT `+messageColumns+` FROM messages m
		WHERE m.conversation_id = $1 AND m.sender_id = $2 AND m.client_id = $3`, convID, senderID, clientID)
	if err != nil {
		return Message{}, err
	}
	if len(msgs) == 0 {
		return Message{}, ErrNotFound
	}
	return msgs[0], nil
}

// messagesWhere loads messages matching a condition on "m", ordered by
// seq, with their reactions.
func (s *Service) messagesWhere(ctx context.Context, where string, args ...any) ([]Message, error) {
	return s.loadMessages(ctx, s.db, `SELECT `+messageColumns+` FROM messages m WHERE `+where+` ORDER BY m.seq`, args...)
}

const messageColumns = `m.id, m.conversation_id, m.seq, m.sender_id, m.client_id, m.body, m.reply_to,
	m.mentions, m.attachments, m.created_at, m.edited_at, m.deleted_at`

func (s *Service) loadMessages(ctx context.Context, q db.Querier, query string, args ...any) ([]Message, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Message{}
	for rows.Next() {
		var (
			m                     Message
			replyTo               sql.NullString
			mentions, attachments string
			edited, deleted       sql.NullTime
		)
		if err := rows.Scan(&m.ID, &m.ConversationID, &m.Seq, &m.SenderID, &m.ClientID, &m.Body, &replyTo,
			&mentions, &attachments, &m.CreatedAt, &edited, &deleted); err != nil {
			return nil, err
		}
		if replyTo.Valid {
			m.ReplyTo = &replyTo.String
		}
		if edited.Valid {
			m.EditedAt = &edited.Time
		}
		m.Deleted = deleted.Valid
		if err := json.Unmarshal([]byte(mentions), &m.Mentions); err != nil {
			return nil, fmt.Errorf("chat: message %s mentions: %w", m.ID, err)
		}
		if err := json.Unmarshal([]byte(attachments), &m.Attachments); err != nil {
			return nil, fmt.Errorf("chat: message %s attachments: %w", m.ID, err)
		}
		m.Reactions = []Reaction{}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	return out, s.loadReactions(ctx, q, out)
}

func (s *Service) loadReactions(ctx context.Context, q db.Querier, msgs []Message) error {
	if len(msgs) == 0 {
		return nil
	}
	index := make(map[string]*Message, len(msgs))
	for chunk := range slices.Chunk(msgs, 500) {
		args := make([]any, len(chunk))
		ph := make([]string, len(chunk))
		for i := range chunk {
			index[chunk[i].ID] = &chunk[i]
			args[i] = chunk[i].ID
			ph[i] = fmt.Sprintf("$%d", i+1)
		}
		rows, err := q.QueryContext(ctx, `SELECT message_id, emoji, user_id FROM reactions
			WHERE message_id IN (`+strings.Join(ph, ",")+`) ORDER BY message_id, created_at, emoji, user_id`, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id, emoji, user string
			if err := rows.Scan(&id, &emoji, &user); err != nil {
				rows.Close()
				return err
			}
			m := index[id]
			i := slices.IndexFunc(m.Reactions, func(r Reaction) bool { return r.Emoji == emoji })
			if i < 0 {
				m.Reactions = append(m.Reactions, Reaction{Emoji: emoji})
				i = len(m.Reactions) - 1
			}
			m.Reactions[i].UserIDs = append(m.Reactions[i].UserIDs, user)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// MessagePage selects messages by sequence: After and Before are
// exclusive bounds (0 means none). With Before set and no After, the page
// is the newest messages before it — scrolling back.
type MessagePage struct {
	After, Before int64
	Limit         int
}

// Messages returns a page of a conversation's messages, oldest first.
func (s *Service) Messages(ctx context.Context, userID, convID string, p MessagePage) ([]Message, bool, error) {
	if _, _, err := membership(ctx, s.db, convID, userID); err != nil {
		return nil, false, err
	}
	before := p.Before
	if before <= 0 {
		before = 1 << 62
	}
	cols := messageColumns
	var (
		msgs []Message
		err  error
	)
	if p.Before > 0 && p.After == 0 {
		msgs, err = s.loadMessages(ctx, s.db, `SELECT `+cols+` FROM messages m
			WHERE m.conversation_id = $1 AND m.seq < $2 ORDER BY m.seq DESC LIMIT $3`, convID, before, p.Limit+1)
		slices.Reverse(msgs)
		if len(msgs) > p.Limit {
			return msgs[1:], true, err
		}
		return msgs, false, err
	}
	msgs, err = s.loadMessages(ctx, s.db, `SELECT `+cols+` FROM messages m
		WHERE m.conversation_id = $1 AND m.seq > $2 AND m.seq < $3 ORDER BY m.seq LIMIT $4`, convID, p.After, before, p.Limit+1)
	if len(msgs) > p.Limit {
		return msgs[:p.Limit], true, err
	}
	return msgs, false, err
}

// Events returns the change log of a conversation after seq, oldest first,
// and whether more follow. Message events carry the message as it is now.
func (s *Service) Events(ctx context.Context, userID, convID string, after int64, limit int, filter ...EventFilter) ([]Event, bool, error) {
	if _, _, err := membership(ctx, s.db, convID, userID); err != nil {
		return nil, false, err
	}
	query, args := `SELECT seq, type, actor_id, message_id, data, created_at FROM events
		WHERE conversation_id = $1 AND seq > $2`, []any{convID, after}
	for _, f := range filter {
		if f.Before > 0 {
			args = append(args, f.Before)
			query += fmt.Sprintf(" AND seq < $%d", len(args))
		}
		if len(f.Types) > 0 {
			ph := make([]string, len(f.Types))
			for i, t := range f.Types {
				args = append(args, t)
				ph[i] = fmt.Sprintf("$%d", len(args))
			}
			query += " AND type IN (" + strings.Join(ph, ", ") + ")"
		}
	}
	args = append(args, limit+1)
	rows, err := s.db.QueryContext(ctx, query+fmt.Sprintf(" ORDER BY seq LIMIT $%d", len(args)), args...)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	out := []Event{}
	for rows.Next() {
		var (
			ev        = Event{ConversationID: convID}
			messageID sql.NullString
			data      string
			d         eventData
		)
		if err := rows.Scan(&ev.Seq, &ev.Type, &ev.ActorID, &messageID, &data, &ev.At); err != nil {
			return nil, false, err
		}
		if err := json.Unmarshal([]byte(data), &d); err != nil {
			return nil, false, fmt.Errorf("chat: event %s/%d: %w", convID, ev.Seq, err)
		}
		ev.MessageID, ev.UserID, ev.Role, ev.Emoji, ev.Title, ev.Call = messageID.String, d.UserID, d.Role, d.Emoji, d.Title, d.Call
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	rows.Close()
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	return out, more, s.renderMessages(ctx, convID, out)
}

// renderMessages fills in the current state of the messages that events
// refer to.
func (s *Service) renderMessages(ctx context.Context, convID string, events []Event) error {
	var ids []string
	for _, ev := range events {
		if strings.HasPrefix(ev.Type, "message.") && ev.MessageID != "" {
			ids = append(ids, ev.MessageID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	byID := map[string]*Message{}
	for chunk := range slices.Chunk(ids, 500) {
		args := []any{convID}
		ph := make([]string, len(chunk))
		for i, id := range chunk {
			args = append(args, id)
			ph[i] = fmt.Sprintf("$%d", i+2)
		}
		msgs, err := s.messagesWhere(ctx, `m.conversation_id = $1 AND m.id IN (`+strings.Join(ph, ",")+`)`, args...)
		if err != nil {
			return err
		}
		for i := range msgs {
			byID[msgs[i].ID] = &msgs[i]
		}
	}
	for i := range events {
		if m, ok := byID[events[i].MessageID]; ok && strings.HasPrefix(events[i].Type, "message.") {
			events[i].Message = m
		}
	}
	return nil
}

// ownMessage loads a message for a change by its sender.
func (s *Service) ownMessage(ctx context.Context, tx *sql.Tx, userID, convID, messageID string) (Message, error) {
	if _, _, err := membership(ctx, tx, convID, userID); err != nil {
		return Message{}, err
	}
	msgs, err := s.loadMessages(ctx, tx, `SELECT `+messageColumns+`
		FROM messages m WHERE m.id = $1 AND m.conversation_id = $2`, messageID, convID)
	if err != nil {
		return Message{}, err
	}
	if len(msgs) == 0 {
		return Message{}, ErrNotFound
	}
	if msgs[0].SenderID != userID {
		return Message{}, ErrForbidden
	}
	if msgs[0].Deleted {
		return Message{}, ErrNotFound
	}
	return msgs[0], nil
}

// EventFilter narrows Events: only before a seq (0: no bound), only these
// types (none: all).
type EventFilter struct {
	Before int64
	Types  []string
}

// KnownEventType reports whether t names an event type.
func KnownEventType(t string) bool {
	switch t {
	case EventConversationCreated, EventConversationUpdated, EventMemberAdded, EventMemberRemoved, EventMemberUpdated,
		EventMessageCreated, EventMessageEdited, EventMessageDeleted, EventReactionAdded, EventReactionRemoved,
		EventCallStarted, EventCallEnded:
		return true
	}
	return false
}

// Edit replaces the text of one's own message.
func (s *Service) Edit(ctx context.Context, userID, convID, messageID, body string) (Message, error) {
	var v httpx.Validator
	checkBody(&v, body, true)
	if err := v.Err(); err != nil {
		return Message{}, err
	}
	if s.moderator != nil {
		var err error
		if body, err = s.moderator.Moderate(ctx, userID, convID, body); err != nil {
			return Message{}, err
		}
	}
	var msg Message
	err := s.write(ctx, func(tx *sql.Tx, out *committed) error {
		var err error
		if msg, err = s.ownMessage(ctx, tx, userID, convID, messageID); err != nil {
			return err
		}
		now := s.now()
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET body = $1, edited_at = $2 WHERE id = $3`, body, now, messageID); err != nil {
			return err
		}
		msg.Body, msg.EditedAt = body, &now
		ev, err := s.appendEvent(ctx, tx, Event{ConversationID: convID, Type: EventMessageEdited, ActorID: userID, At: now, MessageID: messageID, Message: &msg}, false)
		out.events = append(out.events, ev)
		return err
	})
	if err != nil {
		return Message{}, err
	}
	return msg, nil
}

// Delete turns one's own message into a tombstone: its place in the
// conversation stays, its text, mentions, attachments and reactions go.
func (s *Service) Delete(ctx context.Context, userID, convID, messageID string) error {
	err := s.write(ctx, func(tx *sql.Tx, out *committed) error {
		msg, err := s.ownMessage(ctx, tx, userID, convID, messageID)
		if err != nil {
			return err
		}
		now := s.now()
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET body = '', mentions = '[]', attachments = '[]', deleted_at = $1
			WHERE id = $2`, now, messageID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM reactions WHERE message_id = $1`, messageID); err != nil {
			return err
		}
		msg.Body, msg.Mentions, msg.Attachments, msg.Reactions, msg.Deleted = "", []string{}, []Attachment{}, []Reaction{}, true
		ev, err := s.appendEvent(ctx, tx, Event{ConversationID: convID, Type: EventMessageDeleted, ActorID: userID, At: now, MessageID: messageID, Message: &msg}, false)
		out.events = append(out.events, ev)
		return err
	})
	if err != nil {
		return err
	}
	return nil
}

func checkEmoji(emoji string) error {
	ok := emoji != "" && len(emoji) <= MaxEmojiBytes && utf8.ValidString(emoji) &&
		!strings.ContainsFunc(emoji, func(r rune) bool { return r < 0x20 || r == 0x7f || r == ' ' })
	if !ok {
		return httpx.Invalid(httpx.FieldError{Field: "emoji", Detail: "one emoji, at most 64 bytes"})
	}
	return nil
}

// React adds (add=true) or removes the caller's emoji on a message. Doing
// what is already done changes nothing and records no event.
func (s *Service) React(ctx context.Context, userID, convID, messageID, emoji string, add bool) error {
	if err := checkEmoji(emoji); err != nil {
		return err
	}
	err := s.write(ctx, func(tx *sql.Tx, out *committed) error {
		if _, _, err := membership(ctx, tx, convID, userID); err != nil {
			return err
		}
		var deleted sql.NullTime
		err := tx.QueryRowContext(ctx, `SELECT deleted_at FROM messages WHERE id = $1 AND conversation_id = $2`, messageID, convID).Scan(&deleted)
		if errors.Is(err, sql.ErrNoRows) || deleted.Valid {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		var res sql.Result
		now := s.now()
		typ := EventReactionAdded
		if add {
			if s.db.Dialect == db.Postgres {
				res, err = tx.ExecContext(ctx, `INSERT INTO reactions (message_id, user_id, emoji, created_at) VALUES ($1, $2, $3, $4)
					ON CONFLICT DO NOTHING`, messageID, userID, emoji, now)
			} else {
				res, err = tx.ExecContext(ctx, `INSERT OR IGNORE INTO reactions (message_id, user_id, emoji, created_at) VALUES ($1, $2, $3, $4)`,
					messageID, userID, emoji, now)
			}
		} else {
			typ = EventReactionRemoved
			res, err = tx.ExecContext(ctx, `DELETE FROM reactions WHERE message_id = $1 AND user_id = $2 AND emoji = $3`, messageID, userID, emoji)
		}
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		ev, err := s.appendEvent(ctx, tx, Event{ConversationID: convID, Type: typ, ActorID: userID, At: now, MessageID: messageID, UserID: userID, Emoji: emoji}, false)
		out.events = append(out.events, ev)
		return err
	})
	if err != nil {
		return err
	}
	return nil
}

// Receipt is a member's read cursor, announced to the conversation.
type Receipt struct {
	ConversationID string    `json:"conversation_id"`
	UserID         string    `json:"user_id"`
	ReadSeq        int64     `json:"read_seq"`
	At             time.Time `json:"at"`
}

// ReceiptSubject is the bus subject of a conversation's read receipts.
// Receipts are state, not history: they do not take sequence numbers, and
// a device catching up reads the members' cursors.
func ReceiptSubject(conversationID string) string { return "chat.receipt." + conversationID }

// MarkRead moves the caller's read cursor forward to seq (never back, never
// past the end); it returns the cursor as it now stands.
func (s *Service) MarkRead(ctx context.Context, userID, convID string, seq int64) (int64, error) {
	if seq < 0 {
		return 0, httpx.Invalid(httpx.FieldError{Field: "seq", Detail: "must not be negative"})
	}
	var (
		cursor  int64
		changed bool
	)
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, _, err := membership(ctx, tx, convID, userID); err != nil {
			return err
		}
		var last int64
		if err := tx.QueryRowContext(ctx, `SELECT last_seq FROM conversations WHERE id = $1`, convID).Scan(&last); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE members SET read_seq = $1 WHERE conversation_id = $2 AND user_id = $3 AND read_seq < $1`,
			min(seq, last), convID, userID)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		changed = n > 0
		if err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT read_seq FROM members WHERE conversation_id = $1 AND user_id = $2`, convID, userID).Scan(&cursor)
	})
	if err != nil {
		return 0, err
	}
	if changed && s.announce != nil {
		data, _ := json.Marshal(Receipt{ConversationID: convID, UserID: userID, ReadSeq: cursor, At: s.now()})
		if err := s.announce.Publish(context.WithoutCancel(ctx), ReceiptSubject(convID), data); err != nil && s.onError != nil {
			s.onError(err)
		}
	}
	return cursor, nil
}
