-- Orders at carriers, the durable jobs that call carriers, and the reports
-- of reconciliation runs. Operator only: no tenant sees or changes them.
--
-- carrier_jobs is an outbox towards the carriers: a request writes the job
-- in the same transaction as the state change (an order and its pending
-- numbers, a hard delete), and only the job worker calls the carrier. A job
-- is claimed with FOR UPDATE SKIP LOCKED and its outcome committed in that
-- same transaction, so a crashed worker's job is taken up again at once.

CREATE TABLE carrier_orders (
    id                uuid PRIMARY KEY,
    carrier           text NOT NULL,
    -- pending: not yet placed at the carrier; placed: the carrier took it and
    -- it is being followed; completed / failed: ended
    status            text NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'placed', 'completed', 'failed')),
    carrier_module    text NOT NULL CHECK (carrier_module IN ('inventory', 'managed')),
    tenant_id         uuid REFERENCES tenants (id),
    -- the numbers asked for (a list), or empty while a criteria order is unplaced
    numbers           text[] NOT NULL DEFAULT '{}',
    -- {country, area_code?, contains?, number_type?} and quantity of an order by criteria
    criteria          jsonb,
    quantity          integer CHECK (quantity IS NULL OR quantity BETWEEN 1 AND 100),
    carrier_order_id  text,
    last_error        text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    completed_at      timestamptz,
    CHECK ((criteria IS NULL) = (quantity IS NULL))
);

CREATE TABLE carrier_jobs (
    id               bigserial PRIMARY KEY,
    -- order: place the order (after looking for one with our reference), then
    -- follow it; disconnect: release one number at the carrier
    kind             text NOT NULL CHECK (kind IN ('order', 'disconnect')),
    carrier          text NOT NULL,
    order_id         uuid REFERENCES carrier_orders (id),
    e164             text,
    state            text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'done', 'dead')),
    -- failed attempts so far (a pending order's polls are not failures)
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'order') = (order_id IS NOT NULL)),
    CHECK ((kind = 'disconnect') = (e164 IS NOT NULL))
);
CREATE INDEX carrier_jobs_due ON carrier_jobs (next_attempt_at) WHERE state = 'queued';
CREATE UNIQUE INDEX carrier_jobs_one_per_order ON carrier_jobs (order_id) WHERE order_id IS NOT NULL;

CREATE TABLE reconciliations (
    id           bigserial PRIMARY KEY,
    -- requested: asked for by POST /v1/reconciliations, not yet started
    status       text NOT NULL DEFAULT 'requested' CHECK (status IN ('requested', 'running', 'finished', 'failed')),
    trigger      text NOT NULL CHECK (trigger IN ('schedule', 'request')),
    requested_at timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    finished_at  timestamptz,
    report       jsonb
);
CREATE INDEX reconciliations_requested ON reconciliations (id) WHERE status = 'requested';

ALTER TABLE carrier_orders ENABLE ROW LEVEL SECURITY;
ALTER TABLE carrier_orders FORCE ROW LEVEL SECURITY;
ALTER TABLE carrier_jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE carrier_jobs FORCE ROW LEVEL SECURITY;
ALTER TABLE reconciliations ENABLE ROW LEVEL SECURITY;
ALTER TABLE reconciliations FORCE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, UPDATE ON carrier_orders, carrier_jobs, reconciliations TO didroute_operator;
GRANT USAGE, SELECT ON SEQUENCE carrier_jobs_id_seq, reconciliations_id_seq TO didroute_operator;
CREATE POLICY operator_all ON carrier_orders TO didroute_operator USING (true) WITH CHECK (true);
CREATE POLICY operator_all ON carrier_jobs TO didroute_operator USING (true) WITH CHECK (true);
CREATE POLICY operator_all ON reconciliations TO didroute_operator USING (true) WITH CHECK (true);
