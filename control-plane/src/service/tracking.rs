//! Tracking numbers (dynamic number insertion): a tenant's pools, and web
//! sessions that lease a pool's least recently used free number so the call
//! that follows is attributed to the visit.
//!
//! A pool's numbers are allocated to the tenant with subsystem `tracking`
//! (taken through the claim paths of `claim.rs`). A lease's start, renewal,
//! end and expiry each change the number: its version is bumped and its
//! event, derived by `didroute_emit`, carries the live session (`tracking`)
//! or no longer does, in the same transaction as the session row and the
//! audit row. A start picks its number with `FOR UPDATE SKIP LOCKED`, so
//! concurrent starts never wait on each other and never share a number; the
//! unique indexes on live sessions (per number, per visitor) stand behind it.
//!
//! A number is `leased` while `session_id` is set, `cooling` until
//! `available_at`, then `free`: the cooldown ends by the clock, with no
//! change to the number (its route is the same cooling or free). Expiry is
//! the lifecycle job's ([`expire`]), in batches.

use didroute_shared::problem::ProblemType;
use didroute_shared::wire::{
    LeavingNumbers, NewTrackingPool, NewTrackingSession, PoolNumbers, ShrinkBy, TrackingNumber, TrackingPoolDeleted,
    TrackingPoolPatch, TrackingPoolView, TrackingSession,
};
use didroute_shared::{Subsystem, E164};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use super::claim::{self, Action, Criteria};
use super::filter::parse_number;
use super::idempotency::{self, Answer, Key};
use super::numbers::RouteInput;
use crate::error::{ApiError, ApiResult};
use crate::lease::Lease;
use crate::outbox::{self, commit_and_sequence, Change};
use crate::state::AppState;

/// Longest lease and cooldown, in seconds.
pub const MAX_SECONDS: u32 = 86_400;
/// Most numbers one request adds or removes.
pub const MAX_NUMBERS: usize = claim::MAX_QUANTITY as usize;
/// The dashboard of a pool's numbers when the pool names none.
pub const DEFAULT_DASHBOARD: &str = "tracking";

/// A number of `tn` (joined with `numbers n`) that may be leased: allocated
/// to the pool's tenant and active. A number that is not (provisioning not
/// active, disabled, taken back) is never leased.
const ACTIVE: &str = "coalesce(n.status = 'allocated' AND n.tenant_id = tn.tenant_id
                               AND n.provisioning_status = 'active', false)";

fn pool_select() -> String {
    format!(
        "SELECT p.id, p.name, p.lease_seconds, p.cooldown_seconds, p.fallback_number, p.dashboard_id,
                p.customer_label, p.created_at, p.updated_at,
                coalesce(c.size, 0) AS size, coalesce(c.leased, 0) AS leased, coalesce(c.cooling, 0) AS cooling,
                coalesce(c.free, 0) AS free, coalesce(c.unavailable, 0) AS unavailable,
                (SELECT count(*) FROM tracking_sessions s WHERE s.pool_id = p.id) AS sessions,
                (SELECT count(*) FROM tracking_fallbacks f WHERE f.pool_id = p.id) AS exhausted
         FROM tracking_pools p
         LEFT JOIN LATERAL (
             SELECT count(*) AS size,
                    count(*) FILTER (WHERE tn.session_id IS NOT NULL) AS leased,
                    count(*) FILTER (WHERE tn.session_id IS NULL AND {ACTIVE} AND tn.available_at > now()) AS cooling,
                    count(*) FILTER (WHERE tn.session_id IS NULL AND {ACTIVE} AND tn.available_at <= now()) AS free,
                    count(*) FILTER (WHERE tn.session_id IS NULL AND NOT {ACTIVE}) AS unavailable
             FROM tracking_numbers tn LEFT JOIN numbers n ON n.e164 = tn.e164
             WHERE tn.pool_id = p.id) c ON true"
    )
}

fn pool_view(r: &PgRow) -> ApiResult<TrackingPoolView> {
    Ok(TrackingPoolView {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        lease_seconds: r.try_get("lease_seconds")?,
        cooldown_seconds: r.try_get("cooldown_seconds")?,
        fallback_number: r.try_get("fallback_number")?,
        dashboard_id: r.try_get("dashboard_id")?,
        customer_label: r.try_get("customer_label")?,
        size: r.try_get("size")?,
        leased: r.try_get("leased")?,
        cooling: r.try_get("cooling")?,
        free: r.try_get("free")?,
        unavailable: r.try_get("unavailable")?,
        sessions: r.try_get("sessions")?,
        exhausted: r.try_get("exhausted")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        numbers: None,
        seq: None,
    })
}

fn no_pool(id: Uuid) -> ApiError {
    ApiError::not_found(format!("no tracking pool {id}"))
}

fn no_session(id: Uuid) -> ApiError {
    ApiError::not_found(format!("no tracking session {id}"))
}

