//! The state one lookup node shares between its server, its event tailer and
//! its folder.

use tokio::sync::Notify;

use crate::metrics::Metrics;
use crate::snapshot::{Snapshot, Store};
use crate::status::FeedStatus;

#[derive(Debug)]
pub struct App {
    store: Store,
    status: FeedStatus,
    metrics: Metrics,
    /// Name of the event source (`"feed"`), as `/v1/snapshot` reports it.
    source: &'static str,
    /// Wakes the folder early when the overlay passes its threshold.
    fold_wanted: Notify,
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
        }
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

    pub(crate) fn fold_wanted(&self) -> &Notify {
        &self.fold_wanted
    }
}
