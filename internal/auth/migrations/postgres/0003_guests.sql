-- Guests: help-desk customers without an account. A guest is a member
-- account with no password, used through a short-lived token, that only
-- reaches its own help conversations (auth.GuestRoutes).
ALTER TABLE users ADD COLUMN guest BOOLEAN NOT NULL DEFAULT false;
