//! Cluster-wide job leases: a periodic job runs on one control-plane
//! instance at a time (migration `job_leases`).
//!
//! An instance takes a job's lease when it is free, expired or already its
//! own, and renews it on every run; an instance that dies loses it when it
//! expires, and another takes over. Work done under a lease is fenced: each
//! transaction of the job first locks the lease row `FOR SHARE` and checks it
//! is still held, so a takeover (an `UPDATE` of that row) waits for the old
//! holder's transaction in flight, and the old holder's next one finds the
//! lease gone. Two instances never move rows for the same job at once.

use std::time::Duration;

use sqlx::{PgPool, Postgres, Row, Transaction};
use time::OffsetDateTime;

/// This process as a lease holder: `host/pid/random`, unique per start.
pub fn instance_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".to_owned());
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}/{}/{}", std::process::id(), &nonce[..8])
}

/// One job's lease as seen by one instance.
#[derive(Debug, Clone)]
pub struct Lease {
    pool: PgPool,
    job: &'static str,
    holder: String,
    /// How long a lease lasts without renewal: how long the cluster waits
    /// for a dead holder before another instance runs the job.
    ttl: Duration,
}

/// A run of a job under its lease, started by [`Lease::begin`].
#[derive(Debug)]
pub struct Run {
    started_at: OffsetDateTime,
}

impl Lease {
    pub fn new(pool: PgPool, job: &'static str, holder: String, ttl: Duration) -> Lease {
        Lease { pool, job, holder, ttl }
    }

    /// The lease time for a job run every `interval`: a few missed runs,
    /// never under 3 s (a slow transaction must not lose its lease).
    pub fn ttl_for(interval: Duration) -> Duration {
        (interval * 6).max(Duration::from_secs(3))
    }

    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// Takes or renews the lease. `None`: another live instance holds it.
    pub async fn begin(&self) -> Result<Option<Run>, sqlx::Error> {
        let row = sqlx::query(
            "INSERT INTO job_leases (job, holder, expires_at)
             VALUES ($1, $2, now() + make_interval(secs => $3))
             ON CONFLICT (job) DO UPDATE
                SET holder = EXCLUDED.holder,
                    expires_at = EXCLUDED.expires_at,
                    acquired_at = CASE WHEN job_leases.holder = EXCLUDED.holder
                                       THEN job_leases.acquired_at ELSE now() END
                -- ours to renew, or a dead holder's to take over
                WHERE job_leases.holder = EXCLUDED.holder OR job_leases.expires_at < now()
             RETURNING now() AS started_at",
        )
        .bind(self.job)
        .bind(&self.holder)
        .bind(self.ttl.as_secs_f64())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| Run { started_at: r.get("started_at") }))
    }

    /// Locks the lease for the rest of `tx` if this instance still holds it;
    /// false: it was taken over, and the job must stop.
    pub async fn fence(&self, tx: &mut Transaction<'_, Postgres>) -> Result<bool, sqlx::Error> {
        // FOR SHARE: a takeover's UPDATE waits for this transaction
        let held =
            sqlx::query("SELECT 1 FROM job_leases WHERE job = $1 AND holder = $2 AND expires_at > now() FOR SHARE")
                .bind(self.job)
                .bind(&self.holder)
                .fetch_optional(&mut **tx)
                .await?;
        Ok(held.is_some())
    }

    /// Records a finished run (the operator's and the cluster test's record
    /// that runs never overlap).
    pub async fn finish(&self, run: Run, ok: bool) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO job_runs (job, holder, started_at, finished_at, ok)
             VALUES ($1, $2, $3, greatest($3, clock_timestamp()), $4)",
        )
        .bind(self.job)
        .bind(&self.holder)
        .bind(run.started_at)
        .bind(ok)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Gives the lease up (at shutdown), so another instance need not wait
    /// for it to expire.
    pub async fn release(&self) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM job_leases WHERE job = $1 AND holder = $2")
            .bind(self.job)
            .bind(&self.holder)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// Removes run records older than a week. Called every run, so each call
/// finds only what aged past the week since the last one.
pub async fn expire_runs(pool: &PgPool) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM job_runs WHERE started_at < now() - interval '7 days'")
        .execute(pool)
        .await?
        .rows_affected())
}
