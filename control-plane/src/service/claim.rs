//! Taking numbers: allocation and reservation, of one named number or of
//! "any `quantity` numbers matching these criteria".
//!
//! Criteria claims pick rows with `FOR UPDATE SKIP LOCKED` inside the
//! `UPDATE`, so concurrent claimers never wait on each other and never take
//! the same number; a claim that cannot get `quantity` numbers rolls back
//! whole and answers a typed 422.

use didroute_shared::problem::ProblemType;
use std::time::Duration;

use didroute_shared::wire::{Cancelled, Claimed, NumberView};
use didroute_shared::{Country, E164};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use super::filter::{digits_filter, parse_number};
use super::idempotency::{self, Answer, Key};
use super::numbers::RouteInput;
use super::view::{not_yours, own_view, own_views};
use crate::error::{ApiError, ApiResult};
use crate::outbox::{self, commit_and_sequence, Change};
use crate::state::AppState;

/// Most numbers one request may take.
pub const MAX_QUANTITY: u32 = 1000;
/// Default hold of a reservation.
pub const DEFAULT_RESERVATION_TTL: Duration = Duration::from_secs(30 * 60);
/// Longest hold of a reservation.
pub const MAX_RESERVATION_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// What numbers to take.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema, async_graphql::InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "CriteriaInput")]
pub struct Criteria {
    pub country: String,
    pub region: Option<String>,
    pub area_code: Option<String>,
    /// Leading digits of the number, with or without `+` (`1555`, `+4420`).
    pub prefix: Option<String>,
    pub number_type: Option<String>,
}

/// Checked criteria, ready to bind.
pub(super) struct Filter {
    country: Country,
    region: Option<String>,
    area_code: Option<String>,
    prefix: Option<String>,
    number_type: Option<String>,
}

impl Criteria {
    pub(super) fn check(&self) -> ApiResult<Filter> {
        Ok(Filter {
            country: Country::parse(self.country.trim())
                .map_err(|e| ApiError::new(ProblemType::InvalidCountry, e.to_string()))?,
            region: self.region.clone(),
            area_code: self.area_code.as_deref().map(|a| digits_filter("area_code", a)).transpose()?,
            prefix: self.prefix.as_deref().map(|p| digits_filter("prefix", p)).transpose()?,
            number_type: self.number_type.clone(),
        })
    }
}

/// Which numbers a request names.
#[derive(Debug, Clone)]
pub enum Target {
    One(E164),
    Matching { criteria: Criteria, quantity: u32 },
}

impl Target {
    /// From the `number` / `criteria` / `quantity` fields of a request body.
    pub fn from_fields(number: Option<&str>, criteria: Option<Criteria>, quantity: Option<u32>) -> ApiResult<Target> {
        match (number, criteria) {
            (Some(n), None) => {
                if quantity.is_some_and(|q| q != 1) {
                    return Err(ApiError::new(
                        ProblemType::InvalidBody,
                        "quantity goes with criteria, not with a named number",
                    ));
                }
                Ok(Target::One(parse_number(n)?))
            }
            (None, Some(criteria)) => {
                let quantity = quantity.unwrap_or(1);
                if !(1..=MAX_QUANTITY).contains(&quantity) {
                    return Err(ApiError::new(
                        ProblemType::InvalidField,
                        format!("quantity must be between 1 and {MAX_QUANTITY}"),
                    ));
                }
                Ok(Target::Matching { criteria, quantity })
            }
            (Some(_), Some(_)) => Err(ApiError::new(ProblemType::InvalidBody, "give number or criteria, not both")),
            (None, None) => {
                Err(ApiError::new(ProblemType::InvalidBody, "give the number to take, or criteria and a quantity"))
            }
        }
    }
}

/// What to do with the numbers.
#[derive(Debug, Clone)]
pub enum Action {
    Allocate(RouteInput),
    Reserve { ttl: Duration },
}

