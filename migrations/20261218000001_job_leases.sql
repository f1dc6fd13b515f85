-- Cluster-wide job leases: a periodic job (lifecycle now, carrier jobs
-- later) runs on one control-plane instance at a time. An instance holds a
-- job's lease until `expires_at` and renews it on every run; when it dies,
-- another instance takes the lease over once it has expired.
CREATE TABLE job_leases (
    job         text PRIMARY KEY,
    -- the instance holding it: host/pid/random, logged by the instance at start
    holder      text NOT NULL,
    acquired_at timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);

-- One row per run of a leased job: who ran it and when, so an operator (and
-- the cluster test) can see that runs never overlapped. Rows older than a
-- week are removed by the lifecycle job.
CREATE TABLE job_runs (
    id          bigserial PRIMARY KEY,
    job         text NOT NULL,
    holder      text NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz NOT NULL CHECK (finished_at >= started_at),
    ok          boolean NOT NULL
);
CREATE INDEX job_runs_by_job ON job_runs (job, started_at);

ALTER TABLE job_leases ENABLE ROW LEVEL SECURITY;
ALTER TABLE job_leases FORCE ROW LEVEL SECURITY;
ALTER TABLE job_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE job_runs FORCE ROW LEVEL SECURITY;
-- operator only: tenants never see which instance runs what
GRANT SELECT, INSERT, UPDATE, DELETE ON job_leases, job_runs TO didroute_operator;
GRANT USAGE ON SEQUENCE job_runs_id_seq TO didroute_operator;
CREATE POLICY operator_all ON job_leases TO didroute_operator USING (true) WITH CHECK (true);
CREATE POLICY operator_all ON job_runs TO didroute_operator USING (true) WITH CHECK (true);
