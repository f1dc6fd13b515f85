//! Tracking sessions over Kafka: every lease start, end and expiry is an
//! event of the number the relay publishes, and a lookup node consuming the
//! topic answers a leased number with its session and, once the lease ends,
//! without it; a node that reads the topic from the start agrees.

use std::time::Duration;

use didroute_control_plane::service::lifecycle;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::*;
use crate::need_broker;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracking_leases_reach_lookup_nodes_over_kafka() {
    let brokers = need_broker!();
    let topic = new_topic(&brokers, 3).await;
    let app = spawn_app().await;
    let mut relay = spawn_relay(&app, relay_settings(&brokers, &topic));
    relay.active().await;
    let t = app.tenant("kafka tracking").await;
    app.import("12125559100-12125559103", "US").await;
    let first = start_node(kafka_settings(&brokers, &topic)).await;
    ready(&first).await;

    let body = json!({ "name": "Kafka pool", "numbers": ["+12125559100", "+12125559101"],
                       "lease_seconds": 1, "cooldown_seconds": 0 });
    let (s, pool) = app.call(Method::POST, "/v1/tracking-pools", Some(&t.key), Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{pool}");
    let path = format!("/v1/tracking-pools/{}/sessions", pool["id"].as_str().unwrap());
    let mut sessions = Vec::new();
    for v in ["kafka-visitor-1", "kafka-visitor-2"] {
        let (s, b) = app.call(Method::POST, &path, Some(&t.key), Some(json!({ "visitor_id": v }))).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        sessions.push(b);
    }
    let seq = sessions[1]["seq"].as_u64().unwrap();
    relay.published(seq).await;
    for s in &sessions {
        let (code, r) = route(&first, s["number"].as_str().unwrap(), seq).await;
        assert_eq!(code, StatusCode::OK, "{r}");
        assert_eq!(r["tracking"]["session_id"], s["session_id"], "{r}");
        assert_eq!(r["tracking"]["visitor_id"], s["visitor_id"], "{r}");
    }

    // one ends, the other expires by the lifecycle job: both events travel
    let sid = sessions[0]["session_id"].as_str().unwrap();
    let (s, ended) = app.call(Method::DELETE, &format!("/v1/tracking-sessions/{sid}"), Some(&t.key), None).await;
    assert_eq!(s, StatusCode::OK, "{ended}");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let report = lifecycle::run_once(&app.state.db).await.unwrap();
    assert_eq!(report.tracking_leases_expired, 1, "{report:?}");
    let head = didroute_control_plane::outbox::sequence_all(&app.state.db.operator).await.unwrap();
    relay.published(head).await;
    for node in [&first, &start_node(kafka_settings(&brokers, &topic)).await] {
        ready(node).await;
        applied(node, head).await;
        for s in &sessions {
            let n = s["number"].as_str().unwrap();
            let (code, r) = route(node, n, head).await;
            assert_eq!(code, StatusCode::OK, "{r}");
            assert!(r.get("tracking").is_none(), "{n}: {r}");
            let version: i64 = sqlx::query_scalar("SELECT version FROM numbers WHERE e164 = $1")
                .bind(n)
                .fetch_one(&app.state.db.operator)
                .await
                .unwrap();
            assert_eq!(r["version"].as_i64(), Some(version), "{n}: the node holds the number's last event");
        }
    }
}
