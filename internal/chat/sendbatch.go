package chat

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/parley-chat/parley/internal/db"
	"github.com/parley-chat/parley/internal/httpx"
)

// Group commit. Send does not open a transaction of its own: it queues the
// message and waits. A committer takes everything queued at that moment,
// stores it in one transaction and commits once; only then is each message
// announced (in the order of its conversation's sequence) and its sender
// answered. While a batch commits, the next sends queue up, so under load a
// commit (and on SQLite its WAL writes, on PostgreSQL its WAL flush) is
// shared by many messages; an idle server commits a lone message at once,
// without waiting for company.
//
// Each message keeps its own outcome. Errors a message can cause itself
// (not a member, a bad reply or mention, someone else's attachment) are
// found by reads before it writes anything, or undone with a savepoint
// (attachments), and fail that message only. A retry of a stored message
// (same sender, conversation and client id) is caught by the unique index
// (INSERT … ON CONFLICT DO NOTHING) and answered with the first message,
// taking no sequence number. Anything else (the database failing) rolls
// the batch back, and each message is then tried alone, so one message can
// never fail another.

// maxBatch bounds one transaction; more sends wait for the next one.
const maxBatch = 256

// sendReq is one Send waiting for its batch.
type sendReq struct {
	ctx            context.Context
	userID, convID string
	in             SendInput

	// Set by the committer before done is closed.
	msg  Message
	ev   Event
	dup  bool // a retry: the first message is answered
	err  error
	done chan struct{}
}

type sendQueue struct {
	mu     sync.Mutex
	shards []commitShard // one per committer, made on first use

	pubMu      sync.Mutex
	pubQueue   [][]*sendReq
	publishing bool
}

// commitShard is one committer's queue. A conversation always goes to the
// same shard, so its messages are numbered and announced in the order they
// came, and two committers never wait for each other's row locks.
type commitShard struct {
	queue   []*sendReq
	running bool // a committer goroutine is draining queue
}

// committers is how many batches may be in flight at once. SQLite has one
// writer. On PostgreSQL a batch is a few round trips (sendbatch_pg.go);
// two committers on disjoint conversations let one batch's round trips and
// WAL flush overlap the other's.
func (s *Service) committers() int {
	if s.db.Dialect == db.Postgres {
		return 2
	}
	return 1
}

// shardOf is the committer a conversation's sends go to.
func shardOf(convID string, n int) int {
	if n == 1 {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte(convID))
	return int(h.Sum32() % uint32(n))
}

// sendBatched queues r and waits for its outcome.
func (s *Service) sendBatched(ctx context.Context, r *sendReq) (Message, bool, error) {
	q := &s.sends
	q.mu.Lock()
	if q.shards == nil {
		q.shards = make([]commitShard, s.committers())
	}
	i := shardOf(r.convID, len(q.shards))
	sh := &q.shards[i]
	sh.queue = append(sh.queue, r)
	start := !sh.running
	sh.running = true
	q.mu.Unlock()
	if start {
		go s.commitLoop(i)
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		// It may still be stored; a retry with the same client id finds it.
		return Message{}, false, ctx.Err()
	}
	return s.outcome(ctx, r)
}

// outcome is what Send answers for r once its batch is done.
func (s *Service) outcome(ctx context.Context, r *sendReq) (Message, bool, error) {
	if r.err != nil {
		return Message{}, false, r.err
	}
	if r.dup {
		m, err := s.byClientID(ctx, r.convID, r.userID, r.in.ClientID)
		return m, false, err
	}
	return r.msg, true, nil
}

// commitLoop commits shard i's batches while sends are queued there, then
// ends: there is a committer goroutine only while there is something to
// commit.
func (s *Service) commitLoop(i int) {
	q := &s.sends
	for {
		q.mu.Lock()
		sh := &q.shards[i]
		n := min(len(sh.queue), maxBatch)
		if n == 0 {
			sh.running = false
			q.mu.Unlock()
			return
		}
		batch := slices.Clone(sh.queue[:n])
		sh.queue = slices.Delete(sh.queue, 0, n)
		if len(sh.queue) == 0 {
			sh.queue = nil // let a burst's backing array go
		}
		q.mu.Unlock()
		s.commitBatch(batch)
		s.toPublisher(batch)
	}
}

