//! Positions: what the source reports to the tailer while it catches up
//! and while it tails (see the module docs of [`super`]), from the records
//! and watermarks the consumer thread hands over. No Kafka client here.

// Without the `kafka` feature nothing reads the topic: only the tests use it.
#![cfg_attr(not(feature = "kafka"), allow(dead_code))]

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use didroute_shared::ChangeEvent;

use super::ledger::Ledger;

/// Held-back events beyond a hole after which the hole is skipped anyway.
pub(super) const MAX_HELD: usize = 200_000;

/// One decoded record.
pub(super) struct Record {
    pub(super) partition: i32,
    pub(super) offset: i64,
    pub(super) event: Result<ChangeEvent, String>,
}

/// What the consumer thread reports, in the order it saw it.
pub(super) enum Item {
    Records(Vec<Record>),
    /// The partition is read to its end.
    Eof(i32),
    /// High watermarks from a probe.
    Heads(Vec<(i32, i64)>),
    /// A probe or the consumer failed.
    Lost(String),
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Part {
    pub(super) low: i64,
    /// High watermark at start: catch-up reads up to here.
    pub(super) start_high: i64,
    /// Latest known high watermark.
    pub(super) high: i64,
    /// Next offset to read.
    pub(super) next: i64,
    /// One past the last record handed over from this partition (never
    /// moved by watermarks: what a resume point may rely on).
    pub(super) read: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    Idle,
    CatchUp,
    Tail,
}

/// The source's bookkeeping between the consumer thread's items and the
/// pages it answers with.
#[derive(Debug)]
pub(super) struct Positions {
    pub(super) phase: Phase,
    pub(super) parts: HashMap<i32, Part>,
    /// Catch-up: the head reported to the tailer, and the last position
    /// reported below it.
    pub(super) target: u64,
    pub(super) reported: u64,
    pub(super) max_seen: u64,
    /// Tailing: every position up to here has been seen.
    pub(super) position: u64,
    pub(super) held: BTreeMap<u64, ChangeEvent>,
    pub(super) gap_since: Option<Instant>,
    pub(super) last_contact: Instant,
    pub(super) lost: Option<String>,
    /// With `track_positions`: the records handed over while tailing.
    pub(super) ledger: Option<Arc<Mutex<Ledger>>>,
}

impl Positions {
    /// `track_positions`: keep the [`Ledger`] snapshot files need.
    pub(super) fn new(topic: &str, track_positions: bool) -> Positions {
        let ledger = track_positions.then(|| Arc::new(Mutex::new(Ledger::new(topic))));
        Positions {
            ledger,
            phase: Phase::Idle,
            parts: HashMap::new(),
            target: 0,
            reported: 0,
            max_seen: 0,
            position: 0,
            held: BTreeMap::new(),
            gap_since: None,
            last_contact: Instant::now(),
            lost: None,
        }
    }

    /// A fresh catch-up over `parts` up to `target`, from `from` (the
    /// position a bootstrapped node's snapshot already holds).
    pub(super) fn restart(&mut self, parts: HashMap<i32, Part>, target: u64, from: u64) {
        self.parts = parts;
        self.phase = Phase::CatchUp;
        if let Some(ledger) = &self.ledger {
            // records read while catching up again are not tracked
            ledger.lock().unwrap_or_else(|e| e.into_inner()).valid = false;
        }
        self.target = target.max(from);
        self.reported = 0;
        self.max_seen = from;
        self.position = from;
        self.held.clear();
        self.gap_since = None;
        self.last_contact = Instant::now();
        self.lost = None;
    }

    pub(super) fn catch_up_done(&self) -> bool {
        self.parts.values().all(|p| p.next >= p.start_high)
    }

    /// A position strictly below the target that grows with the share of
    /// offsets read.
    pub(super) fn progress(&self) -> u64 {
        let (mut read, mut total) = (0i64, 0i64);
        for p in self.parts.values() {
            total += p.start_high - p.low;
            read += p.next.min(p.start_high).max(p.low) - p.low;
        }
        if total <= 0 || self.target == 0 {
            return 0;
        }
        let share = read as f64 / total as f64;
        (((self.target - 1) as f64) * share).floor().min((self.target - 1) as f64) as u64
    }

