//! The state one lookup node shares between its server, its event tailer and
//! its folder.

use std::path::Path;

use tokio::sync::Notify;

use crate::metrics::Metrics;
use crate::snapshot::{Snapshot, SnapshotError, Store};
use crate::status::FeedStatus;

/// Connections a node serves at once unless told otherwise
/// (`DIDROUTE_LOOKUP_MAX_CONNECTIONS`): far more than a load balancer or a
/// prewarmer pool opens, few enough that the connections served keep a
/// bounded latency when more arrive (BENCHMARKS.md, O2).
pub const DEFAULT_MAX_CONNECTIONS: usize = 1_024;

#[derive(Debug)]
pub struct App {
    store: Store,
    status: FeedStatus,
    metrics: Metrics,
    /// Name of the event source (`"feed"`), as `/v1/snapshot` reports it.
    source: &'static str,
    /// Wakes the folder early when the overlay passes its threshold.
    fold_wanted: Notify,
    /// Bearer tokens `/v1/*` requires (`DIDROUTE_LOOKUP_TOKENS`), for
    /// networks where who owns a number must not be open; None: open.
    readers: Option<Vec<String>>,
    /// The lineage of the history the snapshot holds (recorded beside a
    /// snapshot file, reported by `/v1/snapshot`); None until one is seen.
    lineage: std::sync::Mutex<Option<uuid::Uuid>>,
    /// Connections served at once; more wait to be accepted.
    max_connections: usize,
    /// Successful lookups per number, when the node ships usage.
    usage: Option<std::sync::Arc<crate::usage::UsageCounter>>,
}

impl App {
    pub fn new(source: &'static str) -> App {
        App::with_snapshot(source, Snapshot::empty())
    }

    pub fn with_snapshot(source: &'static str, snapshot: Snapshot) -> App {
        App {
            store: Store::new(snapshot),
            status: FeedStatus::new(),
            metrics: Metrics::new(),
            source,
            fold_wanted: Notify::new(),
            readers: None,
            lineage: std::sync::Mutex::new(None),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            usage: None,
        }
    }

    /// This app, counting successful lookups per number (at most
    /// `max_numbers` distinct ones between flushes; 0: not counting).
    pub fn count_usage(mut self, max_numbers: usize) -> App {
        self.usage = (max_numbers > 0).then(|| std::sync::Arc::new(crate::usage::UsageCounter::new(max_numbers)));
        self
    }

    /// The usage counter, when this node counts.
    pub fn usage(&self) -> Option<&std::sync::Arc<crate::usage::UsageCounter>> {
        self.usage.as_ref()
    }

    /// This app, serving at most `n` connections at once.
    pub fn max_connections(mut self, n: usize) -> App {
        self.max_connections = n.max(1);
        self
    }

    pub fn connection_limit(&self) -> usize {
        self.max_connections
    }

    pub fn lineage(&self) -> Option<uuid::Uuid> {
        *self.lineage.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn set_lineage(&self, lineage: Option<uuid::Uuid>) {
        *self.lineage.lock().unwrap_or_else(|e| e.into_inner()) = lineage;
    }

    /// This app, answering `/v1/*` only to a request bearing one of `tokens`
    /// (none given: open to all).
    pub fn require_tokens(mut self, tokens: Vec<String>) -> App {
        self.readers = (!tokens.is_empty()).then_some(tokens);
        self
    }

    /// Whether a request with these headers may read `/v1/*`. Every
    /// configured token is compared in constant time (`subtle`), so timing
    /// tells neither a prefix nor which one matched; with none configured
    /// the headers are not looked at (the lookup path pays nothing).
    pub fn may_read(&self, headers: &hyper::HeaderMap) -> bool {
        use subtle::ConstantTimeEq;
        let Some(tokens) = &self.readers else { return true };
        let presented = headers
            .get(hyper::header::AUTHORIZATION)
            .and_then(|h| h.as_bytes().strip_prefix(b"Bearer ").or_else(|| h.as_bytes().strip_prefix(b"bearer ")))
            .unwrap_or_default();
        !presented.is_empty() && tokens.iter().fold(false, |hit, t| hit | bool::from(presented.ct_eq(t.as_bytes())))
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn status(&self) -> &FeedStatus {
        &self.status
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub fn source(&self) -> &'static str {
        self.source
    }

    /// Whether a complete, caught-up snapshot has been loaded.
    pub fn is_ready(&self) -> bool {
        self.status.is_ready()
    }

    /// Resolves once the node is ready (at once if it already is).
    pub async fn wait_ready(&self) {
        let mut ready = self.status.subscribe_ready();
        // The sender lives in `self`, so this only ends when ready.
        let _ = ready.wait_for(|r| *r).await;
    }

    /// Loads the snapshot file at `path`, verifies it and swaps it in;
    /// returns its position. A file that is empty, truncated, corrupt, of
    /// another format or older than what is served is refused, counted in
    /// `didroute_lookup_snapshot_rejected_total{reason}`, and the current
    /// snapshot keeps serving.
    pub fn load_snapshot_file(&self, path: &Path) -> Result<u64, SnapshotError> {
        let loaded = Snapshot::read_file(path).and_then(|snapshot| {
            let seq = snapshot.seq();
            self.store.install(snapshot).map(|()| seq)
        });
        match &loaded {
            Ok(seq) => {
                self.metrics.snapshot_loads.inc();
                self.metrics.record_snapshot(&self.store.load());
                tracing::info!(path = %path.display(), seq, "loaded a snapshot file");
            }
            Err(error) => {
                self.metrics.record_rejected(error);
                tracing::warn!(path = %path.display(), %error, "refused a snapshot file; the current snapshot keeps serving");
            }
        }
        loaded
    }

    pub(crate) fn fold_wanted(&self) -> &Notify {
        &self.fold_wanted
    }
}
