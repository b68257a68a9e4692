-- Which reminder a booked session has had: '' none, 'day' the day before,
-- 'soon' fifteen minutes before.
ALTER TABLE market_sessions ADD COLUMN reminded TEXT NOT NULL DEFAULT '';
