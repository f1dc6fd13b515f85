-- The tenant context of a transaction, set with
-- set_config('didroute.tenant_id', <uuid>, true) (transaction-local, so a
-- pooled connection never carries it into the next transaction).
-- NULL when unset or empty: every tenant policy compares against it, and a
-- comparison with NULL is never true, so policies fail closed.
CREATE FUNCTION didroute_current_tenant() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT nullif(current_setting('didroute.tenant_id', true), '')::uuid $$;

CREATE TABLE tenants (
    id          uuid PRIMARY KEY,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX tenants_name_key ON tenants (lower(name));

CREATE TABLE api_keys (
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    -- SHA-256 of the key: keys are 256-bit random, so a fast hash is enough
    -- and the key itself is never stored.
    key_hash    bytea NOT NULL UNIQUE CHECK (length(key_hash) = 32),
    -- first characters of the key, to tell keys apart in listings
    key_prefix  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id);

CREATE SEQUENCE number_version_seq;

CREATE TABLE numbers (
    e164                text PRIMARY KEY CHECK (e164 ~ '^\+[1-9][0-9]{6,14}$'),
    country             char(2) NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
    region              text,
    area_code           text,
    provider            text NOT NULL DEFAULT 'simulated',
    carrier_module      text NOT NULL DEFAULT 'inventory'
                        CHECK (carrier_module IN ('inventory', 'managed', 'local', 'mdn')),
    number_type         text NOT NULL DEFAULT 'local'
                        CHECK (number_type IN ('local', 'mobile', 'toll_free', 'national', 'shared_cost')),
    monthly_cost        numeric(12, 4) NOT NULL DEFAULT 0 CHECK (monthly_cost >= 0),
    currency            char(3) NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z]{3}$'),
    -- the tenant whose private pool the number is in (Kazoo "managed");
    -- NULL: public inventory
    pool_tenant_id      uuid REFERENCES tenants (id),
    -- who holds the number: the reserving or owning tenant, and during
    -- cooldown and aging the tenant that released it (the only one that may
    -- reclaim it)
    tenant_id           uuid REFERENCES tenants (id),
    status              text NOT NULL DEFAULT 'available'
                        CHECK (status IN ('available', 'reserved', 'allocated', 'cooldown', 'aging', 'disabled')),
    provisioning_status text NOT NULL DEFAULT 'active'
                        CHECK (provisioning_status IN ('unknown', 'pending', 'active', 'purchase_failed', 'port_pending')),
    -- manually managed inventory whose provisioning is 'unknown' may be
    -- allocated only when the operator allows it
    allow_unknown_provisioning boolean NOT NULL DEFAULT false,
    reserved_until      timestamptz,
    cooldown_until      timestamptz,
    reclaim_until       timestamptz,
    release_reason      text,
    release_notes       text,
    -- the number's change counter: a fresh value of number_version_seq on
    -- every change (trigger), so it only grows, even across a delete and a
    -- re-import of the same number; change events carry it so consumers
    -- drop stale or repeated events
    version             bigint NOT NULL DEFAULT nextval('number_version_seq'),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    -- a number is held by a tenant exactly when its status says so
    CONSTRAINT numbers_holder CHECK (
        (status = 'available' AND tenant_id IS NULL)
        OR (status IN ('reserved', 'allocated', 'cooldown', 'aging') AND tenant_id IS NOT NULL)
        OR status = 'disabled'),
    -- a private-pool number only ever goes to its pool's tenant
    CONSTRAINT numbers_private_pool CHECK (
        pool_tenant_id IS NULL OR tenant_id IS NULL OR tenant_id = pool_tenant_id),
    CONSTRAINT numbers_reserved_until CHECK (status <> 'reserved' OR reserved_until IS NOT NULL),
    -- lets routes reference (number, tenant) so a route's tenant is the number's
    CONSTRAINT numbers_e164_tenant UNIQUE (e164, tenant_id)
);
CREATE INDEX numbers_tenant ON numbers (tenant_id, status) WHERE tenant_id IS NOT NULL;
CREATE INDEX numbers_search ON numbers (country, status, e164 text_pattern_ops);
CREATE INDEX numbers_pool ON numbers (pool_tenant_id) WHERE pool_tenant_id IS NOT NULL;

-- Lifecycle transitions, enforced where no code path can skip them.
CREATE FUNCTION numbers_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status AND NOT (
        (OLD.status, NEW.status) IN (
            ('available', 'reserved'), ('available', 'allocated'), ('available', 'disabled'),
            ('reserved', 'allocated'), ('reserved', 'available'), ('reserved', 'disabled'),
            ('allocated', 'cooldown'), ('allocated', 'disabled'),
            ('cooldown', 'aging'), ('cooldown', 'disabled'),
            ('aging', 'allocated'), ('aging', 'available'), ('aging', 'disabled'),
            ('disabled', 'available')))
    THEN
        RAISE EXCEPTION 'number % cannot go from % to %', OLD.e164, OLD.status, NEW.status
            USING ERRCODE = 'DR001';
    END IF;
    -- taking a number (fresh allocation, not a reclaim) needs healthy provisioning
    IF NEW.status = 'allocated' AND OLD.status IN ('available', 'reserved') AND NOT (
        NEW.provisioning_status = 'active'
        OR (NEW.provisioning_status = 'unknown' AND NEW.allow_unknown_provisioning))
    THEN
        RAISE EXCEPTION 'number % is not allocatable while provisioning is %', OLD.e164, NEW.provisioning_status
            USING ERRCODE = 'DR002';
    END IF;
    NEW.version := nextval('number_version_seq');
    NEW.updated_at := now();
    RETURN NEW;
