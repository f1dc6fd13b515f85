//! Recent changes on top of the base: number -> newest state, a deletion kept
//! as a tombstone. Small by design: the folder merges it into a new base
//! when it grows or ages.

use std::sync::Arc;

use didroute_shared::E164;

use super::hash::FxHashMap;
use super::render::RenderedRoute;

/// What a change left a number with.
#[derive(Debug, Clone)]
pub(crate) struct Slot {
    /// `None`: deleted (tombstone).
    pub route: Option<Arc<RenderedRoute>>,
    pub version: u64,
    pub seq: u64,
}

/// Never mutated once published in a snapshot: applying a batch clones it
/// (copy-on-write) so readers of the old snapshot are undisturbed.
#[derive(Debug, Clone, Default)]
pub struct Overlay {
    slots: FxHashMap<E164, Slot>,
}

impl Overlay {
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
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
        Overlay { slots }
    }
}
