//! Range routes (operator work): a tenant's DID range, PortSIP style, that
//! routes to the tenant as one block. A range is a row of `pool_ranges`
//! (the table imports with a `tenant_id` write too): the numbers of the
//! inventory inside it join the tenant's private pool, and the range's route
//! is published as a range event (`didroute_emit_range`) in the same
//! transaction as the row and its audit row. A split or a re-assignment is a
//! delete and new ranges, with no re-import.

use didroute_shared::problem::ProblemType;
use didroute_shared::wire::{NewRange, RangeDeleted, RangeView};
use didroute_shared::{parse_ranges_in, Country, NumberRange, E164};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use super::idempotency::{self, Answer, Key};
use crate::db::Db;
use crate::error::{ApiError, ApiResult};
use crate::outbox::lineage::{RANGE_FIRST, RANGE_LAST};
use crate::state::AppState;

fn columns() -> String {
    format!(
        "id, tenant_id, {RANGE_FIRST} AS first, {RANGE_LAST} AS last, subsystem, dashboard_id, customer_label, \
         created_at"
    )
}

fn view(r: &PgRow) -> ApiResult<RangeView> {
    let first: String = r.try_get("first")?;
    let last: String = r.try_get("last")?;
    let subsystem: Option<String> = r.try_get("subsystem")?;
    let (a, b) = (E164::parse(&first), E164::parse(&last));
    let numbers = match (&a, &b) {
        (Ok(a), Ok(b)) => (b.as_u64() - a.as_u64() + 1) as i64,
        _ => 0,
    };
    Ok(RangeView {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        range: format!("{}-{}", &first[1..], &last[1..]),
        first,
        last,
        numbers,
        subsystem: subsystem.and_then(|s| s.parse().ok()),
        dashboard_id: r.try_get("dashboard_id")?,
        customer_label: r.try_get("customer_label")?,
        created_at: r.try_get("created_at")?,
        joined_pool: None,
        seq: None,
    })
}

/// Parses `text` as exactly one range (or one number).
fn one_range(text: &str) -> ApiResult<NumberRange> {
    let parsed = parse_ranges_in(text, None);
    if let Some(bad) = parsed.rejected.first() {
        return Err(ApiError::new(ProblemType::InvalidField, format!("range {}: {}", bad.input, bad.reason)));
    }
    match parsed.ranges.as_slice() {
        [r] => Ok(*r),
        [] => Err(ApiError::new(ProblemType::InvalidField, "range must name numbers, such as 15550001000-15550001999")),
        _ => Err(ApiError::new(ProblemType::InvalidField, "range must be one range: create one per range")),
    }
}

/// The other range `range` overlaps, if any: `(id, tenant, first-last)`.
async fn overlapping(tx: &mut PgConnection, range: &NumberRange) -> ApiResult<Option<(i64, Uuid, String)>> {
    let row = sqlx::query(&format!(
        "SELECT id, tenant_id, {RANGE_FIRST} AS first, {RANGE_LAST} AS last FROM pool_ranges
         WHERE numbers && int8range($1, $2, '[]') ORDER BY id LIMIT 1"
    ))
    .bind(range.first.as_u64() as i64)
    .bind(range.last.as_u64() as i64)
    .fetch_optional(&mut *tx)
    .await?;
    Ok(row.map(|r| {
        let (first, last): (String, String) = (r.get("first"), r.get("last"));
        (r.get("id"), r.get("tenant_id"), format!("{}-{}", &first[1..], &last[1..]))
    }))
}

/// `WHERE` over `numbers` for the numbers of a range, `$2` its first and `$3`
/// its last as E.164 text: one length, so text order is number order.
const IN_RANGE: &str = "e164 COLLATE \"C\" BETWEEN $2 AND $3 AND length(e164) = length($2)";

