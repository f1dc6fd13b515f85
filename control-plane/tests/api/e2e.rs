//! End to end: control plane and a lookup node on port 0 over a real
//! database; the lookup node tails the control plane's event feed.

use std::time::Duration;

use didroute_lookup::{Config, Node};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::net::TcpListener;

use crate::helpers::{spawn_app, TestApp};

async fn spawn_lookup(app: &TestApp) -> Node {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let token = app.feed_token("e2e lookup node").await;
    let node = Node::start(&Config::new(app.base.clone(), token), listener).await.expect("lookup node starts");
    tokio::time::timeout(Duration::from_secs(10), node.wait_ready()).await.expect("lookup node ready");
    node
}

/// GET on the lookup node; returns status, didroute-seq header and JSON.
async fn lookup(node: &Node, path: &str) -> (StatusCode, u64, Value) {
    let res = reqwest::get(format!("http://{}{}", node.local_addr(), path)).await.unwrap();
    let status = res.status();
    let seq = res.headers().get("didroute-seq").expect("didroute-seq header").to_str().unwrap().parse().unwrap();
    (status, seq, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn allocate_lookup_remap_release() {
    let app = spawn_app().await;
    let a = app.tenant("metro").await;
    let b = app.tenant("other").await;
    app.import("15550005000-15550005099;4420790000", "US").await;
    app.import("442079460000", "GB").await;
    let node = spawn_lookup(&app).await;

    // allocate and read it back through the lookup node (read-your-writes)
    let (s, body) = app.allocate(&a, "+15550005042", "psap").await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let seq = body["seq"].as_u64().unwrap();
    let (s, at, route) = lookup(&node, &format!("/v1/routes/+15550005042?min_seq={seq}")).await;
    assert_eq!(s, StatusCode::OK, "{route}");
    assert!(at >= seq);
    assert_eq!(route["number"], "+15550005042");
    assert_eq!(route["tenant_id"], a.id.to_string());
    assert_eq!(route["subsystem"], "psap");
    assert_eq!(route["dashboard_id"], "dispatch-east");
    assert_eq!(route["customer_label"], "Metro 911");
    assert_eq!(route["country"], "US");
    assert_eq!(route["greeting"]["kind"], "emergency");
    assert_eq!(route["greeting"]["emergency_number"], "911");
    // all three spellings
    for spelling in ["%2B15550005042", "15550005042"] {
        let (s, _, r) = lookup(&node, &format!("/v1/routes/{spelling}")).await;
        assert_eq!((s, &r["number"]), (StatusCode::OK, &json!("+15550005042")), "{spelling}");
    }
    let (s, _, ok) = lookup(&node, &format!("/v1/caller-id/{}/+15550005042", a.id)).await;
    assert_eq!((s, &ok["allowed"]), (StatusCode::OK, &json!(true)));
    let (s, _, no) = lookup(&node, &format!("/v1/caller-id/{}/+15550005042", b.id)).await;
    assert_eq!((s, &no["allowed"]), (StatusCode::OK, &json!(false)));

    // a UK PSAP line greets with the UK emergency number
    let (s, body) = app.allocate(&a, "+442079460000", "psap").await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let (_, _, uk) = lookup(&node, &format!("/v1/routes/+442079460000?min_seq={}", body["seq"])).await;
    assert_eq!(uk["greeting"]["emergency_number"], "999", "{uk}");

    // remap in place: same number, new subsystem and label greeting
    let (s, body) = app
        .call(
            Method::PATCH,
            "/v1/numbers/+15550005042",
            Some(&a.key),
            Some(json!({ "subsystem": "utilities", "customer_label": "City Water" })),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, _, route) = lookup(&node, &format!("/v1/routes/+15550005042?min_seq={}", body["seq"])).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(route["subsystem"], "utilities");
    assert_eq!(route["greeting"]["kind"], "label");
    assert!(route["greeting"]["text"].as_str().unwrap().contains("City Water"), "{route}");
    assert!(route.get("emergency_number").is_none());

    // the other tenant's key: 404 on every route naming the number, nothing changes
    for (method, path, body) in [
        (Method::GET, "/v1/numbers/+15550005042", None),
        (Method::PATCH, "/v1/numbers/+15550005042", Some(json!({ "dashboard_id": "x" }))),
        (Method::POST, "/v1/numbers/+15550005042/release", Some(json!({ "reason": "x" }))),
        (Method::GET, "/v1/numbers/+15550005042/history", None),
    ] {
        let (s, p) = app.call(method.clone(), path, Some(&b.key), body).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{method} {path}: {p}");
    }
    let (_, _, still) = lookup(&node, "/v1/routes/+15550005042").await;
    assert_eq!(still["subsystem"], "utilities");

    // release: the lookup node stops resolving it
    let (s, body) = app
        .call(
            Method::POST,
            "/v1/numbers/+15550005042/release",
            Some(&a.key),
            Some(json!({ "reason": "moved", "notes": "to new PBX" })),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, _, gone) = lookup(&node, &format!("/v1/routes/+15550005042?min_seq={}", body["seq"])).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{gone}");
    let (_, _, no) = lookup(&node, &format!("/v1/caller-id/{}/+15550005042", a.id)).await;
    assert_eq!(no["allowed"], false);

    // never allocated, and invalid input
    let (s, _, _) = lookup(&node, "/v1/routes/+15550005043").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, p) = lookup(&node, "/v1/routes/+1555abc").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(p["detail"].as_str().unwrap().contains("unexpected character"), "{p}");

    let (_, _, snap) = lookup(&node, "/v1/snapshot").await;
    assert_eq!(snap["numbers"], 1, "only the UK line still routes: {snap}");
    node.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_node_started_late_catches_up_before_it_is_ready() {
    let app = spawn_app().await;
    let a = app.tenant("metro").await;
    app.import("15550006000-15550006199", "US").await;
    let mut last = 0;
    for i in 0..150 {
        let (s, body) = app.allocate(&a, &format!("+1555000{}", 6000 + i), "mdoc").await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
        last = body["seq"].as_u64().unwrap();
    }
    let node = spawn_lookup(&app).await;
    // ready means caught up: no min_seq needed
    let (_, at, snap) = lookup(&node, "/v1/snapshot").await;
    assert!(at >= last, "ready at {at}, last write {last}");
    assert_eq!(snap["numbers"], 150, "{snap}");
    let (s, _, r) = lookup(&node, "/v1/routes/+15550006149").await;
    assert_eq!(s, StatusCode::OK, "{r}");
    node.shutdown().await.unwrap();
}
