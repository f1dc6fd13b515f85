use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use uuid::Uuid;

#[allow(unused_imports)]
use super::docs::{AuthErrors, BodyErrors, ProblemDoc};
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

#[utoipa::path(post, path = "/v1/tenants", tag = "tenants", request_body = CreateTenant,
    responses((status = 201, description = "created", body = wire::Tenant),
        (status = 409, response = ProblemDoc),
        (status = 422, response = ProblemDoc),
        BodyErrors,
        AuthErrors))]
pub async fn create(
    _: Operator,
    State(s): State<AppState>,
    Json(body): Json<CreateTenant>,
) -> ApiResult<impl IntoResponse> {
    Ok((StatusCode::CREATED, axum::Json(tenants::create(&s.db, &body.name).await?)))
}

#[utoipa::path(get, path = "/v1/tenants", tag = "tenants",
    responses((status = 200, description = "every tenant", body = wire::Tenants),
        AuthErrors))]
pub async fn list(_: Operator, State(s): State<AppState>) -> ApiResult<impl IntoResponse> {
    Ok(axum::Json(wire::Tenants { tenants: tenants::list(&s.db).await? }))
}

#[utoipa::path(post, path = "/v1/tenants/{id}/api-keys", tag = "tenants",
    params(("id" = uuid::Uuid, Path, description = "tenant id")),
    request_body(content = Option<wire::NewKeyRequest>,
        description = "optional: no body makes a read and write key that does not expire"),
    responses((status = 201, description = "the key, shown once", body = wire::NewKey),
        (status = 404, response = ProblemDoc),
        (status = 422, response = ProblemDoc),
        BodyErrors,
        AuthErrors))]
pub async fn create_key(
    _: Operator,
    State(s): State<AppState>,
    Path(id): Path<Uuid>,
    OptionalJson(body): OptionalJson<wire::NewKeyRequest>,
) -> ApiResult<impl IntoResponse> {
    let req = body.unwrap_or_default();
    Ok((StatusCode::CREATED, axum::Json(tenants::create_key(&s.db, id, &req).await?)))
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
        ("key_id" = uuid::Uuid, Path, description = "the key's id")),
    responses((status = 204, description = "revoked (also when it already was)"),
        (status = 404, response = ProblemDoc),
        AuthErrors))]
pub async fn revoke_key(
    _: Operator,
    State(s): State<AppState>,
    Path((id, key)): Path<(Uuid, Uuid)>,
) -> ApiResult<impl IntoResponse> {
    tenants::revoke_key(&s.db, id, key).await?;
    // this instance at once; the others on the NOTIFY the revocation sent
    s.keys.clear();
    Ok(StatusCode::NO_CONTENT)
}
