//! Kafka over TLS, as a managed cluster is reached: the relay and a lookup
//! node talk to tansu through a TLS-terminating proxy (socat) whose address
//! the broker advertises, with CA verification on (librdkafka's default
//! host-name check included); a wrong CA is refused. SASL: tansu 0.6 has
//! SCRAM (`--authentication`), but on its in-memory store no user can be
//! created (its own `tansu user create` is refused as unauthenticated), so
//! the SASL mechanisms are shown to be built into librdkafka and the
//! properties to reach it, not exercised against a broker.

use std::net::TcpListener as StdListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use didroute_lookup::feed::kafka::consumer_config;
use didroute_net::KafkaProperties;
use rdkafka::consumer::BaseConsumer;
use rdkafka::producer::BaseProducer;
use reqwest::StatusCode;

use crate::helpers::*;

/// tansu and the TLS proxy in front of it, stopped on drop.
struct TlsBroker {
    /// The TLS address: bootstrap servers for clients.
    brokers: String,
    /// tansu's own plain listener, for the test's set-up alone.
    plain: String,
    children: Vec<Child>,
}

impl Drop for TlsBroker {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `TANSU_BIN` (scripts/test sets it), else `tansu` on PATH or in
/// `$CARGO_HOME/bin`. Under CI a missing tansu fails the test.
fn tansu() -> Option<PathBuf> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    let found = std::env::var_os("TANSU_BIN")
        .map(PathBuf::from)
        .into_iter()
        .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()).map(|d| d.join("tansu")))
        .chain(home.map(|h| h.join("bin/tansu")))
        .find(|p| p.is_file());
    if found.is_none() {
        // the same rule as the broker the other tests use
        brokers()?;
        panic!("no tansu binary (TANSU_BIN, PATH or $CARGO_HOME/bin): ./scripts/test installs it");
    }
    found
}

