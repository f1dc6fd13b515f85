//! The [`Ledger`]: which records taken off the topic a snapshot file at a
//! position may lack, so the file can say where a restart must read from.

// Without the `kafka` feature nothing reads the topic: only the tests use it.
#![cfg_attr(not(feature = "kafka"), allow(dead_code))]

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use didroute_shared::ChangeEvent;

use super::positions::Part;
use crate::feed::Resume;

/// The records taken off the topic while tailing that the node may not have
/// applied yet, per partition, with the offset after the last record taken:
/// enough to say from where a restart must read to see every event after a
/// given position.
#[derive(Debug, Default)]
pub struct Ledger {
    pub(super) topic: String,
    /// False while the source catches up again after a restart: records read
    /// then are not tracked, so no resume point can be given.
    pub(super) valid: bool,
    parts: HashMap<i32, (i64, VecDeque<Taken>)>,
}

#[derive(Debug, Clone, Copy)]
struct Taken {
    offset: i64,
    seq: u64,
    /// Returned in a page the tailer has since applied (it applies each page
    /// before it fetches again).
    applied: bool,
}

impl Ledger {
    pub(super) fn new(topic: &str) -> Ledger {
        Ledger { topic: topic.to_owned(), ..Ledger::default() }
    }

    /// Per partition, the first offset whose event may be missing from a
    /// snapshot at `seq`: the first record newer than `seq` or not yet
    /// applied; None while no resume point can be given.
    pub(super) fn offsets(&self, seq: u64) -> Option<HashMap<i32, i64>> {
        if !self.valid {
            return None;
        }
        Some(
            self.parts
                .iter()
                .map(|(&p, (read, records))| {
                    (p, records.iter().find(|r| r.seq > seq || !r.applied).map_or(*read, |r| r.offset))
                })
                .collect(),
        )
    }

    pub(super) fn note(&mut self, partition: i32, offset: i64, seq: u64) {
        let (read, records) = self.parts.entry(partition).or_default();
        *read = (*read).max(offset + 1);
        records.push_back(Taken { offset, seq, applied: false });
    }

    /// At a tailing fetch: every record taken before it was returned and
    /// applied, except those still held back beyond a hole; records applied
    /// and not newer than `applied` are forgotten.
    pub(super) fn fetched(&mut self, applied: u64, held: &BTreeMap<u64, ChangeEvent>) {
        for (_, records) in self.parts.values_mut() {
            for r in records.iter_mut() {
                r.applied = r.applied || !held.contains_key(&r.seq);
            }
            records.retain(|r| !r.applied || r.seq > applied);
        }
        self.valid = true;
    }

    /// Catch-up ended: everything read so far is in its last page.
    pub(super) fn restart_at(&mut self, parts: &HashMap<i32, Part>) {
        self.parts = parts.iter().map(|(&id, p)| (id, (p.read, VecDeque::new()))).collect();
    }
}

/// Shares the ledger with the snapshot writer.
#[derive(Debug, Clone)]
pub struct KafkaResume(pub(super) Arc<Mutex<Ledger>>);

impl Resume for KafkaResume {
    fn positions(&self, seq: u64) -> Option<serde_json::Value> {
        let ledger = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let offsets: BTreeMap<String, i64> =
            ledger.offsets(seq)?.into_iter().map(|(p, o)| (p.to_string(), o)).collect();
        Some(serde_json::json!({ "topic": ledger.topic, "offsets": offsets }))
    }
}
