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

    pub(crate) fn finish(mut self, routes: Vec<Arc<RenderedRoute>>) -> Base {
        if !self.members.is_empty() {
            self.flush();
        }
        self.data.extend_from_slice(&[0; blocks::PADDING]);
        self.data.shrink_to_fit();
        // One transient at a time (a fold's peak counts): the directory's
        // list goes before the sparse table is hashed.
        let directory = Directory::build(&self.directory, &self.data);
        drop(std::mem::take(&mut self.directory));
        let sparse = Sparse::build(self.sparse);
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

/// One pushed number: 24 bytes, so a catch-up of 100M events sorts 2.4 GB
/// (in place).
#[derive(Debug, Clone, Copy)]
struct Item {
    number: u64,
    version: u64,
    /// Index into the builder's routes, or [`TOMBSTONE`].
    route: u32,
}

/// Collects numbers, interning each distinct route once, then sorts and
/// encodes them in one pass. Used for the initial catch-up (events pushed
/// as they arrive) and for [`Base::build`].
#[derive(Default)]
pub struct BaseBuilder {
    routes: RouteTable,
    items: Vec<Item>,
    /// Highest seq pushed: the position the base reports.
    seq: u64,
}

impl BaseBuilder {
    pub fn new() -> BaseBuilder {
        BaseBuilder::default()
    }

    pub fn with_capacity(numbers: usize) -> BaseBuilder {
        BaseBuilder { items: Vec::with_capacity(numbers), ..BaseBuilder::default() }
    }

    /// Numbers pushed so far (a number pushed twice counts twice).
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    fn push_record(&mut self, number: E164, route: u32, version: u64, seq: u64) {
        self.seq = self.seq.max(seq);
        self.items.push(Item { number: number.as_u64(), version, route });
    }

    /// Adds one number; `route: None` records a deletion (a tombstone).
    pub fn push(&mut self, number: E164, route: Option<Route>, version: u64, seq: u64) {
        let route = match route {
            Some(route) => self.routes.intern(route),
            None => TOMBSTONE,
        };
        self.push_record(number, route, version, seq);
    }

    /// [`BaseBuilder::push`] for a borrowed route: clones it only the first
    /// time it is seen (bulk loads where many numbers share few routes).
    pub fn push_ref(&mut self, number: E164, route: &Route, version: u64, seq: u64) {
        let route = self.routes.intern_ref(route);
        self.push_record(number, route, version, seq);
    }

    /// [`BaseBuilder::push_ref`] for many numbers at once (a bulk load): the
    /// same result, but the routes of a few numbers are loaded into the cache
    /// together before they are interned (see [`RouteTable::warm`]).
    pub fn push_refs<'r>(&mut self, numbers: impl IntoIterator<Item = (E164, &'r Route, u64, u64)>) {
        let mut batch: Vec<(E164, &'r Route, u64, u64)> = Vec::with_capacity(WARM);
        let mut routes: Vec<Option<&'r Route>> = Vec::with_capacity(WARM);
        let mut warmed = Box::<Warmed>::default();
        let mut numbers = numbers.into_iter();
        loop {
            batch.clear();
            batch.extend(numbers.by_ref().take(WARM));
            if batch.is_empty() {
                return;
            }
            routes.clear();
            routes.extend(batch.iter().map(|&(_, route, _, _)| Some(route)));
            self.routes.warm(&routes, &mut warmed);
            for (i, &(number, route, version, seq)) in batch.iter().enumerate() {
                let route = self.routes.intern_ref_warmed(route, &warmed, i);
                self.push_record(number, route, version, seq);
            }
        }
    }

    /// [`BaseBuilder::push_event`] for many events at once (a page of the
    /// catch-up), warming their routes a few at a time like
    /// [`BaseBuilder::push_refs`].
    pub fn push_events(&mut self, events: impl IntoIterator<Item = ChangeEvent>) {
        let mut batch: Vec<ChangeEvent> = Vec::with_capacity(WARM);
        let mut warmed = Box::<Warmed>::default();
        let mut events = events.into_iter();
        loop {
            batch.extend(events.by_ref().take(WARM));
            if batch.is_empty() {
                return;
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
                self.push_record(event.number, route, event.version, event.seq);
            }
        }
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
        let BaseBuilder { routes, mut items, seq } = self;
        sort_by_number(&mut items);
        // About 4 bytes per number in containers, a tenth of them sparse.
        let mut writer = Writer::new(started, items.len() * 4, items.len() / 10);
        writer.saw_seq(seq);
        let mut remap = vec![TOMBSTONE; routes.routes.len()];
        let mut kept: Vec<Arc<RenderedRoute>> = Vec::new();
        let mut i = 0;
        while i < items.len() {
            let number = items[i].number;
            let mut best = items[i];
            let mut j = i + 1;
            while j < items.len() && items[j].number == number {
                if items[j].version >= best.version {
                    best = items[j];
                }
                j += 1;
            }
            i = j;
            let route = if best.route == TOMBSTONE {
                TOMBSTONE
            } else {
                let slot = &mut remap[best.route as usize];
                if *slot == TOMBSTONE {
                    *slot = kept.len() as u32;
                    kept.push(Arc::clone(&routes.routes[best.route as usize]));
                }
                *slot
            };
            writer.push(number, route, best.version);
        }
        drop(items);
        writer.finish(kept)
    }
}

