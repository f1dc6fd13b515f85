//! Snapshot behaviour: build, version rule, copy-on-write, folding.

use std::sync::Arc;

use didroute_shared::{ChangeEvent, Country, Op, Route, Subsystem, E164};
use time::OffsetDateTime;
use uuid::Uuid;

use super::*;

fn num(s: &str) -> E164 {
    E164::parse(s).unwrap()
}

fn route(tenant: u128, label: &str) -> Route {
    Route {
        tenant_id: Uuid::from_u128(tenant),
        subsystem: if label.starts_with("psap") { Subsystem::Psap } else { Subsystem::Utilities },
        dashboard_id: format!("dash-{tenant}"),
        customer_label: label.to_owned(),
        country: Country::parse("US").unwrap(),
        friendly_name: None,
        organisation_id: None,
        auto_provisioned: false,
        locale: "en".into(),
        greeting_template: None,
        greeting_text: None,
        attributes: None,
        tracking: None,
    }
}

fn upsert(seq: u64, number: E164, version: u64, route: Route) -> ChangeEvent {
    ChangeEvent {
        seq,
        number,
        version,
        op: Op::Upsert,
        route: Some(route),
        at: OffsetDateTime::UNIX_EPOCH,
        lineage: None,
        range: None,
    }
}

fn delete(seq: u64, number: E164, version: u64) -> ChangeEvent {
    ChangeEvent {
        seq,
        number,
        version,
        op: Op::Delete,
        route: None,
        at: OffsetDateTime::UNIX_EPOCH,
        lineage: None,
        range: None,
    }
}

/// Every answer a snapshot gives for `numbers`, as JSON, without `seq`:
/// a folded number reports its base's position rather than its own change's,
/// so `seq` is only checked against its contract here (at most the
/// snapshot's position; the exact values are tested where they are set).
fn answers(s: &Snapshot, numbers: &[E164]) -> Vec<Option<serde_json::Value>> {
    numbers
        .iter()
        .map(|n| {
            s.get(*n).map(|h| {
                assert!(h.seq <= s.seq(), "a route's seq {} is past its snapshot's {}", h.seq, s.seq());
                let mut v: serde_json::Value = serde_json::from_slice(&h.to_json()).unwrap();
                v.as_object_mut().unwrap().remove("seq");
                v
            })
        })
        .collect()
}

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            v.swap(i, self.below(i as u64 + 1) as usize);
        }
    }
}

/// A gap-free history of `len` events over `pool` numbers: upserts with a
/// few shared routes, remaps and deletions, versions counting per number.
fn history(rng: &mut Rng, pool: &[E164], len: u64) -> Vec<ChangeEvent> {
    let mut versions = vec![0u64; pool.len()];
    (1..=len)
        .map(|seq| {
            let i = rng.below(pool.len() as u64) as usize;
            versions[i] += 1;
            if rng.below(4) == 0 {
                delete(seq, pool[i], versions[i])
            } else {
                let r = rng.below(5) as u128;
                upsert(seq, pool[i], versions[i], route(r, &format!("label {r}")))
            }
        })
        .collect()
}

fn pool(count: u64) -> Vec<E164> {
    // Spread over lengths and prefixes so fst order differs from numeric.
    (0..count)
        .map(|i| match i % 3 {
            0 => num(&format!("+1555{:07}", i)),
            1 => num(&format!("+1555{:07}0", i)),
            _ => num(&format!("+16{:08}", i * 7919)),
        })
        .collect()
}

