//! The node's own endpoints, its feed requests, and starting and stopping.

use std::time::Duration;

use didroute_lookup::{Config, Node, NodeError};
use serde_json::json;
use tokio::net::TcpListener;

use crate::support::*;

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("no {name} in\n{text}"))
        .parse()
        .unwrap()
}

#[tokio::test]
async fn health_snapshot_and_metrics() {
    let feed = FakeFeed::start().await;
    for i in 0..5 {
        feed.upsert(num(&format!("+155599900{i:02}")), 1, utility(TENANT_A, "Same route"));
    }
    feed.delete(num("+15559990000"), 2);
    let t = TestNode::ready(feed).await;

    let h = t.get("/healthz").await;
    assert_eq!((h.status, h.json()), (200, json!({"status": "ok"})));
    let r = t.get("/readyz").await;
    assert_eq!(r.status, 200);

    let s = t.get("/v1/snapshot").await;
    assert_eq!(s.status, 200);
    assert_eq!(s.seq(), 6);
    let v = s.json();
    assert_eq!(v["seq"], 6);
    assert_eq!(v["numbers"], 4);
    assert_eq!(v["source"], "feed");
    assert_eq!(v["lag_seconds"], 0.0);
    let built_at = v["built_at"].as_str().unwrap();
    let built_at = time::OffsetDateTime::parse(built_at, &time::format_description::well_known::Rfc3339).unwrap();
    assert!((time::OffsetDateTime::now_utc() - built_at).whole_seconds().abs() < 60);

    for _ in 0..3 {
        t.get("/v1/routes/+15559990001").await;
    }
    t.get("/v1/routes/+15559990000").await;
    t.get("/v1/routes/nope").await;
    t.get(&format!("/v1/caller-id/{TENANT_A}/+15559990001")).await;
    let m = t.get("/metrics").await;
    assert_eq!(m.status, 200);
    assert!(m.header("content-type").unwrap().starts_with("text/plain"));
    let text = String::from_utf8(m.body).unwrap();
    assert_eq!(metric(&text, "didroute_lookup_requests_total{outcome=\"found\"}"), 3.0);
    assert_eq!(metric(&text, "didroute_lookup_requests_total{outcome=\"not_found\"}"), 1.0);
    assert_eq!(metric(&text, "didroute_lookup_requests_total{outcome=\"invalid\"}"), 1.0);
    assert_eq!(metric(&text, "didroute_lookup_caller_id_requests_total{outcome=\"allowed\"}"), 1.0);
    assert_eq!(metric(&text, "didroute_lookup_applied_seq"), 6.0);
    assert_eq!(metric(&text, "didroute_lookup_numbers"), 4.0);
    assert_eq!(metric(&text, "didroute_lookup_ready"), 1.0);
    assert!(metric(&text, "didroute_lookup_snapshot_builds_total") >= 1.0);
    assert!(metric(&text, "didroute_lookup_snapshot_build_seconds_count") >= 1.0);
    for name in
        ["didroute_lookup_lag_seconds", "didroute_lookup_overlay_entries", "didroute_lookup_events_rejected_total"]
    {
        metric(&text, name);
    }
    t.stop().await;
}

#[tokio::test]
async fn invalid_events_are_rejected_and_counted_not_fatal() {
    let feed = FakeFeed::start().await;
    feed.upsert(num("+15559991001"), 1, utility(TENANT_A, "Good"));
    feed.push_raw(json!({"seq": 2, "number": "not a number", "version": 1, "op": "delete", "route": null, "at": "2024-01-01T00:00:00Z"}));
    let t = TestNode::ready(feed).await;
    // After the catch-up too: an upsert without a route, a route in the
    // wrong country, and plain garbage.
    t.feed.push_raw(json!({"seq": 3, "number": "+15559991002", "version": 1, "op": "upsert", "route": null, "at": "2024-01-01T00:00:00Z"}));
    let mut wrong_country =
        serde_json::to_value(FakeFeed::event(4, num("+15559991003"), 1, Some(utility(TENANT_A, "x")))).unwrap();
    wrong_country["route"]["country"] = json!("GB");
    t.feed.push_raw(wrong_country);
    t.feed.push_raw(json!("garbage"));
    let seq = t.feed.upsert(num("+15559991004"), 1, utility(TENANT_A, "Also good"));
    t.applied(seq).await;

    assert_eq!(t.get("/v1/routes/+15559991001").await.status, 200);
    assert_eq!(t.get("/v1/routes/+15559991004").await.status, 200);
    for bad in ["+15559991002", "+15559991003"] {
        t.get(&format!("/v1/routes/{bad}")).await.problem(404);
    }
    let text = String::from_utf8(t.get("/metrics").await.body).unwrap();
    assert_eq!(metric(&text, "didroute_lookup_events_rejected_total"), 4.0);
    assert_eq!(t.get("/v1/snapshot").await.json()["seq"], 6);
    t.stop().await;
}

