//! Builds a [`Base`]: [`BaseBuilder`] takes numbers in any order (the
//! initial catch-up, [`Base::build`]), sorts once and hands them to the
//! [`Writer`], which encodes numbers arriving in ascending order into block
//! containers (also what a fold streams into, without sorting).

use std::sync::Arc;
use std::time::Instant;

use didroute_shared::{ChangeEvent, Op, Route, E164};
use time::OffsetDateTime;

use super::base::{Base, TOMBSTONE};
use super::blocks::{self, Directory, Member};
use super::huge;
use super::render::RenderedRoute;
use super::routes::{RouteTable, Warmed, WARM};
use super::sparse::{self, Sparse};

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
    /// index into the final route table, or [`TOMBSTONE`].
    pub(crate) fn push(&mut self, number: u64, route: u32, version: u64) {
        let block = number / 1000;
        if block != self.block && !self.members.is_empty() {
            self.flush();
        }
        self.block = block;
        self.members.push(Member { offset: (number % 1000) as u16, route, version });
        self.len += 1;
        if route != TOMBSTONE {
            self.numbers += 1;
        }
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
        if route != TOMBSTONE {
            self.numbers += 1;
        }
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
    fn append(&mut self, mut other: Writer) {
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
    fn remap_routes(&mut self, remap: &[u32]) {
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
        }
    }
}

/// One pushed number in 16 bytes, so a catch-up of 100M events sorts 1.6 GB
/// in place (24-byte items took 2.4 GB: a third more fresh pages to fault in
/// and bytes to move). `key` holds the number above the route index's high
/// [`ROUTE_HIGH`] bits, so ordering by `key` orders by number; `rest` holds
/// the version above the route index's low bits. A version above
/// [`VERSION_MAX`] does not fit: such a number waits in [`BaseBuilder::wide`].
#[derive(Debug, Clone, Copy)]
struct Item {
    key: u64,
    rest: u64,
}

/// Bits above a number: every E.164 number (at most 15 digits) is below 2^50.
const ROUTE_HIGH: u32 = 14;
const ROUTE_LOW: u32 = u32::BITS - ROUTE_HIGH;
const LOW_MASK: u32 = (1 << ROUTE_LOW) - 1;
/// The highest version an [`Item`] holds (2^46 - 1: a million changes a
/// second for two years).
const VERSION_MAX: u64 = u64::MAX >> ROUTE_LOW;
const _: () = assert!(999_999_999_999_999u64 < 1 << (u64::BITS - ROUTE_HIGH));

impl Item {
    /// `None` when `version` is above [`VERSION_MAX`].
    #[inline]
    fn new(number: u64, version: u64, route: u32) -> Option<Item> {
        (version <= VERSION_MAX).then(|| Item {
            key: number << ROUTE_HIGH | u64::from(route >> ROUTE_LOW),
            rest: version << ROUTE_LOW | u64::from(route & LOW_MASK),
        })
    }

    #[inline]
    fn number(self) -> u64 {
        self.key >> ROUTE_HIGH
    }

    #[inline]
    fn version(self) -> u64 {
        self.rest >> ROUTE_LOW
    }

    #[inline]
    fn route(self) -> u32 {
        // the key's low bits shifted to the top; the number's bits fall off
        (self.key as u32) << ROUTE_LOW | (self.rest as u32 & LOW_MASK)
    }
}

/// A pushed number whose version does not fit an [`Item`]:
/// `(number, version, route)`.
type Wide = (u64, u64, u32);

/// Collects numbers, interning each distinct route once, then sorts and
/// encodes them in one pass. Used for the initial catch-up (events pushed
/// as they arrive) and for [`Base::build`].
///
/// Batches ([`BaseBuilder::push_refs`], [`BaseBuilder::push_events`]) of
/// [`PARALLEL_MIN`] or more are split between the calling thread and a
/// second one, each pushing into its own [`Lane`]; `finish` sorts the two
/// lanes at once and writes the lower and upper half of the numbers at once
/// (see [`BaseBuilder::finish`]). Interning a route per number is most of a
/// build (100M numbers: 16-17 s of CPU of about 25), and the lanes share
/// nothing while they push. A build runs before a node serves (catch-up) or
/// off the serving path, so it may take both cores.
pub struct BaseBuilder {
    first: Lane,
    /// Filled by the second thread of parallel batches only.
    second: Lane,
    /// Whether batches are split between two threads (more than one CPU).
    parallel: bool,
    /// Capacity the second lane starts with (half the caller's hint).
    second_hint: usize,
    /// Highest seq pushed: the position the base reports.
    seq: u64,
}

