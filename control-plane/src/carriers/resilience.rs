//! What every carrier adapter wraps its calls in: a timeout per attempt,
//! retries with exponential backoff and full jitter on transient failures
//! (honouring a 429's Retry-After), and a circuit breaker per carrier.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::Rng;
use serde::Serialize;

use super::CarrierError;

/// Where the breaker reads the time; tests inject a manual clock.
pub trait Clock: Send + Sync {
    fn now(&self) -> Instant;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// A Retry-After longer than this is not waited out: the call fails rate-limited.
    pub max_retry_after: Duration,
    /// Each attempt's deadline.
    pub attempt_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(30),
            attempt_timeout: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// The longest a call can take: every attempt timing out, each wait the
    /// longest Retry-After waited out.
    pub fn worst_case(&self) -> Duration {
        let wait = self.max_delay.max(self.max_retry_after);
        (self.attempt_timeout + wait).saturating_mul(self.max_attempts)
    }

    /// The wait before attempt `attempt + 1` (attempt counts from 1): full
    /// jitter over an exponentially growing cap, but never less than the
    /// carrier's Retry-After.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>, rng: &mut impl Rng) -> Duration {
        let cap = self.base_delay.saturating_mul(1u32 << attempt.saturating_sub(1).min(16)).min(self.max_delay);
        let jittered = cap.mul_f64(rng.gen_range(0.5..=1.0));
        retry_after.map_or(jittered, |r| r.max(jittered.min(self.base_delay)))
    }
}

#[derive(Debug, Clone)]
pub struct BreakerConfig {
    /// Consecutive carrier faults that open the breaker.
    pub failure_threshold: u32,
    /// How long it stays open before one probe is let through (half-open).
    pub open_for: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self { failure_threshold: 5, open_for: Duration::from_secs(30) }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

#[derive(Debug)]
enum Inner {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { probing: bool },
}

/// Closed: calls pass and consecutive carrier faults are counted. Open: calls
/// are refused until `open_for` has passed. Half-open: one probe passes; its
/// success closes the breaker, its failure opens it again.
pub struct CircuitBreaker {
    config: BreakerConfig,
    clock: Arc<dyn Clock>,
    inner: Mutex<Inner>,
}

impl CircuitBreaker {
    pub fn new(config: BreakerConfig, clock: Arc<dyn Clock>) -> Self {
        Self { config, clock, inner: Mutex::new(Inner::Closed { failures: 0 }) }
    }

    pub fn state(&self) -> BreakerState {
        let inner = self.inner.lock().expect("breaker lock");
        match *inner {
            Inner::Closed { .. } => BreakerState::Closed,
            Inner::Open { until } if self.clock.now() >= until => BreakerState::HalfOpen,
            Inner::Open { .. } => BreakerState::Open,
            Inner::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    /// Asks to send one request; `Err(wait)` says how long the breaker stays open.
    pub fn acquire(&self) -> Result<(), Duration> {
        let now = self.clock.now();
        let mut inner = self.inner.lock().expect("breaker lock");
        match *inner {
            Inner::Closed { .. } => Ok(()),
            Inner::Open { until } if now >= until => {
                *inner = Inner::HalfOpen { probing: true };
                Ok(())
            }
            Inner::Open { until } => Err(until - now),
            // While the probe is out, others wait as if open.
            Inner::HalfOpen { probing: true } => Err(self.config.open_for.min(Duration::from_secs(1))),
            Inner::HalfOpen { probing: false } => {
                *inner = Inner::HalfOpen { probing: true };
                Ok(())
            }
        }
    }

    /// Reports how a request let through by [`acquire`](Self::acquire) ended:
    /// `fault` is true when it says the carrier is unhealthy.
    pub fn record(&self, fault: bool) {
        let now = self.clock.now();
        let mut inner = self.inner.lock().expect("breaker lock");
        *inner = match (&*inner, fault) {
            (_, false) => Inner::Closed { failures: 0 },
            (Inner::Closed { failures }, true) if failures + 1 < self.config.failure_threshold => {
                Inner::Closed { failures: failures + 1 }
            }
            (Inner::Open { until }, true) => Inner::Open { until: *until },
            (_, true) => Inner::Open { until: now + self.config.open_for },
        };
    }
}

/// The last outcome seen, for health reports.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LastOutcome {
    pub ok: bool,
    pub error: Option<String>,
}

/// Told of every attempt a carrier adapter makes (metrics).
pub trait CallObserver: Send + Sync {
    /// `outcome` is `ok` or [`CarrierError::kind`].
    fn observe(&self, carrier: &str, outcome: &'static str, elapsed: Duration);
}

/// Retry policy plus breaker for one carrier.
pub struct Resilience {
    carrier: String,
    pub policy: RetryPolicy,
    pub breaker: CircuitBreaker,
    last: Mutex<LastOutcome>,
    observer: Option<Arc<dyn CallObserver>>,
}

/// Whether a request may be sent twice without harm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    Idempotent,
    /// Retried only when the failure shows it was not applied (429, no connection).
    NotIdempotent,
}

impl Resilience {
    pub fn new(carrier: &str, policy: RetryPolicy, breaker: BreakerConfig, clock: Arc<dyn Clock>) -> Self {
        Self {
            carrier: carrier.to_string(),
            policy,
            breaker: CircuitBreaker::new(breaker, clock),
            last: Mutex::new(LastOutcome { ok: true, error: None }),
            observer: None,
        }
    }

