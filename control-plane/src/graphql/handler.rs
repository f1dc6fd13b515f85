//! `POST /graphql`: the JSON body `{query, variables?, operationName?}` in,
//! the GraphQL response `{data, errors?}` out, as `application/json`.

use async_graphql::Variables;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::state::AppState;

/// A GraphQL-over-HTTP request body. `extensions` and unknown fields are ignored.
#[derive(Deserialize)]
pub struct GraphqlRequest {
    query: String,
    #[serde(default)]
    variables: Option<serde_json::Value>,
    #[serde(default, rename = "operationName")]
    operation_name: Option<String>,
}

/// Authentication comes first and is the REST one: a missing or invalid
/// token is refused with 401 problem+json before the body is read, as on
/// every other route. So is a body that is not a GraphQL request (400). Past
/// that the answer is 200 with GraphQL `errors` whose `extensions` carry the
/// problem (`code`, `status`, `type`, `title`, `detail`).
pub async fn handler(
    principal: Principal,
    State(state): State<AppState>,
    Json(body): Json<GraphqlRequest>,
) -> ApiResult<Response> {
    let variables = match body.variables {
        None | Some(serde_json::Value::Null) => Variables::default(),
        Some(v @ serde_json::Value::Object(_)) => Variables::from_json(v),
        Some(_) => return Err(ApiError::BadRequest("invalid-body", "variables must be a JSON object".into())),
    };
    let mut request = async_graphql::Request::new(body.query).variables(variables).data(principal).data(state);
    if let Some(name) = body.operation_name {
        request = request.operation_name(name);
    }
    let mut response = super::schema().execute(request).await;
    super::error::label(&mut response);
    let json =
        serde_json::to_vec(&response).map_err(|e| ApiError::Internal(anyhow::anyhow!("graphql response: {e}")))?;
    Ok(([(CONTENT_TYPE, "application/json")], json).into_response())
}
