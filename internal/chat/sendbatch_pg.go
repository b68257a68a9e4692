package chat

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"time"
)

// A send batch on PostgreSQL, as array statements. Each statement is a
// round trip to another process, and under load each one waits for a
// backend to be scheduled, so a batch costs the same four whatever its size:
// BEGIN; lock the batch's conversations and read what the batch needs to
// know (memberships, client ids already stored); write everything (the
// messages, their events, the conversations' sequence counters and the
// senders' read cursors); COMMIT.
//
// The guarantees are those of the statement-per-message path
// (storeConversation), which still stores the conversations of a batch
// that hold a message with a reply, mentions or files:
//   - gap-free sequences: the batch's conversation rows are locked (FOR
//     UPDATE, in id order, so two transactions cannot deadlock), numbers
//     are given out in Go from last_seq, and only to messages that will be
//     stored;
//   - membership and exactly once: a sender who is not a member fails
//     alone; a client id stored before, or met earlier in the same batch,
//     is answered with the first message and takes no number;
//   - the insert checks both again (WHERE EXISTS, ON CONFLICT DO NOTHING),
//     and if it stores fewer rows than were numbered, the batch fails as a
//     whole and every message is tried alone, rather than leaving a gap.
//
// That last check is what makes reading under the lock in the same
// statement as taking it safe. A statement reads from the snapshot it
// started with: if the lock had to wait for another transaction (a member
// removed, say), what the same statement read of members and messages may
// predate that transaction's commit. The write that follows is a new
// statement and sees it, so a stale answer costs a retry, never a wrong
// row. Each conversation's sends go to one committer (commitShard), so the
// lock waits only for the rarer writes: membership, edits, reactions, calls.

const (
	// Locks the batch's conversations ($1, every one of them, in id order)
	// and answers, for each (conversation, sender, client id) of its plain
	// messages, whether the sender is a member and whether the client id
	// is already stored. Rows of the first kind have a last_seq; those of
	// the second have none.
	sqlLockAndCheckPG = `WITH locked AS MATERIALIZED (
		SELECT id, last_seq FROM conversations WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE)
	SELECT id, last_seq, '', '', false, false FROM locked
	UNION ALL
	SELECT v.conv, NULL, v.usr, v.client,
		EXISTS (SELECT 1 FROM members m WHERE m.conversation_id = v.conv AND m.user_id = v.usr),
		EXISTS (SELECT 1 FROM messages x WHERE x.conversation_id = v.conv AND x.sender_id = v.usr AND x.client_id = v.client)
	FROM unnest($2::text[], $3::text[], $4::text[]) AS v(conv, usr, client)`
	// Every message of the batch with its event, the conversations' new
	// last_seq and the senders' read cursors (what one sends, one has
	// read), in one statement; it answers how many messages it stored.
	sqlStoreBatchPG = `WITH m AS (
		INSERT INTO messages (id, conversation_id, seq, sender_id, client_id, body, reply_to, mentions, attachments, created_at)
		SELECT v.id, v.conv, v.seq, v.sender, v.client, v.body, NULL, '[]', '[]', v.at
		FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::timestamptz[])
			AS v(id, conv, seq, sender, client, body, at)
		WHERE EXISTS (SELECT 1 FROM members WHERE conversation_id = v.conv AND user_id = v.sender)
		ON CONFLICT (conversation_id, sender_id, client_id) DO NOTHING
		RETURNING conversation_id, seq, sender_id, id, created_at),
	e AS (
		INSERT INTO events (conversation_id, seq, type, actor_id, message_id, data, created_at)
		SELECT conversation_id, seq, 'message.created', sender_id, id, '{}', created_at FROM m),
	c AS (
		UPDATE conversations SET last_seq = v.seq, last_activity_at = v.at
		FROM unnest($8::text[], $9::bigint[], $10::timestamptz[]) AS v(id, seq, at)
		WHERE conversations.id = v.id),
	r AS (
		UPDATE members SET read_seq = v.seq
		FROM unnest($11::text[], $12::text[], $13::bigint[]) AS v(conv, usr, seq)
		WHERE members.conversation_id = v.conv AND members.user_id = v.usr)
	SELECT count(*) FROM m`
)

// plainMessage reports whether r is text alone, which the array path
// stores; replies, mentions and files need their own checks.
func plainMessage(r *sendReq) bool {
	return r.in.ReplyTo == "" && len(r.in.Mentions) == 0 && len(r.in.Attachments) == 0
}

// sendKey names a message for exactly-once: its sender's client id in a
// conversation.
type sendKey struct{ conv, user, client string }

type convUser struct{ conv, user string }

// batchFacts is what the batch's first statement learned.
type batchFacts struct {
	last   map[string]int64 // each conversation found, locked: its last seq
	member map[convUser]bool
	taken  map[sendKey]bool // client ids stored before
}

