//! The simulator process (from the shared harness) and what the carrier
//! tests add to it.

use std::time::Duration;

use didroute_control_plane::carriers::resilience::{BreakerConfig, RetryPolicy};
use didroute_control_plane::carriers::{AdapterSettings, Carrier, Order, OrderStatus};
pub use didroute_test_support::carrier_sim::{CarrierSim as Sim, TOKEN};

/// Quick retries and a breaker that opens after 3 faults for 500 ms.
pub fn fast_settings() -> AdapterSettings {
    AdapterSettings {
        retry: RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(200),
            max_retry_after: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(2),
        },
        breaker: BreakerConfig { failure_threshold: 3, open_for: Duration::from_millis(500) },
        ..AdapterSettings::default()
    }
}

/// Polls an order until it leaves pending.
pub async fn settled(carrier: &dyn Carrier, id: &str) -> Order {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let order = carrier.order_status(id).await.expect("order status");
        if order.status != OrderStatus::Pending {
            return order;
        }
        assert!(tokio::time::Instant::now() < deadline, "order {id} still pending after 10 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