#[test]
fn build_answers_what_it_was_given() {
    let a = num("+15551234567");
    let b = num("+15551234568");
    let c = num("+155512345670");
    let shared = route(1, "psap east");
    let base = Base::build([
        (a, shared.clone(), 3, 10),
        (b, shared.clone(), 1, 11),
        (c, route(2, "water"), 5, 12),
        (a, route(9, "older"), 2, 9),
    ]);
    assert_eq!(base.numbers(), 3);
    assert_eq!(base.route_count(), 2, "the route shared by a and b is stored once, the superseded one not at all");
    let s = Snapshot::from_base(Arc::new(base), 12);
    let hit = s.get(a).unwrap();
    // A base reports one position for all its numbers: the newest it saw
    // (at or after each number's own change).
    assert_eq!((hit.version, hit.seq), (3, 12));
    assert_eq!(hit.route(), &shared);
    assert!(std::ptr::eq(s.get(a).unwrap().route, s.get(b).unwrap().route));
    assert_eq!(s.get(c).unwrap().route().customer_label, "water");
    assert!(s.get(num("+15551234569")).is_none());
    assert!(s.get(num("+1555123456")).is_none(), "a prefix of a stored key is not a hit");
    let json: serde_json::Value = serde_json::from_slice(&hit.to_json()).unwrap();
    assert_eq!(json["number"], "+15551234567");
    assert_eq!(json["version"], 3);
    assert_eq!(json["seq"], 12);
    assert_eq!(json["greeting"]["emergency_number"], "911");
}

#[test]
fn empty_snapshot_answers_nothing() {
    let s = Snapshot::empty();
    assert_eq!((s.seq(), s.numbers(), s.overlay_len()), (0, 0, 0));
    assert!(s.get(num("+15551234567")).is_none());
    assert!(s.folded().get(num("+15551234567")).is_none());
}

#[test]
fn version_rule_drops_what_is_not_newer() {
    let n = num("+15551234567");
    let s0 = Snapshot::empty();
    let (s1, o) = s0.with_events(&[upsert(1, n, 2, route(1, "a"))], 1);
    assert_eq!(o, ApplyOutcome { applied: 1, stale: 0, rejected: 0 });
    let (s2, o) = s1.with_events(&[upsert(2, n, 2, route(1, "b")), upsert(3, n, 1, route(1, "c"))], 3);
    assert_eq!(o, ApplyOutcome { applied: 0, stale: 2, rejected: 0 });
    assert_eq!(s2.get(n).unwrap().route().customer_label, "a");
    assert_eq!(s2.seq(), 3, "the position moves even when every event was stale");
    let (s3, o) = s2.with_events(&[delete(4, n, 3)], 4);
    assert_eq!(o.applied, 1);
    assert!(s3.get(n).is_none());
    assert_eq!(s3.numbers(), 0);
    assert_eq!(s3.version_of(n), Some(3), "the tombstone keeps the version");
    // Copy-on-write: earlier snapshots still answer as before.
    assert_eq!(s1.get(n).unwrap().route().customer_label, "a");
    assert!(s0.get(n).is_none());
    assert_eq!((s1.numbers(), s0.numbers()), (1, 0));
}

#[test]
fn invalid_events_are_rejected_not_applied() {
    let n = num("+15551234567");
    let mut bad = upsert(1, n, 1, route(1, "a"));
    bad.route = None;
    let mut wrong_country = upsert(2, n, 2, route(1, "a"));
    wrong_country.route.as_mut().unwrap().country = Country::parse("GB").unwrap();
    let (s, o) = Snapshot::empty().with_events(&[bad, wrong_country, upsert(3, n, 1, route(1, "ok"))], 3);
    assert_eq!(o, ApplyOutcome { applied: 1, stale: 0, rejected: 2 });
    assert_eq!(s.get(n).unwrap().route().customer_label, "ok");
}

#[test]
fn tombstones_survive_folding() {
    let n = num("+15551234567");
    let (s, _) = Snapshot::empty().with_events(&[upsert(1, n, 1, route(1, "a")), delete(2, n, 2)], 2);
    let folded = s.folded();
    assert_eq!(folded.overlay_len(), 0);
    assert_eq!(folded.base().len(), 1);
    assert_eq!(folded.numbers(), 0);
    let (replayed, o) = folded.with_events(&[upsert(1, n, 1, route(1, "a"))], 2);
    assert_eq!(o.stale, 1, "a replayed upsert older than the deletion stays dropped");
    assert!(replayed.get(n).is_none());
}

