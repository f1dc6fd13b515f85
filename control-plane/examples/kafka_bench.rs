//! docs/goals.md L6 and L7 for the event paths (figures in BENCHMARKS.md, "Kafka
//! and feed (L6, L7)").
//!
//! L6: a change becomes visible at a lookup node after the control plane
//! answered the write, via Kafka (relay → topic → node) and via the HTTP
//! feed, while both nodes serve lookups. Visibility is the node's applied
//! position reaching the write's `seq` (the moment a lookup would answer
//! with the change), observed in-process without polling.
//!
//! L7: a lookup node's cold start to ready on a topic of 10M numbers, by
//! replaying the topic (`l7`) and by snapshot bootstrap (`l7boot`: a
//! 10M-number snapshot file with the topic positions it covers, and a tail
//! of L7_TAIL changes in the topic after it; the node loads the file, reads
//! the tail and is ready).
//!
//! Needs DATABASE_URL (for L6) and a broker in DIDROUTE_TEST_KAFKA_BROKERS:
//!
//! ```sh
//! bash -c '. scripts/pg.sh; . scripts/tansu.sh
//!   start_private_postgres bench -c fsync=off -c synchronous_commit=off; start_tansu
//!   cargo run --release -p didroute-control-plane --example kafka_bench -- l6 l7'
//! ```
//!
//! Options (environment): L6_CHANGES (default 3000), L7_NUMBERS (10000000),
//! L7_TAIL (100000).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use didroute_control_plane::config::{DbArgs, Settings};
use didroute_control_plane::db::{self, Db};
use didroute_control_plane::outbox::relay::{Relay, RelaySettings};
use didroute_control_plane::AppState;
use didroute_lookup::feed::kafka::{KafkaFeed, KafkaSettings};
use didroute_lookup::{Config, Node, TailerSettings};
use didroute_shared::{ChangeEvent, Country, Op, Route, Subsystem, E164};
use rand::{Rng, SeedableRng};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::json;
use tokio::net::TcpListener;

const TOKEN: &str = "bench-operator-token-0123456789";

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name}: n={} p50={:.2} ms p99={:.2} ms p99.9={:.2} ms max={:.2} ms",
        samples.len(),
        ms(percentile(&samples, 0.5)),
        ms(percentile(&samples, 0.99)),
        ms(percentile(&samples, 0.999)),
        ms(*samples.last().unwrap())
    );
}