// commitBatch stores batch, one transaction for all, or one each when the
// batch as a whole fails.
func (s *Service) commitBatch(batch []*sendReq) {
	live := batch[:0:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err = err // its sender has gone; nothing is stored
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	if err := s.storeBatch(live); err != nil {
		if len(live) == 1 {
			live[0].err = err
			return
		}
		for _, r := range live {
			if err := s.storeBatch([]*sendReq{r}); err != nil {
				r.err = err
			}
		}
	}
}

// Statements of the send path, prepared once on SQLite's writer.
const (
	sqlLockConversation   = `SELECT last_seq FROM conversations WHERE id = $1`
	sqlLockConversationPG = `SELECT last_seq FROM conversations WHERE id = $1 FOR UPDATE`
	sqlMembership         = `SELECT m.role, c.kind FROM members m JOIN conversations c ON c.id = m.conversation_id
		WHERE m.conversation_id = $1 AND m.user_id = $2`
	// A message is stored only if its sender is a member (so a plain
	// message needs no separate membership query) and only once per client
	// id: no row means one or the other, which storeConversation tells apart.
	sqlInsertMessage = `INSERT INTO messages (id, conversation_id, seq, sender_id, client_id, body, reply_to, mentions, attachments, created_at)
		SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10
		WHERE EXISTS (SELECT 1 FROM members WHERE conversation_id = $2 AND user_id = $4)
		ON CONFLICT (conversation_id, sender_id, client_id) DO NOTHING`
	sqlInsertMessageEvent = `INSERT INTO events (conversation_id, seq, type, actor_id, message_id, data, created_at)
		VALUES ($1, $2, 'message.created', $3, $4, '{}', $5)`
	// PostgreSQL: the message and its event in one round trip.
	sqlInsertMessageAndEventPG = `WITH m AS (
		INSERT INTO messages (id, conversation_id, seq, sender_id, client_id, body, reply_to, mentions, attachments, created_at)
		SELECT $1::text, $2::text, $3::bigint, $4::text, $5::text, $6::text, $7::text, $8::text, $9::text, $10::timestamptz
		WHERE EXISTS (SELECT 1 FROM members WHERE conversation_id = $2::text AND user_id = $4::text)
		ON CONFLICT (conversation_id, sender_id, client_id) DO NOTHING
		RETURNING conversation_id, seq, sender_id, id, created_at)
		INSERT INTO events (conversation_id, seq, type, actor_id, message_id, data, created_at)
		SELECT conversation_id, seq, 'message.created', sender_id, id, '{}', created_at FROM m`
	// PostgreSQL: the conversation's new last seq and its senders' read
	// cursors in one round trip.
	sqlSetLastSeqAndReadPG = `WITH c AS (UPDATE conversations SET last_seq = $2, last_activity_at = $3 WHERE id = $1)
		UPDATE members SET read_seq = v.seq FROM unnest($4::text[], $5::bigint[]) AS v(user_id, seq)
		WHERE members.conversation_id = $1 AND members.user_id = v.user_id`
	sqlClientIDTaken   = `SELECT 1 FROM messages WHERE conversation_id = $1 AND sender_id = $2 AND client_id = $3`
	sqlSetLastSeq      = `UPDATE conversations SET last_seq = $2, last_activity_at = $3 WHERE id = $1`
	sqlSenderHasRead   = `UPDATE members SET read_seq = $1 WHERE conversation_id = $2 AND user_id = $3`
	sqlReplyToExists   = `SELECT 1 FROM messages WHERE id = $1 AND conversation_id = $2`
	batchSavepoint     = `SAVEPOINT send_one`
	batchRollbackTo    = `ROLLBACK TO SAVEPOINT send_one`
	batchReleaseSavept = `RELEASE SAVEPOINT send_one`
)

var sendStatements = []string{sqlLockConversation, sqlMembership, sqlInsertMessage, sqlInsertMessageEvent,
	sqlClientIDTaken, sqlSetLastSeq, sqlSenderHasRead, sqlReplyToExists}

// prepare prepares the send path's statements the first time (SQLite).
func (s *Service) prepare(ctx context.Context) {
	s.prepOnce.Do(func() {
		if err := s.db.Prepare(ctx, sendStatements...); err != nil && s.onError != nil {
			// Unprepared statements work too, only slower.
			s.onError(err)
		}
	})
}

// ownFault reports whether err is the message's own doing, which fails it
// alone, rather than the database's, which fails the transaction.
func ownFault(err error) bool {
	var p *httpx.Problem
	return errors.Is(err, ErrNotFound) || errors.Is(err, ErrForbidden) || errors.As(err, &p)
}

// storeBatch stores the messages of batch in one transaction. It returns
// an error only when the transaction failed as a whole; each message's own
// outcome is in it.
func (s *Service) storeBatch(batch []*sendReq) error {
	// On SQLite the batch runs without a deadline: a statement there cannot
	// hang (busy_timeout bounds a wait for the lock), and modernc's driver
	// starts a goroutine and a progress handler for every statement whose
	// context can be cancelled, which cost the committer ~10 % per batch.
	ctx := context.Background()
	if s.db.Dialect == db.Postgres {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}
	s.prepare(ctx)
	// Conversations in a fixed order, so that two batches on PostgreSQL
	// lock their rows in the same order and cannot deadlock; a
	// conversation's messages in the order they came.
	order := slices.Clone(batch)
	slices.SortStableFunc(order, func(a, b *sendReq) int { return cmp.Compare(a.convID, b.convID) })
	var rowids []any // SQLite: the messages stored, for the search index
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		q := s.db.Prepared(tx)
		for _, r := range order {
			r.msg, r.ev, r.dup, r.err = Message{}, Event{}, false, nil
		}
		if s.db.Dialect == db.Postgres {
			return s.storeBatchPG(ctx, tx, order)
		}
		rowids = rowids[:0]
		for i := 0; i < len(order); {
			j := i + 1
			for j < len(order) && order[j].convID == order[i].convID {
				j++
			}
			if err := s.storeConversation(ctx, tx, q, order[i:j], &rowids); err != nil {
				return err
			}
			i = j
		}
		return nil
	})
	if err == nil && len(rowids) > 0 {
		// Off the commit path: FTS5's work per batch cost as much as the
		// rest of a lone message (search.go, migrations/sqlite/0004).
		s.indexSoon()
	}
	return err
}