/// Creates a range route for `tenant`.
pub async fn create(state: &AppState, tenant: Uuid, req: &NewRange, key: Option<&Key>) -> ApiResult<Answer<RangeView>> {
    let range = one_range(&req.range)?;
    if req.subsystem == Some(didroute_shared::Subsystem::Tracking) {
        return Err(ApiError::new(
            ProblemType::InvalidField,
            "a range cannot route as tracking: tracking numbers are a tracking pool's, one by one",
        ));
    }
    for (field, v) in [("dashboard_id", &req.dashboard_id), ("customer_label", &req.customer_label)] {
        if let Some(v) = v {
            super::check_text(field, v, 200)?;
        }
    }
    let mut tx = state.db.operator.begin().await?;
    if let Some(first) = idempotency::repeat(state, &mut tx, None, key).await? {
        return Ok(first);
    }
    // one tenant's range changes one at a time: the overlap check below
    // covers the tenant's own ranges, which the constraint allows
    let exists =
        sqlx::query("SELECT 1 FROM tenants WHERE id = $1 FOR UPDATE").bind(tenant).fetch_optional(&mut *tx).await?;
    if exists.is_none() {
        return Err(ApiError::not_found(format!("no tenant {tenant}")));
    }
    if let Some((id, owner, other)) = overlapping(&mut tx, &range).await? {
        let whose = if owner == tenant { "this tenant's".to_owned() } else { format!("tenant {owner}'s") };
        return Err(ApiError::new(
            ProblemType::RangeOverlap,
            format!("range {range} overlaps {whose} range {id} ({other}): delete it first, or give a range beside it"),
        ));
    }
    let (first, last) = (range.first.to_string(), range.last.to_string());
    // the numbering plan names the range's country; where it names none
    // (a test range such as +1555...), the country import recorded for the
    // range's numbers, checked against the plan the same way
    let recorded: Option<String> = sqlx::query_scalar(
        "SELECT country FROM numbers WHERE e164 COLLATE \"C\" BETWEEN $1 AND $2 AND length(e164) = length($1) LIMIT 1",
    )
    .bind(&first)
    .bind(&last)
    .fetch_optional(&mut *tx)
    .await?;
    let recorded = recorded.and_then(|c| Country::parse(c.trim()).ok());
    let country = super::inventory::range_country(&range, None)
        .or_else(|why| match recorded {
            Some(c) => super::inventory::range_country(&range, Some(c)),
            // a range has no country field: its numbers' import names it
            None if why.starts_with("no numbering plan") => {
                Err("no numbering plan names the country of these numbers: import them with their country first".into())
            }
            None => Err(why),
        })
        .map_err(|why| ApiError::new(ProblemType::InvalidNumber, format!("range {range}: {why}")))?;
    let held: Option<(String, Uuid)> = sqlx::query_as(&format!(
        "SELECT e164, tenant_id FROM numbers WHERE {IN_RANGE} AND tenant_id <> $1 ORDER BY e164 COLLATE \"C\" LIMIT 1"
    ))
    .bind(tenant)
    .bind(&first)
    .bind(&last)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some((number, owner)) = held {
        return Err(ApiError::new(
            ProblemType::RangeOverlap,
            format!("range {range} holds {number}, which tenant {owner} holds: release it first"),
        ));
    }
    // the exclusion constraint stands behind the check above, for writers
    // that do not lock the tenant (imports)
    let row = sqlx::query(&format!(
        "INSERT INTO pool_ranges (tenant_id, numbers, subsystem, dashboard_id, customer_label, country)
         VALUES ($1, int8range($2, $3, '[]'), $4, $5, $6, $7) RETURNING {}",
        columns()
    ))
    .bind(tenant)
    .bind(range.first.as_u64() as i64)
    .bind(range.last.as_u64() as i64)
    .bind(req.subsystem.map(|s| s.as_str()))
    .bind(&req.dashboard_id)
    .bind(&req.customer_label)
    .bind(country.alpha2())
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(d) if d.code().as_deref() == Some("23P01") => {
            ApiError::new(ProblemType::RangeOverlap, format!("range {range} overlaps another tenant's range"))
        }
        _ => e.into(),
    })?;
    let mut answer = view(&row)?;
    let joined = join_pool(&mut tx, tenant, &first, &last).await?;
    super::tenants::audit(
        &mut tx,
        Some(tenant),
        "range.create",
        serde_json::json!({"range_id": answer.id, "range": answer.range, "subsystem": answer.subsystem,
            "dashboard_id": answer.dashboard_id, "customer_label": answer.customer_label, "joined_pool": joined}),
    )
    .await?;
    let outbox_id: i64 = sqlx::query_scalar("SELECT didroute_emit_range($1, $2, $3)")
        .bind(answer.id)
        .bind(&first)
        .bind(&last)
        .fetch_one(&mut *tx)
        .await?;
    answer.joined_pool = Some(joined);
    answer.seq = Some(0);
    idempotency::keep(&mut tx, None, key, 201, &answer, Some(outbox_id)).await?;
    answer.seq = Some(crate::outbox::commit_and_sequence(state, tx, Some(outbox_id)).await?);
    Ok(Answer::Fresh(answer))
}

