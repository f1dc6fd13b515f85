//! The node's Prometheus metrics, in a private registry.
//!
//! Every labelled child is resolved once here, so the request path bumps a
//! plain atomic counter and never looks a label up or allocates.

use prometheus::{
    Encoder, Gauge, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

use crate::snapshot::{ApplyOutcome, FoldReport, Snapshot, SnapshotError};

/// Outcomes of one lookup (`/v1/routes`).
#[derive(Clone)]
pub struct LookupCounters {
    pub found: IntCounter,
    pub not_found: IntCounter,
    pub invalid: IntCounter,
    /// `min_seq` not reached within `wait_ms`.
    pub behind: IntCounter,
    /// Asked before the initial snapshot was loaded.
    pub not_ready: IntCounter,
}

/// Outcomes of one caller-id check.
#[derive(Clone)]
pub struct CallerIdCounters {
    pub allowed: IntCounter,
    pub denied: IntCounter,
    pub invalid: IntCounter,
    pub behind: IntCounter,
    pub not_ready: IntCounter,
}

/// Usage shipping (`usage/ship.rs`).
#[derive(Clone)]
pub struct UsageMetrics {
    /// Batches the control plane (or the broker) accepted.
    pub shipped: IntCounter,
    /// Attempts that failed and will be retried.
    pub failed: IntCounter,
    /// Batches given up: the queue was full, or the control plane refused one.
    pub dropped: IntCounter,
    /// Lookups of numbers that did not fit in the table.
    pub overflow: IntCounter,
    /// Batches waiting to be sent.
    pub pending: IntGauge,
}

pub struct Metrics {
    registry: Registry,
    pub lookups: LookupCounters,
    pub usage: UsageMetrics,
    pub caller_id: CallerIdCounters,
    pub applied_seq: IntGauge,
    pub lag_seconds: Gauge,
    pub events_applied: IntCounter,
    pub events_stale: IntCounter,
    pub events_rejected: IntCounter,
    pub feed_errors: IntCounter,
    /// Pages refused because the source diverged from what the node holds
    /// (another lineage, the same position with other content, a head behind
    /// the node).
    pub lineage_mismatch: IntCounter,
    /// Connections open now, and how often they reached
    /// `DIDROUTE_LOOKUP_MAX_CONNECTIONS` (the node then stops accepting until
    /// one ends).
    pub connections: IntGauge,
    pub connection_limit_reached: IntCounter,
    pub snapshot_builds: IntCounter,
    pub build_seconds: Histogram,
    pub overlay_entries: IntGauge,
    pub numbers: IntGauge,
    pub ready: IntGauge,
    /// Snapshot files loaded and installed.
    pub snapshot_loads: IntCounter,
    /// Snapshot files written (bootstrap files, L7), and the position of the last.
    pub snapshot_writes: IntCounter,
    pub snapshot_written_seq: IntGauge,
    /// Snapshot files refused, one counter per [`SnapshotError::REASONS`].
    snapshot_rejected: Vec<IntCounter>,
}

/// Registration of a fresh metric in a fresh registry only fails on a
/// duplicate name, which would be a bug in this file.
fn register<M: prometheus::core::Collector + Clone + 'static>(registry: &Registry, metric: M) -> M {
    registry.register(Box::new(metric.clone())).expect("metric names are unique");
    metric
}

fn counter(registry: &Registry, name: &str, help: &str) -> IntCounter {
    register(registry, IntCounter::new(name, help).expect("valid metric"))
}

fn gauge(registry: &Registry, name: &str, help: &str) -> IntGauge {
    register(registry, IntGauge::new(name, help).expect("valid metric"))
}