// storeConversation stores one conversation's messages of a batch.
func (s *Service) storeConversation(ctx context.Context, tx *sql.Tx, q db.Querier, reqs []*sendReq, rowids *[]any) error {
	convID := reqs[0].convID
	lock := sqlLockConversation
	if s.db.Dialect == db.Postgres {
		lock = sqlLockConversationPG
	}
	var last int64
	err := q.QueryRowContext(ctx, lock, convID).Scan(&last)
	if errors.Is(err, sql.ErrNoRows) {
		for _, r := range reqs {
			r.err = ErrNotFound
		}
		return nil
	} else if err != nil {
		return err
	}
	first := last
	var lastAt time.Time
	member := map[string]bool{} // what this batch knows of its senders
	read := map[string]int64{}
	isMember := func(user string) (bool, error) {
		if ok, seen := member[user]; seen {
			return ok, nil
		}
		_, _, err := membership(ctx, q, convID, user)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return false, err
		}
		member[user] = err == nil
		return err == nil, nil
	}
	for _, r := range reqs {
		plain := r.in.ReplyTo == "" && len(r.in.Mentions) == 0 && len(r.in.Attachments) == 0
		if ok, seen := member[r.userID]; seen && !ok {
			r.err = ErrNotFound
			continue
		}
		if !plain {
			// Outsiders learn nothing from checks on replies, mentions or
			// files: membership comes first.
			ok, err := isMember(r.userID)
			if err != nil {
				return err
			}
			if !ok {
				r.err = ErrNotFound
				continue
			}
		}
		stored, err := s.storeOne(ctx, tx, q, r, last+1, rowids)
		if err != nil {
			if !ownFault(err) {
				return err
			}
			r.err = err
			continue
		}
		if !stored {
			// A retry, or (for a plain message) a sender who is not a member.
			ok, err := isMember(r.userID)
			if err != nil {
				return err
			}
			if !ok {
				r.dup, r.err = false, ErrNotFound
			}
			continue
		}
		member[r.userID] = true
		last++
		lastAt = r.msg.CreatedAt
		read[r.userID] = last
	}
	if last == first {
		return nil
	}
	senders := slices.Sorted(maps.Keys(read))
	if s.db.Dialect == db.Postgres {
		seqs := make([]int64, len(senders))
		for i, u := range senders {
			seqs[i] = read[u]
		}
		_, err := q.ExecContext(ctx, sqlSetLastSeqAndReadPG, convID, last, lastAt, senders, seqs)
		return err
	}
	if _, err := q.ExecContext(ctx, sqlSetLastSeq, convID, last, lastAt); err != nil {
		return err
	}
	// What one sends, one has read.
	for _, u := range senders {
		if _, err := q.ExecContext(ctx, sqlSenderHasRead, read[u], convID, u); err != nil {
			return err
		}
	}
	return nil
}

