//! Recent changes on top of the base: number -> newest state, a deletion kept
//! as a tombstone, a block as a tombstone marked blocked. Small by design: the folder merges it into a new base
//! when it grows or ages.

use std::sync::Arc;

use didroute_shared::E164;

use super::hash::FxHashMap;
use super::ranges::RangeEntry;
use super::render::RenderedRoute;

/// What a change left a number with.
#[derive(Debug, Clone)]
pub(crate) struct Slot {
    /// `None`: deleted (tombstone) or blocked.
    pub route: Option<Arc<RenderedRoute>>,
    /// Without a route, and not to be answered through a range either (a
    /// `block` event).
    pub blocked: bool,
    pub version: u64,
    pub seq: u64,
}

/// Never mutated once published in a snapshot: applying a batch clones it
/// (copy-on-write) so readers of the old snapshot are undisturbed.
#[derive(Debug, Clone, Default)]
pub struct Overlay {
    slots: FxHashMap<E164, Slot>,
    /// Range routes changed since the base, by range id (deletions kept).
    ranges: FxHashMap<u64, RangeEntry>,
}

impl Overlay {
    /// Changes held: numbers and ranges (what makes the folder fold).
    pub fn len(&self) -> usize {
        self.slots.len() + self.ranges.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty() && self.ranges.is_empty()
    }

    pub(crate) fn range(&self, id: u64) -> Option<&RangeEntry> {
        self.ranges.get(&id)
    }

    pub(crate) fn insert_range(&mut self, entry: RangeEntry) {
        self.ranges.insert(entry.id, entry);
    }

    pub(crate) fn ranges(&self) -> impl Iterator<Item = &RangeEntry> {
        self.ranges.values()
    }

    /// The live range changed since the base that holds `number`: the
    /// overlay's ranges are few (a fold empties them), so a scan.
    pub(crate) fn range_holding(&self, number: u64) -> Option<&RangeEntry> {
        self.ranges.values().find(|e| e.route.is_some() && e.contains(number))
    }

    pub(crate) fn get(&self, number: E164) -> Option<&Slot> {
        self.slots.get(&number)
    }

    pub(crate) fn insert(&mut self, number: E164, slot: Slot) {
        self.slots.insert(number, slot);
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (E164, &Slot)> {
        self.slots.iter().map(|(n, s)| (*n, s))
    }

    /// The entries of `self` that are not in `older`: what was applied after
    /// `older` was taken. Versions only grow, so an entry is new exactly when
    /// `older` lacks it or holds another version.
    pub(crate) fn since(&self, older: &Overlay) -> Overlay {
        let slots = self
            .slots
            .iter()
            .filter(|(n, s)| !matches!(older.slots.get(n), Some(o) if o.version == s.version))
            .map(|(n, s)| (*n, s.clone()))
            .collect();
        let ranges = self
            .ranges
            .iter()
            .filter(|(id, e)| !matches!(older.ranges.get(id), Some(o) if o.version == e.version))
            .map(|(id, e)| (*id, e.clone()))
            .collect();
        Overlay { slots, ranges }
    }
}
