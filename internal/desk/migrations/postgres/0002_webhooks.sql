CREATE TABLE desk_webhooks (
	id         TEXT PRIMARY KEY,
	url        TEXT NOT NULL,
	secret     TEXT NOT NULL,
	events     TEXT NOT NULL,  -- JSON array of event names
	created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE desk_webhook_deliveries (
	id              TEXT PRIMARY KEY,
	webhook_id      TEXT NOT NULL REFERENCES desk_webhooks (id) ON DELETE CASCADE,
	event           TEXT NOT NULL,
	payload         TEXT NOT NULL,
	state           TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at TIMESTAMPTZ NOT NULL,
	last_status     INTEGER NOT NULL DEFAULT 0,
	last_error      TEXT NOT NULL DEFAULT '',
	created_at      TIMESTAMPTZ NOT NULL,
	delivered_at    TIMESTAMPTZ
);
CREATE INDEX desk_webhook_deliveries_due ON desk_webhook_deliveries (state, next_attempt_at);
CREATE INDEX desk_webhook_deliveries_hook ON desk_webhook_deliveries (webhook_id, created_at);
