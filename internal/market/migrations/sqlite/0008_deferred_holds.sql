-- The card hold of a session booked further ahead than a card's
-- authorization lasts (about 7 days): placed by the sweep when next_at
-- comes (a day before the start; 6 days for a strict listing), retried on
-- failure, and the session cancelled without a fee if it is still unheld
-- shortly before its start. See market/deferred.go.
CREATE TABLE market_deferred_holds (
	session_id TEXT PRIMARY KEY REFERENCES market_sessions (id),
	amount     BIGINT NOT NULL CHECK (amount > 0),
	currency   TEXT NOT NULL,
	next_at    TIMESTAMP NOT NULL,
	attempts   INTEGER NOT NULL DEFAULT 0,
	last_error TEXT NOT NULL DEFAULT '',
	status     TEXT NOT NULL CHECK (status IN ('pending', 'placed', 'failed', 'dropped')),
	created_at TIMESTAMP NOT NULL
);
CREATE INDEX market_deferred_holds_due ON market_deferred_holds (status, next_at);
