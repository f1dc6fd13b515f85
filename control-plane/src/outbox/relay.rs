//! The outbox relay: publishes sequenced outbox rows to Kafka.
//!
//! - Exactly one relay is active per database: it holds the session advisory
//!   lock [`LOCK_KEY`] on a dedicated connection for as long as it relays,
//!   and does all its reading and marking on that connection, so a relay
//!   whose connection (and so whose lock) is gone cannot mark anything. A
//!   second relay blocks on the lock and takes over the moment the first
//!   one's connection closes (process killed, network lost).
//! - Rows go out in `seq` order, keyed by the E.164 number (so every event of
//!   one number lands in one partition, in order), with an idempotent
//!   producer, `acks=all` and `linger.ms=1`.
//! - A row is marked `published_at` only after the broker acknowledged it
//!   (a successful delivery report), and only as part of a contiguous prefix
//!   of the batch: after a failed delivery the relay resends from the first
//!   unacknowledged row. Delivery is therefore at least once; consumers drop
//!   repeats by the number's `version` (a relay killed between publishing and
//!   marking just causes repeats).
//! - Positions are assigned by `didroute_sequence_outbox()` after commit, in
//!   commit order, and the relay reads unpublished *sequenced* rows: a
//!   transaction that commits late gets a later position and is published
//!   then, never skipped.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use didroute_shared::ChangeEvent;
use rdkafka::config::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use sqlx::postgres::{PgConnection, PgListener};
use sqlx::{Connection, PgPool};
use tokio::sync::watch;

use super::decode;

/// Session advisory lock that makes one relay the active one (the
/// sequencer's transaction lock is 7046331).
pub const LOCK_KEY: i64 = 7_046_332;

/// The default topic.
pub const DEFAULT_TOPIC: &str = "didroute.routes.v1";

/// Runs between a batch's successful delivery and its marking: tests use it
/// to kill the relay at exactly that point (docs/goals.md R4).
pub type BeforeMark = Arc<dyn Fn(u64, u64) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

#[derive(Clone)]
pub struct RelaySettings {
    /// Kafka bootstrap servers, `host:port[,host:port…]`.
    pub brokers: String,
    pub topic: String,
    /// Rows per pass.
    pub batch: i64,
    /// How often the relay looks for rows without a notification, and
    /// sequences rows a writer left unsequenced.
    pub tick: Duration,
    pub retry_min: Duration,
    pub retry_max: Duration,
    /// The operator's librdkafka properties (TLS, SASL, tuning such as
    /// `message.timeout.ms`); they cannot change the brokers, turn off
    /// idempotence or `acks=all`, or raise `linger.ms` above 1. Debug
    /// output hides secret values.
    pub properties: didroute_net::KafkaProperties,
    pub before_mark: Option<BeforeMark>,
}

impl RelaySettings {
    pub fn new(brokers: impl Into<String>, topic: impl Into<String>) -> RelaySettings {
        RelaySettings {
            brokers: brokers.into(),
            topic: topic.into(),
            batch: 1000,
            tick: Duration::from_millis(500),
            retry_min: Duration::from_millis(100),
            retry_max: Duration::from_secs(5),
            properties: didroute_net::KafkaProperties::default(),
            before_mark: None,
        }
    }
}

impl std::fmt::Debug for RelaySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelaySettings")
            .field("brokers", &self.brokers)
            .field("topic", &self.topic)
            .field("batch", &self.batch)
            .field("tick", &self.tick)
            .field("properties", &self.properties)
            .field("before_mark", &self.before_mark.is_some())
            .finish()
    }
}

/// What a relay reports about itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RelayStatus {
    /// Holds the lock and relays.
    pub active: bool,
    /// Highest position this relay has published and marked.
    pub published_through: u64,
    /// Rows published and marked by this relay.
    pub published: u64,
    /// Failed deliveries (each one causes a resend from the failed row).
    pub delivery_failures: u64,
}

/// The producer settings the relay's guarantees rest on; `properties` are
/// applied first so these always win.
pub fn producer_config(brokers: &str, properties: &didroute_net::KafkaProperties) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("message.timeout.ms", "60000");
    for (k, v) in properties.iter() {
        config.set(k, v);
    }
    config
        .set("bootstrap.servers", brokers)
        .set("client.id", "didroute-relay")
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("max.in.flight.requests.per.connection", "5")
        .set("linger.ms", "1");
    config
}

/// A relay over the operator pool (`didroute_operator` may read and mark
/// outbox rows).
pub struct Relay {
    operator: PgPool,
    settings: RelaySettings,
    status: watch::Sender<RelayStatus>,
}

impl Relay {
    pub fn new(operator: PgPool, settings: RelaySettings) -> Relay {
        Relay { operator, settings, status: watch::channel(RelayStatus::default()).0 }
    }

    /// Watches the relay's status.
    pub fn status(&self) -> watch::Receiver<RelayStatus> {
        self.status.subscribe()
    }

    /// Relays until `stop` resolves: waits for the lock, relays while it
    /// holds it, and starts over (backing off) after losing the database.
    pub async fn run(self, stop: impl Future<Output = ()>) -> anyhow::Result<()> {
        tokio::pin!(stop);
        let mut delay = self.settings.retry_min;
        loop {
            let outcome = tokio::select! {
                _ = &mut stop => return Ok(()),
                r = self.lead() => r,
            };
            self.status.send_modify(|s| s.active = false);
            if let Err(error) = outcome {
                tracing::warn!(error = %format!("{error:#}"), retry_in_ms = delay.as_millis() as u64, "outbox relay interrupted");
            }
            tokio::select! {
                _ = &mut stop => return Ok(()),
                _ = tokio::time::sleep(delay) => {}
            }
            delay = (delay * 2).min(self.settings.retry_max);
        }
    }

