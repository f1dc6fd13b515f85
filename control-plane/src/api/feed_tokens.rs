//! `/v1/feed-tokens` (operator): the credentials lookup nodes read the event
//! feed with.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use uuid::Uuid;

#[allow(unused_imports)]
use super::docs::{AuthErrors, BodyErrors, IdempotencyKeyHeader, KeyErrors, ProblemDoc};
use crate::auth::Operator;
use crate::error::ApiResult;
use crate::extract::{OptionalJson, Path};
use crate::service::feed_tokens;
use crate::state::AppState;
use didroute_shared::wire;

#[utoipa::path(post, path = "/v1/feed-tokens", tag = "events",
    request_body(content = Option<wire::NewFeedTokenRequest>, description = "optional: a name for the token"),
    params(IdempotencyKeyHeader),
    responses((status = 201, description = "the token, shown once; it reads GET /v1/events only",
            body = wire::NewFeedToken),
        (status = 409, response = ProblemDoc),
        (status = 422, response = ProblemDoc),
        BodyErrors,
        AuthErrors))]
pub async fn create(
    _: Operator,
    State(s): State<AppState>,
    headers: HeaderMap,
    OptionalJson(body): OptionalJson<wire::NewFeedTokenRequest>,
) -> ApiResult<impl IntoResponse> {
    let req = body.unwrap_or_default();
    // hashed as understood, so no body and an empty one are the same request
    let asked = serde_json::to_value(&req).map_err(anyhow::Error::from)?;
    let key = super::idempotency_key(&headers, "POST /v1/feed-tokens", &asked)?;
    Ok((StatusCode::CREATED, axum::Json(feed_tokens::create(&s.db, &req, key.as_ref()).await?)))
}

#[utoipa::path(get, path = "/v1/feed-tokens", tag = "events",
    responses((status = 200, description = "every feed token, oldest first, without the tokens themselves",
            body = wire::FeedTokens),
        AuthErrors))]
pub async fn list(_: Operator, State(s): State<AppState>) -> ApiResult<impl IntoResponse> {
    Ok(axum::Json(wire::FeedTokens { feed_tokens: feed_tokens::list(&s.db).await? }))
}

#[utoipa::path(delete, path = "/v1/feed-tokens/{id}", tag = "events",
    params(("id" = uuid::Uuid, Path, description = "the token's id"), IdempotencyKeyHeader),
    responses((status = 204, description = "revoked (also when it already was)"),
        (status = 404, response = ProblemDoc),
        KeyErrors,
        AuthErrors))]
pub async fn revoke(
    _: Operator,
    State(s): State<AppState>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    let key = super::idempotency_key(&headers, &format!("DELETE /v1/feed-tokens/{id}"), &serde_json::Value::Null)?;
    feed_tokens::revoke(&s.db, id, key.as_ref()).await?;
    // this instance at once; the others on the NOTIFY the revocation sent
    s.keys.clear();
    Ok(StatusCode::NO_CONTENT)
}
