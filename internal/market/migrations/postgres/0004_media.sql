-- Experts' photos and listings' intro videos, stored as blobs.
CREATE TABLE market_media (
	id           TEXT PRIMARY KEY,
	owner_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	kind         TEXT NOT NULL CHECK (kind IN ('photo', 'video')),
	content_type TEXT NOT NULL,
	size         BIGINT NOT NULL,
	created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX market_media_owner ON market_media (owner_id, created_at);
