//! Usage from lookups: `POST /v1/usage/batches` (lookup nodes' feed tokens,
//! or the operator), `GET /v1/numbers/{number}/usage` and `GET
//! /v1/usage/top` (a tenant key, or the operator for any tenant).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use serde::Deserialize;
use uuid::Uuid;

#[allow(unused_imports)]
use super::docs::{AuthErrors, BodyErrors, IdempotencyKeyHeader, KeyErrors, ProblemDoc};
use crate::auth::{Caller, FeedReader};
use crate::error::ApiResult;
use crate::extract::{Json, Path, Query};
use crate::service::filter::parse_number;
use crate::service::usage::{self, Span};
use crate::state::AppState;
use didroute_shared::wire;

#[utoipa::path(post, path = "/v1/usage/batches", tag = "usage",
    params(IdempotencyKeyHeader),
    request_body = wire::UsageBatch,
    responses((status = 200, description = "stored, or (`applied: false`) a batch with this id was applied before \
            and nothing was counted again", body = wire::UsageBatchAccepted),
        KeyErrors,
        BodyErrors,
        AuthErrors))]
/// A lookup node's counts of one flush window (its feed token, or the
/// operator), applied once per `batch_id`.
pub async fn ingest(
    _: FeedReader,
    State(s): State<AppState>,
    headers: HeaderMap,
    Json(raw): Json<serde_json::Value>,
) -> ApiResult<impl IntoResponse> {
    let key = super::idempotency_key(&headers, "POST /v1/usage/batches", &raw)?;
    let batch: wire::UsageBatch = super::typed(&raw)?;
    Ok(axum::Json(usage::ingest(&s.db, &batch, key.as_ref()).await?))
}

/// `?from=&to=&bucket=`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NumberUsageQuery {
    /// Start (RFC 3339), widened down to its bucket; default: 24 hours or
    /// 30 days before `to`.
    #[param(format = DateTime)]
    pub from: Option<String>,
    /// End (RFC 3339, exclusive), widened up to its bucket; default: now.
    #[param(format = DateTime)]
    pub to: Option<String>,
    /// `hour` (default; the last 30 days keep hours, at most 744 per answer)
    /// or `day` (at most 400 per answer).
    pub bucket: Option<wire::BucketSize>,
}

#[utoipa::path(get, path = "/v1/numbers/{number}/usage", tag = "usage",
    params(super::docs::NumberPath, NumberUsageQuery),
    responses((status = 200, description = "successful lookups of the number per bucket, every bucket of the span \
            (empty ones 0); a tenant sees its own tenure's, the operator every tenant's summed",
            body = wire::NumberUsage),
        AuthErrors))]
pub async fn number_usage(
    Caller(who): Caller,
    State(s): State<AppState>,
    Path(n): Path<String>,
    Query(q): Query<NumberUsageQuery>,
) -> ApiResult<impl IntoResponse> {
    let number = parse_number(&n)?;
    let span = Span::parse(q.from.as_deref(), q.to.as_deref())?;
    let bucket = q.bucket.unwrap_or(wire::BucketSize::Hour);
    Ok(axum::Json(usage::number_usage(&s.db, who, number, bucket, span).await?))
}

/// `?from=&to=&limit=&tenant_id=`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TopQuery {
    /// Start (RFC 3339), widened down to its hour; default: 24 hours before `to`.
    #[param(format = DateTime)]
    pub from: Option<String>,
    /// End (RFC 3339, exclusive), widened up to its hour; default: now. At
    /// most 400 days after `from`.
    #[param(format = DateTime)]
    pub to: Option<String>,
    /// How many numbers (default 10).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// Operator: only this tenant's numbers (default: every tenant's). A
    /// tenant key may name only its own tenant.
    pub tenant_id: Option<Uuid>,
}

#[utoipa::path(get, path = "/v1/usage/top", tag = "usage", params(TopQuery),
    responses((status = 200, description = "the busiest numbers of the span, busiest first", body = wire::UsageTop),
        AuthErrors))]
pub async fn top(
    Caller(who): Caller,
    State(s): State<AppState>,
    Query(q): Query<TopQuery>,
) -> ApiResult<impl IntoResponse> {
    let span = Span::parse(q.from.as_deref(), q.to.as_deref())?;
    Ok(axum::Json(usage::top(&s.db, who, q.tenant_id, span, q.limit).await?))
}

#[cfg(test)]
mod tests {
    use utoipa::IntoParams;

    use super::TopQuery;
    use crate::service::usage::MAX_TOP;

    #[test]
    fn the_documented_limit_is_the_enforced_one() {
        let params = serde_json::to_value(TopQuery::into_params(|| None)).unwrap();
        let p = params.as_array().unwrap().iter().find(|p| p["name"] == "limit").unwrap();
        assert_eq!(p["schema"]["maximum"].as_f64(), Some(MAX_TOP as f64), "{p}");
    }
}
