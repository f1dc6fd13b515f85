//! Range routes: a tenant's DID range that routes as one block. The folded
//! ranges sit in an `fst::Map` from digit prefixes to the range's entry:
//! a range `first..=last` of `L` digits is decomposed into the fewest
//! prefixes that cover it exactly (`15550001000-15550001999` is the one
//! prefix `15550001`), each key led by the digit count, so a number
//! matches only ranges of its own length; a lookup walks the fst along the
//! number's digits and keeps the last (longest) prefix that ended there.
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
#[derive(Debug)]
pub struct Ranges {
    fst: fst::Map<Vec<u8>>,
    entries: Vec<RangeEntry>,
    /// Where the walk stands after a number's digit count and first
    /// [`JUMP_DIGITS`] digits, for every length and such digits: the first
    /// levels of the fst are the same few nodes for every lookup, and
    /// starting below them saves a third of the walk. Empty without ranges.
    jump: Vec<Jump>,
}

/// Digits the jump table skips.
const JUMP_DIGITS: usize = 3;
/// Shortest and longest numbers (E.164: 7 to 15 digits).
const MIN_LEN: usize = 7;
const MAX_LEN: usize = 15;

/// The walk's state after the first key bytes.
#[derive(Debug, Clone, Copy)]
struct Jump {
    /// The node reached, or `None` when the walk left the fst before.
    addr: Option<usize>,
    out: u64,
    /// The longest prefix that ended on the way.
    best: Option<u64>,
}

/// The walk from `node` along `key`: the node it stops at (`None` when it
/// left the fst), the output so far and the longest prefix's value.
fn walk(
    fst: &fst::raw::Fst<Vec<u8>>,
    mut addr: usize,
    mut out: Output,
    mut best: Option<u64>,
    key: &[u8],
) -> (Option<usize>, Output, Option<u64>) {
    let mut node = fst.node(addr);
    for &b in key {
        let Some(i) = node.find_input(b) else { return (None, out, best) };
        let t = node.transition(i);
        out = out.cat(t.out);
        addr = t.addr;
        node = fst.node(addr);
        if node.is_final() {
            best = Some(out.cat(node.final_output()).value());
        }
    }
    (Some(addr), out, best)
}

fn jump_table(fst: &fst::raw::Fst<Vec<u8>>) -> Vec<Jump> {
    let mut table = Vec::with_capacity((MAX_LEN - MIN_LEN + 1) * 1000);
    for len in MIN_LEN..=MAX_LEN {
        for lead in 0..1000u32 {
            let key = [len as u8, b'0' + (lead / 100) as u8, b'0' + (lead / 10 % 10) as u8, b'0' + (lead % 10) as u8];
            let (addr, out, best) = walk(fst, fst.root().addr(), Output::zero(), None, &key);
            table.push(Jump { addr, out: out.value(), best });
        }
    }
    table
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
        entries.shrink_to_fit();
        // many ranges share a route (a tenant's): one rendered copy each
        let mut shared: FxHashMap<&Route, Arc<RenderedRoute>> = FxHashMap::default();
        let interned: Vec<Option<Arc<RenderedRoute>>> = entries
            .iter()
            .map(|e| e.route.as_ref().map(|r| Arc::clone(shared.entry(r.route()).or_insert_with(|| Arc::clone(r)))))
            .collect();
        drop(shared);
        for (e, route) in entries.iter_mut().zip(interned) {
            e.route = route;
        }
        let mut keys: Vec<(Vec<u8>, u64)> = Vec::new();
        for (i, e) in entries.iter().enumerate() {
            if e.route.is_some() {
                keys.extend(prefixes(e.first, e.last).into_iter().map(|k| (k, i as u64)));
            }
        }
        keys.sort_unstable();
        // the control plane keeps ranges apart; should two ever share a
        // prefix, one of them answers rather than the build failing
        keys.dedup_by(|a, b| a.0 == b.0);
        let fst = fst::Map::from_iter(keys).expect("sorted, distinct keys");
        let jump = if entries.is_empty() { Vec::new() } else { jump_table(fst.as_fst()) };
        Ranges { fst, entries, jump }
    }

    /// The live range holding `number`.
    #[inline]
    pub fn get(&self, number: u64) -> Option<&RangeEntry> {
        let mut key = [0u8; MAX_KEY];
        let len = number_key(number, &mut key);
        let fst = self.fst.as_fst();
        let digits = len - 1;
        let best = if (MIN_LEN..=MAX_LEN).contains(&digits) && !self.jump.is_empty() {
            let lead = (key[1] - b'0') as usize * 100 + (key[2] - b'0') as usize * 10 + (key[3] - b'0') as usize;
            let j = self.jump[(digits - MIN_LEN) * 1000 + lead];
            match j.addr {
                Some(addr) => walk(fst, addr, Output::new(j.out), j.best, &key[1 + JUMP_DIGITS..len]).2,
                None => j.best,
            }
        } else {
            walk(fst, fst.root().addr(), Output::zero(), None, &key[..len]).2
        };
        let entry = self.entries.get(best? as usize)?;
        (entry.route.is_some() && entry.contains(number)).then_some(entry)
    }

    /// The range with id `id`, deleted or not.
    pub fn by_id(&self, id: u64) -> Option<&RangeEntry> {
        self.entries.binary_search_by_key(&id, |e| e.id).ok().map(|i| &self.entries[i])
    }

    /// Every range held, deleted ones included.
    pub fn entries(&self) -> &[RangeEntry] {
        &self.entries
    }

    /// Live ranges.
    pub fn live(&self) -> usize {
        self.entries.iter().filter(|e| e.route.is_some()).count()
    }

    /// These ranges with `changes` (the overlay's, by id) applied.
    pub fn merged<'a>(&self, changes: impl IntoIterator<Item = &'a RangeEntry>) -> Ranges {
        let mut changes = changes.into_iter().peekable();
        if changes.peek().is_none() {
            return self.clone_shallow();
        }
        Ranges::build(self.entries.iter().cloned().chain(changes.cloned()).collect())
    }

    fn clone_shallow(&self) -> Ranges {
        Ranges { fst: self.fst.clone(), entries: self.entries.clone(), jump: self.jump.clone() }
    }

    /// Bytes of the fst and the entries (routes are shared).
    pub fn heap_bytes(&self) -> usize {
        self.fst.as_fst().size()
            + self.entries.capacity() * std::mem::size_of::<RangeEntry>()
            + self.jump.capacity() * std::mem::size_of::<Jump>()
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
        assert_eq!(after.by_id(1).map(|e| e.version), Some(9));
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
        let ranges = Ranges::build(entries.clone());
        let mut probes: Vec<u64> = (0..20_000).map(|_| 15_550_000_000 + next() % 20_000_000).collect();
        probes.extend([
            1_999_999, 2_000_000, 2_500_000, 2_999_999, 3_000_000, 1_234_566, 1_234_567, 1_234_600, 1_234_601,
        ]);
        for n in probes {
            let want = entries.iter().find(|e| e.contains(n)).map(|e| e.id);
            assert_eq!(ranges.get(n).map(|e| e.id), want, "{n}");
        }
    }
}