/// One pool as this tenant sees it (RLS: another tenant's pool is absent).
async fn read_pool(conn: &mut PgConnection, id: Uuid, with_numbers: bool) -> ApiResult<Option<TrackingPoolView>> {
    let Some(row) =
        sqlx::query(&format!("{} WHERE p.id = $1", pool_select())).bind(id).fetch_optional(&mut *conn).await?
    else {
        return Ok(None);
    };
    let mut view = pool_view(&row)?;
    if with_numbers {
        let rows = sqlx::query(&format!(
            "SELECT tn.e164, tn.session_id, tn.available_at > now() AS cooling, {ACTIVE} AS active,
                    CASE WHEN tn.available_at > now() THEN tn.available_at END AS available_at
             FROM tracking_numbers tn LEFT JOIN numbers n ON n.e164 = tn.e164
             WHERE tn.pool_id = $1 ORDER BY tn.e164"
        ))
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
        let mut numbers = Vec::with_capacity(rows.len());
        for r in rows {
            let session_id: Option<Uuid> = r.try_get("session_id")?;
            let state = match (session_id, r.try_get::<bool, _>("active")?, r.try_get::<bool, _>("cooling")?) {
                (Some(_), _, _) => "leased",
                (None, false, _) => "unavailable",
                (None, true, true) => "cooling",
                (None, true, false) => "free",
            };
            numbers.push(TrackingNumber {
                number: r.try_get("e164")?,
                state: state.into(),
                session_id,
                available_at: r.try_get("available_at")?,
            });
        }
        view.numbers = Some(numbers);
    }
    Ok(Some(view))
}

pub async fn get(state: &AppState, tenant: Uuid, id: Uuid) -> ApiResult<TrackingPoolView> {
    let mut tx = state.db.tenant_tx(tenant).await?;
    let view = read_pool(&mut tx, id, true).await?.ok_or_else(|| no_pool(id))?;
    tx.commit().await?;
    Ok(view)
}

/// The tenant's pools, oldest first.
pub async fn list(state: &AppState, tenant: Uuid) -> ApiResult<Vec<TrackingPoolView>> {
    let mut tx = state.db.tenant_tx(tenant).await?;
    let rows = sqlx::query(&format!("{} ORDER BY p.created_at, p.id", pool_select())).fetch_all(&mut *tx).await?;
    tx.commit().await?;
    rows.iter().map(pool_view).collect()
}

/// Which numbers to add, checked.
enum Wanted {
    Named(Vec<E164>),
    Matching { criteria: Criteria, quantity: u32 },
}

fn named(field: &str, list: &[String]) -> ApiResult<Vec<E164>> {
    if list.is_empty() || list.len() > MAX_NUMBERS {
        return Err(ApiError::new(
            ProblemType::InvalidField,
            format!("{field} must name between 1 and {MAX_NUMBERS} numbers"),
        ));
    }
    let mut out = Vec::with_capacity(list.len());
    for n in list {
        let n = parse_number(n)?;
        if out.contains(&n) {
            return Err(ApiError::new(ProblemType::InvalidField, format!("{field} names {n} twice")));
        }
        out.push(n);
    }
    Ok(out)
}

fn wanted(field: &str, numbers: &PoolNumbers) -> ApiResult<Wanted> {
    match numbers {
        PoolNumbers::Named(list) => Ok(Wanted::Named(named(field, list)?)),
        PoolNumbers::Matching(m) => {
            let criteria: Criteria = serde_path_to_error::deserialize(m.criteria.clone())
                .map_err(|e| ApiError::new(ProblemType::InvalidBody, format!("{field}.criteria: {e}")))?;
            if !(1..=claim::MAX_QUANTITY).contains(&m.quantity) {
                return Err(ApiError::new(
                    ProblemType::InvalidField,
                    format!("{field}.quantity must be between 1 and {}", claim::MAX_QUANTITY),
                ));
            }
            Ok(Wanted::Matching { criteria, quantity: m.quantity })
        }
    }
}

fn check_seconds(field: &str, v: u32, min: u32) -> ApiResult<()> {
    if !(min..=MAX_SECONDS).contains(&v) {
        return Err(ApiError::new(
            ProblemType::InvalidField,
            format!("{field} must be between {min} and {MAX_SECONDS}"),
        ));
    }
    Ok(())
}

/// The pool's row as a change needs it.
struct Pool {
    id: Uuid,
    dashboard_id: String,
    customer_label: String,
    cooldown_seconds: i32,
}

/// The route every number of `pool` carries.
fn route_input(pool: &Pool) -> RouteInput {
    RouteInput {
        subsystem: Subsystem::Tracking,
        dashboard_id: pool.dashboard_id.clone(),
        customer_label: pool.customer_label.clone(),
        friendly_name: None,
        organisation_id: None,
        auto_provisioned: false,
        greeting_text: None,
        attributes: None,
    }
}

