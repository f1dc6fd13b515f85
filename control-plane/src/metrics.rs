//! The control plane's Prometheus metrics, in a private registry, served at
//! `/metrics`.
//!
//! Request and claim counters are bumped as things happen; the outbox and
//! relay gauges are read when Prometheus scrapes, so a scrape always shows
//! the database as it is, not as the last writer left it.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use prometheus::{
    Encoder, Gauge, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};
use sqlx::PgPool;
use tokio::sync::watch;

use crate::error::ApiError;
use crate::outbox::relay::RelayStatus;

/// Request latency buckets: a control-plane call is milliseconds (one
/// transaction with a durable commit), an import of a million numbers seconds.
const LATENCY_BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// Families only a process running the Kafka relay reports.
const RELAY_FAMILIES: &[&str] = &["didroute_outbox_unpublished", "didroute_relay_"];

/// How long a scrape waits for the outbox backlog query.
const SCRAPE_DB_TIMEOUT: Duration = Duration::from_secs(2);

pub struct Metrics {
    registry: Registry,
    /// Requests by method, route template (`/v1/numbers/{number}`, so the
    /// label set stays small) and status code.
    http_requests: IntCounterVec,
    http_seconds: HistogramVec,
    /// Allocations and reservations by outcome: `allocated`, `reserved`,
    /// `replayed` (a repeated Idempotency-Key) or the problem slug that
    /// refused them (`number-taken`, `pool-exhausted`, ...).
    claims: IntCounterVec,
    /// Numbers taken by successful claims, by action.
    claimed_numbers: IntCounterVec,
    /// Lifecycle job runs (`ok` or `error`) and the numbers each job moved.
    lifecycle_runs: IntCounterVec,
    lifecycle_moved: IntCounterVec,
    /// 1 while this instance holds a job's cluster-wide lease (`crate::lease`):
    /// summed over instances it is 1 per job, or 0 while a dead holder's lease
    /// runs out.
    lease_held: IntGaugeVec,
    outbox_head: IntGauge,
    /// Committed outbox rows not yet given a position: normally zero between
    /// scrapes; growth means the sequencer is stuck.
    outbox_unsequenced: IntGauge,
    outbox_unsequenced_age: Gauge,
    /// Sequenced rows the Kafka relay has not published yet, and the age of
    /// the oldest (only where this process runs the relay).
    outbox_unpublished: IntGauge,
    outbox_unpublished_age: Gauge,
    relay_active: IntGauge,
    relay_published_through: IntGauge,
    relay_published: IntCounter,
    relay_delivery_failures: IntCounter,
    /// 1 when the last scrape could read the database.
    database_up: IntGauge,
    /// Numbers each carrier bills for that the inventory does not hold, as
    /// the last reconciliation found.
    carrier_orphans: IntGaugeVec,
    /// Carrier calls (each attempt) by carrier and outcome, and their time.
    carrier_requests: IntCounterVec,
    carrier_seconds: HistogramVec,
    /// 0 closed, 1 half-open, 2 open.
    carrier_breaker: IntGaugeVec,
    /// Queued carrier jobs, the age of the oldest, and jobs given up, by carrier.
    carrier_jobs_queued: IntGaugeVec,
    carrier_jobs_age: prometheus::GaugeVec,
    carrier_jobs_dead: IntGaugeVec,
    /// What those orphans cost a month, by carrier and currency.
    carrier_orphans_cost: prometheus::GaugeVec,
    /// Numbers reconciliation found gone at a carrier (disabled, routes
    /// withdrawn) and pending numbers it found active, by carrier.
    reconciled_numbers: IntCounterVec,
    /// Tracking sessions by event: `started` (a number leased), `resumed`
    /// (a start for a visitor with a live session), `renewed`, `ended`,
    /// `expired` (the lifecycle job).
    tracking_sessions: IntCounterVec,
    /// Starts an exhausted pool answered with its fallback number, by pool.
    tracking_exhausted: IntCounterVec,
    /// The relay running in this process, if any.
    relay: OnceLock<watch::Receiver<RelayStatus>>,
}