impl Metrics {
    pub fn new() -> Metrics {
        let r = Registry::new();
        let lookups = register(
            &r,
            IntCounterVec::new(Opts::new("didroute_lookup_requests_total", "Route lookups by outcome."), &["outcome"])
                .expect("valid metric"),
        );
        let caller_id = register(
            &r,
            IntCounterVec::new(
                Opts::new("didroute_lookup_caller_id_requests_total", "Caller-id checks by outcome."),
                &["outcome"],
            )
            .expect("valid metric"),
        );
        let build_seconds = register(
            &r,
            Histogram::with_opts(
                HistogramOpts::new(
                    "didroute_lookup_snapshot_build_seconds",
                    "Time to build a snapshot base (initial load or fold).",
                )
                .buckets(vec![0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 15.0, 60.0]),
            )
            .expect("valid metric"),
        );
        let rejected = register(
            &r,
            IntCounterVec::new(
                Opts::new(
                    "didroute_lookup_snapshot_rejected_total",
                    "Snapshot files refused (corrupt, truncated, empty, older than the one served) by reason; the previous snapshot kept serving.",
                ),
                &["reason"],
            )
            .expect("valid metric"),
        );
        Metrics {
            snapshot_loads: counter(&r, "didroute_lookup_snapshot_loads_total", "Snapshot files loaded and installed."),
            snapshot_writes: counter(
                &r,
                "didroute_lookup_snapshot_writes_total",
                "Snapshot files written for bootstrap.",
            ),
            snapshot_written_seq: gauge(
                &r,
                "didroute_lookup_snapshot_written_seq",
                "Position of the last snapshot file written.",
            ),
            snapshot_rejected: SnapshotError::REASONS
                .iter()
                .map(|reason| rejected.with_label_values(&[reason]))
                .collect(),
            lookups: LookupCounters {
                found: lookups.with_label_values(&["found"]),
                not_found: lookups.with_label_values(&["not_found"]),
                invalid: lookups.with_label_values(&["invalid"]),
                behind: lookups.with_label_values(&["behind"]),
                not_ready: lookups.with_label_values(&["not_ready"]),
            },
            caller_id: CallerIdCounters {
                allowed: caller_id.with_label_values(&["allowed"]),
                denied: caller_id.with_label_values(&["denied"]),
                invalid: caller_id.with_label_values(&["invalid"]),
                behind: caller_id.with_label_values(&["behind"]),
                not_ready: caller_id.with_label_values(&["not_ready"]),
            },
            usage: UsageMetrics {
                shipped: counter(&r, "didroute_lookup_usage_batches_shipped_total", "Usage batches delivered."),
                failed: counter(
                    &r,
                    "didroute_lookup_usage_ship_failures_total",
                    "Failed attempts to deliver a usage batch (retried with the same batch id).",
                ),
                dropped: counter(
                    &r,
                    "didroute_lookup_usage_batches_dropped_total",
                    "Usage batches given up: the retry queue was full, or the control plane refused the batch.",
                ),
                overflow: counter(
                    &r,
                    "didroute_lookup_usage_overflow_total",
                    "Successful lookups not counted per number: the window already held DIDROUTE_USAGE_MAX_NUMBERS numbers.",
                ),
                pending: gauge(&r, "didroute_lookup_usage_batches_pending", "Usage batches waiting to be delivered."),
            },
            applied_seq: gauge(&r, "didroute_lookup_applied_seq", "Feed position of the snapshot being served."),
            lag_seconds: register(
                &r,
                Gauge::new(
                    "didroute_lookup_lag_seconds",
                    "Seconds since the node last confirmed it was caught up with the feed (0 when it is).",
                )
                .expect("valid metric"),
            ),
            events_applied: counter(&r, "didroute_lookup_events_applied_total", "Change events that changed a number."),
            events_stale: counter(
                &r,
                "didroute_lookup_events_stale_total",
                "Change events ignored as not newer than the version held (duplicates, replays).",
            ),
            events_rejected: counter(&r, "didroute_lookup_events_rejected_total", "Change events rejected as invalid."),
            feed_errors: counter(&r, "didroute_lookup_feed_errors_total", "Failed requests to the event source."),
            lineage_mismatch: counter(
                &r,
                "didroute_lookup_lineage_mismatch_total",
                "Pages refused because the event source diverged from the history this node holds.",
            ),
            connections: gauge(&r, "didroute_lookup_connections", "Connections open now."),
            connection_limit_reached: counter(
                &r,
                "didroute_lookup_connection_limit_reached_total",
                "Times the open connections reached the limit (accepting pauses until one ends).",
            ),
            snapshot_builds: counter(
                &r,
                "didroute_lookup_snapshot_builds_total",
                "Snapshot bases built (initial load and folds).",
            ),
            build_seconds,
            overlay_entries: gauge(&r, "didroute_lookup_overlay_entries", "Changes not yet folded into the base."),
            numbers: gauge(&r, "didroute_lookup_numbers", "Routable numbers in the snapshot."),
            ready: gauge(&r, "didroute_lookup_ready", "1 once a complete snapshot is loaded and caught up."),
            registry: r,
        }
    }

    /// Records a batch applied and the snapshot it produced.
    pub fn record_apply(&self, outcome: &ApplyOutcome, snapshot: &Snapshot) {
        self.events_applied.inc_by(outcome.applied as u64);
        self.events_stale.inc_by(outcome.stale as u64);
        self.events_rejected.inc_by(outcome.rejected as u64);
        self.record_snapshot(snapshot);
    }

    pub fn record_fold(&self, report: &FoldReport, snapshot: &Snapshot) {
        self.snapshot_builds.inc();
        self.build_seconds.observe(report.duration.as_secs_f64());
        self.record_snapshot(snapshot);
    }

    /// Counts a refused snapshot file under its reason.
    pub fn record_rejected(&self, error: &SnapshotError) {
        if let Some(i) = SnapshotError::REASONS.iter().position(|r| *r == error.reason()) {
            self.snapshot_rejected[i].inc();
        }
    }

    pub fn record_snapshot(&self, snapshot: &Snapshot) {
        self.applied_seq.set(i64::try_from(snapshot.seq()).unwrap_or(i64::MAX));
        self.overlay_entries.set(snapshot.overlay_len() as i64);
        self.numbers.set(i64::try_from(snapshot.numbers()).unwrap_or(i64::MAX));
    }

    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4096);
        // Encoding into a Vec only fails on malformed metric families, which
        // the registry never produces.
        if let Err(error) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::error!(%error, "cannot encode metrics");
        }
        out
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}
