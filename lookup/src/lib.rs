//! didroute lookup node: answers "where does this number route" from an
//! immutable in-memory snapshot kept current by tailing change events.
//!
//! In-process use (the control plane's `standalone` command, end-to-end
//! tests):
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let config = didroute_lookup::Config::new("http://127.0.0.1:8080", "drf_…feed token…");
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let node = didroute_lookup::Node::start(&config, listener).await?;
//! node.wait_ready().await;
//! println!("lookups on http://{}", node.local_addr());
//! node.shutdown().await?;
//! # Ok(()) }
//! ```
// One module may use `unsafe`: snapshot/huge.rs (madvise, measured in
// BENCHMARKS.md); everything else is checked unsafe-free.
#![deny(unsafe_code)]

pub mod app;
pub mod config;
pub mod feed;
pub mod folder;
pub mod metrics;
pub mod server;
pub mod snapshot;
pub mod snapshot_files;
pub mod status;
pub mod usage;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

pub use app::App;
pub use config::{Config, ConfigError};
pub use feed::{EventSource, FeedError, HttpFeed, Tailer, TailerSettings};
pub use server::serve;
pub use snapshot::{Snapshot, Store};

/// Why a node could not start or stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Feed(#[from] FeedError),
    #[error("cannot read the listener address: {0}")]
    Listener(#[source] std::io::Error),
    #[error("the {task} task failed: {reason}")]
    Task { task: &'static str, reason: String },
    #[error("cannot set up usage shipping: {0}")]
    Usage(String),
}

/// A node's name in its usage batches: the host name and the listen port.
fn default_node_id(addr: SocketAddr) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()))
        .unwrap_or_else(|| "lookup".to_owned());
    format!("{host}:{}", addr.port())
}

/// A running lookup node: event tailer, folder and HTTP server.
pub struct Node {
    app: Arc<App>,
    local_addr: SocketAddr,
    stop: watch::Sender<bool>,
    tasks: JoinSet<&'static str>,
}

impl Node {
    /// Validates `config` and starts tailing the feed and serving on
    /// `listener` (bind it yourself; port 0 is fine). The node answers at
    /// once but `/readyz` says 503 until the initial catch-up is done.
    /// Must be called within a Tokio runtime.
    pub async fn start(config: &Config, listener: TcpListener) -> Result<Node, NodeError> {
        let valid = config.validate()?;
        let settings = TailerSettings {
            fold_threshold: valid.fold_threshold,
            on_divergence: valid.on_divergence,
            ..TailerSettings::default()
        };
        let local_addr = listener.local_addr().map_err(NodeError::Listener)?;
        #[cfg(feature = "kafka")]
        if let Some((brokers, topic)) = &valid.kafka {
            tracing::info!(
                listen = %local_addr,
                kafka = %brokers,
                topic = %topic,
                fold_threshold = valid.fold_threshold,
                fold_interval_ms = valid.fold_interval.as_millis() as u64,
                snapshot_file = ?valid.snapshots.as_ref().map(|f| f.path.display().to_string()),
                "lookup node starting"
            );
            let app = Arc::new(
                App::new("kafka")
                    .require_tokens(valid.lookup_tokens.clone())
                    .max_connections(valid.max_connections)
                    .count_usage(valid.usage.as_ref().map_or(0, |u| u.max_numbers)),
            );
            let usage_sink = match &valid.usage {
                Some(u) => Some(
                    usage::kafka::KafkaSink::new(brokers, &u.topic, &valid.kafka_properties)
                        .map(usage::ship::Sink::Kafka)
                        .map_err(|e| NodeError::Usage(format!("{e:#}")))?,
                ),
                None => None,
            };
            let mut kafka = feed::kafka::KafkaSettings::new(brokers, topic);
            kafka.properties = valid.kafka_properties.clone();
            kafka.track_positions = valid.snapshots.is_some();
            // from the snapshot file, at the offsets recorded with it
            kafka.start = valid.snapshots.as_ref().and_then(|f| f.load(&app)).and_then(|boot| {
                let positions = boot.positions.filter(|_| boot.source == "kafka")?;
                feed::kafka::StartAt::from_positions(boot.seq, &positions, topic)
            });
            let source = feed::kafka::KafkaFeed::new(kafka);
            let mut node = Node::start_on(
                app,
                source,
                settings,
                valid.fold_interval,
                valid.snapshots,
                valid.tls,
                listener,
                local_addr,
            );
            if let (Some(sink), Some(u)) = (usage_sink, &valid.usage) {
                node.ship_usage(sink, u.flush, u.node_id.clone().unwrap_or_else(|| default_node_id(local_addr)));
            }
            return Ok(node);
        }
        let source = HttpFeed::with_ca_file(
            &valid.feed_url,
            &valid.feed_token,
            valid.feed_page_limit,
            valid.feed_wait_ms,
            valid.ca_file.as_deref(),
        )?;
        tracing::info!(
            listen = %local_addr,
            feed = %source.events_url(),
            fold_threshold = valid.fold_threshold,
            fold_interval_ms = valid.fold_interval.as_millis() as u64,
            snapshot_file = ?valid.snapshots.as_ref().map(|f| f.path.display().to_string()),
            "lookup node starting"
        );
        let app = Arc::new(
            App::new(source.name())
                .require_tokens(valid.lookup_tokens.clone())
                .max_connections(valid.max_connections)
                .count_usage(valid.usage.as_ref().map_or(0, |u| u.max_numbers)),
        );
        let usage_sink = match &valid.usage {
            Some(_) => Some(
                usage::ship::Sink::http(&valid.feed_url, &valid.feed_token, valid.ca_file.as_deref())
                    .map_err(|e| NodeError::Usage(format!("{e:#}")))?,
            ),
            None => None,
        };
        // the feed resumes from the snapshot's position alone
        if let Some(files) = &valid.snapshots {
            files.load(&app);
        }
        let mut node = Node::start_on(
            app,
            source,
            settings,
            valid.fold_interval,
            valid.snapshots,
            valid.tls,
            listener,
            local_addr,
        );
        if let (Some(sink), Some(u)) = (usage_sink, &valid.usage) {
            node.ship_usage(sink, u.flush, u.node_id.clone().unwrap_or_else(|| default_node_id(local_addr)));
        }
        Ok(node)
    }

