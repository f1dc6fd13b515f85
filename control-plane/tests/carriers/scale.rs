//! Reconciliation scale: a million numbers at the carrier, read page by page
//! through the adapter (a few pages in flight, as the reconciliation job
//! will), within the 60 s the job is allowed. Debug builds (the simulator
//! unoptimised too) list a quarter of that in the same time, to keep the
//! suite light; release builds list the full million.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use didroute_control_plane::carriers::{OwnedNumber, PageRequest};
use serde_json::json;
use tokio::task::JoinSet;

use crate::sim::{fast_settings, Sim};

const IN_FLIGHT: u32 = 4;
const COUNT: u32 = if cfg!(debug_assertions) { 250_000 } else { 1_000_000 };
const PAGES: u32 = COUNT / 250;

#[tokio::test]
async fn owned_numbers_at_reconciliation_scale_are_listed_within_a_minute() {
    let sim = Sim::start();
    let carrier = sim.carrier(fast_settings());
    let added = sim.admin("bulk", json!({ "count": COUNT, "country": "US", "ndc": "700" })).await;
    assert_eq!(added["owned"], COUNT);

    let started = Instant::now();
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
    let took = started.elapsed();

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
    assert!(took < Duration::from_secs(60), "listing {COUNT} numbers took {took:?}");
    eprintln!("listed {COUNT} owned numbers in {took:?} ({PAGES} pages of 250, {IN_FLIGHT} in flight)");
}
