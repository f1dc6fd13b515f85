//! The adapter's calls against the simulator: search, order, owned numbers,
//! number status and disconnect.

use std::collections::HashSet;

use didroute_control_plane::carriers::{
    CarrierError, NumberStatus, NumberType, OrderRequest, OrderStatus, PageRequest, SearchQuery,
};
use serde_json::json;

use crate::sim::{fast_settings, settled, Sim};

fn query(country: &str, area_code: Option<&str>, limit: u32) -> SearchQuery {
    SearchQuery { country: country.into(), area_code: area_code.map(Into::into), limit, ..SearchQuery::default() }
}

#[tokio::test]
async fn search_applies_telnyx_filters() {
    let sim = Sim::start();
    let carrier = sim.carrier(fast_settings());

    let found = carrier.search(&query("US", Some("555"), 10)).await.unwrap();
    assert_eq!(found.len(), 10);
    for n in &found {
        assert!(n.number.starts_with("+1555"), "{}", n.number);
        assert_eq!(n.country.as_deref(), Some("US"));
        assert_eq!(n.upfront_cost.as_ref().map(|d| d.as_str()), Some("1.00"));
        assert_eq!(n.monthly_cost.as_ref().map(|d| d.as_str()), Some("1.00"));
        assert_eq!(n.currency.as_deref(), Some("USD"));
        assert!(n.features.contains(&"voice".to_string()));
    }

    let q = SearchQuery { contains: Some("2000042".into()), ..query("US", None, 50) };
    let found = carrier.search(&q).await.unwrap();
    assert_eq!(found.iter().map(|n| n.number.as_str()).collect::<Vec<_>>(), ["+15552000042"]);

    let q = SearchQuery { number_type: Some(NumberType::TollFree), ..query("US", None, 100) };
    let found = carrier.search(&q).await.unwrap();
    assert_eq!(found.len(), 20);
    assert!(found.iter().all(|n| n.number.starts_with("+1800") && n.number_type == Some(NumberType::TollFree)));
    assert!(found.iter().all(|n| n.monthly_cost.as_ref().map(|d| d.as_str()) == Some("2.00")));

    let q = SearchQuery { starts_with: Some("44202000001".into()), ..query("gb", Some("20"), 100) };
    let found = carrier.search(&q).await.unwrap();
    assert_eq!(found.len(), 10, "+442020000010 to +442020000019");
    assert!(found.iter().all(|n| n.currency.as_deref() == Some("GBP")));

    let q = SearchQuery { ends_with: Some("99".into()), ..query("US", Some("555"), 100) };
    let found = carrier.search(&q).await.unwrap();
    assert_eq!(
        found.iter().map(|n| n.number.as_str()).collect::<Vec<_>>(),
        ["+15552000099", "+15552000199", "+15552000299"]
    );

    assert!(carrier.search(&query("US", Some("999"), 10)).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_wrong_api_key_is_rejected_once_without_retries() {
    let sim = Sim::start();
    let carrier = sim.carrier_with_token(fast_settings(), "wrong");
    let before = sim.requests().await;
    let err = carrier.search(&query("US", None, 1)).await.unwrap_err();
    match err {
        CarrierError::Rejected { status, code, .. } => assert_eq!((status, code.as_str()), (401, "10009")),
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert_eq!(sim.requests().await - before, 1);
    let health = carrier.health();
    assert!(!health.healthy, "the last call failed");
    assert!(health.last_error.unwrap().contains("10009"));
}

#[tokio::test]
async fn an_order_goes_from_pending_to_success() {
    let sim = Sim::start();
    let carrier = sim.carrier(fast_settings());
    let numbers = vec!["+15552000100".to_string(), "+15552000101".to_string()];
    let req = OrderRequest { numbers: numbers.clone(), customer_reference: Some("didroute-order-1".into()) };
    let order = carrier.order(&req).await.unwrap();
    assert_eq!(order.status, OrderStatus::Pending);
    assert_eq!(order.customer_reference.as_deref(), Some("didroute-order-1"));
    assert_eq!(order.numbers.iter().map(|n| n.number.clone()).collect::<Vec<_>>(), numbers);
    assert_eq!(carrier.number_status("+15552000100").await.unwrap(), NumberStatus::PurchasePending);

    let done = settled(carrier.as_ref(), &order.id).await;
    assert_eq!(done.status, OrderStatus::Success);
    assert!(done.numbers.iter().all(|n| n.status == OrderStatus::Success));
    assert_eq!(carrier.number_status("+15552000101").await.unwrap(), NumberStatus::Active);

    let q = SearchQuery { contains: Some("555200010".into()), ..query("US", None, 50) };
    let still = carrier.search(&q).await.unwrap();
    assert!(still.iter().all(|n| !numbers.contains(&n.number)), "ordered numbers left the stock");

    let again = carrier.order(&req).await.unwrap_err();
    assert!(matches!(again, CarrierError::Rejected { status: 422, .. }), "{again:?}");
    assert!(matches!(carrier.order_status("no-such-order").await, Err(CarrierError::NotFound(_))));
}

#[tokio::test]
async fn an_order_can_fail_and_its_numbers_return_to_stock() {
    let sim = Sim::start();
    let carrier = sim.carrier(fast_settings());
    sim.admin("faults", json!({ "fail_orders": 1 })).await;
    let req = OrderRequest { numbers: vec!["+15552000200".into()], customer_reference: None };
    let order = carrier.order(&req).await.unwrap();
    assert_eq!(order.status, OrderStatus::Pending);
    let done = settled(carrier.as_ref(), &order.id).await;
    assert_eq!(done.status, OrderStatus::Failure);
    assert!(matches!(carrier.number_status("+15552000200").await, Err(CarrierError::NotFound(_))));
    let q = SearchQuery { contains: Some("5552000200".into()), ..query("US", None, 5) };
    assert_eq!(carrier.search(&q).await.unwrap().len(), 1, "back in stock");
    let retry = carrier.order(&req).await.unwrap();
    assert_eq!(settled(carrier.as_ref(), &retry.id).await.status, OrderStatus::Success, "the knob fails one order");
}

#[tokio::test]
async fn owned_numbers_are_listed_across_pages() {
    let sim = Sim::start();
    let carrier = sim.carrier(fast_settings());
    let added = sim.admin("bulk", json!({ "count": 1234, "country": "US", "ndc": "700" })).await;
    assert_eq!(added["added"], 1234);

    let mut seen = HashSet::new();
    let mut page = 1;
    loop {
        let got = carrier.owned_numbers(PageRequest { page, size: 250 }).await.unwrap();
        assert_eq!(got.page, page);
        assert_eq!(got.total_pages, 5);
        assert_eq!(got.total_results, Some(1234));
        assert_eq!(got.numbers.len(), if page < 5 { 250 } else { 234 });
        for n in &got.numbers {
            assert_eq!(n.status, NumberStatus::Active);
            assert!(seen.insert(n.number.clone()), "{} listed twice", n.number);
        }
        if got.is_last() {
            break;
        }
        page += 1;
    }
    assert_eq!(seen.len(), 1234);
    let beyond = carrier.owned_numbers(PageRequest { page: 6, size: 250 }).await.unwrap();
    assert!(beyond.numbers.is_empty() && beyond.is_last());
    let clamped = carrier.owned_numbers(PageRequest { page: 1, size: 10_000 }).await.unwrap();
    assert_eq!(clamped.numbers.len(), 250, "page size clamped to Telnyx's maximum");
}

#[tokio::test]
async fn disconnect_and_carrier_side_changes_show_in_number_status() {
    let sim = Sim::start();
    let carrier = sim.carrier(fast_settings());
    sim.admin("orphans", json!({ "phone_numbers": ["+15552000010", "+15552000011", "+18002000001"] })).await;
    assert_eq!(carrier.number_status("+15552000010").await.unwrap(), NumberStatus::Active);
    let owned = carrier.owned_numbers(PageRequest { page: 1, size: 20 }).await.unwrap();
    let listed: Vec<_> = owned.numbers.iter().map(|n| n.number.as_str()).collect();
    assert_eq!(listed, ["+15552000010", "+15552000011", "+18002000001"], "orphans are listed as owned");

    carrier.disconnect("+15552000010").await.unwrap();
    assert!(matches!(carrier.number_status("+15552000010").await, Err(CarrierError::NotFound(_))));
    assert!(matches!(carrier.disconnect("+15552000010").await, Err(CarrierError::NotFound(_))));

    sim.admin("disconnect", json!({ "phone_number": "+15552000011" })).await;
    assert!(matches!(carrier.number_status("+15552000011").await, Err(CarrierError::NotFound(_))));
    let owned = carrier.owned_numbers(PageRequest { page: 1, size: 20 }).await.unwrap();
    assert_eq!(owned.numbers.iter().map(|n| n.number.as_str()).collect::<Vec<_>>(), ["+18002000001"]);
}
