//! Shipping the counts: every flush interval the counter's window is taken
//! and sent to the control plane as [`UsageBatch`]es, over the HTTP feed's
//! control plane (`POST /v1/usage/batches` with the feed token) or the
//! `didroute.usage.v1` topic when the node reads Kafka.
//!
//! Each batch gets its id when it is cut (this node instance's UUID and a
//! sequence) and keeps it through every retry, so the control plane applies
//! it once however often it arrives. Unsent batches wait in a queue of at
//! most [`MAX_PENDING`]; past it the oldest is dropped (and counted), so a
//! control plane that is away for long costs bounded memory. A node that
//! dies loses the window it was counting (one flush interval) and whatever
//! was still queued; a clean stop flushes first.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use didroute_shared::wire::{UsageBatch, UsageCount, MAX_BATCH_COUNTS};
use didroute_shared::E164;
use reqwest::Url;
use time::OffsetDateTime;
use tokio::sync::watch;

use super::{Taken, UsageCounter};
use crate::app::App;

/// Default `DIDROUTE_USAGE_FLUSH_MS`.
pub const DEFAULT_FLUSH_MS: u64 = 60_000;
/// Unsent batches kept for retry at most.
pub const MAX_PENDING: usize = 64;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Where batches go.
pub enum Sink {
    /// `POST {control plane}/v1/usage/batches` with the node's feed token,
    /// the batch id as `Idempotency-Key`.
    Http { client: reqwest::Client, url: Url, token: String },
    #[cfg(feature = "kafka")]
    Kafka(super::kafka::KafkaSink),
}

impl Sink {
    /// The HTTP sink of the control plane at `base` (the feed's address).
    pub fn http(base: &Url, token: &str, ca_file: Option<&std::path::Path>) -> anyhow::Result<Sink> {
        let mut url = base.clone();
        url.set_path(&format!("{}/v1/usage/batches", base.path().trim_end_matches('/')));
        let builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("didroute-lookup/", env!("CARGO_PKG_VERSION")));
        let client = didroute_net::tls_client::with_ca_file(builder, ca_file)?.build()?;
        Ok(Sink::Http { client, url, token: token.to_owned() })
    }

    /// Sends one batch; `Err((why, permanent))`, permanent when the control
    /// plane refused the batch itself (it would refuse it again).
    async fn send(&self, batch: &UsageBatch) -> Result<(), (String, bool)> {
        match self {
            Sink::Http { client, url, token } => {
                let response = client
                    .post(url.clone())
                    .bearer_auth(token)
                    .header("idempotency-key", &batch.batch_id)
                    .json(batch)
                    .send()
                    .await
                    .map_err(|e| (format!("cannot reach {url}: {e}"), false))?;
                let status = response.status();
                if status.is_success() {
                    return Ok(());
                }
                let body = response.text().await.unwrap_or_default();
                let permanent = matches!(status.as_u16(), 400 | 413 | 422);
                Err((format!("{url} answered {status}: {}", body.chars().take(300).collect::<String>()), permanent))
            }
            #[cfg(feature = "kafka")]
            Sink::Kafka(sink) => sink.send(batch).await.map_err(|e| (e, false)),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Sink::Http { .. } => "http",
            #[cfg(feature = "kafka")]
            Sink::Kafka(_) => "kafka",
        }
    }
}

/// Cuts windows into batches with ids unique to this node instance.
#[derive(Debug)]
pub struct Batcher {
    node_id: String,
    instance: uuid::Uuid,
    next: u64,
}

impl Batcher {
    pub fn new(node_id: String) -> Batcher {
        Batcher { node_id, instance: uuid::Uuid::new_v4(), next: 1 }
    }

    /// The window's counts as batches of at most [`MAX_BATCH_COUNTS`]
    /// numbers each (the overflow rides on the first); none for an empty window.
    pub fn cut(&mut self, taken: Taken, start: OffsetDateTime, end: OffsetDateTime) -> Vec<UsageBatch> {
        if taken.is_empty() {
            return Vec::new();
        }
        let counts: Vec<UsageCount> = taken
            .counts
            .into_iter()
            .filter_map(|(n, lookups)| Some(UsageCount { number: E164::from_u64(n).ok()?, lookups }))
            .collect();
        let mut overflow = taken.overflow;
        let chunks: Vec<&[UsageCount]> =
            if counts.is_empty() { vec![&[]] } else { counts.chunks(MAX_BATCH_COUNTS).collect() };
        chunks
            .into_iter()
            .map(|chunk| {
                let batch_id = format!("{}-{}", self.instance, self.next);
                self.next += 1;
                UsageBatch {
                    node_id: self.node_id.clone(),
                    batch_id,
                    window_start: start,
                    window_end: end,
                    counts: chunk.to_vec(),
                    overflow: std::mem::take(&mut overflow),
                }
            })
            .collect()
    }
}

