//! The folded part of a snapshot: every number's route and version in a
//! compact block index (see [`blocks`](super::blocks)), the distinct
//! `(route, version)` records, and the deduplicated, pre-rendered routes.

use std::sync::Arc;
use std::time::Duration;

use didroute_shared::{Route, E164};
use time::OffsetDateTime;

use super::blocks::{self, Directory};
use super::builder::BaseBuilder;
use super::render::RenderedRoute;

/// Route index of a number that was deleted. Tombstones stay in the base so
/// that a replayed older upsert cannot bring a deleted number back: the
/// version rule needs the version a deletion reached.
pub(crate) const TOMBSTONE: u32 = u32::MAX;

/// A distinct `(route, version)` pair. Many numbers share one route and
/// most have one of a few small versions, so a base of millions of numbers
/// holds a few hundred thousand of these at most; each number points at
/// one through its block's palette.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Record {
    /// Index into the route table, or [`TOMBSTONE`].
    pub route: u32,
    pub version: u64,
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
    pub(crate) directory: Directory,
    /// Block containers in block order, then [`blocks::PADDING`] zeros.
    pub(crate) data: Vec<u8>,
    pub(crate) records: Vec<Record>,
    pub(crate) routes: Vec<Arc<RenderedRoute>>,
    /// The position this base reflects. Every number it holds reports it as
    /// its `seq`: a position at which the number's route was current (at or
    /// after the change that set it). Keeping each number's own change seq
    /// would cost 3-4 bytes per number; the overlay keeps exact seqs for
    /// numbers changed since.
    pub(crate) seq: u64,
    /// Routable numbers (not tombstones).
    pub(crate) numbers: u64,
    /// Numbers held, tombstones included.
    pub(crate) len: usize,
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

    #[inline]
    pub(crate) fn record(&self, number: E164) -> Option<&Record> {
        let n = number.as_u64();
        let at = self.directory.get(n / 1000)?;
        let id = blocks::probe(&self.data, at as usize, (n % 1000) as u16)?;
        self.records.get(id as usize)
    }

    #[inline]
    pub(crate) fn held(&self, number: E164) -> Option<Held<'_>> {
        let record = self.record(number)?;
        let route = if record.route == TOMBSTONE { None } else { Some(self.routes.get(record.route as usize)?) };
        Some(Held { route, version: record.version, seq: self.seq })
    }

    /// Every number held, in numeric order, with its record; stops (and
    /// logs) at the first malformed container.
    pub(crate) fn for_each(&self, mut f: impl FnMut(u64, &Record)) {
        for (block, at) in self.directory.sorted() {
            let ok = blocks::for_each(&self.data, at as usize, |offset, id| match self.records.get(id as usize) {
                Some(r) => f(block * 1000 + u64::from(offset), r),
                None => tracing::error!(block, id, "skipping a base entry with an unknown record"),
            });
            if ok.is_none() {
                tracing::error!(block, at, "skipping a malformed block container");
            }
        }
    }

    /// Routable numbers.
    pub fn numbers(&self) -> u64 {
        self.numbers
    }

    /// Numbers held, tombstones included.
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

    /// Distinct `(route, version)` records.
    pub fn record_count(&self) -> usize {
        self.records.len()
    }

    /// 1,000-blocks holding at least one number.
    pub fn block_count(&self) -> usize {
        self.directory.blocks()
    }

    /// The position the base reflects (see the field's doc).
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Bytes of the index (directory and block containers).
    pub fn index_bytes(&self) -> usize {
        self.directory.heap_bytes() + self.data.capacity()
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
            .field("records", &self.records.len())
            .field("seq", &self.seq)
            .field("built_at", &self.built_at)
            .finish()
    }
}
