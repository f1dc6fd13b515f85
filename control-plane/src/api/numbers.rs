use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde::Deserialize;

#[allow(unused_imports)]
use super::docs::{AuthErrors, BodyErrors, IdempotencyKeyHeader, KeyErrors, ProblemDoc};
use super::{idempotency_key, typed};
use crate::auth::Tenant;
use crate::error::ApiResult;
use crate::extract::{Json, Path, Query};
use crate::service::claim::{self, Action, Criteria, Target};
use crate::service::filter::parse_number;
use crate::service::numbers::{self, ListFilter, ReleaseInput, RemapInput, RouteInput};
use crate::state::AppState;
use didroute_shared::wire;

/// One named number, or criteria and a quantity; plus the route.
#[derive(Deserialize, utoipa::ToSchema)]
struct AllocateRequest {
    #[schema(value_type = Option<super::docs::E164Doc>, inline)]
    number: Option<String>,
    criteria: Option<Criteria>,
    quantity: Option<u32>,
    #[serde(flatten)]
    route: RouteInput,
}

/// One named number, or criteria and a quantity; and how long to hold them.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ReserveRequest {
    #[schema(value_type = Option<super::docs::E164Doc>, inline)]
    number: Option<String>,
    criteria: Option<Criteria>,
    quantity: Option<u32>,
    ttl_seconds: Option<u64>,
}

#[utoipa::path(post, path = "/v1/numbers", tag = "numbers", request_body = AllocateRequest,
    params(IdempotencyKeyHeader),
    responses((status = 201, description = "allocated", body = wire::Claimed),
        (status = 404, response = ProblemDoc),
        (status = 409, response = ProblemDoc),
        (status = 422, response = ProblemDoc),
        BodyErrors,
        AuthErrors))]
pub async fn allocate(
    Tenant(t): Tenant,
    State(s): State<AppState>,
    headers: HeaderMap,
    Json(raw): Json<serde_json::Value>,
) -> ApiResult<impl IntoResponse> {
    let body: AllocateRequest = typed(&raw)?;
    let target = Target::from_fields(body.number.as_deref(), body.criteria, body.quantity)?;
    let key = idempotency_key(&headers, "POST /v1/numbers", &raw)?;
    let answer = claim::claim(&s, t, target, Action::Allocate(body.route), key).await?;
    Ok((StatusCode::CREATED, axum::Json(answer)))
}

#[utoipa::path(post, path = "/v1/reservations", tag = "reservations", request_body = ReserveRequest,
    params(IdempotencyKeyHeader),
    responses((status = 201, description = "reserved until reserved_until", body = wire::Claimed),
        (status = 404, response = ProblemDoc),
        (status = 409, response = ProblemDoc),
        (status = 422, response = ProblemDoc),
        BodyErrors,
        AuthErrors))]
pub async fn reserve(
    Tenant(t): Tenant,
    State(s): State<AppState>,
    headers: HeaderMap,
    Json(raw): Json<serde_json::Value>,
) -> ApiResult<impl IntoResponse> {
    let body: ReserveRequest = typed(&raw)?;
    let target = Target::from_fields(body.number.as_deref(), body.criteria, body.quantity)?;
    // u64 keeps negative values out at parsing; anything past i64 is over the maximum anyway
    let action = Action::reserve(body.ttl_seconds.map(|v| i64::try_from(v).unwrap_or(i64::MAX)))?;
    let key = idempotency_key(&headers, "POST /v1/reservations", &raw)?;
    let answer = claim::claim(&s, t, target, action, key).await?;
    Ok((StatusCode::CREATED, axum::Json(answer)))
}

#[utoipa::path(delete, path = "/v1/reservations/{number}", tag = "reservations",
    params(super::docs::NumberPath, IdempotencyKeyHeader),
    responses((status = 200, description = "back in inventory", body = wire::Cancelled),
        (status = 404, response = ProblemDoc),
        (status = 409, response = ProblemDoc),
        KeyErrors,
        AuthErrors))]
pub async fn cancel_reservation(
    Tenant(t): Tenant,
    State(s): State<AppState>,
    Path(n): Path<String>,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    let number = parse_number(&n)?;
    let key = idempotency_key(&headers, &format!("DELETE /v1/reservations/{number}"), &serde_json::Value::Null)?;
    Ok(axum::Json(claim::cancel_reservation(&s, t, number, key.as_ref()).await?))
}

