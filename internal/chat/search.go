package chat

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
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
	if s.db.Dialect == db.SQLite {
		// Exact: every message sent before this search is found.
		if err := s.indexIfPending(ctx); err != nil {
			return nil, nil, err
		}
	}
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

// SQLite's full-text index is kept off the send path (migrations/sqlite/
// 0004): a batch of sends commits without touching messages_fts, and new
// messages are indexed afterwards, in chunks and in transactions of their
// own, by the background indexer (at most every indexDelay while messages
// arrive) or, when a search comes first, by the search itself. The
// watermark messages_fts_indexed.upto says how far the index goes, so a
// restart indexes whatever was left. PostgreSQL indexes a generated column
// itself.
const (
	indexDelay = 500 * time.Millisecond
	// indexChunk bounds one indexing transaction (~1 ms), so that sends
	// queued behind it on the writer are not held for long.
	indexChunk = 256
)

const (
	sqlIndexPending = `SELECT (SELECT upto FROM messages_fts_indexed) < (SELECT COALESCE(MAX(rowid), 0) FROM messages)`
	sqlIndexedUpto  = `SELECT upto, (SELECT COALESCE(MAX(rowid), 0) FROM messages) FROM messages_fts_indexed`
	sqlIndexRows    = `INSERT INTO messages_fts (rowid, body) SELECT rowid, body FROM messages WHERE rowid > $1 AND rowid <= $2`
	sqlSetIndexed   = `UPDATE messages_fts_indexed SET upto = $1`
)

// ftsIndexer schedules the background indexer.
type ftsIndexer struct {
	mu        sync.Mutex
	scheduled bool
	run       sync.Mutex // one catch-up at a time
}

// indexSoon has new messages indexed within indexDelay, unless a run is
// already due.
func (s *Service) indexSoon() {
	f := &s.fts
	f.mu.Lock()
	due := f.scheduled
	f.scheduled = true
	f.mu.Unlock()
	if !due {
		time.AfterFunc(indexDelay, s.indexInBackground)
	}
}

func (s *Service) indexInBackground() {
	f := &s.fts
	f.mu.Lock()
	f.scheduled = false // what commits from now on asks again
	f.mu.Unlock()
	if err := s.indexPending(context.Background()); err != nil && !s.db.Closed() && s.onError != nil {
		// Nothing is lost: the next run, or the next search, tries again.
		s.onError(err)
	}
}

// indexIfPending indexes the messages not yet in the full-text index, if
// there are any. Asking a reader first keeps searches off the writer when
// the background indexer has caught up.
func (s *Service) indexIfPending(ctx context.Context) error {
	var pending bool
	if err := s.db.QueryRowContext(ctx, sqlIndexPending).Scan(&pending); err != nil {
		return fmt.Errorf("chat: search index: %w", err)
	}
	if !pending {
		return nil
	}
	return s.indexPending(ctx)
}

// indexPending adds every message above the watermark to the full-text
// index, indexChunk rowids per transaction.
func (s *Service) indexPending(ctx context.Context) error {
	f := &s.fts
	f.run.Lock()
	defer f.run.Unlock()
	for {
		var done bool
		err := s.db.Tx(ctx, func(tx *sql.Tx) error {
			var upto, top int64
			if err := tx.QueryRowContext(ctx, sqlIndexedUpto).Scan(&upto, &top); err != nil {
				return err
			}
			if upto >= top {
				done = true
				return nil
			}
			to := min(top, upto+indexChunk)
			if _, err := tx.ExecContext(ctx, sqlIndexRows, upto, to); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, sqlSetIndexed, to)
			done = to == top
			return err
		})
		if err != nil {
			return fmt.Errorf("chat: search index: %w", err)
		}
		if done {
			return nil
		}
	}
}