impl Action {
    /// A reservation held for `ttl_seconds` (the default when absent), which
    /// must lie between 1 second and [`MAX_RESERVATION_TTL`]. REST and GraphQL
    /// both build their reservations here, so the bounds live in one place.
    pub fn reserve(ttl_seconds: Option<i64>) -> Result<Action, ApiError> {
        let Some(secs) = ttl_seconds else { return Ok(Action::Reserve { ttl: DEFAULT_RESERVATION_TTL }) };
        if !(1..=MAX_RESERVATION_TTL.as_secs() as i64).contains(&secs) {
            return Err(ApiError::new(
                ProblemType::InvalidField,
                format!("ttl_seconds must be between 1 and {}", MAX_RESERVATION_TTL.as_secs()),
            ));
        }
        Ok(Action::Reserve { ttl: Duration::from_secs(secs as u64) })
    }
}

/// What a claim stores for its `Idempotency-Key`: the numbers as taken.
/// The position is looked up again on replay.
#[derive(Debug, Serialize, Deserialize)]
struct StoredClaim {
    numbers: Vec<NumberView>,
}

/// Takes numbers for `tenant`. With `key`, a repeat of the same request
/// (even concurrent) answers exactly as the first one did and changes nothing.
pub async fn claim(
    state: &AppState,
    tenant: Uuid,
    target: Target,
    action: Action,
    key: Option<Key>,
) -> ApiResult<Claimed> {
    let label = match action {
        Action::Allocate(_) => "allocate",
        Action::Reserve { .. } => "reserve",
    };
    let result = claim_once(state, tenant, target, action, key).await;
    state.metrics.claim(label, result.as_ref().map(|(answer, replayed)| (answer.numbers.len(), *replayed)));
    result.map(|(answer, _)| answer)
}

/// [`claim`], telling a replayed answer from a fresh one.
async fn claim_once(
    state: &AppState,
    tenant: Uuid,
    target: Target,
    action: Action,
    key: Option<Key>,
) -> ApiResult<(Claimed, bool)> {
    if let Action::Allocate(route) = &action {
        route.validate()?;
    }
    let mut tx = state.db.tenant_tx(tenant).await?;
    if let Some(key) = &key {
        if let Some(stored) = idempotency::begin(&mut tx, Some(tenant), key).await? {
            tx.rollback().await?;
            return Ok((replay(state, stored).await?, true));
        }
    }
    let taken = match &target {
        Target::One(n) => {
            let got = take_one(&mut tx, tenant, *n, &action).await?;
            if got.is_empty() {
                return Err(why_not(state, &mut tx, tenant, *n).await);
            }
            got
        }
        Target::Matching { criteria, quantity } => {
            let filter = criteria.check()?;
            let got = take_matching(&mut tx, tenant, &filter, *quantity, &action).await?;
            if got.len() < *quantity as usize {
                // all or nothing: the transaction rolls back on drop
                return Err(ApiError::new(
                    ProblemType::PoolExhausted,
                    format!(
                        "only {} of the {} numbers asked for match and are free to take; nothing was taken",
                        got.len(),
                        quantity
                    ),
                ));
            }
            got
        }
    };
    let numbers: Vec<E164> = taken.iter().map(|t| t.0).collect();
    let (action_name, changes) = match &action {
        Action::Allocate(input) => {
            let mut changes = Vec::with_capacity(taken.len());
            for (number, country) in &taken {
                let route = input.route(tenant, *country);
                changes.push(Change {
                    number: *number,
                    tenant: Some(tenant),
                    detail: serde_json::json!({ "route": route }),
                });
            }
            write_routes(&mut tx, tenant, &numbers, input).await?;
            ("number.allocate", changes)
        }
        Action::Reserve { ttl } => (
            "number.reserve",
            taken
                .iter()
                .map(|(number, _)| Change {
                    number: *number,
                    tenant: Some(tenant),
                    detail: serde_json::json!({ "ttl_seconds": ttl.as_secs() }),
                })
                .collect(),
        ),
    };
    let last_id = outbox::record(&mut tx, &super::tenant_actor(tenant), action_name, &changes).await?;
    let views = own_views(&mut tx, tenant, &numbers).await?;
    if views.len() != numbers.len() {
        return Err(
            anyhow::anyhow!("{} of {} claimed rows vanished", numbers.len() - views.len(), numbers.len()).into()
        );
    }
    let stored = StoredClaim { numbers: views };
    if let Some(key) = &key {
        idempotency::finish(&mut tx, Some(tenant), key, 201, &stored, &last_id.into_iter().collect::<Vec<_>>()).await?;
    }
    let seq = commit_and_sequence(state, tx, last_id).await?;
    Ok((Claimed { numbers: stored.numbers, seq }, false))
}

