//! Ordering numbers from a carrier: the operator's order becomes, in one
//! transaction, an order row, its numbers in the inventory as
//! `provisioning_status: pending` (not allocatable), their audit and outbox
//! rows, and a carrier job. The request never calls the carrier: the job
//! worker (`carrier_jobs.rs`) places the order and follows it.

use std::sync::Arc;

use didroute_shared::problem::ProblemType;
use didroute_shared::wire::{
    CarrierNumber, CarrierNumbers, NewOrder, OrderAccepted, OrderCriteria, OrderView, OrderedNumber,
};
use didroute_shared::{numbering, Country, E164};
use serde::Deserialize;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use super::idempotency::{self, Answer, Key};
use crate::carriers::{Carrier, NumberType, SearchQuery};
use crate::error::{ApiError, ApiResult};
use crate::outbox::{self, Change};
use crate::state::AppState;

/// Most numbers one order may name or ask for.
pub const MAX_ORDER: usize = 100;
/// Most numbers one carrier search returns through the API.
pub const MAX_SEARCH: u32 = 1000;

fn invalid(detail: impl Into<String>) -> ApiError {
    ApiError::new(ProblemType::InvalidField, detail)
}

/// Every configured carrier with its adapter's health, without calling any
/// (`GET /v1/carriers`, the console's carriers page).
pub fn carriers(state: &AppState) -> didroute_shared::wire::Carriers {
    let carriers = state
        .carriers
        .iter()
        .map(|c| {
            let health = c.health();
            didroute_shared::wire::CarrierView {
                name: health.name,
                kind: health.kind.as_str().to_owned(),
                base_url: c.base_url().to_owned(),
                healthy: health.healthy,
                breaker: serde_json::to_value(health.breaker)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                last_error: health.last_error,
            }
        })
        .collect();
    didroute_shared::wire::Carriers { carriers }
}

/// The configured carrier named `name`.
pub fn carrier<'a>(state: &'a AppState, name: &str) -> Option<&'a Arc<dyn Carrier>> {
    state.carriers.iter().find(|c| c.name() == name)
}

/// The search filters of `GET /v1/carriers/{carrier}/available-numbers`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CarrierSearch {
    /// ISO 3166-1 alpha-2 (required).
    pub country: Option<String>,
    pub area_code: Option<String>,
    /// Digits the number contains.
    pub contains: Option<String>,
    /// `local`, `mobile`, `toll_free`, `national` or `shared_cost`.
    pub number_type: Option<String>,
    /// 1 to 1,000 (default 100).
    pub limit: Option<u32>,
}

fn digits_field(field: &str, v: &Option<String>, max: usize) -> ApiResult<()> {
    if let Some(v) = v {
        if v.is_empty() || v.len() > max || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(format!("{field} must be 1 to {max} digits")));
        }
    }
    Ok(())
}

/// Checks criteria as a search of the carrier's stock.
pub fn query_of(c: &OrderCriteria, limit: u32) -> ApiResult<SearchQuery> {
    let country = Country::parse(&c.country)
        .map_err(|e| ApiError::new(ProblemType::InvalidCountry, format!("country {:?}: {e}", c.country)))?;
    digits_field("area_code", &c.area_code, 8)?;
    digits_field("contains", &c.contains, 15)?;
    let number_type = c
        .number_type
        .as_deref()
        .map(|t| match NumberType::parse(t) {
            Some(n) if n.as_str() == t => Ok(n),
            _ => Err(invalid("number_type must be one of local, mobile, toll_free, national, shared_cost")),
        })
        .transpose()?;
    Ok(SearchQuery {
        country: country.alpha2().to_owned(),
        area_code: c.area_code.clone(),
        contains: c.contains.clone(),
        number_type,
        limit,
        ..SearchQuery::default()
    })
}

/// The carrier's stock matching `q`: a read, so the request may make it.
pub async fn search(state: &AppState, name: &str, q: CarrierSearch) -> ApiResult<CarrierNumbers> {
    let carrier = carrier(state, name).ok_or_else(|| ApiError::not_found(format!("no carrier is named {name:?}")))?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=MAX_SEARCH).contains(&limit) {
        return Err(ApiError::new(ProblemType::InvalidQuery, format!("limit must be between 1 and {MAX_SEARCH}")));
    }
    let country = q.country.ok_or_else(|| ApiError::new(ProblemType::InvalidQuery, "country is required"))?;
    let criteria = OrderCriteria { country, area_code: q.area_code, contains: q.contains, number_type: q.number_type };
    let query = query_of(&criteria, limit).map_err(|e| ApiError::new(ProblemType::InvalidQuery, e.to_string()))?;
    let found = carrier
        .search(&query)
        .await
        .map_err(|e| ApiError::new(ProblemType::CarrierUnavailable, format!("carrier {name}: {e}")))?;
    Ok(CarrierNumbers {
        carrier: name.to_owned(),
        numbers: found
            .into_iter()
            .map(|n| CarrierNumber {
                number: n.number,
                country: n.country,
                number_type: n.number_type.map(|t| t.as_str().to_owned()),
                upfront_cost: n.upfront_cost.map(|d| d.to_string()),
                monthly_cost: n.monthly_cost.map(|d| d.to_string()),
                currency: n.currency,
                features: n.features,
            })
            .collect(),
    })
}

