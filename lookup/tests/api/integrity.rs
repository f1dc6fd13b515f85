//! R11: a snapshot file that fails verification (truncated, bit-flipped,
//! empty, older than the one served) is refused, the previous snapshot keeps
//! serving, and `/metrics` counts the refusal by reason.

use std::path::PathBuf;

use didroute_lookup::snapshot::SnapshotError;
use didroute_lookup::Snapshot;
use didroute_shared::E164;

use crate::support::*;

fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
    let path = std::env::temp_dir().join(format!("didroute-r11-{}-{name}.snapshot", std::process::id()));
    std::fs::write(&path, bytes).unwrap();
    path
}

async fn rejected(t: &TestNode, reason: &str) -> u64 {
    let metrics = String::from_utf8(t.get("/metrics").await.body).unwrap();
    let line = format!("didroute_lookup_snapshot_rejected_total{{reason=\"{reason}\"}} ");
    metrics.lines().find_map(|l| l.strip_prefix(line.as_str())).unwrap_or_else(|| panic!("no {line}")).parse().unwrap()
}

/// What the node answers for `numbers`, and its position.
async fn state(t: &TestNode, numbers: &[E164]) -> (Vec<(u16, Vec<u8>)>, u64) {
    let mut answers = Vec::new();
    for n in numbers {
        let a = t.get(&format!("/v1/routes/{n}")).await;
        answers.push((a.status, a.body));
    }
    (answers, t.get("/v1/snapshot").await.json()["seq"].as_u64().unwrap())
}

#[tokio::test]
async fn bad_snapshot_files_are_refused_and_the_previous_one_keeps_serving() {
    let feed = FakeFeed::start().await;
    let numbers: Vec<E164> = (0..50).map(|i| num(&format!("+1555444{i:04}"))).collect();
    for (i, n) in numbers.iter().enumerate() {
        feed.upsert(*n, 1, if i % 2 == 0 { psap(TENANT_A, "Metro 911") } else { utility(TENANT_B, "Water") });
    }
    let t = TestNode::ready(feed).await;
    let app = t.node().app();
    let serving = app.store().load_full();
    let good = serving.encode();

    // A newer snapshot file loads and answers.
    let (newer, _) = serving.with_events(&[FakeFeed::event(1000, numbers[0], 2, None)], 1000);
    let path = temp_file("newer", &newer.encode());
    assert_eq!(app.load_snapshot_file(&path).unwrap(), 1000);
    assert_eq!(t.get(&format!("/v1/routes/{}", numbers[0])).await.status, 404);
    let before = state(&t, &numbers).await;
    assert_eq!(before.1, 1000);

    let mut flipped = good.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x10;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("truncated", good[..good.len() - 100].to_vec(), "truncated"),
        ("truncated-header", good[..40].to_vec(), "truncated"),
        ("bit-flipped", flipped, "checksum"),
        ("empty", Vec::new(), "empty"),
        ("not-a-snapshot", b"{\"numbers\": []}".repeat(10), "not_a_snapshot"),
        // Intact, but older than the position being served.
        ("older", good.clone(), "older"),
    ];
    for (name, bytes, reason) in cases {
        let path = temp_file(name, &bytes);
        let counted = rejected(&t, reason).await;
        let err = app.load_snapshot_file(&path).unwrap_err();
        assert_eq!(err.reason(), reason, "{name}: {err}");
        assert_eq!(rejected(&t, reason).await, counted + 1, "{name} is counted in /metrics");
        assert_eq!(state(&t, &numbers).await, before, "{name}: the previous snapshot keeps serving");
        std::fs::remove_file(path).unwrap();
    }
    let missing = std::env::temp_dir().join("didroute-r11-does-not-exist.snapshot");
    assert!(matches!(app.load_snapshot_file(&missing), Err(SnapshotError::Io(_))));
    assert_eq!(rejected(&t, "io").await, 1);
    assert_eq!(state(&t, &numbers).await, before);
    std::fs::remove_file(&path).ok();
    assert!(Snapshot::decode(&good).is_ok(), "the files were refused for their damage, not their source");
    t.stop().await;
}