    /// Bookkeeping shared by both phases; returns the records.
    pub(super) fn note(&mut self, item: Item) -> Result<Vec<Record>, String> {
        match item {
            Item::Records(records) => {
                self.last_contact = Instant::now();
                self.lost = None;
                for r in &records {
                    if let Some(p) = self.parts.get_mut(&r.partition) {
                        p.next = p.next.max(r.offset + 1);
                        p.read = p.read.max(r.offset + 1);
                        p.high = p.high.max(p.next);
                    }
                }
                // catch-up hands everything it reads to the first snapshot,
                // so only tailing needs the ledger
                if let (Some(ledger), Phase::Tail) = (&self.ledger, self.phase) {
                    let mut ledger = ledger.lock().unwrap_or_else(|e| e.into_inner());
                    for r in &records {
                        ledger.note(r.partition, r.offset, r.event.as_ref().map_or(0, |e| e.seq));
                    }
                }
                Ok(records)
            }
            Item::Eof(partition) => {
                // the watermark may be newer than this event: never a
                // resume point (see Part::read)
                if let Some(p) = self.parts.get_mut(&partition) {
                    p.next = p.next.max(p.high);
                }
                Ok(Vec::new())
            }
            Item::Heads(heads) => {
                self.last_contact = Instant::now();
                self.lost = None;
                for (partition, high) in heads {
                    if let Some(p) = self.parts.get_mut(&partition) {
                        p.high = p.high.max(high);
                    }
                }
                Ok(Vec::new())
            }
            Item::Lost(error) => {
                self.lost = Some(error.clone());
                Err(error)
            }
        }
    }

    /// Takes one event in tailing: passes it on in position order, holding
    /// back what lies beyond a hole.
    pub(super) fn accept(&mut self, event: ChangeEvent, out: &mut Vec<ChangeEvent>) {
        self.max_seen = self.max_seen.max(event.seq);
        if event.seq <= self.position {
            out.push(event);
            return;
        }
        self.held.insert(event.seq, event);
        self.release(out);
    }

    pub(super) fn release(&mut self, out: &mut Vec<ChangeEvent>) {
        while let Some(entry) = self.held.first_entry() {
            if *entry.key() > self.position + 1 {
                break;
            }
            let event = entry.remove();
            self.position = self.position.max(event.seq);
            out.push(event);
        }
        if self.held.is_empty() {
            self.gap_since = None;
        }
    }

    /// Gives up on the holes: passes every held event on.
    pub(super) fn skip_holes(&mut self, out: &mut Vec<ChangeEvent>) {
        if let Some((&first, _)) = self.held.first_key_value() {
            tracing::info!(
                after = self.position,
                next = first,
                held = self.held.len(),
                "skipping positions missing from the topic (compacted away)"
            );
        }
        for (_, event) in std::mem::take(&mut self.held) {
            self.position = self.position.max(event.seq);
            out.push(event);
        }
        self.gap_since = None;
    }

