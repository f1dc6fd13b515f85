//! `/v1/carriers` (operator): the carriers this instance is configured with
//! (`DIDROUTE_CARRIERS`) and their health.

use axum::extract::State;
use axum::response::IntoResponse;

#[allow(unused_imports)]
use super::docs::AuthErrors;
use crate::auth::Operator;
use crate::error::ApiResult;
use crate::state::AppState;
use didroute_shared::wire;

#[utoipa::path(get, path = "/v1/carriers", tag = "carriers",
    responses((status = 200, description = "every configured carrier with its adapter's health (no call is made)",
            body = wire::Carriers),
        AuthErrors))]
pub async fn list(_: Operator, State(s): State<AppState>) -> ApiResult<impl IntoResponse> {
    Ok(axum::Json(crate::service::orders::carriers(&s)))
}