/// Numbers of the inventory in `first..=last` join `tenant`'s private pool
/// (public ones, and the tenant's own); how many did.
pub(super) async fn join_pool(tx: &mut PgConnection, tenant: Uuid, first: &str, last: &str) -> ApiResult<i64> {
    let res = sqlx::query(&format!(
        "UPDATE numbers SET pool_tenant_id = $1
         WHERE {IN_RANGE} AND (tenant_id IS NULL OR tenant_id = $1) AND pool_tenant_id IS DISTINCT FROM $1"
    ))
    .bind(tenant)
    .bind(first)
    .bind(last)
    .execute(&mut *tx)
    .await?;
    Ok(res.rows_affected() as i64)
}

/// A tenant's ranges, in the order they were made.
pub async fn list(db: &Db, tenant: Uuid) -> ApiResult<Vec<RangeView>> {
    let mut tx = db.operator.begin().await?;
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM tenants WHERE id = $1)")
        .bind(tenant)
        .fetch_one(&mut *tx)
        .await?;
    if !exists {
        return Err(ApiError::not_found(format!("no tenant {tenant}")));
    }
    let rows = sqlx::query(&format!("SELECT {} FROM pool_ranges WHERE tenant_id = $1 ORDER BY id", columns()))
        .bind(tenant)
        .fetch_all(&mut *tx)
        .await?;
    rows.iter().map(view).collect()
}

/// Every tenant's ranges, by tenant then in the order they were made (the
/// operator's overview).
pub async fn list_all(db: &Db) -> ApiResult<Vec<RangeView>> {
    let rows = sqlx::query(&format!("SELECT {} FROM pool_ranges ORDER BY tenant_id, id", columns()))
        .fetch_all(&db.operator)
        .await?;
    rows.iter().map(view).collect()
}

/// Deletes range `id`: its route stops, and its numbers that are still
/// available in the tenant's pool go back to public inventory unless another
/// of the tenant's ranges holds them. Numbers the tenant allocated keep
/// their own routes.
pub async fn delete(state: &AppState, id: i64, key: Option<&Key>) -> ApiResult<Answer<RangeDeleted>> {
    let mut tx = state.db.operator.begin().await?;
    if let Some(first) = idempotency::repeat(state, &mut tx, None, key).await? {
        return Ok(first);
    }
    let row = sqlx::query(&format!("DELETE FROM pool_ranges WHERE id = $1 RETURNING {}", columns()))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no range {id}")))?;
    let range = view(&row)?;
    let left = sqlx::query(&format!(
        "UPDATE numbers n SET pool_tenant_id = NULL
         WHERE {IN_RANGE} AND pool_tenant_id = $1 AND tenant_id IS NULL
           AND NOT EXISTS (SELECT 1 FROM pool_ranges p
                           WHERE p.tenant_id = $1 AND p.numbers @> substr(n.e164, 2)::bigint)"
    ))
    .bind(range.tenant_id)
    .bind(&range.first)
    .bind(&range.last)
    .execute(&mut *tx)
    .await?
    .rows_affected() as i64;
    super::tenants::audit(
        &mut tx,
        Some(range.tenant_id),
        "range.delete",
        serde_json::json!({"range_id": id, "range": range.range, "left_pool": left}),
    )
    .await?;
    let outbox_id: i64 = sqlx::query_scalar("SELECT didroute_emit_range($1, $2, $3)")
        .bind(id)
        .bind(&range.first)
        .bind(&range.last)
        .fetch_one(&mut *tx)
        .await?;
    let mut answer = RangeDeleted { id, left_pool: left, seq: 0 };
    idempotency::keep(&mut tx, None, key, 200, &answer, Some(outbox_id)).await?;
    answer.seq = crate::outbox::commit_and_sequence(state, tx, Some(outbox_id)).await?;
    Ok(Answer::Fresh(answer))
}
