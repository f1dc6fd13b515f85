//! Building responses: JSON, problem+json, and the `didroute-seq` header.

use bytes::Bytes;
use didroute_shared::problem::{Problem, ProblemType, CONTENT_TYPE as PROBLEM_CONTENT_TYPE};
use http_body_util::Full;
use hyper::header::{HeaderName, HeaderValue, ALLOW, CONTENT_TYPE, RETRY_AFTER};
use hyper::{Response, StatusCode};
use serde::Serialize;

pub type Reply = Response<Full<Bytes>>;

/// The snapshot position a lookup answer was made from.
pub const SEQ_HEADER: HeaderName = HeaderName::from_static("didroute-seq");
const JSON: HeaderValue = HeaderValue::from_static("application/json");
const PROBLEM: HeaderValue = HeaderValue::from_static(PROBLEM_CONTENT_TYPE);

pub fn bytes(status: StatusCode, content_type: HeaderValue, body: impl Into<Bytes>) -> Reply {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, content_type);
    response
}

/// JSON that is already encoded.
pub fn json_bytes(status: StatusCode, body: impl Into<Bytes>) -> Reply {
    bytes(status, JSON, body)
}

pub fn json(status: StatusCode, value: &impl Serialize) -> Reply {
    match serde_json::to_vec(value) {
        Ok(body) => json_bytes(status, body),
        Err(error) => {
            tracing::error!(%error, "cannot encode a response");
            problem(ProblemType::Internal, "the answer could not be encoded")
        }
    }
}

/// A problem+json answer of kind `kind`, with its status.
pub fn problem(kind: ProblemType, detail: impl Into<String>) -> Reply {
    let status = StatusCode::from_u16(kind.status()).expect("every problem status is a valid HTTP status");
    bytes(status, PROBLEM, Problem::of(kind, detail).to_json())
}

pub fn with_seq(mut response: Reply, seq: u64) -> Reply {
    response.headers_mut().insert(SEQ_HEADER, HeaderValue::from(seq));
    response
}

pub fn retry_after(mut response: Reply, seconds: u32) -> Reply {
    response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(seconds));
    response
}

pub fn not_found_path(path: &str) -> Reply {
    problem(ProblemType::NotFound, format!("no endpoint at {}", shorten(path)))
}

pub fn method_not_allowed(method: &hyper::Method) -> Reply {
    let mut response = problem(
        ProblemType::MethodNotAllowed,
        format!("{} is not supported here: use GET or HEAD", shorten(method.as_str())),
    );
    response.headers_mut().insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
    response
}

/// Echoes caller input in an error message without echoing megabytes.
pub fn shorten(input: &str) -> String {
    const MAX: usize = 64;
    match input.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{:?}…", &input[..cut]),
        None => format!("{input:?}"),
    }
}
