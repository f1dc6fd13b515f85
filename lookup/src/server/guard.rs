//! The slow-client guard: a connection that neither completes a request nor
//! has one in flight for [`IDLE_LIMIT`] is closed.
//!
//! hyper's own `header_read_timeout` does the same job with a timer armed,
//! polled and cancelled around every request head (a clock read, a boxed
//! sleep, two trips through the timer wheel): measurable on a path that
//! answers in a few microseconds. Here the request path only bumps a
//! counter, and each connection looks at it once a [`TICK`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::{interval_at, Instant, MissedTickBehavior};

/// How long a connection may sit without a request: a client that opens a
/// connection and trickles its head (or sends nothing) is dropped after
/// this, as is a keep-alive connection left idle.
pub const IDLE_LIMIT: Duration = Duration::from_secs(10);
/// How often a connection's guard looks; the limit is enforced to within it.
pub const TICK: Duration = Duration::from_secs(1);

/// One connection's request counts, written by its service and read by its
/// guard. Requests on one HTTP/1 connection run one at a time, so each count
/// has one writer and the two differ by at most one.
#[derive(Debug, Default)]
pub struct Activity {
    /// Requests whose head hyper parsed and handed to the service.
    started: AtomicU64,
    /// Requests the service answered.
    finished: AtomicU64,
}

impl Activity {
    /// A request's head has arrived. (One writer: a plain load and store,
    /// no locked instruction on the request path.)
    pub fn begin(&self) {
        self.started.store(self.started.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    }

    /// The request has its answer. A request whose future is dropped
    /// unanswered never ends, but that only happens with its connection,
    /// and the guard goes with it.
    pub fn end(&self) {
        self.finished.store(self.finished.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    }
}

/// Resolves once the connection has had no request in flight and started
/// none for `limit` (sampled every `tick`). A request that takes longer than
/// `limit` (a `min_seq` wait) is never cut short.
pub async fn idle(activity: &Activity, limit: Duration, tick: Duration) {
    let mut ticks = interval_at(Instant::now() + tick, tick);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut seen = activity.started.load(Ordering::Relaxed);
    let mut quiet = Duration::ZERO;
    loop {
        ticks.tick().await;
        let started = activity.started.load(Ordering::Relaxed);
        let busy = started != activity.finished.load(Ordering::Relaxed);
        if started != seen || busy {
            seen = started;
            quiet = Duration::ZERO;
            continue;
        }
        quiet += tick;
        if quiet >= limit {
            return;
        }
    }
}
