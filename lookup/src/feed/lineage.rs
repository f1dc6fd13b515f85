//! Divergence between a node and the database it follows. A database
//! restored to an earlier point reuses positions for new changes; a node
//! that applied the lost ones would skip the new ones as already seen and
//! route from stale data for ever. Three signs, checked on every page before
//! it is applied:
//!
//! - an event (or the HTTP feed's head) of another lineage than the one the
//!   node holds: the database was restored and its lineage rotated
//!   (`didroute-control-plane lineage rotate`), or the topic holds another
//!   database's events;
//! - an event at a position the node already applied, with other content:
//!   a restore without a rotation, seen on Kafka (the last
//!   [`RECENT`] positions are remembered);
//! - the HTTP feed's head behind the node's position: the same, on the feed.

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use didroute_shared::ChangeEvent;
use uuid::Uuid;

use super::Page;

/// How many applied positions are remembered to compare a repeat with.
pub const RECENT: usize = 4096;

/// What a node does when its source diverges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnDivergence {
    /// Stop applying, answer `/readyz` 503 with the reason, keep serving the
    /// last good snapshot until an operator acts (restart without the
    /// snapshot file, or with `rebuild`).
    #[default]
    Stop,
    /// The same, then rebuild from the source under its lineage and swap the
    /// new snapshot in when complete.
    Rebuild,
}

/// The history a node holds, and the digests of its latest events.
#[derive(Debug, Default)]
pub struct Lineage {
    held: Option<Uuid>,
    /// Chosen by a rebuild, not adopted: events of other lineages are then
    /// dropped (another database's records in the topic), not divergence.
    pinned: bool,
    recent: BTreeMap<u64, u64>,
}

/// Why a page cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Divergence {
    pub reason: String,
    /// The lineage the source carries, to rebuild under.
    pub lineage: Option<Uuid>,
}

impl Lineage {
    /// A node that starts from a snapshot file holds the file's lineage.
    pub fn new(held: Option<Uuid>) -> Lineage {
        Lineage { held, pinned: false, recent: BTreeMap::new() }
    }

    pub fn held(&self) -> Option<Uuid> {
        self.held
    }

    pub fn pinned(&self) -> bool {
        self.pinned
    }

    /// Whether `page` continues the history this node holds; `applied` is
    /// the node's position. The first lineage seen is adopted.
    pub fn check(&mut self, page: &Page, applied: u64) -> Result<(), Divergence> {
        let carried = page.events.iter().filter_map(|e| e.lineage).chain(page.lineage);
        for lineage in carried {
            match self.held {
                None => self.held = Some(lineage),
                Some(held) if held != lineage => {
                    return Err(Divergence {
                        reason: format!(
                            "the source carries lineage {lineage} but this node holds lineage {held}: the database \
                             was restored or replaced"
                        ),
                        lineage: Some(lineage),
                    })
                }
                Some(_) => {}
            }
        }
        if page.lineage.is_some() && page.head_seq < applied {
            return Err(Divergence {
                reason: format!(
                    "the source's head position {} is behind this node's {applied}: the database went back in time \
                     without a lineage rotation",
                    page.head_seq
                ),
                lineage: page.lineage,
            });
        }
        for event in page.events.iter().filter(|e| e.seq <= applied) {
            if self.recent.get(&event.seq).is_some_and(|&seen| seen != digest(event)) {
                return Err(Divergence {
                    reason: format!(
                        "position {} came again with other content than this node applied: the database went back \
                         in time without a lineage rotation",
                        event.seq
                    ),
                    lineage: self.held,
                });
            }
        }
        Ok(())
    }

    /// Remembers the events of a page that was applied. Only the latest
    /// [`RECENT`] positions are kept, so only those of a page are digested:
    /// a catch-up of millions of events digests a few thousand.
    pub fn applied(&mut self, events: &[ChangeEvent]) {
        for event in &events[events.len().saturating_sub(RECENT)..] {
            self.recent.insert(event.seq, digest(event));
        }
        while self.recent.len() > RECENT {
            self.recent.pop_first();
        }
    }

    /// Starts over under `lineage` (a rebuild): nothing applied yet.
    pub fn reset(&mut self, lineage: Option<Uuid>) {
        self.held = lineage;
        self.pinned = lineage.is_some();
        self.recent.clear();
    }

    /// Whether an event belongs to the held lineage (events without one,
    /// from before lineages existed, do).
    pub fn owns(&self, event: &ChangeEvent) -> bool {
        match (self.held, event.lineage) {
            (Some(held), Some(lineage)) => held == lineage,
            _ => true,
        }
    }
}

