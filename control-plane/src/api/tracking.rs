//! `/v1/tracking-pools…` and `/v1/tracking-sessions…` (tenant): tracking
//! pools and the web sessions that lease their numbers.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde::Deserialize;
use uuid::Uuid;

#[allow(unused_imports)]
use super::docs::{AuthErrors, BodyErrors, IdempotencyKeyHeader, KeyErrors, ProblemDoc};
use super::{idempotency_key, typed};
use crate::auth::Tenant;
use crate::error::ApiResult;
use crate::extract::{Json, Path, Query};
use crate::service::idempotency::Answer;
use crate::service::tracking::{self, Started};
use crate::state::AppState;
use didroute_shared::wire;

#[utoipa::path(post, path = "/v1/tracking-pools", tag = "tracking", request_body = wire::NewTrackingPool,
    params(IdempotencyKeyHeader),
    responses((status = 201, description = "the pool with its numbers taken (allocated to you, subsystem \
            `tracking`); `seq`: the position of the numbers' last event", body = wire::TrackingPoolView),
        (status = 404, response = ProblemDoc),
        (status = 409, response = ProblemDoc),
        (status = 422, response = ProblemDoc),
        BodyErrors,
        AuthErrors))]
pub async fn create(
    Tenant(t): Tenant,
    State(s): State<AppState>,
    headers: HeaderMap,
    Json(raw): Json<serde_json::Value>,
) -> ApiResult<impl IntoResponse> {
    let body: wire::NewTrackingPool = typed(&raw)?;
    let key = idempotency_key(&headers, "POST /v1/tracking-pools", &raw)?;
    Ok((StatusCode::CREATED, axum::Json(tracking::create(&s, t, &body, key.as_ref()).await?)))
}

#[utoipa::path(get, path = "/v1/tracking-pools", tag = "tracking",
    responses((status = 200, description = "your tracking pools, oldest first", body = wire::TrackingPools),
        AuthErrors))]
pub async fn list(Tenant(t): Tenant, State(s): State<AppState>) -> ApiResult<impl IntoResponse> {
    Ok(axum::Json(wire::TrackingPools { pools: tracking::list(&s, t).await? }))
}

#[utoipa::path(get, path = "/v1/tracking-pools/{id}", tag = "tracking",
    params(("id" = Uuid, Path, description = "pool id")),
    responses((status = 200, description = "the pool: size, leased, cooling, free, its numbers", body = wire::TrackingPoolView),
        (status = 404, response = ProblemDoc),
        AuthErrors))]
pub async fn get(Tenant(t): Tenant, State(s): State<AppState>, Path(id): Path<Uuid>) -> ApiResult<impl IntoResponse> {
    Ok(axum::Json(tracking::get(&s, t, id).await?))
}

#[utoipa::path(patch, path = "/v1/tracking-pools/{id}", tag = "tracking", request_body = wire::TrackingPoolPatch,
    params(("id" = Uuid, Path, description = "pool id"), IdempotencyKeyHeader),
    responses((status = 200, description = "the pool after the change; `seq` when numbers joined or left",
            body = wire::TrackingPoolView),
        (status = 404, response = ProblemDoc),
        (status = 409, response = ProblemDoc),
        (status = 422, response = ProblemDoc),
        BodyErrors,
        AuthErrors))]
pub async fn update(
    Tenant(t): Tenant,
    State(s): State<AppState>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    Json(raw): Json<serde_json::Value>,
) -> ApiResult<impl IntoResponse> {
    let body: wire::TrackingPoolPatch = typed(&raw)?;
    let key = idempotency_key(&headers, &format!("PATCH /v1/tracking-pools/{id}"), &raw)?;
    Ok(axum::Json(tracking::update(&s, t, id, &body, key.as_ref()).await?))
}

/// What happens to a deleted pool's numbers.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeleteQuery {
    /// `keep` (default: they stay allocated to you) or `release`.
    #[param(inline)]
    pub numbers: Option<wire::LeavingNumbers>,
}

#[utoipa::path(delete, path = "/v1/tracking-pools/{id}", tag = "tracking",
    params(("id" = Uuid, Path, description = "pool id"), DeleteQuery, IdempotencyKeyHeader),
    responses((status = 200, description = "deleted: live sessions ended, numbers kept or released",
            body = wire::TrackingPoolDeleted),
        (status = 404, response = ProblemDoc),
        KeyErrors,
        AuthErrors))]