/// Takes `wanted` into `pool`: numbers available to the tenant through the
/// claim paths, and named numbers the tenant holds already (allocated, in no
/// pool) as they are. All or nothing: an error leaves the transaction to
/// roll back.
async fn add_numbers(
    state: &AppState,
    conn: &mut PgConnection,
    tenant: Uuid,
    pool: &Pool,
    wanted: &Wanted,
) -> ApiResult<Vec<E164>> {
    let input = route_input(pool);
    let action = Action::Allocate(input.clone());
    let mut taken: Vec<E164> = Vec::new();
    match wanted {
        Wanted::Named(list) => {
            for &n in list {
                let own: Option<(String, Option<Uuid>)> = sqlx::query_as(
                    "SELECT n.status, tn.pool_id FROM numbers n LEFT JOIN tracking_numbers tn ON tn.e164 = n.e164
                     WHERE n.e164 = $1 AND n.tenant_id = $2",
                )
                .bind(n.to_string())
                .bind(tenant)
                .fetch_optional(&mut *conn)
                .await?;
                match own {
                    Some((status, Some(p))) if status == "allocated" => {
                        let which = if p == pool.id { "this pool".to_owned() } else { format!("tracking pool {p}") };
                        return Err(ApiError::new(ProblemType::NumberInUse, format!("{n} is in {which} already")));
                    }
                    // the tenant's own number joins with a tracking route
                    Some((status, None)) if status == "allocated" => taken.push(n),
                    _ => {
                        if claim::take_one(conn, tenant, n, &action).await?.is_empty() {
                            return Err(claim::why_not(state, conn, tenant, n).await);
                        }
                        taken.push(n);
                    }
                }
            }
        }
        Wanted::Matching { criteria, quantity } => {
            let filter = criteria.check()?;
            let got = claim::take_matching(conn, tenant, &filter, *quantity, &action).await?;
            if got.len() < *quantity as usize {
                return Err(ApiError::new(
                    ProblemType::PoolExhausted,
                    format!(
                        "only {} of the {} numbers asked for match and are free to take; nothing was taken",
                        got.len(),
                        quantity
                    ),
                ));
            }
            taken.extend(got.into_iter().map(|t| t.0));
        }
    }
    claim::write_routes(conn, tenant, &taken, &input).await?;
    let texts: Vec<String> = taken.iter().map(E164::to_string).collect();
    sqlx::query(
        "INSERT INTO tracking_numbers (e164, pool_id, tenant_id) SELECT e, $2, $3 FROM unnest($1::text[]) AS e",
    )
    .bind(&texts)
    .bind(pool.id)
    .bind(tenant)
    .execute(&mut *conn)
    .await?;
    bump(conn, &texts).await?;
    Ok(taken)
}

/// A new version for each number (the guard trigger draws it), so its event
/// orders after the last one: every lease change is a change of the number.
async fn bump(conn: &mut PgConnection, numbers: &[String]) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE numbers SET updated_at = now() WHERE e164 = ANY($1) AND status = 'allocated'")
        .bind(numbers)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Releases numbers that left a pool, as `DELETE /v1/numbers/{number}`
/// does: the tenant's own `local`/`mdn` numbers go, others cool down.
async fn release_numbers(state: &AppState, conn: &mut PgConnection, tenant: Uuid, numbers: &[String]) -> ApiResult<()> {
    sqlx::query(
        "DELETE FROM numbers WHERE e164 = ANY($1) AND tenant_id = $2 AND status = 'allocated'
           AND carrier_module IN ('local', 'mdn')",
    )
    .bind(numbers)
    .bind(tenant)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE numbers
         SET status = 'cooldown', cooldown_until = now() + make_interval(secs => $3),
             reclaim_until = now() + make_interval(secs => $4), release_reason = 'removed from a tracking pool',
             release_notes = NULL
         WHERE e164 = ANY($1) AND tenant_id = $2 AND status = 'allocated'",
    )
    .bind(numbers)
    .bind(tenant)
    .bind(state.settings.cooldown.as_secs_f64())
    .bind(state.settings.reclaim_window.as_secs_f64())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn changes(tenant: Uuid, numbers: &[E164], detail: serde_json::Value) -> Vec<Change> {
    numbers.iter().map(|n| Change { number: *n, tenant: Some(tenant), detail: detail.clone() }).collect()
}

fn parse_stored(e164: &str) -> ApiResult<E164> {
    Ok(E164::parse(e164).map_err(|e| anyhow::anyhow!("stored number {e164}: {e}"))?)
}

fn check_labels(dashboard_id: Option<&str>, customer_label: Option<&str>) -> ApiResult<()> {
    if let Some(d) = dashboard_id {
        super::check_text("dashboard_id", d, super::LABEL_MAX)?;
    }
    if let Some(c) = customer_label {
        super::check_text("customer_label", c, super::LABEL_MAX)?;
    }
    Ok(())
}

/// The fallback number must not be one of the tenant's tracking numbers: a
/// visitor shown it would be taken for another visit's session.
async fn check_fallback(conn: &mut PgConnection, fallback: Option<&str>) -> ApiResult<()> {
    let Some(f) = fallback else { return Ok(()) };
    let pooled: Option<Uuid> = sqlx::query_scalar("SELECT pool_id FROM tracking_numbers WHERE e164 = $1")
        .bind(f)
        .fetch_optional(&mut *conn)
        .await?;
    match pooled {
        Some(p) => Err(ApiError::new(
            ProblemType::InvalidField,
            format!("fallback_number {f} is a tracking number of pool {p}: give a number outside every pool"),
        )),
        None => Ok(()),
    }
}

