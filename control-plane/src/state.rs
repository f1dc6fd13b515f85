//! What every handler shares.

use std::sync::Arc;

use tokio::sync::watch;

use crate::auth::{KeyCache, KEY_CACHE_TTL};
use crate::config::Settings;
use crate::db::Db;
use crate::metrics::Metrics;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub settings: Arc<Settings>,
    /// Highest sequenced outbox position. Writers and the outbox listener
    /// push it, so long-polling feed readers wake without polling the database.
    pub head: Arc<watch::Sender<u64>>,
    pub metrics: Arc<Metrics>,
    /// The carriers' adapters (`Settings::carriers`), one per configured
    /// carrier for the life of the process (each keeps its breaker).
    pub carriers: Arc<Vec<Arc<dyn crate::carriers::Carrier>>>,
    /// Permits for requests in flight (`Settings::max_in_flight`).
    pub in_flight: Arc<tokio::sync::Semaphore>,
    /// Tenant keys recently found valid (see [`KeyCache`]).
    pub keys: Arc<KeyCache>,
    /// The console's sessions and its usage source.
    pub console: Arc<crate::console::Console>,
}

impl AppState {
    pub fn new(db: Db, settings: Settings) -> Self {
        let metrics = Arc::new(Metrics::new());
        let observer: Arc<dyn crate::carriers::resilience::CallObserver> = metrics.clone();
        AppState {
            db,
            in_flight: Arc::new(tokio::sync::Semaphore::new(settings.max_in_flight)),
            carriers: Arc::new(
                crate::carriers::connect_all_observed(&settings.carriers, Some(observer)).unwrap_or_else(|error| {
                    tracing::error!(%error, "a carrier adapter could not be built; no carrier is served");
                    Vec::new()
                }),
            ),
            settings: Arc::new(settings),
            head: Arc::new(watch::channel(0).0),
            metrics,
            keys: Arc::new(KeyCache::new(KEY_CACHE_TTL)),
            console: Arc::new(crate::console::Console::default()),
        }
    }

    /// Records a position a writer just sequenced.
    pub fn advance_head(&self, seq: u64) {
        self.head.send_if_modified(|h| {
            let newer = seq > *h;
            if newer {
                *h = seq;
            }
            newer
        });
    }
}
