-- Categories the operator edits; each has its own commission (Health: 0).
CREATE TABLE market_categories (
	key            TEXT PRIMARY KEY,
	name           TEXT NOT NULL,
	commission_bps INTEGER NOT NULL CHECK (commission_bps BETWEEN 0 AND 10000),
	health         BOOLEAN NOT NULL DEFAULT false,
	position       INTEGER NOT NULL
);
INSERT INTO market_categories (key, name, commission_bps, health, position) VALUES
	('art-music', 'Art & Music', 2000, false, 1),
	('computers-electronics', 'Computers & Electronics', 2000, false, 2),
	('cooking', 'Cooking', 2000, false, 3),
	('education-careers', 'Education & Careers', 2000, false, 4),
	('fashion-beauty', 'Fashion & Beauty', 2000, false, 5),
	('fitness-nutrition', 'Fitness & Nutrition', 2000, false, 6),
	('health', 'Health', 0, true, 7),
	('home-garden', 'Home & Garden', 2000, false, 8);

CREATE TABLE market_experts (
	user_id              TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	status               TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'changes_requested', 'suspended')),
	headline             TEXT NOT NULL,
	bio                  TEXT NOT NULL,
	photo                TEXT NOT NULL DEFAULT '',  -- an attachment id
	languages            TEXT NOT NULL,             -- JSON array of BCP 47 tags
	categories           TEXT NOT NULL,             -- JSON array of category keys
	credentials          TEXT NOT NULL DEFAULT '',
	licence_number       TEXT NOT NULL DEFAULT '',
	licence_jurisdiction TEXT NOT NULL DEFAULT '',
	time_zone            TEXT NOT NULL DEFAULT 'UTC',
	created_at           TIMESTAMP NOT NULL,
	updated_at           TIMESTAMP NOT NULL
);

-- Every decision of the operator, on an expert or a listing, is kept.
CREATE TABLE market_decisions (
	id           TEXT PRIMARY KEY,
	subject_type TEXT NOT NULL CHECK (subject_type IN ('expert', 'listing', 'review')),
	subject_id   TEXT NOT NULL,
	decision     TEXT NOT NULL,
	reason       TEXT NOT NULL DEFAULT '',
	decided_by   TEXT NOT NULL REFERENCES users (id),
	decided_at   TIMESTAMP NOT NULL
);
CREATE INDEX market_decisions_subject ON market_decisions (subject_type, subject_id, decided_at);

CREATE TABLE market_listings (
	id                   TEXT PRIMARY KEY,
	expert_id            TEXT NOT NULL REFERENCES market_experts (user_id) ON DELETE CASCADE,
	status               TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'changes_requested', 'suspended', 'withdrawn')),
	title                TEXT NOT NULL,
	description          TEXT NOT NULL,
	category             TEXT NOT NULL REFERENCES market_categories (key),
	languages            TEXT NOT NULL,
	intro_video          TEXT NOT NULL DEFAULT '',  -- an attachment id
	price_model          TEXT NOT NULL CHECK (price_model IN ('free', 'per_minute', 'per_hour', 'per_session')),
	price_amount         BIGINT NOT NULL CHECK (price_amount >= 0),
	currency             TEXT NOT NULL,
	min_billable_minutes INTEGER NOT NULL,
	session_minutes      INTEGER,                   -- null: open-ended (per minute only)
	cancellation         TEXT NOT NULL CHECK (cancellation IN ('flexible', 'moderate', 'strict')),
	start_now            BOOLEAN NOT NULL,
	rating_sum           INTEGER NOT NULL DEFAULT 0,
	rating_count         INTEGER NOT NULL DEFAULT 0,
	created_at           TIMESTAMP NOT NULL,
	updated_at           TIMESTAMP NOT NULL,
	approved_at          TIMESTAMP
);
CREATE INDEX market_listings_browse ON market_listings (status, category, price_amount);
CREATE INDEX market_listings_expert ON market_listings (expert_id);

CREATE VIRTUAL TABLE market_listings_fts USING fts5 (title, description, content = 'market_listings', content_rowid = 'rowid', tokenize = 'unicode61');
CREATE TRIGGER market_listings_fts_insert AFTER INSERT ON market_listings BEGIN
	INSERT INTO market_listings_fts (rowid, title, description) VALUES (new.rowid, new.title, new.description);
END;
CREATE TRIGGER market_listings_fts_delete AFTER DELETE ON market_listings BEGIN
	INSERT INTO market_listings_fts (market_listings_fts, rowid, title, description) VALUES ('delete', old.rowid, old.title, old.description);
END;
CREATE TRIGGER market_listings_fts_update AFTER UPDATE OF title, description ON market_listings BEGIN
	INSERT INTO market_listings_fts (market_listings_fts, rowid, title, description) VALUES ('delete', old.rowid, old.title, old.description);
	INSERT INTO market_listings_fts (rowid, title, description) VALUES (new.rowid, new.title, new.description);
END;
