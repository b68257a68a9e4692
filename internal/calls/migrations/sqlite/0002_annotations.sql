ALTER TABLE calls ADD COLUMN annotation_seq INTEGER NOT NULL DEFAULT 0;

-- Drawings over a shared screen are part of the call's record (not of the
-- video): every stroke, undo and clear, numbered per call.
CREATE TABLE call_annotations (
	call_id    TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
	seq        INTEGER NOT NULL,
	user_id    TEXT NOT NULL REFERENCES users (id),
	data       TEXT NOT NULL,
	created_at TIMESTAMP NOT NULL,
	PRIMARY KEY (call_id, seq)
);