#[test]
fn fold_answers_exactly_what_the_overlay_answered() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let numbers = pool(600);
    let events = history(&mut rng, &numbers, 3000);
    let (base_events, rest) = events.split_at(1500);
    let (s, _) = Snapshot::empty().with_events(base_events, 1500);
    let s = s.folded();
    assert_eq!(s.overlay_len(), 0);
    let (layered, o) = s.with_events(rest, 3000);
    assert!(o.applied > 0 && layered.overlay_len() > 0);
    let folded = layered.folded();
    assert_eq!(answers(&folded, &numbers), answers(&layered, &numbers));
    assert_eq!(folded.numbers(), layered.numbers());
    assert_eq!(folded.numbers(), numbers.iter().filter(|n| folded.get(**n).is_some()).count() as u64);
    assert!(folded.base().route_count() <= 5, "routes stay deduplicated: {}", folded.base().route_count());
    // And it matches building from every event at once.
    let mut b = BaseBuilder::new();
    events.iter().cloned().for_each(|e| b.push_event(e));
    let built = Snapshot::from_base(Arc::new(b.finish()), 3000);
    assert_eq!(answers(&built, &numbers), answers(&layered, &numbers));
    assert_eq!(built.numbers(), layered.numbers());
}

/// Scattered numbers: a fold copies the sparse records of blocks no change
/// touches and merges the rest, so every way a change meets a sparse block
/// must come out right (and hold together as a snapshot file).
#[test]
fn fold_keeps_sparse_blocks_exact() {
    // Blocks of one, two and three numbers, all in the sparse table.
    let block = |b: u64, offsets: &[u64]| -> Vec<E164> {
        offsets.iter().map(|o| E164::from_u64(15_550_000_000 + b * 1000 + o).unwrap()).collect()
    };
    let untouched = [block(1, &[7]), block(2, &[1, 999]), block(3, &[0, 5, 6])].concat();
    let remapped = block(4, &[10, 20]); // one of two remapped
    let grown = block(5, &[1, 2, 3]); // a fourth number added: now a container
    let deleted = block(6, &[40, 41]); // one of two deleted (a tombstone stays)
    let newcomer = block(7, &[500]); // a new scattered number
    let busy = block(8, &(0..100).map(|i| i * 7).collect::<Vec<_>>()); // a container
    let mut seq = 0;
    let mut events = Vec::new();
    let mut add = |n: &E164, label: &str, version: u64| {
        seq += 1;
        events.push(upsert(seq, *n, version, route(u128::from(version % 3), label)));
    };
    for (i, n) in [&untouched[..], &remapped, &grown, &deleted, &busy].concat().iter().enumerate() {
        add(n, &format!("first {}", i % 4), 1000 + i as u64);
    }
    let (s, _) = Snapshot::empty().with_events(&events, seq);
    let s = s.folded();
    assert_eq!(s.base().sparse_count(), untouched.len() + remapped.len() + grown.len() + deleted.len());
    assert_eq!(s.base().block_count(), 1);

    let later = vec![
        upsert(200, remapped[0], 5000, route(9, "moved")),
        upsert(201, E164::from_u64(15_550_005_004).unwrap(), 5001, route(9, "fourth")),
        delete(202, deleted[1], 5002),
        upsert(203, newcomer[0], 5003, route(2, "new")),
        upsert(204, busy[3], 5004, route(9, "moved")),
    ];
    let (layered, o) = s.with_events(&later, 204);
    assert_eq!(o.applied, later.len());
    let folded = layered.folded();
    let all: Vec<E164> = [&untouched[..], &remapped, &grown, &deleted, &newcomer, &busy]
        .concat()
        .into_iter()
        .chain([E164::from_u64(15_550_005_004).unwrap(), E164::from_u64(15_550_004_011).unwrap()])
        .collect();
    assert_eq!(answers(&folded, &all), answers(&layered, &all));
    for n in &all {
        assert_eq!(folded.version_of(*n), layered.version_of(*n), "{n}: versions, tombstones included");
    }
    assert_eq!(folded.numbers(), layered.numbers());
    // untouched 6 + remapped 2 + deleted 2 (one a tombstone) + the newcomer;
    // block 5 grew to four and took a container.
    assert_eq!(folded.base().sparse_count(), 11);
    assert_eq!(folded.base().block_count(), 2);
    // Routes stay deduplicated: as many as a build from every event keeps.
    let mut b = BaseBuilder::new();
    events.iter().chain(&later).cloned().for_each(|e| b.push_event(e));
    let built = b.finish();
    assert_eq!(folded.base().route_count(), built.route_count());
    assert_eq!(answers(&Snapshot::from_base(Arc::new(built), 204), &all), answers(&layered, &all));
    // The new base holds together: its file decodes and answers the same.
    let back = Snapshot::decode(&folded.encode()).unwrap();
    assert_eq!(answers(&back, &all), answers(&layered, &all));
}