pub async fn delete(
    Tenant(t): Tenant,
    State(s): State<AppState>,
    Path(id): Path<Uuid>,
    Query(q): Query<DeleteQuery>,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    let disposition = q.numbers.unwrap_or_default();
    let body = serde_json::json!({ "numbers": disposition });
    let key = idempotency_key(&headers, &format!("DELETE /v1/tracking-pools/{id}"), &body)?;
    Ok(axum::Json(tracking::delete(&s, t, id, disposition, key.as_ref()).await?))
}

#[utoipa::path(post, path = "/v1/tracking-pools/{id}/sessions", tag = "tracking",
    request_body = wire::NewTrackingSession,
    params(("id" = Uuid, Path, description = "pool id"), IdempotencyKeyHeader),
    responses((status = 201, description = "a number leased to a new session: the least recently used free one",
            body = wire::TrackingSession),
        (status = 200, description = "the visitor's live session, renewed (`resumed: true`), or an exhausted pool's \
            fallback number (`leased: false`, no session)", body = wire::TrackingSession),
        (status = 404, response = ProblemDoc),
        (status = 422, response = ProblemDoc),
        BodyErrors,
        AuthErrors))]
pub async fn start(
    Tenant(t): Tenant,
    State(s): State<AppState>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    Json(raw): Json<serde_json::Value>,
) -> ApiResult<impl IntoResponse> {
    let body: wire::NewTrackingSession = typed(&raw)?;
    let key = idempotency_key(&headers, &format!("POST /v1/tracking-pools/{id}/sessions"), &raw)?;
    let answer = tracking::start(&s, t, id, &body, key.as_ref()).await?;
    let value = match &answer {
        Answer::Fresh(a) => serde_json::to_value(a).map_err(anyhow::Error::from)?,
        Answer::Replayed(v) => v.clone(),
    };
    let status = match Started::of(&value) {
        Started::Leased => StatusCode::CREATED,
        Started::Resumed | Started::Fallback => StatusCode::OK,
    };
    Ok((status, axum::Json(value)))
}

#[utoipa::path(get, path = "/v1/tracking-sessions/{id}", tag = "tracking",
    params(("id" = Uuid, Path, description = "session id")),
    responses((status = 200, description = "the session, live or ended", body = wire::TrackingSession),
        (status = 404, response = ProblemDoc),
        AuthErrors))]
pub async fn session(
    Tenant(t): Tenant,
    State(s): State<AppState>,
    Path(id): Path<Uuid>,
) -> ApiResult<impl IntoResponse> {
    Ok(axum::Json(tracking::session(&s, t, id).await?))
}

#[utoipa::path(post, path = "/v1/tracking-sessions/{id}/renew", tag = "tracking",
    params(("id" = Uuid, Path, description = "session id"), IdempotencyKeyHeader),
    responses((status = 200, description = "the lease extended by the pool's `lease_seconds` from now",
            body = wire::TrackingSession),
        (status = 404, response = ProblemDoc),
        (status = 409, response = ProblemDoc),
        (status = 422, response = ProblemDoc),
        AuthErrors))]
pub async fn renew(
    Tenant(t): Tenant,
    State(s): State<AppState>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    let key = idempotency_key(&headers, &format!("POST /v1/tracking-sessions/{id}/renew"), &serde_json::Value::Null)?;
    Ok(axum::Json(tracking::renew(&s, t, id, key.as_ref()).await?))
}

#[utoipa::path(delete, path = "/v1/tracking-sessions/{id}", tag = "tracking",
    params(("id" = Uuid, Path, description = "session id"), IdempotencyKeyHeader),
    responses((status = 200, description = "ended: the number cools down, then is free again",
            body = wire::TrackingSession),
        (status = 404, response = ProblemDoc),
        (status = 409, response = ProblemDoc),
        (status = 422, response = ProblemDoc),
        AuthErrors))]
pub async fn end(
    Tenant(t): Tenant,
    State(s): State<AppState>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    let key = idempotency_key(&headers, &format!("DELETE /v1/tracking-sessions/{id}"), &serde_json::Value::Null)?;
    Ok(axum::Json(tracking::end(&s, t, id, key.as_ref()).await?))
}
