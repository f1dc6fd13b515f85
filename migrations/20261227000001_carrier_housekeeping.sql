-- Carrier orders: the placing marker, and housekeeping of what piles up
-- (issue 19's review).
--
-- A worker commits a marker here, on its own connection, just before it
-- places an order at a carrier. Should the worker's database session die
-- while the call is in flight, the next worker finds the marker and waits
-- out the longest a call can take before it looks the order up by its
-- reference, instead of placing it again while the first call may still
-- land. No foreign key to carrier_orders: its check would wait on the
-- order row the worker holds FOR UPDATE, in the very transaction whose
-- fate the marker must not share.
CREATE TABLE carrier_order_attempts (
    order_id   uuid PRIMARY KEY,
    placed_at  timestamptz NOT NULL
);
ALTER TABLE carrier_order_attempts ENABLE ROW LEVEL SECURITY;
ALTER TABLE carrier_order_attempts FORCE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, UPDATE, DELETE ON carrier_order_attempts TO didroute_operator;
CREATE POLICY operator_all ON carrier_order_attempts TO didroute_operator USING (true) WITH CHECK (true);

-- The lifecycle job removes ended orders after 90 days (their numbers'
-- audit rows keep the story) and reconciliation reports after 30 days,
-- always keeping the latest: these find them oldest first.
CREATE INDEX carrier_orders_ended ON carrier_orders (completed_at) WHERE status IN ('completed', 'failed');
CREATE INDEX reconciliations_ended ON reconciliations (finished_at) WHERE status IN ('finished', 'failed');
GRANT DELETE ON carrier_orders, reconciliations TO didroute_operator;
