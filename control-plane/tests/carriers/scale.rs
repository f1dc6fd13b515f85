//! Paged listing as reconciliation reads it: many pages through the adapter
//! with a few in flight, every number once, in one stable order. How fast a
//! million numbers list is a benchmark's question (BENCHMARKS.md), not a
//! timed test's.

use std::collections::BTreeMap;

use didroute_control_plane::carriers::{OwnedNumber, PageRequest};
use serde_json::json;
use tokio::task::JoinSet;

use crate::sim::{fast_settings, Sim};

const IN_FLIGHT: u32 = 4;
const COUNT: u32 = 50_000;
const PAGES: u32 = COUNT / 250;

#[tokio::test]
async fn owned_numbers_are_listed_page_by_page_each_once_in_order() {
    let sim = Sim::start();
    let carrier = sim.carrier(fast_settings());
    let added = sim.admin("bulk", json!({ "count": COUNT, "country": "US", "ndc": "700" })).await;
    assert_eq!(added["owned"], COUNT);

    let first = carrier.owned_numbers(PageRequest { page: 1, size: 250 }).await.unwrap();
    assert_eq!((first.total_pages, first.total_results), (PAGES, Some(u64::from(COUNT))));
    let mut pages: BTreeMap<u32, Vec<OwnedNumber>> = BTreeMap::from([(1, first.numbers)]);
    let mut tasks = JoinSet::new();
    let mut next = 2;
    while next <= PAGES || !tasks.is_empty() {
        while next <= PAGES && tasks.len() < IN_FLIGHT as usize {
            let (carrier, page) = (carrier.clone(), next);
            tasks.spawn(async move { (page, carrier.owned_numbers(PageRequest { page, size: 250 }).await) });
            next += 1;
        }
        let (page, got) = tasks.join_next().await.unwrap().unwrap();
        pages.insert(page, got.unwrap().numbers);
    }

    let mut last = String::new();
    let mut seen = 0u64;
    for numbers in pages.values() {
        assert_eq!(numbers.len(), 250);
        for n in numbers {
            assert!(n.number > last, "pages come in one stable order");
            last.clone_from(&n.number);
            seen += 1;
        }
    }
    assert_eq!(seen, u64::from(COUNT));
}
