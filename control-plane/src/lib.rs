//! didroute control plane: the admin API over PostgreSQL (row-level security
//! per tenant), the transactional outbox and the event feed lookup nodes tail.
#![forbid(unsafe_code)]

pub mod api;
pub mod auth;
pub mod config;
pub mod db;
pub mod error;
pub mod extract;
pub mod outbox;
pub mod service;
pub mod state;

use std::future::Future;
use std::time::Duration;

use tokio::net::TcpListener;

pub use state::AppState;

/// How often rows left unsequenced by a writer that died after commit are picked up.
pub const SEQUENCER_TICK: Duration = Duration::from_millis(500);

/// Runs the control plane on `listener` until `shutdown`: the API and the
/// outbox head tracker.
pub async fn run(listener: TcpListener, state: AppState, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
    let tracker = tokio::spawn(outbox::run_head_tracker(state.db.operator.clone(), state.head.clone(), SEQUENCER_TICK));
    let res = api::serve(listener, state, shutdown).await;
    tracker.abort();
    Ok(res?)
}
