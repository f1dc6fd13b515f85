//! Lifecycle jobs: expired reservations back to available, cooldown to
//! aging, aging past the reclaim window back to available; and
//! `Idempotency-Key` entries past their 24 hours removed.
//!
//! Several control-plane instances may run these at once. Each pass leases
//! its rows with `FOR UPDATE SKIP LOCKED` and moves them with a
//! compare-and-set on the status, so no row is processed twice.

use std::sync::Arc;
use std::time::Duration;

use didroute_shared::E164;
use serde::Serialize;
use sqlx::Row;
use uuid::Uuid;

use crate::db::Db;
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
}

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
    let report = Report {
        reservations_expired: run_job(db, &EXPIRE_RESERVATIONS).await?,
        cooled_down: run_job(db, &END_COOLDOWN).await?,
        returned_to_inventory: run_job(db, &END_RECLAIM_WINDOW).await?,
        idempotency_keys_expired: super::idempotency::expire(&db.operator, BATCH).await?,
    };
    // only the number jobs write outbox rows
    if report.reservations_expired + report.cooled_down + report.returned_to_inventory > 0 {
        outbox::sequence_all(&db.operator).await?;
    }
    Ok(report)
}

async fn run_job(db: &Db, job: &Job) -> Result<u64, sqlx::Error> {
    let mut total = 0;
    loop {
        let moved = pass(db, job).await?;
        total += moved;
        if moved < BATCH as u64 {
            return Ok(total);
        }
    }
}

/// One transaction: lease up to BATCH due rows, move them, record the changes.
async fn pass(db: &Db, job: &Job) -> Result<u64, sqlx::Error> {
    let mut tx = db.operator.begin().await?;
    // the lease: rows another instance is moving right now are skipped
    let due = sqlx::query(&format!(
        "SELECT e164, tenant_id FROM numbers WHERE {} ORDER BY e164 LIMIT $1 FOR UPDATE SKIP LOCKED",
        job.due
    ))
    .bind(BATCH)
    .fetch_all(&mut *tx)
    .await?;
    if due.is_empty() {
        return Ok(0);
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
    Ok(moved.len() as u64)
}

/// Runs the jobs every `interval` until the task is dropped.
pub async fn run_forever(db: Db, metrics: Arc<Metrics>, interval: Duration) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match run_once(&db).await {
            Ok(r) => metrics.lifecycle_run(Ok(&[
                (EXPIRE_RESERVATIONS.action, r.reservations_expired),
                (END_COOLDOWN.action, r.cooled_down),
                (END_RECLAIM_WINDOW.action, r.returned_to_inventory),
            ])),
            Err(e) => {
                metrics.lifecycle_run(Err(()));
                tracing::warn!(error = %e, "lifecycle jobs failed; retrying next tick");
            }
        }
    }
}
