-- Numbers a carrier bills for that the inventory does not hold, as the last
-- reconciliation of that carrier found them (replaced whole on each run).
-- Operator only.
CREATE TABLE carrier_orphans (
    carrier         text NOT NULL,
    e164            text NOT NULL,
    country         text,
    number_type     text,
    carrier_status  text NOT NULL,
    -- the carrier's current monthly price for numbers of this country and
    -- type, when its stock shows one (carriers do not price owned numbers)
    monthly_cost    numeric(12, 4) CHECK (monthly_cost >= 0),
    currency        char(3),
    found_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (carrier, e164)
);
CREATE INDEX carrier_orphans_number ON carrier_orphans (e164);

ALTER TABLE carrier_orphans ENABLE ROW LEVEL SECURITY;
ALTER TABLE carrier_orphans FORCE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, UPDATE, DELETE ON carrier_orphans TO didroute_operator;
CREATE POLICY operator_all ON carrier_orphans TO didroute_operator USING (true) WITH CHECK (true);
