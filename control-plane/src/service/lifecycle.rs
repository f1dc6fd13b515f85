//! Lifecycle jobs: expired reservations back to available, cooldown to
//! aging, aging past the reclaim window back to available; and
//! `Idempotency-Key` entries past their 24 hours removed; carrier jobs done
//! more than 7 days ago removed (`carrier_jobs::expire_done`), ended orders
//! after 90 days and reconciliation reports after 30
//! (`carrier_jobs::expire_history`); tracking sessions past their lease
//! ended, their numbers into cooldown (`tracking::expire`); hourly usage
//! buckets past 30 days rolled up into days and applied usage batch ids past
//! 7 days forgotten (`usage::roll_up`, `usage::expire_batches`).
//!
//! In a cluster the jobs run on one instance at a time, under the
//! `lifecycle` job lease (`crate::lease`), each pass fenced by it. Passes
//! are safe to run at once anyway (tests call [`run_once`] unleased): each
//! leases its rows with `FOR UPDATE SKIP LOCKED` and moves them with a
//! compare-and-set on the status, so no row is processed twice.

use std::sync::Arc;
use std::time::Duration;

use didroute_shared::E164;
use serde::Serialize;
use sqlx::Row;
use uuid::Uuid;

use crate::db::Db;
use crate::lease::{self, Lease};
use crate::metrics::Metrics;
use crate::outbox::{self, Change};

/// Rows one pass of one job moves; a job loops until fewer are due.
pub const BATCH: i64 = 1000;

/// How many numbers each job moved.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Report {
    pub reservations_expired: u64,
    pub cooled_down: u64,
    pub returned_to_inventory: u64,
    pub idempotency_keys_expired: u64,
    pub carrier_jobs_expired: u64,
    /// Ended carrier orders, stale placing markers and old reconciliation
    /// reports removed.
    pub carrier_history_expired: u64,
    /// Tracking sessions past their lease, ended (numbers into cooldown).
    pub tracking_leases_expired: u64,
    /// Hourly usage buckets rolled up into daily ones.
    pub usage_hours_rolled_up: u64,
    /// Applied usage batch ids forgotten after 7 days.
    pub usage_batches_expired: u64,
    /// The run stopped because another instance took the lease over.
    pub lease_lost: bool,
}

/// The job lease every instance's lifecycle loop competes for.
pub const LEASE: &str = "lifecycle";

struct Job {
    action: &'static str,
    /// Which rows are due (a predicate on `numbers`).
    due: &'static str,
    /// The status a due row has, re-checked when moving it.
    from: &'static str,
    set: &'static str,
    /// The route goes away for good (the number returns to inventory).
    drop_route: bool,
}

const EXPIRE_RESERVATIONS: Job = Job {
    action: "reservation.expire",
    due: "status = 'reserved' AND reserved_until <= now()",
    from: "reserved",
    set: "status = 'available', tenant_id = NULL, reserved_until = NULL",
    drop_route: false,
};

const END_COOLDOWN: Job = Job {
    action: "number.aging",
    due: "status = 'cooldown' AND cooldown_until <= now()",
    from: "cooldown",
    set: "status = 'aging'",
    drop_route: false,
};

const END_RECLAIM_WINDOW: Job = Job {
    action: "number.return_to_inventory",
    due: "status = 'aging' AND reclaim_until <= now()",
    from: "aging",
    set: "status = 'available', tenant_id = NULL, cooldown_until = NULL, reclaim_until = NULL,
          release_reason = NULL, release_notes = NULL",
    drop_route: true,
};

/// Runs every job until nothing more is due.
pub async fn run_once(db: &Db) -> Result<Report, sqlx::Error> {
    run_fenced(db, None).await
}

/// Runs every job until nothing more is due or, under `lease`, until the
/// lease is lost.
async fn run_fenced(db: &Db, lease: Option<&Lease>) -> Result<Report, sqlx::Error> {
    let mut report = Report::default();
    for (job, moved) in [
        (&EXPIRE_RESERVATIONS, &mut report.reservations_expired),
        (&END_COOLDOWN, &mut report.cooled_down),
        (&END_RECLAIM_WINDOW, &mut report.returned_to_inventory),
    ] {
        match run_job(db, job, lease).await? {
            Some(n) => *moved = n,
            None => {
                report.lease_lost = true;
                break;
            }
        }
    }
    if !report.lease_lost {
        loop {
            match super::tracking::expire(&db.operator, lease, BATCH).await? {
                Some(n) => {
                    report.tracking_leases_expired += n;
                    if n < BATCH as u64 {
                        break;
                    }
                }
                None => {
                    report.lease_lost = true;
                    break;
                }
            }
        }
    }
    if !report.lease_lost {
        report.idempotency_keys_expired = super::idempotency::expire(&db.operator, BATCH).await?;
        report.carrier_jobs_expired = super::carrier_jobs::expire_done(&db.operator, BATCH).await?;
        report.carrier_history_expired = super::carrier_jobs::expire_history(&db.operator, BATCH).await?;
        report.usage_hours_rolled_up = super::usage::roll_up(&db.operator, BATCH).await?;
        report.usage_batches_expired = super::usage::expire_batches(&db.operator, BATCH).await?;
        lease::expire_runs(&db.operator).await?;
    }
    // only the number jobs write outbox rows
    if report.reservations_expired + report.cooled_down + report.returned_to_inventory + report.tracking_leases_expired
        > 0
    {
        outbox::sequence_all(&db.operator).await?;
    }
    Ok(report)
}

