use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use didroute_shared::problem::ProblemType;

use crate::auth::{Operator, Tenant};
use axum::extract::Request;
use axum::http::header::CONTENT_TYPE;

#[allow(unused_imports)]
use super::docs::{AuthErrors, BodyErrors, IdempotencyKeyHeader, KeyErrors, ProblemDoc};
use super::INVENTORY_BODY_LIMIT;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::service::filter::parse_number;
use crate::service::inventory::{self, SearchQuery};
use crate::service::provisioning::{self, InventoryPatch};
use crate::state::AppState;
use didroute_shared::wire::{self, ImportRequest};

#[utoipa::path(post, path = "/v1/inventory", tag = "inventory",
    request_body(content(
        (ImportRequest = "application/json"),
        (String = "text/csv", example = "number,country,monthly_cost\n15550001000-15550001999,US,1.5\n")
    ), description = "numbers as PortSIP syntax or a list (JSON), or a CSV file with a header row"),
    params(IdempotencyKeyHeader),
    responses((status = 200, description = "what was imported and what was rejected, with reasons", body = wire::ImportResult),
        (status = 422, response = ProblemDoc),
        BodyErrors,
        AuthErrors))]
/// JSON (`application/json`) or CSV (`text/csv`).
pub async fn import(_: Operator, State(s): State<AppState>, req: Request) -> ApiResult<impl IntoResponse> {
    let is_csv = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.trim_start().to_ascii_lowercase().starts_with("text/csv"));
    let is_json = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.trim_start().to_ascii_lowercase().starts_with("application/json"));
    if !is_csv && !is_json {
        return Err(ApiError::new(
            ProblemType::UnsupportedMediaType,
            "send the import as application/json or text/csv",
        ));
    }
    // read here with the import's own limit: imports carry long number
    // lists, every other route stays at axum's 2 MB default
    let headers = req.headers().clone();
    let body = axum::body::to_bytes(req.into_body(), INVENTORY_BODY_LIMIT)
        .await
        .map_err(|_| ApiError::new(ProblemType::PayloadTooLarge, "the request body is too large"))?;
    // the media type is part of what was asked: the same bytes as CSV and
    // as JSON are two requests
    let route = if is_csv { "POST /v1/inventory text/csv" } else { "POST /v1/inventory application/json" };
    let key = super::idempotency_key_of(&headers, route, &body)?;
    if is_csv {
        let text =
            std::str::from_utf8(&body).map_err(|_| ApiError::new(ProblemType::InvalidCsv, "the CSV is not UTF-8"))?;
        return Ok(axum::Json(inventory::import_csv(&s.db, text, key.as_ref()).await?));
    }
    let body: ImportRequest =
        serde_json::from_slice(&body).map_err(|e| ApiError::new(ProblemType::InvalidBody, e.to_string()))?;
    Ok(axum::Json(inventory::import(&s.db, body, key.as_ref()).await?))
}

#[utoipa::path(get, path = "/v1/inventory", tag = "inventory", params(SearchQuery),
    responses((status = 200, description = "a page of inventory, every status", body = wire::InventoryPage),
        AuthErrors))]
pub async fn search(
    _: Operator,
    State(s): State<AppState>,
    Query(q): Query<SearchQuery>,
) -> ApiResult<impl IntoResponse> {
    Ok(axum::Json(inventory::search(&s.db, q).await?))
}

#[utoipa::path(patch, path = "/v1/inventory/{number}", tag = "inventory",
    params(super::docs::NumberPath, IdempotencyKeyHeader),
    request_body = InventoryPatch,
    responses((status = 200, description = "the number after the change", body = wire::Patched),
        (status = 404, response = ProblemDoc),
        (status = 409, response = ProblemDoc),
        (status = 422, response = ProblemDoc),
        BodyErrors,
        AuthErrors))]
pub async fn patch(
    _: Operator,
    State(s): State<AppState>,
    Path(n): Path<String>,
    headers: HeaderMap,
    Json(raw): Json<serde_json::Value>,
) -> ApiResult<impl IntoResponse> {
    let number = parse_number(&n)?;
    let key = super::idempotency_key(&headers, &format!("PATCH /v1/inventory/{number}"), &raw)?;
    let body: InventoryPatch = super::typed(&raw)?;
    Ok(axum::Json(provisioning::patch(&s, number, body, key.as_ref()).await?))
}

/// `?force=true`: delete a number in cooldown or aging too.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeleteQuery {
    /// Delete a number its tenant may still reclaim (cooldown, aging).
    pub force: Option<bool>,
}

#[utoipa::path(delete, path = "/v1/inventory/{number}", tag = "inventory",
    params(super::docs::NumberPath, DeleteQuery, IdempotencyKeyHeader),
    responses((status = 204, description = "deleted for good; an `inventory` or `managed` number of a configured \
            carrier is disconnected there by the carrier job worker"),
        (status = 404, response = ProblemDoc),
        (status = 409, response = ProblemDoc),
        KeyErrors,
        AuthErrors))]
pub async fn delete(
    _: Operator,
    State(s): State<AppState>,
    Path(n): Path<String>,
    Query(q): Query<DeleteQuery>,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    let number = parse_number(&n)?;
    let force = q.force.unwrap_or(false);
    let route = format!("DELETE /v1/inventory/{number}{}", if force { "?force=true" } else { "" });
    let key = super::idempotency_key(&headers, &route, &serde_json::Value::Null)?;
    provisioning::delete(&s, number, force, key.as_ref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/v1/available-numbers", tag = "inventory", params(SearchQuery),
    responses((status = 200, description = "numbers this tenant may take, with cost", body = wire::AvailablePage),
        AuthErrors))]
pub async fn available(
    Tenant(t): Tenant,
    State(s): State<AppState>,
    Query(q): Query<SearchQuery>,
) -> ApiResult<impl IntoResponse> {
    Ok(axum::Json(inventory::available(&s.db, t, q).await?))
}
