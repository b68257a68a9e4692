-- A card that cannot raise its authorization (no incremental
-- authorization) is extended by another authorization of its own: the
-- hold's further parts, in order after its first (billing_provider_holds).
-- billing_provider_holds.authorized is the total over all of them. The
-- capture and refunds are spread across the parts exactly; captured and
-- refunded say what each took and gave back.
CREATE TABLE billing_provider_hold_parts (
	hold_id    TEXT NOT NULL REFERENCES billing_holds (id),
	seq        INTEGER NOT NULL CHECK (seq >= 1),
	provider   TEXT NOT NULL,
	auth_id    TEXT NOT NULL,
	amount     BIGINT NOT NULL CHECK (amount > 0),
	captured   BIGINT NOT NULL DEFAULT 0 CHECK (captured >= 0 AND captured <= amount),
	refunded   BIGINT NOT NULL DEFAULT 0 CHECK (refunded >= 0 AND refunded <= captured),
	created_at TIMESTAMP NOT NULL,
	PRIMARY KEY (hold_id, seq),
	UNIQUE (provider, auth_id)
);