/// A number about to enter the inventory as pending.
pub(crate) struct Incoming {
    pub number: E164,
    pub country: Country,
    pub number_type: &'static str,
    /// A carrier's decimal text; None: 0.
    pub monthly_cost: Option<String>,
    pub currency: Option<String>,
}

impl Incoming {
    /// A number named in an order: its country from the numbering plan.
    fn named(number: E164) -> ApiResult<Self> {
        let country = numbering::region_of(number)
            .or_else(|| number.countries().next())
            .ok_or_else(|| ApiError::new(ProblemType::InvalidNumber, format!("{number} belongs to no country")))?;
        Ok(Incoming { number, country, number_type: "local", monthly_cost: None, currency: None })
    }
}

/// Inserts `numbers` as pending for `order` and records them; returns the
/// highest outbox id. Numbers already in the inventory are refused.
pub(crate) async fn insert_pending(
    tx: &mut PgConnection,
    order: Uuid,
    carrier: &str,
    module: &str,
    tenant: Option<Uuid>,
    numbers: &[Incoming],
) -> ApiResult<Option<i64>> {
    let mut changes = Vec::with_capacity(numbers.len());
    for n in numbers {
        let text = n.number.to_string();
        let inserted = sqlx::query(
            "INSERT INTO numbers (e164, country, area_code, provider, carrier_module, number_type, monthly_cost,
                                  currency, pool_tenant_id, provisioning_status)
             VALUES ($1, $2, CASE WHEN $1 LIKE '+1%' THEN substr($1, 3, 3) END, $3, $4, $5,
                     coalesce($6::numeric, 0), coalesce($7, 'USD'), $8, 'pending')
             ON CONFLICT (e164) DO NOTHING",
        )
        .bind(&text)
        .bind(n.country.alpha2())
        .bind(carrier)
        .bind(module)
        .bind(n.number_type)
        .bind(&n.monthly_cost)
        .bind(&n.currency)
        .bind(tenant)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(ApiError::new(
                ProblemType::AlreadyExists,
                format!("{text} is in the inventory already; delete it first to order it again"),
            ));
        }
        if let Some(t) = tenant {
            // the number joins the tenant's pool (pool_tenant_id) without a
            // range: a range routes to its tenant, and a pending number, or
            // one whose order fails, must route nowhere
            let taken: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM pool_ranges WHERE tenant_id <> $1 AND numbers @> $2::int8)",
            )
            .bind(t)
            .bind(n.number.as_u64() as i64)
            .fetch_one(&mut *tx)
            .await?;
            if taken {
                return Err(ApiError::new(
                    ProblemType::AlreadyExists,
                    format!("{text} is in another tenant's private range"),
                ));
            }
        }
        changes.push(Change {
            number: n.number,
            tenant: None,
            detail: serde_json::json!({ "order_id": order, "carrier": carrier, "provisioning_status": "pending" }),
        });
    }
    Ok(outbox::record(tx, "operator", "order.pending", &changes).await?)
}

