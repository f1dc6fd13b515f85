use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;

use crate::auth::{Operator, Tenant};
use crate::error::ApiResult;
use crate::extract::{Json, Path, Query};
use crate::service::inventory::{self, ImportRequest, SearchQuery};
use crate::service::numbers::parse_number;
use crate::service::provisioning::{self, InventoryPatch};
use crate::state::AppState;

pub async fn import(
    _: Operator,
    State(s): State<AppState>,
    Json(body): Json<ImportRequest>,
) -> ApiResult<impl IntoResponse> {
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