async fn create_topic(brokers: &str, name: &str) {
    let admin: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", brokers).create().expect("admin");
    let topic = NewTopic::new(name, 1, TopicReplication::Fixed(1));
    for r in admin.create_topics([&topic], &AdminOptions::new()).await.expect("create topic") {
        r.expect("create topic");
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
}

async fn start_node_on(kafka: Option<(&str, &str)>, feed: &str) -> Node {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    match kafka {
        Some((brokers, topic)) => Node::start_with(
            KafkaFeed::new(KafkaSettings::new(brokers, topic)),
            TailerSettings::default(),
            Duration::from_secs(5),
            listener,
            addr,
        ),
        None => Node::start(&Config::new(feed, TOKEN), listener).await.expect("feed node"),
    }
}

/// Publishes `events` in order, 100,000 in flight at most, waiting out a
/// full producer queue; returns the bytes sent (keys and values).
async fn publish_all(producer: &FutureProducer, topic: &str, events: &[ChangeEvent]) -> usize {
    let mut bytes = 0usize;
    for chunk in events.chunks(100_000) {
        let mut pending = Vec::with_capacity(chunk.len());
        for e in chunk {
            let (key, payload) = (e.number.to_string(), e.encode());
            bytes += payload.len() + key.len();
            loop {
                match producer.send_result(FutureRecord::to(topic).key(&key).payload(&payload)) {
                    Ok(d) => {
                        pending.push(d);
                        break;
                    }
                    Err((KafkaError::MessageProduction(_), _)) => tokio::time::sleep(Duration::from_millis(2)).await,
                    Err((e, _)) => panic!("{e}"),
                }
            }
        }
        for d in pending {
            d.await.unwrap().map_err(|(e, _)| e).unwrap();
        }
    }
    bytes
}

/// L7 by snapshot bootstrap: the file a node (or a job) wrote at position
/// `count`, the changes published after it, and a node started from both.
async fn l7_boot(brokers: &str) {
    use didroute_lookup::snapshot::{BaseBuilder, Snapshot};
    use didroute_lookup::snapshot_files::SnapshotFiles;
    let count: usize = std::env::var("L7_NUMBERS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000_000);
    let tail: usize = std::env::var("L7_TAIL").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let topic = format!("didroute.bench.{}", uuid::Uuid::new_v4().simple());
    create_topic(brokers, &topic).await;
    let events = realistic(count);
    // the tail: remaps of random numbers, positions after the file's
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let later: Vec<ChangeEvent> = (0..tail)
        .map(|i| {
            let mut e = events[rng.gen_range(0..events.len())].clone();
            e.seq = (count + i + 1) as u64;
            e.version = e.seq;
            if let Some(r) = e.route.as_mut() {
                r.customer_label = format!("Remapped {i}");
            }
            e
        })
        .collect();
    let started = Instant::now();
    let mut builder = BaseBuilder::new();
    for e in events {
        builder.push_event(e);
    }
    let snapshot = Snapshot::from_base(Arc::new(builder.finish()), count as u64);
    let dir = std::env::temp_dir().join(format!("didroute-l7-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let files = SnapshotFiles { path: dir.join("lookup.snapshot"), interval: Duration::from_secs(3600) };
    // the topic holds only the tail, so the file covers offset 0 onwards
    files.write_snapshot(&snapshot, "kafka", json!({"topic": topic, "offsets": {"0": 0}}), None).unwrap();
    let size = std::fs::metadata(&files.path).unwrap().len();
    println!(
        "L7 bootstrap: wrote a snapshot file of {} numbers ({:.0} MB) in {:.1} s",
        snapshot.numbers(),
        size as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    drop(snapshot);
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("enable.idempotence", "true")
        .set("linger.ms", "20")
        .set("queue.buffering.max.messages", "1000000")
        .set("message.timeout.ms", "600000")
        .create()
        .unwrap();
    publish_all(&producer, &topic, &later).await;
    for round in 0..2 {
        let config = Config {
            kafka_brokers: Some(brokers.to_owned()),
            kafka_topic: topic.clone(),
            snapshot_path: Some(files.path.clone()),
            // the node rewrites the file once when ready (after the
            // measurement), so round 1 is a restart from the node's own file
            snapshot_interval_ms: 86_400_000,
            ..Config::default()
        };
        let started = Instant::now();
        let node = Node::start(&config, TcpListener::bind("127.0.0.1:0").await.unwrap()).await.unwrap();
        node.wait_ready().await;
        let took = started.elapsed();
        let s = node.app().store().load_full();
        println!(
            "L7 bootstrap round {round}: cold start to ready with {} numbers from the file plus {tail} changes in the topic: {:.2} s (seq {}, {} events read from Kafka, peak RSS so far {} MB)",
            s.numbers(),
            took.as_secs_f64(),
            s.seq(),
            node.app().metrics().events_applied.get() + node.app().metrics().events_stale.get(),
            peak_rss_mb()
        );
        node.shutdown().await.unwrap();
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// This process's peak resident set (VmHWM), in MB.
fn peak_rss_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .map_or(0, |kb: u64| kb / 1024)
}

/// Lookups against `node` until `stop`, counting answers.
fn load(node: &Node, numbers: Arc<Vec<String>>, stop: Arc<AtomicBool>, count: Arc<AtomicU64>) {
    let base = format!("http://{}", node.local_addr());
    for worker in 0..2u64 {
        let (base, numbers, stop, count) = (base.clone(), Arc::clone(&numbers), Arc::clone(&stop), Arc::clone(&count));
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut rng = rand::rngs::StdRng::seed_from_u64(worker);
            while !stop.load(Ordering::Relaxed) {
                let n = &numbers[rng.gen_range(0..numbers.len())];
                if let Ok(r) = http.get(format!("{base}/v1/routes/{}", n.replace('+', "%2B"))).send().await {
                    let _ = r.bytes().await;
                    count.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
}

async fn l6(brokers: &str) {
    let changes: usize = std::env::var("L6_CHANGES").ok().and_then(|v| v.parse().ok()).unwrap_or(3000);
    let admin = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let name = format!("didroute_bench_{}", uuid::Uuid::new_v4().simple());
    let pool = sqlx::PgPool::connect(&admin).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&pool).await.unwrap();
    let url = db::with_database(&admin, &name).unwrap();
    db::migrate(&url, None).await.unwrap();
    let args = DbArgs {
        database_url: None,
        app_database_url: None,
        operator_database_url: None,
        db_role_password: None,
        db_pool_size: 8,
        db_acquire_timeout_ms: 10_000,
    };
    let settings = Settings {
        operator_token: TOKEN.to_owned(),
        more_operator_tokens: Vec::new(),
        cooldown: Duration::from_secs(300),
        reclaim_window: Duration::from_secs(864_000),
        lifecycle_interval: None,
        tls: None,
        request_timeout: Duration::from_secs(10),
        max_in_flight: 1024,
        carriers: Vec::new(),
        carrier_job_interval: None,
        reconcile_interval: None,
    };
    let state = AppState::new(Db::connect(&args, &url).await.unwrap(), settings);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(didroute_control_plane::run(listener, state.clone(), std::future::pending()));
    let topic = format!("didroute.bench.{}", uuid::Uuid::new_v4().simple());
    create_topic(brokers, &topic).await;
    let relay = Relay::new(state.db.operator.clone(), RelaySettings::new(brokers, topic.clone()));
    tokio::spawn(relay.run(std::future::pending()));

    let http = reqwest::Client::new();
    let call = |method: reqwest::Method, path: &str, token: &str, body: serde_json::Value| {
        http.request(method, format!("{base}{path}")).bearer_auth(token).json(&body).send()
    };
    let t: serde_json::Value = call(reqwest::Method::POST, "/v1/tenants", TOKEN, json!({"name": "bench"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = t["id"].as_str().unwrap().to_owned();
    let k: serde_json::Value = call(reqwest::Method::POST, &format!("/v1/tenants/{id}/api-keys"), TOKEN, json!({}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = k["key"].as_str().unwrap().to_owned();
    call(reqwest::Method::POST, "/v1/inventory", TOKEN, json!({"numbers": "15550100000-15550100999", "country": "US"}))
        .await
        .unwrap();
    let numbers: Vec<String> = (0..200).map(|i| format!("+1555010{i:04}")).collect();
    for n in &numbers {
        let body = json!({"number": n, "subsystem": "utilities", "dashboard_id": "d", "customer_label": "start"});
        let r = call(reqwest::Method::POST, "/v1/numbers", &key, body).await.unwrap();
        assert_eq!(r.status(), 201);
    }
    let kafka_node = start_node_on(Some((brokers, &topic)), &base).await;
    let feed_node = start_node_on(None, &base).await;
    kafka_node.wait_ready().await;
    feed_node.wait_ready().await;

    let stop = Arc::new(AtomicBool::new(false));
    let served = Arc::new(AtomicU64::new(0));
    let numbers = Arc::new(numbers);
    load(&kafka_node, Arc::clone(&numbers), Arc::clone(&stop), Arc::clone(&served));
    load(&feed_node, Arc::clone(&numbers), Arc::clone(&stop), Arc::clone(&served));
    tokio::time::sleep(Duration::from_secs(1)).await;

    let (mut via_kafka, mut via_feed) = (Vec::with_capacity(changes), Vec::with_capacity(changes));
    let started = Instant::now();
    let served_before = served.load(Ordering::Relaxed);
    for i in 0..changes {
        let n = &numbers[i % numbers.len()];
        let mut kafka_seen = kafka_node.app().store().subscribe();
        let mut feed_seen = feed_node.app().store().subscribe();
        let r = http
            .patch(format!("{base}/v1/numbers/{}", n.replace('+', "%2B")))
            .bearer_auth(&key)
            .json(&json!({"customer_label": format!("change {i}")}))
            .send()
            .await
            .unwrap();
        let answered = Instant::now();
        let body: serde_json::Value = r.json().await.unwrap();
        let seq = body["seq"].as_u64().expect("seq");
        let (k, f) = tokio::join!(
            async {
                kafka_seen.wait_for(|s| *s >= seq).await.unwrap();
                answered.elapsed()
            },
            async {
                feed_seen.wait_for(|s| *s >= seq).await.unwrap();
                answered.elapsed()
            }
        );
        via_kafka.push(k);
        via_feed.push(f);
        // about 100 changes a second
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let lookups = served.load(Ordering::Relaxed) - served_before;
    println!(
        "L6: {changes} remaps in {:.1} s while the two nodes served {:.0} lookups/s (HTTP, 2 clients each)",
        elapsed.as_secs_f64(),
        lookups as f64 / elapsed.as_secs_f64()
    );
    report("L6 via Kafka (relay + topic + node)", via_kafka);
    report("L6 via HTTP feed (long poll)", via_feed);
}

/// Realistic numbering: blocks of 1,000 NANP numbers about 20% filled,
/// routes shared by many numbers.
fn realistic(count: usize) -> Vec<ChangeEvent> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    let tenants: Vec<uuid::Uuid> = (0..500).map(|_| uuid::Uuid::new_v4()).collect();
    let us = Country::parse("US").unwrap();
    let routes: Vec<Route> = (0..2000)
        .map(|i| Route {
            tenant_id: tenants[i % tenants.len()],
            subsystem: [Subsystem::Psap, Subsystem::Utilities, Subsystem::DocumentTelephony, Subsystem::Mdoc][i % 4],
            dashboard_id: format!("dash-{}", i % 97),
            customer_label: format!("Customer {i}"),
            country: us,
            friendly_name: None,
            organisation_id: None,
            auto_provisioned: false,
            locale: "en".into(),
            greeting_template: None,
            greeting_text: None,
            attributes: None,
            tracking: None,
        })
        .collect();
    let now = time::OffsetDateTime::now_utc();
    let mut out = Vec::with_capacity(count);
    let mut block = 0u64;
    while out.len() < count {
        // NPA 201-989, NXX 200-999
        let npa = 201 + (block / 800) % 789;
        let nxx = 200 + block % 800;
        block += 1;
        for line in 0..1000u64 {
            if out.len() >= count {
                break;
            }
            if rng.gen_bool(0.2) {
                let number = E164::parse(&format!("+1{npa}{nxx}{line:04}")).unwrap();
                let seq = out.len() as u64 + 1;
                out.push(ChangeEvent {
                    seq,
                    number,
                    version: seq,
                    op: Op::Upsert,
                    route: Some(routes[rng.gen_range(0..routes.len())].clone()),
                    at: now,
                    lineage: None,
                    range: None,
                });
            }
        }
    }
    out
}

async fn l7(brokers: &str) {
    let count: usize = std::env::var("L7_NUMBERS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000_000);
    let topic = format!("didroute.bench.{}", uuid::Uuid::new_v4().simple());
    create_topic(brokers, &topic).await;
    let events = realistic(count);
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("linger.ms", "20")
        .set("batch.size", "1000000")
        .set("queue.buffering.max.messages", "1000000")
        .set("message.timeout.ms", "600000")
        .create()
        .unwrap();
    let started = Instant::now();
    let bytes = publish_all(&producer, &topic, &events).await;
    println!("L7: produced {count} events ({:.0} MB) in {:.1} s", bytes as f64 / 1e6, started.elapsed().as_secs_f64());
    drop(events);
    for round in 0..2 {
        let started = Instant::now();
        let node = start_node_on(Some((brokers, &topic)), "http://127.0.0.1:1").await;
        node.wait_ready().await;
        let took = started.elapsed();
        let s = node.app().store().load_full();
        println!(
            "L7 round {round}: cold start to ready on Kafka with {} numbers: {:.2} s (seq {})",
            s.numbers(),
            took.as_secs_f64(),
            s.seq()
        );
        node.shutdown().await.unwrap();
    }
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt().with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into())).init();
    let brokers = std::env::var("DIDROUTE_TEST_KAFKA_BROKERS").expect("DIDROUTE_TEST_KAFKA_BROKERS");
    let args: Vec<String> = std::env::args().skip(1).collect();
    let all = args.is_empty();
    if all || args.iter().any(|a| a == "l6") {
        l6(&brokers).await;
    }
    if all || args.iter().any(|a| a == "l7") {
        l7(&brokers).await;
    }
    if all || args.iter().any(|a| a == "l7boot") {
        l7_boot(&brokers).await;
    }
}
