//! Ordering from carriers (operator): `GET /v1/carriers/{carrier}/available-numbers`,
//! `POST /v1/orders`, `GET /v1/orders/{id}`; reconciliation:
//! `POST /v1/reconciliations`, `GET /v1/reconciliations/latest`. Only the
//! search reads from a carrier here: orders and reconciliations are written
//! down and carried out by the worker (`service/carrier_jobs.rs`,
//! `service/reconcile.rs`).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use didroute_shared::problem::ProblemType;
use uuid::Uuid;

#[allow(unused_imports)]
use super::docs::{AuthErrors, BodyErrors, IdempotencyKeyHeader, KeyErrors, ProblemDoc};
use super::{idempotency_key, typed};
use crate::auth::Operator;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::service::filter::parse_number;
use crate::service::orders::{self, CarrierSearch};
use crate::service::{orphans, reconcile};
use crate::state::AppState;
use didroute_shared::wire;

#[utoipa::path(get, path = "/v1/carriers/{carrier}/available-numbers", tag = "carriers",
    params(("carrier" = String, Path, description = "a configured carrier's name"), CarrierSearch),
    responses((status = 200, description = "the carrier's stock matching the search, with prices", body = wire::CarrierNumbers),
        (status = 404, response = ProblemDoc),
        (status = 502, response = ProblemDoc),
        AuthErrors))]
pub async fn search(
    _: Operator,
    State(s): State<AppState>,
    Path(carrier): Path<String>,
    Query(q): Query<CarrierSearch>,
) -> ApiResult<impl IntoResponse> {
    Ok(axum::Json(orders::search(&s, &carrier, q).await?))
}

#[utoipa::path(post, path = "/v1/orders", tag = "carriers", request_body = wire::NewOrder,
    params(IdempotencyKeyHeader),
    responses((status = 202, description = "accepted: named numbers are in the inventory as pending; \
            the job worker places the order and follows it", body = wire::OrderAccepted),
        (status = 409, response = ProblemDoc),
        (status = 422, response = ProblemDoc),
        BodyErrors,
        AuthErrors))]
pub async fn create(
    _: Operator,
    State(s): State<AppState>,
    headers: HeaderMap,
    Json(raw): Json<serde_json::Value>,
) -> ApiResult<impl IntoResponse> {
    let key = idempotency_key(&headers, "POST /v1/orders", &raw)?;
    let body: wire::NewOrder = typed(&raw)?;
    Ok((StatusCode::ACCEPTED, axum::Json(orders::create(&s, body, key.as_ref()).await?)))
}

#[utoipa::path(get, path = "/v1/orders/{id}", tag = "carriers",
    params(("id" = Uuid, Path, description = "the order's id")),
    responses((status = 200, description = "the order, its numbers' provisioning and its job's attempts", body = wire::OrderView),
        (status = 404, response = ProblemDoc),
        AuthErrors))]
pub async fn get(_: Operator, State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<impl IntoResponse> {
    let id: Uuid = id.parse().map_err(|_| ApiError::new(ProblemType::InvalidPath, "the order id is not a UUID"))?;
    Ok(axum::Json(orders::get(&s, id).await?))
}

#[utoipa::path(post, path = "/v1/reconciliations", tag = "carriers",
    params(IdempotencyKeyHeader),
    responses((status = 202, description = "requested: a control-plane instance runs it within one job interval",
            body = wire::ReconciliationAccepted),
        KeyErrors,
        AuthErrors))]
pub async fn reconcile(_: Operator, State(s): State<AppState>, headers: HeaderMap) -> ApiResult<impl IntoResponse> {
    let key = idempotency_key(&headers, "POST /v1/reconciliations", &serde_json::Value::Null)?;
    Ok((StatusCode::ACCEPTED, axum::Json(reconcile::request(&s, key.as_ref()).await?)))
}

#[utoipa::path(get, path = "/v1/reconciliations/latest", tag = "carriers",
    responses((status = 200, description = "the newest reconciliation: what it found at each carrier and did",
            body = wire::ReconciliationView),
        (status = 404, response = ProblemDoc),
        AuthErrors))]
pub async fn latest(_: Operator, State(s): State<AppState>) -> ApiResult<impl IntoResponse> {
    Ok(axum::Json(reconcile::latest(&s).await?))
}

#[utoipa::path(get, path = "/v1/orphans", tag = "carriers",
    responses((status = 200, description = "numbers carriers bill for that the inventory does not hold, with their \
            monthly cost, as the last reconciliation found them", body = wire::Orphans),
        AuthErrors))]
pub async fn list_orphans(_: Operator, State(s): State<AppState>) -> ApiResult<impl IntoResponse> {
    Ok(axum::Json(orphans::list(&s).await?))
}

#[utoipa::path(post, path = "/v1/orphans/{number}/adopt", tag = "carriers",
    params(super::docs::NumberPath, IdempotencyKeyHeader),
    responses((status = 200, description = "in the inventory: active, module `inventory`, its carrier as provider",
            body = wire::InventoryItem),
        (status = 404, response = ProblemDoc),
        (status = 409, response = ProblemDoc),
        KeyErrors,
        AuthErrors))]
pub async fn adopt(
    _: Operator,
    State(s): State<AppState>,
    Path(n): Path<String>,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    let number = parse_number(&n)?;
    let key = idempotency_key(&headers, &format!("POST /v1/orphans/{number}/adopt"), &serde_json::Value::Null)?;
    Ok(axum::Json(orphans::adopt(&s, number, key.as_ref()).await?))
}

#[utoipa::path(post, path = "/v1/orphans/{number}/disconnect", tag = "carriers",
    params(super::docs::NumberPath, IdempotencyKeyHeader),
    responses((status = 202, description = "to be released at its carrier by the job worker",
            body = wire::OrphanDisconnect),
        (status = 404, response = ProblemDoc),
        KeyErrors,
        AuthErrors))]
pub async fn disconnect_orphan(
    _: Operator,
    State(s): State<AppState>,
    Path(n): Path<String>,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    let number = parse_number(&n)?;
    let key = idempotency_key(&headers, &format!("POST /v1/orphans/{number}/disconnect"), &serde_json::Value::Null)?;
    Ok((StatusCode::ACCEPTED, axum::Json(orphans::disconnect(&s, number, key.as_ref()).await?)))
}
