//! R7 on rdkafka's mock cluster, which stops the broker at exactly the
//! moment asked and keeps its log (unlike killing a memory-backed broker):
//! while it is down the control plane keeps accepting writes, the relay
//! marks nothing it could not deliver, lookup nodes keep serving their last
//! snapshot and report their lag; after it returns every change arrives.

use std::time::Duration;

use reqwest::{Method, StatusCode};

use crate::helpers::*;

/// The lag a node reports in `/metrics`.
async fn metric_lag(node: &didroute_lookup::Node) -> f64 {
    let text = reqwest::get(format!("http://{}/metrics", node.local_addr())).await.unwrap().text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("didroute_lookup_lag_seconds "))
        .expect("lag metric")
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_outage_under_write_load_loses_nothing() {
    let (mock, brokers) = mock_cluster(2);
    let topic = MOCK_TOPIC;

    let app = spawn_app().await;
    let mut settings = relay_settings(&brokers, topic);
    // deliveries fail within the outage, so the relay must resend them
    settings.properties.set("message.timeout.ms".into(), "1500".into());
    let mut relay = spawn_relay(&app, settings);
    let node = start_node(kafka_settings(&brokers, topic)).await;
    ready(&node).await;

    let t = app.tenant("metro").await;
    app.import("15550009000-15550009099", "US").await;
    let mut before = 0;
    for i in 0..5 {
        before = app.allocate_seq(&t, &format!("+155500090{i:02}"), "before").await;
    }
    relay.published(before).await;
    applied(&node, before).await;
    assert_eq!(get(&node, "/v1/snapshot").await.1["lag_seconds"], 0.0);

    mock.broker_down(-1).unwrap();
    let down_at = std::time::Instant::now();
    // writes keep being accepted
    let mut last = before;
    for i in 5..40 {
        last = app.allocate_seq(&t, &format!("+155500090{i:02}"), "during").await;
        if i % 5 == 0 {
            last = app.remap(&t, "+15550009000", &format!("during {i}")).await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // the node keeps serving what it had, and says it is behind
    eventually("the node reports lag", || async {
        let (_, info) = get(&node, "/v1/snapshot").await;
        info["lag_seconds"].as_f64().unwrap() >= 1.0 && metric_lag(&node).await >= 1.0
    })
    .await;
    let (s, r) = get(&node, "/v1/routes/+15550009001").await;
    assert_eq!((s, r["customer_label"].as_str()), (StatusCode::OK, Some("before")), "{r}");
    let (s, _) = get(&node, "/v1/routes/+15550009030").await;
    assert_eq!(s, StatusCode::NOT_FOUND, "not yet seen");
    let (s, _) = get(&node, "/healthz").await;
    assert_eq!(s, StatusCode::OK);
    // nothing undelivered is marked; a delivery failed and will be resent
    eventually("a delivery times out", || async { relay.status.borrow().delivery_failures > 0 }).await;
    assert!(app.unpublished().await >= (last - before) as i64, "rows written during the outage wait");
    assert_eq!(relay.status.borrow().published_through, before);
    let (s, _) = app.op(Method::GET, "/readyz", None).await;
    assert_eq!(s, StatusCode::OK, "the control plane stays ready");
    eprintln!("broker down for {:?}", down_at.elapsed());

    mock.broker_up(-1).unwrap();
    relay.published(last).await;
    assert_eq!(app.unpublished().await, 0);
    applied(&node, last).await;
    for i in 0..40 {
        let (s, r) = get(&node, &format!("/v1/routes/+155500090{i:02}")).await;
        assert_eq!(s, StatusCode::OK, "+155500090{i:02}: {r}");
    }
    let (_, r) = get(&node, "/v1/routes/+15550009000").await;
    assert_eq!(r["customer_label"], "during 35");
    eventually("lag back to zero", || async { get(&node, "/v1/snapshot").await.1["lag_seconds"] == 0.0 }).await;
    node.shutdown().await.unwrap();
}

/// A broker that refuses a batch: the relay marks nothing of it and
/// delivers it once the broker accepts again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_deliveries_are_not_marked() {
    use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};
    let (mock, brokers) = mock_cluster(1);
    let topic = MOCK_TOPIC;
    let app = spawn_app().await;
    let mut relay = spawn_relay(&app, relay_settings(&brokers, topic));
    let t = app.tenant("metro").await;
    app.import("15550009100-15550009109", "US").await;
    let first = app.allocate_seq(&t, "+15550009100", "a").await;
    relay.published(first).await;

    // the next produce requests fail with a non-retriable error
    mock.request_errors(RDKafkaApiKey::Produce, &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED; 3]);
    let second = app.allocate_seq(&t, "+15550009101", "b").await;
    eventually("the delivery is refused", || async { relay.status.borrow().delivery_failures > 0 }).await;
    assert!(relay.status.borrow().published_through < second);
    relay.published(second).await;
    assert_eq!(app.unpublished().await, 0);
    let records = read_topic(&brokers, topic);
    let seqs: Vec<u64> = records.iter().map(|r| r.event.seq).collect();
    assert_eq!(seqs, (1..=second).collect::<Vec<_>>());
}
