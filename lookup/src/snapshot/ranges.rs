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
        Ranges { fst, entries }
    }

    /// The live range holding `number`.
    #[inline]
    pub fn get(&self, number: u64) -> Option<&RangeEntry> {
        let mut key = [0u8; MAX_KEY];
        let len = number_key(number, &mut key);
        let fst = self.fst.as_fst();
        let mut node = fst.root();
        let mut out = Output::zero();
        let mut best = None;
        for &b in &key[..len] {
            let Some(i) = node.find_input(b) else { break };
            let t = node.transition(i);
            out = out.cat(t.out);
            node = fst.node(t.addr);
            if node.is_final() {
                best = Some(out.cat(node.final_output()).value());
            }
        }
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
        Ranges { fst: self.fst.clone(), entries: self.entries.clone() }
    }

    /// Bytes of the fst and the entries (routes are shared).
    pub fn heap_bytes(&self) -> usize {
        self.fst.as_fst().size() + self.entries.capacity() * std::mem::size_of::<RangeEntry>()
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
}
