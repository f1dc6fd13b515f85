//! Fault knobs: what `/v2` requests suffer, set over `POST /_sim/faults`.

use rand::Rng;
use serde::{Deserialize, Serialize};

/// Fault knobs, set over `POST /_sim/faults`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Faults {
    /// Added before every `/v2` answer.
    pub latency_ms: u64,
    /// Share of `/v2` requests answered 503, 0.0 to 1.0.
    pub error_5xx_rate: f64,
    /// The next N `/v2` requests are answered 503.
    pub error_5xx_next: u64,
    /// Share of `/v2` requests answered 429, 0.0 to 1.0.
    pub rate_limit_rate: f64,
    /// The next N `/v2` requests are answered 429.
    pub rate_limit_next: u64,
    /// The Retry-After (seconds) sent with a 429.
    pub retry_after_secs: u64,
    /// The next N number orders end in failure.
    pub fail_orders: u64,
    /// How long an order stays pending.
    pub order_delay_ms: u64,
}

/// A partial update of [`Faults`]; absent fields keep their value.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultsPatch {
    pub latency_ms: Option<u64>,
    pub error_5xx_rate: Option<f64>,
    pub error_5xx_next: Option<u64>,
    pub rate_limit_rate: Option<f64>,
    pub rate_limit_next: Option<u64>,
    pub retry_after_secs: Option<u64>,
    pub fail_orders: Option<u64>,
    pub order_delay_ms: Option<u64>,
}

/// What a `/v2` request gets before it is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Injected {
    Serve,
    RateLimited { retry_after_secs: u64 },
    Unavailable,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Counters {
    pub requests: u64,
    pub served: u64,
    pub rate_limited: u64,
    pub errors_5xx: u64,
    pub orders_placed: u64,
}

impl Faults {
    pub fn apply(&mut self, p: FaultsPatch) -> Result<(), String> {
        for rate in [p.error_5xx_rate, p.rate_limit_rate].into_iter().flatten() {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("rate {rate} is not between 0 and 1"));
            }
        }
        self.latency_ms = p.latency_ms.unwrap_or(self.latency_ms);
        self.error_5xx_rate = p.error_5xx_rate.unwrap_or(self.error_5xx_rate);
        self.error_5xx_next = p.error_5xx_next.unwrap_or(self.error_5xx_next);
        self.rate_limit_rate = p.rate_limit_rate.unwrap_or(self.rate_limit_rate);
        self.rate_limit_next = p.rate_limit_next.unwrap_or(self.rate_limit_next);
        self.retry_after_secs = p.retry_after_secs.unwrap_or(self.retry_after_secs);
        self.fail_orders = p.fail_orders.unwrap_or(self.fail_orders);
        self.order_delay_ms = p.order_delay_ms.unwrap_or(self.order_delay_ms);
        Ok(())
    }

    /// 429s before 503s; counted knobs before rates.
    pub fn decide(&mut self, rng: &mut impl Rng) -> Injected {
        if self.rate_limit_next > 0 {
            self.rate_limit_next -= 1;
            Injected::RateLimited { retry_after_secs: self.retry_after_secs }
        } else if self.rate_limit_rate > 0.0 && rng.gen_bool(self.rate_limit_rate) {
            Injected::RateLimited { retry_after_secs: self.retry_after_secs }
        } else if self.error_5xx_next > 0 {
            self.error_5xx_next -= 1;
            Injected::Unavailable
        } else if self.error_5xx_rate > 0.0 && rng.gen_bool(self.error_5xx_rate) {
            Injected::Unavailable
        } else {
            Injected::Serve
        }
    }
}

impl Counters {
    pub fn count(&mut self, verdict: Injected) {
        self.requests += 1;
        match verdict {
            Injected::Serve => self.served += 1,
            Injected::RateLimited { .. } => self.rate_limited += 1,
            Injected::Unavailable => self.errors_5xx += 1,
        }
    }
}
