use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde::Deserialize;
use uuid::Uuid;

#[allow(unused_imports)]
use super::docs::{AuthErrors, BodyErrors, IdempotencyKeyHeader, KeyErrors, ProblemDoc};
use crate::auth::Operator;
use crate::error::ApiResult;
use crate::extract::{Json, OptionalJson, Path};
use crate::service::tenants;
use crate::state::AppState;
use didroute_shared::wire;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    #[schema(value_type = super::docs::LabelText, inline)]
    name: String,
}

#[utoipa::path(post, path = "/v1/tenants", tag = "tenants", request_body = CreateTenant, params(IdempotencyKeyHeader),
    responses((status = 201, description = "created", body = wire::Tenant),
        (status = 409, response = ProblemDoc),
        (status = 422, response = ProblemDoc),
        BodyErrors,
        AuthErrors))]
pub async fn create(
    _: Operator,
    State(s): State<AppState>,
    headers: HeaderMap,
    Json(raw): Json<serde_json::Value>,
) -> ApiResult<impl IntoResponse> {
    let key = super::idempotency_key(&headers, "POST /v1/tenants", &raw)?;
    let body: CreateTenant = super::typed(&raw)?;
    Ok((StatusCode::CREATED, axum::Json(tenants::create(&s.db, &body.name, key.as_ref()).await?)))
}

#[utoipa::path(get, path = "/v1/tenants", tag = "tenants",
    responses((status = 200, description = "every tenant", body = wire::Tenants),
        AuthErrors))]
pub async fn list(_: Operator, State(s): State<AppState>) -> ApiResult<impl IntoResponse> {
    Ok(axum::Json(wire::Tenants { tenants: tenants::list(&s.db).await? }))
}

#[utoipa::path(patch, path = "/v1/tenants/{id}", tag = "tenants",
    params(("id" = uuid::Uuid, Path, description = "tenant id"), IdempotencyKeyHeader),
    request_body = wire::TenantPatch,
    responses((status = 200, description = "the tenant as it now is; `seq`: the position of its allocated numbers' \
            routes re-published with the new greetings", body = wire::TenantUpdated),
        (status = 404, response = ProblemDoc),
        (status = 409, response = ProblemDoc),
        (status = 422, response = ProblemDoc),
        BodyErrors,
        AuthErrors))]
pub async fn update(
    _: Operator,
    State(s): State<AppState>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    Json(raw): Json<serde_json::Value>,
) -> ApiResult<impl IntoResponse> {
    let key = super::idempotency_key(&headers, &format!("PATCH /v1/tenants/{id}"), &raw)?;
    let body: wire::TenantPatch = super::typed(&raw)?;
    Ok(axum::Json(tenants::update(&s, id, &body, key.as_ref()).await?))
}

#[utoipa::path(post, path = "/v1/tenants/{id}/api-keys", tag = "tenants",
    params(("id" = uuid::Uuid, Path, description = "tenant id"), IdempotencyKeyHeader),
    request_body(content = Option<wire::NewKeyRequest>,
        description = "optional: no body makes a read and write key that does not expire"),
    responses((status = 201, description = "the key, shown once", body = wire::NewKey),
        (status = 404, response = ProblemDoc),
        (status = 409, response = ProblemDoc),
        (status = 422, response = ProblemDoc),
        BodyErrors,
        AuthErrors))]
pub async fn create_key(
    _: Operator,
    State(s): State<AppState>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    OptionalJson(body): OptionalJson<wire::NewKeyRequest>,
) -> ApiResult<impl IntoResponse> {
    let req = body.unwrap_or_default();
    // hashed as understood, so no body and an empty one are the same request
    let asked = serde_json::to_value(&req).map_err(anyhow::Error::from)?;
    let key = super::idempotency_key(&headers, &format!("POST /v1/tenants/{id}/api-keys"), &asked)?;
    Ok((StatusCode::CREATED, axum::Json(tenants::create_key(&s.db, id, &req, key.as_ref()).await?)))
}

#[utoipa::path(get, path = "/v1/tenants/{id}/api-keys", tag = "tenants",
    params(("id" = uuid::Uuid, Path, description = "tenant id")),
    responses((status = 200, description = "the tenant's keys, oldest first, without the keys themselves",
            body = wire::ApiKeys),
        (status = 404, response = ProblemDoc),
        AuthErrors))]
pub async fn list_keys(_: Operator, State(s): State<AppState>, Path(id): Path<Uuid>) -> ApiResult<impl IntoResponse> {
    Ok(axum::Json(wire::ApiKeys { api_keys: tenants::list_keys(&s.db, id).await? }))
}

#[utoipa::path(delete, path = "/v1/tenants/{id}/api-keys/{key_id}", tag = "tenants",
    params(("id" = uuid::Uuid, Path, description = "tenant id"),
        ("key_id" = uuid::Uuid, Path, description = "the key's id"), IdempotencyKeyHeader),
    responses((status = 204, description = "revoked (also when it already was)"),
        (status = 404, response = ProblemDoc),
        KeyErrors,
        AuthErrors))]
pub async fn revoke_key(
    _: Operator,
    State(s): State<AppState>,
    Path((id, key)): Path<(Uuid, Uuid)>,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    let idem =
        super::idempotency_key(&headers, &format!("DELETE /v1/tenants/{id}/api-keys/{key}"), &serde_json::Value::Null)?;
    tenants::revoke_key(&s.db, id, key, idem.as_ref()).await?;
    // this instance at once; the others on the NOTIFY the revocation sent
    s.keys.clear();
    Ok(StatusCode::NO_CONTENT)
}