async fn tls_broker(ca: &TestCa, dir: &std::path::Path) -> Option<TlsBroker> {
    let bin = tansu()?;
    let (plain_port, tls_port) = (free_port(), free_port());
    let plain = format!("127.0.0.1:{plain_port}");
    let brokers = format!("127.0.0.1:{tls_port}");
    let cert = ca.issue("broker", "DNS:localhost,IP:127.0.0.1", dir);
    let tansu = Command::new(&bin)
        .args(["broker", "--cluster-id", "didroute-tls"])
        .args(["--listener-url", &format!("tcp://{plain}")])
        .args(["--advertised-listener-url", &format!("tcp://{brokers}")])
        .args(["--storage-engine", "memory://tansu/"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start tansu");
    let socat = Command::new("socat")
        .arg(format!(
            "OPENSSL-LISTEN:{tls_port},bind=127.0.0.1,reuseaddr,fork,verify=0,cert={},key={}",
            cert.cert.display(),
            cert.key.display()
        ))
        .arg(format!("TCP:{plain}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start socat (the socat package)");
    let broker = TlsBroker { brokers, plain, children: vec![tansu, socat] };
    for addr in [broker.plain.clone(), broker.brokers.clone()] {
        eventually("listening", || {
            let addr = addr.clone();
            async move { tokio::net::TcpStream::connect(&addr).await.is_ok() }
        })
        .await;
    }
    Some(broker)
}

/// A topic created on tansu's plain listener.
fn create_topic(broker: &TlsBroker, topic: &str) {
    let out = Command::new(tansu().unwrap())
        .args(["topic", "create", "--broker", &format!("tcp://{}", broker.plain), "--partitions", "1", topic])
        .output()
        .unwrap();
    assert!(out.status.success(), "create topic: {}", String::from_utf8_lossy(&out.stderr));
}

fn ssl(ca: &TestCa) -> KafkaProperties {
    let mut p = KafkaProperties::default();
    p.set("security.protocol".into(), "SSL".into());
    p.set("ssl.ca.location".into(), ca.cert.display().to_string());
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_and_a_lookup_node_carry_events_over_verified_tls() {
    let (ca, other) = (TestCa::new("kafka-ca"), TestCa::new("not-the-kafka-ca"));
    let dir = tempfile::tempdir().unwrap();
    let Some(broker) = tls_broker(&ca, dir.path()).await else { return };
    let topic = format!("didroute.tls.{}", uuid::Uuid::new_v4().simple());
    create_topic(&broker, &topic);

    let app = spawn_app().await;
    let mut settings = relay_settings(&broker.brokers, &topic);
    settings.properties = ssl(&ca);
    let mut relay = spawn_relay(&app, settings);
    let mut node_settings = kafka_settings(&broker.brokers, &topic);
    node_settings.properties = ssl(&ca);
    let node = start_node(node_settings).await;
    ready(&node).await;

    let tenant = app.tenant("metro").await;
    app.import("+15550109000", "US").await;
    let seq = app.allocate_seq(&tenant, "+15550109000", "over tls").await;
    relay.published(seq).await;
    let (status, route) = route(&node, "+15550109000", seq).await;
    assert_eq!(status, StatusCode::OK, "{route}");
    assert_eq!(route["customer_label"], "over tls");

    // a node that does not trust the broker's CA never gets ready
    let mut wrong = kafka_settings(&broker.brokers, &topic);
    wrong.properties = ssl(&other);
    let blind = start_node(wrong).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (status, body) = get(&blind, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(!blind.app().status().is_ready());
}

#[test]
fn sasl_and_tls_properties_reach_librdkafka_which_has_them_built_in() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("client.properties");
    // what a managed cluster's console hands out, Java style
    std::fs::write(
        &file,
        "bootstrap.servers=ignored.example:9092\nsecurity.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\n\
         sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \
         username=\"relay\" password=\"pw-9f2c\";\n",
    )
    .unwrap();
    let vars = [("DIDROUTE_KAFKA_PROPERTY_CLIENT_RACK".to_owned(), "use1-az1".to_owned())];
    let props = KafkaProperties::from_sources(Some(&file), vars).unwrap();

    let mut node = didroute_lookup::feed::kafka::KafkaSettings::new("127.0.0.1:9", "t");
    node.properties = props.clone();
    let consumer = consumer_config(&node);
    let producer = didroute_control_plane::outbox::relay::producer_config("127.0.0.1:9", &props);
    for config in [&consumer, &producer] {
        assert_eq!(config.get("security.protocol"), Some("SASL_SSL"));
        assert_eq!(config.get("sasl.mechanism"), Some("SCRAM-SHA-512"));
        assert_eq!(config.get("sasl.username"), Some("relay"));
        assert_eq!(config.get("sasl.password"), Some("pw-9f2c"));
        assert_eq!(config.get("client.rack"), Some("use1-az1"));
        // DIDROUTE_KAFKA_BROKERS decides where, not the file
        assert_eq!(config.get("bootstrap.servers"), Some("127.0.0.1:9"));
    }
    assert_eq!(producer.get("enable.idempotence"), Some("true"), "the relay's guarantees win");
    // librdkafka takes them: SSL and SASL SCRAM, PLAIN and OAUTHBEARER are built in
    consumer.create::<BaseConsumer>().expect("SASL_SSL with SCRAM");
    producer.create::<BaseProducer>().expect("SASL_SSL with SCRAM");
    for mechanism in ["PLAIN", "SCRAM-SHA-256", "OAUTHBEARER"] {
        let mut c = consumer.clone();
        c.set("sasl.mechanism", mechanism);
        if let Err(e) = c.create::<BaseConsumer>() {
            panic!("{mechanism}: {e}");
        }
    }
    // a property librdkafka does not know fails at once, by name
    let mut bad = consumer.clone();
    bad.set("no.such.property", "1");
    let e = bad.create::<BaseConsumer>().err().expect("refused").to_string();
    assert!(e.contains("no.such.property"), "{e}");
    assert!(!format!("{props:?}").contains("pw-9f2c"), "Debug hides the password");
}