// storeOne stores r's message with sequence number seq. It reports false
// when the message took no number: a retry (r.dup), or a plain message
// whose sender is not a member.
func (s *Service) storeOne(ctx context.Context, tx *sql.Tx, q db.Querier, r *sendReq, seq int64, rowids *[]any) (bool, error) {
	if s.storeHook != nil {
		if err := s.storeHook(ctx, q, r); err != nil {
			return false, err
		}
	}
	in := r.in
	if in.ReplyTo != "" {
		var ok int
		err := q.QueryRowContext(ctx, sqlReplyToExists, in.ReplyTo, r.convID).Scan(&ok)
		if errors.Is(err, sql.ErrNoRows) {
			return false, httpx.Invalid(httpx.FieldError{Field: "reply_to", Detail: "no such message in this conversation"})
		} else if err != nil {
			return false, err
		}
	}
	mentions, err := s.checkMentions(ctx, q, r.convID, in.Mentions)
	if err != nil {
		return false, err
	}
	now := s.now()
	msg := Message{
		ID: newID(), ConversationID: r.convID, Seq: seq, SenderID: r.userID, ClientID: in.ClientID, Body: in.Body,
		Mentions: mentions, Attachments: []Attachment{}, Reactions: []Reaction{}, CreatedAt: now,
	}
	if in.ReplyTo != "" {
		msg.ReplyTo = &in.ReplyTo
	}
	if len(in.Attachments) > 0 {
		// A retry must find its first message before its files, which
		// that message already holds, are claimed again.
		var one int
		err := q.QueryRowContext(ctx, sqlClientIDTaken, r.convID, r.userID, in.ClientID).Scan(&one)
		if err == nil {
			r.dup = true
			return false, nil
		} else if !errors.Is(err, sql.ErrNoRows) {
			return false, err
		}
		// Claiming files writes before it can fail: undo it alone.
		if _, err := q.ExecContext(ctx, batchSavepoint); err != nil {
			return false, err
		}
		n := len(*rowids)
		stored, err := s.insertMessage(ctx, tx, q, r, &msg, rowids)
		if err != nil || !stored {
			*rowids = (*rowids)[:n]
			if _, rbErr := q.ExecContext(ctx, batchRollbackTo); rbErr != nil {
				return false, rbErr
			}
		}
		if _, relErr := q.ExecContext(ctx, batchReleaseSavept); relErr != nil {
			return false, relErr
		}
		return stored, err
	}
	return s.insertMessage(ctx, tx, q, r, &msg, rowids)
}

