-- The card a payer saved at a provider, as the app shows it (brand, last
-- four digits, expiry): read once when it is saved, never the number.
ALTER TABLE billing_provider_customers ADD COLUMN card_brand TEXT NOT NULL DEFAULT '';
ALTER TABLE billing_provider_customers ADD COLUMN card_last4 TEXT NOT NULL DEFAULT '';
ALTER TABLE billing_provider_customers ADD COLUMN card_exp_month INTEGER NOT NULL DEFAULT 0;
ALTER TABLE billing_provider_customers ADD COLUMN card_exp_year INTEGER NOT NULL DEFAULT 0;

-- The country of a payee's connected account (ISO 3166): one in another
-- country than the platform is charged on_behalf_of it.
ALTER TABLE billing_provider_accounts ADD COLUMN country TEXT NOT NULL DEFAULT '';

-- Refunds made outside Parley (in the provider's dashboard), recorded in
-- the ledger once each by the provider's refund id.
CREATE TABLE billing_provider_refunds (
	provider      TEXT NOT NULL,
	refund_id     TEXT NOT NULL,
	auth_id       TEXT NOT NULL,
	settlement_id TEXT NOT NULL,
	amount        BIGINT NOT NULL CHECK (amount >= 0), -- what the ledger reversed (at most what was left)
	created_at    TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (provider, refund_id)
);

-- Disputes (chargebacks) of a captured payment: shown to the operator; the
-- expert's share of the session is frozen (no refund from Parley moves it)
-- while one is open.
CREATE TABLE billing_provider_disputes (
	provider      TEXT NOT NULL,
	dispute_id    TEXT NOT NULL,
	auth_id       TEXT NOT NULL,
	settlement_id TEXT NOT NULL,
	currency      TEXT NOT NULL,
	amount        BIGINT NOT NULL CHECK (amount >= 0),
	reason        TEXT NOT NULL DEFAULT '',
	status        TEXT NOT NULL, -- Stripe's: needs_response, under_review, won, lost, …
	open          BOOLEAN NOT NULL DEFAULT true,
	created_at    TIMESTAMPTZ NOT NULL,
	closed_at     TIMESTAMPTZ,
	PRIMARY KEY (provider, dispute_id)
);
CREATE INDEX billing_provider_disputes_settlement ON billing_provider_disputes (settlement_id, open);
