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
    let carriers = s
        .carriers
        .iter()
        .map(|c| {
            let health = c.health();
            wire::CarrierView {
                name: health.name,
                kind: health.kind.as_str().to_owned(),
                base_url: c.base_url().to_owned(),
                healthy: health.healthy,
                breaker: serde_json::to_value(health.breaker)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                last_error: health.last_error,
            }
        })
        .collect();
    Ok(axum::Json(wire::Carriers { carriers }))
}
