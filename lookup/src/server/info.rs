//! The node's own state: `/v1/snapshot`, `/healthz`, `/readyz`, `/metrics`.

use hyper::header::HeaderValue;
use hyper::StatusCode;
use serde::Serialize;
use time::OffsetDateTime;

use super::reply::{self, problem, with_seq, Reply};
use crate::app::App;

#[derive(Serialize)]
struct SnapshotInfo {
    /// Feed position applied.
    seq: u64,
    /// Routable numbers.
    numbers: u64,
    /// When the base (the block index) under the current snapshot was built.
    #[serde(with = "time::serde::rfc3339")]
    built_at: OffsetDateTime,
    source: &'static str,
    /// 0 when the last poll confirmed the node was caught up; else seconds
    /// since it last was.
    lag_seconds: f64,
    ready: bool,
    /// Changes applied since the base was built, not yet folded into it.
    overlay_entries: usize,
}

pub fn snapshot(app: &App) -> Reply {
    // Readiness first, then the snapshot: the tailer publishes the complete
    // snapshot before it marks the node ready, so `ready: true` never comes
    // with an earlier (empty) snapshot. The other way round an answer read
    // in between says `ready: false` beside the complete snapshot.
    let ready = app.is_ready();
    let s = app.store().load_full();
    let lag = app.status().lag().as_secs_f64();
    let info = SnapshotInfo {
        seq: s.seq(),
        numbers: s.numbers(),
        built_at: s.built_at(),
        source: app.source(),
        lag_seconds: (lag * 1000.0).round() / 1000.0,
        ready,
        overlay_entries: s.overlay_len(),
    };
    with_seq(reply::json(StatusCode::OK, &info), s.seq())
}

pub fn healthz() -> Reply {
    reply::json_bytes(StatusCode::OK, &b"{\"status\":\"ok\"}"[..])
}

pub fn readyz(app: &App) -> Reply {
    // readiness before the position, as in `snapshot`
    let ready = app.is_ready();
    let seq = app.store().load().seq();
    if ready {
        reply::json(StatusCode::OK, &serde_json::json!({"status": "ready", "seq": seq}))
    } else {
        problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "not-ready",
            "Not ready",
            format!(
                "the node is still loading its initial snapshot from the {} (applied position {seq})",
                app.source()
            ),
        )
    }
}

pub fn metrics(app: &App) -> Reply {
    app.metrics().lag_seconds.set(app.status().lag().as_secs_f64());
    app.metrics().ready.set(i64::from(app.is_ready()));
    reply::bytes(StatusCode::OK, HeaderValue::from_static(prometheus::TEXT_FORMAT), app.metrics().encode())
}
