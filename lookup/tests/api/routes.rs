//! `GET /v1/routes/{number}`: found, not allocated, invalid.

use didroute_shared::E164;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn found_for_every_spelling() {
    let feed = FakeFeed::start().await;
    let n = num("+15551234567");
    feed.upsert(n, 1, utility(TENANT_A, "City Water"));
    let seq = feed.upsert(n, 2, psap(TENANT_A, "Metro 911"));
    feed.upsert(num("+15551234568"), 1, utility(TENANT_B, "Other"));
    let t = TestNode::ready(feed).await;
    let head = t.feed.head();

    let want = json!({
        "number": "+15551234567",
        "tenant_id": TENANT_A.to_string(),
        "subsystem": "psap",
        "dashboard_id": "dash-Metro 911",
        "customer_label": "Metro 911",
        "country": "US",
        "source": "number",
        "locale": "en",
        "friendly_name": "Metro 911 main line",
        "auto_provisioned": false,
        "greeting": {
            "kind": "emergency",
            "emergency_number": "911",
            "text": psap(TENANT_A, "Metro 911").greeting().text,
        },
        "version": 2,
        // Loaded by the initial catch-up: the base's position, which is at
        // or after the number's own change.
        "seq": head,
    });
    assert!(head >= seq);
    for spelling in ["+15551234567", "%2B15551234567", "%2b15551234567", "15551234567"] {
        let a = t.get(&format!("/v1/routes/{spelling}")).await;
        assert_eq!(a.status, 200, "{spelling}");
        assert_eq!(a.header("content-type"), Some("application/json"));
        assert_eq!(a.json(), want, "{spelling}");
        assert_eq!(a.seq(), head, "didroute-seq is the applied position");
    }
    t.stop().await;
}

#[tokio::test]
async fn not_allocated_is_404() {
    let feed = FakeFeed::start().await;
    let released = num("+15551230001");
    feed.upsert(released, 1, utility(TENANT_A, "Gone"));
    feed.delete(released, 2);
    let t = TestNode::ready(feed).await;
    for number in ["+15551239999", "%2B15551230001", "15551230001"] {
        let a = t.get(&format!("/v1/routes/{number}")).await;
        let p = a.problem(404);
        assert!(p["detail"].as_str().unwrap().contains("not allocated"), "{p}");
        assert_eq!(a.seq(), 2);
    }
    t.stop().await;
}

#[tokio::test]
async fn invalid_input_is_400_with_the_parser_reason() {
    let t = TestNode::ready(FakeFeed::start().await).await;
    for input in ["abc", "1555", "0015551234567", "%2B", "+1555-1234", "1234567890123456", "%2B%2B15551234567", ""] {
        let a = t.get(&format!("/v1/routes/{input}")).await;
        let p = a.problem(400);
        let reason = E164::parse(input).unwrap_err().to_string();
        assert!(p["detail"].as_str().unwrap().contains(&reason), "{input:?}: {p}");
        assert_eq!(a.seq(), 0, "errors carry the position too");
    }
    t.stop().await;
}

#[tokio::test]
async fn psap_lines_greet_with_the_emergency_number_others_with_the_label() {
    let feed = FakeFeed::start().await;
    feed.upsert(num("+15551110001"), 1, psap(TENANT_A, "Metro 911"));
    feed.upsert(num("+442079460001"), 1, route(TENANT_A, didroute_shared::Subsystem::Psap, "London", "GB"));
    feed.upsert(num("+15551110002"), 1, utility(TENANT_A, "City Water"));
    feed.upsert(num("+15551110003"), 1, route(TENANT_B, didroute_shared::Subsystem::Mdoc, "Dr Who", "US"));
    let t = TestNode::ready(feed).await;

    let us = t.get("/v1/routes/+15551110001").await.json();
    assert_eq!(us["greeting"]["kind"], "emergency");
    assert_eq!(us["greeting"]["emergency_number"], "911");
    let gb = t.get("/v1/routes/+442079460001").await.json();
    assert_eq!(gb["greeting"]["emergency_number"], "999");
    assert_eq!(gb["country"], "GB");
    for (number, label) in [("+15551110002", "City Water"), ("+15551110003", "Dr Who")] {
        let v = t.get(&format!("/v1/routes/{number}")).await.json();
        assert_eq!(v["greeting"]["kind"], "label");
        assert!(v["greeting"].get("emergency_number").is_none(), "{v}");
        assert!(v["greeting"]["text"].as_str().unwrap().contains(label), "{v}");
    }
    t.stop().await;
}