    pub(super) fn read_to_watermarks(&self) -> bool {
        self.parts.values().all(|p| p.next >= p.high)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use didroute_shared::{Op, E164};

    fn event(seq: u64) -> ChangeEvent {
        ChangeEvent {
            seq,
            number: E164::parse("+15551234567").unwrap(),
            version: seq,
            op: Op::Delete,
            route: None,
            at: time::OffsetDateTime::UNIX_EPOCH,
            lineage: None,
            range: None,
        }
    }

    fn tailing_feed() -> Positions {
        let mut feed = Positions::new("t", true);
        feed.parts.insert(0, Part { low: 0, start_high: 5, high: 5, next: 5, read: 5 });
        feed.phase = Phase::Tail;
        feed.ledger.as_ref().unwrap().lock().unwrap().restart_at(&feed.parts);
        feed
    }

    fn offsets(feed: &Positions, seq: u64) -> Option<i64> {
        feed.ledger.as_ref().unwrap().lock().unwrap().offsets(seq).map(|o| o[&0])
    }

    fn records(rs: &[(i64, u64)]) -> Item {
        Item::Records(rs.iter().map(|&(offset, seq)| Record { partition: 0, offset, event: Ok(event(seq)) }).collect())
    }

    #[test]
    fn no_resume_point_until_the_tailer_fetched_after_catch_up() {
        let feed = tailing_feed();
        assert_eq!(offsets(&feed, 100), None, "the last catch-up page may not be applied yet");
        feed.ledger.as_ref().unwrap().lock().unwrap().fetched(100, &feed.held);
        assert_eq!(offsets(&feed, 100), Some(5));
    }

    #[test]
    fn a_watermark_never_becomes_a_resume_point() {
        let mut feed = tailing_feed();
        feed.ledger.as_ref().unwrap().lock().unwrap().fetched(100, &feed.held);
        // a probe saw offsets 5 and 6 published; an older end-of-partition
        // event arrives after it, before the records themselves
        feed.note(Item::Heads(vec![(0, 7)])).unwrap();
        feed.note(Item::Eof(0)).unwrap();
        assert_eq!(offsets(&feed, 100), Some(5), "offsets 5 and 6 were never handed over");
        feed.note(records(&[(5, 101), (6, 102)])).unwrap();
        assert_eq!(offsets(&feed, 102), Some(5), "taken but not applied");
        feed.ledger.as_ref().unwrap().lock().unwrap().fetched(102, &feed.held);
        assert_eq!(offsets(&feed, 102), Some(7));
        assert_eq!(offsets(&feed, 101), Some(7), "applied records are in any snapshot written after");
    }

    #[test]
    fn a_late_record_taken_but_not_applied_pins_the_resume_point() {
        let mut feed = tailing_feed();
        feed.ledger.as_ref().unwrap().lock().unwrap().fetched(101, &feed.held);
        // seq 100 arrives late (below the applied position 101): it is in a
        // page the tailer has not applied when the writer asks
        feed.note(records(&[(5, 100)])).unwrap();
        assert_eq!(offsets(&feed, 101), Some(5));
        feed.ledger.as_ref().unwrap().lock().unwrap().fetched(101, &feed.held);
        assert_eq!(offsets(&feed, 101), Some(6));
    }

    #[test]
    fn a_held_record_pins_the_resume_point_until_released() {
        let mut feed = tailing_feed();
        feed.position = 100;
        feed.ledger.as_ref().unwrap().lock().unwrap().fetched(100, &feed.held);
        feed.note(records(&[(5, 102)])).unwrap();
        let mut out = Vec::new();
        feed.accept(event(102), &mut out);
        assert!(out.is_empty(), "held beyond the hole at 101");
        feed.ledger.as_ref().unwrap().lock().unwrap().fetched(100, &feed.held);
        assert_eq!(offsets(&feed, 200), Some(5), "held, so not applied whatever the position");
        feed.note(records(&[(6, 101)])).unwrap();
        feed.accept(event(101), &mut out);
        assert_eq!(out.iter().map(|e| e.seq).collect::<Vec<_>>(), [101, 102]);
        feed.ledger.as_ref().unwrap().lock().unwrap().fetched(102, &feed.held);
        assert_eq!(offsets(&feed, 102), Some(7));
    }

    #[test]
    fn events_pass_in_position_order_and_repeats_pass_through() {
        let mut feed = Positions::new("t", false);
        let mut out = Vec::new();
        feed.accept(event(1), &mut out);
        feed.accept(event(3), &mut out);
        assert_eq!(out.iter().map(|e| e.seq).collect::<Vec<_>>(), [1]);
        assert_eq!(feed.position, 1);
        feed.accept(event(1), &mut out);
        feed.accept(event(2), &mut out);
        assert_eq!(out.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 1, 2, 3]);
        assert_eq!(feed.position, 3);
        feed.accept(event(5), &mut out);
        assert_eq!(feed.position, 3);
        let mut rest = Vec::new();
        feed.skip_holes(&mut rest);
        assert_eq!((rest.len(), feed.position), (1, 5));
    }

    #[test]
    fn catch_up_progress_stays_below_the_target() {
        let mut feed = Positions::new("t", false);
        feed.target = 1000;
        feed.parts.insert(0, Part { low: 10, start_high: 510, high: 510, next: 10, read: 10 });
        feed.parts.insert(1, Part { low: 0, start_high: 500, high: 500, next: 0, read: 0 });
        assert_eq!(feed.progress(), 0);
        feed.parts.get_mut(&0).unwrap().next = 510;
        assert_eq!(feed.progress(), 499);
        feed.parts.get_mut(&1).unwrap().next = 499;
        assert!(feed.progress() < 1000 && !feed.catch_up_done());
        feed.parts.get_mut(&1).unwrap().next = 500;
        assert!(feed.catch_up_done());
    }
}