async fn replay(state: &AppState, stored: idempotency::Stored) -> ApiResult<Claimed> {
    let seq = stored.seq(state).await?;
    let taken: StoredClaim = serde_json::from_value(stored.response)
        .map_err(|e| anyhow::anyhow!("stored answer of an Idempotency-Key: {e}"))?;
    Ok(Claimed { numbers: taken.numbers, seq })
}

/// (number, country) of each number taken.
pub(super) type Taken = Vec<(E164, Country)>;

fn taken_from_rows(rows: Vec<sqlx::postgres::PgRow>) -> ApiResult<Taken> {
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let e164: String = r.get("e164");
        let country: String = r.get("country");
        out.push((
            E164::parse(&e164).map_err(|e| anyhow::anyhow!("stored number {e164}: {e}"))?,
            Country::parse(&country).map_err(|e| anyhow::anyhow!("stored country of {e164}: {e}"))?,
        ));
    }
    out.sort_by_key(|t| t.0);
    Ok(out)
}

/// The SET clause of a claim: allocate or reserve.
fn set_clause(action: &Action) -> &'static str {
    match action {
        Action::Allocate(_) => {
            "status = 'allocated', tenant_id = $1, reserved_until = NULL, cooldown_until = NULL,
             reclaim_until = NULL, release_reason = NULL, release_notes = NULL"
        }
        Action::Reserve { .. } => {
            "status = 'reserved', tenant_id = $1, reserved_until = now() + make_interval(secs => $2)"
        }
    }
}

fn ttl_secs(action: &Action) -> f64 {
    match action {
        Action::Reserve { ttl } => ttl.as_secs_f64(),
        Action::Allocate(_) => 0.0,
    }
}

pub(super) async fn take_one(conn: &mut PgConnection, tenant: Uuid, number: E164, action: &Action) -> ApiResult<Taken> {
    // available to this tenant (RLS hides other tenants' holds and private
    // pools), or already reserved by it (allocating a reservation)
    let held_by_me = match action {
        Action::Allocate(_) => "OR (status = 'reserved' AND tenant_id = $1)",
        Action::Reserve { .. } => "",
    };
    let sql = format!(
        "UPDATE numbers SET {}
         WHERE e164 = $3
           AND ((status = 'available' AND tenant_id IS NULL) {held_by_me})
           AND (provisioning_status = 'active' OR (provisioning_status = 'unknown' AND allow_unknown_provisioning))
         RETURNING e164, country",
        set_clause(action)
    );
    let rows =
        sqlx::query(&sql).bind(tenant).bind(ttl_secs(action)).bind(number.to_string()).fetch_all(&mut *conn).await?;
    taken_from_rows(rows)
}

pub(super) async fn take_matching(
    conn: &mut PgConnection,
    tenant: Uuid,
    f: &Filter,
    quantity: u32,
    action: &Action,
) -> ApiResult<Taken> {
    // the tenant's own private pool first, then public inventory
    let mut got = pick(conn, tenant, f, quantity, action, Pool::Private).await?;
    if got.len() < quantity as usize {
        let more = pick(conn, tenant, f, quantity - got.len() as u32, action, Pool::Public).await?;
        got.extend(more);
    }
    got.sort_by_key(|t| t.0);
    Ok(got)
}

/// Where [`pick`] looks; each has its own index (migration
/// `claim_paths`) in the order the pick reads.
#[derive(Clone, Copy)]
enum Pool {
    /// The claiming tenant's private pool.
    Private,
    /// Public inventory.
    Public,
}

