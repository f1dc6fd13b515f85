//! `ApiError` as a GraphQL error: the same problem document REST answers
//! with, carried in `extensions` (`code`, `status`, `type`, `title`, `detail`).
//!
//! The crate is built with async-graphql's `custom-error-conversion`, so no
//! error reaches a client through a blanket `Display` conversion: `?` on an
//! `ApiError` goes through [`From`] below, and nothing else converts silently.

use async_graphql::{ErrorExtensionValues, ErrorExtensions, Response, ServerError};
use didroute_shared::problem::{Problem, ProblemType};

use crate::error::ApiError;

/// The GraphQL `extensions.code` of an HTTP problem status.
pub fn code(status: u16) -> &'static str {
    match status {
        400 => "BAD_REQUEST",
        401 => "UNAUTHENTICATED",
        403 => "FORBIDDEN",
        404 => "NOT_FOUND",
        405 => "METHOD_NOT_ALLOWED",
        409 => "CONFLICT",
        413 => "PAYLOAD_TOO_LARGE",
        415 => "UNSUPPORTED_MEDIA_TYPE",
        422 => "UNPROCESSABLE",
        503 => "UNAVAILABLE",
        s if s >= 500 => "INTERNAL",
        _ => "BAD_REQUEST",
    }
}

fn set_problem(ext: &mut ErrorExtensionValues, code: &str, p: &Problem) {
    ext.set("code", code);
    ext.set("status", p.status);
    ext.set("type", p.kind.as_str());
    ext.set("title", p.title.as_str());
    ext.set("detail", p.detail.as_str());
}

impl From<ApiError> for async_graphql::Error {
    fn from(e: ApiError) -> Self {
        let p = e.problem();
        if p.status >= 500 {
            // as `IntoResponse for ApiError` does: the client sees a generic detail
            tracing::error!(error = %e, status = p.status, "graphql resolver failed");
        }
        async_graphql::Error::new(p.detail.clone()).extend_with(|_, ext| set_problem(ext, code(p.status), &p))
    }
}

/// Gives every error async-graphql raised itself (syntax, validation, the
/// depth and complexity limits, argument coercion) the same extensions as
/// resolver errors: `GRAPHQL_VALIDATION_FAILED` when the request was refused
/// before anything ran, `BAD_REQUEST` otherwise; both with status 400.
pub fn label(resp: &mut Response) {
    let refused = resp.data == async_graphql::Value::Null;
    for e in &mut resp.errors {
        let coded = e.extensions.as_ref().is_some_and(|x| x.get("code").is_some());
        if !coded {
            label_one(e, refused);
        }
    }
}

fn label_one(e: &mut ServerError, refused: bool) {
    let (code, kind) = if refused && e.path.is_empty() {
        ("GRAPHQL_VALIDATION_FAILED", ProblemType::InvalidGraphql)
    } else {
        ("BAD_REQUEST", ProblemType::InvalidRequest)
    };
    let p = Problem::of(kind, e.message.clone());
    set_problem(e.extensions.get_or_insert_with(Default::default), code, &p);
}
