-- New messages are added to the full-text index by the send path itself,
-- once per batch of sends (chat's storeBatch), instead of by a trigger on
-- each row: FTS5 writes its pending terms to disk at every statement that
-- touches it inside a transaction, so a trigger made one index segment per
-- message even when many messages commit together. Edits and deletes keep
-- their triggers. Every INSERT INTO messages must add its rows to
-- messages_fts in the same transaction.
DROP TRIGGER messages_fts_insert;
