use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;

use crate::auth::{Operator, Tenant};
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;

use super::INVENTORY_BODY_LIMIT;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::service::inventory::{self, ImportRequest, SearchQuery};
use crate::service::numbers::parse_number;
use crate::service::provisioning::{self, InventoryPatch};
use crate::state::AppState;

/// JSON (`application/json`) or CSV (`text/csv`).
pub async fn import(_: Operator, State(s): State<AppState>, req: Request) -> ApiResult<impl IntoResponse> {
    let is_csv = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.trim_start().to_ascii_lowercase().starts_with("text/csv"));
    if is_csv {
        let body = axum::body::to_bytes(req.into_body(), INVENTORY_BODY_LIMIT)
            .await
            .map_err(|_| ApiError::PayloadTooLarge("the request body is too large".into()))?;
        let text = std::str::from_utf8(&body)
            .map_err(|_| ApiError::BadRequest("invalid-csv", "the CSV is not UTF-8".into()))?;
        return Ok(axum::Json(inventory::import_csv(&s.db, text).await?));
    }
    let Json(body) = Json::<ImportRequest>::from_request(req, &s).await?;
    Ok(axum::Json(inventory::import(&s.db, body).await?))
}

pub async fn search(
    _: Operator,
    State(s): State<AppState>,
    Query(q): Query<SearchQuery>,
) -> ApiResult<impl IntoResponse> {
    Ok(axum::Json(inventory::search(&s.db, q).await?))
}

pub async fn patch(
    _: Operator,
    State(s): State<AppState>,
    Path(n): Path<String>,
    Json(body): Json<InventoryPatch>,
) -> ApiResult<impl IntoResponse> {
    Ok(axum::Json(provisioning::patch(&s, parse_number(&n)?, body).await?))
}

pub async fn delete(_: Operator, State(s): State<AppState>, Path(n): Path<String>) -> ApiResult<impl IntoResponse> {
    provisioning::delete(&s, parse_number(&n)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn available(
    Tenant(t): Tenant,
    State(s): State<AppState>,
    Query(q): Query<SearchQuery>,
) -> ApiResult<impl IntoResponse> {
    Ok(axum::Json(inventory::available(&s.db, t, q).await?))
}
