//! Builds a [`Base`] from numbers in any order: sort once, insert into the
//! fst in order.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use didroute_shared::e164::MAX_DIGITS;
use didroute_shared::{ChangeEvent, Op, Route, E164};
use time::OffsetDateTime;

use super::base::{Base, BaseEntry, TOMBSTONE};
use super::key::Key;
use super::render::RenderedRoute;

#[derive(Debug, Clone, Copy)]
struct Item {
    key: Key,
    route: u32,
    version: u64,
    seq: u64,
}

/// Collects numbers, interning each distinct route once, then sorts and
/// builds the fst in one pass. Used for the initial catch-up (events pushed
/// as they arrive), for [`Base::build`] and for folding.
#[derive(Default)]
pub struct BaseBuilder {
    routes: Vec<Arc<RenderedRoute>>,
    by_route: HashMap<Route, u32>,
    items: Vec<Item>,
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

    /// Adds one number; `route: None` records a deletion (a tombstone).
    pub fn push(&mut self, number: E164, route: Option<Route>, version: u64, seq: u64) {
        let route = match route {
            Some(route) => self.intern(route),
            None => TOMBSTONE,
        };
        self.items.push(Item { key: Key::of(number), route, version, seq });
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

    pub(crate) fn push_key(&mut self, key: Key, route: u32, version: u64, seq: u64) {
        self.items.push(Item { key, route, version, seq });
    }

    fn intern(&mut self, route: Route) -> u32 {
        if let Some(&index) = self.by_route.get(&route) {
            return index;
        }
        let index = self.next_index();
        self.by_route.insert(route.clone(), index);
        self.routes.push(Arc::new(RenderedRoute::new(route)));
        index
    }

    /// Interns an already rendered route without rendering it again.
    pub(crate) fn intern_rendered(&mut self, route: &Arc<RenderedRoute>) -> u32 {
        if let Some(&index) = self.by_route.get(route.route()) {
            return index;
        }
        let index = self.next_index();
        self.by_route.insert(route.route().clone(), index);
        self.routes.push(Arc::clone(route));
        index
    }

    fn next_index(&self) -> u32 {
        // TOMBSTONE is u32::MAX: four billion distinct routes would be a bug
        // upstream long before memory ran out here.
        u32::try_from(self.routes.len()).ok().filter(|&i| i != TOMBSTONE).expect("fewer than 2^32 - 1 distinct routes")
    }

    /// Sorts, keeps each number's newest version, drops routes no number
    /// uses any more, and builds the fst.
    pub fn finish(self) -> Base {
        let started = Instant::now();
        let BaseBuilder { routes, mut items, .. } = self;
        // Newest version first within a number; seq breaks ties so the
        // outcome never depends on arrival order.
        items.sort_unstable_by(|a, b| a.key.cmp(&b.key).then(b.version.cmp(&a.version)).then(b.seq.cmp(&a.seq)));
        items.dedup_by_key(|item| item.key);

        let mut remap = vec![TOMBSTONE; routes.len()];
        let mut kept: Vec<Arc<RenderedRoute>> = Vec::new();
        let mut entries = Vec::with_capacity(items.len());
        let mut map = fst::MapBuilder::memory();
        let mut numbers = 0u64;
        let mut digits = [0u8; MAX_DIGITS];
        for (ordinal, item) in items.iter().enumerate() {
            let route = if item.route == TOMBSTONE {
                TOMBSTONE
            } else {
                numbers += 1;
                let slot = &mut remap[item.route as usize];
                if *slot == TOMBSTONE {
                    *slot = kept.len() as u32;
                    kept.push(Arc::clone(&routes[item.route as usize]));
                }
                *slot
            };
            // Keys are sorted and distinct (Key order is fst byte order),
            // and writing to memory cannot fail.
            map.insert(item.key.digits(&mut digits), ordinal as u64).expect("sorted distinct keys");
            entries.push(BaseEntry { route, version: item.version, seq: item.seq });
        }
        Base {
            index: map.into_map(),
            entries,
            routes: kept,
            numbers,
            built_at: OffsetDateTime::now_utc(),
            build_time: started.elapsed(),
        }
    }
}
