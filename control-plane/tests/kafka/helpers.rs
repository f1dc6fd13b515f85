//! The Kafka tests' shared pieces: the broker, topics, a control plane over
//! a fresh database, relays, lookup nodes on Kafka, and raw topic access.
//!
//! The broker is `DIDROUTE_TEST_KAFKA_BROKERS` (./scripts/test starts a tansu
//! broker with scripts/tansu.sh and sets it). Without it the tests that need
//! a real broker fail under CI (`CI` or `DIDROUTE_REQUIRE_KAFKA` set) and are
//! skipped with a message in a developer's shell. The tests on rdkafka's
//! mock cluster always run.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use didroute_control_plane::config::{DbArgs, Settings};
use didroute_control_plane::db::{self, Db};
use didroute_control_plane::relay::{Relay, RelaySettings, RelayStatus};
use didroute_control_plane::AppState;
use didroute_lookup::feed::kafka::{KafkaFeed, KafkaSettings};
use didroute_lookup::{Node, TailerSettings};
use didroute_shared::ChangeEvent;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch, Mutex};
use tokio::task::JoinHandle;
use uuid::Uuid;

pub const OPERATOR_TOKEN: &str = "test-operator-token-0123456789";

/// How long any one wait in these tests may take before it fails.
pub const PATIENCE: Duration = Duration::from_secs(60);

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

/// Fails the test when `f` does not finish within [`PATIENCE`].
pub async fn within<T>(what: &str, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(PATIENCE, f).await.unwrap_or_else(|_| panic!("timed out after {PATIENCE:?}: {what}"))
}

/// Polls `check` every 50 ms until it is true, failing after [`PATIENCE`].
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    within(what, async {
        while !check().await {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
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

// ----- control plane -----

/// Migrations create cluster-wide roles: one at a time per test process.
static MIGRATE: Mutex<()> = Mutex::const_new(());

pub fn admin_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A fresh, migrated database; returns its owner URL.
pub async fn fresh_database() -> String {
    let admin = admin_url();
    let name = format!("didroute_k_{}", Uuid::new_v4().simple());
    let pool = PgPool::connect(&admin).await.expect("connect to DATABASE_URL (is PostgreSQL running?)");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&pool).await.expect("create test database");
    pool.close().await;
    let url = db::with_database(&admin, &name).unwrap();
    let _guard = MIGRATE.lock().await;
    db::migrate(&url, None).await.expect("migrate");
    url
}

pub fn db_args(pool_size: u32) -> DbArgs {
    DbArgs {
        database_url: None,
        app_database_url: None,
        operator_database_url: None,
        db_role_password: None,
        db_pool_size: pool_size,
    }
}

pub fn settings() -> Settings {
    Settings {
        operator_token: OPERATOR_TOKEN.to_owned(),
        cooldown: Duration::from_secs(300),
        reclaim_window: Duration::from_secs(10 * 24 * 3600),
        lifecycle_interval: None,
    }
}

pub struct TestApp {
    pub base: String,
    pub state: AppState,
    pub http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

pub async fn spawn_app() -> TestApp {
    let owner_url = fresh_database().await;
    let db = Db::connect(&db_args(8), &owner_url).await.expect("connect pools");
    let state = AppState::new(db, settings());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, rx) = oneshot::channel::<()>();
    tokio::spawn(didroute_control_plane::run(listener, state.clone(), async {
        let _ = rx.await;
    }));
    TestApp { base, state, http: reqwest::Client::new(), stop: Some(stop) }
}

pub struct TestTenant {
    pub id: Uuid,
    pub key: String,
}

impl TestApp {
    pub async fn call(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{}", self.base, path)).bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        let text = res.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn op(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.call(method, path, OPERATOR_TOKEN, body).await
    }

    pub async fn tenant(&self, name: &str) -> TestTenant {
        let (s, t) = self.op(Method::POST, "/v1/tenants", Some(json!({ "name": name }))).await;
        assert_eq!(s, StatusCode::CREATED, "{t}");
        let id: Uuid = t["id"].as_str().unwrap().parse().unwrap();
        let (s, k) = self.op(Method::POST, &format!("/v1/tenants/{id}/api-keys"), None).await;
        assert_eq!(s, StatusCode::CREATED, "{k}");
        TestTenant { id, key: k["key"].as_str().unwrap().to_owned() }
    }

    pub async fn import(&self, numbers: &str, country: &str) {
        let body = json!({ "numbers": numbers, "country": country, "monthly_cost": 1.25 });
        let (s, body) = self.op(Method::POST, "/v1/inventory", Some(body)).await;
        assert_eq!(s, StatusCode::OK, "{body}");
    }

    /// Allocates `number`; returns the position of the change.
    pub async fn allocate(&self, t: &TestTenant, number: &str, label: &str) -> u64 {
        let body = json!({
            "number": number, "subsystem": "utilities", "dashboard_id": "dash-1", "customer_label": label
        });
        let (s, body) = self.call(Method::POST, "/v1/numbers", &t.key, Some(body)).await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
        body["seq"].as_u64().unwrap()
    }

    pub async fn remap(&self, t: &TestTenant, number: &str, label: &str) -> u64 {
        let path = format!("/v1/numbers/{}", number.replace('+', "%2B"));
        let (s, body) = self.call(Method::PATCH, &path, &t.key, Some(json!({ "customer_label": label }))).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        body["seq"].as_u64().unwrap()
    }

    pub async fn release(&self, t: &TestTenant, number: &str) -> u64 {
        let path = format!("/v1/numbers/{}/release", number.replace('+', "%2B"));
        let (s, body) = self.call(Method::POST, &path, &t.key, Some(json!({ "reason": "test" }))).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        body["seq"].as_u64().unwrap()
    }

    /// Outbox rows sequenced but not yet marked published.
    pub async fn unpublished(&self) -> i64 {
        didroute_control_plane::relay::backlog(&self.state.db.operator).await.unwrap()
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
    s.producer.push(("reconnect.backoff.max.ms".into(), "500".into()));
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
