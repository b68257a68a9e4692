CREATE TABLE desk_queues (
	id                    TEXT PRIMARY KEY,
	key                   TEXT NOT NULL UNIQUE,
	name                  TEXT NOT NULL,
	channels              TEXT NOT NULL,  -- JSON array: video, voice, chat
	required_skills       TEXT NOT NULL,  -- JSON object: skill -> minimum level
	schedule              TEXT NOT NULL,  -- JSON desk.Schedule
	service_level_seconds INTEGER NOT NULL,
	ring_timeout_seconds  INTEGER NOT NULL,
	wrapup_seconds        INTEGER NOT NULL,
	max_waiting           INTEGER NOT NULL,
	when_closed           TEXT NOT NULL CHECK (when_closed IN ('callback', 'message', 'none')),
	origins               TEXT NOT NULL,  -- JSON array of allowed web origins
	widget_secret         TEXT NOT NULL,
	created_at            TIMESTAMP NOT NULL,
	updated_at            TIMESTAMP NOT NULL
);

CREATE TABLE desk_agents (
	user_id       TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	status        TEXT NOT NULL CHECK (status IN ('available', 'busy', 'wrapup', 'away', 'offline')),
	status_since  TIMESTAMP NOT NULL,
	idle_since    TIMESTAMP NOT NULL,  -- longest idle is offered first
	wrapup_until  TIMESTAMP,
	max_chats     INTEGER NOT NULL,
	missed_in_row INTEGER NOT NULL DEFAULT 0,
	manager       BOOLEAN NOT NULL DEFAULT false
);
CREATE INDEX desk_agents_idle ON desk_agents (status, idle_since);

CREATE TABLE desk_agent_queues (
	user_id  TEXT NOT NULL REFERENCES desk_agents (user_id) ON DELETE CASCADE,
	queue_id TEXT NOT NULL REFERENCES desk_queues (id) ON DELETE CASCADE,
	PRIMARY KEY (user_id, queue_id)
);
CREATE INDEX desk_agent_queues_queue ON desk_agent_queues (queue_id, user_id);

CREATE TABLE desk_agent_skills (
	user_id TEXT NOT NULL REFERENCES desk_agents (user_id) ON DELETE CASCADE,
	skill   TEXT NOT NULL,
	level   INTEGER NOT NULL,
	PRIMARY KEY (user_id, skill)
);

CREATE TABLE desk_queue_skills (
	queue_id  TEXT NOT NULL REFERENCES desk_queues (id) ON DELETE CASCADE,
	skill     TEXT NOT NULL,
	min_level INTEGER NOT NULL,
	PRIMARY KEY (queue_id, skill)
);

CREATE TABLE desk_requests (
	id               TEXT PRIMARY KEY,
	queue_id         TEXT NOT NULL REFERENCES desk_queues (id),
	channel          TEXT NOT NULL CHECK (channel IN ('video', 'voice', 'chat')),
	status           TEXT NOT NULL CHECK (status IN ('waiting', 'offered', 'active', 'ended', 'abandoned', 'callback')),
	customer_id      TEXT NOT NULL REFERENCES users (id),
	name             TEXT NOT NULL,
	identity         TEXT NOT NULL CHECK (identity IN ('guest', 'member', 'verified', 'forged')),
	external_id      TEXT NOT NULL DEFAULT '',
	location         TEXT NOT NULL DEFAULT '',
	page             TEXT NOT NULL DEFAULT '',
	device           TEXT NOT NULL DEFAULT '',
	callback_contact TEXT NOT NULL DEFAULT '',
	callback_at      TIMESTAMP,
	created_at       TIMESTAMP NOT NULL,
	enqueued_at      TIMESTAMP NOT NULL,
	answered_at      TIMESTAMP,
	ended_at         TIMESTAMP,
	end_reason       TEXT NOT NULL DEFAULT '',
	agent_id         TEXT REFERENCES users (id),
	conversation_id  TEXT NOT NULL,
	call_id          TEXT NOT NULL DEFAULT '',
	offers           INTEGER NOT NULL DEFAULT 0,
	wrapup_code      TEXT NOT NULL DEFAULT '',
	notes            TEXT NOT NULL DEFAULT '',
	rating           INTEGER,
	rating_comment   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX desk_requests_line ON desk_requests (status, enqueued_at);
CREATE INDEX desk_requests_queue_day ON desk_requests (queue_id, created_at);
CREATE INDEX desk_requests_agent ON desk_requests (agent_id, status);
CREATE INDEX desk_requests_customer ON desk_requests (customer_id);
CREATE INDEX desk_requests_external ON desk_requests (external_id) WHERE external_id <> '';

CREATE TABLE desk_offers (
	id         TEXT PRIMARY KEY,
	request_id TEXT NOT NULL REFERENCES desk_requests (id) ON DELETE CASCADE,
	agent_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	state      TEXT NOT NULL CHECK (state IN ('pending', 'accepted', 'declined', 'expired', 'withdrawn')),
	created_at TIMESTAMP NOT NULL,
	expires_at TIMESTAMP NOT NULL,
	decided_at TIMESTAMP
);
-- The router's promise, kept by the database: no agent holds two offers,
-- and no request is offered to two agents at once.
CREATE UNIQUE INDEX desk_offers_one_per_agent ON desk_offers (agent_id) WHERE state = 'pending';
CREATE UNIQUE INDEX desk_offers_one_per_request ON desk_offers (request_id) WHERE state = 'pending';
CREATE INDEX desk_offers_expiry ON desk_offers (state, expires_at);
CREATE INDEX desk_offers_request_agent ON desk_offers (request_id, agent_id);
