//! The Telnyx API v2 surface: available numbers search, number orders, the
//! account's phone numbers (page-number pagination) and their deletion, behind
//! bearer authentication and the fault knobs.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use crate::state::{Injected, Order, Owned, OwnedFilter, Search, SimError};
use crate::wire::{self, Envelope, Errors};
use crate::{now, Shared};

/// Telnyx caps `page[size]` at 250.
pub const MAX_PAGE_SIZE: u64 = 250;
const DEFAULT_PAGE_SIZE: u64 = 20;
const DEFAULT_SEARCH_LIMIT: usize = 50;
const MAX_SEARCH_LIMIT: usize = 1000;

pub fn routes(shared: Shared) -> Router {
    Router::new()
        .route("/v2/available_phone_numbers", get(search))
        .route("/v2/number_orders", get(list_orders).post(create_order))
        .route("/v2/number_orders/{id}", get(get_order))
        .route("/v2/phone_numbers", get(list_numbers))
        .route("/v2/phone_numbers/{id}", get(get_number).delete(delete_number))
        .layer(axum::middleware::from_fn_with_state(shared.clone(), gate))
        .with_state(shared)
}

/// An error answer in Telnyx's format.
pub struct ApiError(StatusCode, Errors);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(self.1)).into_response()
    }
}

impl From<SimError> for ApiError {
    fn from(e: SimError) -> Self {
        match e {
            SimError::Invalid(d) => invalid(d),
            SimError::NotFound(d) => not_found(d),
            SimError::Unavailable(d) => {
                ApiError(StatusCode::SERVICE_UNAVAILABLE, Errors::one("10006", "Service unavailable", d))
            }
        }
    }
}

fn invalid(detail: impl Into<String>) -> ApiError {
    ApiError(StatusCode::UNPROCESSABLE_ENTITY, Errors::one("10015", "Invalid parameter", detail))
}

fn not_found(detail: impl Into<String>) -> ApiError {
    ApiError(StatusCode::NOT_FOUND, Errors::one("10005", "Resource not found", detail))
}

/// Latency, then injected 429/503, then authentication.
async fn gate(State(shared): State<Shared>, headers: HeaderMap, req: Request, next: Next) -> Response {
    let (latency, verdict) = {
        let mut sim = shared.sim.lock().expect("sim lock");
        let verdict = sim.inject(&mut rand::thread_rng());
        (sim.faults.latency_ms, verdict)
    };
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    match verdict {
        Injected::Serve => {}
        Injected::RateLimited { retry_after_secs } => {
            let mut res = ApiError(
                StatusCode::TOO_MANY_REQUESTS,
                Errors::one("10011", "Too many requests", "rate limit exceeded, retry later"),
            )
            .into_response();
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            return res;
        }
        Injected::Unavailable => {
            return ApiError::from(SimError::Unavailable("the service is temporarily unavailable".into()))
                .into_response();
        }
    }
    if let Some(token) = &shared.token {
        let given = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        if given.and_then(|v| v.strip_prefix("Bearer ")) != Some(&**token) {
            return ApiError(
                StatusCode::UNAUTHORIZED,
                Errors::one("10009", "Authentication failed", "the API key is missing or wrong"),
            )
            .into_response();
        }
    }
    next.run(req).await
}

fn param<T: std::str::FromStr>(q: &HashMap<String, String>, name: &str) -> Result<Option<T>, ApiError> {
    match q.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| invalid(format!("{name} has an invalid value {v:?}"))),
    }
}

