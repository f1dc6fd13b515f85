-- Claims by criteria read claimable rows in index order and stop after the
-- quantity asked for, instead of sorting every available number of a
-- country (GOALS.md C1: with two million available numbers that sort cost
-- seconds per request). "C" collation: byte order, so the same index also
-- serves prefix ranges (`e164 >= '+1555' AND e164 < '+1555:'`).

-- public inventory, per country
CREATE INDEX numbers_claimable ON numbers (country, (e164 COLLATE "C"))
    WHERE status = 'available' AND tenant_id IS NULL AND pool_tenant_id IS NULL;

-- numbers_available (country, e164 text_pattern_ops) WHERE available served
-- nothing numbers_search (country, status, e164 text_pattern_ops) does not;
-- dropping it keeps an import's index maintenance where it was (GOALS.md C3)
DROP INDEX numbers_available;

-- a tenant's private pool, per country
CREATE INDEX numbers_pool_claimable ON numbers (pool_tenant_id, country, (e164 COLLATE "C"))
    WHERE status = 'available' AND tenant_id IS NULL AND pool_tenant_id IS NOT NULL;

-- A writer whose row another writer's call already sequenced returns at
-- once instead of queueing on the sequencer's lock (a position, once given,
-- never changes). Otherwise as in migration 2.
CREATE OR REPLACE FUNCTION didroute_sequence_outbox(p_id bigint DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql AS $$
DECLARE
    head bigint;
    assigned bigint;
BEGIN
    IF p_id IS NOT NULL THEN
        SELECT seq INTO assigned FROM outbox WHERE id = p_id;
        IF assigned IS NOT NULL THEN
            RETURN assigned;
        END IF;
    END IF;
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
