-- New messages reach the full-text index after their commit, not in it: a
-- background indexer (chat's search.go) adds them in chunks, in its own
-- transactions on the writer, and a search first indexes whatever is still
-- pending, so it never misses a message that has been sent. This replaces
-- the rule of 0003 (every INSERT INTO messages indexed its rows in the same
-- transaction): FTS5's work no longer runs on the send path at all.
--
-- messages_fts_indexed.upto is the watermark: every messages row whose
-- rowid is at most upto is in messages_fts, and no row above it is. The
-- indexer adds the rows above it and raises it in the same transaction, so
-- a restart indexes whatever was missed. Rows were all indexed until now.
CREATE TABLE messages_fts_indexed (
	id   INTEGER PRIMARY KEY CHECK (id = 1),
	upto INTEGER NOT NULL
);
INSERT INTO messages_fts_indexed (id, upto) SELECT 1, COALESCE(MAX(rowid), 0) FROM messages;

-- An external-content FTS5 table must be told a row's old values to remove
-- it, and must never be told to remove a row it does not hold (that corrupts
-- the index). So edits and deletes touch the index only for rows at or below
-- the watermark; a row above it is indexed later with its current body.
DROP TRIGGER messages_fts_update;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages
WHEN old.rowid <= (SELECT upto FROM messages_fts_indexed) BEGIN
	INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.rowid, old.body);
	INSERT INTO messages_fts (rowid, body) VALUES (new.rowid, new.body);
END;

-- SQLite gives a new row the rowid one above the largest, so deleting the
-- rows at the top could hand an indexed rowid to a new, unindexed message.
-- After every delete the watermark is therefore brought down to the largest
-- rowid left: the next message is numbered above it.
DROP TRIGGER messages_fts_delete;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
	INSERT INTO messages_fts (messages_fts, rowid, body)
		SELECT 'delete', old.rowid, old.body FROM messages_fts_indexed WHERE old.rowid <= upto;
	UPDATE messages_fts_indexed SET upto = (SELECT COALESCE(MAX(rowid), 0) FROM messages)
		WHERE upto > (SELECT COALESCE(MAX(rowid), 0) FROM messages);
END;
