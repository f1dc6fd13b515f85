//! R8 on a real broker: a (re)started lookup node reads the topic to its
//! high watermarks before it is ready, and never serves a partial snapshot.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use didroute_shared::E164;
use reqwest::StatusCode;

use crate::helpers::*;
use crate::need_broker;
use crate::repeats::history;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_node_is_ready_only_after_reading_the_whole_topic() {
    let brokers = need_broker!();
    let topic = new_topic(&brokers, 2).await;
    // 20,000 changes to 5,000 numbers
    let events = history(5000, 20_000, 3);
    produce(&brokers, &topic, &events).await;
    let numbers: Vec<E164> = (0..5000).map(|i| E164::parse(&format!("+1555001{i:04}")).unwrap()).collect();

    let mut expected = None;
    for round in 0..2 {
        // a node starting (and then one restarting) on the full topic
        let mut settings = kafka_settings(&brokers, &topic);
        settings.max_batch = 1000; // many catch-up pages
        let node = start_node(settings).await;
        let addr = node.local_addr();
        let done = Arc::new(AtomicBool::new(false));
        let watcher = {
            let done = Arc::clone(&done);
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                let (mut not_ready, mut answers) = (Vec::new(), Vec::new());
                while !done.load(Ordering::Relaxed) {
                    let info = http.get(format!("http://{addr}/v1/snapshot")).send().await;
                    let lookup = http.get(format!("http://{addr}/v1/routes/+15550010001")).send().await;
                    if let (Ok(info), Ok(lookup)) = (info, lookup) {
                        let info: serde_json::Value = info.json().await.unwrap();
                        if info["ready"] == false {
                            // checked below against the complete count
                            not_ready.push((info["numbers"].as_u64().unwrap(), info["seq"].as_u64().unwrap()));
                            let s = lookup.status();
                            assert!(
                                s == StatusCode::SERVICE_UNAVAILABLE
                                    || s == StatusCode::OK
                                    || s == StatusCode::NOT_FOUND,
                                "{s}"
                            );
                        } else {
                            answers.push(info["numbers"].as_u64().unwrap());
                        }
                    }
                }
                (not_ready, answers)
            })
        };
        ready(&node).await;
        // the moment it is ready it holds everything
        let snapshot = node.app().store().load_full();
        assert!(
            snapshot.seq() >= events.len() as u64,
            "round {round}: ready at {} of {}",
            snapshot.seq(),
            events.len()
        );
        let state = state_of(&node, &numbers);
        let held = state.iter().filter(|s| s.is_some()).count() as u64;
        assert_eq!(snapshot.numbers(), held);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        done.store(true, Ordering::Relaxed);
        let (not_ready, answers) = watcher.await.unwrap();
        assert!(answers.iter().all(|&n| n == held), "once ready, the full count only: {answers:?}");
        // Before ready the node holds nothing, or (in the instant between
        // publishing the complete snapshot and marking itself ready) all of
        // it: never one of the partial states between catch-up pages.
        let partial: Vec<_> = not_ready
            .iter()
            .filter(|&&(n, seq)| !(n == 0 && seq == 0 || n == held && seq >= events.len() as u64))
            .collect();
        assert!(partial.is_empty(), "round {round}: partial snapshots before ready: {partial:?}");
        eprintln!("round {round}: {} answers before ready, {} after", not_ready.len(), answers.len());
        match &expected {
            None => expected = Some(state),
            Some(first) => assert_eq!(&state, first, "a restarted node loads the same state"),
        }
        node.shutdown().await.unwrap();
    }
}