END $$;
CREATE TRIGGER numbers_guard BEFORE UPDATE ON numbers FOR EACH ROW EXECUTE FUNCTION numbers_guard();

CREATE TABLE routes (
    e164             text PRIMARY KEY,
    tenant_id        uuid NOT NULL,
    subsystem        text NOT NULL CHECK (subsystem IN ('psap', 'utilities', 'document_telephony', 'mdoc')),
    dashboard_id     text NOT NULL CHECK (length(dashboard_id) BETWEEN 1 AND 200),
    customer_label   text NOT NULL CHECK (length(customer_label) BETWEEN 1 AND 200),
    friendly_name    text CHECK (length(friendly_name) <= 200),
    organisation_id  text CHECK (length(organisation_id) <= 200),
    auto_provisioned boolean NOT NULL DEFAULT false,
    allocated_at     timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    -- the route's tenant is the number's holder; the route goes with the number
    FOREIGN KEY (e164, tenant_id) REFERENCES numbers (e164, tenant_id) ON DELETE CASCADE
);
CREATE INDEX routes_tenant ON routes (tenant_id, subsystem);

CREATE TABLE audit_log (
    id         bigserial PRIMARY KEY,
    e164       text,
    -- the tenant the change was made for; NULL for operator-wide changes
    tenant_id  uuid,
    actor      text NOT NULL,
    action     text NOT NULL,
    detail     jsonb NOT NULL DEFAULT '{}',
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_number ON audit_log (e164, id);

-- Transactional outbox: written in the same transaction as the change.
-- `seq` is assigned after commit by the sequencer (didroute_sequence_outbox),
-- which numbers committed rows in order under a lock: positions are therefore
-- gap-free and in commit order, and a row whose transaction commits late just
-- gets a later position instead of being skipped by a reader.
CREATE TABLE outbox (
    id            bigserial PRIMARY KEY,
    seq           bigint UNIQUE,
    tenant_id     uuid,
    e164          text NOT NULL,
    version       bigint NOT NULL,
    op            text NOT NULL CHECK (op IN ('upsert', 'delete')),
    route         jsonb,
    at            timestamptz NOT NULL DEFAULT now(),
    -- set by the Kafka relay once the broker acknowledged the row
    published_at  timestamptz,
    CHECK ((op = 'upsert') = (route IS NOT NULL))
);
CREATE INDEX outbox_unsequenced ON outbox (id) WHERE seq IS NULL;

-- Assigns positions to every committed, unsequenced outbox row, in id order.
-- Serialised by a transaction-level advisory lock; each statement after the
-- lock takes a fresh snapshot, so it sees every row committed before the lock
-- was granted. Returns the position of outbox row `p_id` when given (the
-- writer's own row, for read-your-writes), else the highest position.
CREATE FUNCTION didroute_sequence_outbox(p_id bigint DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql AS $$
DECLARE
    head bigint;
    assigned bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(7046331);  -- the outbox sequencer's lock
    SELECT coalesce(max(seq), 0) INTO head FROM outbox;
    WITH pending AS (
        SELECT id, row_number() OVER (ORDER BY id) AS n
        FROM outbox WHERE seq IS NULL
    )
    UPDATE outbox o SET seq = head + pending.n FROM pending WHERE o.id = pending.id;
    GET DIAGNOSTICS assigned = ROW_COUNT;
    IF assigned > 0 THEN
        PERFORM pg_notify('didroute_outbox', (head + assigned)::text);
    END IF;
    IF p_id IS NULL THEN
        RETURN head + assigned;
    END IF;
    RETURN (SELECT seq FROM outbox WHERE id = p_id);
END $$;

-- Writes the change event of one number, derived from the number's state in
-- this transaction (call it after the change): an upsert with the route
-- while allocated, else a delete; for a number no longer in the table, a
-- delete with a fresh version. Because the event is derived, not supplied,
-- a caller can only ever publish the truth. SECURITY DEFINER, owned by the
-- operator role (migration 3): the app role cannot insert outbox rows itself.
CREATE FUNCTION didroute_emit(p_e164 text) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    n numbers%ROWTYPE;
    r routes%ROWTYPE;
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
            v_route := jsonb_build_object(
                'tenant_id', r.tenant_id, 'subsystem', r.subsystem, 'dashboard_id', r.dashboard_id,
                'customer_label', r.customer_label, 'country', n.country, 'friendly_name', r.friendly_name,
                'organisation_id', r.organisation_id, 'auto_provisioned', r.auto_provisioned);
        END IF;
    END IF;
    INSERT INTO outbox (tenant_id, e164, version, op, route)
    VALUES (coalesce(n.tenant_id, didroute_current_tenant()), p_e164, n.version,
            CASE WHEN v_route IS NULL THEN 'delete' ELSE 'upsert' END, v_route)
    RETURNING id INTO v_id;
    RETURN v_id;
END $$;
