//! Event lineage over the HTTP feed: a lookup node notices a database that
//! was restored (lineage rotated) or went back in time without a rotation,
//! stops applying, says why in `/readyz`, counts it, and keeps answering from
//! its last good snapshot; a node configured to rebuild does so.

use didroute_control_plane::outbox::lineage;
use didroute_lookup::{Config, Node};
use reqwest::StatusCode;
use serde_json::Value;
use tokio::net::TcpListener;

use crate::helpers::{eventually, spawn_app, within, TestApp};

/// A node following `app` with short long polls, `on_divergence` as given.
async fn node(app: &TestApp, on_divergence: &str) -> Node {
    let token = app.feed_token("lineage test node").await;
    let config =
        Config { feed_wait_ms: 200, on_divergence: on_divergence.to_owned(), ..Config::new(app.base.clone(), token) };
    let node = Node::start(&config, TcpListener::bind("127.0.0.1:0").await.unwrap()).await.expect("node starts");
    within("node ready", node.wait_ready()).await;
    node
}

async fn get(node: &Node, path: &str) -> (StatusCode, Value) {
    let res = reqwest::get(format!("http://{}{path}", node.local_addr())).await.unwrap();
    (res.status(), res.json().await.unwrap_or(Value::Null))
}

fn mismatches(node: &Node) -> u64 {
    node.app().metrics().lineage_mismatch.get()
}

#[tokio::test]
async fn a_rotated_lineage_stops_a_node_and_rebuilds_one_told_to() {
    let app = spawn_app().await;
    let tenant = app.tenant("Metro").await;
    app.import("+15550201000-+15550201009", "US").await;
    let seq = app.allocate_seq(&tenant, "+15550201000", "before the restore").await;
    let (stopping, rebuilding) = (node(&app, "stop").await, node(&app, "rebuild").await);
    let old = lineage::current(&app.state.db.operator).await.unwrap();
    for n in [&stopping, &rebuilding] {
        let (s, snapshot) = get(n, &format!("/v1/snapshot?min_seq={seq}")).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(snapshot["lineage"], old.id.to_string(), "the node records the lineage it holds");
    }

    let rotated = lineage::rotate(&app.state.db.operator).await.unwrap();
    assert_ne!(rotated.id, old.id);
    assert_eq!(rotated.emitted, 10, "every number's state again");
    app.state.advance_head(rotated.head_seq);
    let after = app.allocate_seq(&tenant, "+15550201001", "after the restore").await;

    // the node told to stop: not ready, says why, counts it, still answers
    eventually("the stopping node refuses the new lineage", || async { get(&stopping, "/readyz").await.0 == 503 })
        .await;
    let (_, ready) = get(&stopping, "/readyz").await;
    let detail = ready["detail"].as_str().unwrap();
    assert!(detail.contains(&rotated.id.to_string()) && detail.contains(&old.id.to_string()), "{detail}");
    assert!(mismatches(&stopping) >= 1);
    let (s, route) = get(&stopping, "/v1/routes/+15550201000").await;
    assert_eq!(
        (s, route["customer_label"].as_str()),
        (StatusCode::OK, Some("before the restore")),
        "last good snapshot"
    );
    let (s, _) = get(&stopping, "/v1/routes/+15550201001").await;
    assert_eq!(s, StatusCode::NOT_FOUND, "nothing of the new lineage applied");
    let (_, snapshot) = get(&stopping, "/v1/snapshot").await;
    assert!(snapshot["diverged"].as_str().is_some_and(|d| d.contains("lineage")), "{snapshot}");
    let metrics =
        reqwest::get(format!("http://{}/metrics", stopping.local_addr())).await.unwrap().text().await.unwrap();
    assert!(
        metrics.lines().any(|l| l.starts_with("didroute_lookup_lineage_mismatch_total ") && !l.ends_with(" 0")),
        "{metrics}"
    );

    // the node told to rebuild: ready again under the new lineage
    eventually("the rebuilding node serves the new lineage", || async {
        let (s, snapshot) = get(&rebuilding, &format!("/v1/snapshot?min_seq={after}&wait_ms=100")).await;
        s == StatusCode::OK && snapshot["lineage"] == rotated.id.to_string() && snapshot["diverged"].is_null()
    })
    .await;
    assert_eq!(get(&rebuilding, "/readyz").await.0, StatusCode::OK);
    let (s, route) = get(&rebuilding, "/v1/routes/+15550201001").await;
    assert_eq!((s, route["customer_label"].as_str()), (StatusCode::OK, Some("after the restore")));
    assert!(mismatches(&rebuilding) >= 1);
}

#[tokio::test]
async fn a_database_gone_back_in_time_without_a_rotation_is_noticed() {
    let app = spawn_app().await;
    let tenant = app.tenant("Metro").await;
    app.import("+15550202000-+15550202009", "US").await;
    let first = app.allocate_seq(&tenant, "+15550202000", "kept").await;
    let node = node(&app, "stop").await;
    let last = app.allocate_seq(&tenant, "+15550202001", "lost in the restore").await;
    let (s, _) = get(&node, &format!("/v1/routes/+15550202001?min_seq={last}")).await;
    assert_eq!(s, StatusCode::OK);

    // what a restore to an earlier point leaves: the later events gone, and
    // a control plane (restarted on it) whose head is the restored one
    let owner = sqlx::PgPool::connect(&app.owner_url).await.unwrap();
    sqlx::query("DELETE FROM outbox WHERE seq > $1").bind(first as i64).execute(&owner).await.unwrap();
    app.state.head.send_replace(first);
    eventually("the node notices the head behind it", || async { get(&node, "/readyz").await.0 == 503 }).await;
    let (_, ready) = get(&node, "/readyz").await;
    assert!(ready["detail"].as_str().unwrap().contains("behind"), "{ready}");
    assert!(mismatches(&node) >= 1);
    assert_eq!(get(&node, "/v1/routes/+15550202000").await.0, StatusCode::OK, "still answering");
}
