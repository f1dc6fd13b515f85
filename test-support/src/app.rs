//! `spawn_app()`: a control plane on port 0 over its own fresh database.

use std::time::Duration;

use didroute_control_plane::config::{DbArgs, Settings};
use didroute_control_plane::db::Db;
use didroute_control_plane::AppState;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::database::{db_args, fresh_database};

pub const OPERATOR_TOKEN: &str = "test-operator-token-0123456789";

/// The settings [`spawn_app`] runs with: no lifecycle job unless a test asks.
pub fn settings() -> Settings {
    Settings {
        operator_token: OPERATOR_TOKEN.to_owned(),
        more_operator_tokens: Vec::new(),
        cooldown: Duration::from_secs(300),
        reclaim_window: Duration::from_secs(10 * 24 * 3600),
        lifecycle_interval: None,
        tls: None,
        request_timeout: Duration::from_secs(10),
        max_in_flight: 1024,
        carriers: Vec::new(),
        carrier_job_interval: Some(Duration::from_millis(100)),
        reconcile_interval: None,
    }
}

/// A running control plane, stopped when dropped.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`
    pub base: String,
    pub state: AppState,
    pub http: reqwest::Client,
    /// The owner (superuser) URL of the app's own database.
    pub owner_url: String,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(settings()).await
}

pub async fn spawn_app_with(settings: Settings) -> TestApp {
    serve_on(fresh_database().await, settings).await
}

/// [`spawn_app_with`] on pools of `pool_size` connections that callers wait
/// for at most `acquire_timeout_ms` (overload tests).
pub async fn spawn_app_with_pools(settings: Settings, pool_size: u32, acquire_timeout_ms: u64) -> TestApp {
    let args = DbArgs { db_acquire_timeout_ms: acquire_timeout_ms, ..db_args(pool_size) };
    serve_with(fresh_database().await, settings, args).await
}

impl TestApp {
    /// Another control-plane instance on this app's database, as a second
    /// replica behind a load balancer would run (its own pools and caches).
    pub async fn another_instance(&self) -> TestApp {
        serve_on(self.owner_url.clone(), settings()).await
    }

    /// [`TestApp::another_instance`] with `settings` (carriers, jobs).
    pub async fn another_instance_with(&self, settings: Settings) -> TestApp {
        serve_on(self.owner_url.clone(), settings).await
    }
}

async fn serve_on(owner_url: String, settings: Settings) -> TestApp {
    serve_with(owner_url, settings, db_args(8)).await
}

async fn serve_with(owner_url: String, settings: Settings, args: DbArgs) -> TestApp {
    let db = Db::connect(&args, &owner_url).await.expect("connect pools");
    let state = AppState::new(db, settings);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let scheme = if state.settings.tls.is_some() { "https" } else { "http" };
    let base = format!("{scheme}://{}", listener.local_addr().unwrap());
    let (stop, rx) = oneshot::channel::<()>();
    tokio::spawn(didroute_control_plane::run(listener, state.clone(), async {
        let _ = rx.await;
    }));
    TestApp { base, state, http: reqwest::Client::new(), owner_url, stop: Some(stop) }
}
