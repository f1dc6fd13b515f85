use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::Operator;
use crate::error::ApiResult;
use crate::extract::{Json, Path};
use crate::service::tenants;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    name: String,
}

pub async fn create(
    _: Operator,
    State(s): State<AppState>,
    Json(body): Json<CreateTenant>,
) -> ApiResult<impl IntoResponse> {
    Ok((StatusCode::CREATED, axum::Json(tenants::create(&s.db, &body.name).await?)))
}

pub async fn list(_: Operator, State(s): State<AppState>) -> ApiResult<impl IntoResponse> {
    Ok(axum::Json(serde_json::json!({ "tenants": tenants::list(&s.db).await? })))
}

pub async fn create_key(_: Operator, State(s): State<AppState>, Path(id): Path<Uuid>) -> ApiResult<impl IntoResponse> {
    Ok((StatusCode::CREATED, axum::Json(tenants::create_key(&s.db, id).await?)))
}
