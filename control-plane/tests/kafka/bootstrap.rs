//! Snapshot bootstrap on a real broker (docs/goals.md L7): a node that starts
//! from its snapshot file reads the topic only from the offsets recorded with
//! the file, and ends in the same state as a node that read everything.

use std::time::Duration;

use didroute_lookup::{Config, Node};
use didroute_shared::ChangeEvent;
use rdkafka::producer::{FutureProducer, FutureRecord};
use tokio::net::TcpListener;

use crate::helpers::*;
use crate::need_broker;
use crate::repeats::history;

/// Publishes `events` in order with a plain (not idempotent) producer:
/// tansu 0.6 drops the records of a second idempotent producer on a
/// partition (see relay.rs), and this test publishes in two rounds.
async fn publish(brokers: &str, topic: &str, events: &[ChangeEvent]) {
    let producer: FutureProducer = admin_config(brokers)
        .set("enable.idempotence", "false")
        .set("acks", "all")
        .set("max.in.flight.requests.per.connection", "1")
        .set("message.timeout.ms", "30000")
        .create()
        .unwrap();
    for e in events {
        let (key, payload) = (e.number.to_string(), e.encode());
        within("delivery", producer.send(FutureRecord::to(topic).key(&key).payload(&payload), Duration::from_secs(30)))
            .await
            .unwrap_or_else(|(e, _)| panic!("delivery failed: {e}"));
    }
}

async fn node(brokers: &str, topic: &str, snapshot: Option<std::path::PathBuf>) -> Node {
    let config = Config {
        kafka_brokers: Some(brokers.to_owned()),
        kafka_topic: topic.to_owned(),
        snapshot_path: snapshot,
        snapshot_interval_ms: 1_000,
        fold_interval_ms: 200,
        ..Config::default()
    };
    Node::start(&config, TcpListener::bind("127.0.0.1:0").await.unwrap()).await.expect("node starts")
}

#[tokio::test]
async fn a_node_bootstraps_from_its_snapshot_file_and_reads_only_the_rest_of_the_topic() {
    let brokers = need_broker!();
    let topic = new_topic(&brokers, 2).await;
    let events = history(40, 300, 7);
    let (first, rest) = events.split_at(200);
    publish(&brokers, &topic, first).await;
    let dir = std::env::temp_dir().join(format!("didroute-kafka-bootstrap-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("lookup.snapshot");

    // a node reads the topic and writes its file
    let one = node(&brokers, &topic, Some(path.clone())).await;
    ready(&one).await;
    applied(&one, 200).await;
    eventually("the snapshot file at 200", || {
        let seq = one.app().metrics().snapshot_written_seq.get();
        async move { seq >= 200 }
    })
    .await;
    let positions: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("lookup.snapshot.positions.json")).unwrap()).unwrap();
    assert_eq!((positions["seq"].as_u64(), positions["source"].as_str()), (Some(200), Some("kafka")), "{positions}");
    let offsets: i64 =
        positions["positions"]["offsets"].as_object().unwrap().values().map(|o| o.as_i64().unwrap()).sum();
    assert_eq!(offsets, 200, "every record of the first 200 is covered: {positions}");
    one.shutdown().await.unwrap();

    // more changes while no node runs
    publish(&brokers, &topic, rest).await;

    let two = node(&brokers, &topic, Some(path.clone())).await;
    ready(&two).await;
    applied(&two, 300).await;
    let read = two.app().metrics().events_applied.get() + two.app().metrics().events_stale.get();
    assert_eq!(read, 100, "the node read only the 100 records after its file");
    assert_eq!(two.app().metrics().snapshot_loads.get(), 1);

    // the same state as a node that read the whole topic
    let full = node(&brokers, &topic, None).await;
    ready(&full).await;
    applied(&full, 300).await;
    let numbers: Vec<_> = events.iter().map(|e| e.number).collect();
    assert_eq!(state_of(&two, &numbers), state_of(&full, &numbers));
    assert!(state_of(&full, &numbers).iter().any(Option::is_some), "the history leaves numbers allocated");

    // the bootstrapped node keeps tailing, and keeps its file current
    let last = history(40, 301, 7).pop().unwrap();
    let mut tail = last.clone();
    tail.seq = 301;
    tail.version = 10_000;
    publish(&brokers, &topic, &[tail]).await;
    applied(&two, 301).await;
    eventually("the snapshot file at 301", || {
        let seq = two.app().metrics().snapshot_written_seq.get();
        async move { seq >= 301 }
    })
    .await;
    for n in [two, full] {
        n.shutdown().await.unwrap();
    }
    std::fs::remove_dir_all(dir).unwrap();
}
