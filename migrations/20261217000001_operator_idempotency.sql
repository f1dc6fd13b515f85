-- Idempotency keys for operator routes, which act for no tenant: such an
-- entry has a NULL tenant_id, in a key space of its own. The app role's
-- policy compares tenant_id with the session's tenant, which a NULL never
-- equals, so tenant sessions can neither read nor write operator entries.

ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey;
ALTER TABLE idempotency_keys ALTER COLUMN tenant_id DROP NOT NULL;
-- one entry per key and tenant, and one per operator key: the unique index a
-- concurrent repeat waits on until the first transaction ends
CREATE UNIQUE INDEX idempotency_keys_tenant_key ON idempotency_keys (tenant_id, key) WHERE tenant_id IS NOT NULL;
CREATE UNIQUE INDEX idempotency_keys_operator_key ON idempotency_keys (key) WHERE tenant_id IS NULL;
-- the lifecycle job removes entries older than a day, oldest first
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
