//! didroute carrier simulator: a stand-in for a carrier speaking Telnyx API v2
//! (available numbers search, number orders completed asynchronously, the
//! account's phone numbers by page, deletion), with fault knobs on `/_sim/...`
//! so tests and new users can exercise ordering without a real carrier.
#![forbid(unsafe_code)]

pub mod admin;
pub mod api;
pub mod faults;
pub mod persist;
pub mod state;
pub mod stock;
pub mod wire;

use std::future::Future;
use std::sync::{Arc, Mutex};

use axum::Router;
use tokio::net::TcpListener;

use crate::state::Sim;

/// What every handler shares.
#[derive(Clone)]
pub struct Shared {
    pub sim: Arc<Mutex<Sim>>,
    /// The bearer token `/v2` requires; `None` accepts any request.
    pub token: Option<Arc<str>>,
}

impl Shared {
    pub fn new(sim: Sim, token: Option<String>) -> Self {
        Self { sim: Arc::new(Mutex::new(sim)), token: token.map(Arc::from) }
    }
}

pub fn router(shared: Shared) -> Router {
    api::routes(shared.clone()).merge(admin::routes(shared))
}

/// Serves the simulator on `listener` until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    shared: Shared,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(shared)).with_graceful_shutdown(shutdown).await
}

pub(crate) fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}