/// Items ahead of a bucket's head [`sort_by_number`] loads early (4 cache
/// lines).
const AHEAD: usize = 10;

/// Sorts by number, in place: a most-significant-digit radix sort (an
/// American flag sort: counts, then cycle-leader swaps that put each item in
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
        items.sort_unstable_by_key(|i| i.number);
        return;
    }
    let (min, max) = items.iter().fold((u64::MAX, 0), |(lo, hi), i| (lo.min(i.number), hi.max(i.number)));
    if min == max {
        return;
    }
    // Every item agrees on the bits above `top`. About 16 items a bucket.
    let top = u64::BITS - (min ^ max).leading_zeros();
    let want = (usize::BITS - items.len().leading_zeros()).saturating_sub(4).clamp(4, 10);
    let bits = want.min(top);
    let shift = top - bits;
    let buckets = 1usize << bits;
    let digit = |i: &Item| ((i.number >> shift) as usize) & (buckets - 1);
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
                std::hint::black_box(items.get(heads[d] + AHEAD).map(|i| i.number));
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

    /// What a builder holds, to compare two: its routes, in index order, and
    /// its items, in push order.
    fn contents(b: &BaseBuilder) -> Contents {
        (
            b.routes.routes.iter().map(|r| r.route().clone()).collect(),
            b.items.iter().map(|i| (i.number, i.version, i.route)).collect(),
            b.seq,
            b.routes.keyed.is_some(),
        )
    }

    #[test]
    fn batched_pushes_intern_like_single_ones() {
        // New routes keep arriving among repeats, so routes are added inside
        // a batch (what `warm` found goes stale), and, with every Fx hash
        // colliding (a crafted flood), the chain outgrows its limit inside
        // one (the table switches to a keyed hash).
        super::super::routes::FX_COLLIDES.set(true);
        let routes: Vec<Route> = (0..2000).map(alike).collect();
        let pushes: Vec<(E164, &Route, u64, u64)> = (0..12_000usize)
            .map(|k| {
                let r = (k * 7919 + k / 5) % (k / 5 + 1).min(routes.len());
                let number = E164::from_u64(15_550_000_000 + (k as u64 * 13) % 6000).unwrap();
                (number, &routes[r], k as u64, k as u64 + 1)
            })
            .collect();
        let (mut one, mut many) = (BaseBuilder::new(), BaseBuilder::new());
        for &(number, route, version, seq) in &pushes {
            one.push_ref(number, route, version, seq);
        }
        many.push_refs(pushes.iter().copied());
        assert!(one.routes.keyed.is_some() && one.routes.routes.len() > 1000, "{} routes", one.routes.routes.len());
        assert!(contents(&one) == contents(&many), "push_refs interns like push_ref");

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
        let (mut one, mut many) = (BaseBuilder::new(), BaseBuilder::new());
        events.iter().cloned().for_each(|e| one.push_event(e));
        many.push_events(events);
        assert!(one.items.iter().any(|i| i.route == TOMBSTONE));
        assert!(contents(&one) == contents(&many), "push_events interns like push_event");
    }

    #[test]
    fn radix_sort_sorts() {
        let mut x = 0x1234_5678_9abc_def1u64;
        let mut items: Vec<Item> = (0..20_000u64)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                Item { number: x % 999_999_999_999_999, version: i, route: 0 }
            })
            .collect();
        items.extend_from_within(..5000);
        // Runs of one number, and numbers close together (deep levels).
        items.extend((0..3000u64).map(|i| Item { number: 15_550_000_000 + i % 700, version: i, route: 1 }));
        items.extend((0..100u64).map(|i| Item { number: 7, version: i, route: 2 }));
        let mut want: Vec<(u64, u64)> = items.iter().map(|i| (i.number, i.version)).collect();
        want.sort_unstable();
        sort_by_number(&mut items);
        assert!(items.windows(2).all(|w| w[0].number <= w[1].number), "sorted by number");
        let mut got: Vec<(u64, u64)> = items.iter().map(|i| (i.number, i.version)).collect();
        got.sort_unstable();
        assert_eq!(got, want, "the same items");
    }
}
