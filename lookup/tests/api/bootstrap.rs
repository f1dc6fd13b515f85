//! Snapshot bootstrap (docs/goals.md L7): a node keeps its snapshot in a file,
//! starts from it, and asks the feed only for what followed.

use std::path::PathBuf;
use std::time::Duration;

use crate::support::*;

/// A fresh directory for one test's snapshot file.
fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("didroute-bootstrap-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn metric(t: &TestNode, name: &str) -> f64 {
    let text = t.http.get(format!("{}/metrics", t.base)).send().await.unwrap().text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')).map(|v| v.parse().unwrap()))
        .unwrap_or_else(|| panic!("no {name} in {text}"))
}

/// Waits until the node has written its snapshot file at position `seq`.
async fn written(t: &TestNode, seq: u64) {
    for _ in 0..200 {
        if metric(t, "didroute_lookup_snapshot_written_seq").await >= seq as f64 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the snapshot file was never written at {seq}");
}

#[tokio::test]
async fn a_node_starts_from_its_snapshot_file_and_reads_only_what_followed() {
    let dir = scratch();
    let path = dir.join("lookup.snapshot");
    let feed = FakeFeed::start().await;
    for i in 0..20 {
        feed.upsert(num(&format!("+1555700{i:04}")), 1, psap(TENANT_A, "Before"));
    }
    let mut cfg = config(&feed);
    cfg.snapshot_path = Some(path.clone());
    cfg.snapshot_interval_ms = 1_000;

    let first = TestNode::start_with(feed, cfg.clone()).await;
    tokio::time::timeout(Duration::from_secs(10), first.node().wait_ready()).await.unwrap();
    assert_eq!(first.feed.afters()[0], 0, "no file yet: the first node reads everything");
    written(&first, 20).await;
    let positions: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("lookup.snapshot.positions.json")).unwrap()).unwrap();
    assert_eq!((positions["seq"].as_u64(), positions["source"].as_str()), (Some(20), Some("feed")), "{positions}");
    let feed = first.stop_keeping_feed().await;

    // while no node runs: a remap of a number the file holds, and new numbers
    feed.upsert(num("+15557000000"), 2, psap(TENANT_A, "After"));
    for i in 20..25 {
        feed.upsert(num(&format!("+1555700{i:04}")), 1, utility(TENANT_B, "New"));
    }
    let asked_before = feed.afters().len();
    let second = TestNode::start_with(feed, cfg).await;
    tokio::time::timeout(Duration::from_secs(10), second.node().wait_ready()).await.unwrap();

    // it answers from the file and the tail, as a full replay would
    let remapped = second.get("/v1/routes/+15557000000").await;
    assert_eq!(remapped.status, 200);
    assert_eq!(remapped.json()["customer_label"], "After", "{}", remapped.json());
    assert_eq!(second.get("/v1/routes/+15557000019").await.json()["customer_label"], "Before");
    assert_eq!(second.get("/v1/routes/+15557000024").await.json()["customer_label"], "New");
    assert_eq!(second.get("/v1/snapshot").await.json()["numbers"], 25);
    assert_eq!(second.get("/readyz").await.json()["seq"], 26);
    // and it asked the feed only for what followed the file
    let asked = second.feed.afters()[asked_before..].to_vec();
    assert_eq!(asked.first(), Some(&20), "{asked:?}");
    assert!(asked.iter().all(|&a| a >= 20), "{asked:?}");
    assert_eq!(metric(&second, "didroute_lookup_snapshot_loads_total").await, 1.0);
    // and keeps the file current
    written(&second, 26).await;
    second.stop().await;
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_corrupt_snapshot_file_is_refused_and_the_node_reads_everything() {
    let dir = scratch();
    let path = dir.join("lookup.snapshot");
    std::fs::write(&path, b"not a snapshot, whatever it once was").unwrap();
    let feed = FakeFeed::start().await;
    for i in 0..7 {
        feed.upsert(num(&format!("+1555710{i:04}")), 1, psap(TENANT_A, "Only"));
    }
    let mut cfg = config(&feed);
    cfg.snapshot_path = Some(path.clone());
    cfg.snapshot_interval_ms = 1_000;
    let t = TestNode::start_with(feed, cfg).await;
    tokio::time::timeout(Duration::from_secs(10), t.node().wait_ready()).await.unwrap();
    assert_eq!(t.feed.afters()[0], 0, "a refused file means a full read");
    assert_eq!(t.get("/v1/snapshot").await.json()["numbers"], 7);
    assert_eq!(metric(&t, "didroute_lookup_snapshot_loads_total").await, 0.0);
    assert_eq!(metric(&t, "didroute_lookup_snapshot_rejected_total{reason=\"not_a_snapshot\"}").await, 1.0);
    // the node then replaces the bad file with a good one
    written(&t, 7).await;
    assert_eq!(didroute_lookup::Snapshot::read_file(&path).unwrap().seq(), 7);
    t.stop().await;
    std::fs::remove_dir_all(dir).unwrap();
}