/// Batches at least this long are split between two threads (shorter ones
/// cost more to hand over than they save).
pub(crate) const PARALLEL_MIN: usize = 4096;

/// Numbers a bulk load ([`BaseBuilder::push_refs`]) gathers before handing
/// half to the second thread: a thread start per 64k numbers is ~0.1% of
/// their interning.
const CHUNK: usize = 1 << 16;

/// One thread's share of a build: its own routes and items.
#[derive(Default)]
struct Lane {
    routes: RouteTable,
    items: Vec<Item>,
    /// Numbers pushed with a version above [`VERSION_MAX`] (none, unless a
    /// control plane's sequence ran for years at a million changes a second).
    wide: Vec<Wide>,
    /// Room the first growth adds instead of doubling: the first lane keeps
    /// the share of the caller's hint set aside for the second until the
    /// second lane is used (single pushes never are split).
    spare: usize,
}

impl Lane {
    fn with_capacity(numbers: usize) -> Lane {
        let mut items = Vec::with_capacity(numbers);
        huge::advise(&mut items);
        Lane { items, ..Lane::default() }
    }

    fn len(&self) -> usize {
        self.items.len() + self.wide.len()
    }

    #[inline]
    fn push_record(&mut self, number: E164, route: u32, version: u64) {
        let number = number.as_u64();
        match Item::new(number, version, route) {
            Some(item) => {
                if self.items.len() == self.items.capacity() {
                    self.grow();
                }
                self.items.push(item)
            }
            None => self.wide.push((number, version, route)),
        }
    }

    /// Doubles the items' room (what `push` would), advising huge pages.
    #[cold]
    fn grow(&mut self) {
        match std::mem::take(&mut self.spare) {
            0 => self.items.reserve(self.items.capacity().max(1024)),
            spare => self.items.reserve_exact(spare),
        }
        huge::advise(&mut self.items);
    }

    /// Pushes `numbers`, warming their routes [`WARM`] at a time (see
    /// [`RouteTable::warm`]); returns the highest seq.
    fn push_refs(&mut self, numbers: &[(E164, &Route, u64, u64)]) -> u64 {
        let mut routes: Vec<Option<&Route>> = Vec::with_capacity(WARM);
        let mut warmed = Box::<Warmed>::default();
        let mut seq = 0;
        for batch in numbers.chunks(WARM) {
            routes.clear();
            routes.extend(batch.iter().map(|&(_, route, _, _)| Some(route)));
            self.routes.warm(&routes, &mut warmed);
            for (i, &(number, route, version, s)) in batch.iter().enumerate() {
                let route = self.routes.intern_ref_warmed(route, &warmed, i);
                self.push_record(number, route, version);
                seq = seq.max(s);
            }
        }
        seq
    }

    /// Pushes what `events` say, warming their routes like
    /// [`Lane::push_refs`]; returns the highest seq.
    fn push_events(&mut self, events: Vec<ChangeEvent>) -> u64 {
        let mut warmed = Box::<Warmed>::default();
        let mut batch: Vec<ChangeEvent> = Vec::with_capacity(WARM);
        let mut events = events.into_iter();
        let mut seq = 0;
        loop {
            batch.extend(events.by_ref().take(WARM));
            if batch.is_empty() {
                return seq;
            }
            {
                let routes: Vec<Option<&Route>> = batch
                    .iter()
                    .map(|e| match e.op {
                        Op::Upsert => e.route.as_ref(),
                        Op::Delete => None,
                    })
                    .collect();
                self.routes.warm(&routes, &mut warmed);
            }
            for (i, event) in batch.drain(..).enumerate() {
                let route = match (event.op, event.route) {
                    (Op::Upsert, Some(route)) => self.routes.intern_warmed(route, &warmed, i),
                    // an upsert without a route is kept as a deletion
                    _ => TOMBSTONE,
                };
                self.push_record(event.number, route, event.version);
                seq = seq.max(event.seq);
            }
        }
    }

    fn sort(&mut self) {
        sort_by_number(&mut self.items);
    }
}

impl Default for BaseBuilder {
    fn default() -> BaseBuilder {
        BaseBuilder {
            first: Lane::default(),
            second: Lane::default(),
            parallel: std::thread::available_parallelism().is_ok_and(|n| n.get() > 1),
            second_hint: 0,
            seq: 0,
        }
    }
}

impl BaseBuilder {
    pub fn new() -> BaseBuilder {
        BaseBuilder::default()
    }

