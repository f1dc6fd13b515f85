//! The one error type of the carrier boundary.

use std::time::Duration;

/// Why a carrier call failed. The variants say what a caller may do next:
/// retry later (rate-limited, unavailable, unreachable, timeout, circuit
/// open) or not (not found, rejected, protocol).
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum CarrierError {
    /// 429; `retry_after` is the carrier's Retry-After when it sent one.
    #[error("rate limited by the carrier")]
    RateLimited { retry_after: Option<Duration> },
    /// 5xx from the carrier.
    #[error("carrier unavailable (http {status}): {detail}")]
    Unavailable { status: u16, detail: String },
    /// No connection could be made; nothing reached the carrier.
    #[error("carrier unreachable: {0}")]
    Unreachable(String),
    /// The connection failed after the request may have been sent.
    #[error("carrier connection failed: {0}")]
    Transport(String),
    /// No answer in time; the request may or may not have been acted on.
    #[error("carrier did not answer within {0:?}")]
    Timeout(Duration),
    #[error("not found at the carrier: {0}")]
    NotFound(String),
    /// Any other 4xx: the carrier refused the request as made.
    #[error("rejected by the carrier (http {status}, code {code}): {detail}")]
    Rejected { status: u16, code: String, detail: String },
    /// The circuit breaker is open: calls are refused without being sent.
    #[error("circuit open for carrier {carrier}; retry in {retry_in:?}")]
    CircuitOpen { carrier: String, retry_in: Duration },
    /// The carrier answered something this adapter cannot read.
    #[error("unexpected answer from the carrier: {0}")]
    Protocol(String),
}

impl CarrierError {
    /// A short label of the variant (metrics).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::RateLimited { .. } => "rate_limited",
            Self::Unavailable { .. } => "unavailable",
            Self::Unreachable(_) => "unreachable",
            Self::Transport(_) => "transport",
            Self::Timeout(_) => "timeout",
            Self::NotFound(_) => "not_found",
            Self::Rejected { .. } => "rejected",
            Self::CircuitOpen { .. } => "circuit_open",
            Self::Protocol(_) => "protocol",
        }
    }

    /// Whether repeating the same request may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. }
                | Self::Unavailable { .. }
                | Self::Unreachable(_)
                | Self::Transport(_)
                | Self::Timeout(_)
        )
    }

    /// Whether the request certainly did not take effect, so even a request
    /// that is not idempotent (placing an order) may be sent again.
    pub fn certainly_not_applied(&self) -> bool {
        matches!(self, Self::RateLimited { .. } | Self::Unreachable(_) | Self::CircuitOpen { .. })
    }

    /// Whether the failure says the carrier itself is unhealthy (what trips
    /// the breaker); a 429, a 404 or a refused request come from a carrier
    /// that is up.
    pub fn is_carrier_fault(&self) -> bool {
        matches!(
            self,
            Self::Unavailable { .. } | Self::Unreachable(_) | Self::Transport(_) | Self::Timeout(_) | Self::Protocol(_)
        )
    }
}