/// Many small blocks (one to six numbers: both sides of the sparse /
/// container line) folded round after round: every fold answers what the
/// layered snapshot answered, a build from every event agrees, and every
/// folded base holds together as a snapshot file.
#[test]
fn repeated_folds_of_small_blocks_match_a_full_build() {
    for seed in 1..=20u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let mut numbers = Vec::new();
        for b in 0..40u64 {
            let mut offsets: Vec<u64> = (0..1 + rng.below(6)).map(|_| rng.below(1000)).collect();
            offsets.sort_unstable();
            offsets.dedup();
            numbers.extend(offsets.into_iter().map(|o| E164::from_u64(15_550_000_000 + b * 7000 + o).unwrap()));
        }
        let events = history(&mut rng, &numbers, 600);
        let mut s = Snapshot::empty();
        for (round, chunk) in events.chunks(97).enumerate() {
            let through = chunk.last().unwrap().seq;
            let (layered, o) = s.with_events(chunk, through);
            assert_eq!(o.rejected, 0);
            let folded = layered.folded();
            assert_eq!(answers(&folded, &numbers), answers(&layered, &numbers), "seed {seed} round {round}");
            for n in &numbers {
                assert_eq!(folded.version_of(*n), layered.version_of(*n), "seed {seed} round {round}: {n}");
            }
            assert_eq!(folded.numbers(), layered.numbers(), "seed {seed} round {round}");
            let back = Snapshot::decode(&folded.encode()).unwrap_or_else(|e| panic!("seed {seed} round {round}: {e}"));
            assert_eq!(answers(&back, &numbers), answers(&folded, &numbers), "seed {seed} round {round}");
            s = folded;
        }
        let mut b = BaseBuilder::new();
        events.iter().cloned().for_each(|e| b.push_event(e));
        let built = Snapshot::from_base(Arc::new(b.finish()), events.len() as u64);
        assert_eq!(answers(&built, &numbers), answers(&s, &numbers), "seed {seed}");
        assert_eq!(built.base().sparse_count(), s.base().sparse_count(), "seed {seed}");
        assert_eq!(built.base().block_count(), s.base().block_count(), "seed {seed}");
    }
}

#[test]
fn duplicated_and_shuffled_delivery_ends_like_single_delivery() {
    for seed in 1..=5u64 {
        let mut rng = Rng(seed * 0x2545_f491);
        let numbers = pool(200);
        let events = history(&mut rng, &numbers, 1500);
        let (once, _) = Snapshot::empty().with_events(&events, 1500);

        let mut messy: Vec<ChangeEvent> = events.iter().chain(events.iter()).cloned().collect();
        rng.shuffle(&mut messy);
        let mut s = Snapshot::empty();
        for (i, batch) in messy.chunks(1 + rng.below(97) as usize).enumerate() {
            s = s.with_events(batch, 0).0;
            if i % 7 == 3 {
                s = s.folded();
            }
        }
        assert_eq!(answers(&s, &numbers), answers(&once, &numbers), "seed {seed}");
        assert_eq!(s.numbers(), once.numbers(), "seed {seed}");
        assert_eq!(s.seq(), 1500);
    }
}

