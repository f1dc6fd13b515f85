//! Capped exponential backoff with jitter, so many nodes losing the control
//! plane at once do not come back in lockstep.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    pub fn new(min: Duration, max: Duration) -> Backoff {
        Backoff { min, max: max.max(min), next: min }
    }

    /// The delay before the next retry: between half and all of the current
    /// step, which then doubles up to the cap.
    pub fn next_delay(&mut self) -> Duration {
        let step = self.next;
        self.next = (self.next * 2).min(self.max);
        let half = step / 2;
        let jitter_ns = random() % (half.as_nanos() as u64 + 1);
        half + Duration::from_nanos(jitter_ns)
    }

    pub fn reset(&mut self) {
        self.next = self.min;
    }
}

/// A random u64 without a rand dependency: std seeds every `RandomState`
/// with fresh keys.
fn random() -> u64 {
    RandomState::new().build_hasher().finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_to_the_cap_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        let delays: Vec<Duration> = (0..8).map(|_| b.next_delay()).collect();
        assert!(delays[0] >= Duration::from_millis(50) && delays[0] <= Duration::from_millis(100));
        assert!(delays.iter().all(|d| *d <= Duration::from_secs(1)));
        assert!(delays[7] >= Duration::from_millis(500), "capped step is 1s, so at least half: {:?}", delays[7]);
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(100));
    }
}
