//! Range routes: a tenant's DID range that routes as one block. The folded
//! ranges sit in an `fst::Map` from digit prefixes to the range's entry:
//! a range `first..=last` of `L` digits is decomposed into the fewest
//! prefixes that cover it exactly (`15550001000-15550001999` is the one
//! prefix `15550001`), each key led by the digit count, so a number
//! matches only ranges of its own length; a lookup walks the fst along the
//! number's digits and stops at the first prefix that is a key.
//! Ranges never overlap (the control plane refuses it), so at most one
//! range holds a number, and prefixes of one range never nest.
//!
//! The exact index answers first: a number with its own allocation never
//! reaches the fst (see [`Snapshot::route_of`](super::Snapshot)).

use std::sync::Arc;

use didroute_shared::wire::lookup::RouteSource;
use didroute_shared::{ChangeEvent, Op, Route};
use fst::raw::Output;

use super::hash::FxHashMap;
use super::render::RenderedRoute;

/// One range as the snapshot holds it; `route: None` is a deleted range,
/// kept for the version rule like a number's tombstone.
#[derive(Debug, Clone)]
pub struct RangeEntry {
    pub id: u64,
    pub first: u64,
    pub last: u64,
    pub version: u64,
    pub seq: u64,
    pub route: Option<Arc<RenderedRoute>>,
}

/// A range event's range as the snapshot holds it; `None` for an event
/// that is not about a range.
pub(crate) fn range_entry(event: ChangeEvent) -> Option<RangeEntry> {
    let range = event.range?;
    let route = match (event.op, event.route) {
        (Op::RangeUpsert, Some(route)) => Some(Arc::new(RenderedRoute::with_source(route, RouteSource::Range))),
        _ => None,
    };
    Some(RangeEntry {
        id: range.id,
        first: event.number.as_u64(),
        last: range.last.as_u64(),
        version: event.version,
        seq: event.seq,
        route,
    })
}

impl RangeEntry {
    pub fn contains(&self, number: u64) -> bool {
        self.first <= number && number <= self.last
    }
}

/// The folded range routes: the fst over the live ranges' prefixes, and
/// every range (deleted ones included) in id order, found by id with a
/// binary search (no map beside them: ranges are many, changes to them few).
///
/// A folded range is a 32-byte [`Packed`] record: the bar is 40 bytes a
/// range with the fst included (`cargo bench -p didroute-benches --bench
/// lookup -- ranges`). Like the base's numbers, folded ranges keep no change
/// seq of their own: they answer with the base's position, at which their
/// route was current; the overlay keeps exact seqs until the next fold.
#[derive(Debug, Clone)]
pub struct Ranges {
    fst: fst::Map<Vec<u8>>,
    entries: Vec<Packed>,
    /// The distinct routes the entries point into: many ranges share one
    /// (a tenant's), so each is rendered once.
    routes: Vec<Arc<RenderedRoute>>,
    /// `last` of ranges wider than a `u32` span, by entry index (15-digit
    /// blocks of billions: rare, so they do not widen every record).
    wide: FxHashMap<u32, u64>,
    /// Where the walk stands after a number's digit count and first
    /// `jump_digits` digits, for every such digits of each length that has
    /// ranges: the first levels of the fst are nodes every lookup visits,
    /// and starting below them saves half the walk of a large fst.
    jump: Vec<Jump>,
    /// Digits the jump table skips: more for a larger fst, so the table
    /// stays a small part of it (`jump_digits_for`).
    jump_digits: usize,
    /// Where each digit count's part of `jump` starts, or [`NONE`] for a
    /// count no range has.
    jump_at: [u32; MAX_KEY],
}

/// A folded range.
#[derive(Debug, Clone, Copy)]
struct Packed {
    id: u64,
    first: u64,
    version: u64,
    /// `last - first`, or [`WIDE`] when that does not fit (see `wide`).
    span: u32,
    /// Index into `routes`, or [`DELETED`] for a deleted range.
    route: u32,
}