/// Registration of a fresh metric in a fresh registry only fails on a
/// duplicate name, which would be a bug in this file.
fn register<M: prometheus::core::Collector + Clone + 'static>(registry: &Registry, metric: M) -> M {
    registry.register(Box::new(metric.clone())).expect("metric names are unique");
    metric
}

fn counter_vec(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    register(r, IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric"))
}

fn int_gauge_vec(r: &Registry, name: &str, help: &str) -> IntGaugeVec {
    register(r, IntGaugeVec::new(Opts::new(name, help), &["carrier"]).expect("valid metric"))
}

fn int_gauge(r: &Registry, name: &str, help: &str) -> IntGauge {
    register(r, IntGauge::new(name, help).expect("valid metric"))
}

fn gauge(r: &Registry, name: &str, help: &str) -> Gauge {
    register(r, Gauge::new(name, help).expect("valid metric"))
}

fn counter(r: &Registry, name: &str, help: &str) -> IntCounter {
    register(r, IntCounter::new(name, help).expect("valid metric"))
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl crate::carriers::resilience::CallObserver for Metrics {
    fn observe(&self, carrier: &str, outcome: &'static str, elapsed: Duration) {
        self.carrier_requests.with_label_values(&[carrier, outcome]).inc();
        self.carrier_seconds.with_label_values(&[carrier]).observe(elapsed.as_secs_f64());
    }
}

impl Metrics {
    /// Breakers and job backlogs of `carriers`, read at scrape time.
    pub async fn observe_carriers(&self, carriers: &[Arc<dyn crate::carriers::Carrier>], operator: &PgPool) {
        for c in carriers {
            let state = match c.health().breaker {
                crate::carriers::BreakerState::Closed => 0,
                crate::carriers::BreakerState::HalfOpen => 1,
                crate::carriers::BreakerState::Open => 2,
            };
            self.carrier_breaker.with_label_values(&[c.name()]).set(state);
            self.carrier_jobs_queued.with_label_values(&[c.name()]).set(0);
            self.carrier_jobs_age.with_label_values(&[c.name()]).set(0.0);
            self.carrier_jobs_dead.with_label_values(&[c.name()]).set(0);
        }
        if carriers.is_empty() {
            return;
        }
        // bounded like the other scrape reads: a slow database never hangs a scrape
        let rows = tokio::time::timeout(
            SCRAPE_DB_TIMEOUT,
            sqlx::query_as::<_, (String, i64, f64, i64)>(
                "SELECT carrier, count(*) FILTER (WHERE state = 'queued'),
                    coalesce(extract(epoch FROM now() - min(created_at) FILTER (WHERE state = 'queued')), 0)::float8,
                    count(*) FILTER (WHERE state = 'dead')
             FROM carrier_jobs WHERE state <> 'done' GROUP BY carrier",
            )
            .fetch_all(operator),
        )
        .await;
        for (carrier, queued, age, dead) in rows.ok().and_then(Result::ok).unwrap_or_default() {
            if carriers.iter().any(|c| c.name() == carrier) {
                self.carrier_jobs_queued.with_label_values(&[&carrier]).set(queued);
                self.carrier_jobs_age.with_label_values(&[&carrier]).set(age);
                self.carrier_jobs_dead.with_label_values(&[&carrier]).set(dead);
            }
        }
    }

    /// What one reconciliation of one carrier found and did.
    pub fn reconciled(&self, r: &didroute_shared::wire::CarrierReconciliation) {
        if r.error.is_some() {
            return;
        }
        self.carrier_orphans.with_label_values(&[&r.carrier]).set(r.orphans as i64);
        for c in &r.orphans_monthly_cost {
            let amount = c.monthly_cost.parse::<f64>().unwrap_or(0.0);
            self.carrier_orphans_cost.with_label_values(&[&r.carrier, &c.currency]).set(amount);
        }
        self.reconciled_numbers.with_label_values(&[&r.carrier, "gone"]).inc_by(r.gone);
        self.reconciled_numbers.with_label_values(&[&r.carrier, "activated"]).inc_by(r.activated);
    }

    pub fn new() -> Metrics {
        let r = Registry::new();
        let http_seconds = register(
            &r,
            HistogramVec::new(
                HistogramOpts::new("didroute_http_request_duration_seconds", "Time to answer a request, by route.")
                    .buckets(LATENCY_BUCKETS.to_vec()),
                &["method", "route"],
            )
            .expect("valid metric"),
        );
        Metrics {
            http_requests: counter_vec(
                &r,
                "didroute_http_requests_total",
                "Requests answered, by method, route and status.",
                &["method", "route", "status"],
            ),
            http_seconds,
            claims: counter_vec(
                &r,
                "didroute_claims_total",
                "Allocation and reservation requests, by action and outcome.",
                &["action", "outcome"],
            ),
            claimed_numbers: counter_vec(
                &r,
                "didroute_claimed_numbers_total",
                "Numbers allocated or reserved, by action.",
                &["action"],
            ),
            lifecycle_runs: counter_vec(
                &r,
                "didroute_lifecycle_runs_total",
                "Lifecycle job runs, by outcome.",
                &["outcome"],
            ),
            lifecycle_moved: counter_vec(
                &r,
                "didroute_lifecycle_moved_total",
                "Numbers the lifecycle jobs moved, by job.",
                &["job"],
            ),
            lease_held: register(
                &r,
                IntGaugeVec::new(
                    Opts::new("didroute_job_lease_held", "1 while this instance holds the job's lease, by job."),
                    &["job"],
                )
                .expect("valid metric"),
            ),
            outbox_head: int_gauge(&r, "didroute_outbox_head_seq", "Highest sequenced outbox position."),
            outbox_unsequenced: int_gauge(
                &r,
                "didroute_outbox_unsequenced",
                "Committed outbox rows not yet given a position.",
            ),
            outbox_unsequenced_age: gauge(
                &r,
                "didroute_outbox_unsequenced_oldest_age_seconds",
                "Age of the oldest committed outbox row without a position (0 when none).",
            ),
            outbox_unpublished: int_gauge(
                &r,
                "didroute_outbox_unpublished",
                "Sequenced outbox rows not yet published to Kafka (where this process runs the relay).",
            ),
            outbox_unpublished_age: gauge(
                &r,
                "didroute_outbox_unpublished_oldest_age_seconds",
                "Age of the oldest outbox row not yet published to Kafka (0 when none).",
            ),
            relay_active: int_gauge(&r, "didroute_relay_active", "1 while this process's outbox relay holds the lock."),
            relay_published_through: int_gauge(
                &r,
                "didroute_relay_published_through_seq",
                "Highest position this process's relay published.",
            ),
            relay_published: counter(
                &r,
                "didroute_relay_published_total",
                "Outbox rows this process's relay published.",
            ),
            relay_delivery_failures: counter(
                &r,
                "didroute_relay_delivery_failures_total",
                "Failed deliveries to Kafka (each resent from the failed row).",
            ),
            database_up: int_gauge(&r, "didroute_database_up", "1 when the last scrape could read the database."),
            carrier_orphans: register(
                &r,
                IntGaugeVec::new(
                    Opts::new(
                        "didroute_carrier_orphans",
                        "Numbers a carrier bills for that the inventory does not hold (last reconciliation).",
                    ),
                    &["carrier"],
                )
                .expect("valid metric"),
            ),
            carrier_requests: counter_vec(
                &r,
                "didroute_carrier_requests_total",
                "Carrier API attempts, by carrier and outcome (ok or the error kind).",
                &["carrier", "outcome"],
            ),
            carrier_seconds: register(
                &r,
                HistogramVec::new(
                    HistogramOpts::new("didroute_carrier_request_duration_seconds", "Time of one carrier API attempt.")
                        .buckets(LATENCY_BUCKETS.to_vec()),
                    &["carrier"],
                )
                .expect("valid metric"),
            ),
            carrier_breaker: int_gauge_vec(
                &r,
                "didroute_carrier_breaker_state",
                "A carrier's circuit breaker: 0 closed, 1 half-open, 2 open.",
            ),
            carrier_jobs_queued: int_gauge_vec(
                &r,
                "didroute_carrier_jobs_queued",
                "Carrier jobs (orders, disconnects) not yet done, by carrier.",
            ),
            carrier_jobs_age: register(
                &r,
                prometheus::GaugeVec::new(
                    Opts::new(
                        "didroute_carrier_jobs_oldest_age_seconds",
                        "Age of the oldest carrier job not yet done (0 when none), by carrier.",
                    ),
                    &["carrier"],
                )
                .expect("valid metric"),
            ),
            carrier_jobs_dead: int_gauge_vec(
                &r,
                "didroute_carrier_jobs_dead",
                "Carrier jobs given up (the carrier refused them), by carrier.",
            ),
            carrier_orphans_cost: register(
                &r,
                prometheus::GaugeVec::new(
                    Opts::new(
                        "didroute_carrier_monthly_cost_orphaned",
                        "Monthly cost of the numbers a carrier bills for that the inventory does not hold.",
                    ),
                    &["carrier", "currency"],
                )
                .expect("valid metric"),
            ),
            reconciled_numbers: counter_vec(
                &r,
                "didroute_reconciled_numbers_total",
                "Numbers reconciliation changed, by carrier and outcome (gone, activated).",
                &["carrier", "outcome"],
            ),
            tracking_sessions: counter_vec(
                &r,
                "didroute_tracking_sessions_total",
                "Tracking sessions, by event (started, resumed, renewed, ended, expired).",
                &["event"],
            ),
            tracking_exhausted: counter_vec(
                &r,
                "didroute_tracking_pool_exhausted_total",
                "Session starts an exhausted tracking pool answered with its fallback number, by pool.",
                &["pool_id"],
            ),
            relay: OnceLock::new(),
            registry: r,
        }
    }

    /// Counts one answered request.
    pub fn request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        self.http_requests.with_label_values(&[method, route, status_label(status)]).inc();
        self.http_seconds.with_label_values(&[method, route]).observe(elapsed.as_secs_f64());
    }

    /// Counts one claim: `taken` numbers, `replayed` for a repeated key.
    pub fn claim(&self, action: &'static str, result: Result<(usize, bool), &ApiError>) {
        let outcome = match result {
            Ok((_, true)) => "replayed",
            Ok((_, false)) if action == "allocate" => "allocated",
            Ok((_, false)) => "reserved",
            Err(e) => e.slug(),
        };
        self.claims.with_label_values(&[action, outcome]).inc();
        if let Ok((taken, false)) = result {
            self.claimed_numbers.with_label_values(&[action]).inc_by(taken as u64);
        }
    }

    /// Counts one run of the lifecycle jobs.
    pub fn lifecycle_run(&self, moved: Result<&[(&'static str, u64)], ()>) {
        match moved {
            Ok(jobs) => {
                self.lifecycle_runs.with_label_values(&["ok"]).inc();
                for (job, n) in jobs {
                    self.lifecycle_moved.with_label_values(&[job]).inc_by(*n);
                }
            }
            Err(()) => self.lifecycle_runs.with_label_values(&["error"]).inc(),
        }
    }

    /// Counts one session start of `pool` as it was answered.
    pub fn tracking_started(&self, pool: uuid::Uuid, started: crate::service::tracking::Started) {
        use crate::service::tracking::Started;
        match started {
            Started::Leased => self.tracking_sessions.with_label_values(&["started"]).inc(),
            Started::Resumed => self.tracking_sessions.with_label_values(&["resumed"]).inc(),
            Started::Fallback => self.tracking_exhausted.with_label_values(&[&pool.to_string()]).inc(),
        }
    }

    /// Counts one renewed session.
    pub fn tracking_renewed(&self) {
        self.tracking_sessions.with_label_values(&["renewed"]).inc();
    }

    /// Counts `n` sessions ended (`ended` by their tenant, `expired`).
    pub fn tracking_ended(&self, how: &'static str, n: u64) {
        self.tracking_sessions.with_label_values(&[how]).inc_by(n);
    }

    /// Whether this instance holds `job`'s lease.
    pub fn lease_held(&self, job: &str, held: bool) {
        self.lease_held.with_label_values(&[job]).set(held as i64);
    }

    /// Reports the relay running in this process (the first one given).
    pub fn watch_relay(&self, status: watch::Receiver<RelayStatus>) {
        let _ = self.relay.set(status);
    }

    /// The text exposition, after reading the scrape-time gauges.
    pub async fn render(&self, head: u64, operator: &PgPool) -> Vec<u8> {
        self.outbox_head.set(head as i64);
        let relay = self.relay.get().map(|r| r.borrow().clone());
        // a scrape must answer even when the database does not
        match tokio::time::timeout(SCRAPE_DB_TIMEOUT, self.read_outbox(operator, relay.is_some())).await {
            Ok(Ok(())) => self.database_up.set(1),
            Ok(Err(error)) => {
                tracing::warn!(%error, "metrics: cannot read the outbox backlog");
                self.database_up.set(0);
            }
            Err(_) => {
                tracing::warn!(
                    timeout_ms = SCRAPE_DB_TIMEOUT.as_millis() as u64,
                    "metrics: outbox backlog query timed out"
                );
                self.database_up.set(0);
            }
        }
        let with_relay = relay.is_some();
        if let Some(status) = relay {
            self.relay_active.set(status.active as i64);
            self.relay_published_through.set(status.published_through as i64);
            catch_up(&self.relay_published, status.published);
            catch_up(&self.relay_delivery_failures, status.delivery_failures);
        }
        let mut families = self.registry.gather();
        // a process without a relay has no publish backlog to report (zeros
        // would read as "all published")
        families.retain(|f| with_relay || !RELAY_FAMILIES.iter().any(|p| f.name().starts_with(p)));
        let mut out = Vec::with_capacity(8 * 1024);
        if let Err(error) = TextEncoder::new().encode(&families, &mut out) {
            tracing::error!(%error, "cannot encode metrics");
        }
        out
    }

    async fn read_outbox(&self, operator: &PgPool, relay: bool) -> Result<(), sqlx::Error> {
        // both predicates match partial indexes (outbox_unsequenced,
        // outbox_unpublished), so a scrape reads only the backlog itself
        let (unsequenced, age): (i64, f64) = sqlx::query_as(
            "SELECT count(*), coalesce(extract(epoch FROM now() - min(at))::float8, 0)
             FROM outbox WHERE seq IS NULL",
        )
        .fetch_one(operator)
        .await?;
        self.outbox_unsequenced.set(unsequenced);
        self.outbox_unsequenced_age.set(age.max(0.0));
        if relay {
            let (unpublished, age): (i64, f64) = sqlx::query_as(
                "SELECT count(*), coalesce(extract(epoch FROM now() - min(at))::float8, 0)
                 FROM outbox WHERE published_at IS NULL AND seq IS NOT NULL",
            )
            .fetch_one(operator)
            .await?;
            self.outbox_unpublished.set(unpublished);
            self.outbox_unpublished_age.set(age.max(0.0));
        }
        Ok(())
    }
}

/// Moves a counter up to a total kept elsewhere (the relay's status).
fn catch_up(counter: &IntCounter, total: u64) {
    let have = counter.get();
    if total > have {
        counter.inc_by(total - have);
    }
}

/// Status codes as static labels (no allocation per request).
fn status_label(status: u16) -> &'static str {
    match status {
        200 => "200",
        201 => "201",
        204 => "204",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        405 => "405",
        409 => "409",
        413 => "413",
        415 => "415",
        422 => "422",
        500 => "500",
        503 => "503",
        s if s < 300 => "2xx",
        s if s < 400 => "3xx",
        s if s < 500 => "4xx",
        _ => "5xx",
    }
}