/// The snapshot file records the lineage the node held; a node restarted
/// from it refuses a feed of another lineage (the database was restored and
/// its lineage rotated) instead of applying the new history on top.
#[tokio::test]
async fn a_snapshot_file_keeps_its_lineage_and_a_restart_refuses_another() {
    let dir = scratch();
    let path = dir.join("lookup.snapshot");
    let feed = FakeFeed::start().await;
    let (old, new) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    let upsert = |feed: &FakeFeed, number: &str, lineage: uuid::Uuid, label: &str| {
        let seq = feed.head() + 1;
        let mut event = FakeFeed::event(seq, num(number), seq, Some(psap(TENANT_A, label)));
        event.lineage = Some(lineage);
        feed.push_raw(serde_json::to_value(event).unwrap())
    };
    upsert(&feed, "+15557100000", old, "Old");
    let mut cfg = config(&feed);
    cfg.snapshot_path = Some(path.clone());
    cfg.snapshot_interval_ms = 1_000;
    let first = TestNode::start_with(feed, cfg.clone()).await;
    tokio::time::timeout(Duration::from_secs(10), first.node().wait_ready()).await.unwrap();
    written(&first, 1).await;
    let positions: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("lookup.snapshot.positions.json")).unwrap()).unwrap();
    assert_eq!(positions["lineage"], old.to_string(), "{positions}");
    let feed = first.stop_keeping_feed().await;

    upsert(&feed, "+15557100001", new, "New");
    let second = TestNode::start_with(feed, cfg).await;
    let mut refused = serde_json::Value::Null;
    for _ in 0..200 {
        refused = second.get("/readyz").await.json();
        if refused["detail"].as_str().is_some_and(|d| d.contains(&new.to_string())) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(refused["detail"].as_str().is_some_and(|d| d.contains(&old.to_string())), "{refused}");
    let snapshot = second.get("/v1/snapshot").await.json();
    assert_eq!(snapshot["lineage"], old.to_string(), "{snapshot}");
    assert_eq!(snapshot["seq"], 1, "nothing of the other lineage applied: {snapshot}");
}

/// Range routes travel in the snapshot file: a node started from it answers
/// a range's numbers before the feed says anything more, a deleted range
/// stays deleted, and a number's own route still answers first.
#[tokio::test]
async fn range_routes_come_back_from_the_snapshot_file() {
    let dir = scratch();
    let path = dir.join("lookup.snapshot");
    let feed = FakeFeed::start().await;
    feed.upsert(num("+15557100005"), 1, psap(TENANT_A, "Own"));
    feed.range(1, num("+15557100000"), num("+15557100999"), 2, Some(utility(TENANT_B, "Range B")));
    feed.range(2, num("+15557200000"), num("+15557200099"), 3, Some(utility(TENANT_A, "Gone")));
    let last = feed.range(2, num("+15557200000"), num("+15557200099"), 4, None);
    let mut cfg = config(&feed);
    cfg.snapshot_path = Some(path.clone());
    cfg.snapshot_interval_ms = 1_000;
    let first = TestNode::start_with(feed, cfg.clone()).await;
    tokio::time::timeout(Duration::from_secs(10), first.node().wait_ready()).await.unwrap();
    written(&first, last).await;
    let feed = first.stop_keeping_feed().await;

    let asked_before = feed.afters().len();
    let second = TestNode::start_with(feed, cfg).await;
    tokio::time::timeout(Duration::from_secs(10), second.node().wait_ready()).await.unwrap();
    // it asked the feed only for what followed the file: the ranges came from it
    let asked = second.feed.afters()[asked_before..].to_vec();
    assert!(asked.iter().all(|&a| a >= last), "{asked:?}");
    let hit = second.get("/v1/routes/+15557100500").await;
    assert_eq!(hit.status, 200);
    let json = hit.json();
    assert_eq!((json["source"].as_str(), json["customer_label"].as_str()), (Some("range"), Some("Range B")), "{json}");
    assert_eq!(json["version"], 2, "{json}");
    assert_eq!(second.get("/v1/routes/+15557100005").await.json()["source"], "number");
    assert_eq!(second.get("/v1/routes/+15557200050").await.status, 404);
    assert_eq!(second.get("/v1/routes/+15557101000").await.status, 404);
    second.stop().await;
    std::fs::remove_dir_all(dir).unwrap();
}
