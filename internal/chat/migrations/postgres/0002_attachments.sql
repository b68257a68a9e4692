-- Files people attach to messages. A row is written once the whole file is
-- stored under blob_key; message_id stays NULL until a message uses it (an
-- attachment belongs to at most one message). The foreign key on message_id
-- is checked at commit, because a message claims its attachments before its
-- own row is inserted.
CREATE TABLE attachments (
	id              TEXT PRIMARY KEY,
	conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
	uploader_id     TEXT NOT NULL REFERENCES users (id),
	name            TEXT NOT NULL,
	content_type    TEXT NOT NULL,
	size            BIGINT NOT NULL CHECK (size >= 0),
	width           INTEGER NOT NULL DEFAULT 0 CHECK (width >= 0),
	height          INTEGER NOT NULL DEFAULT 0 CHECK (height >= 0),
	blob_key        TEXT NOT NULL UNIQUE,
	created_at      TIMESTAMPTZ NOT NULL,
	message_id      TEXT REFERENCES messages (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX attachments_conversation ON attachments (conversation_id);
CREATE INDEX attachments_message ON attachments (message_id);
-- Drafts never sent are pruned by age.
CREATE INDEX attachments_drafts ON attachments (created_at) WHERE message_id IS NULL;
