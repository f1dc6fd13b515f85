//! Folding: merge a base and its overlay into a new base, streaming the old
//! fst in key order and the sorted overlay beside it.

use fst::Streamer;

use super::base::{Base, TOMBSTONE};
use super::builder::BaseBuilder;
use super::key::Key;
use super::overlay::{Overlay, Slot};

impl Base {
    /// A new base holding what `self` with `overlay` on top answers. The
    /// overlay always wins: an entry only enters it when it is newer than
    /// what the base holds.
    pub fn fold(&self, overlay: &Overlay) -> Base {
        let mut changes: Vec<(Key, &Slot)> = overlay.iter().map(|(n, s)| (Key::of(n), s)).collect();
        changes.sort_unstable_by_key(|(k, _)| *k);
        let mut changes = changes.into_iter().peekable();

        let mut builder = BaseBuilder::with_capacity(self.entries.len() + changes.len());
        // Old route index -> new one, filled on first use: the base's route
        // table is already deduplicated, so only overlay routes need hashing.
        let mut remap = vec![TOMBSTONE; self.routes.len()];
        let push_change = |builder: &mut BaseBuilder, key: Key, slot: &Slot| {
            let route = match &slot.route {
                Some(route) => builder.intern_rendered(route),
                None => TOMBSTONE,
            };
            builder.push_key(key, route, slot.version, slot.seq);
        };

        let mut stream = self.index.stream();
        while let Some((digits, ordinal)) = stream.next() {
            // Keys and ordinals were written by the builder; skip rather than
            // panic should either ever be unreadable.
            let (Some(key), Some(entry)) =
                (Key::from_digits(digits), usize::try_from(ordinal).ok().and_then(|o| self.entries.get(o)))
            else {
                tracing::error!(ordinal, "skipping an unreadable base entry while folding");
                continue;
            };
            while let Some((k, slot)) = changes.next_if(|(k, _)| *k < key) {
                push_change(&mut builder, k, slot);
            }
            if let Some((k, slot)) = changes.next_if(|(k, _)| *k == key) {
                push_change(&mut builder, k, slot);
                continue;
            }
            let route = if entry.route == TOMBSTONE {
                TOMBSTONE
            } else {
                let Some(old) = self.routes.get(entry.route as usize) else {
                    tracing::error!(ordinal, "skipping a base entry with an unknown route while folding");
                    continue;
                };
                let slot = &mut remap[entry.route as usize];
                if *slot == TOMBSTONE {
                    *slot = builder.intern_rendered(old);
                }
                *slot
            };
            builder.push_key(key, route, entry.version, entry.seq);
        }
        for (k, slot) in changes {
            push_change(&mut builder, k, slot);
        }
        builder.finish()
    }
}
