-- Stripe's webhooks arrive in any order, and a late one must not undo a
-- newer change. card_saved_at is when the saved card's SetupIntent was
-- created at Stripe (Unix seconds): a card set up earlier than the one
-- saved changes nothing. status_at is when what billing_provider_accounts
-- says of an account was true at Stripe (the account.updated event's
-- created time, or when Parley asked Stripe): an older event changes
-- nothing.
ALTER TABLE billing_provider_customers ADD COLUMN card_saved_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE billing_provider_accounts ADD COLUMN status_at BIGINT NOT NULL DEFAULT 0;