const WIDE: u32 = u32::MAX;
const DELETED: u32 = u32::MAX;
/// "None" in a [`Jump`]'s `u32` fields.
const NONE: u32 = u32::MAX;

/// A live range holding a number, as a lookup answers it.
#[derive(Debug, Clone, Copy)]
pub struct RangeHit<'a> {
    pub id: u64,
    pub version: u64,
    pub route: &'a Arc<RenderedRoute>,
}

/// Digits the jump table skips for an fst of `keys` keys: a tenth of a
/// digit's fan-out per key at most, between 3 and 5 digits (at 1M ranges,
/// 100,000 entries of 12 bytes for a length, 1.2 bytes a range).
fn jump_digits_for(keys: usize) -> usize {
    match keys {
        0..100_000 => 3,
        100_000..1_000_000 => 4,
        _ => 5,
    }
}

/// Shortest number the jump table serves (E.164: 7 to 15 digits).
const MIN_LEN: usize = 7;

/// The walk's state after the first key bytes, in 12 bytes (fst addresses
/// and outputs, which are entry indices, fit a `u32`).
#[derive(Debug, Clone, Copy)]
struct Jump {
    /// The node reached, or [`NONE`] when the walk left the fst before.
    addr: u32,
    out: u32,
    /// The prefix that ended on the way (the walk stops there), or [`NONE`].
    best: u32,
}

/// Where a walk along a key ended.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Walked {
    /// A prefix of the key is a key of the fst: its value.
    Found(u64),
    /// The walk left the fst before any prefix ended.
    Left,
    /// The whole key was walked without a prefix ending: the node reached
    /// and the output so far.
    At(usize, Output),
}

/// The walk from `addr` along `key`, stopping at the first prefix that is
/// a key: prefixes never nest (ranges never overlap, and one range's
/// prefixes are disjoint blocks), so the first is the only one, and the
/// digits after it are never read.
fn walk(fst: &fst::raw::Fst<Vec<u8>>, mut addr: usize, mut out: Output, key: &[u8]) -> Walked {
    let mut node = fst.node(addr);
    for &b in key {
        let Some(i) = node.find_input(b) else { return Walked::Left };
        let t = node.transition(i);
        out = out.cat(t.out);
        addr = t.addr;
        node = fst.node(addr);
        if node.is_final() {
            return Walked::Found(out.cat(node.final_output()).value());
        }
    }
    Walked::At(addr, out)
}

fn narrow(v: u64) -> u32 {
    u32::try_from(v).expect("fst addresses and entry indices fit a u32")
}

/// The jump table over the digit counts in `lengths` (a bit per count).
fn jump_table(fst: &fst::raw::Fst<Vec<u8>>, lengths: u32, digits: usize) -> (Vec<Jump>, [u32; MAX_KEY]) {
    let fan = 10usize.pow(digits as u32);
    let mut at = [NONE; MAX_KEY];
    let mut table = Vec::with_capacity(lengths.count_ones() as usize * fan);
    for (len, at) in at.iter_mut().enumerate().skip(MIN_LEN) {
        if lengths & (1 << len) == 0 {
            continue;
        }
        *at = narrow(table.len() as u64);
        let mut key = [0u8; MAX_KEY];
        key[0] = len as u8;
        for lead in 0..fan {
            let mut rest = lead;
            for k in (1..=digits).rev() {
                key[k] = b'0' + (rest % 10) as u8;
                rest /= 10;
            }
            table.push(match walk(fst, fst.root().addr(), Output::zero(), &key[..=digits]) {
                Walked::Found(v) => Jump { addr: NONE, out: 0, best: narrow(v) },
                Walked::Left => Jump { addr: NONE, out: 0, best: NONE },
                Walked::At(addr, out) => Jump { addr: narrow(addr as u64), out: narrow(out.value()), best: NONE },
            });
        }
    }
    (table, at)
}

impl Default for Ranges {
    fn default() -> Ranges {
        Ranges::build(Vec::new())
    }
}

/// Longest key: the digit count and up to 15 digits.
const MAX_KEY: usize = 16;

