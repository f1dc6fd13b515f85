//! [`KafkaFeed`]: the pages the tailer fetches, from the records the
//! consumer thread hands over (see the module docs of [`super`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use didroute_shared::ChangeEvent;
use tokio::sync::mpsc;

use super::consumer::{connect, consume, KafkaFeedError};
use super::ledger::KafkaResume;
use super::positions::{Item, Phase, Positions, MAX_HELD};
use super::settings::KafkaSettings;
use crate::feed::{EventSource, Page, Resume};

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
    rx: Option<mpsc::Receiver<Item>>,
    poller: Option<Poller>,
    pos: Positions,
}

impl std::fmt::Debug for KafkaFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaFeed")
            .field("brokers", &self.settings.brokers)
            .field("topic", &self.settings.topic)
            .field("phase", &self.pos.phase)
            .field("position", &self.pos.position)
            .finish_non_exhaustive()
    }
}

impl KafkaFeed {
    pub fn new(settings: KafkaSettings) -> KafkaFeed {
        let pos = Positions::new(&settings.topic, settings.track_positions);
        KafkaFeed { settings, rx: None, poller: None, pos }
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
        self.rx = Some(rx);
        self.poller = Some(Poller { stop, thread: Some(thread) });
        // a bootstrapped node's snapshot already holds everything up to here
        let from = self.settings.start.as_ref().map_or(0, |s| s.seq);
        self.pos.restart(parts, target, from);
        Ok(())
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

    async fn catch_up_page(&mut self) -> Result<Page, KafkaFeedError> {
        let mut events = Vec::new();
        let mut rejected = 0;
        loop {
            if self.pos.catch_up_done() {
                self.pos.phase = Phase::Tail;
                self.pos.position = self.pos.max_seen;
                if let Some(ledger) = &self.pos.ledger {
                    // everything read so far is in this last catch-up page;
                    // valid again once the tailer fetches after applying it
                    ledger.lock().unwrap_or_else(|e| e.into_inner()).restart_at(&self.pos.parts);
                }
                let last = self.pos.max_seen.max(self.pos.target);
                return Ok(Page { events, rejected, last_seq: last, head_seq: last, lineage: None });
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
                let at = self.pos.progress();
                if at > self.pos.reported {
                    self.pos.reported = at;
                    return Ok(Page { events, rejected, last_seq: at, head_seq: self.pos.target, lineage: None });
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
            if events.len() >= self.settings.max_batch && !self.pos.catch_up_done() {
                let at = self.pos.progress();
                if at > self.pos.reported {
                    self.pos.reported = at;
                    return Ok(Page { events, rejected, last_seq: at, head_seq: self.pos.target, lineage: None });
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
        let records = match self.pos.note(item) {
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
                    self.pos.max_seen = self.pos.max_seen.max(event.seq);
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

    async fn tail_page(&mut self, wait: bool) -> Result<Page, KafkaFeedError> {
        let deadline = Instant::now() + if wait { self.settings.wait } else { Duration::ZERO };
        let mut events = Vec::new();
        let mut rejected = 0;
        loop {
            let left =
                if events.is_empty() { deadline.saturating_duration_since(Instant::now()) } else { Duration::ZERO };
            let Some(item) = self.next_item(left).await? else { break };
            let probe = matches!(item, Item::Heads(_));
            match self.pos.note(item) {
                Ok(records) => {
                    for r in records {
                        match r.event {
                            Ok(event) => self.pos.accept(event, &mut events),
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
        let silent = self.pos.last_contact.elapsed();
        if events.is_empty() {
            if let Some(error) = &self.pos.lost {
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
        let at_end = recent && self.pos.lost.is_none() && self.pos.read_to_watermarks();
        if !self.pos.held.is_empty() {
            if at_end {
                let since = *self.pos.gap_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= self.settings.gap_grace {
                    self.pos.skip_holes(&mut events);
                }
            }
            if self.pos.held.len() > MAX_HELD {
                self.pos.skip_holes(&mut events);
            }
        }
        let caught_up = at_end && self.pos.held.is_empty();
        let head = if caught_up { self.pos.position } else { self.pos.position + 1 };
        Ok(Page { events, rejected, last_seq: self.pos.position, head_seq: head, lineage: None })
    }
}

impl EventSource for KafkaFeed {
    type Error = KafkaFeedError;

    fn name(&self) -> &'static str {
        "kafka"
    }

    fn resume(&self) -> Option<Arc<dyn Resume>> {
        self.pos.ledger.as_ref().map(|l| Arc::new(KafkaResume(Arc::clone(l))) as Arc<dyn Resume>)
    }

    async fn fetch(&mut self, after: u64, wait: bool) -> Result<Page, KafkaFeedError> {
        // the tailer applied every page it got before asking again
        if let (Some(ledger), Phase::Tail) = (&self.pos.ledger, self.pos.phase) {
            ledger.lock().unwrap_or_else(|e| e.into_inner()).fetched(after, &self.pos.held);
        }
        // A catch-up asked for again after it finished: read from the start.
        let restart = self.pos.phase == Phase::Tail && after == 0 && !wait;
        if self.pos.phase == Phase::Idle || restart || self.rx.is_none() {
            self.start().await?;
        }
        let page = match self.pos.phase {
            Phase::CatchUp => self.catch_up_page().await,
            _ => self.tail_page(wait).await,
        };
        if let Err(KafkaFeedError::Stopped) = page {
            // The consumer thread is gone: start over from the beginning.
            self.pos.phase = Phase::Idle;
            self.rx = None;
            self.poller = None;
        }
        page
    }
}