#[test]
fn store_publishes_batches_and_folds_while_applying() {
    let mut rng = Rng(77);
    let numbers = pool(300);
    let events = history(&mut rng, &numbers, 4000);
    let store = Arc::new(Store::new(Snapshot::empty()));
    let mut applied_seq = store.subscribe();
    let folder = {
        let store = Arc::clone(&store);
        std::thread::spawn(move || {
            let mut folds = 0;
            for _ in 0..200 {
                if store.fold().is_some() {
                    folds += 1;
                }
                std::thread::yield_now();
            }
            folds
        })
    };
    for batch in events.chunks(20) {
        store.apply(batch, batch.last().unwrap().seq);
    }
    let folds = folder.join().unwrap();
    let (reference, _) = Snapshot::empty().with_events(&events, 4000);
    let current = store.load_full();
    assert_eq!(current.seq(), 4000);
    assert_eq!(*applied_seq.borrow_and_update(), 4000);
    assert_eq!(answers(&current, &numbers), answers(&reference, &numbers), "after {folds} folds");
    assert_eq!(current.numbers(), reference.numbers());
    let report = store.fold();
    assert!(report.is_some() || current.overlay_len() == 0);
    let last = store.load_full();
    assert_eq!(last.overlay_len(), 0);
    assert_eq!(answers(&last, &numbers), answers(&reference, &numbers));
    assert!(store.fold().is_none(), "nothing left to fold");
}

#[test]
fn position_never_moves_back() {
    let store = Store::new(Snapshot::empty());
    store.apply(&[], 10);
    store.apply(&[], 4);
    assert_eq!(store.load().seq(), 10);
    assert_eq!(*store.subscribe().borrow(), 10);
}

#[test]
fn changes_applied_during_a_fold_are_kept() {
    let a = num("+15551230001");
    let b = num("+15551230002");
    let c = num("+15551230003");
    let store = Store::new(Snapshot::empty());
    store.apply(&[upsert(1, a, 1, route(1, "a1")), upsert(2, b, 1, route(1, "b1"))], 2);
    let report = store
        .fold_racing(|s| {
            s.apply(&[upsert(3, a, 2, route(2, "a2")), delete(4, b, 2), upsert(5, c, 1, route(1, "c1"))], 5);
        })
        .unwrap();
    assert_eq!((report.folded, report.carried), (2, 3));
    let now = store.load_full();
    assert_eq!(now.seq(), 5);
    assert_eq!(now.overlay_len(), 3);
    assert_eq!(now.get(a).unwrap().route().customer_label, "a2");
    assert!(now.get(b).is_none());
    assert_eq!(now.get(c).unwrap().route().customer_label, "c1");
    assert_eq!(now.numbers(), 2);
    let (reference, _) = Snapshot::empty().with_events(
        &[
            upsert(1, a, 1, route(1, "a1")),
            upsert(2, b, 1, route(1, "b1")),
            upsert(3, a, 2, route(2, "a2")),
            delete(4, b, 2),
            upsert(5, c, 1, route(1, "c1")),
        ],
        5,
    );
    assert_eq!(answers(&now, &[a, b, c]), answers(&reference, &[a, b, c]));
    // A fold with nothing racing carries nothing over.
    let report = store.fold().unwrap();
    assert_eq!((report.folded, report.carried), (3, 0));
    assert_eq!(answers(&store.load(), &[a, b, c]), answers(&reference, &[a, b, c]));
}

/// A small snapshot with routes, tombstones, busy and sparse blocks.
fn sample_snapshot() -> (Snapshot, Vec<E164>) {
    let mut numbers: Vec<E164> = (0..150).map(|i| num(&format!("+1555123{:04}", i * 3))).collect();
    numbers.extend((0..20).map(|i| num(&format!("+44207946{:04}", i * 37))));
    // Scattered numbers, one per block: the sparse table.
    numbers.extend((0..6).map(|i| num(&format!("+1{}55501234", 2 + i))));
    let mut events = Vec::new();
    for (i, n) in numbers.iter().enumerate() {
        let seq = i as u64 + 1;
        if i % 11 == 5 {
            events.push(delete(seq, *n, 3));
        } else {
            let country = if n.as_u64() < 200_000_000_000 { "US" } else { "GB" };
            let mut r = route(i as u128 % 4, &format!("psap {}", i % 4));
            r.country = Country::parse(country).unwrap();
            // Versions from one global sequence, as the control plane draws them.
            events.push(upsert(seq, *n, 1_000_000 + i as u64 * 7919, r));
        }
    }
    let (s, o) = Snapshot::empty().with_events(&events, events.len() as u64);
    assert_eq!(o.rejected, 0);
    let s = s.folded();
    assert_eq!(s.base().sparse_count(), 6);
    assert_eq!(s.base().block_count(), 2);
    (s, numbers)
}