/// Creates a pool and takes its numbers.
pub async fn create(
    state: &AppState,
    tenant: Uuid,
    req: &NewTrackingPool,
    key: Option<&Key>,
) -> ApiResult<Answer<TrackingPoolView>> {
    super::check_text("name", &req.name, super::LABEL_MAX)?;
    check_seconds("lease_seconds", req.lease_seconds, 1)?;
    check_seconds("cooldown_seconds", req.cooldown_seconds, 0)?;
    check_labels(req.dashboard_id.as_deref(), req.customer_label.as_deref())?;
    let fallback = req.fallback_number.as_deref().map(parse_number).transpose()?.map(|n| n.to_string());
    let wanted = wanted("numbers", &req.numbers)?;
    let mut tx = state.db.tenant_tx(tenant).await?;
    if let Some(first) = idempotency::repeat(state, &mut tx, Some(tenant), key).await? {
        return Ok(first);
    }
    let pool = Pool {
        id: Uuid::new_v4(),
        dashboard_id: req.dashboard_id.as_deref().unwrap_or(DEFAULT_DASHBOARD).trim().to_owned(),
        customer_label: req.customer_label.as_deref().unwrap_or(&req.name).trim().to_owned(),
        cooldown_seconds: req.cooldown_seconds as i32,
    };
    let inserted = sqlx::query(
        "INSERT INTO tracking_pools (id, tenant_id, name, lease_seconds, cooldown_seconds, fallback_number,
                                     dashboard_id, customer_label)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
    )
    .bind(pool.id)
    .bind(tenant)
    .bind(req.name.trim())
    .bind(req.lease_seconds as i32)
    .bind(pool.cooldown_seconds)
    .bind(&fallback)
    .bind(&pool.dashboard_id)
    .bind(&pool.customer_label)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Err(ApiError::new(
            ProblemType::AlreadyExists,
            format!("you have a tracking pool named {:?} already", req.name.trim()),
        ));
    }
    let taken = add_numbers(state, &mut tx, tenant, &pool, &wanted).await?;
    check_fallback(&mut tx, fallback.as_deref()).await?;
    let id = outbox::record(
        &mut tx,
        &super::tenant_actor(tenant),
        "tracking.pool_join",
        &changes(tenant, &taken, serde_json::json!({ "pool_id": pool.id })),
    )
    .await?;
    let mut answer = read_pool(&mut tx, pool.id, false).await?.ok_or_else(|| anyhow::anyhow!("new pool vanished"))?;
    answer.seq = Some(0);
    idempotency::keep(&mut tx, Some(tenant), key, 201, &answer, id).await?;
    answer.seq = Some(commit_and_sequence(state, tx, id).await?);
    Ok(Answer::Fresh(answer))
}

