-- Usage from lookups (issue 21): lookup nodes count successful lookups per
-- number and ship batches; the control plane stores them per tenant in
-- hourly buckets, rolled up to daily ones after 30 days.
--
-- A bucket belongs to the tenant that held the number (or whose range route
-- covered it) when the batch was ingested, so a tenant sees the usage of its
-- own tenure only; lookups of numbers with no tenant then are not stored
-- (counted in the batch's `unattributed`).

CREATE TABLE usage_hourly (
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    e164       text NOT NULL CHECK (e164 ~ '^\+[1-9][0-9]{6,14}$'),
    -- the start of the UTC hour
    hour       timestamptz NOT NULL CHECK (date_trunc('hour', hour, 'UTC') = hour),
    lookups    bigint NOT NULL CHECK (lookups >= 0),
    PRIMARY KEY (tenant_id, e164, hour)
);
-- the busiest numbers of a span, and the rollup's oldest-first scan
CREATE INDEX usage_hourly_by_hour ON usage_hourly (hour);

CREATE TABLE usage_daily (
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    e164       text NOT NULL CHECK (e164 ~ '^\+[1-9][0-9]{6,14}$'),
    -- the start of the UTC day
    day        timestamptz NOT NULL CHECK (date_trunc('day', day, 'UTC') = day),
    lookups    bigint NOT NULL CHECK (lookups >= 0),
    PRIMARY KEY (tenant_id, e164, day)
);
CREATE INDEX usage_daily_by_day ON usage_daily (day);

-- Every batch applied, by its id, written in the same transaction as its
-- counts: a batch sent again (a node's retry, a Kafka redelivery) finds its
-- id here and adds nothing. Kept 7 days (a node gives a batch up long before).
-- Operator only.
CREATE TABLE usage_batches (
    batch_id      text PRIMARY KEY CHECK (length(batch_id) BETWEEN 1 AND 200),
    node_id       text NOT NULL,
    window_start  timestamptz NOT NULL,
    window_end    timestamptz NOT NULL,
    numbers       integer NOT NULL,
    stored        bigint NOT NULL,
    unattributed  bigint NOT NULL,
    overflow      bigint NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX usage_batches_by_age ON usage_batches (received_at);

ALTER TABLE usage_hourly ENABLE ROW LEVEL SECURITY;
ALTER TABLE usage_hourly FORCE ROW LEVEL SECURITY;
ALTER TABLE usage_daily ENABLE ROW LEVEL SECURITY;
ALTER TABLE usage_daily FORCE ROW LEVEL SECURITY;
ALTER TABLE usage_batches ENABLE ROW LEVEL SECURITY;
ALTER TABLE usage_batches FORCE ROW LEVEL SECURITY;

-- Operator: ingestion, rollup, every tenant's usage.
GRANT SELECT, INSERT, UPDATE, DELETE ON usage_hourly, usage_daily, usage_batches TO didroute_operator;
CREATE POLICY operator_all ON usage_hourly TO didroute_operator USING (true) WITH CHECK (true);
CREATE POLICY operator_all ON usage_daily TO didroute_operator USING (true) WITH CHECK (true);
CREATE POLICY operator_all ON usage_batches TO didroute_operator USING (true) WITH CHECK (true);

-- Tenant: reads its own buckets, writes none.
GRANT SELECT ON usage_hourly, usage_daily TO didroute_app;
CREATE POLICY tenant_read ON usage_hourly FOR SELECT TO didroute_app USING (tenant_id = didroute_current_tenant());
CREATE POLICY tenant_read ON usage_daily FOR SELECT TO didroute_app USING (tenant_id = didroute_current_tenant());
