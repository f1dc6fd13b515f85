//! The routing data a lookup node answers from.
//!
//! A [`Snapshot`] is immutable: a folded [`Base`] (block index + records +
//! route table) with a small [`Overlay`] of recent changes on top, and the feed
//! position it reflects. Changes make a new snapshot (copy-on-write of the
//! overlay) that the [`Store`] swaps in atomically, so a reader holds one
//! consistent view for as long as it likes and never takes a lock.
//!
//! [`Snapshot::get`] is the one probe every read goes through, so the layout
//! behind it can change without touching callers.

mod apply;
mod base;
mod blocks;
mod builder;
mod file;
mod fold;
mod hash;
mod huge;
mod overlay;
mod ranges;
mod render;
mod routes;
mod sparse;
mod store;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use didroute_shared::{Route, E164};
use time::OffsetDateTime;

pub use apply::ApplyOutcome;
pub use base::Base;
pub use builder::BaseBuilder;
pub(crate) use file::sync_parent;
pub use file::SnapshotError;
pub use overlay::Overlay;
pub use ranges::{RangeEntry, Ranges};
pub use render::RenderedRoute;
pub use store::{FoldReport, Store};

use base::Held;

/// One consistent view of every number's routing at feed position `seq`.
#[derive(Debug, Clone)]
pub struct Snapshot {
    base: Arc<Base>,
    overlay: Arc<Overlay>,
    /// The feed position applied: every event with a seq up to here is in.
    seq: u64,
    /// Routable numbers across base and overlay (blocked ones not counted).
    numbers: u64,
}

/// A routable number as the snapshot holds it.
#[derive(Debug, Clone, Copy)]
pub struct Hit<'a> {
    pub number: E164,
    pub route: &'a RenderedRoute,
    pub version: u64,
    /// Seq of the event that last changed this number.
    pub seq: u64,
}

impl Hit<'_> {
    pub fn route(&self) -> &Route {
        self.route.route()
    }

    /// The API answer for this number, in one allocation of exactly its
    /// length (so turning it into `Bytes` allocates nothing more).
    pub fn to_json(&self) -> Vec<u8> {
        self.route.to_json(self.number, self.version, self.seq)
    }

    /// Appends the API answer to a caller's (reusable) buffer.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        self.route.write_json(self.number, self.version, self.seq, out);
    }
}

impl Snapshot {
    /// No numbers, position 0: what a node serves before its first load.
    pub fn empty() -> Snapshot {
        Snapshot::from_base(Arc::new(Base::empty()), 0)
    }

    /// A snapshot of exactly `base`, at feed position `seq`.
    pub fn from_base(base: Arc<Base>, seq: u64) -> Snapshot {
        let numbers = base.numbers();
        Snapshot { base, overlay: Arc::new(Overlay::default()), seq, numbers }
    }

    /// The number's own route, or `None` when it has none (never
    /// allocated, released, disabled): the exact index only, never a range.
    #[inline]
    pub fn get(&self, number: E164) -> Option<Hit<'_>> {
        let held = self.held(number)?;
        Some(Hit { number, route: held.route?, version: held.version, seq: held.seq })
    }

    /// The range route holding `number`, for a number without a route of
    /// its own (ask [`Snapshot::get`] first: an exact hit never reaches the
    /// range fst). A range changed since the base answers from the overlay,
    /// which also hides the base's version of it.
    pub fn range(&self, number: E164) -> Option<Hit<'_>> {
        let n = number.as_u64();
        if let Some(entry) = self.overlay.range_holding(n) {
            return Some(Hit { number, route: entry.route.as_ref()?, version: entry.version, seq: entry.seq });
        }
        let hit = self.base.ranges.get(n)?;
        if self.overlay.range(hit.id).is_some() {
            return None;
        }
        Some(Hit { number, route: hit.route, version: hit.version, seq: self.base.seq() })
    }

    /// The number's own route, else its range's: what a lookup answers. A
    /// blocked number (disabled, provisioning pending or failed) answers
    /// nothing: its range is not asked.
    #[inline]
    pub fn route_of(&self, number: E164) -> Option<Hit<'_>> {
        if let Some(held) = self.held(number) {
            if let Some(route) = held.route {
                return Some(Hit { number, route, version: held.version, seq: held.seq });
            }
            if held.blocked {
                return None;
            }
        }
        self.range(number)
    }

    /// Whether `number` is held blocked: no route, not even its range's.
    pub fn is_blocked(&self, number: E164) -> bool {
        self.held(number).is_some_and(|h| h.blocked)
    }

    /// The version held for range `id`, deleted or not.
    pub fn range_version(&self, id: u64) -> Option<u64> {
        self.overlay.range(id).map(|e| e.version).or_else(|| self.base.ranges.version_of(id))
    }

    /// What the snapshot holds for `number`, tombstones included.
    pub(crate) fn held(&self, number: E164) -> Option<Held<'_>> {
        match self.overlay.get(number) {
            Some(slot) => {
                Some(Held { route: slot.route.as_ref(), blocked: slot.blocked, version: slot.version, seq: slot.seq })
            }
            None => self.base.held(number),
        }
    }

    /// The version held for `number`, deleted or not: events at or below it
    /// are ignored.
    pub fn version_of(&self, number: E164) -> Option<u64> {
        self.held(number).map(|h| h.version)
    }

    /// The feed position this snapshot reflects.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Routable numbers.
    pub fn numbers(&self) -> u64 {
        self.numbers
    }

    pub fn base(&self) -> &Arc<Base> {
        &self.base
    }

    /// Changes not yet folded into the base.
    pub fn overlay_len(&self) -> usize {
        self.overlay.len()
    }

    /// When the base under this snapshot was built.
    pub fn built_at(&self) -> OffsetDateTime {
        self.base.built_at()
    }

    /// This snapshot with its overlay merged into a new base: answers
    /// exactly what `self` answers.
    pub fn folded(&self) -> Snapshot {
        let base = Arc::new(self.base.fold(&self.overlay));
        Snapshot::from_base(base, self.seq)
    }
}