/// Locks the pool for a change of its own (not a session): starts hold it
/// `FOR KEY SHARE`, so a change waits for starts under way, and they for it.
async fn lock_pool(conn: &mut PgConnection, id: Uuid) -> ApiResult<Pool> {
    let row = sqlx::query(
        "SELECT id, dashboard_id, customer_label, cooldown_seconds FROM tracking_pools WHERE id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| no_pool(id))?;
    Ok(Pool {
        id: row.try_get("id")?,
        dashboard_id: row.try_get("dashboard_id")?,
        customer_label: row.try_get("customer_label")?,
        cooldown_seconds: row.try_get("cooldown_seconds")?,
    })
}

/// Removes numbers from a pool (none of them leased). `Err` names a number
/// that cannot go.
async fn remove_numbers(conn: &mut PgConnection, pool: &Pool, by: &ShrinkBy) -> ApiResult<Vec<String>> {
    let numbers: Vec<String> = match by {
        ShrinkBy::Named(list) => {
            let list: Vec<String> = named("shrink", list)?.iter().map(E164::to_string).collect();
            let rows = sqlx::query(
                "SELECT e164, session_id FROM tracking_numbers WHERE pool_id = $1 AND e164 = ANY($2) FOR UPDATE",
            )
            .bind(pool.id)
            .bind(&list)
            .fetch_all(&mut *conn)
            .await?;
            if let Some(missing) = list.iter().find(|n| !rows.iter().any(|r| r.get::<String, _>("e164") == **n)) {
                return Err(ApiError::new(ProblemType::InvalidField, format!("{missing} is not in this pool")));
            }
            if let Some(r) = rows.iter().find(|r| r.get::<Option<Uuid>, _>("session_id").is_some()) {
                return Err(ApiError::new(
                    ProblemType::NumberInUse,
                    format!(
                        "{} is leased to session {}: end it first, or shrink by quantity",
                        r.get::<String, _>("e164"),
                        r.get::<Uuid, _>("session_id")
                    ),
                ));
            }
            list
        }
        ShrinkBy::Quantity(q) => {
            if !(1..=MAX_NUMBERS as u32).contains(&q.quantity) {
                return Err(ApiError::new(
                    ProblemType::InvalidField,
                    format!("shrink.quantity must be between 1 and {MAX_NUMBERS}"),
                ));
            }
            // numbers that cannot be leased go first, then the most recently used
            let got: Vec<String> = sqlx::query_scalar(&format!(
                "SELECT tn.e164 FROM tracking_numbers tn LEFT JOIN numbers n ON n.e164 = tn.e164
                 WHERE tn.pool_id = $1 AND tn.session_id IS NULL
                 ORDER BY {ACTIVE}, tn.available_at DESC, tn.e164 LIMIT $2 FOR UPDATE OF tn"
            ))
            .bind(pool.id)
            .bind(q.quantity as i64)
            .fetch_all(&mut *conn)
            .await?;
            if got.len() < q.quantity as usize {
                return Err(ApiError::new(
                    ProblemType::NumberInUse,
                    format!(
                        "only {} of the pool's numbers are not leased; nothing was removed (end sessions, or shrink by fewer)",
                        got.len()
                    ),
                ));
            }
            got
        }
    };
    sqlx::query("DELETE FROM tracking_numbers WHERE e164 = ANY($1) AND pool_id = $2")
        .bind(&numbers)
        .bind(pool.id)
        .execute(&mut *conn)
        .await?;
    Ok(numbers)
}

/// Changes a pool: name, timings, fallback; grows or shrinks it.
pub async fn update(
    state: &AppState,
    tenant: Uuid,
    id: Uuid,
    req: &TrackingPoolPatch,
    key: Option<&Key>,
) -> ApiResult<Answer<TrackingPoolView>> {
    if req.name.is_none()
        && req.lease_seconds.is_none()
        && req.cooldown_seconds.is_none()
        && req.fallback_number.is_none()
        && req.grow.is_none()
        && req.shrink.is_none()
    {
        return Err(ApiError::new(
            ProblemType::InvalidBody,
            "give at least one of name, lease_seconds, cooldown_seconds, fallback_number, grow, shrink",
        ));
    }
    if req.removed.is_some() && req.shrink.is_none() {
        return Err(ApiError::new(ProblemType::InvalidBody, "removed goes with shrink"));
    }
    if let Some(n) = &req.name {
        super::check_text("name", n, super::LABEL_MAX)?;
    }
    if let Some(v) = req.lease_seconds {
        check_seconds("lease_seconds", v, 1)?;
    }
    if let Some(v) = req.cooldown_seconds {
        check_seconds("cooldown_seconds", v, 0)?;
    }
    let fallback = match &req.fallback_number {
        Some(Some(f)) => Some(Some(parse_number(f)?.to_string())),
        Some(None) => Some(None),
        None => None,
    };
    let grow = req.grow.as_ref().map(|g| wanted("grow", g)).transpose()?;
    let mut tx = state.db.tenant_tx(tenant).await?;
    if let Some(first) = idempotency::repeat(state, &mut tx, Some(tenant), key).await? {
        return Ok(first);
    }
    let mut pool = lock_pool(&mut tx, id).await?;
    if let Some(name) = &req.name {
        let taken: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM tracking_pools WHERE lower(name) = lower($1) AND id <> $2)",
        )
        .bind(name.trim())
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        if taken {
            return Err(ApiError::new(
                ProblemType::AlreadyExists,
                format!("you have a tracking pool named {:?} already", name.trim()),
            ));
        }
    }
    sqlx::query(
        "UPDATE tracking_pools SET name = coalesce($2, name), lease_seconds = coalesce($3, lease_seconds),
                cooldown_seconds = coalesce($4, cooldown_seconds),
                fallback_number = CASE WHEN $5 THEN $6 ELSE fallback_number END, updated_at = now()
         WHERE id = $1",
    )
    .bind(id)
    .bind(req.name.as_deref().map(str::trim))
    .bind(req.lease_seconds.map(|v| v as i32))
    .bind(req.cooldown_seconds.map(|v| v as i32))
    .bind(fallback.is_some())
    .bind(fallback.clone().flatten())
    .execute(&mut *tx)
    .await?;
    if let Some(v) = req.cooldown_seconds {
        pool.cooldown_seconds = v as i32;
    }
    let actor = super::tenant_actor(tenant);
    let mut last = None;
    if let Some(by) = &req.shrink {
        let removed = remove_numbers(&mut tx, &pool, by).await?;
        let disposition = req.removed.unwrap_or_default();
        bump(&mut tx, &removed).await?;
        if disposition == LeavingNumbers::Release {
            release_numbers(state, &mut tx, tenant, &removed).await?;
        }
        let parsed = removed.iter().map(|n| parse_stored(n)).collect::<ApiResult<Vec<_>>>()?;
        let detail = serde_json::json!({ "pool_id": id, "disposition": disposition });
        last = outbox::record(&mut tx, &actor, "tracking.pool_leave", &changes(tenant, &parsed, detail)).await?;
    }
    if let Some(g) = &grow {
        let taken = add_numbers(state, &mut tx, tenant, &pool, g).await?;
        let detail = serde_json::json!({ "pool_id": id });
        last = outbox::record(&mut tx, &actor, "tracking.pool_join", &changes(tenant, &taken, detail)).await?.or(last);
    }
    if let Some(Some(f)) = &fallback {
        check_fallback(&mut tx, Some(f)).await?;
    }
    let mut answer = read_pool(&mut tx, id, false).await?.ok_or_else(|| no_pool(id))?;
    answer.seq = last.map(|_| 0);
    idempotency::keep(&mut tx, Some(tenant), key, 200, &answer, last).await?;
    let seq = commit_and_sequence(state, tx, last).await?;
    answer.seq = last.map(|_| seq);
    Ok(Answer::Fresh(answer))
}

