//! Duplicated and shuffled delivery ends in the same state as single
//! delivery (the version rule), through the feed and the folder.

use std::collections::HashMap;

use didroute_shared::{Route, E164};

use crate::support::*;

/// A gap-free history over `numbers`: upserts, remaps between tenants and
/// routes, deletions, with each number's version counting up.
fn script(numbers: &[E164], len: usize) -> Vec<(E164, u64, Option<Route>)> {
    let routes = [
        psap(TENANT_A, "Metro"),
        utility(TENANT_A, "Water"),
        utility(TENANT_B, "Power"),
        route(TENANT_B, didroute_shared::Subsystem::DocumentTelephony, "Docs", "US"),
    ];
    let mut versions: HashMap<E164, u64> = HashMap::new();
    let mut x: u64 = 0x5eed;
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let n = numbers[(x >> 33) as usize % numbers.len()];
            let v = versions.entry(n).or_default();
            *v += 1;
            let r = (x >> 20) as usize % 5;
            (n, *v, routes.get(r).cloned())
        })
        .collect()
}

fn play(feed: &FakeFeed, events: &[(E164, u64, Option<Route>)]) -> u64 {
    let mut seq = 0;
    for (n, v, r) in events {
        seq = match r {
            Some(r) => feed.upsert(*n, *v, r.clone()),
            None => feed.delete(*n, *v),
        };
    }
    seq
}

/// Status and body of each answer. A route's `seq` depends on when the node
/// last folded (a folded number reports its base's position), so it is
/// checked against its contract (never past the node's position) and left
/// out of the comparison.
async fn answers(t: &TestNode, numbers: &[E164]) -> Vec<(u16, Option<serde_json::Value>)> {
    let mut out = Vec::new();
    for n in numbers {
        let a = t.get(&format!("/v1/routes/{n}")).await;
        let body = (a.status == 200).then(|| {
            let mut v = a.json();
            let seq = v.as_object_mut().unwrap().remove("seq").unwrap().as_u64().unwrap();
            assert!(seq <= a.seq(), "a route's seq {seq} is past the node's {}", a.seq());
            v
        });
        out.push((a.status, body));
    }
    out
}

#[tokio::test]
async fn duplicated_and_shuffled_delivery_matches_single_delivery() {
    let numbers: Vec<E164> = (0..15).map(|i| num(&format!("+1555666{i:04}"))).collect();
    let history = script(&numbers, 120);
    let (before, after) = history.split_at(70);

    let clean = FakeFeed::start().await;
    let messy = FakeFeed::start().await;
    messy.set_messy(true);
    play(&clean, before);
    play(&messy, before);
    let clean = TestNode::ready(clean).await;
    let messy = TestNode::ready(messy).await;
    // More after the catch-up, through the long-poll path.
    let head = play(&clean.feed, after);
    assert_eq!(play(&messy.feed, after), head);
    clean.applied(head).await;
    messy.applied(head).await;

    let want = answers(&clean, &numbers).await;
    assert_eq!(answers(&messy, &numbers).await, want);
    // The expected end state, from the script itself.
    let mut last: HashMap<E164, &Option<Route>> = HashMap::new();
    for (n, _, r) in &history {
        last.insert(*n, r);
    }
    for (n, (status, body)) in numbers.iter().zip(&want) {
        match last.get(n) {
            Some(Some(r)) => {
                assert_eq!(*status, 200, "{n}");
                assert_eq!(body.as_ref().unwrap()["customer_label"], r.customer_label.as_str());
            }
            _ => assert_eq!(*status, 404, "{n}"),
        }
    }
    let messy_snapshot = messy.get("/v1/snapshot").await.json();
    assert_eq!(messy_snapshot["numbers"], clean.get("/v1/snapshot").await.json()["numbers"]);
    let metrics = String::from_utf8(messy.get("/metrics").await.body).unwrap();
    let stale: u64 =
        metrics.lines().find_map(|l| l.strip_prefix("didroute_lookup_events_stale_total ")).unwrap().parse().unwrap();
    assert!(stale > 0, "the messy feed did deliver duplicates");
    clean.stop().await;
    messy.stop().await;
}
