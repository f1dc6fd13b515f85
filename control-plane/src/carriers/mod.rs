//! Carriers: where numbers are bought and released (listed with their
//! health at `GET /v1/carriers`). A [`Carrier`] searches a
//! carrier's stock, orders numbers and follows the order, disconnects numbers
//! and lists what the account owns. Adapters wrap every call in
//! [`resilience::Resilience`] (timeouts, retries, a breaker per carrier), so
//! a second carrier is one file implementing the trait plus one arm in
//! [`connect`].

pub mod config;
mod error;
pub mod resilience;
pub mod telnyx;
mod types;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::Serialize;

pub use config::{CarrierConfig, CarrierKind, ConfigError};
pub use error::CarrierError;
pub use resilience::BreakerState;
pub use types::{
    AvailableNumber, Decimal, NumberStatus, NumberType, Order, OrderRequest, OrderStatus, OrderedNumber, OwnedNumber,
    OwnedPage, PageRequest, SearchQuery,
};

/// A boxed future, so `dyn Carrier` works without a macro crate.
pub type CarrierFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, CarrierError>> + Send + 'a>>;

pub trait Carrier: Send + Sync {
    /// The configured name (`sim` in `sim=telnyx+http://…`).
    fn name(&self) -> &str;
    fn kind(&self) -> CarrierKind;
    /// The API root it was configured with.
    fn base_url(&self) -> &str;
    fn search<'a>(&'a self, query: &'a SearchQuery) -> CarrierFuture<'a, Vec<AvailableNumber>>;
    /// Places an order; it usually comes back pending.
    fn order<'a>(&'a self, request: &'a OrderRequest) -> CarrierFuture<'a, Order>;
    fn order_status<'a>(&'a self, order_id: &'a str) -> CarrierFuture<'a, Order>;
    /// The orders placed with `customer_reference`: how a retry learns
    /// whether an earlier attempt whose answer was lost reached the carrier.
    fn find_orders<'a>(&'a self, customer_reference: &'a str) -> CarrierFuture<'a, Vec<Order>>;
    /// Releases a number at the carrier; `NotFound` when the account does not own it.
    fn disconnect<'a>(&'a self, number: &'a str) -> CarrierFuture<'a, ()>;
    /// One page of the numbers the account owns, for reconciliation.
    fn owned_numbers(&self, page: PageRequest) -> CarrierFuture<'_, OwnedPage>;
    /// `NotFound` when the account does not own the number.
    fn number_status<'a>(&'a self, number: &'a str) -> CarrierFuture<'a, NumberStatus>;
    /// What the adapter knows without calling the carrier.
    fn health(&self) -> CarrierHealth;
}

#[derive(Debug, Clone, Serialize)]
pub struct CarrierHealth {
    pub name: String,
    pub kind: CarrierKind,
    pub breaker: BreakerState,
    /// False when the last call failed or the breaker is not closed.
    pub healthy: bool,
    pub last_error: Option<String>,
}

/// Tuning shared by all adapters.
#[derive(Clone)]
pub struct AdapterSettings {
    pub retry: resilience::RetryPolicy,
    pub breaker: resilience::BreakerConfig,
    pub clock: Arc<dyn resilience::Clock>,
    pub connect_timeout: std::time::Duration,
    /// Told of every attempt (the control plane's metrics).
    pub observer: Option<Arc<dyn resilience::CallObserver>>,
}

impl Default for AdapterSettings {
    fn default() -> Self {
        Self {
            retry: resilience::RetryPolicy::default(),
            breaker: resilience::BreakerConfig::default(),
            clock: Arc::new(resilience::SystemClock),
            connect_timeout: std::time::Duration::from_secs(3),
            observer: None,
        }
    }
}

/// The adapters of `configs`, in order (their settings were checked at
/// start, so only an HTTP client that cannot be built fails here).
pub fn connect_all(configs: &[CarrierConfig]) -> Result<Vec<Arc<dyn Carrier>>, ConfigError> {
    connect_all_observed(configs, None)
}

/// [`connect_all`], every attempt reported to `observer`.
pub fn connect_all_observed(
    configs: &[CarrierConfig],
    observer: Option<Arc<dyn resilience::CallObserver>>,
) -> Result<Vec<Arc<dyn Carrier>>, ConfigError> {
    configs
        .iter()
        .map(|c| connect(c, AdapterSettings { observer: observer.clone(), ..AdapterSettings::default() }))
        .collect()
}

/// Builds the adapter a configuration names.
pub fn connect(config: &CarrierConfig, settings: AdapterSettings) -> Result<Arc<dyn Carrier>, ConfigError> {
    Ok(match config.kind {
        CarrierKind::Telnyx => Arc::new(telnyx::Telnyx::new(config, settings)?),
    })
}
