//! The control plane's one error type, mapped to problem+json exactly once.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use didroute_shared::problem::{Problem, CONTENT_TYPE};

/// Everything a request can fail with. `slug` names the problem type
/// (`https://didroute.dev/problems/{slug}`); `detail` says what was wrong.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(&'static str, String),
    #[error("missing or invalid bearer token")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{1}")]
    Conflict(&'static str, String),
    #[error("{1}")]
    Unprocessable(&'static str, String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("no such route")]
    NoSuchRoute,
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("internal error: {0}")]
    Internal(#[from] anyhow::Error),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn bad_request(detail: impl Into<String>) -> Self {
        ApiError::BadRequest("invalid-request", detail.into())
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        ApiError::NotFound(detail.into())
    }

    /// The last segment of the problem `type`: a small, fixed set (metrics
    /// label their outcomes with it).
    pub fn slug(&self) -> &'static str {
        match self {
            ApiError::BadRequest(slug, _) | ApiError::Conflict(slug, _) | ApiError::Unprocessable(slug, _) => slug,
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not-found",
            ApiError::UnsupportedMediaType(_) => "unsupported-media-type",
            ApiError::MethodNotAllowed(_) => "method-not-allowed",
            ApiError::PayloadTooLarge(_) => "payload-too-large",
            ApiError::NoSuchRoute => "no-such-route",
            ApiError::Database(e) => database_kind(e).1,
            ApiError::Internal(_) => "internal",
        }
    }

    /// The problem document this error answers with.
    pub fn problem(&self) -> Problem {
        match self {
            ApiError::BadRequest(slug, d) => Problem::new(400, slug, "Bad request", d.clone()),
            ApiError::Unauthorized(d) => Problem::new(401, "unauthorized", "Unauthorized", d.clone()),
            ApiError::Forbidden(d) => Problem::new(403, "forbidden", "Forbidden", d.clone()),
            ApiError::NotFound(d) => Problem::new(404, "not-found", "Not found", d.clone()),
            ApiError::Conflict(slug, d) => Problem::new(409, slug, "Conflict", d.clone()),
            ApiError::Unprocessable(slug, d) => Problem::new(422, slug, "Unprocessable request", d.clone()),
            ApiError::UnsupportedMediaType(d) => {
                Problem::new(415, "unsupported-media-type", "Unsupported media type", d.clone())
            }
            ApiError::NoSuchRoute => {
                Problem::new(404, "no-such-route", "Not found", "no such route; the API is described at /openapi.json")
            }
            ApiError::PayloadTooLarge(d) => Problem::new(413, "payload-too-large", "Payload too large", d.clone()),
            ApiError::MethodNotAllowed(d) => Problem::new(405, "method-not-allowed", "Method not allowed", d.clone()),
            ApiError::Database(e) => database_problem(e),
            ApiError::Internal(_) => {
                Problem::new(500, "internal", "Internal server error", "the server failed; the error is logged")
            }
        }
    }
}

/// Constraint and trigger errors that reach here are the caller's doing
/// (the SQL enforces the rules); anything else is ours.
fn database_problem(e: &sqlx::Error) -> Problem {
    let (status, slug, title, fixed) = database_kind(e);
    let detail = match (fixed, e) {
        (Some(d), _) => d.to_owned(),
        (None, sqlx::Error::Database(db)) => db.message().to_owned(),
        (None, _) => "the server failed; the error is logged".to_owned(),
    };
    Problem::new(status, slug, title, detail)
}

/// Status, slug, title and (unless the database's own message says it
/// better) a fixed detail for a database error.
fn database_kind(e: &sqlx::Error) -> (u16, &'static str, &'static str, Option<&'static str>) {
    if let sqlx::Error::Database(db) = e {
        match db.code().as_deref() {
            // numbers_guard: a lifecycle transition that is not allowed
            Some("DR001") => return (409, "invalid-transition", "Conflict", None),
            Some("DR002") => return (422, "not-allocatable", "Unprocessable request", None),
            Some("23505") => return (409, "already-exists", "Conflict", None),
            Some("23514") | Some("23502") => return (422, "constraint-violated", "Unprocessable request", None),
            // a NUL (U+0000) in a text value (character_not_in_repertoire)
            // or in a jsonb one (untranslatable_character, e.g. an audit
            // detail quoting the caller): JSON and query strings can carry
            // one, PostgreSQL cannot. Every string the server sends is Rust
            // UTF-8, so only a caller's NUL raises these.
            Some("22021") | Some("22P05") => {
                return (
                    400,
                    "invalid-text",
                    "Bad request",
                    Some("a text value contains the NUL character (U+0000), which cannot be stored: remove it"),
                )
            }
            Some("40001") | Some("40P01") => {
                return (503, "retry", "Service unavailable", Some("the change conflicted with another; retry it"))
            }
            _ => {}
        }
    }
    if matches!(e, sqlx::Error::PoolTimedOut) {
        return (503, "overloaded", "Service unavailable", Some("no database connection was free in time; retry"));
    }
    (500, "internal", "Internal server error", Some("the server failed; the error is logged"))
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = self.problem();
        if problem.status >= 500 {
            tracing::error!(error = %self, status = problem.status, "request failed");
        } else if let ApiError::Database(_) = self {
            // the database refused the caller's input: kept, in case it ever
            // refuses something that was ours
            tracing::info!(error = %self, status = problem.status, "request refused by the database");
        }
        problem_response(&problem)
    }
}

/// A problem document as an HTTP response.
pub fn problem_response(problem: &Problem) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut res = (status, problem.to_json()).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    if status == StatusCode::SERVICE_UNAVAILABLE {
        res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    res
}
