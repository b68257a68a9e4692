-- Outside payment providers (Stripe). A hold's money comes from the payer's
-- wallet, or from outside (a card authorization): released and refunded
-- money goes back where it came from.
ALTER TABLE billing_holds ADD COLUMN source TEXT NOT NULL DEFAULT 'wallet' CHECK (source IN ('wallet', 'external'));

-- A payer at a provider: their customer id and the payment method they
-- saved (a card), used for every hold.
CREATE TABLE billing_provider_customers (
	provider       TEXT NOT NULL,
	user_id        TEXT NOT NULL,
	customer_id    TEXT NOT NULL,
	payment_method TEXT NOT NULL DEFAULT '',
	updated_at     TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (provider, user_id),
	UNIQUE (provider, customer_id)
);

-- A payee at a provider: their connected account, and whether the provider
-- lets it take payments and be paid (from its webhooks).
CREATE TABLE billing_provider_accounts (
	provider          TEXT NOT NULL,
	user_id           TEXT NOT NULL,
	account_id        TEXT NOT NULL,
	charges_enabled   BOOLEAN NOT NULL DEFAULT false,
	payouts_enabled   BOOLEAN NOT NULL DEFAULT false,
	details_submitted BOOLEAN NOT NULL DEFAULT false,
	updated_at        TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (provider, user_id),
	UNIQUE (provider, account_id)
);

-- A hold placed at a provider: the ledger's hold and the provider's
-- authorization (a PaymentIntent) for it.
CREATE TABLE billing_provider_holds (
	hold_id    TEXT PRIMARY KEY REFERENCES billing_holds (id),
	provider   TEXT NOT NULL,
	auth_id    TEXT NOT NULL,
	payee_id   TEXT NOT NULL,
	authorized BIGINT NOT NULL CHECK (authorized > 0), -- what the provider holds, raises included
	created_at TIMESTAMPTZ NOT NULL,
	UNIQUE (provider, auth_id)
);

-- What the provider must still be told after a transaction that recorded
-- it in the ledger: a capture (with the platform's fee), a cancel, a
-- refund. Written in the same transaction as the ledger's entries, carried
-- out after the commit with the op's idempotency key, retried until done
-- (the key makes a retry act once) or refused for good (failed).
CREATE TABLE billing_provider_ops (
	id            TEXT PRIMARY KEY,
	provider      TEXT NOT NULL,
	hold_id       TEXT NOT NULL REFERENCES billing_holds (id),
	auth_id       TEXT NOT NULL,
	kind          TEXT NOT NULL CHECK (kind IN ('capture', 'cancel', 'refund')),
	currency      TEXT NOT NULL,
	amount        BIGINT NOT NULL CHECK (amount >= 0),
	fee           BIGINT NOT NULL DEFAULT 0 CHECK (fee >= 0 AND fee <= amount), -- capture: the application fee; refund: the commission given back
	payee_id      TEXT NOT NULL DEFAULT '',
	idem_key      TEXT NOT NULL UNIQUE,
	state         TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed')),
	attempts      INTEGER NOT NULL DEFAULT 0,
	next_at       TIMESTAMPTZ NOT NULL,
	last_error    TEXT NOT NULL DEFAULT '',
	provider_ref  TEXT NOT NULL DEFAULT '',
	created_at    TIMESTAMPTZ NOT NULL,
	done_at       TIMESTAMPTZ
);
CREATE INDEX billing_provider_ops_due ON billing_provider_ops (state, next_at);
CREATE INDEX billing_provider_ops_hold ON billing_provider_ops (hold_id, created_at, id);

-- Webhook events acted on, once each (deliveries repeat).
CREATE TABLE billing_provider_events (
	provider    TEXT NOT NULL,
	event_id    TEXT NOT NULL,
	type        TEXT NOT NULL,
	received_at TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (provider, event_id)
);
