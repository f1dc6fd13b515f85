//! The Kafka tests' own pieces: the broker, topics, relays, lookup nodes on
//! Kafka, and raw topic access; the control plane (`spawn_app()`) and the
//! bounded waits come from the shared harness, re-exported here.
//!
//! The broker is `DIDROUTE_TEST_KAFKA_BROKERS` (./scripts/test starts a tansu
//! broker with scripts/tansu.sh and sets it). Without it the tests that need
//! a real broker fail under CI (`CI` or `DIDROUTE_REQUIRE_KAFKA` set) and are
//! skipped with a message in a developer's shell. The tests on rdkafka's
//! mock cluster always run.

use std::collections::HashMap;
use std::time::Duration;

use didroute_control_plane::outbox::relay::{Relay, RelaySettings, RelayStatus};
use didroute_lookup::feed::kafka::{KafkaFeed, KafkaSettings};
use didroute_lookup::{Node, TailerSettings};
use didroute_shared::ChangeEvent;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{DefaultProducerContext, FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use reqwest::StatusCode;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

pub use didroute_test_support::*;

/// The real broker, or `None` (after saying so) in a developer's shell
/// without one. Panics under CI: there the broker must be had.
pub fn brokers() -> Option<String> {
    match std::env::var("DIDROUTE_TEST_KAFKA_BROKERS") {
        Ok(b) if !b.trim().is_empty() => Some(b),
        _ => {
            let required = ["CI", "DIDROUTE_REQUIRE_KAFKA"]
                .iter()
                .any(|v| std::env::var(v).is_ok_and(|s| !s.is_empty() && s != "0" && s != "false"));
            if required {
                panic!(
                    "DIDROUTE_TEST_KAFKA_BROKERS is not set, but CI/DIDROUTE_REQUIRE_KAFKA requires the Kafka \
                     tests to run: ./scripts/test starts a tansu broker with scripts/tansu.sh and sets it"
                );
            }
            eprintln!(
                "SKIPPED: DIDROUTE_TEST_KAFKA_BROKERS is not set, so this test needs a Kafka broker it does not \
                 have. Run ./scripts/test (it starts a tansu broker), or `eval $(scripts/tansu.sh --env)` first."
            );
            None
        }
    }
}

/// Skips the test (see [`brokers`]) when there is no broker.
#[macro_export]
macro_rules! need_broker {
    () => {
        match $crate::helpers::brokers() {
            Some(b) => b,
            None => return,
        }
    };
}

pub fn admin_config(brokers: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", brokers);
    c
}

/// A topic of its own for one test.
pub async fn new_topic(brokers: &str, partitions: i32) -> String {
    let name = format!("didroute.test.{}", Uuid::new_v4().simple());
    let admin: AdminClient<DefaultClientContext> = admin_config(brokers).create().expect("admin client");
    let topic = NewTopic::new(&name, partitions, TopicReplication::Fixed(1));
    let res = within("create topic", admin.create_topics([&topic], &AdminOptions::new())).await.expect("create topic");
    for r in res {
        r.unwrap_or_else(|(t, e)| panic!("cannot create topic {t}: {e}"));
    }
    // until the broker lists it with its partitions
    let consumer: BaseConsumer = admin_config(brokers).create().unwrap();
    let n = name.clone();
    eventually("topic visible", || {
        let ok = consumer
            .fetch_metadata(Some(n.as_str()), Duration::from_secs(2))
            .ok()
            .and_then(|m| {
                m.topics()
                    .iter()
                    .find(|t| t.name() == n)
                    .map(|t| t.error().is_none() && t.partitions().len() == partitions as usize)
            })
            .unwrap_or(false);
        async move { ok }
    })
    .await;
    name
}

/// The topic of the tests on rdkafka's mock cluster.
pub const MOCK_TOPIC: &str = "didroute.routes.v1";

/// rdkafka's in-process mock cluster (one broker) holding [`MOCK_TOPIC`]
/// with `partitions`, and its bootstrap servers; the cluster lives as long
/// as the value returned.
pub fn mock_cluster(partitions: i32) -> (MockCluster<'static, DefaultProducerContext>, String) {
    let mock = MockCluster::new(1).expect("mock cluster");
    let brokers = mock.bootstrap_servers();
    mock.create_topic(MOCK_TOPIC, partitions, 1).unwrap();
    (mock, brokers)
}

/// One record as read back from a topic.
#[derive(Debug, Clone)]
pub struct Stored {
    pub partition: i32,
    pub offset: i64,
    pub key: String,
    pub event: ChangeEvent,
}

/// Every record of `topic`, per partition in offset order.
pub fn read_topic(brokers: &str, topic: &str) -> Vec<Stored> {
    let consumer: BaseConsumer = admin_config(brokers)
        .set("group.id", format!("didroute-test-{}", Uuid::new_v4().simple()))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .create()
        .unwrap();
    let meta = consumer.fetch_metadata(Some(topic), Duration::from_secs(5)).unwrap();
    let parts: Vec<i32> = meta.topics()[0].partitions().iter().map(|p| p.id()).collect();
    let mut ends = HashMap::new();
    let mut tpl = TopicPartitionList::new();
    for &p in &parts {
        let (low, high) = consumer.fetch_watermarks(topic, p, Duration::from_secs(5)).unwrap();
        if high > low {
            ends.insert(p, high);
            tpl.add_partition_offset(topic, p, Offset::Offset(low)).unwrap();
        }
    }
    let mut out = Vec::new();
    if ends.is_empty() {
        return out;
    }
    consumer.assign(&tpl).unwrap();
    let deadline = std::time::Instant::now() + PATIENCE;
    while !ends.is_empty() {
        assert!(std::time::Instant::now() < deadline, "reading {topic} back timed out");
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                let key = String::from_utf8(m.key().unwrap().to_vec()).unwrap();
                let event = ChangeEvent::decode(m.payload().unwrap()).unwrap();
                if ends.get(&m.partition()).is_some_and(|&end| m.offset() + 1 >= end) {
                    ends.remove(&m.partition());
                }
                out.push(Stored { partition: m.partition(), offset: m.offset(), key, event });
            }
            // the high watermarks fetched first say where the end is
            Some(Err(KafkaError::PartitionEOF(_))) => {}
            Some(Err(e)) => eprintln!("while reading back: {e}"),
            None => {}
        }
    }
    out
}

