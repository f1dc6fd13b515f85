//! The database's event lineage (see the migration `…_lineage.sql` and the
//! lookup node's `feed/lineage.rs`): read it, and rotate it when an operator
//! declares a restore.

use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

/// The lineage now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Current {
    pub id: Uuid,
    /// Where this lineage's history starts (0: the first migration).
    pub since_seq: u64,
    pub started_at: OffsetDateTime,
}

/// What a rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotated {
    pub id: Uuid,
    pub since_seq: u64,
    /// Numbers whose state was emitted again under the new lineage.
    pub emitted: u64,
    /// The head position after the re-emission.
    pub head_seq: u64,
}

pub async fn current(operator: &PgPool) -> Result<Current, sqlx::Error> {
    let (id, since, started_at): (Uuid, i64, OffsetDateTime) =
        sqlx::query_as("SELECT id, since_seq, started_at FROM didroute_lineage").fetch_one(operator).await?;
    Ok(Current { id, since_seq: since as u64, started_at })
}

/// Declares that this database starts a new history (after a restore to an
/// earlier point): a new lineage, and every number's state emitted again
/// under it, in one transaction. Lookup nodes that followed the old history
/// see the new lineage and stop (or rebuild); a topic holding the old
/// database's records gets the whole current state under the new lineage,
/// so a node rebuilding from it needs nothing older.
pub async fn rotate(operator: &PgPool) -> Result<Rotated, sqlx::Error> {
    let mut tx = operator.begin().await?;
    let id = Uuid::new_v4();
    // the re-emission is sequenced after every row already there
    let since: i64 = sqlx::query_scalar(
        "UPDATE didroute_lineage
         SET id = $1, since_seq = (SELECT coalesce(max(seq), 0) + 1 FROM outbox), started_at = now()
         RETURNING since_seq",
    )
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    // didroute_emit derives each event from the number's row as it stands:
    // upserts for routed numbers, deletes for the rest
    let numbers: i64 =
        sqlx::query_scalar("SELECT count(didroute_emit(e164)) FROM (SELECT e164 FROM numbers ORDER BY e164) n")
            .fetch_one(&mut *tx)
            .await?;
    // range routes too: a node rebuilding under the new lineage needs them
    let ranges: i64 = sqlx::query_scalar(&format!(
        "SELECT count(didroute_emit_range(id, {RANGE_FIRST}, {RANGE_LAST})) FROM (SELECT * FROM pool_ranges ORDER BY id) r"
    ))
    .fetch_one(&mut *tx)
    .await?;
    let emitted = numbers + ranges;
    tx.commit().await?;
    let head_seq = super::sequence_all(operator).await?;
    Ok(Rotated { id, since_seq: since as u64, emitted: emitted as u64, head_seq })
}

/// A `pool_ranges` row's first number as E.164 text (the column is the
/// canonical `[first, last + 1)`).
pub(crate) const RANGE_FIRST: &str = "'+' || lower(numbers)::text";
/// Its last number.
pub(crate) const RANGE_LAST: &str = "'+' || (upper(numbers) - 1)::text";
