//! The node's own state: `/v1/snapshot`, `/healthz`, `/readyz`, `/metrics`.

use didroute_shared::problem::Problem;
use didroute_shared::problem::ProblemType;
use didroute_shared::wire::lookup::{HealthAnswer, ReadyAnswer, SnapshotAnswer};
use hyper::header::HeaderValue;
use hyper::StatusCode;

use super::reply::{self, problem, with_seq, Reply};
use crate::app::App;

/// The node's snapshot: its position, size, age and source.
#[utoipa::path(
    method(get, head),
    path = "/v1/snapshot",
    tag = "node",
    responses(
        (status = 200, description = "the snapshot the node answers from", body = SnapshotAnswer, headers(("didroute-seq" = u64, description = "the snapshot position"))),
        (status = 401, description = "the node requires a bearer token (`DIDROUTE_LOOKUP_TOKENS`) and the request had none of them (`unauthorized`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub fn snapshot(app: &App) -> Reply {
    // Readiness first, then the snapshot: the tailer publishes the complete
    // snapshot before it marks the node ready, so `ready: true` never comes
    // with an earlier (empty) snapshot. The other way round an answer read
    // in between says `ready: false` beside the complete snapshot.
    let ready = app.is_ready();
    let s = app.store().load_full();
    let lag = app.status().lag().as_secs_f64();
    let info = SnapshotAnswer {
        seq: s.seq(),
        numbers: s.numbers(),
        built_at: s.built_at(),
        source: app.source().to_owned(),
        lag_seconds: (lag * 1000.0).round() / 1000.0,
        ready,
        overlay_entries: s.overlay_len() as u64,
        lineage: app.lineage(),
        diverged: app.status().diverged(),
    };
    with_seq(reply::json(StatusCode::OK, &info), s.seq())
}

/// Liveness: the process answers.
#[utoipa::path(
    method(get, head),
    path = "/healthz",
    tag = "node",
    responses((status = 200, description = "alive", body = HealthAnswer))
)]
pub fn healthz() -> Reply {
    reply::json_bytes(StatusCode::OK, &b"{\"status\":\"ok\"}"[..])
}

/// Readiness: whether a complete snapshot is loaded and caught up.
#[utoipa::path(
    method(get, head),
    path = "/readyz",
    tag = "node",
    responses(
        (status = 200, description = "ready to answer lookups", body = ReadyAnswer),
        (status = 503, description = "still loading the initial snapshot (`not-ready`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub fn readyz(app: &App) -> Reply {
    // readiness before the position, as in `snapshot`
    let ready = app.is_ready();
    let seq = app.store().load().seq();
    if let Some(reason) = app.status().diverged() {
        return problem(
            ProblemType::NotReady,
            format!(
                "the node stopped applying events at position {seq} and answers from its last good snapshot: {reason}"
            ),
        );
    }
    if ready {
        reply::json(StatusCode::OK, &ReadyAnswer { status: "ready".to_owned(), seq })
    } else {
        problem(
            ProblemType::NotReady,
            format!(
                "the node is still loading its initial snapshot from the {} (applied position {seq})",
                app.source()
            ),
        )
    }
}

/// Prometheus metrics.
#[utoipa::path(
    method(get, head),
    path = "/metrics",
    tag = "node",
    responses((status = 200, description = "Prometheus text exposition format", content_type = "text/plain"))
)]
pub fn metrics(app: &App) -> Reply {
    app.metrics().lag_seconds.set(app.status().lag().as_secs_f64());
    app.metrics().ready.set(i64::from(app.is_ready()));
    reply::bytes(StatusCode::OK, HeaderValue::from_static(prometheus::TEXT_FORMAT), app.metrics().encode())
}
