//! The Kafka client: librdkafka's consumer, the thread that polls it and
//! probes the watermarks, and the blocking setup before it starts. The one
//! file of the crate that uses rdkafka.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use didroute_shared::ChangeEvent;
use rdkafka::client::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::mpsc;

use super::positions::{Item, Part, Record};
use super::settings::KafkaSettings;

/// Records the consumer thread hands over at once.
const HANDOFF: usize = 2048;

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
/// partition-end events on, short fetch waits for latency. The operator's
/// properties (TLS, SASL, tuning) come between the tunables and the
/// settings this reader's correctness rests on, which always win.
pub fn consumer_config(settings: &KafkaSettings) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("client.id", "didroute-lookup")
        .set("fetch.wait.max.ms", "10")
        .set("fetch.error.backoff.ms", "50")
        .set("reconnect.backoff.ms", "50")
        .set("reconnect.backoff.max.ms", "1000")
        .set("topic.metadata.refresh.interval.ms", "10000");
    for (k, v) in settings.properties.iter() {
        config.set(k, v);
    }
    config
        .set("bootstrap.servers", &settings.brokers)
        .set("group.id", format!("didroute-lookup-{}", uuid::Uuid::new_v4().simple()))
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "true");
    config
}

type Connected = (NodeConsumer, HashMap<i32, Part>, u64);

/// Blocking: metadata, watermarks, the target, and the assignment.
pub(super) fn connect(settings: &KafkaSettings) -> Result<Connected, KafkaFeedError> {
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
pub(super) fn consume(
    consumer: NodeConsumer,
    topic: String,
    partitions: Vec<i32>,
    (probe_every, probe_timeout): (Duration, Duration),
    tx: mpsc::Sender<Item>,
    stop: Arc<AtomicBool>,
) {
    let mut last_probe = Instant::now();
    // One `Lost` at a time: while the broker is away librdkafka reports an
    // error on nearly every poll, and a queue of them would keep the tailer
    // backing off, one stale error per retry, long after the broker is back.
    // The next records, watermarks or end of partition re-arm it.
    let mut lost_sent = false;
    let mut send = |item: Item| {
        let lost = matches!(item, Item::Lost(_));
        if lost && lost_sent {
            return true;
        }
        lost_sent = lost;
        tx.blocking_send(item).is_ok()
    };
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