// insertMessage claims msg's attachments and inserts it with its event.
// On SQLite it adds the message's rowid to rowids.
func (s *Service) insertMessage(ctx context.Context, tx *sql.Tx, q db.Querier, r *sendReq, msg *Message, rowids *[]any) (bool, error) {
	var err error
	if len(r.in.Attachments) > 0 {
		if msg.Attachments, err = s.resolveAttachments(ctx, tx, r.convID, r.userID, msg.ID, r.in.Attachments); err != nil {
			return false, err
		}
	}
	mentionsJSON, _ := json.Marshal(msg.Mentions)
	attachmentsJSON, _ := json.Marshal(msg.Attachments)
	args := []any{msg.ID, msg.ConversationID, msg.Seq, msg.SenderID, msg.ClientID, msg.Body,
		msg.ReplyTo, string(mentionsJSON), string(attachmentsJSON), msg.CreatedAt}
	var res sql.Result
	if s.db.Dialect == db.Postgres {
		res, err = q.ExecContext(ctx, sqlInsertMessageAndEventPG, args...)
	} else {
		res, err = q.ExecContext(ctx, sqlInsertMessage, args...)
	}
	if err != nil {
		return false, fmt.Errorf("chat: insert message: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	if n == 0 {
		r.dup = true // a retry of a stored message, or not a member (see storeConversation)
		return false, nil
	}
	if s.db.Dialect != db.Postgres {
		rowid, err := res.LastInsertId()
		if err != nil {
			return false, err
		}
		*rowids = append(*rowids, rowid)
		if _, err := q.ExecContext(ctx, sqlInsertMessageEvent, msg.ConversationID, msg.Seq, msg.SenderID, msg.ID, msg.CreatedAt); err != nil {
			return false, fmt.Errorf("chat: insert event: %w", err)
		}
	}
	r.stored(*msg)
	return true, nil
}

// stored records that r's message is msg, with its event.
func (r *sendReq) stored(msg Message) {
	r.msg = msg
	r.ev = Event{ConversationID: msg.ConversationID, Seq: msg.Seq, Type: EventMessageCreated, ActorID: msg.SenderID,
		At: msg.CreatedAt, MessageID: msg.ID}
	r.ev.Message = &r.msg
}

// toPublisher hands a committed batch to the publisher, which announces
// batches in the order they committed and then answers their senders.
// Committing the next batch does not wait for announcing this one.
func (s *Service) toPublisher(batch []*sendReq) {
	q := &s.sends
	q.pubMu.Lock()
	q.pubQueue = append(q.pubQueue, batch)
	start := !q.publishing
	q.publishing = true
	q.pubMu.Unlock()
	if start {
		go s.publishLoop()
	}
}

func (s *Service) publishLoop() {
	q := &s.sends
	for {
		q.pubMu.Lock()
		if len(q.pubQueue) == 0 {
			q.publishing = false
			q.pubMu.Unlock()
			return
		}
		batch := q.pubQueue[0]
		q.pubQueue[0] = nil
		q.pubQueue = q.pubQueue[1:]
		q.pubMu.Unlock()
		// In sequence order within each conversation.
		order := slices.Clone(batch)
		slices.SortStableFunc(order, func(a, b *sendReq) int {
			if c := cmp.Compare(a.convID, b.convID); c != 0 {
				return c
			}
			return cmp.Compare(a.ev.Seq, b.ev.Seq)
		})
		var out committed
		for _, r := range order {
			if r.err == nil && !r.dup && r.ev.Seq != 0 {
				out.events = append(out.events, r.ev)
			}
		}
		s.publish(context.Background(), out)
		for _, r := range batch {
			close(r.done)
		}
	}
}
