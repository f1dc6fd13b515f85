//! Applying change events to a snapshot, under the version rule: an event
//! changes a number only if its version is newer than the one held, so
//! duplicates, replays and reordered retries are harmless.

use std::collections::HashMap;
use std::sync::Arc;

use didroute_shared::{ChangeEvent, Op, Route};

use super::overlay::Slot;
use super::ranges::range_entry;
use super::render::RenderedRoute;
use super::Snapshot;

/// What applying a batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApplyOutcome {
    /// Events that changed a number.
    pub applied: usize,
    /// Events not newer than what was held (duplicates, replays).
    pub stale: usize,
    /// Events that failed validation and were skipped.
    pub rejected: usize,
}

impl Snapshot {
    /// A new snapshot with `events` applied and the position moved to
    /// `through` (the feed's `last_seq` for the page; never moves back).
    /// `self` is untouched: readers holding it keep their view.
    pub fn with_events(&self, events: &[ChangeEvent], through: u64) -> (Snapshot, ApplyOutcome) {
        let mut outcome = ApplyOutcome::default();
        let mut overlay = None;
        let mut numbers = self.numbers;
        let mut seq = self.seq.max(through);
        // Routes rendered in this batch: a remap of many numbers to one new
        // route renders it once.
        let mut rendered: HashMap<&Route, Arc<RenderedRoute>> = HashMap::new();

        for event in events {
            if let Err(error) = event.validate() {
                tracing::warn!(seq = event.seq, number = %event.number, %error, "skipping an invalid change event");
                outcome.rejected += 1;
                continue;
            }
            seq = seq.max(event.seq);
            // Look in the copy when there is one; copy only to write.
            let current = overlay.as_ref().unwrap_or(&*self.overlay);
            if let Some(range) = event.range.filter(|_| event.op.is_range()) {
                let held = current.range(range.id).map(|e| e.version).or_else(|| self.base.ranges.version_of(range.id));
                if held.is_some_and(|v| event.version <= v) {
                    outcome.stale += 1;
                    continue;
                }
                let Some(entry) = range_entry(event.clone()) else { continue };
                overlay.get_or_insert_with(|| (*self.overlay).clone()).insert_range(entry);
                outcome.applied += 1;
                continue;
            }
            let held = match current.get(event.number) {
                Some(slot) => Some((slot.version, slot.route.clone())),
                None => self.base.held(event.number).map(|h| (h.version, h.route.cloned())),
            };
            let (held_version, held_route) = match held {
                Some((version, route)) => (Some(version), route),
                None => (None, None),
            };
            if held_version.is_some_and(|v| event.version <= v) {
                outcome.stale += 1;
                continue;
            }
            let route = match (event.op, &event.route) {
                (Op::Upsert, Some(route)) => Some(match &held_route {
                    Some(current) if current.route() == route => Arc::clone(current),
                    _ => {
                        Arc::clone(rendered.entry(route).or_insert_with(|| Arc::new(RenderedRoute::new(route.clone()))))
                    }
                }),
                // validate() rules out an upsert without a route.
                _ => None,
            };
            match (held_route.is_some(), route.is_some()) {
                (false, true) => numbers += 1,
                (true, false) => numbers -= 1,
                _ => {}
            }
            // validate() rules out a block with a route
            let blocked = event.op == Op::Block;
            let overlay = overlay.get_or_insert_with(|| (*self.overlay).clone());
            overlay.insert(event.number, Slot { route, blocked, version: event.version, seq: event.seq });
            outcome.applied += 1;
        }

        let overlay = match overlay {
            Some(o) => Arc::new(o),
            None => Arc::clone(&self.overlay),
        };
        (Snapshot { base: Arc::clone(&self.base), overlay, seq, numbers }, outcome)
    }
}
