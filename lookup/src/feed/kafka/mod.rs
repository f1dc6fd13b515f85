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
//!   makes [`fetch`](super::EventSource::fetch) fail: the node keeps serving its
//!   snapshot and its lag grows (R7). Caught up means every partition is read
//!   to the watermark of a recent probe.
//!
//! Files: `settings` (where to read), `positions` (what the source reports,
//! from what the consumer thread hands over), `ledger` (resume points for
//! snapshot files), `feed` (`KafkaFeed`: the pages) and `consumer`
//! (librdkafka: the only file that uses it). The first three do not need the
//! `kafka` feature, so their tests run without librdkafka.

#[cfg(feature = "kafka")]
mod consumer;
#[cfg(feature = "kafka")]
mod feed;
mod ledger;
mod positions;
mod settings;

#[cfg(feature = "kafka")]
pub use consumer::{consumer_config, KafkaFeedError, QuietContext};
#[cfg(feature = "kafka")]
pub use feed::KafkaFeed;
pub use ledger::{KafkaResume, Ledger};
pub use settings::{KafkaSettings, StartAt, DEFAULT_TOPIC};