/// `None`: the lease was lost part way.
async fn run_job(db: &Db, job: &Job, lease: Option<&Lease>) -> Result<Option<u64>, sqlx::Error> {
    let mut total = 0;
    loop {
        let Some(moved) = pass(db, job, lease).await? else { return Ok(None) };
        total += moved;
        if moved < BATCH as u64 {
            return Ok(Some(total));
        }
    }
}

/// One transaction: lease up to BATCH due rows, move them, record the
/// changes. `None`: `lease` is no longer this instance's; nothing was done.
async fn pass(db: &Db, job: &Job, lease: Option<&Lease>) -> Result<Option<u64>, sqlx::Error> {
    let mut tx = db.operator.begin().await?;
    if let Some(lease) = lease {
        if !lease.fence(&mut tx).await? {
            return Ok(None);
        }
    }
    // the lease: rows another instance is moving right now are skipped
    let due = sqlx::query(&format!(
        "SELECT e164, tenant_id FROM numbers WHERE {} ORDER BY e164 LIMIT $1 FOR UPDATE SKIP LOCKED",
        job.due
    ))
    .bind(BATCH)
    .fetch_all(&mut *tx)
    .await?;
    if due.is_empty() {
        return Ok(Some(0));
    }
    let numbers: Vec<String> = due.iter().map(|r| r.get("e164")).collect();
    if job.drop_route {
        sqlx::query("DELETE FROM routes WHERE e164 = ANY($1)").bind(&numbers).execute(&mut *tx).await?;
    }
    // compare-and-set: only rows still in the status the lease saw
    let moved = sqlx::query(&format!(
        "UPDATE numbers SET {} WHERE e164 = ANY($1) AND status = $2 RETURNING e164, version",
        job.set
    ))
    .bind(&numbers)
    .bind(job.from)
    .fetch_all(&mut *tx)
    .await?;
    let holder: std::collections::HashMap<String, Option<Uuid>> =
        due.iter().map(|r| (r.get::<String, _>("e164"), r.get::<Option<Uuid>, _>("tenant_id"))).collect();
    let changes: Vec<Change> = moved
        .iter()
        .filter_map(|r| {
            let e164: String = r.get("e164");
            Some(Change {
                number: E164::parse(&e164).ok()?,
                tenant: holder.get(&e164).copied().flatten(),
                detail: serde_json::json!({ "from": job.from }),
            })
        })
        .collect();
    outbox::record(&mut tx, "lifecycle", job.action, &changes).await?;
    tx.commit().await?;
    if !changes.is_empty() {
        tracing::info!(job = job.action, moved = changes.len(), "lifecycle pass");
    }
    Ok(Some(moved.len() as u64))
}

/// Runs the jobs every `interval`, whenever this instance (`holder`) holds
/// the lifecycle lease, until the task is dropped.
pub async fn run_forever(db: Db, metrics: Arc<Metrics>, interval: Duration, holder: String) {
    let lease = Lease::new(db.operator.clone(), LEASE, holder, Lease::ttl_for(interval));
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut held = false;
    loop {
        tick.tick().await;
        let run = match lease.begin().await {
            Ok(Some(run)) => run,
            Ok(None) => {
                if std::mem::take(&mut held) {
                    tracing::info!(job = LEASE, "another instance holds the job lease now");
                }
                metrics.lease_held(LEASE, false);
                continue;
            }
            Err(e) => {
                metrics.lifecycle_run(Err(()));
                tracing::warn!(error = %e, "cannot take the lifecycle lease; retrying next tick");
                continue;
            }
        };
        if !std::mem::replace(&mut held, true) {
            tracing::info!(job = LEASE, holder = lease.holder(), "this instance holds the job lease");
        }
        metrics.lease_held(LEASE, true);
        let result = run_fenced(&db, Some(&lease)).await;
        if let Err(e) = lease.finish(run, result.is_ok()).await {
            tracing::warn!(error = %e, "cannot record the lifecycle run");
        }
        match result {
            Ok(r) => {
                metrics.tracking_ended("expired", r.tracking_leases_expired);
                metrics.lifecycle_run(Ok(&[
                    (EXPIRE_RESERVATIONS.action, r.reservations_expired),
                    (END_COOLDOWN.action, r.cooled_down),
                    (END_RECLAIM_WINDOW.action, r.returned_to_inventory),
                    ("tracking.lease_expire", r.tracking_leases_expired),
                ]))
            }
            Err(e) => {
                metrics.lifecycle_run(Err(()));
                tracing::warn!(error = %e, "lifecycle jobs failed; retrying next tick");
            }
        }
    }
}
