-- Greetings a tenant can set and route content for voice AI (issue 18).
--
-- A tenant's locale picks the default greeting templates (kept in code,
-- shared/src/greeting.rs); its own templates, when set, replace them. A
-- route may carry the number's own greeting text and small attributes. The
-- checks here are a backstop: the service checks the same with reasons.

ALTER TABLE tenants
    ADD COLUMN locale text NOT NULL DEFAULT 'en'
        CHECK (length(locale) <= 35 AND locale ~ '^[a-z]{2,3}(-[A-Za-z0-9]{1,8})*$'),
    ADD COLUMN greeting_emergency text CHECK (char_length(greeting_emergency) BETWEEN 1 AND 500),
    ADD COLUMN greeting_label text CHECK (char_length(greeting_label) BETWEEN 1 AND 500);

ALTER TABLE routes
    ADD COLUMN greeting_text text CHECK (char_length(greeting_text) BETWEEN 1 AND 500),
    -- 1 KiB compact JSON as the service counts it; jsonb's own text form
    -- adds spaces, hence the looser bound
    ADD COLUMN attributes jsonb
        CHECK (attributes IS NULL OR (jsonb_typeof(attributes) = 'object' AND octet_length(attributes::text) <= 4096));

-- The event now carries what the greeting and the attributes need: the
-- tenant's locale, its template for the route's kind (emergency for PSAP
-- lines, label for the others), the number's own text and the attributes.
-- Still derived from state only, as the operator (SECURITY DEFINER), so a
-- tenant can publish nothing it does not hold. A tenant's change of locale
-- or templates re-emits its allocated numbers (service/tenants.rs).
CREATE OR REPLACE FUNCTION didroute_emit(p_e164 text) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    n numbers%ROWTYPE;
    r routes%ROWTYPE;
    t tenants%ROWTYPE;
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
