-- A booking whose card asked the learner to authenticate (3-D Secure): the
-- authorization is made, nothing is booked yet. The learner comes back
-- from their bank and the booking is completed (session id = attempt id),
-- or it fails (the slot was taken meanwhile: the authorization is
-- cancelled). Its id is the session's, so completing twice books once.
CREATE TABLE market_booking_attempts (
	id         TEXT PRIMARY KEY,
	learner_id TEXT NOT NULL REFERENCES users (id),
	listing_id TEXT NOT NULL REFERENCES market_listings (id),
	start_at   TIMESTAMPTZ, -- NULL: "start now"
	amount     BIGINT NOT NULL CHECK (amount > 0),
	currency   TEXT NOT NULL,
	auth_id    TEXT NOT NULL,
	status     TEXT NOT NULL CHECK (status IN ('pending', 'booked', 'failed')),
	created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX market_booking_attempts_learner ON market_booking_attempts (learner_id, created_at);
