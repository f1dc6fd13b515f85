//! Where change events come from, and the task that keeps the snapshot
//! current with them.
//!
//! [`EventSource`] is the seam: the control plane's HTTP feed ([`HttpFeed`])
//! or, with the `kafka` feature, the routes topic ([`kafka::KafkaFeed`]); the
//! [`Tailer`] drives either one.

mod backoff;
mod http;
pub mod lineage;
// Always built: its position and ledger logic is tested without
// librdkafka; the client itself needs the `kafka` feature.
pub mod kafka;
mod tailer;

use std::future::Future;

use didroute_shared::ChangeEvent;

pub use backoff::Backoff;
pub(crate) use http::check_base;
pub use http::{FeedError, HttpFeed};
pub use tailer::{Tailer, TailerSettings};

/// One answer from an event source.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// Valid events, in ascending seq.
    pub events: Vec<ChangeEvent>,
    /// Events the source sent that failed to decode or validate (logged and
    /// skipped; the position still moves past them).
    pub rejected: usize,
    /// Position reached: the seq of the last event returned, or the request's
    /// `after` when none was.
    pub last_seq: u64,
    /// Highest position that exists at the source.
    pub head_seq: u64,
    /// The lineage the source's head is of, when it says (the HTTP feed;
    /// Kafka records carry theirs in each event).
    pub lineage: Option<uuid::Uuid>,
}

impl Page {
    /// Whether this answer showed nothing newer than what it returned.
    pub fn caught_up(&self) -> bool {
        self.last_seq >= self.head_seq
    }
}

/// Where a source would have to start reading again to deliver every event
/// after a position; written beside a snapshot file at that position.
pub trait Resume: Send + Sync + std::fmt::Debug {
    /// None while the source cannot say (it is catching up again).
    fn positions(&self, seq: u64) -> Option<serde_json::Value>;
}

/// A source of change events addressed by position (seq).
pub trait EventSource: Send + 'static {
    type Error: std::error::Error + Send + Sync + 'static;

    /// Reported as the snapshot's `source` (`"feed"`, later `"kafka"`).
    fn name(&self) -> &'static str;

    /// What a snapshot file at a position must record for this source to
    /// resume from it (Kafka: per-partition offsets); None when the position
    /// alone says it (the HTTP feed).
    fn resume(&self) -> Option<std::sync::Arc<dyn Resume>> {
        None
    }

    /// The next events after position `after`. With `wait`, the source may
    /// hold the request open until one arrives (long poll) instead of
    /// answering at once with none.
    fn fetch(&mut self, after: u64, wait: bool) -> impl Future<Output = Result<Page, Self::Error>> + Send;
}