    /// Reports every attempt to `observer`.
    pub fn with_observer(mut self, observer: Option<Arc<dyn CallObserver>>) -> Self {
        self.observer = observer;
        self
    }

    pub fn last_outcome(&self) -> LastOutcome {
        self.last.lock().expect("last outcome lock").clone()
    }

    /// Runs `attempt` under the breaker, a timeout per attempt and retries.
    pub async fn call<T, F, Fut>(&self, idempotency: Idempotency, mut attempt: F) -> Result<T, CarrierError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, CarrierError>>,
    {
        let mut n = 0;
        loop {
            n += 1;
            let result = match self.breaker.acquire() {
                Err(retry_in) => Err(CarrierError::CircuitOpen { carrier: self.carrier.clone(), retry_in }),
                Ok(()) => {
                    let started = Instant::now();
                    let res = match tokio::time::timeout(self.policy.attempt_timeout, attempt()).await {
                        Ok(res) => res,
                        Err(_) => Err(CarrierError::Timeout(self.policy.attempt_timeout)),
                    };
                    self.breaker.record(res.as_ref().err().is_some_and(CarrierError::is_carrier_fault));
                    if let Some(o) = &self.observer {
                        o.observe(
                            &self.carrier,
                            res.as_ref().err().map_or("ok", CarrierError::kind),
                            started.elapsed(),
                        );
                    }
                    res
                }
            };
            let err = match result {
                Ok(v) => {
                    *self.last.lock().expect("last outcome lock") = LastOutcome { ok: true, error: None };
                    return Ok(v);
                }
                Err(e) => e,
            };
            *self.last.lock().expect("last outcome lock") = LastOutcome { ok: false, error: Some(err.to_string()) };
            let retryable = match idempotency {
                Idempotency::Idempotent => err.is_transient(),
                Idempotency::NotIdempotent => err.certainly_not_applied() && err.is_transient(),
            };
            if !retryable || n >= self.policy.max_attempts {
                return Err(err);
            }
            let retry_after = match &err {
                CarrierError::RateLimited { retry_after } => *retry_after,
                _ => None,
            };
            if retry_after.is_some_and(|r| r > self.policy.max_retry_after) {
                return Err(err);
            }
            let wait = self.policy.delay(n, retry_after, &mut rand::thread_rng());
            tracing::debug!(carrier = %self.carrier, attempt = n, ?wait, error = %err, "carrier call failed; retrying");
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    struct ManualClock(Mutex<Instant>);

    impl ManualClock {
        fn advance(&self, by: Duration) {
            *self.0.lock().unwrap() += by;
        }
    }

    impl Clock for ManualClock {
        fn now(&self) -> Instant {
            *self.0.lock().unwrap()
        }
    }

    fn breaker(threshold: u32) -> (CircuitBreaker, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock(Mutex::new(Instant::now())));
        let config = BreakerConfig { failure_threshold: threshold, open_for: Duration::from_secs(30) };
        (CircuitBreaker::new(config, clock.clone()), clock)
    }

    #[test]
    fn breaker_opens_after_consecutive_faults_and_recovers_through_half_open() {
        let (b, clock) = breaker(3);
        for _ in 0..2 {
            b.acquire().unwrap();
            b.record(true);
        }
        assert_eq!(b.state(), BreakerState::Closed);
        b.acquire().unwrap();
        b.record(false);
        for _ in 0..3 {
            b.acquire().unwrap();
            b.record(true);
        }
        assert_eq!(b.state(), BreakerState::Open);
        assert_eq!(b.acquire(), Err(Duration::from_secs(30)));
        clock.advance(Duration::from_secs(29));
        assert_eq!(b.acquire(), Err(Duration::from_secs(1)));
        clock.advance(Duration::from_secs(1));
        assert_eq!(b.state(), BreakerState::HalfOpen);
        b.acquire().unwrap();
        assert!(b.acquire().is_err(), "one probe at a time while half-open");
        b.record(true);
        assert_eq!(b.state(), BreakerState::Open, "a failed probe reopens");
        clock.advance(Duration::from_secs(30));
        b.acquire().unwrap();
        b.record(false);
        assert_eq!(b.state(), BreakerState::Closed);
        b.acquire().unwrap();
    }

    #[test]
    fn delay_grows_exponentially_with_jitter_and_honours_retry_after() {
        let p = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            ..RetryPolicy::default()
        };
        let mut rng = rand::thread_rng();
        for _ in 0..200 {
            let d1 = p.delay(1, None, &mut rng);
            assert!(d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100), "{d1:?}");
            let d3 = p.delay(3, None, &mut rng);
            assert!(d3 >= Duration::from_millis(200) && d3 <= Duration::from_millis(400), "{d3:?}");
            let d10 = p.delay(10, None, &mut rng);
            assert!(d10 <= Duration::from_secs(1), "{d10:?}");
            assert!(p.delay(5, Some(Duration::from_secs(2)), &mut rng) == Duration::from_secs(2));
            assert!(p.delay(1, Some(Duration::ZERO), &mut rng) <= Duration::from_millis(100));
        }
    }

