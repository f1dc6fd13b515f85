use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;

use crate::auth::Tenant;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::service::numbers::{self, parse_number, ListFilter, ReleaseInput, RemapInput, RouteInput};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct AllocateRequest {
    number: Option<String>,
    criteria: Option<serde_json::Value>,
    #[serde(flatten)]
    route: RouteInput,
}

pub async fn allocate(Tenant(t): Tenant, State(s): State<AppState>, Json(body): Json<AllocateRequest>) -> ApiResult<impl IntoResponse> {
    let number = match (&body.number, &body.criteria) {
        (Some(n), None) => parse_number(n)?,
        (None, Some(_)) => {
            return Err(ApiError::BadRequest(
                "unsupported",
                "allocation by criteria is not available yet: name the number".into(),
            ))
        }
        _ => return Err(ApiError::BadRequest("invalid-body", "give either number or criteria".into())),
    };
    let changed = numbers::allocate_one(&s, t, number, &body.route).await?;
    Ok((StatusCode::CREATED, axum::Json(serde_json::json!({ "numbers": changed.body, "seq": changed.seq }))))
}

pub async fn list(Tenant(t): Tenant, State(s): State<AppState>, Query(f): Query<ListFilter>) -> ApiResult<impl IntoResponse> {
    Ok(axum::Json(numbers::list(&s, t, f).await?))
}

pub async fn get(Tenant(t): Tenant, State(s): State<AppState>, Path(n): Path<String>) -> ApiResult<impl IntoResponse> {
    Ok(axum::Json(numbers::get(&s, t, parse_number(&n)?).await?))
}

pub async fn remap(
    Tenant(t): Tenant,
    State(s): State<AppState>,
    Path(n): Path<String>,
    Json(body): Json<RemapInput>,
) -> ApiResult<impl IntoResponse> {
    Ok(axum::Json(numbers::remap(&s, t, parse_number(&n)?, &body).await?))
}

pub async fn release(
    Tenant(t): Tenant,
    State(s): State<AppState>,
    Path(n): Path<String>,
    Json(body): Json<ReleaseInput>,
) -> ApiResult<impl IntoResponse> {
    let changed = numbers::release(&s, t, parse_number(&n)?, &body).await?;
    Ok(axum::Json(serde_json::json!({ "number": changed.body, "seq": changed.seq })))
}

pub async fn history(Tenant(t): Tenant, State(s): State<AppState>, Path(n): Path<String>) -> ApiResult<impl IntoResponse> {
    Ok(axum::Json(serde_json::json!({ "history": numbers::history(&s, t, parse_number(&n)?).await? })))
}