#[test]
fn snapshot_files_round_trip() {
    let (s, numbers) = sample_snapshot();
    let bytes = s.encode();
    let back = Snapshot::decode(&bytes).unwrap();
    assert_eq!(back.seq(), s.seq());
    assert_eq!(back.numbers(), s.numbers());
    assert_eq!(back.base().len(), s.base().len());
    let exact = |s: &Snapshot| numbers.iter().map(|n| s.get(*n).map(|h| h.to_json())).collect::<Vec<_>>();
    assert_eq!(exact(&back), exact(&s));
    for n in &numbers {
        assert_eq!(back.version_of(*n), s.version_of(*n), "tombstones keep their versions");
    }
    // An overlay is folded into the file.
    let (layered, _) = s.with_events(&[delete(500, numbers[0], 9_000_000)], 500);
    let back = Snapshot::decode(&layered.encode()).unwrap();
    assert_eq!((back.seq(), back.overlay_len()), (500, 0));
    assert_eq!(answers(&back, &numbers), answers(&layered, &numbers));
    assert!(Snapshot::decode(&Snapshot::empty().encode()).unwrap().get(numbers[1]).is_none());
}

#[test]
fn every_truncation_and_every_bit_flip_is_refused() {
    let (s, _) = sample_snapshot();
    let bytes = s.encode();
    assert!(matches!(Snapshot::decode(&[]), Err(SnapshotError::Empty)));
    for len in 1..bytes.len() {
        let err = Snapshot::decode(&bytes[..len]).unwrap_err();
        assert!(matches!(err, SnapshotError::Truncated { .. } | SnapshotError::Checksum), "{len}: {err}");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(Snapshot::decode(&longer).is_err());
    for at in 0..bytes.len() {
        for bit in [0, 3, 7] {
            let mut bad = bytes.clone();
            bad[at] ^= 1 << bit;
            assert!(Snapshot::decode(&bad).is_err(), "a flip of bit {bit} at byte {at} went unnoticed");
        }
    }
    let mut other = bytes.clone();
    other[..8].copy_from_slice(b"NOTASNAP");
    assert!(matches!(Snapshot::decode(&other), Err(SnapshotError::NotASnapshot)));
}

#[test]
fn store_refuses_an_older_snapshot() {
    let (s, numbers) = sample_snapshot();
    let store = Store::new(s.clone());
    let (newer, _) = s.with_events(&[delete(900, numbers[1], 9_000_000)], 900);
    store.install(newer.folded()).unwrap();
    let err = store.install(s).unwrap_err();
    assert!(matches!(err, SnapshotError::Older { file, serving: 900 } if file < 900), "{err}");
    assert_eq!(store.load().seq(), 900);
    assert!(store.load().get(numbers[1]).is_none());
}

fn range_event(seq: u64, id: u64, first: &str, last: &str, version: u64, route: Option<Route>) -> ChangeEvent {
    ChangeEvent {
        seq,
        number: num(first),
        version,
        op: if route.is_some() { Op::RangeUpsert } else { Op::RangeDelete },
        route,
        at: OffsetDateTime::UNIX_EPOCH,
        lineage: None,
        range: Some(didroute_shared::RangeRef { id, last: num(last) }),
    }
}

/// A range answers for its numbers without an allocation of their own, in
/// the overlay, after a fold and from a catch-up build alike; the version
/// rule holds per range; a delete stops it.
#[test]
fn range_routes_answer_behind_the_exact_index() {
    let own = num("+15550001005");
    let events = vec![
        upsert(1, own, 1, route(1, "own")),
        range_event(2, 7, "+15550001000", "+15550001999", 2, Some(route(2, "range"))),
    ];
    let applied = Snapshot::empty().with_events(&events, 2).0;
    let mut builder = BaseBuilder::new();
    builder.push_events(events.clone());
    let built = Snapshot::from_base(Arc::new(builder.finish()), 2);
    for s in [&applied, &applied.folded(), &built] {
        let hit = s.route_of(own).unwrap();
        assert_eq!(hit.route().customer_label, "own");
        assert!(s.get(num("+15550001500")).is_none(), "the exact index holds no range numbers");
        let hit = s.route_of(num("+15550001500")).unwrap();
        assert_eq!(hit.route().customer_label, "range");
        assert_eq!((hit.version, hit.seq), (2, 2));
        let json: serde_json::Value = serde_json::from_slice(&hit.to_json()).unwrap();
        assert_eq!(json["source"], "range");
        assert_eq!(json["number"], "+15550001500");
        assert!(s.route_of(num("+15550002000")).is_none());
        assert!(s.route_of(num("+1555000100")).is_none());
        assert_eq!(s.range_version(7), Some(2));
    }
    // a replay of an older version changes nothing; a delete stops the range
    let (same, outcome) =
        applied.folded().with_events(&[range_event(2, 7, "+15550001000", "+15550001999", 2, None)], 3);
    assert_eq!(outcome.stale, 1);
    assert!(same.route_of(num("+15550001500")).is_some());
    let (gone, outcome) = same.with_events(&[range_event(3, 7, "+15550001000", "+15550001999", 3, None)], 3);
    assert_eq!(outcome.applied, 1);
    assert!(gone.route_of(num("+15550001500")).is_none(), "the overlay hides the base's range");
    assert!(gone.folded().route_of(num("+15550001500")).is_none());
    assert_eq!(gone.folded().range_version(7), Some(3));
    assert_eq!(gone.route_of(own).unwrap().route().customer_label, "own");
}

fn block(seq: u64, number: E164, version: u64) -> ChangeEvent {
    ChangeEvent { op: Op::Block, ..delete(seq, number, version) }
}

/// A blocked number (a `block` event: disabled, provisioning pending or
/// failed) inside a range route answers nothing, where a deleted one (back
/// in the pool, cooling down) answers through the range and an allocated
/// one from the exact index: in the overlay, after folds, from a catch-up
/// build (page and one by one) and from a snapshot file; in the sparse table
/// and in a block container alike. A later delete unblocks it.
#[test]
fn blocked_numbers_do_not_route_through_their_range() {
    // range 7: one block holding three numbers (the sparse table)
    let (sparse_own, sparse_blocked, sparse_deleted) = (num("+15550001005"), num("+15550001500"), num("+15550001600"));
    // range 8: a block of twelve (a container)
    let busy: Vec<E164> = (0..12).map(|i| num(&format!("+155500020{:02}", i))).collect();
    let (busy_blocked, busy_deleted, busy_was_own) = (busy[5], busy[6], busy[7]);
    let mut events = vec![
        range_event(1, 7, "+15550001000", "+15550001999", 1, Some(route(2, "range seven"))),
        range_event(2, 8, "+15550002000", "+15550002999", 2, Some(route(2, "range eight"))),
        upsert(3, sparse_own, 10, route(1, "own")),
        block(4, sparse_blocked, 11),
        delete(5, sparse_deleted, 12),
    ];
    let mut seq = 5;
    for (i, &n) in busy.iter().enumerate() {
        seq += 1;
        events.push(match n {
            _ if n == busy_blocked => block(seq, n, 100 + i as u64),
            _ if n == busy_deleted => delete(seq, n, 100 + i as u64),
            _ => upsert(seq, n, 100 + i as u64, route(1, "own")),
        });
    }
    // an allocated number disabled: its route goes, the range does not answer
    seq += 1;
    events.push(block(seq, busy_was_own, 500));
    let through = seq;

    let applied = Snapshot::empty().with_events(&events, through).0;
    let mut paged = BaseBuilder::new();
    paged.push_events(events.clone());
    let mut single = BaseBuilder::new();
    events.iter().cloned().for_each(|e| single.push_event(e));
    let built = Snapshot::from_base(Arc::new(paged.finish()), through);
    let one_by_one = Snapshot::from_base(Arc::new(single.finish()), through);
    let folded = applied.folded();
    // a second fold carries the blocked entries through untouched blocks
    // (sparse records copied over, containers re-encoded beside a change)
    let refolded =
        folded.with_events(&[upsert(through + 1, busy[0], 900, route(1, "remapped"))], through + 1).0.folded();
    let filed = Snapshot::decode(&folded.encode()).unwrap();
    assert!(folded.base().sparse_count() >= 3 && folded.base().block_count() >= 1, "both kinds of storage");
    for (name, s) in [
        ("overlay", &applied),
        ("built", &built),
        ("one by one", &one_by_one),
        ("folded", &folded),
        ("refolded", &refolded),
        ("file", &filed),
    ] {
        for blocked in [sparse_blocked, busy_blocked, busy_was_own] {
            assert!(s.route_of(blocked).is_none(), "{name}: {blocked} is blocked, its range does not answer");
            assert!(s.get(blocked).is_none() && s.is_blocked(blocked), "{name}: {blocked}");
            assert!(s.version_of(blocked).is_some(), "{name}: the block keeps its version");
        }
        for deleted in [sparse_deleted, busy_deleted, num("+15550001999"), num("+15550002999")] {
            let hit = s.route_of(deleted).unwrap_or_else(|| panic!("{name}: {deleted} answers through its range"));
            assert!(hit.route().customer_label.starts_with("range"), "{name}: {deleted}");
            assert!(!s.is_blocked(deleted));
        }
        let hit = s.route_of(sparse_own).unwrap();
        assert_eq!(hit.route().customer_label, "own", "{name}: the exact index first");
        assert_eq!(s.route_of(busy[1]).unwrap().route().customer_label, "own", "{name}");
        // routable numbers: the own ones (1 + 12 - blocked - deleted - disabled), not the blocked
        assert_eq!(s.numbers(), 1 + 9, "{name}: blocked numbers are not routable");
    }
    assert_eq!(refolded.route_of(busy[0]).unwrap().route().customer_label, "remapped");
    assert_eq!(filed.base().len(), folded.base().len(), "blocked numbers travel in the file");

    // the version rule: an older upsert does not unblock; a newer delete
    // does (the number is back in the pool: its range answers again)
    let (same, outcome) = folded.with_events(&[upsert(through + 2, sparse_blocked, 11, route(1, "late"))], through + 2);
    assert_eq!(outcome.stale, 1);
    assert!(same.route_of(sparse_blocked).is_none());
    let (unblocked, outcome) = folded
        .with_events(&[delete(through + 2, sparse_blocked, 600), delete(through + 3, busy_blocked, 601)], through + 3);
    assert_eq!(outcome.applied, 2);
    for s in [&unblocked, &unblocked.folded()] {
        assert_eq!(s.route_of(sparse_blocked).unwrap().route().customer_label, "range seven");
        assert_eq!(s.route_of(busy_blocked).unwrap().route().customer_label, "range eight");
        assert_eq!(s.numbers(), 10, "an unblocked number without a route is not counted either");
    }
    // a blocked number allocated again routes from the exact index
    let (again, _) = folded.with_events(&[upsert(through + 2, busy_was_own, 700, route(3, "again"))], through + 2);
    for s in [&again, &again.folded()] {
        assert_eq!(s.route_of(busy_was_own).unwrap().route().customer_label, "again");
        assert_eq!(s.numbers(), 11);
    }
    // a block of an allocated number takes it out of the count in the overlay too
    let (disabled, _) = built.with_events(&[block(through + 2, busy[1], 800)], through + 2);
    assert_eq!(disabled.numbers(), 9);
    assert!(disabled.route_of(busy[1]).is_none());
}
