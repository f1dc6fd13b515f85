-- Range routes (issue 18): a tenant's private-pool range routes to the
-- tenant as one block (PortSIP's DID ranges), without an allocation per
-- number. A range's route fields are optional: the event fills in defaults
-- (subsystem `utilities`, dashboard `default`, the tenant's name as label).

ALTER TABLE pool_ranges
    ADD COLUMN subsystem text CHECK (subsystem IN ('psap', 'utilities', 'document_telephony', 'mdoc')),
    ADD COLUMN dashboard_id text CHECK (length(dashboard_id) BETWEEN 1 AND 200),
    ADD COLUMN customer_label text CHECK (length(customer_label) BETWEEN 1 AND 200),
    -- the numbering plan's country of the range (both ends agree); NULL in
    -- ranges recorded by imports before this, whose numbers name it
    ADD COLUMN country char(2),
    -- drawn from the numbers' sequence, so a range's events order with
    -- every other change a node applies under the version rule
    ADD COLUMN version bigint NOT NULL DEFAULT nextval('number_version_seq');

-- finding a tenant's ranges, and the range a number falls in
CREATE INDEX pool_ranges_tenant ON pool_ranges (tenant_id, id);

-- A range event: `e164` is the range's first number, `range_id` and
-- `range_last` say which range. New ops, so a number event and a range
-- event are never confused by a reader of the outbox.
ALTER TABLE outbox
    ADD COLUMN range_id bigint,
    ADD COLUMN range_last text,
    DROP CONSTRAINT outbox_op_check,
    DROP CONSTRAINT outbox_check,
    ADD CONSTRAINT outbox_op_check CHECK (op IN ('upsert', 'delete', 'range_upsert', 'range_delete')),
    ADD CONSTRAINT outbox_route_check CHECK ((op IN ('upsert', 'range_upsert')) = (route IS NOT NULL)),
    ADD CONSTRAINT outbox_range_check
        CHECK ((op IN ('range_upsert', 'range_delete')) = (range_id IS NOT NULL AND range_last IS NOT NULL));

-- The event of range `p_id` as it stands in the transaction: its route when
-- it exists, else its deletion (`p_first`/`p_last` name what was deleted).
-- Derived from state only, like didroute_emit. Not SECURITY DEFINER: only
-- the operator changes ranges, and it may write the outbox itself; the app
-- role cannot call it. Returns the outbox row's id.
CREATE FUNCTION didroute_emit_range(p_id bigint, p_first text, p_last text) RETURNS bigint
    LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    pr pool_ranges%ROWTYPE;
    t tenants%ROWTYPE;
    v_country text;
    v_route jsonb;
    v_id bigint;
BEGIN
    SELECT * INTO pr FROM pool_ranges WHERE id = p_id;
    IF NOT FOUND THEN
        INSERT INTO outbox (tenant_id, e164, version, op, route, range_id, range_last)
        VALUES (didroute_current_tenant(), p_first, nextval('number_version_seq'), 'range_delete', NULL, p_id, p_last)
        RETURNING id INTO v_id;
        RETURN v_id;
    END IF;
    SELECT * INTO t FROM tenants WHERE id = pr.tenant_id;
    v_country := pr.country;
    IF v_country IS NULL THEN
        SELECT country INTO v_country FROM numbers WHERE e164 = p_first;
    END IF;
    v_route := jsonb_build_object(
        'tenant_id', pr.tenant_id, 'subsystem', coalesce(pr.subsystem, 'utilities'),
        'dashboard_id', coalesce(pr.dashboard_id, 'default'),
        'customer_label', coalesce(pr.customer_label, left(t.name, 200)),
        'country', v_country,
        'friendly_name', NULL, 'organisation_id', NULL, 'auto_provisioned', false,
        'locale', coalesce(t.locale, 'en'),
        'greeting_template',
            CASE WHEN coalesce(pr.subsystem, 'utilities') = 'psap' THEN t.greeting_emergency ELSE t.greeting_label END,
        'greeting_text', NULL, 'attributes', NULL);
    INSERT INTO outbox (tenant_id, e164, version, op, route, range_id, range_last)
    VALUES (pr.tenant_id, p_first, pr.version, 'range_upsert', v_route, p_id, p_last)
    RETURNING id INTO v_id;
    RETURN v_id;
END $$;
REVOKE EXECUTE ON FUNCTION didroute_emit_range(bigint, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION didroute_emit_range(bigint, text, text) TO didroute_operator;
