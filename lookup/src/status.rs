//! Readiness and lag: what `/readyz`, `/v1/snapshot` and the lag gauge say
//! about how current the node is.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::watch;

/// `last_caught_up_ms` before the node has ever been caught up.
const NEVER: u64 = u64::MAX;

#[derive(Debug)]
pub struct FeedStatus {
    started: Instant,
    /// Set once, when the initial catch-up has loaded a complete snapshot.
    /// Read on every lookup, so a plain atomic, not the watch's lock.
    ready_flag: AtomicBool,
    /// The same, for tasks that wait for readiness.
    ready: watch::Sender<bool>,
    /// Whether the last answer from the event source showed nothing newer.
    caught_up: AtomicBool,
    /// Milliseconds after `started` when the node was last caught up.
    last_caught_up_ms: AtomicU64,
    /// Why the node stopped applying events: its source diverged from the
    /// history it holds. `/readyz` answers 503 with it, while lookups go on
    /// from the last good snapshot.
    diverged: std::sync::Mutex<Option<String>>,
}

impl FeedStatus {
    pub fn new() -> FeedStatus {
        FeedStatus {
            started: Instant::now(),
            ready_flag: AtomicBool::new(false),
            ready: watch::channel(false).0,
            caught_up: AtomicBool::new(false),
            last_caught_up_ms: AtomicU64::new(NEVER),
            diverged: std::sync::Mutex::new(None),
        }
    }

    /// Records (or, with None, clears) why the node stopped applying.
    pub fn set_diverged(&self, reason: Option<String>) {
        *self.diverged.lock().unwrap_or_else(|e| e.into_inner()) = reason;
    }

    pub fn diverged(&self) -> Option<String> {
        self.diverged.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    #[inline]
    pub fn is_ready(&self) -> bool {
        self.ready_flag.load(Ordering::Acquire)
    }

    pub fn set_ready(&self) {
        self.ready_flag.store(true, Ordering::Release);
        self.ready.send_replace(true);
    }

    /// Resolves to `true` once ready (check with `wait_for`).
    pub fn subscribe_ready(&self) -> watch::Receiver<bool> {
        self.ready.subscribe()
    }

    /// Records a successful poll; `caught_up` when it showed no newer event.
    pub fn observe(&self, caught_up: bool) {
        if caught_up {
            let now = self.started.elapsed().as_millis().min(u128::from(NEVER - 1)) as u64;
            self.last_caught_up_ms.store(now, Ordering::Relaxed);
        }
        self.caught_up.store(caught_up, Ordering::Relaxed);
    }

    /// Records a failed poll: the node can no longer tell it is current.
    pub fn lost_contact(&self) {
        self.caught_up.store(false, Ordering::Relaxed);
    }

    /// Zero when the last poll confirmed the node caught up; otherwise how
    /// long since it last was (or since start, if it never was).
    pub fn lag(&self) -> Duration {
        if self.caught_up.load(Ordering::Relaxed) {
            return Duration::ZERO;
        }
        let since = match self.last_caught_up_ms.load(Ordering::Relaxed) {
            NEVER => Duration::ZERO,
            ms => Duration::from_millis(ms),
        };
        self.started.elapsed().saturating_sub(since)
    }
}

impl Default for FeedStatus {
    fn default() -> FeedStatus {
        FeedStatus::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_is_zero_only_while_caught_up() {
        let s = FeedStatus::new();
        std::thread::sleep(Duration::from_millis(20));
        assert!(s.lag() >= Duration::from_millis(20), "never caught up: lag counts from start");
        s.observe(true);
        assert_eq!(s.lag(), Duration::ZERO);
        s.lost_contact();
        std::thread::sleep(Duration::from_millis(20));
        let lag = s.lag();
        assert!(lag >= Duration::from_millis(20) && lag < Duration::from_secs(5), "{lag:?}");
        s.observe(false);
        assert!(s.lag() >= Duration::from_millis(20));
        assert!(!s.is_ready());
        s.set_ready();
        assert!(s.is_ready());
    }
}