/// Claims up to `quantity` matching numbers of one pool: a single statement.
async fn pick(
    conn: &mut PgConnection,
    tenant: Uuid,
    f: &Filter,
    quantity: u32,
    action: &Action,
    pool: Pool,
) -> ApiResult<Taken> {
    // Only the filters given become predicates, so the statement's plan is
    // an index range scan in e164 order that stops after `quantity` rows.
    let mut extra = String::new();
    let mut binds: Vec<String> = Vec::new();
    let mut add = |predicate: &str, value: String| {
        binds.push(value);
        extra.push_str(&format!(" AND {predicate} ${}", binds.len() + 4));
    };
    if let Some(r) = &f.region {
        add("region =", r.clone());
    }
    if let Some(a) = &f.area_code {
        add("area_code =", a.clone());
    }
    if let Some(p) = &f.prefix {
        // byte order: every number starting with +<prefix> sorts between
        // +<prefix> and +<prefix>: (':' follows '9')
        add("e164 COLLATE \"C\" >=", format!("+{p}"));
        add("e164 COLLATE \"C\" <", format!("+{p}:"));
    }
    if let Some(t) = &f.number_type {
        add("number_type =", t.clone());
    }
    let pool_predicate = match pool {
        Pool::Private => "pool_tenant_id = $1",
        Pool::Public => "pool_tenant_id IS NULL",
    };
    // SKIP LOCKED: rows another claimer is taking right now are passed over,
    // not waited for. The pick is a CTE on purpose: a CTE with FOR UPDATE is
    // evaluated exactly once, whereas `IN (SELECT … LIMIT n FOR UPDATE SKIP
    // LOCKED)` may be re-scanned by the join and take more than n rows.
    let sql = format!(
        "WITH picked AS (
             SELECT e164 FROM numbers
             WHERE status = 'available' AND tenant_id IS NULL AND {pool_predicate}
               AND country = $3::bpchar{extra}
               AND (provisioning_status = 'active' OR (provisioning_status = 'unknown' AND allow_unknown_provisioning))
             ORDER BY e164 COLLATE \"C\"
             LIMIT $4
             FOR UPDATE SKIP LOCKED)
         UPDATE numbers n SET {}
         FROM picked
         WHERE n.e164 = picked.e164 AND n.status = 'available'
         RETURNING n.e164, n.country",
        set_clause(action)
    );
    let mut query =
        sqlx::query(&sql).bind(tenant).bind(ttl_secs(action)).bind(f.country.alpha2()).bind(quantity as i64);
    for b in binds {
        query = query.bind(b);
    }
    taken_from_rows(query.fetch_all(&mut *conn).await?)
}

pub(super) async fn write_routes(
    conn: &mut PgConnection,
    tenant: Uuid,
    numbers: &[E164],
    input: &RouteInput,
) -> ApiResult<()> {
    let texts: Vec<String> = numbers.iter().map(E164::to_string).collect();
    // a route left from this tenant's earlier hold of the number is replaced
    sqlx::query(
        "INSERT INTO routes (e164, tenant_id, subsystem, dashboard_id, customer_label, friendly_name,
                             organisation_id, auto_provisioned, greeting_text, attributes)
         SELECT e, $2, $3, $4, $5, $6, $7, $8, $9, $10 FROM unnest($1::text[]) AS e
         ON CONFLICT (e164) DO UPDATE SET subsystem = EXCLUDED.subsystem, dashboard_id = EXCLUDED.dashboard_id,
             customer_label = EXCLUDED.customer_label, friendly_name = EXCLUDED.friendly_name,
             organisation_id = EXCLUDED.organisation_id, auto_provisioned = EXCLUDED.auto_provisioned,
             greeting_text = EXCLUDED.greeting_text, attributes = EXCLUDED.attributes,
             allocated_at = now(), updated_at = now()",
    )
    .bind(&texts)
    .bind(tenant)
    .bind(input.subsystem.as_str())
    .bind(input.dashboard_id.trim())
    .bind(input.customer_label.trim())
    .bind(input.friendly_name.as_ref().map(|s| s.trim()))
    .bind(input.organisation_id.as_ref().map(|s| s.trim()))
    .bind(input.auto_provisioned)
    .bind(&input.greeting_text)
    .bind(&input.attributes)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Says why `number` could not be taken by `tenant`, revealing nothing about
