//! Usage from lookups: successful lookups counted per number in a bounded
//! table and shipped to the control plane every `DIDROUTE_USAGE_FLUSH_MS`
//! as batches, each retried under its own id until accepted.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use didroute_lookup::Config;
use serde_json::Value;

use crate::support::*;

const A: &str = "+15550100001";
const B: &str = "+15550100002";

async fn node(flush_ms: u64, max_numbers: usize) -> TestNode {
    let feed = FakeFeed::start().await;
    feed.upsert(num(A), 1, psap(TENANT_A, "a"));
    feed.upsert(num(B), 2, utility(TENANT_B, "b"));
    let config = Config { usage_flush_ms: flush_ms, usage_max_numbers: max_numbers, ..config(&feed) };
    let t = TestNode::start_with(feed, config).await;
    tokio::time::timeout(Duration::from_secs(10), t.node().wait_ready()).await.expect("node became ready");
    t
}

/// Per-number lookups and overflow over every batch accepted.
fn totals(batches: &[Value]) -> (BTreeMap<String, u64>, u64) {
    let mut counts = BTreeMap::new();
    let mut overflow = 0;
    for b in batches {
        for c in b["counts"].as_array().unwrap() {
            *counts.entry(c["number"].as_str().unwrap().to_owned()).or_default() += c["lookups"].as_u64().unwrap();
        }
        overflow += b["overflow"].as_u64().unwrap();
    }
    (counts, overflow)
}

async fn shipped(t: &TestNode, lookups: u64) -> Vec<Value> {
    for _ in 0..500 {
        let batches = t.feed.usage_batches();
        let (counts, overflow) = totals(&batches);
        if counts.values().sum::<u64>() + overflow >= lookups {
            return batches;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the node never shipped {lookups} lookups: {:?}", t.feed.usage_batches());
}

#[tokio::test]
async fn successful_lookups_are_counted_per_number_and_shipped() {
    let t = node(200, 1_000).await;
    for _ in 0..3 {
        assert_eq!(t.get(&format!("/v1/routes/{A}")).await.status, 200);
    }
    assert_eq!(t.get("/v1/routes/15550100002").await.status, 200);
    // not successes: not counted
    assert_eq!(t.get("/v1/routes/+15550100009").await.status, 404);
    assert_eq!(t.get("/v1/routes/+1").await.status, 400);
    assert_eq!(t.get(&format!("/v1/caller-id/{TENANT_A}/{A}")).await.status, 200);
    shipped(&t, 4).await;
    // later windows ship too (the caller-id check among them, if it counted)
    tokio::time::sleep(Duration::from_millis(500)).await;
    let batches = t.feed.usage_batches();
    let (counts, overflow) = totals(&batches);
    assert_eq!(counts, BTreeMap::from([(A.to_owned(), 3), (B.to_owned(), 1)]));
    assert_eq!(overflow, 0);
    let ids: BTreeSet<&str> = batches.iter().map(|b| b["batch_id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), batches.len(), "every batch has its own id");
    let attempts = t.feed.usage_attempts();
    assert!(ids.iter().all(|id| attempts.iter().any(|a| a == id)), "the batch id is the Idempotency-Key");
    for b in &batches {
        assert!(b["node_id"].as_str().is_some_and(|n| !n.is_empty()), "{b}");
        assert!(b["window_start"].as_str().unwrap() <= b["window_end"].as_str().unwrap(), "{b}");
    }
    let metrics = String::from_utf8(t.get("/metrics").await.body).unwrap();
    assert!(metrics.contains("didroute_lookup_usage_batches_shipped_total"), "{metrics}");
    t.stop().await;
}

#[tokio::test]
async fn numbers_past_the_bound_are_counted_as_overflow() {
    let t = node(200, 1).await;
    assert_eq!(t.get(&format!("/v1/routes/{A}")).await.status, 200);
    for _ in 0..4 {
        assert_eq!(t.get(&format!("/v1/routes/{B}")).await.status, 200);
    }
    assert_eq!(t.get(&format!("/v1/routes/{A}")).await.status, 200);
    let (counts, overflow) = totals(&shipped(&t, 6).await);
    assert_eq!(counts, BTreeMap::from([(A.to_owned(), 2)]), "one number fits a window");
    assert_eq!(overflow, 4, "the rest is overflow, never lost and never unbounded");
    t.stop().await;
}

#[tokio::test]
async fn a_failed_shipment_is_retried_with_the_same_batch_id() {
    let t = node(150, 1_000).await;
    t.feed.set_usage_down(true);
    for _ in 0..2 {
        assert_eq!(t.get(&format!("/v1/routes/{A}")).await.status, 200);
    }
    // refused at least twice
    for _ in 0..200 {
        if t.feed.usage_attempts().len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let refused = t.feed.usage_attempts();
    assert!(refused.len() >= 2, "{refused:?}");
    assert_eq!(refused[0], refused[1], "the retry carries the first attempt's id");
    t.feed.set_usage_down(false);
    let batches = shipped(&t, 2).await;
    assert_eq!(batches[0]["batch_id"], refused[0].as_str());
    assert_eq!(totals(&batches).0, BTreeMap::from([(A.to_owned(), 2)]));
    t.stop().await;
}

#[tokio::test]
async fn a_clean_stop_ships_the_window_being_counted() {
    // an hour-long window: only the stop can ship it
    let t = node(3_600_000, 1_000).await;
    assert_eq!(t.get(&format!("/v1/routes/{B}")).await.status, 200);
    let feed = t.stop_keeping_feed().await;
    assert_eq!(totals(&feed.usage_batches()).0, BTreeMap::from([(B.to_owned(), 1)]));
}

#[tokio::test]
async fn no_counting_when_the_bound_is_zero() {
    let t = node(100, 0).await;
    assert!(t.node().app().usage().is_none());
    assert_eq!(t.get(&format!("/v1/routes/{A}")).await.status, 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(t.feed.usage_attempts().is_empty());
    t.stop().await;
}