/// Deletes a pool: live sessions end, numbers stay the tenant's or are
/// released (`disposition`).
pub async fn delete(
    state: &AppState,
    tenant: Uuid,
    id: Uuid,
    disposition: LeavingNumbers,
    key: Option<&Key>,
) -> ApiResult<Answer<TrackingPoolDeleted>> {
    let mut tx = state.db.tenant_tx(tenant).await?;
    if let Some(first) = idempotency::repeat(state, &mut tx, Some(tenant), key).await? {
        return Ok(first);
    }
    lock_pool(&mut tx, id).await?;
    let ended = sqlx::query(
        "UPDATE tracking_sessions SET ended_at = now(), end_reason = 'pool_changed'
         WHERE pool_id = $1 AND ended_at IS NULL",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let numbers: Vec<String> = sqlx::query_scalar("DELETE FROM tracking_numbers WHERE pool_id = $1 RETURNING e164")
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
    bump(&mut tx, &numbers).await?;
    if disposition == LeavingNumbers::Release {
        release_numbers(state, &mut tx, tenant, &numbers).await?;
    }
    let parsed = numbers.iter().map(|n| parse_stored(n)).collect::<ApiResult<Vec<_>>>()?;
    let detail = serde_json::json!({ "pool_id": id, "disposition": disposition, "pool_deleted": true });
    let last =
        outbox::record(&mut tx, &super::tenant_actor(tenant), "tracking.pool_leave", &changes(tenant, &parsed, detail))
            .await?;
    sqlx::query("DELETE FROM tracking_pools WHERE id = $1").bind(id).execute(&mut *tx).await?;
    let mut answer = TrackingPoolDeleted {
        id,
        numbers: numbers.len() as i64,
        disposition,
        sessions_ended: ended as i64,
        seq: last.map(|_| 0),
    };
    idempotency::keep(&mut tx, Some(tenant), key, 200, &answer, last).await?;
    let seq = commit_and_sequence(state, tx, last).await?;
    answer.seq = last.map(|_| seq);
    Ok(Answer::Fresh(answer))
}

const SESSION_COLUMNS: &str = "id, pool_id, e164, visitor_id, attributes, started_at, expires_at, ended_at, end_reason";

fn session_view(r: &PgRow) -> ApiResult<TrackingSession> {
    let ended_at: Option<time::OffsetDateTime> = r.try_get("ended_at")?;
    Ok(TrackingSession {
        session_id: Some(r.try_get("id")?),
        pool_id: r.try_get("pool_id")?,
        number: Some(r.try_get("e164")?),
        leased: ended_at.is_none(),
        visitor_id: r.try_get("visitor_id")?,
        attributes: r.try_get("attributes")?,
        expires_at: Some(r.try_get("expires_at")?),
        started_at: Some(r.try_get("started_at")?),
        ended_at,
        end_reason: r.try_get("end_reason")?,
        resumed: false,
        seq: None,
    })
}

/// How a start was answered, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Started {
    /// A number was leased to a new session.
    Leased,
    /// The visitor's live session, renewed.
    Resumed,
    /// The pool was exhausted: the fallback number.
    Fallback,
}

impl Started {
    /// From an answer (fresh or replayed): the HTTP status goes with it.
    pub fn of(session: &serde_json::Value) -> Started {
        match (session["leased"].as_bool(), session["resumed"].as_bool()) {
            (Some(true), Some(true)) => Started::Resumed,
            (Some(true), _) => Started::Leased,
            _ => Started::Fallback,
        }
    }
}

fn ended(r: &PgRow) -> ApiError {
    let id: Uuid = r.get("id");
    let reason: Option<String> = r.get("end_reason");
    ApiError::new(
        ProblemType::TrackingSessionEnded,
        format!("tracking session {id} has ended ({}): start a new one", reason.as_deref().unwrap_or("ended")),
    )
}

/// Extends a live session locked by the caller; its number's event carries
/// the new `leased_until`.
async fn extend(
    conn: &mut PgConnection,
    tenant: Uuid,
    id: Uuid,
    action: &str,
) -> ApiResult<(TrackingSession, Option<i64>)> {
    let row = sqlx::query(&format!(
        "UPDATE tracking_sessions s
         SET expires_at = now() + make_interval(secs => p.lease_seconds), renewals = s.renewals + 1
         FROM tracking_pools p WHERE s.id = $1 AND p.id = s.pool_id AND s.ended_at IS NULL
         RETURNING {}",
        SESSION_COLUMNS.split(", ").map(|c| format!("s.{c}")).collect::<Vec<_>>().join(", ")
    ))
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    let view = session_view(&row)?;
    let number = view.number.clone().unwrap_or_default();
    bump(conn, std::slice::from_ref(&number)).await?;
    let detail = serde_json::json!({ "pool_id": view.pool_id, "session_id": id, "expires_at": view.expires_at });
    let last =
        outbox::record(conn, &super::tenant_actor(tenant), action, &changes(tenant, &[parse_stored(&number)?], detail))
            .await?;
    Ok((view, last))
}

/// Starts a session for a visitor: the pool's least recently used free
/// number, or the visitor's live session renewed, or (pool exhausted) the
/// fallback number.
pub async fn start(
    state: &AppState,
    tenant: Uuid,
    pool_id: Uuid,
    req: &NewTrackingSession,
    key: Option<&Key>,
) -> ApiResult<Answer<TrackingSession>> {
    let answer = start_once(state, tenant, pool_id, req, key).await;
    if let Ok(Answer::Fresh(s)) = &answer {
        let started = match (s.leased, s.resumed) {
            (false, _) => Started::Fallback,
            (true, true) => Started::Resumed,
            (true, false) => Started::Leased,
        };
        state.metrics.tracking_started(pool_id, started);
    }
    answer
}

