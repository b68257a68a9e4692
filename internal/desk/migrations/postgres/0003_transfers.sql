-- Transfers: a warm transfer keeps the first agent in the session until
-- the next one accepts.
ALTER TABLE desk_requests ADD COLUMN warm_agent_id TEXT NOT NULL DEFAULT '';
ALTER TABLE desk_requests ADD COLUMN transfers INTEGER NOT NULL DEFAULT 0;
