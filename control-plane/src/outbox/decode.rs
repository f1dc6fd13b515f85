//! Outbox rows as change events: the one decoder the event feed and the
//! Kafka relay share.

use didroute_shared::{ChangeEvent, Op, RangeRef, Route, E164};
use sqlx::postgres::PgRow;
use sqlx::Row;

/// The outbox columns [`event_from_row`] reads.
/// Every event is stamped with the database's lineage as it is read: a
/// restored database whose lineage was rotated serves its whole history as
/// the new lineage, which is what it now is.
pub(crate) const EVENT_COLUMNS: &str =
    "seq, e164, version, op, route, at, (SELECT id FROM didroute_lineage) AS lineage, range_id, range_last";

/// One sequenced outbox row (selected with [`EVENT_COLUMNS`]) as its event.
pub(crate) fn event_from_row(r: &PgRow) -> Result<ChangeEvent, sqlx::Error> {
    let seq = r.try_get::<i64, _>("seq")? as u64;
    let bad = |what: String| sqlx::Error::Decode(format!("outbox row {seq}: {what}").into());
    let e164: String = r.try_get("e164")?;
    let route: Option<serde_json::Value> = r.try_get("route")?;
    let op: String = r.try_get("op")?;
    let range_id: Option<i64> = r.try_get("range_id")?;
    let range_last: Option<String> = r.try_get("range_last")?;
    let range = match (range_id, range_last) {
        (Some(id), Some(last)) => Some(RangeRef {
            id: id as u64,
            last: E164::parse(&last).map_err(|e| bad(format!("bad range end {last:?}: {e}")))?,
        }),
        _ => None,
    };
    Ok(ChangeEvent {
        seq,
        number: E164::parse(&e164).map_err(|e| bad(format!("bad number {e164:?}: {e}")))?,
        version: r.try_get::<i64, _>("version")? as u64,
        op: match op.as_str() {
            "upsert" => Op::Upsert,
            "delete" => Op::Delete,
            "block" => Op::Block,
            "range_upsert" => Op::RangeUpsert,
            "range_delete" => Op::RangeDelete,
            other => return Err(bad(format!("unknown op {other:?}"))),
        },
        route: route.map(serde_json::from_value::<Route>).transpose().map_err(|e| bad(format!("bad route: {e}")))?,
        at: r.try_get("at")?,
        lineage: r.try_get("lineage")?,
        range,
    })
}