async fn start_once(
    state: &AppState,
    tenant: Uuid,
    pool_id: Uuid,
    req: &NewTrackingSession,
    key: Option<&Key>,
) -> ApiResult<Answer<TrackingSession>> {
    super::check_text("visitor_id", &req.visitor_id, super::LABEL_MAX)?;
    if let Some(a) = &req.attributes {
        super::numbers::check_attributes(a)?;
    }
    let visitor = req.visitor_id.trim();
    let mut tx = state.db.tenant_tx(tenant).await?;
    if let Some(first) = idempotency::repeat(state, &mut tx, Some(tenant), key).await? {
        return Ok(first);
    }
    // KEY SHARE: starts do not wait on each other, a pool change waits for them
    let pool = sqlx::query("SELECT lease_seconds, fallback_number FROM tracking_pools WHERE id = $1 FOR KEY SHARE")
        .bind(pool_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| no_pool(pool_id))?;
    let lease_seconds: i32 = pool.try_get("lease_seconds")?;
    // the visitor's live session, if any: the same number again, renewed
    let live: Option<Uuid> = sqlx::query_scalar(
        "SELECT id FROM tracking_sessions WHERE pool_id = $1 AND visitor_id = $2 AND ended_at IS NULL FOR UPDATE",
    )
    .bind(pool_id)
    .bind(visitor)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(id) = live {
        return resume(state, tx, tenant, id, key).await;
    }
    let picked: Option<String> = sqlx::query_scalar(&format!(
        "SELECT tn.e164 FROM tracking_numbers tn JOIN numbers n ON n.e164 = tn.e164
         WHERE tn.pool_id = $1 AND tn.session_id IS NULL AND tn.available_at <= now() AND {ACTIVE}
         ORDER BY tn.available_at, tn.e164 LIMIT 1
         FOR UPDATE OF tn SKIP LOCKED"
    ))
    .bind(pool_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(number) = picked else {
        sqlx::query("INSERT INTO tracking_fallbacks (pool_id, tenant_id, visitor_id) VALUES ($1, $2, $3)")
            .bind(pool_id)
            .bind(tenant)
            .bind(visitor)
            .execute(&mut *tx)
            .await?;
        let answer = TrackingSession {
            session_id: None,
            pool_id,
            number: pool.try_get("fallback_number")?,
            leased: false,
            visitor_id: visitor.to_owned(),
            attributes: req.attributes.clone(),
            expires_at: None,
            started_at: None,
            ended_at: None,
            end_reason: None,
            resumed: false,
            seq: None,
        };
        idempotency::keep(&mut tx, Some(tenant), key, 200, &answer, None).await?;
        tx.commit().await?;
        return Ok(Answer::Fresh(answer));
    };
    let id = Uuid::new_v4();
    // a concurrent start of the same visitor that committed first wins
    // (the live-visitor index): this one then resumes that session
    let row = sqlx::query(&format!(
        "INSERT INTO tracking_sessions (id, pool_id, tenant_id, e164, visitor_id, attributes, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7))
         ON CONFLICT DO NOTHING RETURNING {SESSION_COLUMNS}"
    ))
    .bind(id)
    .bind(pool_id)
    .bind(tenant)
    .bind(&number)
    .bind(visitor)
    .bind(&req.attributes)
    .bind(lease_seconds)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        let live: Uuid = sqlx::query_scalar(
            "SELECT id FROM tracking_sessions WHERE pool_id = $1 AND visitor_id = $2 AND ended_at IS NULL FOR UPDATE",
        )
        .bind(pool_id)
        .bind(visitor)
        .fetch_one(&mut *tx)
        .await?;
        return resume(state, tx, tenant, live, key).await;
    };
    sqlx::query("UPDATE tracking_numbers SET session_id = $2 WHERE e164 = $1")
        .bind(&number)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    bump(&mut tx, std::slice::from_ref(&number)).await?;
    let mut answer = session_view(&row)?;
    let detail = serde_json::json!({
        "pool_id": pool_id, "session_id": id, "visitor_id": visitor, "attributes": req.attributes,
        "expires_at": answer.expires_at,
    });
    let last = outbox::record(
        &mut tx,
        &super::tenant_actor(tenant),
        "tracking.lease_start",
        &changes(tenant, &[parse_stored(&number)?], detail),
    )
    .await?;
    answer.seq = Some(0);
    idempotency::keep(&mut tx, Some(tenant), key, 201, &answer, last).await?;
    answer.seq = Some(commit_and_sequence(state, tx, last).await?);
    Ok(Answer::Fresh(answer))
}

async fn resume(
    state: &AppState,
    mut tx: sqlx::Transaction<'static, sqlx::Postgres>,
    tenant: Uuid,
    id: Uuid,
    key: Option<&Key>,
) -> ApiResult<Answer<TrackingSession>> {
    let (mut answer, last) = extend(&mut tx, tenant, id, "tracking.lease_renew").await?;
    answer.resumed = true;
    answer.seq = Some(0);
    idempotency::keep(&mut tx, Some(tenant), key, 200, &answer, last).await?;
    answer.seq = Some(commit_and_sequence(state, tx, last).await?);
    Ok(Answer::Fresh(answer))
}

/// Locks a session of this tenant; `Err` when there is none, or it ended.
async fn lock_live(conn: &mut PgConnection, id: Uuid) -> ApiResult<()> {
    let row = sqlx::query("SELECT id, end_reason FROM tracking_sessions WHERE id = $1 FOR UPDATE")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| no_session(id))?;
    if row.get::<Option<String>, _>("end_reason").is_some() {
        return Err(ended(&row));
    }
    Ok(())
}

/// Extends a live session by its pool's lease.
pub async fn renew(state: &AppState, tenant: Uuid, id: Uuid, key: Option<&Key>) -> ApiResult<Answer<TrackingSession>> {
    let mut tx = state.db.tenant_tx(tenant).await?;
    if let Some(first) = idempotency::repeat(state, &mut tx, Some(tenant), key).await? {
        return Ok(first);
    }
    lock_live(&mut tx, id).await?;
    let (mut answer, last) = extend(&mut tx, tenant, id, "tracking.lease_renew").await?;
    answer.seq = Some(0);
    idempotency::keep(&mut tx, Some(tenant), key, 200, &answer, last).await?;
    answer.seq = Some(commit_and_sequence(state, tx, last).await?);
    state.metrics.tracking_renewed();
    Ok(Answer::Fresh(answer))
}

