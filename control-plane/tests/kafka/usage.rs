//! Usage over Kafka: a lookup node on the routes topic publishes its usage
//! batches to the usage topic, the control plane's consumer stores them, and
//! a batch delivered twice counts once.

use std::time::Duration;

use didroute_control_plane::usage_consumer::{self, UsageConsumerSettings};
use didroute_lookup::{Config, Node};
use rdkafka::producer::{FutureProducer, FutureRecord};
use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio::net::TcpListener;

use crate::helpers::*;
use crate::need_broker;

#[tokio::test]
async fn lookups_reach_usage_through_the_topic_and_a_redelivery_counts_once() {
    let brokers = need_broker!();
    let routes = new_topic(&brokers, 2).await;
    let usage_topic = new_topic(&brokers, 2).await;
    let app = spawn_app().await;
    let mut relay = spawn_relay(&app, relay_settings(&brokers, &routes));
    relay.active().await;
    let t = app.tenant("Usage over Kafka").await;
    app.import("+15550300000-+15550300009", "US").await;
    let seq = app.allocate_seq(&t, "+15550300001", "Kafka line").await;

    let settings = UsageConsumerSettings {
        brokers: brokers.clone(),
        topic: usage_topic.clone(),
        group: format!("usage-test-{}", uuid::Uuid::new_v4().simple()),
        properties: didroute_net::KafkaProperties::default(),
    };
    let consumer = tokio::spawn(usage_consumer::run(app.state.db.clone(), settings, std::future::pending()));

    let config = Config {
        kafka_brokers: Some(brokers.clone()),
        kafka_topic: routes.clone(),
        usage_topic: usage_topic.clone(),
        usage_flush_ms: 200,
        fold_interval_ms: 200,
        ..Config::default()
    };
    let node = Node::start(&config, TcpListener::bind("127.0.0.1:0").await.unwrap()).await.expect("node starts");
    ready(&node).await;
    for _ in 0..3 {
        assert_eq!(route(&node, "+15550300001", seq).await.0, StatusCode::OK);
    }
    let key = t.key.clone();
    let total = || async {
        app.call(Method::GET, "/v1/numbers/%2B15550300001/usage", Some(&key), None).await.1["total"].as_u64()
    };
    eventually("the node's batches are consumed", || async { total().await == Some(3) }).await;

    // a batch published twice (a retried send, a redelivery): counted once
    let now = time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap();
    let batch = json!({ "node_id": "elsewhere", "batch_id": "kafka-dup-1", "window_start": now, "window_end": now,
        "counts": [{ "number": "+15550300001", "lookups": 10 }] })
    .to_string();
    let producer: FutureProducer =
        admin_config(&brokers).set("enable.idempotence", "false").set("acks", "all").create().unwrap();
    for _ in 0..2 {
        within(
            "delivery",
            producer.send(FutureRecord::to(&usage_topic).key("kafka-dup-1").payload(&batch), Duration::from_secs(30)),
        )
        .await
        .unwrap_or_else(|(e, _)| panic!("delivery failed: {e}"));
    }
    // and a record that is no batch is skipped, not a stuck consumer
    within(
        "delivery",
        producer.send(FutureRecord::to(&usage_topic).key("kafka-dup-1").payload("not json"), Duration::from_secs(30)),
    )
    .await
    .unwrap_or_else(|(e, _)| panic!("delivery failed: {e}"));
    eventually("the batch is stored", || async { total().await == Some(13) }).await;
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM usage_batches WHERE batch_id = 'kafka-dup-1'")
        .fetch_one(&app.state.db.operator)
        .await
        .unwrap();
    assert_eq!(applied, 1);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(total().await, Some(13), "the second delivery counted nothing");

    node.shutdown().await.unwrap();
    consumer.abort();
    relay.kill();
}
