-- Row-level security. Every tenant table has RLS enabled AND forced, so even
-- a table owner that is not superuser is subject to it. The app role only
-- sees rows of the tenant set in didroute.tenant_id; unset means nothing.

GRANT USAGE ON SCHEMA public TO didroute_app, didroute_operator;
GRANT EXECUTE ON FUNCTION didroute_current_tenant() TO didroute_app, didroute_operator;

ALTER TABLE tenants   ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants   FORCE ROW LEVEL SECURITY;
ALTER TABLE api_keys  ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_keys  FORCE ROW LEVEL SECURITY;
ALTER TABLE numbers   ENABLE ROW LEVEL SECURITY;
ALTER TABLE numbers   FORCE ROW LEVEL SECURITY;
ALTER TABLE routes    ENABLE ROW LEVEL SECURITY;
ALTER TABLE routes    FORCE ROW LEVEL SECURITY;
ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
ALTER TABLE outbox    ENABLE ROW LEVEL SECURITY;
ALTER TABLE outbox    FORCE ROW LEVEL SECURITY;

-- Operator: every row of every table, through explicit policies (no BYPASSRLS).
GRANT SELECT, INSERT, UPDATE, DELETE ON tenants, api_keys, numbers, routes, audit_log, outbox TO didroute_operator;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO didroute_operator;
GRANT EXECUTE ON FUNCTION didroute_sequence_outbox(bigint) TO didroute_operator;
GRANT USAGE, SELECT ON SEQUENCE number_version_seq TO didroute_operator;
-- events are derived from state by didroute_emit, which runs as the operator
ALTER FUNCTION didroute_emit(text) OWNER TO didroute_operator;
REVOKE EXECUTE ON FUNCTION didroute_emit(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION didroute_emit(text) TO didroute_app, didroute_operator;
CREATE POLICY operator_all ON tenants   TO didroute_operator USING (true) WITH CHECK (true);
CREATE POLICY operator_all ON api_keys  TO didroute_operator USING (true) WITH CHECK (true);
CREATE POLICY operator_all ON numbers   TO didroute_operator USING (true) WITH CHECK (true);
CREATE POLICY operator_all ON routes    TO didroute_operator USING (true) WITH CHECK (true);
CREATE POLICY operator_all ON audit_log TO didroute_operator USING (true) WITH CHECK (true);
CREATE POLICY operator_all ON outbox    TO didroute_operator USING (true) WITH CHECK (true);

-- Tenant: its own tenant row and key metadata, read only.
GRANT SELECT ON tenants, api_keys TO didroute_app;
CREATE POLICY tenant_self ON tenants  TO didroute_app USING (id = didroute_current_tenant());
CREATE POLICY tenant_own ON api_keys  TO didroute_app USING (tenant_id = didroute_current_tenant());

-- Numbers: a tenant sees what it holds, plus available numbers it may take
-- (public inventory, or its own private pool). Public inventory is visible
-- only with a tenant set: without one, nothing is (fail closed).
GRANT SELECT ON numbers TO didroute_app;
-- only lifecycle columns: a tenant never edits inventory data (cost, pool, country)
GRANT UPDATE (status, tenant_id, reserved_until, cooldown_until, reclaim_until,
              release_reason, release_notes, updated_at) ON numbers TO didroute_app;
-- local/mdn numbers are the tenant's own: releasing them deletes them
GRANT DELETE ON numbers TO didroute_app;
-- the guard trigger draws each new version from it, as the updating role
GRANT USAGE ON SEQUENCE number_version_seq TO didroute_app;
CREATE POLICY tenant_read ON numbers FOR SELECT TO didroute_app USING (
    tenant_id = didroute_current_tenant()
    OR (didroute_current_tenant() IS NOT NULL
        AND status = 'available' AND tenant_id IS NULL
        AND (pool_tenant_id IS NULL OR pool_tenant_id = didroute_current_tenant())));
CREATE POLICY tenant_update ON numbers FOR UPDATE TO didroute_app
    USING (
        tenant_id = didroute_current_tenant()
        OR (didroute_current_tenant() IS NOT NULL
            AND status = 'available' AND tenant_id IS NULL
            AND (pool_tenant_id IS NULL OR pool_tenant_id = didroute_current_tenant())))
    -- after the change the tenant holds the number in a tenant status, or it
    -- is back in inventory; `disabled` is the operator's alone
    WITH CHECK (
        (tenant_id = didroute_current_tenant() AND status IN ('reserved', 'allocated', 'cooldown', 'aging'))
        OR (didroute_current_tenant() IS NOT NULL AND status = 'available' AND tenant_id IS NULL));
CREATE POLICY tenant_delete ON numbers FOR DELETE TO didroute_app USING (
    tenant_id = didroute_current_tenant() AND carrier_module IN ('local', 'mdn'));

GRANT SELECT, INSERT, UPDATE, DELETE ON routes TO didroute_app;
CREATE POLICY tenant_own ON routes TO didroute_app
    USING (tenant_id = didroute_current_tenant())
    WITH CHECK (tenant_id = didroute_current_tenant());

-- Audit: a tenant appends rows for itself and reads back its own.
GRANT SELECT, INSERT ON audit_log TO didroute_app;
GRANT USAGE ON SEQUENCE audit_log_id_seq TO didroute_app;
CREATE POLICY tenant_own ON audit_log TO didroute_app
    USING (tenant_id = didroute_current_tenant())
    WITH CHECK (tenant_id = didroute_current_tenant());
-- Outbox: a tenant reads its own events; it writes none directly, only
-- through didroute_emit, which derives each event from the number's state.
GRANT SELECT ON outbox TO didroute_app;
CREATE POLICY tenant_own ON outbox TO didroute_app
    USING (tenant_id = didroute_current_tenant());