/// numbers the tenant may not see beyond "not available".
pub(super) async fn why_not(state: &AppState, conn: &mut PgConnection, tenant: Uuid, number: E164) -> ApiError {
    let visible = sqlx::query("SELECT status, tenant_id, provisioning_status FROM numbers WHERE e164 = $1")
        .bind(number.to_string())
        .fetch_optional(&mut *conn)
        .await;
    match visible {
        Err(e) => return e.into(),
        Ok(Some(row)) => {
            let status: String = row.get("status");
            let mine = row.get::<Option<Uuid>, _>("tenant_id") == Some(tenant);
            return match (status.as_str(), mine) {
                ("allocated", true) => ApiError::new(ProblemType::AlreadyAllocated, format!("{number} is already allocated to you")),
                ("reserved", true) => ApiError::new(ProblemType::AlreadyReserved, format!("{number} is already reserved by you")),
                ("cooldown" | "aging", true) => ApiError::new(ProblemType::Released, format!("you released {number}; reclaim it with POST /v1/numbers/{number}/reclaim once it leaves cooldown"),
                ),
                ("available", _) => ApiError::new(ProblemType::NotAllocatable, format!("{number} cannot be taken while its provisioning is {}", row.get::<String, _>("provisioning_status")),
                ),
                _ => ApiError::new(ProblemType::NumberUnavailable, format!("{number} is not available")),
            };
        }
        Ok(None) => {}
    }
    // not visible: absent, another tenant's private pool, or held by someone else
    let row = sqlx::query("SELECT status, pool_tenant_id FROM numbers WHERE e164 = $1")
        .bind(number.to_string())
        .fetch_optional(&state.db.operator)
        .await;
    match row {
        Err(e) => e.into(),
        Ok(Some(r)) if r.get::<Option<Uuid>, _>("pool_tenant_id").is_none_or(|p| p == tenant) => {
            if r.get::<String, _>("status") == "disabled" {
                ApiError::new(ProblemType::NotAllocatable, format!("{number} is disabled"))
            } else {
                ApiError::new(ProblemType::NumberUnavailable, format!("{number} is taken"))
            }
        }
        Ok(_) => ApiError::not_found(format!("{number} is not in the inventory you can take from")),
    }
}

/// Cancels this tenant's reservation of `number`.
pub async fn cancel_reservation(
    state: &AppState,
    tenant: Uuid,
    number: E164,
    key: Option<&Key>,
) -> ApiResult<Answer<Cancelled>> {
    let mut tx = state.db.tenant_tx(tenant).await?;
    // a retried cancel whose first answer was lost gets that answer, not a
    // 409 saying the number is no longer reserved
    if let Some(first) = idempotency::repeat(state, &mut tx, Some(tenant), key).await? {
        return Ok(first);
    }
    let updated = sqlx::query(
        "UPDATE numbers SET status = 'available', tenant_id = NULL, reserved_until = NULL
         WHERE e164 = $1 AND tenant_id = $2 AND status = 'reserved'",
    )
    .bind(number.to_string())
    .bind(tenant)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated == 0 {
        return Err(match own_view(&mut tx, tenant, number).await? {
            Some(v) => ApiError::new(ProblemType::NotReserved, format!("{number} is {}, not reserved", v.status)),
            None => not_yours(number),
        });
    }
    let change = Change { number, tenant: Some(tenant), detail: serde_json::json!({}) };
    let id = outbox::record(&mut tx, &super::tenant_actor(tenant), "number.reservation_cancel", &[change]).await?;
    let mut answer = Cancelled { number, status: "available".into(), seq: 0 };
    idempotency::keep(&mut tx, Some(tenant), key, 200, &answer, id).await?;
    answer.seq = commit_and_sequence(state, tx, id).await?;
    Ok(Answer::Fresh(answer))
}