    /// Takes the lock and relays; returns only on an error.
    async fn lead(&self) -> anyhow::Result<()> {
        let mut conn = self.operator.acquire().await.context("cannot connect to PostgreSQL")?.detach();
        let got: bool =
            sqlx::query_scalar("SELECT pg_try_advisory_lock($1)").bind(LOCK_KEY).fetch_one(&mut conn).await?;
        if !got {
            tracing::info!("another outbox relay is active; standing by until it stops");
            sqlx::query("SELECT pg_advisory_lock($1)").bind(LOCK_KEY).execute(&mut conn).await?;
        }
        tracing::info!(brokers = %self.settings.brokers, topic = %self.settings.topic, "outbox relay active");
        self.status.send_modify(|s| s.active = true);
        let result = self.relay(&mut conn).await;
        // Closing the connection releases the lock.
        let _ = conn.close().await;
        result
    }

    async fn relay(&self, conn: &mut PgConnection) -> anyhow::Result<()> {
        let mut listener = PgListener::connect_with(&self.operator).await?;
        listener.listen(super::CHANNEL).await?;
        let mut producer = self.producer()?;
        let mut delay = self.settings.retry_min;
        loop {
            let rows = unpublished(conn, self.settings.batch).await?;
            if rows.is_empty() {
                tokio::select! {
                    n = listener.recv() => { n?; }
                    _ = tokio::time::sleep(self.settings.tick) => {
                        sqlx::query("SELECT didroute_sequence_outbox()").execute(&mut *conn).await?;
                    }
                }
                continue;
            }
            let (through, failure) = self.publish(&producer, &rows).await;
            if let Some(through) = through {
                if let Some(hook) = &self.settings.before_mark {
                    hook(rows[0].seq, through).await;
                }
                let seqs: Vec<i64> = rows.iter().take_while(|e| e.seq <= through).map(|e| e.seq as i64).collect();
                sqlx::query("UPDATE outbox SET published_at = now() WHERE seq = ANY($1) AND published_at IS NULL")
                    .bind(&seqs)
                    .execute(&mut *conn)
                    .await?;
                self.status.send_modify(|s| {
                    s.published_through = s.published_through.max(through);
                    s.published += seqs.len() as u64;
                });
                tracing::debug!(from = rows[0].seq, through, "published outbox rows");
            }
            if let Some((seq, error)) = failure {
                self.status.send_modify(|s| s.delivery_failures += 1);
                tracing::warn!(seq, %error, retry_in_ms = delay.as_millis() as u64,
                    "delivery to Kafka failed; resending from this row");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(self.settings.retry_max);
                // A fresh producer: a fatal idempotence error leaves the old
                // one unusable, and dropping it purges what it still queues.
                producer = self.producer()?;
            } else {
                delay = self.settings.retry_min;
            }
        }
    }

    fn producer(&self) -> anyhow::Result<FutureProducer> {
        producer_config(&self.settings.brokers, &self.settings.properties)
            .create::<FutureProducer>()
            .with_context(|| format!("cannot create a Kafka producer for {}", self.settings.brokers))
    }

    /// Sends `rows` in order and waits for their delivery reports: the last
    /// position of the acknowledged prefix, and the first failure.
    async fn publish(
        &self,
        producer: &FutureProducer,
        rows: &[ChangeEvent],
    ) -> (Option<u64>, Option<(u64, rdkafka::error::KafkaError)>) {
        let mut pending = Vec::with_capacity(rows.len());
        let mut failure = None;
        for event in rows {
            let key = event.number.to_string();
            let payload = event.encode();
            match producer.send_result(FutureRecord::to(&self.settings.topic).key(&key).payload(&payload)) {
                Ok(delivery) => pending.push((event.seq, delivery)),
                Err((error, _)) => {
                    failure = Some((event.seq, error));
                    break;
                }
            }
        }
        let mut through = None;
        for (seq, delivery) in pending {
            match delivery.await {
                Ok(Ok(_)) => through = Some(seq),
                Ok(Err((error, _))) => {
                    failure = Some((seq, error));
                    break;
                }
                Err(_) => {
                    failure = Some((seq, rdkafka::error::KafkaError::Canceled));
                    break;
                }
            }
        }
        if failure.is_some() {
            // Later rows of this batch may still be delivered: they are
            // resent, and consumers drop the repeats.
            producer.purge(rdkafka::producer::PurgeConfig::default().queue());
        }
        (through, failure)
    }
}

/// Sequenced rows not yet published, in position order.
async fn unpublished(conn: &mut PgConnection, limit: i64) -> anyhow::Result<Vec<ChangeEvent>> {
    let sql = format!(
        "SELECT {} FROM outbox WHERE published_at IS NULL AND seq IS NOT NULL ORDER BY seq LIMIT $1",
        decode::EVENT_COLUMNS
    );
    let rows = sqlx::query(&sql).bind(limit).fetch_all(&mut *conn).await?;
    Ok(rows.iter().map(decode::event_from_row).collect::<Result<_, _>>()?)
}

/// Rows sequenced but not yet published: the relay's backlog.
pub async fn backlog(operator: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL AND seq IS NOT NULL")
        .fetch_one(operator)
        .await
}
