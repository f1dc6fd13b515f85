//! The folded part of a snapshot: every number's route and version in a
//! compact block index (see [`blocks`]) with a side table for
//! scattered numbers ([`sparse`](super::sparse)), and the deduplicated,
//! pre-rendered routes.
//!
//! The layout is chosen for docs/goals.md L1, L2 and L5 on realistic
//! numbering (1,000-blocks about 20% full, 10% scattered numbers, as
//! `didroute_benches::data` generates), which
//! `cargo bench -p didroute-benches --bench lookup` measures.
//!
//! Versions are kept exactly, per number, deleted ones included
//! ([`TOMBSTONE`], and [`BLOCKED`] for numbers that must not route even
//! through a range): the version rule (drop an event not newer than what is
//! held) is what makes replays and duplicates harmless, so it cannot be
//! approximated. They are the costly part: the control plane draws them from
//! one global sequence, so they are nearly as wide as the event count and
//! their deltas are most of a busy block's bytes. The change seq, by
//! contrast, is not kept per number: a base reports its own position as the
//! `seq` of every number it holds (see [`Base`]'s `seq` field), and the
//! overlay keeps exact seqs until the next fold.

use std::sync::Arc;
use std::time::Duration;

use didroute_shared::{Route, E164};
use time::OffsetDateTime;

use super::blocks::{self, Directory};
use super::builder::BaseBuilder;
use super::ranges::Ranges;
use super::render::RenderedRoute;
use super::sparse::Sparse;

/// Route index of a number that was deleted. Tombstones stay in the base so
/// that a replayed older upsert cannot bring a deleted number back: the
/// version rule needs the version a deletion reached.
pub(crate) const TOMBSTONE: u32 = u32::MAX;

/// Route index of a blocked number (a `block` event: disabled, provisioning
/// pending or failed): a tombstone that also hides the number from a range
/// route holding it. Kept like a tombstone, for the same version rule.
pub(crate) const BLOCKED: u32 = u32::MAX - 1;

/// Whether route index `route` names a route, not [`TOMBSTONE`] or
/// [`BLOCKED`] (the two sentinels are the top two indexes, so this is one
/// comparison).
#[inline]
pub(crate) const fn routable(route: u32) -> bool {
    route < BLOCKED
}

/// What a snapshot holds for one number, routable or deleted.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Held<'a> {
    /// `None` for a tombstone or a blocked number.
    pub route: Option<&'a Arc<RenderedRoute>>,
    /// No route, and none through a range either.
    pub blocked: bool,
    pub version: u64,
    pub seq: u64,
}

/// An immutable, fully built index. Never changed after construction: a
/// change makes a new one (see [`Base::fold`](super::Base::fold)).
pub struct Base {
    pub(crate) directory: Directory,
    /// Block containers in block order, then [`blocks::PADDING`] zeros.
    pub(crate) data: Vec<u8>,
    /// Numbers of blocks too sparse for a container.
    pub(crate) sparse: Sparse,
    pub(crate) routes: Vec<Arc<RenderedRoute>>,
    /// The position this base reflects. Every number it holds reports it as
    /// its `seq`: a position at which the number's route was current (at or
    /// after the change that set it). Keeping each number's own change seq
    /// would cost 3-4 bytes per number; the overlay keeps exact seqs for
    /// numbers changed since.
    pub(crate) seq: u64,
    /// Routable numbers (not tombstones, not blocked).
    pub(crate) numbers: u64,
    /// Numbers held, tombstones and blocked numbers included.
    pub(crate) len: usize,
    pub(crate) built_at: OffsetDateTime,
    pub(crate) build_time: Duration,
    /// Range routes, folded (an fst of digit prefixes, see [`ranges`](super::ranges)).
    pub(crate) ranges: Arc<Ranges>,
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

    /// Route index (or [`TOMBSTONE`], [`BLOCKED`]) and version of `number`.
    #[inline]
    pub(crate) fn entry(&self, number: E164) -> Option<(u32, u64)> {
        let n = number.as_u64();
        match self.directory.get(n / 1000) {
            Some(found) => blocks::probe(&self.data, found, (n % 1000) as u16),
            None => self.sparse.get(n),
        }
    }

    #[inline]
    pub(crate) fn held(&self, number: E164) -> Option<Held<'_>> {
        let (index, version) = self.entry(number)?;
        let route = if routable(index) { Some(self.routes.get(index as usize)?) } else { None };
        Some(Held { route, blocked: index == BLOCKED, version, seq: self.seq })
    }

    /// Every number of a block container as `(number, route, version)`, in
    /// numeric order (the sparse table's numbers are not included); skips
    /// (and logs) malformed containers.
    pub(crate) fn for_each_container(&self, mut f: impl FnMut(u64, u32, u64)) {
        for (block, at) in self.directory.sorted() {
            let ok = blocks::for_each(&self.data, at as usize, |m| {
                f(block * 1000 + u64::from(m.offset), m.route, m.version)
            });
            if ok.is_none() {
                tracing::error!(block, at, "skipping a malformed block container");
            }
        }
    }

    /// The folded range routes.
    pub fn ranges(&self) -> &Ranges {
        &self.ranges
    }

    /// Routable numbers.
    pub fn numbers(&self) -> u64 {
        self.numbers
    }

    /// Numbers held, tombstones and blocked numbers included.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Distinct routes in the route table.
    pub fn route_count(&self) -> usize {
        self.routes.len()
    }

    /// 1,000-blocks with a container.
    pub fn block_count(&self) -> usize {
        self.directory.blocks()
    }

    /// Numbers in the sparse table.
    pub fn sparse_count(&self) -> usize {
        self.sparse.len()
    }

    /// The position the base reflects (see the field's doc).
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Bytes of the index (directory, block containers, sparse table).
    pub fn index_bytes(&self) -> usize {
        self.directory.heap_bytes() + self.data.capacity() + self.sparse.heap_bytes()
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
            .field("len", &self.len)
            .field("routes", &self.routes.len())
            .field("sparse", &self.sparse.len())
            .field("seq", &self.seq)
            .field("built_at", &self.built_at)
            .finish()
    }
}