/// `POST /v1/orders`.
pub async fn create(state: &AppState, req: NewOrder, key: Option<&Key>) -> ApiResult<Answer<OrderAccepted>> {
    if carrier(state, &req.carrier).is_none() {
        return Err(ApiError::new(
            ProblemType::UnknownCarrier,
            format!("no carrier is named {:?}; GET /v1/carriers lists them", req.carrier),
        ));
    }
    let module = req.carrier_module.as_deref().unwrap_or("inventory");
    match module {
        "inventory" => {}
        "managed" if req.tenant_id.is_some() => {}
        "managed" => return Err(invalid("carrier_module managed needs a tenant_id")),
        "local" | "mdn" => {
            return Err(invalid(
                "carrier_module local and mdn numbers are the tenant's own and are never ordered from a carrier",
            ))
        }
        _ => return Err(invalid("carrier_module must be inventory or managed")),
    }
    let (named, criteria, quantity) = match (&req.numbers, &req.criteria) {
        (Some(numbers), None) => {
            if req.quantity.is_some() {
                return Err(invalid("quantity goes with criteria, not with numbers"));
            }
            if numbers.is_empty() || numbers.len() > MAX_ORDER {
                return Err(invalid(format!("numbers must list 1 to {MAX_ORDER} numbers")));
            }
            let mut parsed = Vec::with_capacity(numbers.len());
            for n in numbers {
                let e = E164::parse(n)
                    .map_err(|e| ApiError::new(ProblemType::InvalidNumber, format!("numbers: {n:?}: {e}")))?;
                if parsed.iter().any(|i: &Incoming| i.number == e) {
                    return Err(invalid(format!("numbers lists {e} twice")));
                }
                parsed.push(Incoming::named(e)?);
            }
            (parsed, None, None)
        }
        (None, Some(c)) => {
            let quantity = req.quantity.unwrap_or(1);
            if quantity == 0 || quantity as usize > MAX_ORDER {
                return Err(invalid(format!("quantity must be between 1 and {MAX_ORDER}")));
            }
            query_of(c, quantity)?;
            (Vec::new(), Some(c), Some(quantity as i32))
        }
        _ => return Err(invalid("an order names either numbers or criteria (with quantity), not both")),
    };
    let mut tx = state.db.operator.begin().await?;
    if let Some(first) = idempotency::repeat_stored(&mut tx, None, key).await? {
        return Ok(first);
    }
    if let Some(t) = req.tenant_id {
        let known: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM tenants WHERE id = $1)")
            .bind(t)
            .fetch_one(&mut *tx)
            .await?;
        if !known {
            return Err(ApiError::new(ProblemType::UnknownTenant, format!("no tenant has the id {t}")));
        }
    }
    let id = Uuid::new_v4();
    let texts: Vec<String> = named.iter().map(|n| n.number.to_string()).collect();
    sqlx::query(
        "INSERT INTO carrier_orders (id, carrier, carrier_module, tenant_id, numbers, criteria, quantity)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(&req.carrier)
    .bind(module)
    .bind(req.tenant_id)
    .bind(&texts)
    .bind(criteria.map(|c| serde_json::to_value(c).unwrap_or_default()))
    .bind(quantity)
    .execute(&mut *tx)
    .await?;
    let outbox_id = insert_pending(&mut tx, id, &req.carrier, module, req.tenant_id, &named).await?;
    sqlx::query("INSERT INTO carrier_jobs (kind, carrier, order_id) VALUES ('order', $1, $2)")
        .bind(&req.carrier)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO audit_log (actor, action, detail) VALUES ('operator', 'order.create', $1)")
        .bind(serde_json::json!({ "order_id": id, "carrier": req.carrier, "numbers": texts, "criteria": criteria,
                                  "quantity": quantity, "carrier_module": module, "tenant_id": req.tenant_id }))
        .execute(&mut *tx)
        .await?;
    let answer = OrderAccepted { order_id: id, status: "pending".into() };
    idempotency::keep(&mut tx, None, key, 202, &answer, outbox_id).await?;
    tx.commit().await?;
    if let Some(o) = outbox_id {
        state.advance_head(outbox::sequence(&state.db.operator, o).await?);
    }
    Ok(Answer::Fresh(answer))
}

const TS: &str = r#"'YYYY-MM-DD"T"HH24:MI:SS"Z"'"#;

