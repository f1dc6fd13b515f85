-- The Kafka outbox relay reads sequenced rows it has not yet published, in
-- position order, and marks them once the broker acknowledged them.
CREATE INDEX outbox_unpublished ON outbox (seq) WHERE published_at IS NULL AND seq IS NOT NULL;