/// [`read_topic`] again until it returns at least `count` records (or
/// [`PATIENCE`] runs out): right after an acknowledged produce a broker's
/// high watermark can trail it for a moment (tansu once reported 33 of 34
/// positions), and the watermark is where `read_topic` stops.
pub fn read_topic_at_least(brokers: &str, topic: &str, count: usize) -> Vec<Stored> {
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        let records = read_topic(brokers, topic);
        if records.len() >= count || std::time::Instant::now() >= deadline {
            return records;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Produces `events` in the order given (key = number), waiting for every
/// delivery.
pub async fn produce(brokers: &str, topic: &str, events: &[ChangeEvent]) {
    let producer: FutureProducer = admin_config(brokers)
        .set("linger.ms", "5")
        .set("enable.idempotence", "true")
        .set("message.timeout.ms", "30000")
        .create()
        .unwrap();
    for chunk in events.chunks(5000) {
        let mut pending = Vec::with_capacity(chunk.len());
        for e in chunk {
            let key = e.number.to_string();
            let payload = e.encode();
            loop {
                match producer.send_result(FutureRecord::to(topic).key(&key).payload(&payload)) {
                    Ok(d) => {
                        pending.push(d);
                        break;
                    }
                    Err((KafkaError::MessageProduction(rdkafka::types::RDKafkaErrorCode::QueueFull), _)) => {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    Err((e, _)) => panic!("produce: {e}"),
                }
            }
        }
        for d in pending {
            within("delivery", d).await.unwrap().unwrap_or_else(|(e, _)| panic!("delivery failed: {e}"));
        }
    }
}

// ----- relays -----

pub struct TestRelay {
    pub status: watch::Receiver<RelayStatus>,
    pub task: JoinHandle<anyhow::Result<()>>,
}

impl TestRelay {
    /// Waits until this relay has published through `seq`.
    pub async fn published(&mut self, seq: u64) {
        within(&format!("relay publishes through {seq}"), self.status.wait_for(|s| s.published_through >= seq))
            .await
            .expect("relay status");
    }

    pub async fn active(&mut self) {
        within("relay active", self.status.wait_for(|s| s.active)).await.expect("relay status");
    }

    /// Ends the relay as a crash would: its task (and its connection, so
    /// its lock) is dropped mid-flight.
    pub fn kill(&self) {
        self.task.abort();
    }
}

pub fn relay_settings(brokers: &str, topic: &str) -> RelaySettings {
    let mut s = RelaySettings::new(brokers, topic);
    s.tick = Duration::from_millis(100);
    s.retry_max = Duration::from_secs(1);
    s.properties.set("reconnect.backoff.max.ms".into(), "500".into());
    s
}

pub fn spawn_relay(app: &TestApp, settings: RelaySettings) -> TestRelay {
    let relay = Relay::new(app.state.db.operator.clone(), settings);
    let status = relay.status();
    let task = tokio::spawn(relay.run(std::future::pending()));
    TestRelay { status, task }
}

// ----- lookup nodes -----

pub fn kafka_settings(brokers: &str, topic: &str) -> KafkaSettings {
    let mut s = KafkaSettings::new(brokers, topic);
    s.probe_interval = Duration::from_millis(200);
    s.probe_timeout = Duration::from_millis(1000);
    s.contact_timeout = Duration::from_secs(3);
    s.wait = Duration::from_millis(300);
    s
}

/// A lookup node consuming `topic` (not waited on: see [`ready`]).
pub async fn start_node(settings: KafkaSettings) -> Node {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let tailer = TailerSettings { retry_max: Duration::from_millis(500), ..TailerSettings::default() };
    Node::start_with(KafkaFeed::new(settings), tailer, Duration::from_millis(200), listener, addr)
}

pub async fn ready(node: &Node) {
    within("lookup node ready", node.wait_ready()).await;
}

/// Waits until the node has applied position `seq`.
pub async fn applied(node: &Node, seq: u64) {
    let mut rx = node.app().store().subscribe();
    within(&format!("node applies {seq}"), rx.wait_for(|s| *s >= seq)).await.expect("store");
}

/// GET on a lookup node: status and JSON.
pub async fn get(node: &Node, path: &str) -> (StatusCode, Value) {
    let res = reqwest::get(format!("http://{}{}", node.local_addr(), path)).await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

pub async fn route(node: &Node, number: &str, min_seq: u64) -> (StatusCode, Value) {
    get(node, &format!("/v1/routes/{}?min_seq={min_seq}&wait_ms=20000", number.replace('+', "%2B"))).await
}

/// What a node holds for each of `numbers`: (version, label) or None.
pub fn state_of(node: &Node, numbers: &[didroute_shared::E164]) -> Vec<Option<(u64, String, Uuid)>> {
    let snapshot = node.app().store().load_full();
    numbers
        .iter()
        .map(|&n| snapshot.get(n).map(|h| (h.version, h.route().customer_label.clone(), h.route().tenant_id)))
        .collect()
}
