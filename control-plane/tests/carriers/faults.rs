//! The adapter under the simulator's faults: 429 storms, 5xx that open the
//! breaker, and the simulator killed and restarted mid-order.

use std::time::{Duration, Instant};

use didroute_control_plane::carriers::resilience::{BreakerConfig, RetryPolicy};
use didroute_control_plane::carriers::{
    AdapterSettings, BreakerState, CarrierError, OrderRequest, OrderStatus, PageRequest, SearchQuery,
};
use serde_json::json;

use crate::sim::{fast_settings, settled, Sim};

fn us(limit: u32) -> SearchQuery {
    SearchQuery { country: "US".into(), limit, ..SearchQuery::default() }
}

#[tokio::test]
async fn a_429_storm_is_ridden_out_with_backoff() {
    let sim = Sim::start();
    let carrier = sim.carrier(fast_settings());
    sim.admin("faults", json!({ "rate_limit_next": 4, "retry_after_secs": 0 })).await;
    let before = sim.requests().await;
    let found = carrier.search(&us(5)).await.expect("the fifth attempt is served");
    assert_eq!(found.len(), 5);
    let state = sim.state().await;
    assert_eq!(state["counters"]["rate_limited"], 4);
    assert_eq!(sim.requests().await - before, 5);
    assert_eq!(carrier.health().breaker, BreakerState::Closed, "429s do not open the breaker");
    assert!(carrier.health().healthy);

    // Retry-After is honoured: one 429 asking for a second delays the call by it.
    sim.admin("faults", json!({ "rate_limit_next": 1, "retry_after_secs": 1 })).await;
    let started = Instant::now();
    carrier.owned_numbers(PageRequest { page: 1, size: 10 }).await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1), "waited {:?}", started.elapsed());

    // A storm longer than the attempts allowed ends rate-limited.
    sim.admin("faults", json!({ "rate_limit_next": 100, "retry_after_secs": 0 })).await;
    let err = carrier.search(&us(5)).await.unwrap_err();
    assert_eq!(err, CarrierError::RateLimited { retry_after: Some(Duration::ZERO) });
    sim.admin("faults", json!({ "rate_limit_next": 0 })).await;
}

#[tokio::test]
async fn server_errors_open_the_breaker_and_a_half_open_probe_closes_it() {
    let sim = Sim::start();
    let settings = AdapterSettings {
        retry: RetryPolicy { max_attempts: 2, ..fast_settings().retry },
        breaker: BreakerConfig { failure_threshold: 3, open_for: Duration::from_millis(500) },
        ..fast_settings()
    };
    let carrier = sim.carrier(settings);
    sim.admin("faults", json!({ "error_5xx_next": 1000 })).await;

    let err = carrier.search(&us(1)).await.unwrap_err();
    assert!(matches!(err, CarrierError::Unavailable { status: 503, .. }), "{err:?}");
    assert_eq!(carrier.health().breaker, BreakerState::Closed, "two faults, threshold three");
    let err = carrier.search(&us(1)).await.unwrap_err();
    assert!(matches!(err, CarrierError::CircuitOpen { .. }), "the third fault opened it mid-call: {err:?}");
    assert_eq!(carrier.health().breaker, BreakerState::Open);
    assert!(!carrier.health().healthy);

    // While open, nothing reaches the carrier.
    let before = sim.requests().await;
    for _ in 0..5 {
        assert!(matches!(carrier.search(&us(1)).await, Err(CarrierError::CircuitOpen { .. })));
    }
    assert_eq!(sim.requests().await, before);

    // Half-open with the carrier still failing: the probe reopens the breaker.
    tokio::time::sleep(Duration::from_millis(550)).await;
    assert_eq!(carrier.health().breaker, BreakerState::HalfOpen);
    assert!(carrier.search(&us(1)).await.is_err());
    assert_eq!(sim.requests().await, before + 1, "exactly one probe went out");
    assert_eq!(carrier.health().breaker, BreakerState::Open);

    // The carrier recovers: the next probe succeeds and closes the breaker.
    sim.admin("faults", json!({ "error_5xx_next": 0 })).await;
    tokio::time::sleep(Duration::from_millis(550)).await;
    assert_eq!(carrier.search(&us(3)).await.unwrap().len(), 3);
    assert_eq!(carrier.health().breaker, BreakerState::Closed);
    assert!(carrier.health().healthy);
}