/// The content that identifies an event at its position: what it changes,
/// not when it was read (`at`) or under which lineage.
fn digest(event: &ChangeEvent) -> u64 {
    let mut h = DefaultHasher::new();
    event.number.hash(&mut h);
    event.version.hash(&mut h);
    event.op.hash(&mut h);
    event.route.hash(&mut h);
    // a range event's range is part of what it changes
    event.range.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use didroute_shared::{Op, E164};
    use time::OffsetDateTime;

    use super::*;

    fn event(seq: u64, version: u64, lineage: Option<Uuid>) -> ChangeEvent {
        ChangeEvent {
            seq,
            number: E164::parse("+15551230000").unwrap(),
            version,
            op: Op::Delete,
            route: None,
            at: OffsetDateTime::UNIX_EPOCH,
            lineage,
            range: None,
        }
    }

    fn page(events: Vec<ChangeEvent>, head: u64, lineage: Option<Uuid>) -> Page {
        let last = events.last().map_or(0, |e| e.seq);
        Page { events, rejected: 0, last_seq: last, head_seq: head.max(last), lineage }
    }

    #[test]
    fn the_first_lineage_is_adopted_and_another_refused() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let mut l = Lineage::default();
        assert!(l.check(&page(vec![event(1, 1, Some(a))], 1, None), 0).is_ok());
        assert_eq!(l.held(), Some(a));
        let e = l.check(&page(vec![event(2, 2, Some(b))], 2, None), 1).unwrap_err();
        assert_eq!(e.lineage, Some(b));
        assert!(e.reason.contains(&b.to_string()) && e.reason.contains(&a.to_string()), "{}", e.reason);
        // an empty page of the HTTP feed says it too
        assert!(l.check(&page(vec![], 2, Some(b)), 1).is_err());
        // events from before lineages existed are nobody's
        assert!(l.check(&page(vec![event(3, 3, None)], 3, None), 2).is_ok());
    }

    #[test]
    fn a_head_behind_the_node_or_a_changed_repeat_is_divergence() {
        let a = Uuid::new_v4();
        let mut l = Lineage::new(Some(a));
        assert!(l.check(&page(vec![], 5, Some(a)), 7).unwrap_err().reason.contains("behind"));
        let first = vec![event(6, 6, Some(a)), event(7, 7, Some(a))];
        assert!(l.check(&page(first.clone(), 7, None), 5).is_ok());
        l.applied(&first);
        // the relay sending the same again is harmless
        assert!(l.check(&page(first, 7, None), 7).is_ok());
        let rewritten = vec![event(7, 9, Some(a))];
        assert!(l.check(&page(rewritten, 7, None), 7).unwrap_err().reason.contains("position 7"));
    }

    #[test]
    fn only_the_latest_positions_are_remembered() {
        let mut l = Lineage::default();
        let events: Vec<ChangeEvent> = (1..=(RECENT as u64 + 10)).map(|s| event(s, s, None)).collect();
        l.applied(&events);
        assert_eq!(l.recent.len(), RECENT);
        assert_eq!(l.recent.first_key_value().map(|(k, _)| *k), Some(11));
    }

    /// A repeat that differs only in the greeting or the attributes is
    /// other content: the digest covers every field of the route.
    #[test]
    fn the_digest_covers_greetings_and_attributes() {
        let route = didroute_shared::Route {
            tenant_id: Uuid::nil(),
            subsystem: didroute_shared::Subsystem::Psap,
            dashboard_id: "d".into(),
            customer_label: "L".into(),
            country: didroute_shared::Country::parse("US").unwrap(),
            friendly_name: None,
            organisation_id: None,
            auto_provisioned: false,
            locale: "en".into(),
            greeting_template: None,
            greeting_text: None,
            attributes: None,
            tracking: None,
        };
        let with = |r: didroute_shared::Route| ChangeEvent { op: Op::Upsert, route: Some(r), ..event(1, 1, None) };
        let base = digest(&with(route.clone()));
        let variants = [
            didroute_shared::Route { locale: "es".into(), ..route.clone() },
            didroute_shared::Route { greeting_template: Some("{label}".into()), ..route.clone() },
            didroute_shared::Route { greeting_text: Some("Hi".into()), ..route.clone() },
            didroute_shared::Route { attributes: serde_json::json!({"v": 1}).as_object().cloned(), ..route.clone() },
        ];
        for v in variants {
            assert_ne!(digest(&with(v.clone())), base, "{v:?}");
        }
        assert_eq!(digest(&with(route)), base);
    }
}
