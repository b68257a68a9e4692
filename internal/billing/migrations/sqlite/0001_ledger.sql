-- A double-entry ledger in integer minor units. Every entry's lines sum to
-- zero per currency; an account's balance is the sum of its lines, kept in
-- the account row by the same transaction that writes them.
CREATE TABLE billing_accounts (
	id         TEXT PRIMARY KEY,
	kind       TEXT NOT NULL CHECK (kind IN ('wallet', 'hold', 'clearing', 'payable', 'revenue', 'external', 'payout')),
	owner_id   TEXT NOT NULL DEFAULT '',
	currency   TEXT NOT NULL,
	balance    BIGINT NOT NULL DEFAULT 0,
	created_at TIMESTAMP NOT NULL,
	-- Money a person holds never goes below zero: the database refuses an
	-- overdraft even if the code forgot to look. Only the outside world
	-- (external) and an expert who owes a refund after a payout (payable)
	-- may go negative.
	CHECK (balance >= 0 OR kind IN ('external', 'payable')),
	UNIQUE (kind, owner_id, currency)
);

CREATE TABLE billing_entries (
	id         TEXT PRIMARY KEY,
	reason     TEXT NOT NULL,
	ref        TEXT NOT NULL DEFAULT '',
	currency   TEXT NOT NULL,
	created_at TIMESTAMP NOT NULL
);
CREATE INDEX billing_entries_ref ON billing_entries (ref);
CREATE INDEX billing_entries_time ON billing_entries (created_at, id);

CREATE TABLE billing_lines (
	entry_id   TEXT NOT NULL REFERENCES billing_entries (id),
	account_id TEXT NOT NULL REFERENCES billing_accounts (id),
	amount     BIGINT NOT NULL CHECK (amount <> 0),
	PRIMARY KEY (entry_id, account_id)
);
CREATE INDEX billing_lines_account ON billing_lines (account_id, entry_id);

-- A hold sets money aside before paid time; it is captured (in part) or
-- released, never both beyond what was held.
CREATE TABLE billing_holds (
	id         TEXT PRIMARY KEY,
	user_id    TEXT NOT NULL,
	currency   TEXT NOT NULL,
	amount     BIGINT NOT NULL CHECK (amount > 0),
	state      TEXT NOT NULL CHECK (state IN ('held', 'settled', 'released')),
	ref        TEXT NOT NULL DEFAULT '',
	created_at TIMESTAMP NOT NULL,
	settled_at TIMESTAMP
);

-- A settlement is a captured amount split between the expert and the
-- platform; refunds reverse it pro rata.
CREATE TABLE billing_settlements (
	id         TEXT PRIMARY KEY,
	hold_id    TEXT REFERENCES billing_holds (id),
	ref        TEXT NOT NULL,
	payer_id   TEXT NOT NULL,
	payee_id   TEXT NOT NULL,
	currency   TEXT NOT NULL,
	amount     BIGINT NOT NULL CHECK (amount >= 0),
	commission BIGINT NOT NULL CHECK (commission >= 0 AND commission <= amount),
	refunded   BIGINT NOT NULL DEFAULT 0 CHECK (refunded >= 0 AND refunded <= amount),
	refunded_commission BIGINT NOT NULL DEFAULT 0 CHECK (refunded_commission >= 0 AND refunded_commission <= commission),
	created_at TIMESTAMP NOT NULL
);
CREATE INDEX billing_settlements_ref ON billing_settlements (ref);
CREATE INDEX billing_settlements_payee ON billing_settlements (payee_id, created_at);

CREATE TABLE billing_payouts (
	id         TEXT PRIMARY KEY,
	payee_id   TEXT NOT NULL,
	currency   TEXT NOT NULL,
	amount     BIGINT NOT NULL CHECK (amount > 0),
	created_at TIMESTAMP NOT NULL
);
CREATE INDEX billing_payouts_payee ON billing_payouts (payee_id, created_at);
