//! `/readyz`: not ready until a complete snapshot is loaded and caught up;
//! never a partial snapshot; keeps serving with lag when the feed is down.

use std::time::Duration;

use didroute_lookup::Config;
use tokio::time::sleep;

use crate::support::*;

#[tokio::test]
async fn not_ready_until_caught_up_and_never_partial() {
    let feed = FakeFeed::start().await;
    for i in 0..10 {
        feed.upsert(num(&format!("+155544400{i:02}")), 1, utility(TENANT_A, "Early"));
    }
    // Pages hold 3 events: the node gets the first page, then the feed fails.
    feed.set_budget(1);
    let cfg = config(&feed);
    let t = TestNode::start_with(feed, cfg).await;
    while t.feed.requests() < 3 {
        sleep(Duration::from_millis(20)).await;
    }

    let p = t.get("/readyz").await.problem(503);
    assert!(p["detail"].as_str().unwrap().contains("loading"), "{p}");
    // The first page's numbers are not served: nothing partial is published,
    // and no lookup claims "not allocated" before the snapshot is complete.
    assert_eq!(t.node().app().store().load().numbers(), 0);
    for path in [
        "/v1/routes/+15554440000",
        "/v1/routes/+15554449999",
        "/v1/caller-id/0a0a0a0a-0a0a-4a0a-8a0a-0a0a0a0a0a0a/+15554440000",
    ] {
        let a = t.get(path).await;
        let p = a.problem(503);
        assert_eq!(p["type"], "https://didroute.dev/problems/not-ready");
        assert_eq!(a.header("retry-after"), Some("1"));
        assert_eq!(a.seq(), 0);
    }
    // Bad input is still a 400: it does not depend on the data.
    t.get("/v1/routes/abc").await.problem(400);
    let s = t.get("/v1/snapshot").await.json();
    assert_eq!((s["seq"].as_u64(), s["numbers"].as_u64(), s["ready"].as_bool()), (Some(0), Some(0), Some(false)));
    assert!(s["lag_seconds"].as_f64().unwrap() > 0.0, "{s}");
    assert!(!t.node().app().is_ready());

    t.feed.set_budget(0);
    tokio::time::timeout(Duration::from_secs(10), t.node().wait_ready()).await.unwrap();
    let ready = t.get("/readyz").await;
    assert_eq!(ready.status, 200);
    assert_eq!(ready.json()["seq"], 10);
    for i in 0..10 {
        assert_eq!(t.get(&format!("/v1/routes/+155544400{i:02}")).await.status, 200);
    }
    assert_eq!(t.get("/v1/snapshot").await.json()["numbers"], 10);
    t.stop().await;
}

#[tokio::test]
async fn an_empty_feed_is_ready_at_once() {
    let t = TestNode::ready(FakeFeed::start().await).await;
    assert_eq!(t.get("/readyz").await.status, 200);
    assert_eq!(t.get("/v1/snapshot").await.json()["numbers"], 0);
    t.stop().await;
}

#[tokio::test]
async fn a_wrong_token_never_gets_ready() {
    let feed = FakeFeed::start().await;
    feed.upsert(num("+15554440100"), 1, utility(TENANT_A, "X"));
    let cfg = Config { feed_token: Some("wrong-token".into()), ..config(&feed) };
    let t = TestNode::start_with(feed, cfg).await;
    while t.feed.unauthorized() < 2 {
        sleep(Duration::from_millis(20)).await;
    }
    t.get("/readyz").await.problem(503);
    t.get("/v1/routes/+15554440100").await.problem(503);
    let metrics = String::from_utf8(t.get("/metrics").await.body).unwrap();
    assert!(
        metrics.lines().any(|l| l.starts_with("didroute_lookup_feed_errors_total ") && !l.ends_with(" 0")),
        "{metrics}"
    );
    assert!(metrics.contains("didroute_lookup_ready 0"));
    t.stop().await;
}

#[tokio::test]
async fn keeps_serving_and_reports_lag_while_the_feed_is_down() {
    let feed = FakeFeed::start().await;
    feed.upsert(num("+15554440200"), 1, utility(TENANT_A, "Kept"));
    let t = TestNode::ready(feed).await;
    assert_eq!(t.get("/v1/snapshot").await.json()["lag_seconds"], 0.0);

    t.feed.set_down(true);
    // The pending long poll (2 s in tests) ends, the next one fails.
    let mut lag = 0.0;
    for _ in 0..200 {
        lag = t.get("/v1/snapshot").await.json()["lag_seconds"].as_f64().unwrap();
        if lag > 0.2 {
            break;
        }
        sleep(Duration::from_millis(50)).await;
    }
    assert!(lag > 0.2, "lag never grew: {lag}");
    assert_eq!(t.get("/readyz").await.status, 200, "a node that was ready stays ready on its last snapshot");
    assert_eq!(t.get("/v1/routes/+15554440200").await.json()["customer_label"], "Kept");
    let metrics = String::from_utf8(t.get("/metrics").await.body).unwrap();
    let gauge: f64 =
        metrics.lines().find_map(|l| l.strip_prefix("didroute_lookup_lag_seconds ")).unwrap().parse().unwrap();
    assert!(gauge > 0.2, "{gauge}");

    // Written while the feed was down, delivered after it recovers.
    let seq = t.feed.upsert(num("+15554440201"), 1, utility(TENANT_A, "Late"));
    t.feed.set_down(false);
    t.applied(seq).await;
    assert_eq!(t.get("/v1/routes/+15554440201").await.json()["customer_label"], "Late");
    let mut lag = 1.0;
    for _ in 0..100 {
        lag = t.get("/v1/snapshot").await.json()["lag_seconds"].as_f64().unwrap();
        if lag == 0.0 {
            break;
        }
        sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(lag, 0.0);
    t.stop().await;
}
