use axum::extract::State;
use axum::response::IntoResponse;

use crate::auth::Operator;
use crate::error::ApiResult;
use crate::extract::Json;
use crate::service::inventory::{self, ImportRequest};
use crate::state::AppState;

pub async fn import(_: Operator, State(s): State<AppState>, Json(body): Json<ImportRequest>) -> ApiResult<impl IntoResponse> {
    Ok(axum::Json(inventory::import(&s.db, body).await?))
}