    /// Ships the app's usage counts to `sink` every `flush` (and once more
    /// when the node stops); nothing when the app counts no usage.
    pub fn ship_usage(&mut self, sink: usage::ship::Sink, flush: std::time::Duration, node_id: String) {
        let Some(counter) = self.app.usage().cloned() else { return };
        let (app, rx) = (Arc::clone(&self.app), self.stop.subscribe());
        self.tasks.spawn(async move {
            usage::ship::run(app, counter, sink, node_id, flush, rx).await;
            "usage shipper"
        });
    }

    /// Starts a node on any event source (tests, or a tuned Kafka source).
    pub fn start_with<S: EventSource>(
        source: S,
        settings: TailerSettings,
        fold_interval: std::time::Duration,
        listener: TcpListener,
        local_addr: SocketAddr,
    ) -> Node {
        let app = Arc::new(App::new(source.name()));
        Node::start_on(app, source, settings, fold_interval, None, None, listener, local_addr)
    }

    /// Starts a node on `app` (which may hold a snapshot loaded from a file)
    /// and any event source; with `snapshots`, keeps that file current; with
    /// `tls`, serves HTTPS.
    #[allow(clippy::too_many_arguments)]
    pub fn start_on<S: EventSource>(
        app: Arc<App>,
        source: S,
        settings: TailerSettings,
        fold_interval: std::time::Duration,
        snapshots: Option<snapshot_files::SnapshotFiles>,
        tls: Option<didroute_net::ServerTls>,
        listener: TcpListener,
        local_addr: SocketAddr,
    ) -> Node {
        let writer = snapshots.map(|files| snapshot_files::Writer::new(files, source.resume()));
        let (stop, stopping) = watch::channel(false);
        let mut tasks = JoinSet::new();
        let tailer = Tailer::new(source, Arc::clone(&app), settings);
        let rx = stopping.clone();
        tasks.spawn(async move {
            tailer.run(rx).await;
            "event tailer"
        });
        let (folder_app, rx) = (Arc::clone(&app), stopping.clone());
        tasks.spawn(async move {
            folder::run(folder_app, fold_interval, writer, rx).await;
            "folder"
        });
        let (server_app, mut rx) = (Arc::clone(&app), stopping);
        tasks.spawn(async move {
            server::serve_tls(listener, server_app, tls, async move { stopped(&mut rx).await }).await;
            "server"
        });
        Node { app, local_addr, stop, tasks }
    }

    /// The shared state: snapshot store, readiness, metrics.
    pub fn app(&self) -> &Arc<App> {
        &self.app
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Resolves once the initial catch-up has loaded a complete snapshot.
    pub async fn wait_ready(&self) {
        self.app.wait_ready().await
    }

    /// Runs until `shutdown` resolves (then stops cleanly) or a task fails.
    pub async fn run_until(mut self, shutdown: impl Future<Output = ()>) -> Result<(), NodeError> {
        tokio::select! {
            _ = shutdown => self.shutdown().await,
            Some(ended) = self.tasks.join_next() => {
                let reason = match ended {
                    Ok(task) => Err(NodeError::Task { task, reason: "stopped unexpectedly".to_owned() }),
                    Err(error) => Err(NodeError::Task { task: "node", reason: error.to_string() }),
                };
                let _ = self.shutdown().await;
                reason
            }
        }
    }

    /// Stops accepting, finishes open requests, stops tailing and folding.
    pub async fn shutdown(mut self) -> Result<(), NodeError> {
        self.stop.send_replace(true);
        let mut failure = None;
        while let Some(ended) = self.tasks.join_next().await {
            if let Err(error) = ended {
                tracing::error!(%error, "a lookup task failed while stopping");
                failure.get_or_insert(NodeError::Task { task: "node", reason: error.to_string() });
            }
        }
        tracing::info!("lookup node stopped");
        failure.map_or(Ok(()), Err)
    }
}

/// Runs a lookup node on `listener` until `shutdown` resolves: the library
/// entry the control plane's `standalone` command calls.
pub async fn run(config: Config, listener: TcpListener, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let node = Node::start(&config, listener).await?;
    node.run_until(shutdown).await?;
    Ok(())
}

/// Resolves when `stop` turns true or its sender is gone.
pub(crate) async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}