/// `GET /v1/orders/{id}`.
pub async fn get(state: &AppState, id: Uuid) -> ApiResult<OrderView> {
    let sql = format!(
        "SELECT o.carrier, o.status, o.carrier_module, o.tenant_id, o.numbers, o.criteria, o.quantity,
                o.carrier_order_id, coalesce(j.last_error, o.last_error) AS last_error,
                coalesce(j.attempts, 0) AS attempts,
                to_char(o.created_at AT TIME ZONE 'UTC', {TS}) AS created_at,
                to_char(o.updated_at AT TIME ZONE 'UTC', {TS}) AS updated_at,
                to_char(o.completed_at AT TIME ZONE 'UTC', {TS}) AS completed_at
         FROM carrier_orders o LEFT JOIN carrier_jobs j ON j.order_id = o.id
         WHERE o.id = $1"
    );
    let row = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(&state.db.operator)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no order has the id {id}")))?;
    let numbers: Vec<String> = row.get("numbers");
    let provisioning: Vec<(String, String)> =
        sqlx::query_as("SELECT e164, provisioning_status FROM numbers WHERE e164 = ANY($1)")
            .bind(&numbers)
            .fetch_all(&state.db.operator)
            .await?;
    let criteria: Option<serde_json::Value> = row.get("criteria");
    Ok(OrderView {
        order_id: id,
        carrier: row.get("carrier"),
        status: row.get("status"),
        carrier_module: row.get("carrier_module"),
        tenant_id: row.get("tenant_id"),
        numbers: numbers
            .iter()
            .map(|n| OrderedNumber {
                number: n.clone(),
                provisioning_status: provisioning.iter().find(|(e, _)| e == n).map(|(_, p)| p.clone()),
            })
            .collect(),
        criteria: criteria.and_then(|c| serde_json::from_value(c).ok()),
        quantity: row.get::<Option<i32>, _>("quantity").map(|q| q as u32),
        carrier_order_id: row.get("carrier_order_id"),
        attempts: row.get("attempts"),
        last_error: row.get("last_error"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
        completed_at: row.get("completed_at"),
    })
}

/// At most this many orders on one page of [`list`].
pub const MAX_ORDERS_PAGE: i64 = 200;

/// A page of orders, newest first, and the cursor of the next one.
pub struct OrderPage {
    pub orders: Vec<OrderView>,
    /// The last order of this page: pass it as `after` for the next page.
    pub next: Option<Uuid>,
}

/// Recent orders, newest first, keyset-paged by (created, id) after the
/// order `after`. The numbers' provisioning states are left out (one
/// order's page shows them).
pub async fn list(state: &AppState, after: Option<Uuid>, limit: i64) -> ApiResult<OrderPage> {
    if !(1..=MAX_ORDERS_PAGE).contains(&limit) {
        return Err(ApiError::new(ProblemType::InvalidQuery, format!("limit must be between 1 and {MAX_ORDERS_PAGE}")));
    }
    let sql = format!(
        "SELECT o.id, o.carrier, o.status, o.carrier_module, o.tenant_id, o.numbers, o.criteria, o.quantity,
                o.carrier_order_id, coalesce(j.last_error, o.last_error) AS last_error,
                coalesce(j.attempts, 0) AS attempts,
                to_char(o.created_at AT TIME ZONE 'UTC', {TS}) AS created_at,
                to_char(o.updated_at AT TIME ZONE 'UTC', {TS}) AS updated_at,
                to_char(o.completed_at AT TIME ZONE 'UTC', {TS}) AS completed_at
         FROM carrier_orders o LEFT JOIN carrier_jobs j ON j.order_id = o.id
         WHERE $1::uuid IS NULL OR (o.created_at, o.id) < (SELECT created_at, id FROM carrier_orders WHERE id = $1)
         ORDER BY o.created_at DESC, o.id DESC LIMIT $2"
    );
    if let Some(a) = after {
        // a cursor naming no order would silently restart the list
        let known: Option<Uuid> = sqlx::query_scalar("SELECT id FROM carrier_orders WHERE id = $1")
            .bind(a)
            .fetch_optional(&state.db.operator)
            .await?;
        if known.is_none() {
            return Err(ApiError::new(ProblemType::InvalidQuery, format!("after names no order ({a})")));
        }
    }
    let rows = sqlx::query(&sql).bind(after).bind(limit + 1).fetch_all(&state.db.operator).await?;
    let more = rows.len() as i64 > limit;
    let orders: Vec<OrderView> = rows
        .iter()
        .take(limit as usize)
        .map(|row| {
            let numbers: Vec<String> = row.get("numbers");
            let criteria: Option<serde_json::Value> = row.get("criteria");
            OrderView {
                order_id: row.get("id"),
                carrier: row.get("carrier"),
                status: row.get("status"),
                carrier_module: row.get("carrier_module"),
                tenant_id: row.get("tenant_id"),
                numbers: numbers
                    .into_iter()
                    .map(|number| OrderedNumber { number, provisioning_status: None })
                    .collect(),
                criteria: criteria.and_then(|c| serde_json::from_value(c).ok()),
                quantity: row.get::<Option<i32>, _>("quantity").map(|q| q as u32),
                carrier_order_id: row.get("carrier_order_id"),
                attempts: row.get("attempts"),
                last_error: row.get("last_error"),
                created_at: row.get("created_at"),
                updated_at: row.get("updated_at"),
                completed_at: row.get("completed_at"),
            }
        })
        .collect();
    let next = if more { orders.last().map(|o| o.order_id) } else { None };
    Ok(OrderPage { orders, next })
}
