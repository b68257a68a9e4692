-- How many extensions of a hold the card declined: Stripe replays a
-- declined request's answer for its idempotency key (24 hours), so an
-- extension tried again after a decline needs a key of its own, while a
-- network retry of the same attempt keeps its key.
ALTER TABLE billing_provider_holds ADD COLUMN extend_declines INTEGER NOT NULL DEFAULT 0;
