//! Kafka as the event source: the topic the control plane's outbox relay
//! publishes to (`didroute.routes.v1`, key = number, value = the change
//! event's JSON).
//!
//! The node reads every partition from the beginning, with no consumer group
//! offsets (every node needs every number): librdkafka's consumer runs on a
//! thread of its own that decodes records and hands them over in batches.
//!
//! Positions. Events carry the outbox position `seq`; the topic holds them in
//! `seq` order per partition, with repeats (the relay delivers at least
//! once) and, in a compacted topic, holes. The [`Tailer`](super::Tailer)
//! speaks positions, so this source translates:
//!
//! - Catch-up (R8). At start the source reads each partition's high
//!   watermark and the `seq` of its last record; the largest is the target
//!   it reports as the head. It then reads every partition up to the
//!   watermark seen at start. Until all are read the positions it reports
//!   are a progress measure strictly below the target (a fraction of the
//!   offsets read), so the tailer keeps going; when all are read it reports
//!   the highest `seq` seen, which the built snapshot then carries. The
//!   tailer publishes nothing before that, so no partial snapshot is served.
//! - Tailing. The reported position is the highest `seq` below which every
//!   position has been seen (read-your-writes with `min_seq` stays sound).
//!   An event beyond a hole is held back until the hole fills (an event of
//!   another partition still in flight, a resend after a failed delivery);
//!   a hole still open after `gap_grace` while every partition is read to
//!   its watermark (compacted away) is skipped. Repeats pass through: the
//!   snapshot drops anything not newer than the version it holds (R6).
//! - Bootstrap (L7). Given [`StartAt`] (from a snapshot file's positions,
//!   see [`crate::snapshot_files`]), each partition is read from the offset
//!   recorded there instead of its beginning, and positions start at the
//!   file's `seq`. With `track_positions`, the source keeps a small
//!   [`Ledger`] of the records it has handed over but the node may not have
//!   applied yet, so a snapshot file written at position `seq` can record
//!   offsets from which every later event is read again.
//! - Contact. Every `probe_interval` the consumer thread asks the broker for
//!   the high watermarks. A failed probe, or none for `contact_timeout`,
//!   makes [`fetch`](EventSource::fetch) fail: the node keeps serving its
//!   snapshot and its lag grows (R7). Caught up means every partition is read
//!   to the watermark of a recent probe.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use didroute_shared::ChangeEvent;
use rdkafka::client::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::mpsc;

use super::{EventSource, Page, Resume};

/// The default topic.
pub const DEFAULT_TOPIC: &str = "didroute.routes.v1";

/// Held-back events beyond a hole after which the hole is skipped anyway.
const MAX_HELD: usize = 200_000;
/// Records the consumer thread hands over at once.
const HANDOFF: usize = 2048;

#[derive(Debug, Clone)]
pub struct KafkaSettings {
    /// Bootstrap servers, `host:port[,host:port…]`.
    pub brokers: String,
    pub topic: String,
    /// Extra librdkafka consumer settings; applied last, so they may tune
    /// anything (`fetch.wait.max.ms`, security settings…).
    pub client: Vec<(String, String)>,
    /// Events per page at most (catch-up pages may exceed it near the end).
    pub max_batch: usize,
    /// How long a tailing fetch waits for events before answering with none.
    pub wait: Duration,
    pub probe_interval: Duration,
    /// Timeout of one watermark request.
    pub probe_timeout: Duration,
    /// Without a successful probe or a record for this long, the source
    /// reports the broker unreachable.
    pub contact_timeout: Duration,
    /// How long a hole in the positions may stay open, with every partition
    /// read to its watermark, before it is skipped.
    pub gap_grace: Duration,
    /// Where to start instead of each partition's beginning.
    pub start: Option<StartAt>,
    /// Keep the [`Ledger`] snapshot files need.
    pub track_positions: bool,
}

/// Where a bootstrapped node starts reading: the position its snapshot
/// covers and, per partition, an offset from which every later event is in
/// the topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartAt {
    pub seq: u64,
    pub offsets: HashMap<i32, i64>,
}

