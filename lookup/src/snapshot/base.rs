//! The folded part of a snapshot: an fst from digits to an entry ordinal, the
//! per-number entries, and the deduplicated route table.

use std::sync::Arc;
use std::time::Duration;

use didroute_shared::{Route, E164};
use time::OffsetDateTime;

use super::builder::BaseBuilder;
use super::render::RenderedRoute;

/// Route index of a number that was deleted. Tombstones stay in the base so
/// that a replayed older upsert cannot bring a deleted number back: the
/// version rule needs the version a deletion reached.
pub(crate) const TOMBSTONE: u32 = u32::MAX;

/// What the base holds for one number.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BaseEntry {
    /// Index into the route table, or [`TOMBSTONE`].
    pub route: u32,
    pub version: u64,
    /// Seq of the event that last changed the number.
    pub seq: u64,
}

/// What a snapshot holds for one number, routable or deleted.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Held<'a> {
    /// `None` for a tombstone.
    pub route: Option<&'a Arc<RenderedRoute>>,
    pub version: u64,
    pub seq: u64,
}

/// An immutable, fully built index. Never changed after construction: a
/// change makes a new one (see [`Base::fold`](super::Base::fold)).
pub struct Base {
    pub(crate) index: fst::Map<Vec<u8>>,
    pub(crate) entries: Vec<BaseEntry>,
    pub(crate) routes: Vec<Arc<RenderedRoute>>,
    /// Routable numbers (entries that are not tombstones).
    pub(crate) numbers: u64,
    pub(crate) built_at: OffsetDateTime,
    pub(crate) build_time: Duration,
}

impl Base {
    /// A base with no numbers, for a node that has not loaded anything yet.
    pub fn empty() -> Base {
        BaseBuilder::new().finish()
    }

    /// Builds a base from `(number, route, version, seq)` items in any order.
    /// Where a number appears more than once, its highest version wins.
    pub fn build(items: impl IntoIterator<Item = (E164, Route, u64, u64)>) -> Base {
        let items = items.into_iter();
        let mut builder = BaseBuilder::with_capacity(items.size_hint().0);
        for (number, route, version, seq) in items {
            builder.push(number, Some(route), version, seq);
        }
        builder.finish()
    }

    pub(crate) fn held(&self, number: E164) -> Option<Held<'_>> {
        let mut buf = [0u8; 20];
        let ordinal = self.index.get(number.digits(&mut buf))?;
        // Ordinals are written by the builder and always index `entries`;
        // `get` keeps that from ever panicking on a corrupt index.
        let entry = self.entries.get(usize::try_from(ordinal).ok()?)?;
        let route = if entry.route == TOMBSTONE { None } else { Some(self.routes.get(entry.route as usize)?) };
        Some(Held { route, version: entry.version, seq: entry.seq })
    }

    /// Routable numbers.
    pub fn numbers(&self) -> u64 {
        self.numbers
    }

    /// Numbers held, tombstones included.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Distinct routes in the route table.
    pub fn route_count(&self) -> usize {
        self.routes.len()
    }

    /// Bytes of the fst index.
    pub fn index_bytes(&self) -> usize {
        self.index.as_fst().as_bytes().len()
    }

    pub fn built_at(&self) -> OffsetDateTime {
        self.built_at
    }

    /// How long building this base took.
    pub fn build_time(&self) -> Duration {
        self.build_time
    }
}

impl std::fmt::Debug for Base {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Base")
            .field("numbers", &self.numbers)
            .field("entries", &self.entries.len())
            .field("routes", &self.routes.len())
            .field("built_at", &self.built_at)
            .finish()
    }
}
