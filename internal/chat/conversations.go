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

// committed is what a write produced: the events to announce once the
// transaction has committed.
type committed struct{ events []Event }

// appendEvent takes the conversation's next sequence number and records an
// event with it, inside tx. The UPDATE locks the conversation's row on
// PostgreSQL, so concurrent writers to one conversation queue there and the
// sequence has no gaps or duplicates; on SQLite the single writer already
// orders them.
func (s *Service) appendEvent(ctx context.Context, tx *sql.Tx, ev Event, activity bool) (Event, error) {
	var err error
	if activity {
		err = tx.QueryRowContext(ctx, `UPDATE conversations SET last_seq = last_seq + 1, last_activity_at = $2
			WHERE id = $1 RETURNING last_seq`, ev.ConversationID, ev.At).Scan(&ev.Seq)
	} else {
		err = tx.QueryRowContext(ctx, `UPDATE conversations SET last_seq = last_seq + 1
			WHERE id = $1 RETURNING last_seq`, ev.ConversationID).Scan(&ev.Seq)
	}
	if err != nil {
		return ev, fmt.Errorf("chat: next seq: %w", err)
	}
	data, err := json.Marshal(eventData{UserID: ev.UserID, Role: ev.Role, Emoji: ev.Emoji, Title: ev.Title, Call: ev.Call})
	if err != nil {
		return ev, err
	}
	var messageID *string
	if ev.MessageID != "" {
		messageID = &ev.MessageID
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO events (conversation_id, seq, type, actor_id, message_id, data, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, ev.ConversationID, ev.Seq, ev.Type, ev.ActorID, messageID, string(data), ev.At)
	return ev, err
}

// RecordCallEvent adds a call's start or end to a conversation's history,
// inside the caller's transaction (the call's own rows change in the same
// one). Announce the returned event after the commit.
func (s *Service) RecordCallEvent(ctx context.Context, tx *sql.Tx, convID, actorID, typ string, call CallSummary, at time.Time) (Event, error) {
	return s.appendEvent(ctx, tx, Event{ConversationID: convID, Type: typ, ActorID: actorID, At: db.Time(at), Call: &call}, true)
}

// Announce publishes events committed by another package's transaction.
func (s *Service) Announce(ctx context.Context, events ...Event) {
	s.publish(ctx, committed{events: events})
}

// write runs fn in a transaction on the writer and, once it has
// committed, announces the events fn recorded in out. Nothing is announced
// for a rolled-back change.
func (s *Service) write(ctx context.Context, fn func(tx *sql.Tx, out *committed) error) error {
	var out committed
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		out = committed{}
		return fn(tx, &out)
	})
	if err != nil {
		return err
	}
	s.publish(ctx, out)
	return nil
}

// publish announces committed events, each encoded once for all
// recipients.
func (s *Service) publish(ctx context.Context, c committed) {
	if s.announce == nil {
		return
	}
	for _, ev := range c.events {
		data, err := json.Marshal(ev)
		if err == nil {
			err = s.announce.Publish(context.WithoutCancel(ctx), Subject(ev.ConversationID), data)
		}
		if err != nil && s.onError != nil {
			s.onError(fmt.Errorf("chat: announce %s/%d: %w", ev.ConversationID, ev.Seq, err))
		}
	}
}

