//! Range routes over Kafka: the relay publishes range events like number
//! events (key: the range's first number), and lookup nodes consuming the
//! topic answer a range's numbers from their range fst, a node that joins
//! late (catch-up build) as well as one that follows.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::*;
use crate::need_broker;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn range_routes_reach_lookup_nodes_over_kafka() {
    let brokers = need_broker!();
    let topic = new_topic(&brokers, 3).await;
    let app = spawn_app().await;
    let mut relay = spawn_relay(&app, relay_settings(&brokers, &topic));
    relay.active().await;
    let a = app.tenant("kafka range a").await;
    let b = app.tenant("kafka range b").await;
    app.import("12125556000-12125556099", "US").await;
    let first = start_node(kafka_settings(&brokers, &topic)).await;
    ready(&first).await;

    let (s, own) = app.allocate(&a, "+12125556007", "utilities").await;
    assert_eq!(s, StatusCode::CREATED, "{own}");
    let (s, ra) = app
        .op(
            Method::POST,
            &format!("/v1/tenants/{}/ranges", a.id),
            Some(json!({ "range": "12125556000-12125556049", "customer_label": "A range" })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{ra}");
    let (s, rb) = app
        .op(
            Method::POST,
            &format!("/v1/tenants/{}/ranges", b.id),
            Some(json!({ "range": "12125556050-12125556099", "subsystem": "psap" })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{rb}");
    let seq = rb["seq"].as_u64().unwrap();
    relay.published(seq).await;

    let (s, r) = route(&first, "+12125556010", seq).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!((r["source"].as_str(), r["customer_label"].as_str()), (Some("range"), Some("A range")), "{r}");
    let (_, r) = route(&first, "+12125556077", seq).await;
    assert_eq!((r["source"].as_str(), r["subsystem"].as_str()), (Some("range"), Some("psap")), "{r}");
    assert_eq!(r["tenant_id"], b.id.to_string());
    let (_, r) = route(&first, "+12125556007", seq).await;
    assert_eq!(r["source"], "number", "{r}");

    // deleted: the node stops answering for the range
    let (s, del) = app.op(Method::DELETE, &format!("/v1/ranges/{}", ra["id"]), None).await;
    assert_eq!(s, StatusCode::OK, "{del}");
    let seq = del["seq"].as_u64().unwrap();
    relay.published(seq).await;
    let (s, _) = route(&first, "+12125556010", seq).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // a node that reads the topic from the start builds the same
    let second = start_node(kafka_settings(&brokers, &topic)).await;
    ready(&second).await;
    applied(&second, seq).await;
    let (s, _) = route(&second, "+12125556010", seq).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, r) = route(&second, "+12125556077", seq).await;
    assert_eq!((s, r["source"].as_str()), (StatusCode::OK, Some("range")), "{r}");
    let (_, r) = route(&second, "+12125556007", seq).await;
    assert_eq!(r["source"], "number", "{r}");
}

/// A disabled number inside a range answers 404 at nodes on the topic (the
/// relay publishes its `block` event), a node that follows and one that
/// reads the topic from the start alike; re-enabled, the range answers for
/// it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_number_inside_a_range_routes_nowhere_over_kafka() {
    let brokers = need_broker!();
    let topic = new_topic(&brokers, 3).await;
    let app = spawn_app().await;
    let mut relay = spawn_relay(&app, relay_settings(&brokers, &topic));
    relay.active().await;
    let a = app.tenant("kafka blocked range").await;
    app.import("12125557000-12125557099", "US").await;
    let first = start_node(kafka_settings(&brokers, &topic)).await;
    ready(&first).await;
    let (s, ra) = app
        .op(Method::POST, &format!("/v1/tenants/{}/ranges", a.id), Some(json!({ "range": "12125557000-12125557099" })))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{ra}");
    let (s, off) = app.op(Method::PATCH, "/v1/inventory/+12125557010", Some(json!({ "disabled": true }))).await;
    assert_eq!(s, StatusCode::OK, "{off}");
    let (s, gone) = app
        .op(Method::PATCH, "/v1/inventory/+12125557020", Some(json!({ "provisioning_status": "purchase_failed" })))
        .await;
    assert_eq!(s, StatusCode::OK, "{gone}");
    let seq = gone["seq"].as_u64().unwrap();
    relay.published(seq).await;
    for n in ["+12125557010", "+12125557020"] {
        let (s, r) = route(&first, n, seq).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{n}: {r}");
    }
    let (s, r) = route(&first, "+12125557011", seq).await;
    assert_eq!((s, r["source"].as_str()), (StatusCode::OK, Some("range")), "{r}");

    let (s, on) = app.op(Method::PATCH, "/v1/inventory/+12125557010", Some(json!({ "disabled": false }))).await;
    assert_eq!(s, StatusCode::OK, "{on}");
    let seq = on["seq"].as_u64().unwrap();
    relay.published(seq).await;
    let (s, r) = route(&first, "+12125557010", seq).await;
    assert_eq!((s, r["source"].as_str()), (StatusCode::OK, Some("range")), "{r}");

    let second = start_node(kafka_settings(&brokers, &topic)).await;
    ready(&second).await;
    applied(&second, seq).await;
    let (s, _) = route(&second, "+12125557020", seq).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "a catch-up build keeps the block");
    let (s, r) = route(&second, "+12125557010", seq).await;
    assert_eq!((s, r["source"].as_str()), (StatusCode::OK, Some("range")), "{r}");
}
