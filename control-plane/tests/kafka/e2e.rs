//! End to end on a real broker: control plane + relay + two lookup nodes
//! consuming Kafka; allocate, remap, release; both nodes agree.

use std::collections::HashMap;

use didroute_shared::E164;
use reqwest::StatusCode;

use crate::helpers::*;
use crate::need_broker;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_plane_relay_and_two_lookup_nodes_agree() {
    let brokers = need_broker!();
    // three partitions: per-number order must hold across them
    let topic = new_topic(&brokers, 3).await;
    let app = spawn_app().await;
    let mut relay = spawn_relay(&app, relay_settings(&brokers, &topic));
    relay.active().await;
    let a = app.tenant("metro").await;
    let b = app.tenant("county").await;
    app.import("15550007000-15550007049", "US").await;

    // one node from the start, one that joins later and catches up
    let first = start_node(kafka_settings(&brokers, &topic)).await;
    ready(&first).await;

    let mut numbers = Vec::new();
    let mut last = 0;
    // number -> position of the change that set its current route
    let mut set_at: HashMap<String, u64> = HashMap::new();
    for i in 0..20 {
        let n = format!("+1555000{}", 7000 + i);
        let t = if i % 2 == 0 { &a } else { &b };
        last = app.allocate_seq(t, &n, &format!("label {i}")).await;
        set_at.insert(n.clone(), last);
        numbers.push(n);
    }
    let (s, r) = route(&first, &numbers[0], last).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["tenant_id"], a.id.to_string());
    assert_eq!(r["customer_label"], "label 0");

    // remap and release: visible with read-your-writes
    let seq = app.remap(&a, &numbers[0], "remapped").await;
    set_at.insert(numbers[0].clone(), seq);
    let (s, r) = route(&first, &numbers[0], seq).await;
    assert_eq!((s, r["customer_label"].as_str()), (StatusCode::OK, Some("remapped")), "{r}");
    let seq = app.release(&b, &numbers[1]).await;
    let (s, r) = route(&first, &numbers[1], seq).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "released: {r}");
    for (i, number) in numbers.iter().enumerate().take(10).skip(2) {
        last = app.remap(if i % 2 == 0 { &a } else { &b }, number, &format!("again {i}")).await;
        set_at.insert(number.clone(), last);
    }
    for (i, number) in numbers.iter().enumerate().take(14).skip(10) {
        last = app.release(if i % 2 == 0 { &a } else { &b }, number).await;
    }

    let second = start_node(kafka_settings(&brokers, &topic)).await;
    ready(&second).await;
    applied(&first, last).await;
    applied(&second, last).await;

    // both nodes answer the same for every number, and what the control plane
    // says. A route's `seq` is a position at which it was current: the
    // change's own until a node folds it into its base, then the base's
    // position, so it may differ between nodes that folded at different
    // times, but never falls before the change or past the node's position.
    for (i, n) in numbers.iter().enumerate() {
        let (s1, mut r1) = route(&first, n, last).await;
        let (s2, mut r2) = route(&second, n, last).await;
        for r in [&mut r1, &mut r2] {
            if let Some(seq) = r.as_object_mut().and_then(|o| o.remove("seq")) {
                let seq = seq.as_u64().expect("seq is a number");
                assert!((set_at[n]..=last).contains(&seq), "{n}: seq {seq} outside {}..={last}", set_at[n]);
            }
        }
        assert_eq!((s1, &r1), (s2, &r2), "{n}: the nodes disagree");
        let expect = match i {
            0 => Some("remapped".to_owned()),
            1 | 10..=13 => None,
            2..=9 => Some(format!("again {i}")),
            _ => Some(format!("label {i}")),
        };
        match expect {
            Some(label) => {
                assert_eq!(s1, StatusCode::OK, "{n}: {r1}");
                assert_eq!(r1["customer_label"], label.as_str(), "{n}");
            }
            None => assert_eq!(s1, StatusCode::NOT_FOUND, "{n}: {r1}"),
        }
    }
    let (_, info1) = get(&first, "/v1/snapshot").await;
    let (_, info2) = get(&second, "/v1/snapshot").await;
    assert_eq!(info1["source"], "kafka");
    assert_eq!(info1["numbers"], info2["numbers"]);
    assert_eq!(info1["numbers"], 20 - 1 - 4);

    // the relay published every row, in order, keyed by number
    relay.published(last).await;
    assert_eq!(app.unpublished().await, 0);
    let records = read_topic_at_least(&brokers, &topic, last as usize);
    let mut per_partition: HashMap<i32, u64> = HashMap::new();
    let mut partition_of: HashMap<E164, i32> = HashMap::new();
    for r in &records {
        assert_eq!(r.key, r.event.number.to_string(), "key = number");
        assert!(r.offset >= 0);
        let prev = per_partition.insert(r.partition, r.event.seq).unwrap_or(0);
        assert!(r.event.seq > prev, "partition {} out of order: {prev} then {}", r.partition, r.event.seq);
        let p = *partition_of.entry(r.event.number).or_insert(r.partition);
        assert_eq!(p, r.partition, "one number, one partition");
    }
    let mut seqs: Vec<u64> = records.iter().map(|r| r.event.seq).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=last).collect::<Vec<_>>(), "every position exactly once");

    first.shutdown().await.unwrap();
    second.shutdown().await.unwrap();
}
