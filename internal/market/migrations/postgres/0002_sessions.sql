-- When an expert takes sessions: weekly hours in their zone (with holidays
-- and exceptions), a buffer between sessions, a daily maximum, and the
-- "available now" switch for instant sessions.
CREATE TABLE market_availability (
	expert_id      TEXT PRIMARY KEY REFERENCES market_experts (user_id) ON DELETE CASCADE,
	hours          TEXT NOT NULL,  -- JSON desk.Schedule
	buffer_minutes INTEGER NOT NULL DEFAULT 0,
	max_per_day    INTEGER NOT NULL DEFAULT 8,
	available_now  BOOLEAN NOT NULL DEFAULT false,
	updated_at     TIMESTAMPTZ NOT NULL
);

-- A session between a learner and an expert, booked or started now, with
-- the listing's terms copied at booking (later edits never change a
-- booked price) and, once it ends, what it cost.
CREATE TABLE market_sessions (
	id                   TEXT PRIMARY KEY,
	listing_id           TEXT NOT NULL REFERENCES market_listings (id),
	expert_id            TEXT NOT NULL REFERENCES users (id),
	learner_id           TEXT NOT NULL REFERENCES users (id),
	kind                 TEXT NOT NULL CHECK (kind IN ('booked', 'now')),
	status               TEXT NOT NULL CHECK (status IN ('booked', 'ringing', 'active', 'completed', 'cancelled', 'missed')),
	start_at             TIMESTAMPTZ NOT NULL,
	end_at               TIMESTAMPTZ NOT NULL,  -- the slot's end (booked), or the latest the hold covers (now)
	price_model          TEXT NOT NULL,
	price_amount         BIGINT NOT NULL,
	currency             TEXT NOT NULL,
	min_billable_minutes INTEGER NOT NULL,
	session_minutes      INTEGER,
	commission_bps       INTEGER NOT NULL,
	cancellation         TEXT NOT NULL,
	hold_id              TEXT NOT NULL DEFAULT '',
	settlement_id        TEXT NOT NULL DEFAULT '',
	conversation_id      TEXT NOT NULL DEFAULT '',
	call_id              TEXT NOT NULL DEFAULT '',
	started_at           TIMESTAMPTZ,
	ended_at             TIMESTAMPTZ,
	ended_by             TEXT NOT NULL DEFAULT '',
	billable_seconds     BIGINT NOT NULL DEFAULT 0,
	charged              BIGINT NOT NULL DEFAULT 0,
	commission           BIGINT NOT NULL DEFAULT 0,
	cancel_fee           BIGINT NOT NULL DEFAULT 0,
	created_at           TIMESTAMPTZ NOT NULL
);
CREATE INDEX market_sessions_expert ON market_sessions (expert_id, status, start_at);
CREATE INDEX market_sessions_learner ON market_sessions (learner_id, start_at);
CREATE INDEX market_sessions_open ON market_sessions (status, end_at);

CREATE TABLE market_reviews (
	id          TEXT PRIMARY KEY,
	session_id  TEXT NOT NULL UNIQUE REFERENCES market_sessions (id),
	listing_id  TEXT NOT NULL REFERENCES market_listings (id),
	expert_id   TEXT NOT NULL,
	learner_id  TEXT NOT NULL,
	score       INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
	body        TEXT NOT NULL DEFAULT '',
	reply       TEXT NOT NULL DEFAULT '',
	replied_at  TIMESTAMPTZ,
	hidden      BOOLEAN NOT NULL DEFAULT false,
	created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX market_reviews_listing ON market_reviews (listing_id, created_at);

-- Money-back guarantee claims, decided by the operator.
CREATE TABLE market_claims (
	id              TEXT PRIMARY KEY,
	session_id      TEXT NOT NULL UNIQUE REFERENCES market_sessions (id),
	reason          TEXT NOT NULL,
	status          TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
	created_at      TIMESTAMPTZ NOT NULL,
	decided_at      TIMESTAMPTZ,
	decided_by      TEXT NOT NULL DEFAULT '',
	decision_reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX market_claims_status ON market_claims (status, created_at);