    pub fn with_capacity(numbers: usize) -> BaseBuilder {
        let mut builder = BaseBuilder::default();
        // Each lane gets half, where there are two: a bulk load splits evenly.
        let first = if builder.parallel { numbers.div_ceil(2) } else { numbers };
        builder.first = Lane::with_capacity(first);
        builder.second_hint = numbers - first;
        builder.first.spare = builder.second_hint;
        builder
    }

    /// Numbers pushed so far (a number pushed twice counts twice).
    pub fn len(&self) -> usize {
        self.first.len() + self.second.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds one number; `route: None` records a deletion (a tombstone).
    pub fn push(&mut self, number: E164, route: Option<Route>, version: u64, seq: u64) {
        let route = match route {
            Some(route) => self.first.routes.intern(route),
            None => TOMBSTONE,
        };
        self.first.push_record(number, route, version);
        self.seq = self.seq.max(seq);
    }

    /// [`BaseBuilder::push`] for a borrowed route: clones it only the first
    /// time it is seen (bulk loads where many numbers share few routes).
    pub fn push_ref(&mut self, number: E164, route: &Route, version: u64, seq: u64) {
        let route = self.first.routes.intern_ref(route);
        self.first.push_record(number, route, version);
        self.seq = self.seq.max(seq);
    }

    /// Runs `first` on the first lane and `second` on the second, the
    /// second in another thread when the batch is split.
    fn split<A, B>(&mut self, split: bool, first: A, second: B)
    where
        A: FnOnce(&mut Lane) -> u64,
        B: FnOnce(&mut Lane) -> u64 + Send,
    {
        let seq = if split {
            if self.second.items.capacity() == 0 && self.second_hint > 0 {
                self.second = Lane::with_capacity(std::mem::take(&mut self.second_hint));
                self.first.spare = 0;
            }
            let (one, two) = (&mut self.first, &mut self.second);
            let (a, b) = at_once(|| first(one), || second(two));
            a.max(b)
        } else {
            first(&mut self.first).max(second(&mut self.second))
        };
        self.seq = self.seq.max(seq);
    }

    /// How many of a batch of `len` go to the first lane: half when it is
    /// split between two threads; otherwise as many as the first lane has
    /// room for, the rest to the second lane if it has room, so a bulk
    /// load's short tail does not grow a lane past the caller's hint.
    fn share(&self, len: usize, split: bool) -> usize {
        let room = |lane: &Lane| lane.items.capacity() - lane.items.len();
        match (split, room(&self.second)) {
            (true, _) => len / 2,
            (false, 0) => len,
            (false, _) => len.min(room(&self.first)),
        }
    }

    /// [`BaseBuilder::push_ref`] for many numbers at once (a bulk load): the
    /// same result, but the routes of a few numbers are loaded into the cache
    /// together before they are interned (see [`RouteTable::warm`]), and
    /// large loads use two threads.
    pub fn push_refs<'r>(&mut self, numbers: impl IntoIterator<Item = (E164, &'r Route, u64, u64)>) {
        let mut chunk: Vec<(E164, &'r Route, u64, u64)> = Vec::with_capacity(CHUNK);
        let mut numbers = numbers.into_iter();
        loop {
            chunk.clear();
            chunk.extend(numbers.by_ref().take(CHUNK));
            if chunk.is_empty() {
                return;
            }
            let split = self.parallel && chunk.len() >= PARALLEL_MIN;
            let (one, two) = chunk.split_at(self.share(chunk.len(), split));
            self.split(split, |lane| lane.push_refs(one), |lane| lane.push_refs(two));
        }
    }

    /// [`BaseBuilder::push_event`] for many events at once (a page of the
    /// catch-up), warming their routes a few at a time like
    /// [`BaseBuilder::push_refs`], on two threads for a large page.
    pub fn push_events(&mut self, events: impl IntoIterator<Item = ChangeEvent>) {
        let mut events: Vec<ChangeEvent> = events.into_iter().collect();
        let split = self.parallel && events.len() >= PARALLEL_MIN;
        let two = events.split_off(self.share(events.len(), split));
        self.split(split, |lane| lane.push_events(events), |lane| lane.push_events(two));
    }

    /// Adds what one change event says about its number. The caller has
    /// validated the event; an upsert without a route is kept as a deletion
    /// rather than trusted.
    pub fn push_event(&mut self, event: ChangeEvent) {
        let route = match event.op {
            Op::Upsert => event.route,
            Op::Delete => None,
        };
        self.push(event.number, route, event.version, event.seq);
    }

    /// Sorts, keeps each number's newest version (versions come from one
    /// sequence, so two events of one number never share one; if they did,
    /// either could win), drops routes no number uses any more, and encodes
    /// the base.
    pub fn finish(self) -> Base {
        let started = Instant::now();
        let BaseBuilder { mut first, mut second, parallel, seq, .. } = self;
        // The second lane's routes join the first lane's table; its items
        // take their indices there while they are sorted.
        let moved = first.routes.absorb(&second.routes);
        let to_first = |route: u32| if route == TOMBSTONE { TOMBSTONE } else { moved[route as usize] };
        let second_to_first = |lane: &mut Lane| {
            for item in &mut lane.items {
                *item = Item::new(item.number(), item.version(), to_first(item.route())).expect("a version that fit");
            }
            lane.wide.iter_mut().for_each(|w| w.2 = to_first(w.2));
            lane.sort();
        };
        if parallel && !second.items.is_empty() {
            at_once(|| first.sort(), || second_to_first(&mut second));
        } else {
            second_to_first(&mut second);
            first.sort();
        }
        let routes = first.routes.routes;
        let mut wide = first.wide;
        wide.append(&mut second.wide);
        wide.sort_unstable_by_key(|&(number, _, _)| number);
        let (one, two) = (&first.items[..], &second.items[..]);
        let len = one.len() + two.len() + wide.len();

        // Two parts, split at a block boundary near the middle, written at
        // once; each writer takes routes by table index and says which it
        // used, for the renumbering below.
        let pivot = if parallel && len >= PARALLEL_MIN {
            one.get(one.len() / 2).or(two.get(two.len() / 2)).map_or(0, |i| i.number() / 1000 * 1000)
        } else {
            0
        };
        let cut = |items: &[Item]| items.partition_point(|i| i.number() < pivot);
        let (a, b, w) = (cut(one), cut(two), wide.partition_point(|&(number, _, _)| number < pivot));
        // `hint`: numbers the writer will hold (the low part's takes the
        // high part's on too)
        let part = |one: &[Item], two: &[Item], wide: &[Wide], hint: usize| {
            let mut writer = Writer::new(started, hint * 4, hint / 10);
            let mut used = vec![false; routes.len()];
            write_merged(one, two, wide, |(number, version, route)| {
                if route != TOMBSTONE {
                    used[route as usize] = true;
                }
                writer.push(number, route, version);
            });
            (writer, used)
        };
        let ((mut writer, mut used), (high, high_used)) = if pivot > 0 {
            let high_len = len - a - b - w;
            at_once(|| part(&one[..a], &two[..b], &wide[..w], len), || part(&one[a..], &two[b..], &wide[w..], high_len))
        } else {
            (part(one, two, &wide, len), (Writer::new(started, 0, 0), Vec::new()))
        };
        drop((first.items, second.items, wide));
        writer.append(high);
        used.iter_mut().zip(high_used).for_each(|(u, h)| *u |= h);
        writer.saw_seq(seq);

        // Drop the routes only superseded numbers had, keeping the others'
        // order (so every palette stays sorted). The writers chose between a
        // container and sparse records by table index: a route at or above
        // `sparse::ROUTE_LIMIT` (4M routes) that falls below it here leaves
        // its small block in a container, larger but never wrong.
        let mut remap = vec![TOMBSTONE; routes.len()];
        let mut kept: Vec<Arc<RenderedRoute>> = Vec::with_capacity(routes.len());
        for (i, route) in routes.into_iter().enumerate() {
            if used[i] {
                remap[i] = kept.len() as u32;
                kept.push(route);
            }
        }
        if kept.len() < remap.len() {
            writer.remap_routes(&remap);
        }
        writer.finish(kept, parallel)
    }
}