/// Ends a live session: its number cools down, then is free again.
pub async fn end(state: &AppState, tenant: Uuid, id: Uuid, key: Option<&Key>) -> ApiResult<Answer<TrackingSession>> {
    let mut tx = state.db.tenant_tx(tenant).await?;
    if let Some(first) = idempotency::repeat(state, &mut tx, Some(tenant), key).await? {
        return Ok(first);
    }
    lock_live(&mut tx, id).await?;
    let row = sqlx::query(&format!(
        "UPDATE tracking_sessions SET ended_at = now(), end_reason = 'ended' WHERE id = $1 RETURNING {SESSION_COLUMNS}"
    ))
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    let mut answer = session_view(&row)?;
    let numbers = free_numbers(&mut tx, &[id]).await?;
    let detail = serde_json::json!({ "pool_id": answer.pool_id, "session_id": id, "reason": "ended" });
    let parsed = numbers.iter().map(|n| parse_stored(n)).collect::<ApiResult<Vec<_>>>()?;
    let last =
        outbox::record(&mut tx, &super::tenant_actor(tenant), "tracking.lease_end", &changes(tenant, &parsed, detail))
            .await?;
    answer.seq = Some(0);
    idempotency::keep(&mut tx, Some(tenant), key, 200, &answer, last).await?;
    answer.seq = Some(commit_and_sequence(state, tx, last).await?);
    state.metrics.tracking_ended("ended", 1);
    Ok(Answer::Fresh(answer))
}

/// The numbers of ended sessions `ids` into cooldown (their pool's), with
/// new versions; returns them.
async fn free_numbers(conn: &mut PgConnection, ids: &[Uuid]) -> Result<Vec<String>, sqlx::Error> {
    let numbers: Vec<String> = sqlx::query_scalar(
        "UPDATE tracking_numbers tn SET session_id = NULL,
                available_at = now() + make_interval(secs => p.cooldown_seconds)
         FROM tracking_pools p WHERE tn.session_id = ANY($1) AND p.id = tn.pool_id
         RETURNING tn.e164",
    )
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?;
    bump(conn, &numbers).await?;
    Ok(numbers)
}

/// A session of this tenant.
pub async fn session(state: &AppState, tenant: Uuid, id: Uuid) -> ApiResult<TrackingSession> {
    let mut tx = state.db.tenant_tx(tenant).await?;
    let row = sqlx::query(&format!("SELECT {SESSION_COLUMNS} FROM tracking_sessions WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| no_session(id))?;
    tx.commit().await?;
    session_view(&row)
}

/// The lifecycle job's pass: up to `batch` sessions past their lease end,
/// their numbers into cooldown, each a change of the number, in one
/// transaction fenced by `lease`. `None`: the lease was lost.
pub async fn expire(operator: &sqlx::PgPool, lease: Option<&Lease>, batch: i64) -> Result<Option<u64>, sqlx::Error> {
    let mut tx = operator.begin().await?;
    if let Some(lease) = lease {
        if !lease.fence(&mut tx).await? {
            return Ok(None);
        }
    }
    // SKIP LOCKED: a session being renewed or ended right now is left to it;
    // the compare-and-set sees a renewal committed after the pick
    let rows = sqlx::query(
        "WITH due AS (
             SELECT id FROM tracking_sessions WHERE ended_at IS NULL AND expires_at <= now()
             ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED)
         UPDATE tracking_sessions s SET ended_at = now(), end_reason = 'expired'
         FROM due WHERE s.id = due.id AND s.ended_at IS NULL AND s.expires_at <= now()
         RETURNING s.id, s.tenant_id, s.pool_id",
    )
    .bind(batch)
    .fetch_all(&mut *tx)
    .await?;
    if rows.is_empty() {
        return Ok(Some(0));
    }
    let ids: Vec<Uuid> = rows.iter().map(|r| r.get("id")).collect();
    let sessions: std::collections::HashMap<String, (Uuid, Uuid, Uuid)> = {
        let numbers: Vec<(String, Uuid)> =
            sqlx::query_as("SELECT e164, session_id FROM tracking_numbers WHERE session_id = ANY($1)")
                .bind(&ids)
                .fetch_all(&mut *tx)
                .await?;
        numbers
            .into_iter()
            .filter_map(|(e164, sid)| {
                let r = rows.iter().find(|r| r.get::<Uuid, _>("id") == sid)?;
                Some((e164, (sid, r.get("tenant_id"), r.get("pool_id"))))
            })
            .collect()
    };
    let numbers = free_numbers(&mut tx, &ids).await?;
    let changes: Vec<Change> = numbers
        .iter()
        .filter_map(|n| {
            let (sid, tenant, pool) = sessions.get(n)?;
            Some(Change {
                number: E164::parse(n).ok()?,
                tenant: Some(*tenant),
                detail: serde_json::json!({ "pool_id": pool, "session_id": sid, "reason": "expired" }),
            })
        })
        .collect();
    outbox::record(&mut tx, "lifecycle", "tracking.lease_expire", &changes).await?;
    tx.commit().await?;
    Ok(Some(rows.len() as u64))
}
