//! Event lineage on Kafka: a topic that holds an older database's events,
//! then a new database's (a replaced or restored database relaying into the
//! same topic). A node that held the old history stops applying and says
//! why; a node configured to rebuild rebuilds from the new lineage alone.

use std::time::Duration;

use didroute_lookup::feed::kafka::KafkaFeed;
use didroute_lookup::feed::lineage::OnDivergence;
use didroute_lookup::{Node, TailerSettings};
use didroute_shared::wire::lookup::SnapshotAnswer;
use reqwest::StatusCode;
use tokio::net::TcpListener;

use crate::helpers::*;
use crate::need_broker;

async fn node(brokers: &str, topic: &str, on_divergence: OnDivergence) -> Node {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let tailer = TailerSettings { retry_max: Duration::from_millis(500), on_divergence, ..TailerSettings::default() };
    let source = KafkaFeed::new(kafka_settings(brokers, topic));
    Node::start_with(source, tailer, Duration::from_millis(200), listener, addr)
}

async fn snapshot(node: &Node) -> SnapshotAnswer {
    let (_, body) = get(node, "/v1/snapshot").await;
    serde_json::from_value(body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_topic_holding_an_older_databases_events_is_noticed() {
    let brokers = need_broker!();
    let topic = new_topic(&brokers, 1).await;
    let old = spawn_app().await;
    let mut old_relay = spawn_relay(&old, relay_settings(&brokers, &topic));
    old_relay.active().await;
    let t = old.tenant("metro").await;
    old.import("+15550301000-+15550301009", "US").await;
    let seq = old.allocate_seq(&t, "+15550301000", "old database").await;
    old_relay.published(seq).await;
    let stopping = node(&brokers, &topic, OnDivergence::Stop).await;
    let rebuilding = node(&brokers, &topic, OnDivergence::Rebuild).await;
    for n in [&stopping, &rebuilding] {
        ready(n).await;
        applied(n, seq).await;
    }
    let old_lineage = snapshot(&stopping).await.lineage.expect("the node holds a lineage");

    // the old database is gone; a new one relays into the same topic
    old_relay.kill();
    let new = spawn_app().await;
    let mut new_relay = spawn_relay(&new, relay_settings(&brokers, &topic));
    new_relay.active().await;
    let t = new.tenant("metro").await;
    new.import("+15550301000-+15550301009", "US").await;
    let seq = new.allocate_seq(&t, "+15550301005", "new database").await;
    new_relay.published(seq).await;
    let new_lineage = didroute_control_plane::outbox::lineage::current(&new.state.db.operator).await.unwrap().id;
    assert_ne!(new_lineage, old_lineage);

    eventually("the stopping node refuses the other lineage", || async { get(&stopping, "/readyz").await.0 == 503 })
        .await;
    let (_, ready_answer) = get(&stopping, "/readyz").await;
    assert!(ready_answer["detail"].as_str().unwrap().contains(&new_lineage.to_string()), "{ready_answer}");
    assert!(stopping.app().metrics().lineage_mismatch.get() >= 1);
    let (s, r) = route(&stopping, "+15550301000", 0).await;
    assert_eq!((s, r["customer_label"].as_str()), (StatusCode::OK, Some("old database")), "last good snapshot");
    let (s, _) = get(&stopping, "/v1/routes/%2B15550301005").await;
    assert_eq!(s, StatusCode::NOT_FOUND, "nothing of the other lineage applied");

    eventually("the rebuilding node serves the new database alone", || async {
        let s = snapshot(&rebuilding).await;
        s.lineage == Some(new_lineage) && s.diverged.is_none() && s.ready
    })
    .await;
    let (s, r) = get(&rebuilding, "/v1/routes/%2B15550301005").await;
    assert_eq!((s, r["customer_label"].as_str()), (StatusCode::OK, Some("new database")), "{r}");
    let (s, _) = get(&rebuilding, "/v1/routes/%2B15550301000").await;
    assert_eq!(s, StatusCode::NOT_FOUND, "the old database's route is not the new one's");
    assert_eq!(get(&rebuilding, "/readyz").await.0, StatusCode::OK);
}