// userNames returns the display names of ids; an unknown id is an error
// naming the field.
func userNames(ctx context.Context, q db.Querier, field string, ids []string) (map[string]string, error) {
	names := make(map[string]string, len(ids))
	for chunk := range slices.Chunk(ids, 500) {
		args := make([]any, len(chunk))
		ph := make([]string, len(chunk))
		for i, id := range chunk {
			args[i] = id
			ph[i] = fmt.Sprintf("$%d", i+1)
		}
		rows, err := q.QueryContext(ctx, `SELECT id, name FROM users WHERE id IN (`+strings.Join(ph, ",")+`)`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id, name string
			if err := rows.Scan(&id, &name); err != nil {
				rows.Close()
				return nil, err
			}
			names[id] = name
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	for _, id := range ids {
		if _, ok := names[id]; !ok {
			return nil, httpx.Invalid(httpx.FieldError{Field: field, Detail: "no such user: " + id})
		}
	}
	return names, nil
}

func directKey(a, b string) string {
	if a > b {
		a, b = b, a
	}
	return a + ":" + b
}

// OpenDirect returns the direct conversation between userID and peerID,
// creating it the first time; created tells which.
func (s *Service) OpenDirect(ctx context.Context, userID, peerID string) (Conversation, bool, error) {
	if peerID == "" {
		return Conversation{}, false, httpx.Invalid(httpx.FieldError{Field: "user_id", Detail: "name the person to talk to"})
	}
	key := directKey(userID, peerID)
	var id string
	err := s.db.QueryRowContext(ctx, `SELECT id FROM conversations WHERE direct_key = $1`, key).Scan(&id)
	if err == nil {
		c, err := s.Get(ctx, userID, id)
		return c, false, err
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return Conversation{}, false, err
	}
	id = newID()
	err = s.write(ctx, func(tx *sql.Tx, out *committed) error {
		if _, err := userNames(ctx, tx, "user_id", []string{peerID}); err != nil {
			return err
		}
		now := s.now()
		if _, err := tx.ExecContext(ctx, `INSERT INTO conversations (id, kind, title, direct_key, created_by, created_at, last_activity_at, member_count)
			VALUES ($1, 'direct', '', $2, $3, $4, $4, $5)`, id, key, userID, now, len(slices.Compact([]string{userID, peerID}))); err != nil {
			return err
		}
		ev, err := s.appendEvent(ctx, tx, Event{ConversationID: id, Type: EventConversationCreated, ActorID: userID, At: now}, true)
		if err != nil {
			return err
		}
		out.events = append(out.events, ev)
		for _, m := range slices.Compact([]string{userID, peerID}) {
			if err := s.insertMember(ctx, tx, id, m, RoleMember, now, ev.Seq); err != nil {
				return err
			}
		}
		return nil
	})
	if db.IsUniqueViolation(err) { // created concurrently by the other person
		return s.OpenDirect(ctx, userID, peerID)
	}
	if err != nil {
		return Conversation{}, false, err
	}
	c, err := s.Get(ctx, userID, id)
	return c, true, err
}

func (s *Service) insertMember(ctx context.Context, tx *sql.Tx, convID, userID string, role Role, at time.Time, seq int64) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO members (conversation_id, user_id, role, joined_at, joined_seq, read_seq)
		VALUES ($1, $2, $3, $4, $5, $5)`, convID, userID, role, at, seq)
	return err
}

func checkTitle(v *httpx.Validator, title string) string {
	title = strings.TrimSpace(title)
	v.Check(title != "", "title", "give the group a title")
	v.Check(utf8.ValidString(title) && utf8.RuneCountInString(title) <= MaxTitle, "title",
		fmt.Sprintf("use at most %d characters", MaxTitle))
	v.Check(!strings.ContainsFunc(title, func(r rune) bool { return r < 0x20 || r == 0x7f }), "title",
		"control characters are not allowed")
	return title
}

// CreateGroup makes a group titled title with the creator as its admin and
// memberIDs as members.
func (s *Service) CreateGroup(ctx context.Context, userID, title string, memberIDs []string) (Conversation, error) {
	var v httpx.Validator
	title = checkTitle(&v, title)
	members := slices.DeleteFunc(slices.Clone(memberIDs), func(id string) bool { return id == userID })
	slices.Sort(members)
	members = slices.Compact(members)
	v.Check(len(members)+1 <= MaxGroupMembers, "members", fmt.Sprintf("a group holds at most %d members", MaxGroupMembers))
	if err := v.Err(); err != nil {
		return Conversation{}, err
	}
	id := newID()
	err := s.write(ctx, func(tx *sql.Tx, out *committed) error {
		if _, err := userNames(ctx, tx, "members", members); err != nil {
			return err
		}
		now := s.now()
		if _, err := tx.ExecContext(ctx, `INSERT INTO conversations (id, kind, title, created_by, created_at, last_activity_at, member_count)
			VALUES ($1, 'group', $2, $3, $4, $4, $5)`, id, title, userID, now, len(members)+1); err != nil {
			return err
		}
		ev, err := s.appendEvent(ctx, tx, Event{ConversationID: id, Type: EventConversationCreated, ActorID: userID, At: now, Title: title}, true)
		if err != nil {
			return err
		}
		out.events = append(out.events, ev)
		if err := s.insertMember(ctx, tx, id, userID, RoleAdmin, now, ev.Seq); err != nil {
			return err
		}
		for _, m := range members {
			if err := s.insertMember(ctx, tx, id, m, RoleMember, now, ev.Seq); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Conversation{}, err
	}
	return s.Get(ctx, userID, id)
}

// membership returns the caller's role in a conversation, or ErrNotFound
// when they are not a member: a conversation is invisible to outsiders.
func membership(ctx context.Context, q db.Querier, convID, userID string) (Role, Kind, error) {
	var (
		role Role
		kind Kind
	)
	err := q.QueryRowContext(ctx, sqlMembership, convID, userID).Scan(&role, &kind)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", ErrNotFound
	}
	return role, kind, err
}

// requireGroupAdmin allows only a group's admins through.
func requireGroupAdmin(ctx context.Context, q db.Querier, convID, userID string) error {
	role, kind, err := membership(ctx, q, convID, userID)
	switch {
	case err != nil:
		return err
	case kind != Group:
		return ErrNotGroup
	case role != RoleAdmin:
		return ErrForbidden
	}
	return nil
}

const conversationColumns = `c.id, c.kind, c.title, c.created_by, c.created_at, c.last_seq, c.last_activity_at, c.member_count,
	m.read_seq, m.role,
	(SELECT COUNT(*) FROM messages x WHERE x.conversation_id = c.id AND x.seq > m.read_seq
		AND x.sender_id <> m.user_id AND x.deleted_at IS NULL),
	(SELECT u.id FROM members o JOIN users u ON u.id = o.user_id
		WHERE c.kind = 'direct' AND o.conversation_id = c.id AND o.user_id <> m.user_id),
	(SELECT u.name FROM members o JOIN users u ON u.id = o.user_id
		WHERE c.kind = 'direct' AND o.conversation_id = c.id AND o.user_id <> m.user_id),
	(SELECT MAX(x.seq) FROM messages x WHERE x.conversation_id = c.id)`

func scanConversation(row interface{ Scan(...any) error }) (Conversation, int64, error) {
	var (
		c                Conversation
		peerID, peerName sql.NullString
		lastMessageSeq   sql.NullInt64
	)
	err := row.Scan(&c.ID, &c.Kind, &c.Title, &c.CreatedBy, &c.CreatedAt, &c.LastSeq, &c.LastActivityAt, &c.MemberCount,
		&c.ReadSeq, &c.MyRole, &c.Unread, &peerID, &peerName, &lastMessageSeq)
	if peerID.Valid {
		c.Peer = &Person{ID: peerID.String, Name: peerName.String}
	}
	return c, lastMessageSeq.Int64, err
}

// Get returns one conversation as userID sees it.
func (s *Service) Get(ctx context.Context, userID, convID string) (Conversation, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+conversationColumns+`
		FROM conversations c JOIN members m ON m.conversation_id = c.id AND m.user_id = $2
		WHERE c.id = $1`, convID, userID)
	c, lastSeq, err := scanConversation(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Conversation{}, ErrNotFound
	}
	if err != nil {
		return Conversation{}, err
	}
	if err := s.attachLastMessages(ctx, []*Conversation{&c}, []int64{lastSeq}); err != nil {
		return Conversation{}, err
	}
	return c, nil
}

// ActivityCursor is the position in a conversation list ordered by latest
// activity, newest first.
type ActivityCursor struct {
	At time.Time `json:"t"`
	ID string    `json:"i"`
}

// List returns a page of userID's conversations, most recently active
// first, and the cursor of the next page when there is one.
func (s *Service) List(ctx context.Context, userID string, after ActivityCursor, limit int) ([]Conversation, *ActivityCursor, error) {
	at, id := after.At, after.ID
	if id == "" {
		at = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+conversationColumns+`
		FROM members m JOIN conversations c ON c.id = m.conversation_id
		WHERE m.user_id = $1 AND (c.last_activity_at < $2 OR (c.last_activity_at = $2 AND c.id < $3))
		ORDER BY c.last_activity_at DESC, c.id DESC LIMIT $4`, userID, at, id, limit+1)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	list := []Conversation{}
	var lastSeqs []int64
	for rows.Next() {
		c, seq, err := scanConversation(rows)
		if err != nil {
			return nil, nil, err
		}
		list, lastSeqs = append(list, c), append(lastSeqs, seq)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	var next *ActivityCursor
	if len(list) > limit {
		list, lastSeqs = list[:limit], lastSeqs[:limit]
		next = &ActivityCursor{At: list[limit-1].LastActivityAt, ID: list[limit-1].ID}
	}
	ptrs := make([]*Conversation, len(list))
	for i := range list {
		ptrs[i] = &list[i]
	}
	return list, next, s.attachLastMessages(ctx, ptrs, lastSeqs)
}

func (s *Service) attachLastMessages(ctx context.Context, convs []*Conversation, seqs []int64) error {
	for i, c := range convs {
		if seqs[i] == 0 {
			continue
		}
		msgs, err := s.messagesWhere(ctx, `m.conversation_id = $1 AND m.seq = $2`, c.ID, seqs[i])
		if err != nil {
			return err
		}
		if len(msgs) == 1 {
			c.LastMessage = &msgs[0]
		}
	}
	return nil
}

// Members lists a conversation's members, for members only.
func (s *Service) Members(ctx context.Context, userID, convID string) ([]Member, error) {
	if _, _, err := membership(ctx, s.db, convID, userID); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT m.user_id, u.name, m.role, m.joined_at, m.read_seq
		FROM members m JOIN users u ON u.id = m.user_id WHERE m.conversation_id = $1
		ORDER BY m.joined_at, m.user_id`, convID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Member{}
	for rows.Next() {
		var m Member
		if err := rows.Scan(&m.UserID, &m.Name, &m.Role, &m.JoinedAt, &m.ReadSeq); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// Rename sets a group's title; group admins only.
func (s *Service) Rename(ctx context.Context, userID, convID, title string) (Conversation, error) {
	var v httpx.Validator
	title = checkTitle(&v, title)
	if err := v.Err(); err != nil {
		return Conversation{}, err
	}
	err := s.write(ctx, func(tx *sql.Tx, out *committed) error {
		if err := requireGroupAdmin(ctx, tx, convID, userID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE conversations SET title = $1 WHERE id = $2`, title, convID); err != nil {
			return err
		}
		ev, err := s.appendEvent(ctx, tx, Event{ConversationID: convID, Type: EventConversationUpdated, ActorID: userID, At: s.now(), Title: title}, false)
		out.events = append(out.events, ev)
		return err
	})
	if err != nil {
		return Conversation{}, err
	}
	return s.Get(ctx, userID, convID)
}

// AddMember adds newID to a group; group admins only.
func (s *Service) AddMember(ctx context.Context, userID, convID, newMember string, role Role) (Member, error) {
	if role == "" {
		role = RoleMember
	}
	if role != RoleMember && role != RoleAdmin {
		return Member{}, httpx.Invalid(httpx.FieldError{Field: "role", Detail: "must be admin or member"})
	}
	var m Member
	err := s.write(ctx, func(tx *sql.Tx, out *committed) error {
		if err := requireGroupAdmin(ctx, tx, convID, userID); err != nil {
			return err
		}
		names, err := userNames(ctx, tx, "user_id", []string{newMember})
		if err != nil {
			return err
		}
		if _, _, err := membership(ctx, tx, convID, newMember); err == nil {
			return ErrAlreadyThere
		}
		var count int
		if err := tx.QueryRowContext(ctx, `UPDATE conversations SET member_count = member_count + 1 WHERE id = $1
			RETURNING member_count`, convID).Scan(&count); err != nil {
			return err
		}
		if count > MaxGroupMembers {
			return ErrGroupFull
		}
		now := s.now()
		ev, err := s.appendEvent(ctx, tx, Event{ConversationID: convID, Type: EventMemberAdded, ActorID: userID, At: now, UserID: newMember, Role: role}, true)
		if err != nil {
			return err
		}
		out.events = append(out.events, ev)
		m = Member{UserID: newMember, Name: names[newMember], Role: role, JoinedAt: now, ReadSeq: ev.Seq}
		return s.insertMember(ctx, tx, convID, newMember, role, now, ev.Seq)
	})
	if err != nil {
		return Member{}, err
	}
	return m, nil
}

// RemoveMember takes someone out of a group: a group admin may remove
// anyone, anyone may remove themselves (leave). The last admin leaving
// hands the role to the longest-standing member, so a group always has one.
func (s *Service) RemoveMember(ctx context.Context, userID, convID, gone string) error {
	err := s.write(ctx, func(tx *sql.Tx, out *committed) error {
		myRole, kind, err := membership(ctx, tx, convID, userID)
		if err != nil {
			return err
		}
		if kind != Group {
			return ErrNotGroup
		}
		if gone != userID && myRole != RoleAdmin {
			return ErrForbidden
		}
		goneRole, _, err := membership(ctx, tx, convID, gone)
		if err != nil {
			return err
		}
		now := s.now()
		// The event is announced while the removed member's devices still
		// listen, so they learn of it live; afterwards the conversation is
		// gone for them (404), which is how a device that was away learns.
		ev, err := s.appendEvent(ctx, tx, Event{ConversationID: convID, Type: EventMemberRemoved, ActorID: userID, At: now, UserID: gone}, false)
		if err != nil {
			return err
		}
		out.events = append(out.events, ev)
		if _, err := tx.ExecContext(ctx, `DELETE FROM members WHERE conversation_id = $1 AND user_id = $2`, convID, gone); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE conversations SET member_count = member_count - 1 WHERE id = $1`, convID); err != nil {
			return err
		}
		if goneRole != RoleAdmin {
			return nil
		}
		var admins int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM members WHERE conversation_id = $1 AND role = 'admin'`, convID).Scan(&admins); err != nil {
			return err
		}
		if admins > 0 {
			return nil
		}
		var heir string
		err = tx.QueryRowContext(ctx, `SELECT user_id FROM members WHERE conversation_id = $1 ORDER BY joined_at, user_id LIMIT 1`, convID).Scan(&heir)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // the group is empty now
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE members SET role = 'admin' WHERE conversation_id = $1 AND user_id = $2`, convID, heir); err != nil {
			return err
		}
		ev, err = s.appendEvent(ctx, tx, Event{ConversationID: convID, Type: EventMemberUpdated, ActorID: userID, At: now, UserID: heir, Role: RoleAdmin}, false)
		out.events = append(out.events, ev)
		return err
	})
	if err != nil {
		return err
	}
	return nil
}

// MemberIDs returns the ids of a conversation's members; the realtime
// gateway uses it (with ConversationIDs) to route events.
func (s *Service) MemberIDs(ctx context.Context, convID string) ([]string, error) {
	return db.Strings(ctx, s.db, `SELECT user_id FROM members WHERE conversation_id = $1`, convID)
}

// ConversationIDs returns the ids of every conversation userID is in.
func (s *Service) ConversationIDs(ctx context.Context, userID string) ([]string, error) {
	return db.Strings(ctx, s.db, `SELECT conversation_id FROM members WHERE user_id = $1`, userID)
}

// Contacts returns those of candidates who share a conversation with
// userID (and userID itself): the people whose presence userID may see.
func (s *Service) Contacts(ctx context.Context, userID string, candidates []string) ([]string, error) {
	want := map[string]bool{}
	for _, c := range candidates {
		want[c] = true
	}
	out := []string{}
	if want[userID] {
		out = append(out, userID)
		delete(want, userID)
	}
	if len(want) == 0 {
		return out, nil
	}
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT o.user_id FROM members me
		JOIN members o ON o.conversation_id = me.conversation_id
		WHERE me.user_id = $1 AND o.user_id <> $1`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		if want[id] {
			out = append(out, id)
		}
	}
	return out, rows.Err()
}