#[tokio::test]
async fn sends_the_token_and_pages_as_configured() {
    let feed = FakeFeed::start().await;
    for i in 0..10 {
        feed.upsert(num(&format!("+155599920{i:02}")), 1, utility(TENANT_A, "Paged"));
    }
    let t = TestNode::ready(feed).await;
    assert_eq!(t.feed.unauthorized(), 0);
    assert!(t.feed.requests() >= 4, "10 events in pages of 3: {}", t.feed.requests());
    assert_eq!(t.feed.max_seen("limit"), 3);
    let seq = t.feed.upsert(num("+15559992099"), 1, utility(TENANT_A, "Polled"));
    t.applied(seq).await;
    assert_eq!(t.feed.max_seen("wait_ms"), 2_000, "follows with long polls");
    t.stop().await;
}

#[tokio::test]
async fn run_serves_until_shutdown() {
    let feed = FakeFeed::start().await;
    feed.upsert(num("+15559993001"), 1, utility(TENANT_A, "Run"));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let cfg = config(&feed);
    let running = tokio::spawn(didroute_lookup::run(cfg, listener, async {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::new();
    let url = format!("http://{addr}/v1/routes/+15559993001");
    let mut status = 0;
    for _ in 0..200 {
        status = http.get(&url).send().await.unwrap().status().as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(status, 200);
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), running).await.expect("stops promptly").unwrap().unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "the listener is closed");
}

#[tokio::test]
async fn start_refuses_a_bad_config() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let cfg = Config { feed_token: None, operator_token: None, ..Config::default() };
    let err = Node::start(&cfg, listener).await.err().expect("refused");
    assert!(matches!(err, NodeError::Config(_)));
    assert!(err.to_string().contains("DIDROUTE_FEED_TOKEN"), "{err}");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = Node::start(&Config::new("ftp://cp.example", "t"), listener).await.err().expect("refused");
    assert!(err.to_string().contains("DIDROUTE_FEED_URL"), "{err}");
}

/// With DIDROUTE_LOOKUP_TOKENS the node answers `/v1/*` only to a request
/// bearing one of them; health, readiness, metrics and the document stay open.
#[tokio::test]
async fn lookup_tokens_guard_the_v1_routes_only() {
    const READER: &str = "ivr-prewarmer-token-0001";
    const ROTATED: &str = "ivr-prewarmer-token-0002";
    let feed = FakeFeed::start().await;
    feed.upsert(num("+15559990100"), 1, utility(TENANT_A, "Guarded"));
    let cfg = Config { lookup_tokens: Some(format!("{READER}, {ROTATED}")), ..config(&feed) };
    let t = TestNode::start_with(feed, cfg).await;
    tokio::time::timeout(Duration::from_secs(10), t.node().wait_ready()).await.expect("ready");
    let get = |path: &str, token: Option<&str>| {
        let mut req = t.http.get(format!("{}{}", t.base, path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        async move { req.send().await.unwrap() }
    };
    let caller_id = format!("/v1/caller-id/{TENANT_A}/+15559990100");
    let paths = ["/v1/routes/+15559990100", caller_id.as_str(), "/v1/snapshot"];
    for path in paths {
        for token in [None, Some("ivr-prewarmer-token-000"), Some("ivr-prewarmer-token-00011")] {
            let r = get(path, token).await;
            assert_eq!(r.status(), 401, "{path} with {token:?}");
            assert_eq!(r.headers()["content-type"], "application/problem+json");
        }
        for token in [READER, ROTATED] {
            assert_eq!(get(path, Some(token)).await.status(), 200, "{path}");
        }
    }
    for open in ["/healthz", "/readyz", "/metrics", "/openapi.json"] {
        assert_eq!(get(open, None).await.status(), 200, "{open}");
    }
    let short = Config {
        lookup_tokens: Some("long-enough-token-000,short".into()),
        ..Config::new("http://127.0.0.1:1", TOKEN)
    };
    assert_eq!(
        short.validate().unwrap_err().to_string(),
        "DIDROUTE_LOOKUP_TOKENS: token 2 is shorter than 16 characters or holds whitespace"
    );
}
