-- Tracking numbers (issue 20): dynamic number insertion. A tenant's
-- tracking pool holds numbers allocated to it with subsystem `tracking`; a
-- web session leases the least recently used free one, and while leased
-- the number's route (its change event) names the session, so the call that
-- follows is attributed to the visit. A lease that ends or expires puts the
-- number in cooldown (`available_at` in the future) before it is free again.

ALTER TABLE routes DROP CONSTRAINT routes_subsystem_check;
ALTER TABLE routes ADD CONSTRAINT routes_subsystem_check
    CHECK (subsystem IN ('psap', 'utilities', 'document_telephony', 'mdoc', 'tracking'));
-- a range never routes as `tracking` (the service refuses it); the check
-- names every subsystem so the two lists stay one
ALTER TABLE pool_ranges DROP CONSTRAINT pool_ranges_subsystem_check;
ALTER TABLE pool_ranges ADD CONSTRAINT pool_ranges_subsystem_check
    CHECK (subsystem IN ('psap', 'utilities', 'document_telephony', 'mdoc', 'tracking'));

CREATE TABLE tracking_pools (
    id               uuid PRIMARY KEY,
    tenant_id        uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name             text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    lease_seconds    integer NOT NULL CHECK (lease_seconds BETWEEN 1 AND 86400),
    cooldown_seconds integer NOT NULL CHECK (cooldown_seconds BETWEEN 0 AND 86400),
    -- what an exhausted pool hands out instead (never leased)
    fallback_number  text CHECK (fallback_number ~ '^\+[1-9][0-9]{6,14}$'),
    -- the route the pool's numbers carry
    dashboard_id     text NOT NULL CHECK (char_length(dashboard_id) BETWEEN 1 AND 200),
    customer_label   text NOT NULL CHECK (char_length(customer_label) BETWEEN 1 AND 200),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX tracking_pools_name ON tracking_pools (tenant_id, lower(name));

-- The numbers of a pool: in one pool at most (the primary key). Leased
-- while `session_id` is set; cooling down until `available_at`; free after.
-- Least recently used first: the free number whose cooldown ended longest
-- ago (`available_at` is the end of its last lease plus the cooldown).
CREATE TABLE tracking_numbers (
    e164          text PRIMARY KEY REFERENCES numbers (e164) ON DELETE CASCADE,
    pool_id       uuid NOT NULL REFERENCES tracking_pools (id) ON DELETE CASCADE,
    tenant_id     uuid NOT NULL,
    session_id    uuid,
    available_at  timestamptz NOT NULL DEFAULT '-infinity',
    joined_at     timestamptz NOT NULL DEFAULT now()
);
-- the session start's pick: free numbers of a pool in LRU order
CREATE INDEX tracking_numbers_free ON tracking_numbers (pool_id, available_at, e164) WHERE session_id IS NULL;
CREATE INDEX tracking_numbers_pool ON tracking_numbers (pool_id, e164);
CREATE UNIQUE INDEX tracking_numbers_session ON tracking_numbers (session_id) WHERE session_id IS NOT NULL;

-- Sessions, live and ended (the attribution record: which visit held which
-- number when). At most one live session per number and per visitor of a
-- pool: unique indexes, not code, keep one number out of two sessions.
CREATE TABLE tracking_sessions (
    id          uuid PRIMARY KEY,
    pool_id     uuid NOT NULL REFERENCES tracking_pools (id) ON DELETE CASCADE,
    tenant_id   uuid NOT NULL,
    e164        text NOT NULL,
    visitor_id  text NOT NULL CHECK (char_length(visitor_id) BETWEEN 1 AND 200),
    attributes  jsonb CHECK (attributes IS NULL OR
                             (jsonb_typeof(attributes) = 'object' AND octet_length(attributes::text) <= 65536)),
    started_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    renewals    integer NOT NULL DEFAULT 0,
    ended_at    timestamptz,
    end_reason  text CHECK (end_reason IN ('ended', 'expired', 'pool_changed')),
    CHECK ((ended_at IS NULL) = (end_reason IS NULL))
);
CREATE UNIQUE INDEX tracking_sessions_live_visitor ON tracking_sessions (pool_id, visitor_id) WHERE ended_at IS NULL;
CREATE UNIQUE INDEX tracking_sessions_live_number ON tracking_sessions (e164) WHERE ended_at IS NULL;
-- the lifecycle job's expiry pass
CREATE INDEX tracking_sessions_due ON tracking_sessions (expires_at) WHERE ended_at IS NULL;
CREATE INDEX tracking_sessions_pool ON tracking_sessions (pool_id, started_at);

-- Starts an exhausted pool answered with its fallback number: counted per
-- pool, with the visitor, so a marketer sees what the pool missed.
CREATE TABLE tracking_fallbacks (
    id          bigserial PRIMARY KEY,
    pool_id     uuid NOT NULL REFERENCES tracking_pools (id) ON DELETE CASCADE,
    tenant_id   uuid NOT NULL,
    visitor_id  text NOT NULL,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tracking_fallbacks_pool ON tracking_fallbacks (pool_id, at);

ALTER TABLE tracking_pools     ENABLE ROW LEVEL SECURITY;
ALTER TABLE tracking_pools     FORCE ROW LEVEL SECURITY;
ALTER TABLE tracking_numbers   ENABLE ROW LEVEL SECURITY;
ALTER TABLE tracking_numbers   FORCE ROW LEVEL SECURITY;
ALTER TABLE tracking_sessions  ENABLE ROW LEVEL SECURITY;
ALTER TABLE tracking_sessions  FORCE ROW LEVEL SECURITY;
ALTER TABLE tracking_fallbacks ENABLE ROW LEVEL SECURITY;
ALTER TABLE tracking_fallbacks FORCE ROW LEVEL SECURITY;

GRANT SELECT, INSERT, UPDATE, DELETE ON tracking_pools, tracking_numbers, tracking_sessions, tracking_fallbacks
    TO didroute_operator;
GRANT USAGE, SELECT ON SEQUENCE tracking_fallbacks_id_seq TO didroute_operator;
CREATE POLICY operator_all ON tracking_pools     TO didroute_operator USING (true) WITH CHECK (true);
CREATE POLICY operator_all ON tracking_numbers   TO didroute_operator USING (true) WITH CHECK (true);
CREATE POLICY operator_all ON tracking_sessions  TO didroute_operator USING (true) WITH CHECK (true);
CREATE POLICY operator_all ON tracking_fallbacks TO didroute_operator USING (true) WITH CHECK (true);

GRANT SELECT, INSERT, UPDATE, DELETE ON tracking_pools, tracking_numbers, tracking_sessions TO didroute_app;
GRANT SELECT, INSERT ON tracking_fallbacks TO didroute_app;
GRANT USAGE ON SEQUENCE tracking_fallbacks_id_seq TO didroute_app;
CREATE POLICY tenant_own ON tracking_pools TO didroute_app
    USING (tenant_id = didroute_current_tenant()) WITH CHECK (tenant_id = didroute_current_tenant());
CREATE POLICY tenant_own ON tracking_numbers TO didroute_app
    USING (tenant_id = didroute_current_tenant()) WITH CHECK (tenant_id = didroute_current_tenant());
CREATE POLICY tenant_own ON tracking_sessions TO didroute_app
    USING (tenant_id = didroute_current_tenant()) WITH CHECK (tenant_id = didroute_current_tenant());
CREATE POLICY tenant_own ON tracking_fallbacks TO didroute_app
    USING (tenant_id = didroute_current_tenant()) WITH CHECK (tenant_id = didroute_current_tenant());

-- The event now carries a leased tracking number's session: a lease's start,
-- renewal, end and expiry each bump the number's version and emit, so a
-- lookup node answers with the session exactly while it is live. Still
-- derived from state only, as the operator (SECURITY DEFINER).
CREATE OR REPLACE FUNCTION didroute_emit(p_e164 text) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    n numbers%ROWTYPE;
    r routes%ROWTYPE;
    t tenants%ROWTYPE;
    s tracking_sessions%ROWTYPE;
    v_route jsonb;
    v_id bigint;
BEGIN
    SELECT * INTO n FROM numbers WHERE e164 = p_e164;
    IF NOT FOUND THEN
        INSERT INTO outbox (tenant_id, e164, version, op, route)
        VALUES (didroute_current_tenant(), p_e164, nextval('number_version_seq'), 'delete', NULL)
        RETURNING id INTO v_id;
        RETURN v_id;
    END IF;
    IF n.status = 'allocated' THEN
        SELECT * INTO r FROM routes WHERE e164 = p_e164;
        IF FOUND THEN
            SELECT * INTO t FROM tenants WHERE id = r.tenant_id;
            v_route := jsonb_build_object(
                'tenant_id', r.tenant_id, 'subsystem', r.subsystem, 'dashboard_id', r.dashboard_id,
                'customer_label', r.customer_label, 'country', n.country, 'friendly_name', r.friendly_name,
                'organisation_id', r.organisation_id, 'auto_provisioned', r.auto_provisioned,
                'locale', coalesce(t.locale, 'en'),
                'greeting_template',
                    CASE WHEN r.subsystem = 'psap' THEN t.greeting_emergency ELSE t.greeting_label END,
                'greeting_text', r.greeting_text, 'attributes', r.attributes);
            SELECT ts.* INTO s FROM tracking_numbers tn JOIN tracking_sessions ts ON ts.id = tn.session_id
            WHERE tn.e164 = p_e164 AND ts.ended_at IS NULL AND ts.tenant_id = r.tenant_id;
            IF FOUND THEN
                v_route := v_route || jsonb_build_object('tracking', jsonb_build_object(
                    'pool_id', s.pool_id, 'session_id', s.id, 'visitor_id', s.visitor_id,
                    'attributes', s.attributes,
                    -- RFC 3339 in UTC whatever the session's TimeZone
                    'leased_until', to_char(s.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')));
            END IF;
        END IF;
    END IF;
    INSERT INTO outbox (tenant_id, e164, version, op, route)
    VALUES (coalesce(n.tenant_id, didroute_current_tenant()), p_e164, n.version,
            CASE WHEN v_route IS NULL THEN 'delete' ELSE 'upsert' END, v_route)
    RETURNING id INTO v_id;
    RETURN v_id;
END $$;
ALTER FUNCTION didroute_emit(text) OWNER TO didroute_operator;
REVOKE EXECUTE ON FUNCTION didroute_emit(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION didroute_emit(text) TO didroute_app, didroute_operator;
