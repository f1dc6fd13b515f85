//! The transactional outbox: change events written with the change, then
//! sequenced into gap-free commit-order positions, then read by the feed.

use std::time::Duration;

use didroute_shared::{ChangeEvent, Op, Route, E164};
use sqlx::postgres::PgListener;
use sqlx::{PgPool, Row};
use time::OffsetDateTime;
use tokio::sync::watch;

/// Channel `didroute_sequence_outbox()` notifies with the new head position.
pub const CHANNEL: &str = "didroute_outbox";

/// Sequences every committed row and returns the position of row `id`: call
/// it after the writing transaction committed.
pub async fn sequence(operator: &PgPool, id: i64) -> Result<u64, sqlx::Error> {
    let seq: Option<i64> =
        sqlx::query_scalar("SELECT didroute_sequence_outbox($1)").bind(id).fetch_one(operator).await?;
    Ok(seq.unwrap_or(0) as u64)
}

/// Sequences every committed row; returns the head position.
pub async fn sequence_all(operator: &PgPool) -> Result<u64, sqlx::Error> {
    let head: Option<i64> = sqlx::query_scalar("SELECT didroute_sequence_outbox()").fetch_one(operator).await?;
    Ok(head.unwrap_or(0) as u64)
}

/// Events after position `after`, oldest first, at most `limit`.
pub async fn read(operator: &PgPool, after: u64, limit: i64) -> Result<Vec<ChangeEvent>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT seq, e164, version, op, route, at FROM outbox
         WHERE seq > $1 ORDER BY seq LIMIT $2",
    )
    .bind(after as i64)
    .bind(limit)
    .fetch_all(operator)
    .await?;
    rows.into_iter()
        .map(|r| {
            let e164: String = r.get("e164");
            let route: Option<serde_json::Value> = r.get("route");
            let op: String = r.get("op");
            Ok(ChangeEvent {
                seq: r.get::<i64, _>("seq") as u64,
                number: E164::parse(&e164).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
                version: r.get::<i64, _>("version") as u64,
                op: if op == "upsert" { Op::Upsert } else { Op::Delete },
                route: route
                    .map(serde_json::from_value::<Route>)
                    .transpose()
                    .map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
                at: r.get::<OffsetDateTime, _>("at"),
            })
        })
        .collect()
}

/// Keeps `head` at the highest sequenced position: listens for the
/// sequencer's notifications, and every `tick` sequences rows left behind by a
/// writer that committed but died before sequencing.
pub async fn run_head_tracker(operator: PgPool, head: std::sync::Arc<watch::Sender<u64>>, tick: Duration) {
    loop {
        if let Err(e) = track(&operator, &head, tick).await {
            tracing::warn!(error = %e, "outbox listener failed; reconnecting");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

async fn track(operator: &PgPool, head: &watch::Sender<u64>, tick: Duration) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect_with(operator).await?;
    listener.listen(CHANNEL).await?;
    head.send_if_modified(|h| bump(h, 0));
    let now = sequence_all(operator).await?;
    head.send_if_modified(|h| bump(h, now));
    loop {
        tokio::select! {
            n = listener.recv() => {
                let n = n?;
                if let Ok(v) = n.payload().parse::<u64>() {
                    head.send_if_modified(|h| bump(h, v));
                }
            }
            _ = tokio::time::sleep(tick) => {
                let now = sequence_all(operator).await?;
                head.send_if_modified(|h| bump(h, now));
            }
        }
    }
}

fn bump(h: &mut u64, v: u64) -> bool {
    if v > *h {
        *h = v;
        true
    } else {
        false
    }
}
