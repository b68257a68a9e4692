CREATE TABLE conversations (
	id               TEXT PRIMARY KEY,
	kind             TEXT NOT NULL CHECK (kind IN ('direct', 'group')),
	title            TEXT NOT NULL DEFAULT '',
	direct_key       TEXT UNIQUE,
	created_by       TEXT NOT NULL REFERENCES users (id),
	created_at       TIMESTAMP NOT NULL,
	last_seq         INTEGER NOT NULL DEFAULT 0,
	last_activity_at TIMESTAMP NOT NULL,
	member_count     INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE members (
	conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
	user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	role            TEXT NOT NULL CHECK (role IN ('admin', 'member')),
	joined_at       TIMESTAMP NOT NULL,
	joined_seq      INTEGER NOT NULL,
	read_seq        INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX members_user ON members (user_id);

CREATE TABLE messages (
	id              TEXT PRIMARY KEY,
	conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
	seq             INTEGER NOT NULL,
	sender_id       TEXT NOT NULL REFERENCES users (id),
	client_id       TEXT NOT NULL,
	body            TEXT NOT NULL,
	reply_to        TEXT,
	mentions        TEXT NOT NULL DEFAULT '[]',
	attachments     TEXT NOT NULL DEFAULT '[]',
	created_at      TIMESTAMP NOT NULL,
	edited_at       TIMESTAMP,
	deleted_at      TIMESTAMP,
	UNIQUE (conversation_id, seq),
	UNIQUE (conversation_id, sender_id, client_id)
);

CREATE TABLE reactions (
	message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
	user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	emoji      TEXT NOT NULL,
	created_at TIMESTAMP NOT NULL,
	PRIMARY KEY (message_id, user_id, emoji)
);

-- The change log every device catches up from: one row per change, numbered
-- per conversation. Rows are thin; message events are rendered with the
-- message's current state, so a deleted message's text is gone everywhere.
CREATE TABLE events (
	conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
	seq             INTEGER NOT NULL,
	type            TEXT NOT NULL,
	actor_id        TEXT NOT NULL,
	message_id      TEXT,
	data            TEXT NOT NULL DEFAULT '{}',
	created_at      TIMESTAMP NOT NULL,
	PRIMARY KEY (conversation_id, seq)
);

CREATE VIRTUAL TABLE messages_fts USING fts5 (body, content = 'messages', content_rowid = 'rowid', tokenize = 'unicode61');
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
	INSERT INTO messages_fts (rowid, body) VALUES (new.rowid, new.body);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
	INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.rowid, old.body);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages BEGIN
	INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.rowid, old.body);
	INSERT INTO messages_fts (rowid, body) VALUES (new.rowid, new.body);
END;