async fn search(State(shared): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Result<Response, ApiError> {
    let limit = param::<usize>(&q, "filter[limit]")?.unwrap_or(DEFAULT_SEARCH_LIMIT);
    if limit == 0 || limit > MAX_SEARCH_LIMIT {
        return Err(invalid(format!("filter[limit] must be between 1 and {MAX_SEARCH_LIMIT}")));
    }
    let number_type: Option<String> = param(&q, "filter[phone_number_type]")?;
    if let Some(t) = &number_type {
        if !["local", "toll_free", "mobile", "national", "shared_cost"].contains(&t.as_str()) {
            return Err(invalid(format!("filter[phone_number_type] {t:?} is not a number type")));
        }
    }
    let s = Search {
        country: param(&q, "filter[country_code]")?,
        ndc: param(&q, "filter[national_destination_code]")?,
        contains: param(&q, "filter[phone_number][contains]")?,
        starts_with: param(&q, "filter[phone_number][starts_with]")?,
        ends_with: param(&q, "filter[phone_number][ends_with]")?,
        number_type,
        limit,
    };
    let (found, total) = shared.sim.lock().expect("sim lock").search(&s);
    let data: Vec<wire::AvailableNumber> = found
        .into_iter()
        .map(|(phone_number, origin)| {
            let (upfront_cost, monthly_cost, currency) = origin.costs();
            wire::AvailableNumber {
                record_type: "available_phone_number",
                phone_number,
                best_effort: false,
                quickship: true,
                reservable: true,
                region_information: vec![wire::Region { region_type: "country_code", region_name: origin.country() }],
                cost_information: wire::CostInformation { upfront_cost, monthly_cost, currency },
                features: vec![wire::Feature { name: "voice" }, wire::Feature { name: "sms" }],
            }
        })
        .collect();
    let meta = wire::SearchMeta { total_results: total, best_effort_results: 0 };
    Ok(Json(Envelope { data, meta: Some(meta) }).into_response())
}

/// Completes order `id` after `delay_ms` (orders taken over from a state
/// file are completed after the restarted process's delay).
pub fn complete_later(shared: Shared, id: String, delay_ms: u64) {
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        let status = shared.sim.lock().expect("sim lock").complete_order(&id, now());
        tracing::info!(order = %id, ?status, "number order completed");
    });
}

#[derive(Debug, Deserialize)]
struct CreateOrder {
    #[serde(default)]
    phone_numbers: Vec<OrderLine>,
    customer_reference: Option<String>,
}

#[derive(Debug, Deserialize)]
struct OrderLine {
    phone_number: String,
}

async fn create_order(State(shared): State<Shared>, body: axum::body::Bytes) -> Result<Response, ApiError> {
    let body: CreateOrder =
        serde_json::from_slice(&body).map_err(|e| invalid(format!("the request body is not a number order: {e}")))?;
    let numbers: Vec<String> = body.phone_numbers.into_iter().map(|l| l.phone_number).collect();
    let (order, delay) = {
        let mut sim = shared.sim.lock().expect("sim lock");
        let order = sim.place_order(&numbers, body.customer_reference, now())?;
        (order, sim.faults.order_delay_ms)
    };
    complete_later(shared.clone(), order.id.clone(), delay);
    Ok(Json(Envelope::<_, ()> { data: order_body(&order), meta: None }).into_response())
}

/// `GET /v2/number_orders`, filtered by `filter[customer_reference]` and
/// `filter[status]`, newest first, one page.
async fn list_orders(
    State(shared): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let size = param::<u64>(&q, "page[size]")?.unwrap_or(DEFAULT_PAGE_SIZE);
    if size == 0 || size > MAX_PAGE_SIZE {
        return Err(invalid(format!("page[size] must be between 1 and {MAX_PAGE_SIZE}")));
    }
    let reference: Option<String> = param(&q, "filter[customer_reference]")?;
    let status: Option<String> = param(&q, "filter[status]")?;
    let sim = shared.sim.lock().expect("sim lock");
    let found = sim.orders_matching(reference.as_deref(), status.as_deref());
    let total = found.len() as u64;
    let data: Vec<wire::NumberOrder> = found.into_iter().take(size as usize).map(order_body).collect();
    let meta = wire::PageMeta {
        total_pages: total.div_ceil(size).max(1),
        total_results: total,
        page_number: 1,
        page_size: size,
    };
    Ok(Json(Envelope { data, meta: Some(meta) }).into_response())
}

async fn get_order(State(shared): State<Shared>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let sim = shared.sim.lock().expect("sim lock");
    let order = sim.order(&id).ok_or_else(|| not_found(format!("number order {id} not found")))?;
    Ok(Json(Envelope::<_, ()> { data: order_body(order), meta: None }).into_response())
}