    fn resilience(max_attempts: u32, threshold: u32) -> Resilience {
        let policy = RetryPolicy {
            max_attempts,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
            attempt_timeout: Duration::from_millis(200),
            ..RetryPolicy::default()
        };
        let breaker = BreakerConfig { failure_threshold: threshold, open_for: Duration::from_secs(60) };
        Resilience::new("test", policy, breaker, Arc::new(SystemClock))
    }

    fn unavailable() -> CarrierError {
        CarrierError::Unavailable { status: 503, detail: "down".into() }
    }

    #[tokio::test]
    async fn retries_transient_failures_then_succeeds() {
        let r = resilience(4, 10);
        let calls = AtomicU32::new(0);
        let out = r
            .call(Idempotency::Idempotent, || async {
                match calls.fetch_add(1, Ordering::SeqCst) {
                    0 => Err(unavailable()),
                    1 => Err(CarrierError::RateLimited { retry_after: Some(Duration::ZERO) }),
                    _ => Ok(7),
                }
            })
            .await;
        assert_eq!(out, Ok(7));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        assert!(r.last_outcome().ok);
    }

    #[tokio::test]
    async fn gives_up_after_max_attempts_and_does_not_retry_permanent_errors() {
        let r = resilience(3, 10);
        let calls = AtomicU32::new(0);
        let out: Result<(), _> = r
            .call(Idempotency::Idempotent, || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(unavailable())
            })
            .await;
        assert_eq!(out, Err(unavailable()));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        let calls = AtomicU32::new(0);
        let out: Result<(), _> = r
            .call(Idempotency::Idempotent, || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(CarrierError::NotFound("x".into()))
            })
            .await;
        assert!(matches!(out, Err(CarrierError::NotFound(_))));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(!r.last_outcome().ok);
    }

    #[tokio::test]
    async fn non_idempotent_calls_retry_only_what_certainly_was_not_applied() {
        let r = resilience(5, 10);
        let calls = AtomicU32::new(0);
        let out: Result<(), _> = r
            .call(Idempotency::NotIdempotent, || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(unavailable())
            })
            .await;
        assert_eq!(out, Err(unavailable()));
        assert_eq!(calls.load(Ordering::SeqCst), 1, "a 5xx order may have been placed: not resent");
        let calls = AtomicU32::new(0);
        let out = r
            .call(Idempotency::NotIdempotent, || async {
                match calls.fetch_add(1, Ordering::SeqCst) {
                    0 => Err(CarrierError::Unreachable("refused".into())),
                    1 => Err(CarrierError::RateLimited { retry_after: None }),
                    _ => Ok(()),
                }
            })
            .await;
        assert_eq!(out, Ok(()));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn times_out_slow_attempts_and_opens_the_breaker() {
        let r = resilience(2, 2);
        let out: Result<(), _> = r
            .call(Idempotency::Idempotent, || async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Ok(())
            })
            .await;
        assert_eq!(out, Err(CarrierError::Timeout(Duration::from_millis(200))));
        assert_eq!(r.breaker.state(), BreakerState::Open);
        let out: Result<(), _> = r.call(Idempotency::Idempotent, || async { Ok(()) }).await;
        assert!(matches!(out, Err(CarrierError::CircuitOpen { .. })), "{out:?}");
    }

    #[tokio::test]
    async fn a_long_retry_after_is_not_waited_out() {
        let r = resilience(5, 10);
        let calls = AtomicU32::new(0);
        let limited = CarrierError::RateLimited { retry_after: Some(Duration::from_secs(3600)) };
        let out: Result<(), _> = r
            .call(Idempotency::Idempotent, || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(limited.clone())
            })
            .await;
        assert_eq!(out, Err(limited));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
