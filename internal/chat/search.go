package chat

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parley-chat/parley/internal/db"
	"github.com/parley-chat/parley/internal/httpx"
)

// SearchQuery finds messages containing every word of Text, in the
// conversations the caller is a member of (or only in ConversationID).
type SearchQuery struct {
	Text           string
	ConversationID string
	After          SearchCursor
	Limit          int
}

// SearchCursor is the position after the last hit: results come newest
// first.
type SearchCursor struct {
	At time.Time `json:"t"`
	ID string    `json:"i"`
}

// MaxSearchText bounds a search.
const MaxSearchText = 200

// ftsQuery turns what a person typed into an FTS5 query that matches all
// the words, each taken literally: FTS5's own syntax (quotes, NEAR, *,
// column filters) must not be reachable from user input.
func ftsQuery(text string) string {
	var terms []string
	for _, w := range strings.Fields(text) {
		terms = append(terms, `"`+strings.ReplaceAll(w, `"`, `""`)+`"`)
	}
	return strings.Join(terms, " ")
}

// Search returns a page of matching messages, newest first.
func (s *Service) Search(ctx context.Context, userID string, q SearchQuery) ([]Message, *SearchCursor, error) {
	text := strings.TrimSpace(q.Text)
	var v httpx.Validator
	v.Check(text != "", "q", "type something to search for")
	v.Check(utf8.ValidString(text) && utf8.RuneCountInString(text) <= MaxSearchText, "q", "use at most 200 characters")
	if err := v.Err(); err != nil {
		return nil, nil, err
	}
	if q.ConversationID != "" {
		if _, _, err := membership(ctx, s.db, q.ConversationID, userID); err != nil {
			return nil, nil, err
		}
	}
	at, id := q.After.At, q.After.ID
	if id == "" {
		at = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	var match, arg string
	if s.db.Dialect == db.Postgres {
		match, arg = `m.search @@ plainto_tsquery('simple', $2)`, text
	} else {
		match, arg = `m.rowid IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH $2)`, ftsQuery(text)
	}
	msgs, err := s.loadMessages(ctx, s.db, `SELECT `+messageColumns+`
		FROM messages m JOIN members me ON me.conversation_id = m.conversation_id AND me.user_id = $1
		WHERE `+match+` AND m.deleted_at IS NULL
		  AND ($3 = '' OR m.conversation_id = $3)
		  AND (m.created_at < $4 OR (m.created_at = $4 AND m.id < $5))
		ORDER BY m.created_at DESC, m.id DESC LIMIT $6`, userID, arg, q.ConversationID, at, id, q.Limit+1)
	if err != nil {
		return nil, nil, err
	}
	if len(msgs) > q.Limit {
		msgs = msgs[:q.Limit]
		last := msgs[q.Limit-1]
		return msgs, &SearchCursor{At: last.CreatedAt, ID: last.ID}, nil
	}
	return msgs, nil, nil
}
