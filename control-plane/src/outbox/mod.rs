//! The transactional outbox, the whole write path of a change event:
//! [`record`] writes it with the change, [`commit_and_sequence`] commits and
//! gives it its gap-free commit-order position, [`read`] serves it to the
//! feed and [`relay`] publishes it to Kafka (both through one decoder), and
//! the head tracker keeps the newest position known.

mod decode;
mod head;
pub mod lineage;
pub mod record;
pub mod relay;

use didroute_shared::ChangeEvent;
use sqlx::PgPool;

pub use head::run_head_tracker;
pub use record::{record, Change};

use crate::error::ApiResult;
use crate::state::AppState;

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

/// The highest sequenced position in the database.
pub async fn head(operator: &PgPool) -> Result<u64, sqlx::Error> {
    let head: Option<i64> = sqlx::query_scalar("SELECT max(seq) FROM outbox").fetch_one(operator).await?;
    Ok(head.unwrap_or(0) as u64)
}

/// Events after position `after`, oldest first, at most `limit`.
pub async fn read(operator: &PgPool, after: u64, limit: i64) -> Result<Vec<ChangeEvent>, sqlx::Error> {
    let sql = format!("SELECT {} FROM outbox WHERE seq > $1 ORDER BY seq LIMIT $2", decode::EVENT_COLUMNS);
    let rows = sqlx::query(&sql).bind(after as i64).bind(limit).fetch_all(operator).await?;
    rows.iter().map(decode::event_from_row).collect()
}

/// Commits the writing transaction, sequences its outbox rows and returns
/// the position of row `outbox_id` (the head position when it wrote none).
pub async fn commit_and_sequence(
    state: &AppState,
    tx: sqlx::Transaction<'static, sqlx::Postgres>,
    outbox_id: Option<i64>,
) -> ApiResult<u64> {
    tx.commit().await?;
    let Some(outbox_id) = outbox_id else { return Ok(*state.head.borrow()) };
    let seq = sequence(&state.db.operator, outbox_id).await?;
    state.advance_head(seq);
    Ok(seq)
}
