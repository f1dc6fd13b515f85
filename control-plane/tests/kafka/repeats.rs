//! R6 on a real broker: every event delivered twice, retries shuffled; the
//! final lookup state equals single delivery, both for a node that reads
//! the topic at start and for one tailing it while the events arrive.

use didroute_shared::{ChangeEvent, Country, Op, Route, Subsystem, E164};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use crate::helpers::*;
use crate::need_broker;

/// A history of changes to `numbers` numbers: allocations, remaps,
/// releases, in position order, each with the number's next version.
pub fn history(numbers: usize, changes: usize, seed: u64) -> Vec<ChangeEvent> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let tenants = [uuid::Uuid::new_v4(), uuid::Uuid::new_v4(), uuid::Uuid::new_v4()];
    let mut version = 0u64;
    (1..=changes as u64)
        .map(|seq| {
            let number = E164::parse(&format!("+1555001{:04}", rng.gen_range(0..numbers))).unwrap();
            version += 1;
            let upsert = rng.gen_bool(0.7);
            ChangeEvent {
                seq,
                number,
                version,
                op: if upsert { Op::Upsert } else { Op::Delete },
                route: upsert.then(|| Route {
                    tenant_id: tenants[rng.gen_range(0..tenants.len())],
                    subsystem: [Subsystem::Psap, Subsystem::Utilities][rng.gen_range(0..2)],
                    dashboard_id: format!("dash-{}", rng.gen_range(0..4)),
                    customer_label: format!("label {seq}"),
                    country: Country::parse("US").unwrap(),
                    friendly_name: None,
                    organisation_id: None,
                    auto_provisioned: false,
                    locale: "en".into(),
                    greeting_template: None,
                    greeting_text: None,
                    attributes: None,
                    tracking: None,
                }),
                at: time::OffsetDateTime::now_utc(),
                lineage: None,
                range: None,
            }
        })
        .collect()
}

/// Each event twice: the first delivery in order, the retry at a random
/// later place.
fn delivered_twice(events: &[ChangeEvent], seed: u64) -> Vec<ChangeEvent> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut out: Vec<ChangeEvent> = Vec::with_capacity(events.len() * 2);
    let mut retries: Vec<(usize, ChangeEvent)> =
        events.iter().enumerate().map(|(i, e)| (rng.gen_range(i + 1..=events.len()), e.clone())).collect();
    retries.shuffle(&mut rng);
    retries.sort_by_key(|(at, _)| *at);
    let mut next = retries.into_iter().peekable();
    for (i, e) in events.iter().enumerate() {
        out.push(e.clone());
        while next.peek().is_some_and(|(at, _)| *at == i + 1) {
            out.push(next.next().unwrap().1);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeats_and_shuffled_retries_equal_single_delivery() {
    let brokers = need_broker!();
    let events = history(60, 600, 7);
    let twice = delivered_twice(&events, 11);
    assert_eq!(twice.len(), 1200);
    let (half, rest) = (events.len() / 2, twice.len() / 2);

    let once_topic = new_topic(&brokers, 1).await;
    let twice_topic = new_topic(&brokers, 1).await;
    produce(&brokers, &once_topic, &events).await;
    // half of the double delivery before the node starts, half while it tails
    produce(&brokers, &twice_topic, &twice[..rest]).await;
    let once = start_node(kafka_settings(&brokers, &once_topic)).await;
    let tailing = start_node(kafka_settings(&brokers, &twice_topic)).await;
    ready(&once).await;
    ready(&tailing).await;
    produce(&brokers, &twice_topic, &twice[rest..]).await;
    let last = events.len() as u64;
    applied(&once, last).await;
    applied(&tailing, last).await;
    // and a node that reads all of the double delivery at start
    let replaying = start_node(kafka_settings(&brokers, &twice_topic)).await;
    ready(&replaying).await;
    applied(&replaying, last).await;

    let numbers: Vec<E164> = (0..60).map(|i| E164::parse(&format!("+1555001{i:04}")).unwrap()).collect();
    let single = state_of(&once, &numbers);
    assert!(single.iter().any(Option::is_some) && single.iter().any(Option::is_none), "a mixed final state");
    assert_eq!(state_of(&tailing, &numbers), single, "tailing a double delivery");
    assert_eq!(state_of(&replaying, &numbers), single, "replaying a double delivery");
    for node in [&tailing, &replaying] {
        assert_eq!(node.app().store().load().numbers(), once.app().store().load().numbers());
    }
    assert!(tailing.app().metrics().events_stale.get() >= (twice.len() - rest - half) as u64 / 2);
    for node in [once, tailing, replaying] {
        node.shutdown().await.unwrap();
    }
}