/// The records taken off the topic while tailing that the node may not have
/// applied yet, per partition, with the offset after the last record taken:
/// enough to say from where a restart must read to see every event after a
/// given position.
#[derive(Debug, Default)]
pub struct Ledger {
    topic: String,
    /// False while the source catches up again after a restart: records read
    /// then are not tracked, so no resume point can be given.
    valid: bool,
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
    /// Per partition, the first offset whose event may be missing from a
    /// snapshot at `seq`: the first record newer than `seq` or not yet
    /// applied; None while no resume point can be given.
    fn offsets(&self, seq: u64) -> Option<HashMap<i32, i64>> {
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

    fn note(&mut self, partition: i32, offset: i64, seq: u64) {
        let (read, records) = self.parts.entry(partition).or_default();
        *read = (*read).max(offset + 1);
        records.push_back(Taken { offset, seq, applied: false });
    }

    /// At a tailing fetch: every record taken before it was returned and
    /// applied, except those still held back beyond a hole; records applied
    /// and not newer than `applied` are forgotten.
    fn fetched(&mut self, applied: u64, held: &BTreeMap<u64, ChangeEvent>) {
        for (_, records) in self.parts.values_mut() {
            for r in records.iter_mut() {
                r.applied = r.applied || !held.contains_key(&r.seq);
            }
            records.retain(|r| !r.applied || r.seq > applied);
        }
        self.valid = true;
    }

    /// Catch-up ended: everything read so far is in its last page.
    fn restart_at(&mut self, parts: &HashMap<i32, Part>) {
        self.parts = parts.iter().map(|(&id, p)| (id, (p.read, VecDeque::new()))).collect();
    }
}

/// Shares the ledger with the snapshot writer.
#[derive(Debug, Clone)]
pub struct KafkaResume(Arc<Mutex<Ledger>>);

impl Resume for KafkaResume {
    fn positions(&self, seq: u64) -> Option<serde_json::Value> {
        let ledger = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let offsets: BTreeMap<String, i64> =
            ledger.offsets(seq)?.into_iter().map(|(p, o)| (p.to_string(), o)).collect();
        Some(serde_json::json!({ "topic": ledger.topic, "offsets": offsets }))
    }
}

impl StartAt {
    /// Reads the positions a snapshot file recorded (see [`KafkaResume`])
    /// for `topic`; None when they are for another topic or malformed.
    pub fn from_positions(seq: u64, positions: &serde_json::Value, topic: &str) -> Option<StartAt> {
        if positions.get("topic")?.as_str()? != topic {
            return None;
        }
        let mut offsets = HashMap::new();
        for (p, o) in positions.get("offsets")?.as_object()? {
            offsets.insert(p.parse().ok()?, o.as_i64().filter(|o| *o >= 0)?);
        }
        Some(StartAt { seq, offsets })
    }
}

impl KafkaSettings {
    pub fn new(brokers: impl Into<String>, topic: impl Into<String>) -> KafkaSettings {
        KafkaSettings {
            brokers: brokers.into(),
            topic: topic.into(),
            client: Vec::new(),
            max_batch: 10_000,
            wait: Duration::from_millis(1000),
            probe_interval: Duration::from_millis(500),
            probe_timeout: Duration::from_secs(2),
            contact_timeout: Duration::from_secs(5),
            gap_grace: Duration::from_secs(1),
            start: None,
            track_positions: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KafkaFeedError {
    #[error("cannot create the Kafka consumer: {0}")]
    Client(#[source] KafkaError),
    #[error("Kafka topic {topic:?} is not usable at {brokers}: {reason}")]
    Topic { topic: String, brokers: String, reason: String },
    #[error("Kafka is unreachable: {0}")]
    Unreachable(String),
    #[error("the Kafka consumer thread stopped")]
    Stopped,
}

/// One decoded record.
struct Record {
    partition: i32,
    offset: i64,
    event: Result<ChangeEvent, String>,
}

/// What the consumer thread reports, in the order it saw it.
enum Item {
    Records(Vec<Record>),
    /// The partition is read to its end.
    Eof(i32),
    /// High watermarks from a probe.
    Heads(Vec<(i32, i64)>),
    /// A probe or the consumer failed.
    Lost(String),
}

#[derive(Debug, Clone, Copy)]
struct Part {
    low: i64,
    /// High watermark at start: catch-up reads up to here.
    start_high: i64,
    /// Latest known high watermark.
    high: i64,
    /// Next offset to read.
    next: i64,
    /// One past the last record handed over from this partition (never
    /// moved by watermarks: what a resume point may rely on).
    read: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle,
    CatchUp,
    Tail,
}

/// The consumer thread: stops when told or when its receiver is gone.
struct Poller {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Poller {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Joining could block an async thread for a poll interval; the
        // thread ends by itself within one.
        drop(self.thread.take());
    }
}

/// Consumes the routes topic (see the module docs).
pub struct KafkaFeed {
    settings: KafkaSettings,
    phase: Phase,
    rx: Option<mpsc::Receiver<Item>>,
    poller: Option<Poller>,
    parts: HashMap<i32, Part>,
    /// Catch-up: the head reported to the tailer, and the last position
    /// reported below it.
    target: u64,
    reported: u64,
    max_seen: u64,
    /// Tailing: every position up to here has been seen.
    position: u64,
    held: BTreeMap<u64, ChangeEvent>,
    gap_since: Option<Instant>,
    last_contact: Instant,
    lost: Option<String>,
    /// With `track_positions`: the records handed over while tailing.
    ledger: Option<Arc<Mutex<Ledger>>>,
}

impl std::fmt::Debug for KafkaFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaFeed")
            .field("brokers", &self.settings.brokers)
            .field("topic", &self.settings.topic)
            .field("phase", &self.phase)
            .field("position", &self.position)
            .finish_non_exhaustive()
    }
}

impl KafkaFeed {
    pub fn new(settings: KafkaSettings) -> KafkaFeed {
        let ledger = settings
            .track_positions
            .then(|| Arc::new(Mutex::new(Ledger { topic: settings.topic.clone(), ..Ledger::default() })));
        KafkaFeed {
            ledger,
            settings,
            phase: Phase::Idle,
            rx: None,
            poller: None,
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

    pub fn settings(&self) -> &KafkaSettings {
        &self.settings
    }

    /// Connects, finds the partitions, their watermarks and the catch-up
    /// target, and starts the consumer thread reading from the beginning.
    async fn start(&mut self) -> Result<(), KafkaFeedError> {
        self.poller = None;
        self.rx = None;
        let settings = self.settings.clone();
        let (consumer, parts, target) = tokio::task::spawn_blocking(move || connect(&settings))
            .await
            .map_err(|e| KafkaFeedError::Unreachable(format!("connecting panicked: {e}")))??;
        let (tx, rx) = mpsc::channel(64);
        let stop = Arc::new(AtomicBool::new(false));
        let (topic, probe) = (self.settings.topic.clone(), (self.settings.probe_interval, self.settings.probe_timeout));
        let partitions: Vec<i32> = parts.keys().copied().collect();
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("didroute-kafka".to_owned())
            .spawn(move || consume(consumer, topic, partitions, probe, tx, flag))
            .map_err(|e| KafkaFeedError::Unreachable(format!("cannot start the consumer thread: {e}")))?;
        tracing::info!(
            brokers = %self.settings.brokers,
            topic = %self.settings.topic,
            partitions = parts.len(),
            records = parts.values().map(|p| p.start_high - p.low).sum::<i64>(),
            target_seq = target,
            from_seq = self.settings.start.as_ref().map_or(0, |s| s.seq),
            "reading the Kafka topic"
        );
        self.parts = parts;
        self.rx = Some(rx);
        self.poller = Some(Poller { stop, thread: Some(thread) });
        self.phase = Phase::CatchUp;
        if let Some(ledger) = &self.ledger {
            // records read while catching up again are not tracked
            ledger.lock().unwrap_or_else(|e| e.into_inner()).valid = false;
        }
        // a bootstrapped node's snapshot already holds everything up to here
        let from = self.settings.start.as_ref().map_or(0, |s| s.seq);
        self.target = target.max(from);
        self.reported = 0;
        self.max_seen = from;
        self.position = from;
        self.held.clear();
        self.gap_since = None;
        self.last_contact = Instant::now();
        self.lost = None;
        Ok(())
    }

    fn catch_up_done(&self) -> bool {
        self.parts.values().all(|p| p.next >= p.start_high)
    }

    /// A position strictly below the target that grows with the share of
    /// offsets read.
    fn progress(&self) -> u64 {
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

    async fn next_item(&mut self, wait: Duration) -> Result<Option<Item>, KafkaFeedError> {
        let rx = self.rx.as_mut().ok_or(KafkaFeedError::Stopped)?;
        let item = if wait.is_zero() {
            match rx.try_recv() {
                Ok(item) => Some(item),
                Err(mpsc::error::TryRecvError::Empty) => None,
                Err(mpsc::error::TryRecvError::Disconnected) => return Err(KafkaFeedError::Stopped),
            }
        } else {
            match tokio::time::timeout(wait, rx.recv()).await {
                Ok(Some(item)) => Some(item),
                Ok(None) => return Err(KafkaFeedError::Stopped),
                Err(_) => None,
            }
        };
        Ok(item)
    }

    /// Bookkeeping shared by both phases; returns the records.
    fn note(&mut self, item: Item) -> Result<Vec<Record>, String> {
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

    async fn catch_up_page(&mut self) -> Result<Page, KafkaFeedError> {
        let mut events = Vec::new();
        let mut rejected = 0;
        loop {
            if self.catch_up_done() {
                self.phase = Phase::Tail;
                self.position = self.max_seen;
                if let Some(ledger) = &self.ledger {
                    // everything read so far is in this last catch-up page;
                    // valid again once the tailer fetches after applying it
                    ledger.lock().unwrap_or_else(|e| e.into_inner()).restart_at(&self.parts);
                }
                let last = self.max_seen.max(self.target);
                return Ok(Page { events, rejected, last_seq: last, head_seq: last });
            }
            let wait = if events.is_empty() { self.settings.contact_timeout } else { Duration::ZERO };
            let Some(item) = self.next_item(wait).await? else {
                if events.is_empty() {
                    return Err(KafkaFeedError::Unreachable(format!(
                        "no records from {} within {:?} while reading the topic",
                        self.settings.brokers, self.settings.contact_timeout
                    )));
                }
                // Nothing more right now: answer with what there is, if
                // the reported position can move.
                let at = self.progress();
                if at > self.reported {
                    self.reported = at;
                    return Ok(Page { events, rejected, last_seq: at, head_seq: self.target });
                }
                match self.next_item(self.settings.contact_timeout).await? {
                    Some(item) => self.take_catch_up(item, &mut events, &mut rejected)?,
                    None => {
                        return Err(KafkaFeedError::Unreachable(format!(
                            "no records from {} within {:?} while reading the topic",
                            self.settings.brokers, self.settings.contact_timeout
                        )))
                    }
                }
                continue;
            };
            self.take_catch_up(item, &mut events, &mut rejected)?;
            if events.len() >= self.settings.max_batch && !self.catch_up_done() {
                let at = self.progress();
                if at > self.reported {
                    self.reported = at;
                    return Ok(Page { events, rejected, last_seq: at, head_seq: self.target });
                }
            }
        }
    }

    fn take_catch_up(
        &mut self,
        item: Item,
        events: &mut Vec<ChangeEvent>,
        rejected: &mut usize,
    ) -> Result<(), KafkaFeedError> {
        let records = match self.note(item) {
            Ok(records) => records,
            // librdkafka retries by itself; report the trouble only when
            // there is nothing to hand over.
            Err(error) if events.is_empty() => return Err(KafkaFeedError::Unreachable(error)),
            Err(error) => {
                tracing::debug!(%error, "Kafka consumer error while catching up");
                return Ok(());
            }
        };
        for r in records {
            match r.event {
                Ok(event) => {
                    self.max_seen = self.max_seen.max(event.seq);
                    events.push(event);
                }
                Err(error) => {
                    *rejected += 1;
                    tracing::warn!(partition = r.partition, offset = r.offset, %error, "rejecting an invalid change event from Kafka");
                }
            }
        }
        Ok(())
    }

    /// Takes one event in tailing: passes it on in position order, holding
    /// back what lies beyond a hole.
    fn accept(&mut self, event: ChangeEvent, out: &mut Vec<ChangeEvent>) {
        self.max_seen = self.max_seen.max(event.seq);
        if event.seq <= self.position {
            out.push(event);
            return;
        }
        self.held.insert(event.seq, event);
        self.release(out);
    }

    fn release(&mut self, out: &mut Vec<ChangeEvent>) {
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
    fn skip_holes(&mut self, out: &mut Vec<ChangeEvent>) {
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

    fn read_to_watermarks(&self) -> bool {
        self.parts.values().all(|p| p.next >= p.high)
    }

    async fn tail_page(&mut self, wait: bool) -> Result<Page, KafkaFeedError> {
        let deadline = Instant::now() + if wait { self.settings.wait } else { Duration::ZERO };
        let mut events = Vec::new();
        let mut rejected = 0;
        loop {
            let left =
                if events.is_empty() { deadline.saturating_duration_since(Instant::now()) } else { Duration::ZERO };
            let Some(item) = self.next_item(left).await? else { break };
            let probe = matches!(item, Item::Heads(_));
            match self.note(item) {
                Ok(records) => {
                    for r in records {
                        match r.event {
                            Ok(event) => self.accept(event, &mut events),
                            Err(error) => {
                                rejected += 1;
                                tracing::warn!(partition = r.partition, offset = r.offset, %error, "rejecting an invalid change event from Kafka");
                            }
                        }
                    }
                }
                Err(error) if events.is_empty() => return Err(KafkaFeedError::Unreachable(error)),
                Err(_) => break,
            }
            // A probe answers at once, so the tailer learns whether the node
            // is current even when nothing changes.
            if probe || events.len() >= self.settings.max_batch {
                break;
            }
        }
        let silent = self.last_contact.elapsed();
        if events.is_empty() {
            if let Some(error) = &self.lost {
                return Err(KafkaFeedError::Unreachable(error.clone()));
            }
            if silent > self.settings.contact_timeout {
                return Err(KafkaFeedError::Unreachable(format!(
                    "no answer from {} for {:?}",
                    self.settings.brokers, silent
                )));
            }
        }
        let recent = silent <= self.settings.probe_interval * 2 + self.settings.probe_timeout;
        let at_end = recent && self.lost.is_none() && self.read_to_watermarks();
        if !self.held.is_empty() {
            if at_end {
                let since = *self.gap_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= self.settings.gap_grace {
                    self.skip_holes(&mut events);
                }
            }
            if self.held.len() > MAX_HELD {
                self.skip_holes(&mut events);
            }
        }
        let caught_up = at_end && self.held.is_empty();
        let head = if caught_up { self.position } else { self.position + 1 };
        Ok(Page { events, rejected, last_seq: self.position, head_seq: head })
    }
}

impl EventSource for KafkaFeed {
    type Error = KafkaFeedError;

    fn name(&self) -> &'static str {
        "kafka"
    }

    fn resume(&self) -> Option<Arc<dyn Resume>> {
        self.ledger.as_ref().map(|l| Arc::new(KafkaResume(Arc::clone(l))) as Arc<dyn Resume>)
    }

    async fn fetch(&mut self, after: u64, wait: bool) -> Result<Page, KafkaFeedError> {
        // the tailer applied every page it got before asking again
        if let (Some(ledger), Phase::Tail) = (&self.ledger, self.phase) {
            ledger.lock().unwrap_or_else(|e| e.into_inner()).fetched(after, &self.held);
        }
        // A catch-up asked for again after it finished: read from the start.
        let restart = self.phase == Phase::Tail && after == 0 && !wait;
        if self.phase == Phase::Idle || restart || self.rx.is_none() {
            self.start().await?;
        }
        let page = match self.phase {
            Phase::CatchUp => self.catch_up_page().await,
            _ => self.tail_page(wait).await,
        };
        if let Err(KafkaFeedError::Stopped) = page {
            // The consumer thread is gone: start over from the beginning.
            self.phase = Phase::Idle;
            self.rx = None;
            self.poller = None;
        }
        page
    }
}

/// librdkafka's context for the node's consumers: its errors go to the log
/// as warnings, except the end-of-partition events the node asks for
/// (`enable.partition.eof`), which are routine.
#[derive(Debug, Clone, Copy, Default)]
pub struct QuietContext;

impl ClientContext for QuietContext {
    fn error(&self, error: KafkaError, reason: &str) {
        let end_of_partition = matches!(error, KafkaError::PartitionEOF(_))
            || error.rdkafka_error_code() == Some(rdkafka::types::RDKafkaErrorCode::PartitionEOF);
        if !end_of_partition {
            tracing::warn!(%error, reason, "librdkafka");
        }
    }
}

impl ConsumerContext for QuietContext {}

type NodeConsumer = BaseConsumer<QuietContext>;

/// The consumer settings: a group id of its own (never committed, never
/// joined: partitions are assigned, not subscribed), from the beginning,
/// partition-end events on, short fetch waits for latency.
pub fn consumer_config(settings: &KafkaSettings) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &settings.brokers)
        .set("group.id", format!("didroute-lookup-{}", uuid::Uuid::new_v4().simple()))
        .set("client.id", "didroute-lookup")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "true")
        .set("fetch.wait.max.ms", "10")
        .set("fetch.error.backoff.ms", "50")
        .set("reconnect.backoff.ms", "50")
        .set("reconnect.backoff.max.ms", "1000")
        .set("topic.metadata.refresh.interval.ms", "10000");
    for (k, v) in &settings.client {
        config.set(k, v);
    }
    config
}

type Connected = (NodeConsumer, HashMap<i32, Part>, u64);

/// Blocking: metadata, watermarks, the target, and the assignment.
fn connect(settings: &KafkaSettings) -> Result<Connected, KafkaFeedError> {
    let topic_error = |reason: String| KafkaFeedError::Topic {
        topic: settings.topic.clone(),
        brokers: settings.brokers.clone(),
        reason,
    };
    let consumer: NodeConsumer =
        consumer_config(settings).create_with_context(QuietContext).map_err(KafkaFeedError::Client)?;
    let timeout = settings.contact_timeout;
    let metadata = consumer
        .fetch_metadata(Some(settings.topic.as_str()), timeout)
        .map_err(|e| KafkaFeedError::Unreachable(format!("metadata from {}: {e}", settings.brokers)))?;
    let topic = metadata
        .topics()
        .iter()
        .find(|t| t.name() == settings.topic)
        .ok_or_else(|| topic_error("the broker does not list it".to_owned()))?;
    if let Some(error) = topic.error() {
        return Err(topic_error(format!("{error:?} (create it first; see README)")));
    }
    if topic.partitions().is_empty() {
        return Err(topic_error("it has no partitions".to_owned()));
    }
    let mut parts = HashMap::new();
    for p in topic.partitions() {
        let (low, high) = consumer
            .fetch_watermarks(&settings.topic, p.id(), timeout)
            .map_err(|e| KafkaFeedError::Unreachable(format!("watermarks of partition {}: {e}", p.id())))?;
        // a bootstrapped node reads from the offsets its snapshot recorded
        // (never below what the broker still holds, nor past its end)
        let from = match settings.start.as_ref().and_then(|s| s.offsets.get(&p.id())) {
            Some(&at) if at < low => {
                tracing::warn!(
                    partition = p.id(),
                    at,
                    low,
                    "the snapshot's offset is no longer in the topic; reading from the oldest record"
                );
                low
            }
            Some(&at) if at > high => {
                // positions of another incarnation of the topic
                tracing::warn!(
                    partition = p.id(),
                    at,
                    high,
                    "the snapshot's offset is past the end of the topic; reading from the oldest record"
                );
                low
            }
            Some(&at) => at,
            None => low,
        };
        parts.insert(p.id(), Part { low: from, start_high: high, high, next: from, read: from });
    }
    let target = last_positions(settings, &parts)?;
    let mut assignment = TopicPartitionList::new();
    for (&partition, part) in &parts {
        assignment
            .add_partition_offset(&settings.topic, partition, Offset::Offset(part.low))
            .map_err(KafkaFeedError::Client)?;
    }
    consumer.assign(&assignment).map_err(KafkaFeedError::Client)?;
    Ok((consumer, parts, target))
}

/// The largest `seq` among the partitions' last records (0 for an empty
/// topic, at least 1 otherwise): what catch-up reads up to.
fn last_positions(settings: &KafkaSettings, parts: &HashMap<i32, Part>) -> Result<u64, KafkaFeedError> {
    let filled: Vec<(i32, i64)> =
        parts.iter().filter(|(_, p)| p.start_high > p.low).map(|(&id, p)| (id, p.start_high - 1)).collect();
    if filled.is_empty() {
        return Ok(0);
    }
    let probe: NodeConsumer =
        consumer_config(settings).create_with_context(QuietContext).map_err(KafkaFeedError::Client)?;
    let mut assignment = TopicPartitionList::new();
    for &(partition, offset) in &filled {
        assignment
            .add_partition_offset(&settings.topic, partition, Offset::Offset(offset))
            .map_err(KafkaFeedError::Client)?;
    }
    probe.assign(&assignment).map_err(KafkaFeedError::Client)?;
    let mut best = 0u64;
    let mut missing: Vec<i32> = filled.iter().map(|&(p, _)| p).collect();
    let deadline = Instant::now() + settings.contact_timeout;
    while !missing.is_empty() && Instant::now() < deadline {
        match probe.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                if let Some(seq) = m.payload().and_then(|b| ChangeEvent::decode(b).ok()).map(|e| e.seq) {
                    best = best.max(seq);
                }
                missing.retain(|&p| p != m.partition());
            }
            Some(Err(KafkaError::PartitionEOF(p))) => missing.retain(|&q| q != p),
            Some(Err(e)) => tracing::debug!(error = %e, "while reading the last records"),
            None => {}
        }
    }
    if !missing.is_empty() {
        return Err(KafkaFeedError::Unreachable(format!(
            "could not read the last record of partitions {missing:?} of {} within {:?}",
            settings.topic, settings.contact_timeout
        )));
    }
    Ok(best.max(1))
}

/// The consumer thread: polls, decodes, hands records over in batches, and
/// probes the watermarks every `probe.0`.
fn consume(
    consumer: NodeConsumer,
    topic: String,
    partitions: Vec<i32>,
    (probe_every, probe_timeout): (Duration, Duration),
    tx: mpsc::Sender<Item>,
    stop: Arc<AtomicBool>,
) {
    let mut last_probe = Instant::now();
    let send = |item: Item| tx.blocking_send(item).is_ok();
    while !stop.load(Ordering::Relaxed) {
        let mut batch = Vec::new();
        let mut after = None;
        let mut polled = consumer.poll(Duration::from_millis(50));
        while let Some(result) = polled {
            match result {
                Ok(m) => {
                    let event = match m.payload() {
                        Some(bytes) => ChangeEvent::decode(bytes).map_err(|e| e.to_string()),
                        None => Err("record without a value".to_owned()),
                    };
                    batch.push(Record { partition: m.partition(), offset: m.offset(), event });
                }
                Err(KafkaError::PartitionEOF(p)) => {
                    after = Some(Item::Eof(p));
                    break;
                }
                Err(e) => {
                    after = Some(Item::Lost(e.to_string()));
                    break;
                }
            }
            if batch.len() >= HANDOFF {
                break;
            }
            polled = consumer.poll(Duration::ZERO);
        }
        if !batch.is_empty() && !send(Item::Records(batch)) {
            return;
        }
        if let Some(item) = after {
            if !send(item) {
                return;
            }
        }
        if last_probe.elapsed() >= probe_every {
            let mut heads = Vec::with_capacity(partitions.len());
            let mut failure = None;
            for &p in &partitions {
                match consumer.fetch_watermarks(&topic, p, probe_timeout) {
                    Ok((_, high)) => heads.push((p, high)),
                    Err(e) => {
                        failure = Some(format!("watermarks of partition {p}: {e}"));
                        break;
                    }
                }
            }
            last_probe = Instant::now();
            let item = match failure {
                Some(error) => Item::Lost(error),
                None => Item::Heads(heads),
            };
            if !send(item) {
                return;
            }
        }
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
        }
    }

    fn tailing_feed() -> KafkaFeed {
        let mut settings = KafkaSettings::new("127.0.0.1:1", "t");
        settings.track_positions = true;
        let mut feed = KafkaFeed::new(settings);
        feed.parts.insert(0, Part { low: 0, start_high: 5, high: 5, next: 5, read: 5 });
        feed.phase = Phase::Tail;
        feed.ledger.as_ref().unwrap().lock().unwrap().restart_at(&feed.parts);
        feed
    }

    fn offsets(feed: &KafkaFeed, seq: u64) -> Option<i64> {
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
    fn positions_round_trip_and_refuse_another_topic() {
        let positions = serde_json::json!({"topic": "t", "offsets": {"0": 7, "3": 0}});
        let at = StartAt::from_positions(9, &positions, "t").unwrap();
        assert_eq!((at.seq, at.offsets[&0], at.offsets[&3]), (9, 7, 0));
        assert_eq!(StartAt::from_positions(9, &positions, "other"), None);
        assert_eq!(StartAt::from_positions(9, &serde_json::json!({"topic": "t", "offsets": {"0": -1}}), "t"), None);
    }

    #[test]
    fn events_pass_in_position_order_and_repeats_pass_through() {
        let mut feed = KafkaFeed::new(KafkaSettings::new("127.0.0.1:1", "t"));
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
        let mut feed = KafkaFeed::new(KafkaSettings::new("127.0.0.1:1", "t"));
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