fn order_body(o: &Order) -> wire::NumberOrder {
    wire::NumberOrder {
        id: o.id.clone(),
        record_type: "number_order",
        phone_numbers: o
            .numbers
            .iter()
            .map(|(n, origin, id)| wire::OrderPhoneNumber {
                id: id.to_string(),
                record_type: "number_order_phone_number",
                phone_number: n.clone(),
                phone_number_type: origin.number_type,
                country_iso_alpha2: origin.country(),
                requirements_met: true,
                status: o.status.as_str(),
            })
            .collect(),
        phone_numbers_count: o.numbers.len(),
        status: o.status.as_str(),
        customer_reference: o.customer_reference.clone(),
        requirements_met: true,
        sub_number_orders_ids: Vec::new(),
        created_at: rfc3339(o.created_at),
        updated_at: rfc3339(o.updated_at),
    }
}

fn number_body(o: &Owned) -> wire::PhoneNumber {
    number_body_at(o, rfc3339(o.purchased_at))
}

fn number_body_at(o: &Owned, purchased_at: String) -> wire::PhoneNumber {
    wire::PhoneNumber {
        id: o.id.to_string(),
        record_type: "phone_number",
        phone_number: o.phone_number.clone(),
        status: o.status.as_str(),
        country_iso_alpha2: o.origin.country(),
        phone_number_type: o.origin.number_type,
        customer_reference: o.customer_reference.clone(),
        tags: Vec::new(),
        created_at: purchased_at.clone(),
        purchased_at,
    }
}

async fn list_numbers(
    State(shared): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let page = param::<u64>(&q, "page[number]")?.unwrap_or(1);
    let size = param::<u64>(&q, "page[size]")?.unwrap_or(DEFAULT_PAGE_SIZE);
    if page == 0 {
        return Err(invalid("page[number] starts at 1"));
    }
    if size == 0 || size > MAX_PAGE_SIZE {
        return Err(invalid(format!("page[size] must be between 1 and {MAX_PAGE_SIZE}")));
    }
    let filter = OwnedFilter {
        phone_number: param(&q, "filter[phone_number]")?,
        status: param(&q, "filter[status]")?,
        country: param(&q, "filter[country_iso_alpha2]")?,
    };
    let result = shared.sim.lock().expect("sim lock").owned_page(&filter, page, size);
    // Numbers bought together share a timestamp: format each one once.
    let mut stamps: Vec<(i64, String)> = Vec::new();
    let data: Vec<wire::PhoneNumber> = result
        .items
        .iter()
        .map(|o| {
            let stamp = match stamps.iter().find(|(t, _)| *t == o.purchased_at) {
                Some((_, s)) => s.clone(),
                None => {
                    stamps.push((o.purchased_at, rfc3339(o.purchased_at)));
                    stamps[stamps.len() - 1].1.clone()
                }
            };
            number_body_at(o, stamp)
        })
        .collect();
    let meta = wire::PageMeta {
        total_pages: result.total.div_ceil(size),
        total_results: result.total,
        page_number: page,
        page_size: size,
    };
    Ok(Json(Envelope { data, meta: Some(meta) }).into_response())
}

fn number_id(id: &str) -> Result<u64, ApiError> {
    id.parse().map_err(|_| not_found(format!("phone number {id} not found")))
}

async fn get_number(State(shared): State<Shared>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let sim = shared.sim.lock().expect("sim lock");
    let owned = sim.owned_by_id(number_id(&id)?).ok_or_else(|| not_found(format!("phone number {id} not found")))?;
    Ok(Json(Envelope::<_, ()> { data: number_body(owned), meta: None }).into_response())
}

async fn delete_number(State(shared): State<Shared>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let removed = shared.sim.lock().expect("sim lock").delete_owned(number_id(&id)?)?;
    let mut data = number_body(&removed);
    data.status = "deleted";
    Ok(Json(Envelope::<_, ()> { data, meta: None }).into_response())
}

fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}
