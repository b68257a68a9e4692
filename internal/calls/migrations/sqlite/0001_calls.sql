CREATE TABLE calls (
	id              TEXT PRIMARY KEY,
	conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
	kind            TEXT NOT NULL CHECK (kind IN ('voice', 'video')),
	state           TEXT NOT NULL CHECK (state IN ('ringing', 'active', 'ended')),
	started_by      TEXT NOT NULL REFERENCES users (id),
	node            TEXT NOT NULL,
	created_at      TIMESTAMP NOT NULL,
	answered_at     TIMESTAMP,
	ended_at        TIMESTAMP,
	end_reason      TEXT NOT NULL DEFAULT ''
);
-- At most one call that has not ended per conversation.
CREATE UNIQUE INDEX calls_live ON calls (conversation_id) WHERE state <> 'ended';
CREATE INDEX calls_ringing ON calls (state, created_at);

CREATE TABLE call_members (
	call_id   TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
	user_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	state     TEXT NOT NULL CHECK (state IN ('ringing', 'joined', 'left', 'declined', 'missed')),
	joined_at TIMESTAMP,
	left_at   TIMESTAMP,
	PRIMARY KEY (call_id, user_id)
);
