-- Whether a listing's expert is approved, kept on the listing so public
-- discovery filters one table and can walk an index in price or date
-- order instead of joining every expert first. ReviewExpert keeps it in
-- step with market_experts.status in the same transaction.
ALTER TABLE market_listings ADD COLUMN expert_approved BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE market_listings SET expert_approved = EXISTS (
	SELECT 1 FROM market_experts e WHERE e.user_id = market_listings.expert_id AND e.status = 'approved');
CREATE INDEX market_listings_public_price ON market_listings (category, price_amount, id)
	WHERE status = 'approved' AND expert_approved;
CREATE INDEX market_listings_public_new ON market_listings (created_at, id)
	WHERE status = 'approved' AND expert_approved;
