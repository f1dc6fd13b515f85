-- Blocked numbers (issue 18, range routes): a number inside a tenant's
-- range route that has no route of its own answers through the range. That
-- is right for a number that is merely not allocated (available in the
-- pool, reserved, released and cooling down or aging) and wrong for one
-- that must not carry calls at all. The event of such a number is `block`,
-- not `delete`: a lookup node then answers 404 for it, range or not.
--
-- The rule, on the number's row as it stands in the transaction:
--   - its own route (allocated, with a route)               -> upsert
--   - status `disabled`, or provisioning_status not one of
--     `active`, `unknown` (so `pending`: an order not yet
--     done; `purchase_failed`: an order failed or the carrier
--     no longer has it; `port_pending`: not ours yet)        -> block
--   - anything else (available, reserved, cooldown, aging)  -> delete
--   - a number not in the inventory (hard-deleted)           -> delete
-- `unknown` routes: manually managed inventory whose provisioning nobody
-- recorded is what a PortSIP range usually holds. A number outside the
-- inventory is the range's to answer for: a range may cover numbers never
-- imported.

ALTER TABLE outbox
    DROP CONSTRAINT outbox_op_check,
    ADD CONSTRAINT outbox_op_check CHECK (op IN ('upsert', 'delete', 'block', 'range_upsert', 'range_delete'));

-- The whole function, as 20261224000001_tracking.sql left it, with the op
-- rule above. Still derived from state only, as the operator (SECURITY
-- DEFINER).
CREATE OR REPLACE FUNCTION didroute_emit(p_e164 text) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    n numbers%ROWTYPE;
    r routes%ROWTYPE;
    t tenants%ROWTYPE;
    s tracking_sessions%ROWTYPE;
    v_route jsonb;
    v_op text;
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
    v_op := CASE
        WHEN v_route IS NOT NULL THEN 'upsert'
        WHEN n.status = 'disabled' OR n.provisioning_status NOT IN ('active', 'unknown') THEN 'block'
        ELSE 'delete'
    END;
    INSERT INTO outbox (tenant_id, e164, version, op, route)
    VALUES (coalesce(n.tenant_id, didroute_current_tenant()), p_e164, n.version, v_op, v_route)
    RETURNING id INTO v_id;
    RETURN v_id;
END $$;
ALTER FUNCTION didroute_emit(text) OWNER TO didroute_operator;
REVOKE EXECUTE ON FUNCTION didroute_emit(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION didroute_emit(text) TO didroute_app, didroute_operator;

-- Numbers already blocked published `delete` before this: publish them
-- again as `block`. Each gets a new version first (the numbers_guard
-- trigger draws one on any update), or nodes would drop the event as not
-- newer than the delete they hold; an audit row says why, as for every
-- change. The sequencer's periodic tick gives the rows their positions.
UPDATE numbers SET updated_at = now()
WHERE status = 'disabled' OR (status <> 'allocated' AND provisioning_status NOT IN ('active', 'unknown'));
INSERT INTO audit_log (e164, tenant_id, actor, action, detail)
SELECT e164, tenant_id, 'migration', 'number.block_published', '{"migration": "20261229000001"}'::jsonb
FROM numbers WHERE status = 'disabled' OR (status <> 'allocated' AND provisioning_status NOT IN ('active', 'unknown'));
SELECT count(didroute_emit(e164))
FROM (SELECT e164 FROM numbers
      WHERE status = 'disabled' OR (status <> 'allocated' AND provisioning_status NOT IN ('active', 'unknown'))
      ORDER BY e164) b;
