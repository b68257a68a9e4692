-- Contact details seen in pre-session chat, for the operator (policy "flag").
CREATE TABLE market_contact_flags (
	id              TEXT PRIMARY KEY,
	conversation_id TEXT NOT NULL,
	sender_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	kinds           TEXT NOT NULL,  -- "email", "phone" or "email,phone"
	created_at      TIMESTAMP NOT NULL
);
CREATE INDEX market_contact_flags_time ON market_contact_flags (created_at);
