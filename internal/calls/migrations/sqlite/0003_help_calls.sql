-- One-way help calls: the helper shows a camera, the customer only a
-- microphone and, if they choose, a screen; the helper draws on it.
ALTER TABLE calls ADD COLUMN one_way BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE call_members ADD COLUMN role TEXT NOT NULL DEFAULT '';