/// The fst key of `number`: its digit count, then its digits.
fn number_key(number: u64, out: &mut [u8; MAX_KEY]) -> usize {
    let mut digits = [0u8; 20];
    let mut n = number;
    let mut len = 0;
    loop {
        digits[len] = b'0' + (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let len = len.min(MAX_KEY - 1);
    out[0] = len as u8;
    for i in 0..len {
        out[1 + i] = digits[len - 1 - i];
    }
    len + 1
}

/// The prefixes that cover `first..=last` (one digit count) exactly, as fst
/// keys.
pub fn prefixes(first: u64, last: u64) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut key = [0u8; MAX_KEY];
    let mut lo = first;
    while lo <= last {
        // the widest aligned block starting at `lo` that stays inside
        let (mut width, mut dropped) = (1u64, 0usize);
        let len = number_key(lo, &mut key);
        while dropped + 2 < len
            && lo.is_multiple_of(width * 10)
            && lo.checked_add(width * 10 - 1).is_some_and(|end| end <= last)
        {
            width *= 10;
            dropped += 1;
        }
        out.push(key[..len - dropped].to_vec());
        match lo.checked_add(width) {
            Some(next) => lo = next,
            None => break,
        }
    }
    out
}

impl Ranges {
    /// Ranges from entries in any order; where an id appears twice, the
    /// higher version wins.
    pub fn build(entries: Vec<RangeEntry>) -> Ranges {
        Ranges::build_jumping(entries, None)
    }

    /// [`Ranges::build`] with the jump table's digits given (tests) or
    /// chosen by size.
    fn build_jumping(entries: Vec<RangeEntry>, jump_digits: Option<usize>) -> Ranges {
        let mut newest: FxHashMap<u64, RangeEntry> = FxHashMap::default();
        for e in entries {
            match newest.get(&e.id) {
                Some(held) if held.version >= e.version => {}
                _ => {
                    newest.insert(e.id, e);
                }
            }
        }
        let mut entries: Vec<RangeEntry> = newest.into_values().collect();
        entries.sort_unstable_by_key(|e| e.id);
        // many ranges share a route (a tenant's): one rendered copy each
        let mut routes: Vec<Arc<RenderedRoute>> = Vec::new();
        let mut index: FxHashMap<Route, u32> = FxHashMap::default();
        let mut wide = FxHashMap::default();
        let mut keys: Vec<(Vec<u8>, u64)> = Vec::new();
        // digit counts that have ranges, a bit each
        let mut lengths = 0u32;
        let mut packed = Vec::with_capacity(entries.len());
        for (i, e) in entries.into_iter().enumerate() {
            let i = narrow(i as u64);
            let route = match e.route {
                Some(r) => match index.get(r.route()) {
                    Some(&at) => at,
                    None => {
                        let at = narrow(routes.len() as u64);
                        index.insert(r.route().clone(), at);
                        routes.push(r);
                        at
                    }
                },
                None => DELETED,
            };
            let span = match u32::try_from(e.last - e.first) {
                Ok(span) if span != WIDE => span,
                _ => {
                    wide.insert(i, e.last);
                    WIDE
                }
            };
            if route != DELETED {
                lengths |= 1 << (number_key(e.first, &mut [0; MAX_KEY]) - 1);
                keys.extend(prefixes(e.first, e.last).into_iter().map(|k| (k, u64::from(i))));
            }
            packed.push(Packed { id: e.id, first: e.first, version: e.version, span, route });
        }
        routes.shrink_to_fit();
        keys.sort_unstable();
        // the control plane keeps ranges apart; should two ever share a
        // prefix, one of them answers rather than the build failing
        keys.dedup_by(|a, b| a.0 == b.0);
        let jump_digits = jump_digits.unwrap_or_else(|| jump_digits_for(keys.len()));
        let fst = fst::Map::from_iter(keys).expect("sorted, distinct keys");
        let (jump, jump_at) = jump_table(fst.as_fst(), lengths, jump_digits);
        Ranges { fst, entries: packed, routes, wide, jump, jump_digits, jump_at }
    }

    fn last(&self, i: usize) -> u64 {
        let p = &self.entries[i];
        match p.span {
            WIDE => self.wide[&narrow(i as u64)],
            span => p.first + u64::from(span),
        }
    }

    /// The live range holding `number`.
    #[inline]
    pub fn get(&self, number: u64) -> Option<RangeHit<'_>> {
        let mut key = [0u8; MAX_KEY];
        let len = number_key(number, &mut key);
        let fst = self.fst.as_fst();
        let digits = len - 1;
        let jd = self.jump_digits;
        let best = if digits >= MIN_LEN {
            let at = self.jump_at[digits];
            if at == NONE {
                return None;
            }
            let lead = key[1..=jd].iter().fold(0usize, |acc, &d| acc * 10 + (d - b'0') as usize);
            let j = self.jump[at as usize + lead];
            match (j.best, j.addr) {
                (NONE, NONE) => None,
                (NONE, addr) => match walk(fst, addr as usize, Output::new(u64::from(j.out)), &key[1 + jd..len]) {
                    Walked::Found(v) => Some(v),
                    _ => None,
                },
                (best, _) => Some(u64::from(best)),
            }
        } else {
            match walk(fst, fst.root().addr(), Output::zero(), &key[..len]) {
                Walked::Found(v) => Some(v),
                _ => None,
            }
        };
        let i = best? as usize;
        let p = self.entries.get(i)?;
        // the fst's prefixes cover a range exactly; the bounds check guards
        // a prefix two ranges shared (see `build`)
        let inside = p.first <= number
            && match p.span {
                WIDE => number <= self.last(i),
                span => number - p.first <= u64::from(span),
            };
        let route = self.routes.get(p.route as usize)?;
        inside.then_some(RangeHit { id: p.id, version: p.version, route })
    }

    /// The version held for range `id`, deleted or not.
    pub fn version_of(&self, id: u64) -> Option<u64> {
        self.entries.binary_search_by_key(&id, |e| e.id).ok().map(|i| self.entries[i].version)
    }

    /// Every range held, deleted ones included, in id order; `seq` is the
    /// position they are reported at (the base's).
    pub fn entries(&self, seq: u64) -> impl Iterator<Item = RangeEntry> + '_ {
        self.entries.iter().enumerate().map(move |(i, p)| RangeEntry {
            id: p.id,
            first: p.first,
            last: self.last(i),
            version: p.version,
            seq,
            route: self.routes.get(p.route as usize).cloned(),
        })
    }

    /// Live ranges.
    pub fn live(&self) -> usize {
        self.entries.iter().filter(|e| e.route != DELETED).count()
    }

    /// These ranges with `changes` (the overlay's, by id) applied.
    pub fn merged<'a>(&self, changes: impl IntoIterator<Item = &'a RangeEntry>) -> Ranges {
        let mut changes = changes.into_iter().peekable();
        if changes.peek().is_none() {
            return self.clone();
        }
        // the seq is not kept once folded, so any value serves here
        Ranges::build(self.entries(0).chain(changes.cloned()).collect())
    }

    /// Bytes of the fst, the entries and the jump table (routes are shared).
    pub fn heap_bytes(&self) -> usize {
        self.fst.as_fst().size()
            + self.entries.capacity() * std::mem::size_of::<Packed>()
            + self.jump.capacity() * std::mem::size_of::<Jump>()
            + self.routes.capacity() * std::mem::size_of::<Arc<RenderedRoute>>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use didroute_shared::{Country, Route, Subsystem};

    fn route() -> Arc<RenderedRoute> {
        Arc::new(RenderedRoute::new(Route {
            tenant_id: uuid::Uuid::nil(),
            subsystem: Subsystem::Utilities,
            dashboard_id: "d".into(),
            customer_label: "L".into(),
            country: Country::parse("US").unwrap(),
            friendly_name: None,
            organisation_id: None,
            auto_provisioned: false,
            locale: "en".into(),
            greeting_template: None,
            greeting_text: None,
            attributes: None,
            tracking: None,
        }))
    }

    fn entry(id: u64, first: u64, last: u64) -> RangeEntry {
        RangeEntry { id, first, last, version: id, seq: id, route: Some(route()) }
    }

    #[test]
    fn an_aligned_range_is_one_prefix() {
        assert_eq!(prefixes(15550001000, 15550001999), vec![b"\x0b15550001".to_vec()]);
        assert_eq!(prefixes(15550001000, 15550001000), vec![b"\x0b15550001000".to_vec()]);
        // 995..=1012: five numbers, then 1000-1009 as one prefix, then two
        assert_eq!(prefixes(15550000995, 15550001012).len(), 5 + 1 + 3);
    }

    #[test]
    fn every_number_of_a_range_and_none_beside_it() {
        let ranges = Ranges::build(vec![entry(1, 15550000995, 15550001012), entry(2, 15550001013, 15550001999)]);
        for n in 15550000990..15550002005u64 {
            let want = match n {
                15550000995..=15550001012 => Some(1),
                15550001013..=15550001999 => Some(2),
                _ => None,
            };
            assert_eq!(ranges.get(n).map(|e| e.id), want, "{n}");
        }
        // another length with the same leading digits is not in it
        assert!(ranges.get(1555000100).is_none());
        assert!(ranges.get(155500010000).is_none());
    }

    #[test]
    fn a_deleted_range_stops_and_keeps_its_version() {
        let ranges = Ranges::build(vec![entry(1, 15550001000, 15550001999)]);
        let gone = RangeEntry { version: 9, route: None, ..entry(1, 15550001000, 15550001999) };
        let after = ranges.merged([&gone]);
        assert!(after.get(15550001500).is_none());
        assert_eq!(after.version_of(1), Some(9));
    }

    /// The jump table and the walk below it agree with a scan, for ranges
    /// whose prefixes end within the skipped digits too (a 1M range of
    /// 7-digit numbers is one digit).
    #[test]
    fn lookups_agree_with_a_scan() {
        let mut entries = vec![entry(1, 2_000_000, 2_999_999), entry(2, 1_234_567, 1_234_600)];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        // 11-digit ranges 10,000 apart, random offsets and lengths
        for i in 0..2000u64 {
            let start = 15_550_000_000 + i * 10_000 + next() % 5000;
            entries.push(entry(10 + i, start, start + next() % 4000));
        }
        let mut probes: Vec<u64> = (0..20_000).map(|_| 15_550_000_000 + next() % 20_000_000).collect();
        probes.extend([
            1_999_999, 2_000_000, 2_500_000, 2_999_999, 3_000_000, 1_234_566, 1_234_567, 1_234_600, 1_234_601,
        ]);
        for digits in [3, 4, 5] {
            let ranges = Ranges::build_jumping(entries.clone(), Some(digits));
            for &n in &probes {
                let want = entries.iter().find(|e| e.contains(n)).map(|e| e.id);
                assert_eq!(ranges.get(n).map(|e| e.id), want, "{n} with {digits} jump digits");
            }
        }
    }

    /// A range wider than a `u32` span keeps its end; folding keeps what
    /// every range held.
    #[test]
    fn a_range_wider_than_a_u32_span() {
        let (first, last) = (100_000_000_000_000, 100_009_999_999_999);
        let ranges = Ranges::build(vec![entry(1, first, last), entry(2, 15550001000, 15550001999)]);
        for n in [first, first + u64::from(u32::MAX) + 7, last] {
            assert_eq!(ranges.get(n).map(|e| e.id), Some(1), "{n}");
        }
        assert!(ranges.get(last + 1).is_none());
        let held: Vec<(u64, u64, u64, u64)> = ranges.entries(5).map(|e| (e.id, e.first, e.last, e.seq)).collect();
        assert_eq!(held, vec![(1, first, last, 5), (2, 15550001000, 15550001999, 5)]);
    }
}