/// Runs `here` on this thread and `there` on a scoped one, at once; a panic
/// in either is this thread's panic.
fn at_once<A, B: Send>(here: impl FnOnce() -> A, there: impl FnOnce() -> B + Send) -> (A, B) {
    std::thread::scope(|s| {
        let helper = s.spawn(there);
        let a = here();
        (a, helper.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
    })
}

/// Feeds `emit` the newest of each number of two sorted lanes and a sorted
/// list of wide items, in number order.
fn write_merged(one: &[Item], two: &[Item], wide: &[Wide], mut emit: impl FnMut(Wide)) {
    // The newest of the current run of one number.
    let mut best: Option<Wide> = None;
    let mut take = |next: Wide| match best {
        Some(b) if b.0 == next.0 => {
            if next.1 >= b.1 {
                best = Some(next);
            }
        }
        _ => {
            if let Some(b) = best.replace(next) {
                emit(b);
            }
        }
    };
    let mut w = 0;
    let mut narrow = |item: Item| {
        let number = item.number();
        // wide items are rare: this is a branch on an empty list, as a rule
        while w < wide.len() && wide[w].0 < number {
            take(wide[w]);
            w += 1;
        }
        take((number, item.version(), item.route()));
    };
    // Which lane goes next is a coin toss for interleaved numbers, so it is
    // chosen without a branch.
    let (mut i, mut j) = (0, 0);
    while i < one.len() && j < two.len() {
        let (x, y) = (one[i], two[j]);
        let second = y.key < x.key;
        narrow(if second { y } else { x });
        i += usize::from(!second);
        j += usize::from(second);
    }
    one[i..].iter().chain(&two[j..]).for_each(|&item| narrow(item));
    for &rest in &wide[w..] {
        take(rest);
    }
    if let Some(b) = best {
        emit(b);
    }
}

/// Items ahead of a bucket's head [`sort_by_number`] loads early (4 cache
/// lines).
const AHEAD: usize = 10;

/// Sorts by number (by [`Item::key`]), in place: a most-significant-digit
/// radix sort (an American flag sort: counts, then cycle-leader swaps that put each item in
/// its bucket for good), taking as many bits a level as the run is large (up
/// to 10: 1,024 buckets for millions of items, a few for hundreds; 4,096
/// moving heads outgrew the TLB, 5.6 s against 4.8 s for 100M items) from the
/// highest bit in which the run's numbers differ; runs of 256 or fewer are
/// finished by a comparison sort. No scratch buffer: a catch-up of 100M
/// events sorts its 2.4 GB where it lies, and the deep levels run on buckets
/// that fit in cache. Items of one number keep no particular order; `finish`
/// keeps the highest version of each, whatever the order.
fn sort_by_number(items: &mut [Item]) {
    if items.len() <= 256 {
        items.sort_unstable_by_key(|i| i.key);
        return;
    }
    let (min, max) = items.iter().fold((u64::MAX, 0), |(lo, hi), i| (lo.min(i.key), hi.max(i.key)));
    if min == max {
        return;
    }
    // Every item agrees on the bits above `top`. About 16 items a bucket.
    let top = u64::BITS - (min ^ max).leading_zeros();
    let want = (usize::BITS - items.len().leading_zeros()).saturating_sub(4).clamp(4, 10);
    let bits = want.min(top);
    let shift = top - bits;
    let buckets = 1usize << bits;
    let digit = |i: &Item| ((i.key >> shift) as usize) & (buckets - 1);
    let mut ends = vec![0usize; buckets];
    for i in items.iter() {
        ends[digit(i)] += 1;
    }
    let mut heads = vec![0usize; buckets];
    let mut sum = 0;
    for b in 0..buckets {
        heads[b] = sum;
        sum += ends[b];
        ends[b] = sum;
    }
    let starts = heads.clone();
    for b in 0..buckets {
        while heads[b] < ends[b] {
            // Carry the item at b's head around its cycle in a register:
            // each step drops it at its bucket's head and picks up what was
            // there, until one belongs to b.
            let mut carried = items[heads[b]];
            loop {
                let d = digit(&carried);
                if d == b {
                    break;
                }
                // d's slots before heads[d] are final, so d > b is not yet full.
                std::mem::swap(&mut carried, &mut items[heads[d]]);
                heads[d] += 1;
                // The next swap's address depends on the item this one
                // loaded, so a miss here stalls the whole chain: load d's
                // slot a few lines ahead now, while the chain goes on.
                std::hint::black_box(items.get(heads[d] + AHEAD).map(|i| i.key));
            }
            items[heads[b]] = carried;
            heads[b] += 1;
        }
    }
    drop(heads);
    if shift > 0 {
        for b in 0..buckets {
            if ends[b] - starts[b] > 1 {
                sort_by_number(&mut items[starts[b]..ends[b]]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Route `i` of 2,000 alike routes.
    fn alike(i: usize) -> Route {
        Route {
            tenant_id: uuid::Uuid::from_u128(7),
            subsystem: didroute_shared::Subsystem::Utilities,
            dashboard_id: "dash".into(),
            customer_label: format!("AAAAAAAA-{i:04}-BBBBBBBB"),
            country: didroute_shared::Country::parse("US").unwrap(),
            friendly_name: None,
            organisation_id: None,
            auto_provisioned: false,
        }
    }

    /// Routes, items `(number, version, route)`, highest seq, keyed hashing.
    type Contents = (Vec<Route>, Vec<(u64, u64, u32)>, u64, bool);

    /// What a builder's first lane holds, to compare two: its routes, in
    /// index order, and its items, in push order.
    fn contents(b: &BaseBuilder) -> Contents {
        assert!(b.second.len() == 0 && b.second.routes.routes.is_empty(), "one lane");
        let lane = &b.first;
        (
            lane.routes.routes.iter().map(|r| r.route().clone()).collect(),
            lane.items.iter().map(|i| (i.number(), i.version(), i.route())).chain(lane.wide.iter().copied()).collect(),
            b.seq,
            lane.routes.keyed.is_some(),
        )
    }

    /// Each number's route and version (`None`: absent), the route count,
    /// routable numbers and position.
    type Answers = (Vec<Option<(Option<Route>, u64)>>, usize, u64, u64);

    /// Every number of `numbers` as a finished base answers it, with the
    /// base's route count, routable numbers and position.
    fn answers(b: BaseBuilder, numbers: &[E164]) -> Answers {
        let base = b.finish();
        let got = numbers
            .iter()
            .map(|&n| base.entry(n).map(|(r, v)| (base.routes.get(r as usize).map(|r| r.route().clone()), v)))
            .collect();
        (got, base.route_count(), base.numbers, base.seq)
    }

    /// A builder that splits batches (`true`) or keeps one lane.
    fn builder(parallel: bool) -> BaseBuilder {
        BaseBuilder { parallel, ..BaseBuilder::new() }
    }

    #[test]
    fn batched_pushes_intern_like_single_ones() {
        // New routes keep arriving among repeats, so routes are added inside
        // a batch (what `warm` found goes stale), and, with every Fx hash
        // colliding (a crafted flood), the chain outgrows its limit inside
        // one (the table switches to a keyed hash).
        super::super::routes::FX_COLLIDES.set(true);
        let routes: Vec<Route> = (0..2000).map(alike).collect();
        // Each number twice, 6,000 pushes apart: once in each half of a
        // split batch, the newer in the second.
        let pushes: Vec<(E164, &Route, u64, u64)> = (0..12_000usize)
            .map(|k| {
                let r = (k * 7919 + k / 5) % (k / 5 + 1).min(routes.len());
                let number = E164::from_u64(15_550_000_000 + (k as u64 * 13) % 6000).unwrap();
                (number, &routes[r], k as u64, k as u64 + 1)
            })
            .collect();
        let numbers: Vec<E164> = (0..6001).map(|k| E164::from_u64(15_550_000_000 + k).unwrap()).collect();
        let (mut one, mut many, mut split) = (builder(false), builder(false), builder(true));
        for &(number, route, version, seq) in &pushes {
            one.push_ref(number, route, version, seq);
        }
        many.push_refs(pushes.iter().copied());
        split.push_refs(pushes.iter().copied());
        assert!(
            one.first.routes.keyed.is_some() && one.first.routes.routes.len() > 1000,
            "{} routes",
            one.first.routes.routes.len()
        );
        assert!(contents(&one) == contents(&many), "push_refs interns like push_ref");
        assert_eq!((split.first.len(), split.second.len()), (6000, 6000), "a batch split in two");
        let interned = one.first.routes.routes.len();
        let want = answers(one, &numbers);
        assert_eq!(want.0.iter().flatten().count(), 6000);
        // (finish writes two parts at once here, and renumbers routes)
        assert!(want.1 < interned, "routes only superseded numbers had are dropped: {} of {interned}", want.1);
        assert!(answers(split, &numbers) == want, "two lanes build the base one builds");

        // The same as events, with deletions and an upsert that lost its
        // route (kept as a deletion).
        let events: Vec<ChangeEvent> = pushes
            .iter()
            .enumerate()
            .map(|(k, &(number, route, version, seq))| ChangeEvent {
                seq,
                number,
                version,
                op: if k % 11 == 0 { Op::Delete } else { Op::Upsert },
                route: (k % 11 != 0 && k % 37 != 0).then(|| route.clone()),
                at: OffsetDateTime::UNIX_EPOCH,
            })
            .collect();
        let (mut one, mut many, mut split) = (builder(false), builder(false), builder(true));
        events.iter().cloned().for_each(|e| one.push_event(e));
        many.push_events(events.clone());
        split.push_events(events);
        assert!(one.first.items.iter().any(|i| i.route() == TOMBSTONE));
        assert!(contents(&one) == contents(&many), "push_events interns like push_event");
        assert_eq!((split.first.len(), split.second.len()), (6000, 6000), "a page split in two");
        let want = answers(one, &numbers);
        assert!(want.0.iter().flatten().any(|(route, _)| route.is_none()), "deletions kept");
        assert!(answers(split, &numbers) == want, "two lanes build the base one builds");
    }

    fn item(number: u64, version: u64, route: u32) -> Item {
        Item::new(number, version, route).expect("a version that fits")
    }

    #[test]
    fn items_keep_what_they_are_given() {
        for (number, version, route) in [
            (0, 0, 0),
            (999_999_999_999_999, VERSION_MAX, TOMBSTONE),
            (15_551_234_567, 1 << 40, TOMBSTONE - 1),
            (442_079_460_000, 3, 0x2_1234),
        ] {
            let i = item(number, version, route);
            assert_eq!((i.number(), i.version(), i.route()), (number, version, route));
        }
        assert!(Item::new(1, VERSION_MAX + 1, 0).is_none());
    }

    #[test]
    fn versions_too_large_for_an_item_still_win() {
        // A number's newest version is above what an item holds (it waits in
        // `wide`), another's older one is: the newest wins either way, and
        // numbers only in `wide` are kept too.
        let (a, b) = (alike(1), alike(2));
        let n = |k: u64| E164::from_u64(15_550_000_000 + k).unwrap();
        let huge = VERSION_MAX + 10;
        let mut mixed = BaseBuilder::new();
        mixed.push(n(1), Some(a.clone()), 5, 1);
        mixed.push(n(1), Some(b.clone()), huge, 2);
        mixed.push(n(2), Some(a.clone()), huge + 1, 3);
        mixed.push(n(2), Some(b.clone()), 7, 4);
        mixed.push(n(3), Some(b.clone()), u64::MAX, 5);
        mixed.push(n(3), None, 9, 6);
        mixed.push(n(4), Some(a.clone()), 11, 7);
        mixed.push(n(0), None, huge, 8);
        assert_eq!((mixed.len(), mixed.first.wide.len()), (8, 4));
        let base = mixed.finish();
        let got = |k: u64| {
            let (route, version) = base.entry(n(k)).expect("present");
            (base.routes.get(route as usize).map(|r| r.route().clone()), version)
        };
        assert_eq!(got(0), (None, huge));
        assert_eq!(got(1), (Some(b.clone()), huge));
        assert_eq!(got(2), (Some(a.clone()), huge + 1));
        assert_eq!(got(3), (Some(b), u64::MAX));
        assert_eq!(got(4), (Some(a), 11));
        assert_eq!(base.numbers, 4);

        // The same in both lanes of a split page: every number's newest
        // version wins, wherever each version waited.
        let events: Vec<ChangeEvent> = (0..PARALLEL_MIN as u64 * 2)
            .map(|k| ChangeEvent {
                seq: k + 1,
                number: n(k % 1000),
                version: if k % 2 == 0 && k % 7 == 0 { huge + k } else { k },
                op: Op::Upsert,
                route: Some(alike((k % 5) as usize)),
                at: OffsetDateTime::UNIX_EPOCH,
            })
            .collect();
        let (mut one, mut split) = (builder(false), builder(true));
        one.push_events(events.clone());
        split.push_events(events);
        assert!(!split.first.wide.is_empty() && !split.second.wide.is_empty(), "wide versions in both lanes");
        let numbers: Vec<E164> = (0..1000).map(n).collect();
        let want = answers(one, &numbers);
        assert!(
            want.0.iter().flatten().any(|&(_, v)| v > VERSION_MAX)
                && want.0.iter().flatten().any(|&(_, v)| v <= VERSION_MAX)
        );
        assert!(answers(split, &numbers) == want, "two lanes build the base one builds");
    }

    #[test]
    fn renumbered_routes_answer_what_was_pushed() {
        // 40 routes that only superseded versions have, interned first (so
        // every winning route's index moves when they are dropped), then 9
        // that win, over busy blocks and scattered numbers; checked against
        // what was pushed, not against another build, on one lane and two.
        for parallel in [false, true] {
            let number = |i: u64| if i.is_multiple_of(2) { 15_000_000_000 + i } else { 16_000_000_000 + i * 10_007 };
            let event = |seq: u64, i: u64, version: u64, route: Route| ChangeEvent {
                seq,
                number: E164::from_u64(number(i)).unwrap(),
                version,
                op: Op::Upsert,
                route: Some(route),
                at: OffsetDateTime::UNIX_EPOCH,
            };
            let mut events: Vec<ChangeEvent> =
                (0..6000).map(|i| event(i + 1, i, 1, alike(1000 + (i % 40) as usize))).collect();
            events.extend((0..6000).map(|i| event(6001 + i, i, 2, alike((i % 9) as usize))));
            let mut b = builder(parallel);
            b.push_events(events);
            assert_eq!(b.second.len() > 0, parallel);
            let base = b.finish();
            assert_eq!(base.route_count(), 9, "only the winners' routes are kept");
            assert!(base.sparse_count() > 0 && base.block_count() > 0, "both kinds of storage renumbered");
            for i in 0..6000 {
                let (route, version) = base.entry(E164::from_u64(number(i)).unwrap()).expect("present");
                assert_eq!(version, 2);
                assert_eq!(base.routes[route as usize].route(), &alike((i % 9) as usize), "number {}", number(i));
            }
        }
    }

    #[test]
    fn a_capacity_hint_is_kept_to() {
        // Single pushes fill the first lane, which takes the second's share
        // once; a bulk load's tail too short to split goes where there is
        // room. Neither grows past the hint.
        let route = alike(1);
        let n = |k: u64| E164::from_u64(15_550_000_000 + k).unwrap();
        let capacity = |b: &BaseBuilder| b.first.items.capacity() + b.second.items.capacity();
        let mut single = BaseBuilder { parallel: true, ..BaseBuilder::with_capacity(10_001) };
        (0..10_001).for_each(|k| single.push_ref(n(k), &route, k, k));
        assert_eq!((single.first.len(), capacity(&single)), (10_001, 10_001));
        let mut bulk = BaseBuilder { parallel: true, ..BaseBuilder::with_capacity(68_000) };
        bulk.push_refs((0..68_000).map(|k| (n(k), &route, k, k)));
        assert!(bulk.second.len() > 0);
        assert_eq!((bulk.len(), capacity(&bulk)), (68_000, 68_000));
    }

    #[test]
    fn random_builds_agree_on_one_lane_and_two() {
        // Random pages: numbers in a few busy blocks and scattered, several
        // pushes of a number in either lane, deletions, versions now and
        // then too wide for an item, routes superseded; each seed built on
        // one lane and on two (split pages, two writers), compared number by
        // number.
        let routes: Vec<Route> = (0..300).map(alike).collect();
        for seed in 1..=6u64 {
            let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let mut next = move || {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x
            };
            // +1 numbers: blocks 12_000_000..19_000_000 (x 1000)
            let blocks: Vec<u64> = (0..20).map(|_| 12_000_000 + next() % 7_000_000).collect();
            let numbers: Vec<E164> = (0..3000)
                .map(|_| {
                    let n = if next() % 10 == 0 {
                        12_000_000_000 + next() % 7_999_999_999
                    } else {
                        blocks[(next() % 20) as usize] * 1000 + next() % 1000
                    };
                    E164::from_u64(n).unwrap()
                })
                .collect();
            let (mut one, mut two) = (builder(false), builder(true));
            let mut seq = 0;
            for page in 0..4 {
                let len = [PARALLEL_MIN - 1, PARALLEL_MIN, 7000, 10_000][page];
                let events: Vec<ChangeEvent> = (0..len)
                    .map(|_| {
                        seq += 1;
                        let number = numbers[(next() % numbers.len() as u64) as usize];
                        let version = if next() % 50 == 0 { VERSION_MAX + next() % 1000 } else { next() % 1_000_000 };
                        let delete = next() % 9 == 0;
                        ChangeEvent {
                            seq,
                            number,
                            version,
                            op: if delete { Op::Delete } else { Op::Upsert },
                            route: (!delete).then(|| routes[(next() % routes.len() as u64) as usize].clone()),
                            at: OffsetDateTime::UNIX_EPOCH,
                        }
                    })
                    .collect();
                one.push_events(events.clone());
                two.push_events(events);
            }
            assert!(two.second.len() > 0, "seed {seed}: pages were split");
            let want = answers(one, &numbers);
            assert!(answers(two, &numbers) == want, "seed {seed}: two lanes build the base one lane builds");
        }
    }

    #[test]
    fn radix_sort_sorts() {
        let mut x = 0x1234_5678_9abc_def1u64;
        let mut items: Vec<Item> = (0..20_000u64)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                item(x % 999_999_999_999_999, i, (x >> 20) as u32)
            })
            .collect();
        items.extend_from_within(..5000);
        // Runs of one number, and numbers close together (deep levels).
        items.extend((0..3000u64).map(|i| item(15_550_000_000 + i % 700, i, 1)));
        items.extend((0..100u64).map(|i| item(7, i, i as u32)));
        let mut want: Vec<(u64, u64, u32)> = items.iter().map(|i| (i.number(), i.version(), i.route())).collect();
        want.sort_unstable();
        sort_by_number(&mut items);
        assert!(items.windows(2).all(|w| w[0].number() <= w[1].number()), "sorted by number");
        let mut got: Vec<(u64, u64, u32)> = items.iter().map(|i| (i.number(), i.version(), i.route())).collect();
        got.sort_unstable();
        assert_eq!(got, want, "the same items");
    }
}