#[tokio::test]
async fn a_5xx_on_placing_an_order_is_not_resent() {
    let sim = Sim::start();
    let carrier = sim.carrier(fast_settings());
    sim.admin("faults", json!({ "error_5xx_next": 1 })).await;
    let before = sim.requests().await;
    let req = OrderRequest { numbers: vec!["+15552000150".into()], customer_reference: Some("r-150".into()) };
    let err = carrier.order(&req).await.unwrap_err();
    assert!(matches!(err, CarrierError::Unavailable { status: 503, .. }), "{err:?}");
    assert_eq!(sim.requests().await - before, 1, "an order that may have been placed is not resent blindly");
    sim.admin("faults", json!({ "rate_limit_next": 2, "retry_after_secs": 0 })).await;
    let order = carrier.order(&req).await.expect("429s mean the order was not placed: resent");
    assert_eq!(order.status, OrderStatus::Pending);
}

#[tokio::test]
async fn the_simulator_killed_mid_order_and_restarted() {
    let mut sim = Sim::start();
    let addr = sim.addr.to_string();
    let settings = AdapterSettings {
        retry: RetryPolicy {
            max_attempts: 12,
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_millis(300),
            ..fast_settings().retry
        },
        breaker: BreakerConfig { failure_threshold: 50, open_for: Duration::from_millis(500) },
        ..fast_settings()
    };
    let carrier = sim.carrier(settings);
    sim.admin("faults", json!({ "order_delay_ms": 60_000 })).await;
    let req = OrderRequest { numbers: vec!["+15552000250".into()], customer_reference: Some("r-250".into()) };
    let order = carrier.order(&req).await.unwrap();
    assert_eq!(order.status, OrderStatus::Pending);

    sim.kill();
    let down = carrier.order_status(&order.id).await.unwrap_err();
    assert!(matches!(down, CarrierError::Unreachable(_) | CarrierError::Transport(_)), "{down:?}");
    assert!(!carrier.health().healthy);

    // Restarted while a status call is retrying: the call gets through. The
    // simulator keeps its state in memory, so the order is gone after the
    // restart: the adapter reports it not found rather than failing.
    let restarted = tokio::task::spawn_blocking(move || {
        std::thread::sleep(Duration::from_millis(300));
        Sim::start_at(&addr)
    });
    let after = carrier.order_status(&order.id).await;
    let sim = restarted.await.unwrap();
    assert!(matches!(after, Err(CarrierError::NotFound(_))), "{after:?}");
    assert_eq!(carrier.health().breaker, BreakerState::Closed);

    // The stock is generated deterministically, so the number can be ordered again.
    let again = carrier.order(&req).await.unwrap();
    assert_eq!(settled(carrier.as_ref(), &again.id).await.status, OrderStatus::Success);
    assert!(carrier.health().healthy);
    drop(sim);
}

#[tokio::test]
async fn a_slow_carrier_times_out_per_attempt() {
    let sim = Sim::start();
    let settings = AdapterSettings {
        retry: RetryPolicy { max_attempts: 2, attempt_timeout: Duration::from_millis(150), ..fast_settings().retry },
        ..fast_settings()
    };
    let carrier = sim.carrier(settings);
    sim.admin("faults", json!({ "latency_ms": 600 })).await;
    let started = Instant::now();
    let err = carrier.search(&us(1)).await.unwrap_err();
    assert_eq!(err, CarrierError::Timeout(Duration::from_millis(150)));
    assert!(started.elapsed() < Duration::from_millis(600), "gave up after two short attempts, not the latency");
    assert!(!carrier.health().healthy);

    sim.admin("faults", json!({ "latency_ms": 50 })).await;
    assert_eq!(carrier.search(&us(2)).await.unwrap().len(), 2, "latency under the timeout is only slower");
    assert!(carrier.health().healthy);
}
