//! didroute control plane: the admin API over PostgreSQL (row-level security
//! per tenant), the transactional outbox and the event feed lookup nodes tail.
#![forbid(unsafe_code)]

pub mod api;
pub mod auth;
pub mod carriers;
pub mod config;
pub mod console;
pub mod db;
pub mod error;
pub mod extract;
pub mod graphql;
pub mod lease;
pub mod logging;
pub mod metrics;
pub mod outbox;
pub mod service;
pub mod state;
pub mod usage_consumer;

use std::future::Future;
use std::time::Duration;

use tokio::net::TcpListener;

use outbox::relay;
pub use state::AppState;

/// How often rows left unsequenced by a writer that died after commit are picked up.
pub const SEQUENCER_TICK: Duration = Duration::from_millis(500);

/// How long open requests (feed long polls, say) may run on after shutdown begins.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Runs the control plane on `listener` until `shutdown`: the API and the
/// outbox head tracker and the credential listener.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let tracker = tokio::spawn(outbox::run_head_tracker(state.db.operator.clone(), state.head.clone(), SEQUENCER_TICK));
    let keys = tokio::spawn(auth::run_key_listener(state.db.operator.clone(), state.keys.clone()));
    // this instance as a job-lease holder (logged so an operator can match
    // `job_leases.holder` to a process)
    let holder = lease::instance_id();
    tracing::info!(instance = %holder, "control plane instance");
    let jobs = state.settings.lifecycle_interval.map(|every| {
        let lease = lease::Lease::new(
            state.db.operator.clone(),
            service::lifecycle::LEASE,
            holder.clone(),
            lease::Lease::ttl_for(every),
        );
        let task = tokio::spawn(service::lifecycle::run_forever(
            state.db.clone(),
            state.metrics.clone(),
            every,
            holder.clone(),
        ));
        (task, lease)
    });
    // the only callers of carriers' changing endpoints; reconciliation runs
    // are looked for at the same pace
    let carrier_jobs = state.settings.carrier_job_interval.map(|every| {
        let jobs = tokio::spawn(service::carrier_jobs::run_forever(state.clone(), every));
        let reconcile = tokio::spawn(service::reconcile::run_forever(
            state.clone(),
            every,
            state.settings.reconcile_interval,
            holder.clone(),
        ));
        (jobs, reconcile)
    });
    // a renewed certificate is picked up without a restart
    let reload = state.settings.tls.as_ref().map(|tls| tls.watch());
    let (begun, begun_rx) = tokio::sync::oneshot::channel::<()>();
    let server = api::serve(listener, state, async move {
        shutdown.await;
        let _ = begun.send(());
    });
    tokio::pin!(server);
    let res = tokio::select! {
        res = &mut server => res,
        _ = async { if begun_rx.await.is_ok() { tokio::time::sleep(SHUTDOWN_GRACE).await } else { std::future::pending().await } } => {
            tracing::warn!("open requests did not finish within the shutdown grace period; closing them");
            Ok(())
        }
    };
    tracker.abort();
    if let Some(reload) = reload {
        reload.abort();
    }
    keys.abort();
    if let Some((task, lease)) = jobs {
        task.abort();
        // hand the lease on now rather than after it expires
        if let Err(error) = lease.release().await {
            tracing::warn!(%error, "cannot give the lifecycle lease up");
        }
    }
    if let Some((jobs, reconcile)) = carrier_jobs {
        jobs.abort();
        reconcile.abort();
    }
    Ok(res?)
}

/// Consumes the usage topic until `shutdown`, when Kafka is configured.
pub fn spawn_usage_consumer(
    state: &AppState,
    settings: Option<usage_consumer::UsageConsumerSettings>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Option<tokio::task::JoinHandle<anyhow::Result<()>>> {
    let settings = settings?;
    Some(tokio::spawn(usage_consumer::run(state.db.clone(), settings, shutdown)))
}

/// Runs the outbox relay until `shutdown`, when Kafka is configured: the hook
/// `serve` and `standalone` use. The relay waits while another one is active.
pub fn spawn_relay(
    state: &AppState,
    settings: Option<relay::RelaySettings>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Option<tokio::task::JoinHandle<anyhow::Result<()>>> {
    let settings = settings?;
    let relay = relay::Relay::new(state.db.operator.clone(), settings);
    state.metrics.watch_relay(relay.status());
    Some(tokio::spawn(relay.run(shutdown)))
}
