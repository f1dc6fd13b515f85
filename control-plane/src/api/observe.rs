//! What every request gets on its way through: a request id (the caller's
//! `x-request-id` when it sent a usable one, else a fresh one) echoed in the
//! response and carried by every log line the request writes, one log line
//! when it is answered, and its count and latency in `/metrics`.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use didroute_shared::problem::ProblemType;
use std::sync::Arc;
use tracing::Instrument;

use crate::error::ApiError;
use crate::state::AppState;

/// The header a request id travels in, both ways.
pub const REQUEST_ID: &str = "x-request-id";

/// Longest caller-chosen request id kept; longer ones are replaced.
const MAX_REQUEST_ID: usize = 128;

pub async fn observe(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = req.headers().get(REQUEST_ID).filter(|v| usable(v.as_bytes())).cloned().unwrap_or_else(|| {
        HeaderValue::from_str(&uuid::Uuid::new_v4().simple().to_string()).expect("hex is a valid header")
    });
    // the route template, not the path: `/v1/numbers/{number}` keeps the
    // metric labels few and the logs free of the number itself
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", |m| m.as_str()).to_owned();
    let method = req.method().clone();
    let span = tracing::info_span!("request", request_id = id.to_str().unwrap_or(""), method = %method, route = %route);
    let mut res = bounded(&s, &method, &route, next.run(req)).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let status = res.status().as_u16();
    s.metrics.request(method_label(&method), &route, status, elapsed);
    span.in_scope(|| tracing::info!(status, latency_ms = elapsed.as_secs_f64() * 1e3, "answered"));
    res.headers_mut().insert(REQUEST_ID, id);
    res
}

/// Runs the request within the service's bounds: past `max_in_flight`
/// requests it is shed at once, and past `request_timeout` it is answered
/// 503 (dropping the handler rolls its transaction back whole, so a retry
/// with the same Idempotency-Key is safe either way). Probes are never
/// shed; the feed's long poll (bounded by its own `wait_ms`) and inventory
/// imports (a million numbers take longer than any request timeout; C3 in
/// BENCHMARKS.md) run without the timeout.
async fn bounded(
    s: &AppState,
    method: &Method,
    route: &str,
    run: impl std::future::Future<Output = Response>,
) -> Response {
    let probe = matches!(route, "/healthz" | "/metrics");
    let _permit = if probe {
        None
    } else {
        match Arc::clone(&s.in_flight).try_acquire_owned() {
            Ok(permit) => Some(permit),
            Err(_) => {
                return ApiError::new(
                    ProblemType::Overloaded,
                    format!("more than {} requests are in flight; retry", s.settings.max_in_flight),
                )
                .into_response()
            }
        }
    };
    let unbounded = route == "/v1/events" || (route == "/v1/inventory" && method == Method::POST);
    if probe || unbounded {
        return run.await;
    }
    let limit = s.settings.request_timeout;
    match tokio::time::timeout(limit, run).await {
        Ok(res) => res,
        Err(_) => ApiError::new(
            ProblemType::Overloaded,
            format!(
                "the request took longer than {} ms and was stopped; whatever it changed was rolled back or \
                 committed whole: retry with the same Idempotency-Key",
                limit.as_millis()
            ),
        )
        .into_response(),
    }
}

/// The method as a metric label: the standard ones by name, any other as
/// `_OTHER`, so a client inventing methods cannot add series (the route is
/// already one label, `unmatched`, for paths no route serves).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "_OTHER",
    }
}

/// Visible ASCII, not empty, not too long: safe to log and to echo.
fn usable(id: &[u8]) -> bool {
    !id.is_empty() && id.len() <= MAX_REQUEST_ID && id.iter().all(|b| b.is_ascii_graphic())
}
