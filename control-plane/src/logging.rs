//! Logs: readable text by default, JSON lines with `DIDROUTE_LOG_FORMAT=json`.
//! Either way each line a request writes carries its span (`request_id`,
//! `method`, `route`), so one request's lines can be found by the id the
//! caller got back in `x-request-id`.

use tracing_subscriber::EnvFilter;

/// Installs the process-wide subscriber: `RUST_LOG` filters (default
/// `info,sqlx=warn`), `DIDROUTE_LOG_FORMAT=json` picks JSON lines.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    if std::env::var("DIDROUTE_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        tracing_subscriber::fmt().json().with_env_filter(filter).init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }
}