#[utoipa::path(get, path = "/v1/numbers", tag = "numbers", params(ListFilter),
    responses((status = 200, description = "this tenant's numbers", body = wire::NumbersPage),
        AuthErrors))]
pub async fn list(
    Tenant(t): Tenant,
    State(s): State<AppState>,
    Query(f): Query<ListFilter>,
) -> ApiResult<impl IntoResponse> {
    Ok(axum::Json(numbers::list(&s, t, f).await?))
}

#[utoipa::path(get, path = "/v1/numbers/{number}", tag = "numbers", params(super::docs::NumberPath),
    responses((status = 200, description = "the number with its route", body = wire::NumberView),
        (status = 404, response = ProblemDoc),
        AuthErrors))]
pub async fn get(Tenant(t): Tenant, State(s): State<AppState>, Path(n): Path<String>) -> ApiResult<impl IntoResponse> {
    Ok(axum::Json(numbers::get(&s, t, parse_number(&n)?).await?))
}

#[utoipa::path(patch, path = "/v1/numbers/{number}", tag = "numbers", request_body = RemapInput,
    params(super::docs::NumberPath, IdempotencyKeyHeader),
    responses((status = 200, description = "remapped in place", body = wire::NumberChanged),
        (status = 404, response = ProblemDoc),
        (status = 409, response = ProblemDoc),
        (status = 422, response = ProblemDoc),
        BodyErrors,
        AuthErrors))]
pub async fn remap(
    Tenant(t): Tenant,
    State(s): State<AppState>,
    Path(n): Path<String>,
    headers: HeaderMap,
    Json(raw): Json<serde_json::Value>,
) -> ApiResult<impl IntoResponse> {
    let body: RemapInput = typed(&raw)?;
    let number = parse_number(&n)?;
    let key = idempotency_key(&headers, &format!("PATCH /v1/numbers/{number}"), &raw)?;
    Ok(axum::Json(numbers::remap(&s, t, number, &body, key.as_ref()).await?))
}

#[utoipa::path(post, path = "/v1/numbers/{number}/release", tag = "numbers", request_body = ReleaseInput,
    params(super::docs::NumberPath, IdempotencyKeyHeader),
    responses((status = 200, description = "released to cooldown (local/mdn numbers: deleted)", body = wire::Released),
        (status = 404, response = ProblemDoc),
        (status = 409, response = ProblemDoc),
        (status = 422, response = ProblemDoc),
        BodyErrors,
        AuthErrors))]
pub async fn release(
    Tenant(t): Tenant,
    State(s): State<AppState>,
    Path(n): Path<String>,
    headers: HeaderMap,
    Json(raw): Json<serde_json::Value>,
) -> ApiResult<impl IntoResponse> {
    let body: ReleaseInput = typed(&raw)?;
    let number = parse_number(&n)?;
    let key = idempotency_key(&headers, &format!("POST /v1/numbers/{number}/release"), &raw)?;
    Ok(axum::Json(numbers::release(&s, t, number, &body, key.as_ref()).await?))
}

#[utoipa::path(post, path = "/v1/numbers/{number}/reclaim", tag = "numbers",
    params(super::docs::NumberPath, IdempotencyKeyHeader),
    responses((status = 200, description = "allocated again with its last route", body = wire::NumberChanged),
        (status = 404, response = ProblemDoc),
        (status = 409, response = ProblemDoc),
        (status = 422, response = ProblemDoc),
        AuthErrors))]
pub async fn reclaim(
    Tenant(t): Tenant,
    State(s): State<AppState>,
    Path(n): Path<String>,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    let number = parse_number(&n)?;
    let key = idempotency_key(&headers, &format!("POST /v1/numbers/{number}/reclaim"), &serde_json::Value::Null)?;
    Ok(axum::Json(numbers::reclaim(&s, t, number, key.as_ref()).await?))
}

#[utoipa::path(get, path = "/v1/numbers/{number}/history", tag = "numbers", params(super::docs::NumberPath),
    responses((status = 200, description = "this tenant's audit trail of the number", body = wire::History),
        (status = 404, response = ProblemDoc),
        AuthErrors))]
pub async fn history(
    Tenant(t): Tenant,
    State(s): State<AppState>,
    Path(n): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let history = numbers::history(&s, t, parse_number(&n)?).await?;
    Ok(axum::Json(wire::History { history }))
}
