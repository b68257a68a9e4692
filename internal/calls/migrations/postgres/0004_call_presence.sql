-- Media presence: when each device of each person in a call had its media
-- connected, from the SFU's own connection events on the call's node. The
-- marketplace bills the time both parties were connected.
CREATE TABLE call_presence (
	call_id         TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
	user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	device          TEXT NOT NULL,
	connected_at    TIMESTAMPTZ NOT NULL,
	disconnected_at TIMESTAMPTZ,
	-- The run of the node that records the interval, and when that run
	-- last vouched the interval was still open: a node that restarts closes
	-- what its previous run left open at that time, not at its own.
	run             TEXT NOT NULL,
	seen_at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX call_presence_call ON call_presence (call_id, connected_at);
-- A device is connected once at a time.
CREATE UNIQUE INDEX call_presence_open ON call_presence (call_id, user_id, device) WHERE disconnected_at IS NULL;
CREATE INDEX call_presence_run ON call_presence (run) WHERE disconnected_at IS NULL;