// storeBatchPG stores order (sorted by conversation, each conversation's
// messages in arrival order) inside tx. As storeBatch, it returns an error
// only when the transaction failed as a whole.
func (s *Service) storeBatchPG(ctx context.Context, tx *sql.Tx, order []*sendReq) error {
	var (
		convIDs []string
		groups  [][]*sendReq // one conversation's messages each
		byArray []bool       // whether groups[i] holds plain messages only
		plain   []*sendReq   // the messages of those conversations
	)
	for i := 0; i < len(order); {
		j := i + 1
		for j < len(order) && order[j].convID == order[i].convID {
			j++
		}
		reqs := order[i:j]
		i = j
		convIDs = append(convIDs, reqs[0].convID)
		allPlain := !slices.ContainsFunc(reqs, func(r *sendReq) bool { return !plainMessage(r) })
		groups, byArray = append(groups, reqs), append(byArray, allPlain)
		if allPlain {
			plain = append(plain, reqs...)
		}
	}
	if s.storeHook != nil {
		for _, r := range plain {
			if err := s.storeHook(ctx, tx, r); err != nil {
				if !ownFault(err) {
					return err
				}
				r.err = err
			}
		}
	}
	facts, err := lockAndCheckPG(ctx, tx, convIDs, plain)
	if err != nil {
		return err
	}
	for i, reqs := range groups {
		if _, ok := facts.last[reqs[0].convID]; !ok {
			for _, r := range reqs {
				r.err = ErrNotFound
			}
			continue
		}
		if !byArray[i] {
			// Its lock is already held; taking it again returns at once.
			if err := s.storeConversation(ctx, tx, tx, reqs, new([]any)); err != nil {
				return err
			}
		}
	}
	return s.storePlainPG(ctx, tx, plain, facts)
}

// lockAndCheckPG locks the conversations convIDs and reads what storing
// plain needs, in one round trip.
func lockAndCheckPG(ctx context.Context, tx *sql.Tx, convIDs []string, plain []*sendReq) (batchFacts, error) {
	facts := batchFacts{last: map[string]int64{}, member: map[convUser]bool{}, taken: map[sendKey]bool{}}
	asked := map[sendKey]bool{}
	var convs, users, clients []string
	for _, r := range plain {
		k := sendKey{r.convID, r.userID, r.in.ClientID}
		if r.err != nil || asked[k] {
			continue
		}
		asked[k] = true
		convs, users, clients = append(convs, k.conv), append(users, k.user), append(clients, k.client)
	}
	rows, err := tx.QueryContext(ctx, sqlLockAndCheckPG, convIDs, convs, users, clients)
	if err != nil {
		return facts, fmt.Errorf("chat: lock conversations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			k             sendKey
			last          sql.NullInt64
			isMember, dup bool
		)
		if err := rows.Scan(&k.conv, &last, &k.user, &k.client, &isMember, &dup); err != nil {
			return facts, err
		}
		if last.Valid {
			facts.last[k.conv] = last.Int64
			continue
		}
		facts.member[convUser{k.conv, k.user}] = isMember
		facts.taken[k] = dup
	}
	return facts, rows.Err()
}

// storePlainPG stores plain messages of conversations locked by the
// caller, in one statement.
func (s *Service) storePlainPG(ctx context.Context, tx *sql.Tx, reqs []*sendReq, facts batchFacts) error {
	last, member, taken := facts.last, facts.member, facts.taken
	var (
		ids, msgConvs, senders, clientIDs, bodies []string
		seqs                                      []int64
		ats                                       []time.Time
		stored                                    []*sendReq
		lastAt                                    = map[string]time.Time{}
		read                                      = map[convUser]int64{}
	)
	for _, r := range reqs {
		if r.err != nil {
			continue
		}
		if !member[convUser{r.convID, r.userID}] {
			r.err = ErrNotFound
			continue
		}
		k := sendKey{r.convID, r.userID, r.in.ClientID}
		if taken[k] {
			r.dup = true // answered with the first message, after the commit
			continue
		}
		taken[k] = true
		last[r.convID]++
		msg := Message{
			ID: newID(), ConversationID: r.convID, Seq: last[r.convID], SenderID: r.userID, ClientID: r.in.ClientID,
			Body: r.in.Body, Mentions: []string{}, Attachments: []Attachment{}, Reactions: []Reaction{}, CreatedAt: s.now(),
		}
		r.stored(msg)
		stored = append(stored, r)
		ids, msgConvs, senders = append(ids, msg.ID), append(msgConvs, msg.ConversationID), append(senders, msg.SenderID)
		clientIDs, bodies = append(clientIDs, msg.ClientID), append(bodies, msg.Body)
		seqs, ats = append(seqs, msg.Seq), append(ats, msg.CreatedAt)
		lastAt[r.convID] = msg.CreatedAt
		read[convUser{r.convID, r.userID}] = msg.Seq
	}
	if len(stored) == 0 {
		return nil
	}
	var (
		convIDs   []string
		convSeqs  []int64
		convAts   []time.Time
		readConvs []string
		readUsers []string
		readSeqs  []int64
	)
	// In a fixed order, as rows are locked.
	for _, conv := range slices.Sorted(maps.Keys(lastAt)) {
		convIDs, convSeqs, convAts = append(convIDs, conv), append(convSeqs, last[conv]), append(convAts, lastAt[conv])
	}
	for _, cu := range slices.SortedFunc(maps.Keys(read), func(a, b convUser) int {
		return cmp.Or(cmp.Compare(a.conv, b.conv), cmp.Compare(a.user, b.user))
	}) {
		readConvs, readUsers, readSeqs = append(readConvs, cu.conv), append(readUsers, cu.user), append(readSeqs, read[cu])
	}
	var n int
	if err := tx.QueryRowContext(ctx, sqlStoreBatchPG, ids, msgConvs, seqs, senders, clientIDs, bodies, ats,
		convIDs, convSeqs, convAts, readConvs, readUsers, readSeqs).Scan(&n); err != nil {
		return fmt.Errorf("chat: store batch: %w", err)
	}
	if n != len(stored) {
		// Cannot happen while every send takes the conversation's lock;
		// if it does, no message may take a number it did not use.
		for _, r := range stored {
			r.msg, r.ev = Message{}, Event{}
		}
		return fmt.Errorf("chat: store batch: %d of %d messages stored", n, len(stored))
	}
	return nil
}
