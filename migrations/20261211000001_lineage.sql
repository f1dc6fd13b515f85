-- Event lineage: which history of this database its change events belong
-- to. A database restored to an earlier point reuses positions (seq) for new
-- changes; a lookup node that followed the lost history would skip them as
-- already seen and keep routing from stale data. `didroute-control-plane
-- lineage rotate` gives the restored database a new lineage (and re-emits
-- every number's state under it), and every event carries the lineage, so a
-- node notices instead of skipping.
CREATE TABLE didroute_lineage (
    -- one row: the lineage of this database now
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    id          uuid NOT NULL,
    -- the first position of this lineage: 0 from the first migration, else
    -- where the full re-emission of a rotation starts
    since_seq   bigint NOT NULL DEFAULT 0 CHECK (since_seq >= 0),
    started_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO didroute_lineage (id) VALUES (gen_random_uuid());
ALTER TABLE didroute_lineage ENABLE ROW LEVEL SECURITY;
ALTER TABLE didroute_lineage FORCE ROW LEVEL SECURITY;
-- operator only: the feed and the relay read it, `lineage rotate` changes it
-- (in the same transaction as the re-emission, which runs as the operator)
GRANT SELECT, UPDATE ON didroute_lineage TO didroute_operator;
CREATE POLICY operator_all ON didroute_lineage TO didroute_operator USING (true) WITH CHECK (true);
