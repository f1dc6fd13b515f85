//! `/v1/tenants/{id}/ranges`, `/v1/ranges/{id}` (operator): range routes.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use uuid::Uuid;

#[allow(unused_imports)]
use super::docs::{AuthErrors, BodyErrors, IdempotencyKeyHeader, KeyErrors, ProblemDoc};
use crate::auth::Operator;
use crate::error::ApiResult;
use crate::extract::{Json, Path};
use crate::service::ranges;
use crate::state::AppState;
use didroute_shared::wire;

#[utoipa::path(post, path = "/v1/tenants/{id}/ranges", tag = "ranges",
    params(("id" = uuid::Uuid, Path, description = "tenant id"), IdempotencyKeyHeader),
    request_body = wire::NewRange,
    responses((status = 201, description = "the range; `seq`: the position of its route's event, `joined_pool`: \
            numbers of the inventory that joined the tenant's private pool", body = wire::RangeView),
        (status = 404, response = ProblemDoc),
        (status = 409, response = ProblemDoc),
        (status = 422, response = ProblemDoc),
        BodyErrors,
        AuthErrors))]
pub async fn create(
    _: Operator,
    State(s): State<AppState>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    Json(raw): Json<serde_json::Value>,
) -> ApiResult<impl IntoResponse> {
    let key = super::idempotency_key(&headers, &format!("POST /v1/tenants/{id}/ranges"), &raw)?;
    let body: wire::NewRange = super::typed(&raw)?;
    Ok((StatusCode::CREATED, axum::Json(ranges::create(&s, id, &body, key.as_ref()).await?)))
}

#[utoipa::path(get, path = "/v1/tenants/{id}/ranges", tag = "ranges",
    params(("id" = uuid::Uuid, Path, description = "tenant id")),
    responses((status = 200, description = "the tenant's ranges, oldest first", body = wire::Ranges),
        (status = 404, response = ProblemDoc),
        AuthErrors))]
pub async fn list(_: Operator, State(s): State<AppState>, Path(id): Path<Uuid>) -> ApiResult<impl IntoResponse> {
    Ok(axum::Json(wire::Ranges { ranges: ranges::list(&s.db, id).await? }))
}

#[utoipa::path(delete, path = "/v1/ranges/{id}", tag = "ranges",
    params(("id" = i64, Path, description = "range id"), IdempotencyKeyHeader),
    responses((status = 200, description = "deleted; `seq`: the position of the range's delete event",
            body = wire::RangeDeleted),
        (status = 404, response = ProblemDoc),
        (status = 422, response = ProblemDoc),
        BodyErrors,
        AuthErrors))]
pub async fn delete(
    _: Operator,
    State(s): State<AppState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    let key = super::idempotency_key(&headers, &format!("DELETE /v1/ranges/{id}"), &serde_json::Value::Null)?;
    Ok(axum::Json(ranges::delete(&s, id, key.as_ref()).await?))
}
