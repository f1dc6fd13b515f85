-- Private-pool ranges, idempotent requests, and the indexes the lifecycle
-- jobs and searches need.

-- btree_gist lets one exclusion constraint compare the tenant (=/<>) next to
-- the range overlap. It is a trusted extension: a database owner may create it.
CREATE EXTENSION IF NOT EXISTS btree_gist;

-- Number ranges assigned to one tenant's private pool (PortSIP DID pools,
-- Kazoo "managed" numbers). Bounds are the E.164 digits as integers, the
-- upper bound exclusive; the numbers of one range share their digit count.
CREATE TABLE pool_ranges (
    id          bigserial PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    numbers     int8range NOT NULL CHECK (NOT isempty(numbers)),
    created_at  timestamptz NOT NULL DEFAULT now(),
    -- two tenants' ranges never overlap: enforced here, whatever the code does
    CONSTRAINT pool_ranges_no_overlap EXCLUDE USING gist (numbers WITH &&, tenant_id WITH <>)
);

-- One row per Idempotency-Key a tenant used: the first request's answer is
-- replayed for every repeat. Written in the same transaction as the work, so
-- concurrent repeats wait on the key's unique index until the first commits.
CREATE TABLE idempotency_keys (
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    key           text NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
    -- what was asked, so a reused key with a different request is refused
    request_hash  bytea NOT NULL,
    status        smallint NOT NULL,
    response      jsonb NOT NULL,
    -- outbox rows of the change: the replayed answer carries their position
    outbox_ids    bigint[] NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, key)
);

-- lifecycle jobs: what is due, by status
CREATE INDEX numbers_reserved_due ON numbers (reserved_until) WHERE status = 'reserved';
CREATE INDEX numbers_cooldown_due ON numbers (cooldown_until) WHERE status = 'cooldown';
CREATE INDEX numbers_aging_due    ON numbers (reclaim_until)  WHERE status = 'aging';
-- allocation by criteria and available-number search walk available rows
CREATE INDEX numbers_available ON numbers (country, e164 text_pattern_ops) WHERE status = 'available';

ALTER TABLE pool_ranges      ENABLE ROW LEVEL SECURITY;
ALTER TABLE pool_ranges      FORCE ROW LEVEL SECURITY;
ALTER TABLE idempotency_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE idempotency_keys FORCE ROW LEVEL SECURITY;

GRANT SELECT, INSERT, UPDATE, DELETE ON pool_ranges, idempotency_keys TO didroute_operator;
GRANT USAGE, SELECT ON SEQUENCE pool_ranges_id_seq TO didroute_operator;
CREATE POLICY operator_all ON pool_ranges      TO didroute_operator USING (true) WITH CHECK (true);
CREATE POLICY operator_all ON idempotency_keys TO didroute_operator USING (true) WITH CHECK (true);

GRANT SELECT ON pool_ranges TO didroute_app;
CREATE POLICY tenant_own ON pool_ranges FOR SELECT TO didroute_app USING (tenant_id = didroute_current_tenant());

GRANT SELECT, INSERT ON idempotency_keys TO didroute_app;
-- only the answer columns: a key's tenant, name and request hash never change
GRANT UPDATE (status, response, outbox_ids) ON idempotency_keys TO didroute_app;
CREATE POLICY tenant_own ON idempotency_keys TO didroute_app
    USING (tenant_id = didroute_current_tenant())
    WITH CHECK (tenant_id = didroute_current_tenant());
