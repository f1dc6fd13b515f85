//! [`Writer`]: encodes numbers arriving in ascending order into block
//! containers (what [`BaseBuilder`](super::BaseBuilder) hands its sorted
//! numbers to, and what a fold streams into, without sorting).

use std::sync::Arc;
use std::time::Instant;

use time::OffsetDateTime;

use super::at_once;
use crate::snapshot::base::{routable, Base};
use crate::snapshot::blocks::{self, Directory, Member};
use crate::snapshot::render::RenderedRoute;
use crate::snapshot::sparse::{self, Sparse};

/// Blocks with at most this many numbers go to the sparse table.
const SPARSE_MAX: usize = 3;

/// Encodes numbers given in strictly ascending order into a base.
pub(crate) struct Writer {
    started: Instant,
    data: Vec<u8>,
    directory: Vec<(u64, u32)>,
    /// Sparse records (see [`sparse`]), in number order.
    sparse: Vec<u8>,
    block: u64,
    members: Vec<Member>,
    palette: Vec<u32>,
    numbers: u64,
    len: usize,
    seq: u64,
}

impl Writer {
    /// `data_hint` and `sparse_hint`: expected arena bytes and sparse
    /// numbers (a fold knows them from the base it folds).
    pub(crate) fn new(started: Instant, data_hint: usize, sparse_hint: usize) -> Writer {
        // No huge pages here (see huge.rs): measured, they made a build's
        // finish slower on this machine's fresh memory, and a fold runs
        // beside lookups, where a huge page's compaction stall is unwelcome.
        Writer {
            started,
            data: Vec::with_capacity(data_hint + blocks::PADDING),
            directory: Vec::new(),
            sparse: Vec::with_capacity(sparse_hint * sparse::RECORD),
            block: 0,
            members: Vec::with_capacity(1000),
            palette: Vec::with_capacity(1000),
            numbers: 0,
            len: 0,
            seq: 0,
        }
    }

    /// Adds `number` (greater than every number added before) with a route
    /// index into the final route table, or a sentinel
    /// ([`TOMBSTONE`](crate::snapshot::base::TOMBSTONE),
    /// [`BLOCKED`](crate::snapshot::base::BLOCKED)).
    // called once a number by the builder and the fold, from other modules
    #[inline]
    pub(crate) fn push(&mut self, number: u64, route: u32, version: u64) {
        let block = number / 1000;
        if block != self.block && !self.members.is_empty() {
            self.flush();
        }
        self.block = block;
        self.members.push(Member { offset: (number % 1000) as u16, route, version });
        self.len += 1;
        self.numbers += u64::from(routable(route));
    }

    /// Raises the position the base will report to at least `seq`.
    pub(crate) fn saw_seq(&mut self, seq: u64) {
        self.seq = self.seq.max(seq);
    }

    /// Adds a scattered number straight to the sparse table, out of number
    /// order: a fold copying the records of blocks no change touches (the
    /// table is hashed again by `finish`). The caller pushes no other number
    /// of its block, and the record [`fits`](sparse::fits) (it did in the
    /// base it comes from, with a route index below [`sparse::ROUTE_LIMIT`]).
    pub(crate) fn push_sparse(&mut self, number: u64, route: u32, version: u64) {
        debug_assert!(sparse::fits(number, route, version));
        self.reserve_sparse(1);
        sparse::push(&mut self.sparse, number, route, version);
        self.len += 1;
        self.numbers += u64::from(routable(route));
    }

    /// Room for `records` more sparse records, growing by 1/16 at a time.
    fn reserve_sparse(&mut self, records: usize) {
        let need = records * sparse::RECORD;
        if self.sparse.capacity() - self.sparse.len() < need {
            self.sparse.reserve_exact(need.max(self.sparse.capacity() / 16));
        }
    }

    fn flush(&mut self) {
        let base = self.block * 1000;
        if self.members.len() <= SPARSE_MAX
            && self.members.iter().all(|m| sparse::fits(base + u64::from(m.offset), m.route, m.version))
        {
            self.reserve_sparse(self.members.len());
            for m in &self.members {
                sparse::push(&mut self.sparse, base + u64::from(m.offset), m.route, m.version);
            }
        } else {
            // Grow the arena by 1/16 at a time rather than doubling: a fold
            // that outgrows its estimate must not hold twice the new base.
            let need = blocks::max_encoded_len(self.members.len());
            if self.data.capacity() - self.data.len() < need {
                self.data.reserve_exact(need.max(self.data.capacity() / 16));
            }
            let at = u32::try_from(self.data.len()).expect("block arena under 4 GiB");
            self.directory.push((self.block, at));
            blocks::encode(&mut self.data, &self.members, &mut self.palette);
        }
        self.members.clear();
    }

    /// Encodes the block still being collected.
    fn flush_pending(&mut self) {
        if !self.members.is_empty() {
            self.flush();
        }
    }

    /// Adds what `other` wrote after what this writer wrote: every number of
    /// `other` is in a later block than every number here.
    pub(super) fn append(&mut self, mut other: Writer) {
        self.flush_pending();
        other.flush_pending();
        debug_assert!(self.directory.last().zip(other.directory.first()).is_none_or(|(a, b)| a.0 < b.0));
        if self.data.capacity() - self.data.len() < other.data.len() {
            self.data.reserve_exact(other.data.len());
        }
        let shift = u32::try_from(self.data.len()).expect("block arena under 4 GiB");
        self.data.extend_from_slice(&other.data);
        drop(other.data);
        self.directory.extend(
            other.directory.iter().map(|&(block, at)| (block, at.checked_add(shift).expect("block arena under 4 GiB"))),
        );
        self.reserve_sparse(other.sparse.len() / sparse::RECORD);
        self.sparse.extend_from_slice(&other.sparse);
        self.numbers += other.numbers;
        self.len += other.len;
        self.seq = self.seq.max(other.seq);
    }

    /// Gives every route written the index `remap` maps it to (which keeps
    /// their order).
    pub(super) fn remap_routes(&mut self, remap: &[u32]) {
        self.flush_pending();
        for &(block, at) in &self.directory {
            if blocks::remap_palette(&mut self.data, at as usize, remap).is_none() {
                unreachable!("block {block}: a container this writer wrote is malformed");
            }
        }
        sparse::remap_routes(&mut self.sparse, remap);
    }

    /// `both_cores`: hash the directory and the sparse table at once (a
    /// build, before the node serves); a fold, which runs beside lookups and
    /// whose peak memory counts, does one after the other.
    pub(crate) fn finish(mut self, routes: Vec<Arc<RenderedRoute>>, both_cores: bool) -> Base {
        self.flush_pending();
        self.data.extend_from_slice(&[0; blocks::PADDING]);
        self.data.shrink_to_fit();
        let (directory, sparse) = if both_cores {
            let (list, data, records) = (&self.directory, &self.data, self.sparse);
            at_once(|| Directory::build(list, data), move || Sparse::build(records))
        } else {
            // One transient at a time: the directory's list goes before the
            // sparse table is hashed.
            let directory = Directory::build(&self.directory, &self.data);
            drop(std::mem::take(&mut self.directory));
            (directory, Sparse::build(self.sparse))
        };
        Base {
            directory,
            data: self.data,
            sparse,
            routes,
            seq: self.seq,
            numbers: self.numbers,
            len: self.len,
            built_at: OffsetDateTime::now_utc(),
            build_time: self.started.elapsed(),
            ranges: Default::default(),
        }
    }
}
