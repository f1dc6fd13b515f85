//! `POST /graphql`: the JSON body `{query, variables?, operationName?}` in,
//! the GraphQL response `{data, errors?}` out, as `application/json`.

use async_graphql::Variables;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use didroute_shared::problem::ProblemType;
use serde::Deserialize;

use crate::api::docs::{AuthErrors, BodyErrors};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::state::AppState;

/// A GraphQL-over-HTTP request body. `extensions` and unknown fields are ignored.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct GraphqlRequest {
    /// The GraphQL document (the schema is available by introspection).
    query: String,
    /// Values for the document's variables: a JSON object.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    variables: Option<serde_json::Value>,
    /// Which operation of the document to run, when it holds several.
    #[serde(default, rename = "operationName")]
    operation_name: Option<String>,
}

/// A GraphQL response: `data`, and `errors` whose `extensions` carry the
/// problem details (`code`, `status`, `type`, `title`, `detail`).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct GraphqlResponse {
    #[schema(value_type = Option<Object>)]
    data: Option<serde_json::Value>,
    #[schema(value_type = Option<Vec<Object>>)]
    errors: Option<Vec<serde_json::Value>>,
}

/// Authentication comes first and is the REST one: a missing or invalid
/// token is refused with 401 problem+json before the body is read, as on
/// every other route. So is a body that is not a GraphQL request (400). Past
/// that the answer is 200 with GraphQL `errors` whose `extensions` carry the
/// problem (`code`, `status`, `type`, `title`, `detail`).
#[utoipa::path(post, path = "/graphql", tag = "graphql", request_body = GraphqlRequest,
    responses((status = 200, description = "the GraphQL response; errors in `errors`", body = GraphqlResponse),
        BodyErrors,
        AuthErrors))]
pub async fn handler(
    Caller(principal): Caller,
    State(state): State<AppState>,
    Json(body): Json<GraphqlRequest>,
) -> ApiResult<Response> {
    let variables = match body.variables {
        None | Some(serde_json::Value::Null) => Variables::default(),
        Some(v @ serde_json::Value::Object(_)) => Variables::from_json(v),
        Some(_) => return Err(ApiError::new(ProblemType::InvalidBody, "variables must be a JSON object")),
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