/// The end of the window that starts at `now`: one interval later, but never
/// past the next UTC hour, so a window's counts belong to one hour bucket.
pub fn window_end(now: OffsetDateTime, interval: Duration) -> OffsetDateTime {
    let next = now + interval;
    let hour = now.replace_minute(0).and_then(|t| t.replace_second(0)).and_then(|t| t.replace_nanosecond(0));
    match hour {
        Ok(hour) => next.min(hour + time::Duration::HOUR),
        Err(_) => next,
    }
}

/// Flushes `counter` every `interval` into `sink` until `stop`, then once more.
pub async fn run(
    app: Arc<App>,
    counter: Arc<UsageCounter>,
    sink: Sink,
    node_id: String,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let metrics = &app.metrics().usage;
    let mut batcher = Batcher::new(node_id);
    let mut pending: VecDeque<UsageBatch> = VecDeque::new();
    let mut start = OffsetDateTime::now_utc();
    tracing::info!(sink = sink.name(), interval_ms = interval.as_millis() as u64, "shipping usage counts");
    loop {
        let end = window_end(start, interval);
        let wait = Duration::try_from(end - OffsetDateTime::now_utc()).unwrap_or_default();
        let stopping = tokio::select! {
            _ = tokio::time::sleep(wait) => false,
            _ = crate::stopped(&mut stop) => true,
        };
        let now = OffsetDateTime::now_utc();
        let taken = counter.take();
        metrics.overflow.inc_by(taken.overflow);
        for batch in batcher.cut(taken, start, now.max(start)) {
            if pending.len() >= MAX_PENDING {
                if let Some(dropped) = pending.pop_front() {
                    metrics.dropped.inc();
                    tracing::warn!(batch_id = %dropped.batch_id, "dropped the oldest unsent usage batch");
                }
            }
            pending.push_back(batch);
        }
        start = now;
        while let Some(batch) = pending.front() {
            match sink.send(batch).await {
                Ok(()) => {
                    metrics.shipped.inc();
                    pending.pop_front();
                }
                Err((error, true)) => {
                    metrics.dropped.inc();
                    tracing::error!(%error, batch_id = %batch.batch_id, "the control plane refused a usage batch; dropped");
                    pending.pop_front();
                }
                Err((error, false)) => {
                    metrics.failed.inc();
                    tracing::warn!(%error, batch_id = %batch.batch_id, pending = pending.len(), "cannot ship a usage batch; will retry");
                    break;
                }
            }
        }
        metrics.pending.set(pending.len() as i64);
        if stopping {
            if !pending.is_empty() {
                tracing::warn!(pending = pending.len(), "stopping with unsent usage batches");
            }
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> OffsetDateTime {
        OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap()
    }

    #[test]
    fn windows_end_at_the_hour() {
        let minute = Duration::from_secs(60);
        assert_eq!(window_end(at("2026-12-25T10:30:00Z"), minute), at("2026-12-25T10:31:00Z"));
        assert_eq!(window_end(at("2026-12-25T10:59:30.5Z"), minute), at("2026-12-25T11:00:00Z"));
    }

    #[test]
    fn large_windows_are_cut_into_batches_with_fresh_ids() {
        let mut b = Batcher::new("n".into());
        let t0 = at("2026-12-25T10:00:00Z");
        let counts = (0..(MAX_BATCH_COUNTS as u64 + 5)).map(|i| (15_550_000_000 + i, 1)).collect();
        let batches = b.cut(Taken { counts, overflow: 7 }, t0, t0);
        assert_eq!(batches.len(), 2);
        assert_eq!((batches[0].counts.len(), batches[1].counts.len()), (MAX_BATCH_COUNTS, 5));
        assert_eq!((batches[0].overflow, batches[1].overflow), (7, 0));
        assert_ne!(batches[0].batch_id, batches[1].batch_id);
        assert!(b.cut(Taken::default(), t0, t0).is_empty());
        let only_overflow = b.cut(Taken { counts: vec![], overflow: 3 }, t0, t0);
        assert_eq!((only_overflow.len(), only_overflow[0].overflow), (1, 3));
        assert!(!batches.iter().any(|x| x.batch_id == only_overflow[0].batch_id));
    }
}
