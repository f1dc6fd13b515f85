//! Folding: merge a base and its overlay into a new base, streaming the old
//! base in number order and the sorted overlay beside it into a [`Writer`].
//!
//! A fold runs while the old base still serves, so its peak is the old base,
//! the new one and whatever the merge holds on the side; docs/goals.md L2 bounds
//! that peak. Nothing per number is held on the side: the overlay is sorted
//! as `(number, &slot)` pairs, routes are interned by reference (no route is
//! cloned), and the sparse table's records of blocks no change touches are
//! copied over in table order (the new table hashes them again anyway), so
//! only the few sparse records of touched blocks join the ordered merge.

use std::collections::hash_map::Entry;
use std::sync::Arc;
use std::time::Instant;

use didroute_shared::Route;

use super::base::{routable, Base, BLOCKED, TOMBSTONE};
use super::builder::Writer;
use super::hash::FxHashMap;
use super::overlay::{Overlay, Slot};
use super::render::RenderedRoute;
use super::sparse;

/// The new base's route table, built from routes the old base and the
/// overlay already hold: keyed by reference into them, so interning clones
/// nothing but an `Arc`.
struct Routes<'a> {
    routes: Vec<Arc<RenderedRoute>>,
    by_route: FxHashMap<&'a Route, u32>,
    /// Old route index -> new one, filled on first use: the old table is
    /// deduplicated already, so each old route is hashed once.
    remap: Vec<u32>,
    old: &'a [Arc<RenderedRoute>],
}

impl<'a> Routes<'a> {
    fn intern(&mut self, route: &'a Arc<RenderedRoute>) -> u32 {
        match self.by_route.entry(route.route()) {
            Entry::Occupied(e) => *e.get(),
            Entry::Vacant(e) => {
                // Fewer than old routes + overlay entries, checked by the caller.
                let index = self.routes.len() as u32;
                self.routes.push(Arc::clone(route));
                *e.insert(index)
            }
        }
    }

    /// The new index of old route `route` ([`TOMBSTONE`] and [`BLOCKED`]
    /// stay what they are); `None` for an index the old table does not have
    /// (a corrupt entry).
    fn old(&mut self, route: u32) -> Option<u32> {
        if !routable(route) {
            return Some(route);
        }
        let old: &'a Arc<RenderedRoute> = self.old.get(route as usize)?;
        let slot = self.remap[route as usize];
        if slot != TOMBSTONE {
            return Some(slot);
        }
        let index = self.intern(old);
        self.remap[route as usize] = index;
        Some(index)
    }
}

impl Base {
    /// A new base holding what `self` with `overlay` on top answers. The
    /// overlay always wins: an entry only enters it when it is newer than
    /// what the base holds.
    pub fn fold(&self, overlay: &Overlay) -> Base {
        let started = Instant::now();
        let mut changes: Vec<(u64, &Slot)> = overlay.iter().map(|(n, s)| (n.as_u64(), s)).collect();
        changes.sort_unstable_by_key(|(n, _)| *n);
        // A change grows the arena by a few bytes at most (a palette entry,
        // a wider version delta, a new member); the writer grows by 1/16 if
        // this is short.
        let grow = changes.len() * 8;
        let mut writer = Writer::new(started, self.data.len() + grow, self.sparse.len() + changes.len() / 8);
        writer.saw_seq(self.seq);
        let mut routes = Routes {
            routes: Vec::new(),
            by_route: FxHashMap::default(),
            remap: vec![TOMBSTONE; self.routes.len()],
            old: &self.routes,
        };
        // Whether a change falls in `number`'s 1,000-block.
        let touched = |number: u64| {
            let start = number / 1000 * 1000;
            let i = changes.partition_point(|(n, _)| *n < start);
            changes.get(i).is_some_and(|(n, _)| *n < start + 1000)
        };
        // Every new route index stays below this, so a copied record keeps
        // fitting the sparse table's route width.
        let copy_sparse = self.routes.len() + changes.len() < sparse::ROUTE_LIMIT;

        // Sparse records: copied straight over unless a change touches their
        // block (then the block's numbers are merged in order below).
        let mut merged: Vec<(u64, u32, u64)> = Vec::new();
        for i in 0..self.sparse.len() {
            let (number, route, version) = self.sparse.at(i as u32);
            // (A sparse number whose block also has a container cannot come
            // from a verified base; if one did, the merge keeps both in one
            // container instead of hiding one behind the other.)
            if copy_sparse && !touched(number) && self.directory.get(number / 1000).is_none() {
                let Some(route) = routes.old(route) else {
                    tracing::error!(number, "skipping a sparse entry with an unknown route while folding");
                    continue;
                };
                writer.push_sparse(number, route, version);
            } else {
                merged.push((number, route, version));
            }
        }
        merged.sort_unstable_by_key(|m| m.0);

        let mut merge = Merge { writer, routes, changes: changes.into_iter().peekable() };
        let mut merged = merged.into_iter().peekable();
        self.for_each_container(|number, route, version| {
            while let Some((n, r, v)) = merged.next_if(|m| m.0 < number) {
                merge.old_entry(n, r, v);
            }
            merge.old_entry(number, route, version);
        });
        for (n, r, v) in merged {
            merge.old_entry(n, r, v);
        }
        let mut base = merge.finish();
        // the range fst is rebuilt only when a range changed
        base.ranges = if overlay.ranges().next().is_none() {
            Arc::clone(&self.ranges)
        } else {
            Arc::new(self.ranges.merged(overlay.ranges()))
        };
        // folded ranges answer with the base's position, which must not be
        // older than the range changes folded in
        base.seq = overlay.ranges().map(|r| r.seq).fold(base.seq, u64::max);
        base
    }
}

/// The ordered merge of old entries with the sorted changes.
struct Merge<'a> {
    writer: Writer,
    routes: Routes<'a>,
    /// Owned, so the sorted list is freed before the new base is finished.
    changes: std::iter::Peekable<std::vec::IntoIter<(u64, &'a Slot)>>,
}

impl<'a> Merge<'a> {
    fn change(&mut self, number: u64, slot: &'a Slot) {
        let route = match &slot.route {
            Some(route) => self.routes.intern(route),
            None if slot.blocked => BLOCKED,
            None => TOMBSTONE,
        };
        self.writer.saw_seq(slot.seq);
        self.writer.push(number, route, slot.version);
    }

    /// One old entry, in number order, after the changes before it; a change
    /// of the same number replaces it.
    fn old_entry(&mut self, number: u64, route: u32, version: u64) {
        while let Some((n, slot)) = self.changes.next_if(|(n, _)| *n < number) {
            self.change(n, slot);
        }
        if let Some((n, slot)) = self.changes.next_if(|(n, _)| *n == number) {
            self.change(n, slot);
            return;
        }
        let Some(route) = self.routes.old(route) else {
            tracing::error!(number, "skipping a base entry with an unknown route while folding");
            return;
        };
        self.writer.push(number, route, version);
    }

    fn finish(mut self) -> Base {
        while let Some((n, slot)) = self.changes.next() {
            self.change(n, slot);
        }
        let Merge { writer, routes, changes } = self;
        drop(changes);
        writer.finish(routes.routes, false)
    }
}
