//! `?min_seq=N[&wait_ms=M]`: answer only from position N or later.

use std::time::{Duration, Instant};

use crate::support::*;

#[tokio::test]
async fn waits_until_the_event_arrives() {
    let feed = FakeFeed::start().await;
    let n = num("+15552220001");
    feed.upsert(n, 1, utility(TENANT_A, "Before"));
    let t = TestNode::ready(feed).await;
    assert_eq!(t.get("/v1/routes/+15552220001").await.json()["customer_label"], "Before");

    let want = t.feed.head() + 1;
    let client = t.http.clone();
    let url = format!("{}/v1/routes/+15552220001?min_seq={want}&wait_ms=10000", t.base);
    let pending = tokio::spawn(async move { client.get(url).send().await.unwrap() });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!pending.is_finished(), "answered before the node reached min_seq");
    assert_eq!(t.feed.upsert(n, 2, utility(TENANT_A, "After")), want);

    let response = tokio::time::timeout(Duration::from_secs(5), pending).await.unwrap().unwrap();
    assert_eq!(response.status(), 200);
    let seq: u64 = response.headers()["didroute-seq"].to_str().unwrap().parse().unwrap();
    assert!(seq >= want);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["customer_label"], "After");
    assert_eq!(body["seq"], want);
    t.stop().await;
}

#[tokio::test]
async fn gives_up_with_503_and_retry_after() {
    let feed = FakeFeed::start().await;
    feed.upsert(num("+15552220002"), 1, utility(TENANT_A, "X"));
    let t = TestNode::ready(feed).await;
    let started = Instant::now();
    let a = t.get("/v1/routes/+15552220002?min_seq=99&wait_ms=200").await;
    let elapsed = started.elapsed();
    let p = a.problem(503);
    assert_eq!(a.header("retry-after"), Some("1"));
    assert_eq!(a.seq(), 1, "the position the node is at");
    assert!(p["detail"].as_str().unwrap().contains("99"), "{p}");
    assert!(elapsed >= Duration::from_millis(200) && elapsed < Duration::from_secs(5), "{elapsed:?}");

    // The default wait is about one second.
    let started = Instant::now();
    t.get("/v1/caller-id/00000000-0000-0000-0000-000000000000/+15552220002?min_seq=99").await.problem(503);
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(5), "{elapsed:?}");
    assert!(t
        .get("/metrics")
        .await
        .body
        .windows(b"outcome=\"behind\"} 1".len())
        .any(|w| w == b"outcome=\"behind\"} 1"));
    t.stop().await;
}

#[tokio::test]
async fn answers_at_once_when_already_there() {
    let feed = FakeFeed::start().await;
    feed.upsert(num("+15552220003"), 1, utility(TENANT_A, "X"));
    let t = TestNode::ready(feed).await;
    let started = Instant::now();
    for q in ["min_seq=0", "min_seq=1", "min_seq=1&wait_ms=30000", "wait_ms=5&unknown=1"] {
        let a = t.get(&format!("/v1/routes/+15552220003?{q}")).await;
        assert_eq!(a.status, 200, "{q}");
    }
    assert!(started.elapsed() < Duration::from_secs(2));
    // A number that is not there is still a 404 once the position is reached.
    t.get("/v1/routes/+15552229999?min_seq=1").await.problem(404);
    t.stop().await;
}

#[tokio::test]
async fn bad_query_values_are_400() {
    let t = TestNode::ready(FakeFeed::start().await).await;
    for (q, name) in [
        ("min_seq=abc", "min_seq"),
        ("min_seq=-1", "min_seq"),
        ("min_seq=", "min_seq"),
        ("min_seq=1e3", "min_seq"),
        ("min_seq=18446744073709551616", "min_seq"),
        ("wait_ms=soon", "wait_ms"),
        ("min_seq=1&wait_ms=-5", "wait_ms"),
    ] {
        for path in ["/v1/routes/+15552220004", "/v1/caller-id/0a0a0a0a-0a0a-4a0a-8a0a-0a0a0a0a0a0a/+15552220004"] {
            let a = t.get(&format!("{path}?{q}")).await;
            let p = a.problem(400);
            assert!(p["detail"].as_str().unwrap().starts_with(name), "{q}: {p}");
            assert_eq!(a.seq(), 0);
        }
    }
    t.stop().await;
}
