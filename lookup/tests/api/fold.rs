//! Folding the overlay into a new base changes no answer.

use didroute_lookup::Config;
use didroute_shared::E164;

use crate::support::*;

/// Status and body of each answer; a route's `seq` is left out (folded
/// numbers report the base's position, at or after their own change, never
/// past the node's) after checking it against the node's position.
async fn bodies(t: &TestNode, numbers: &[E164]) -> Vec<(u16, serde_json::Value)> {
    let mut out = Vec::new();
    for n in numbers {
        let a = t.get(&format!("/v1/routes/{n}")).await;
        let mut body = a.json();
        if a.status == 200 {
            let seq = body.as_object_mut().unwrap().remove("seq").unwrap().as_u64().unwrap();
            assert!(seq <= a.seq(), "a route's seq {seq} is past the node's {}", a.seq());
        }
        out.push((a.status, body));
    }
    out
}

#[tokio::test]
async fn fold_answers_exactly_what_the_overlay_answered() {
    let feed = FakeFeed::start().await;
    let numbers: Vec<E164> = (0..30).map(|i| num(&format!("+1555777{i:04}"))).collect();
    for n in &numbers[..20] {
        feed.upsert(*n, 1, utility(TENANT_A, "Base"));
    }
    // No automatic folds: the test folds by hand.
    let cfg = Config { fold_threshold: 1_000_000, fold_interval_ms: 3_600_000, ..config(&feed) };
    let t = TestNode::start_with(feed, cfg).await;
    t.node().wait_ready().await;

    let mut seq = 0;
    for (i, n) in numbers.iter().enumerate() {
        seq = match i % 3 {
            0 => t.feed.delete(*n, 2),
            1 => t.feed.upsert(*n, 2, psap(TENANT_B, "Remapped")),
            _ => t.feed.upsert(*n, 2, utility(TENANT_A, "Base")),
        };
    }
    t.applied(seq).await;
    let store = t.node().app().store();
    assert!(store.load().overlay_len() > 0);
    let before = bodies(&t, &numbers).await;
    let numbers_before = t.get("/v1/snapshot").await.json()["numbers"].clone();
    assert_eq!(before.iter().filter(|(s, _)| *s == 200).count() as u64, numbers_before.as_u64().unwrap());

    let report = store.fold().expect("there was an overlay to fold");
    assert_eq!(report.folded, 30);
    assert_eq!(store.load().overlay_len(), 0);
    assert_eq!(bodies(&t, &numbers).await, before);
    assert_eq!(t.get("/v1/snapshot").await.json()["numbers"], numbers_before);
    t.stop().await;
}

#[tokio::test]
async fn the_folder_runs_on_its_own_and_changes_nothing() {
    let feed = FakeFeed::start().await;
    let numbers: Vec<E164> = (0..40).map(|i| num(&format!("+1555778{i:04}"))).collect();
    let t = TestNode::ready(feed).await; // threshold 8, every 50 ms
    let mut seq = 0;
    for (i, n) in numbers.iter().enumerate() {
        seq = t.feed.upsert(*n, 1, utility(if i % 2 == 0 { TENANT_A } else { TENANT_B }, "Auto"));
    }
    t.applied(seq).await;
    t.folded().await;
    for (i, n) in numbers.iter().enumerate() {
        let v = t.get(&format!("/v1/routes/{n}")).await.json();
        let tenant = if i % 2 == 0 { TENANT_A } else { TENANT_B };
        assert_eq!(v["tenant_id"], tenant.to_string());
        // Folded into the base: the route's seq is the base's position, at
        // or after the number's own change and at most the node's.
        let at = v["seq"].as_u64().unwrap();
        assert!(at > i as u64 && at <= seq, "{at} for the change at {}", i + 1);
    }
    let metrics = String::from_utf8(t.get("/metrics").await.body).unwrap();
    let builds: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("didroute_lookup_snapshot_builds_total "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(builds >= 2, "initial build plus at least one fold: {builds}");
    assert!(metrics.contains("didroute_lookup_overlay_entries 0"));
    t.stop().await;
}
