//! Builds a [`Base`]: [`BaseBuilder`] takes numbers in any order (the
//! initial catch-up, [`Base::build`]), sorts once and hands them to the
//! [`Writer`], which encodes numbers arriving in ascending order into block
//! containers (also what a fold streams into, without sorting).
//!
//! The stages of a build:
//!
//! - push: each number's route is interned ([`RouteTable`], a few routes at
//!   a time) and the number kept as a 16-byte [`Item`] (see [`sort`]); a
//!   version too wide for an item waits in a side list merged at the end;
//! - two lanes: a batch of [`PARALLEL_MIN`] or more (bulk loads, catch-up
//!   pages) is split between the caller and a scoped thread, each pushing
//!   into its own [`Lane`] (route table and items) and sharing nothing; a
//!   smaller batch goes to whichever lane has room, on the caller's thread,
//!   so a capacity hint is kept to. A build runs only before a node serves
//!   (the first catch-up) or off the serving path, so the second core is
//!   free;
//! - finish: the second lane's routes move into the first table, both
//!   lanes are sorted at once (an in-place radix sort, [`sort`]), then two
//!   number ranges split at a block boundary are written at once, merging
//!   the lanes without a branch, and the second writer's containers are
//!   appended to the first's;
//! - renumbering: writers take routes by table index and report which they
//!   used; routes only superseded numbers had are dropped and the rest
//!   renumbered in order (palettes and sparse records rewritten; skipped
//!   when none is dropped).
//!
//! The items are the build's one large buffer, so they alone sit on
//! transparent huge pages ([`huge`]). Build time and its CPU time on both
//! threads are what `cargo bench -p didroute-benches --bench lookup`
//! reports as L5.

use std::sync::Arc;
use std::time::Instant;

use didroute_shared::{ChangeEvent, Op, Route, E164};

use super::base::{routable, Base, BLOCKED, TOMBSTONE};
use super::huge;
use super::ranges::{range_entry, RangeEntry, Ranges};
use super::render::RenderedRoute;
use super::routes::{RouteTable, Warmed, WARM};

mod sort;
mod writer;

#[cfg(test)]
use sort::VERSION_MAX;
use sort::{sort_by_number, Item};
pub(crate) use writer::Writer;

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
    /// Range routes pushed (range events), any order.
    ranges: Vec<RangeEntry>,
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
    /// Numbers pushed with a version above [`VERSION_MAX`](sort::VERSION_MAX) (none, unless a
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
                        // range events were taken out before the lanes
                        _ => None,
                    })
                    .collect();
                self.routes.warm(&routes, &mut warmed);
            }
            for (i, event) in batch.drain(..).enumerate() {
                let route = match (event.op, event.route) {
                    (Op::Upsert, Some(route)) => self.routes.intern_warmed(route, &warmed, i),
                    (Op::Block, _) => BLOCKED,
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
            ranges: Vec::new(),
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

    /// Adds a blocked number: no route, and none through a range holding it.
    pub fn push_blocked(&mut self, number: E164, version: u64, seq: u64) {
        self.first.push_record(number, BLOCKED, version);
        self.seq = self.seq.max(seq);
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
        let (ranges, mut events): (Vec<ChangeEvent>, Vec<ChangeEvent>) =
            events.into_iter().partition(|e| e.op.is_range());
        for event in ranges {
            self.push_range(event);
        }
        let split = self.parallel && events.len() >= PARALLEL_MIN;
        let two = events.split_off(self.share(events.len(), split));
        self.split(split, |lane| lane.push_events(events), |lane| lane.push_events(two));
    }

    /// Adds what one change event says about its number. The caller has
    /// validated the event; an upsert without a route is kept as a deletion
    /// rather than trusted.
    pub fn push_event(&mut self, event: ChangeEvent) {
        if event.op.is_range() {
            return self.push_range(event);
        }
        let route = match event.op {
            Op::Upsert => event.route,
            Op::Block => return self.push_blocked(event.number, event.version, event.seq),
            _ => None,
        };
        self.push(event.number, route, event.version, event.seq);
    }

    /// Adds what a range event says about its range (validated by the
    /// caller; one without its range is dropped).
    pub fn push_range(&mut self, event: ChangeEvent) {
        self.seq = self.seq.max(event.seq);
        if let Some(entry) = range_entry(event) {
            self.ranges.push(entry);
        }
    }

    /// Sorts, keeps each number's newest version (versions come from one
    /// sequence, so two events of one number never share one; if they did,
    /// either could win), drops routes no number uses any more, and encodes
    /// the base.
    pub fn finish(self) -> Base {
        let started = Instant::now();
        let BaseBuilder { mut first, mut second, parallel, seq, ranges, .. } = self;
        let ranges = Arc::new(Ranges::build(ranges));
        // The second lane's routes join the first lane's table; its items
        // take their indices there while they are sorted.
        let moved = first.routes.absorb(&second.routes);
        let to_first = |route: u32| if routable(route) { moved[route as usize] } else { route };
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
                if routable(route) {
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
        let mut base = writer.finish(kept, parallel);
        base.ranges = ranges;
        base
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

#[cfg(test)]
mod tests {
    use time::OffsetDateTime;

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
            locale: "en".into(),
            greeting_template: None,
            greeting_text: None,
            attributes: None,
            tracking: None,
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
                lineage: None,
                range: None,
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
                lineage: None,
                range: None,
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
                lineage: None,
                range: None,
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
                            lineage: None,
                            range: None,
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
}
