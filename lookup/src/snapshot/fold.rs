//! Folding: merge a base and its overlay into a new base, streaming the old
//! base in number order and the sorted overlay beside it into a [`Writer`]
//! (no per-number buffer: peak memory is the old base, the new one and the
//! overlay).

use std::time::Instant;

use super::base::{Base, TOMBSTONE};
use super::builder::{RouteTable, Writer};
use super::overlay::{Overlay, Slot};

impl Base {
    /// A new base holding what `self` with `overlay` on top answers. The
    /// overlay always wins: an entry only enters it when it is newer than
    /// what the base holds.
    pub fn fold(&self, overlay: &Overlay) -> Base {
        let started = Instant::now();
        let mut changes: Vec<(u64, &Slot)> = overlay.iter().map(|(n, s)| (n.as_u64(), s)).collect();
        changes.sort_unstable_by_key(|(n, _)| *n);
        let mut changes = changes.into_iter().peekable();

        let grow = changes.len() * 16;
        let mut writer = Writer::new(started, self.data.len() + grow, self.sparse.len() + changes.len() / 4);
        writer.saw_seq(self.seq);
        let mut routes = RouteTable::default();
        // Old route index -> new one, filled on first use: the base's route
        // table is already deduplicated, so only overlay routes need hashing.
        let mut remap = vec![TOMBSTONE; self.routes.len()];
        let push_change = |writer: &mut Writer, routes: &mut RouteTable, number: u64, slot: &Slot| {
            let route = match &slot.route {
                Some(route) => routes.intern_rendered(route),
                None => TOMBSTONE,
            };
            writer.saw_seq(slot.seq);
            writer.push(number, route, slot.version);
        };

        self.for_each(|number, route, version| {
            while let Some((n, slot)) = changes.next_if(|(n, _)| *n < number) {
                push_change(&mut writer, &mut routes, n, slot);
            }
            if let Some((n, slot)) = changes.next_if(|(n, _)| *n == number) {
                push_change(&mut writer, &mut routes, n, slot);
                return;
            }
            let route = if route == TOMBSTONE {
                TOMBSTONE
            } else {
                let Some(old) = self.routes.get(route as usize) else {
                    tracing::error!(number, "skipping a base entry with an unknown route while folding");
                    return;
                };
                let slot = &mut remap[route as usize];
                if *slot == TOMBSTONE {
                    *slot = routes.intern_rendered(old);
                }
                *slot
            };
            writer.push(number, route, version);
        });
        for (n, slot) in changes {
            push_change(&mut writer, &mut routes, n, slot);
        }
        writer.finish(routes.routes)
    }
}
