//! Usage batches from the `didroute.usage.v1` topic (when Kafka is
//! configured): lookup nodes on Kafka publish there instead of calling
//! `POST /v1/usage/batches`. Every control-plane instance joins one consumer
//! group, so each partition is read by one of them; a batch is stored by the
//! same `service::usage::ingest` as over HTTP (its id in the same
//! transaction as its counts), and its offset committed only after, so a
//! crash re-reads it and the id makes the repeat count nothing.

use std::time::Duration;

use anyhow::Context;
use didroute_shared::wire::UsageBatch;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::Message;

use crate::db::Db;
use crate::error::ApiError;

/// The consumer group every instance joins.
pub const GROUP: &str = "didroute-control-plane-usage";

#[derive(Debug, Clone)]
pub struct UsageConsumerSettings {
    pub brokers: String,
    pub topic: String,
    /// [`GROUP`] unless a test runs apart.
    pub group: String,
    pub properties: didroute_net::KafkaProperties,
}

fn consumer(settings: &UsageConsumerSettings) -> anyhow::Result<StreamConsumer> {
    let mut config = ClientConfig::new();
    config.set("client.id", "didroute-usage-consumer").set("topic.metadata.refresh.interval.ms", "10000");
    for (k, v) in settings.properties.iter() {
        config.set(k, v);
    }
    config
        .set("bootstrap.servers", &settings.brokers)
        .set("group.id", &settings.group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest");
    let consumer: StreamConsumer =
        config.create().with_context(|| format!("cannot create a Kafka consumer for {}", settings.brokers))?;
    consumer.subscribe(&[&settings.topic]).with_context(|| format!("cannot subscribe to {}", settings.topic))?;
    Ok(consumer)
}

/// Consumes until `shutdown`.
pub async fn run(
    db: Db,
    settings: UsageConsumerSettings,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let consumer = consumer(&settings)?;
    tracing::info!(topic = %settings.topic, group = %settings.group, "consuming usage batches");
    tokio::pin!(shutdown);
    loop {
        let message = tokio::select! {
            _ = &mut shutdown => return Ok(()),
            m = consumer.recv() => m,
        };
        let message = match message {
            Ok(m) => m,
            Err(error) => {
                tracing::warn!(%error, topic = %settings.topic, "usage topic read failed; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        match serde_json::from_slice::<UsageBatch>(message.payload().unwrap_or_default()) {
            Err(error) => {
                tracing::warn!(%error, partition = message.partition(), offset = message.offset(), "skipped a usage record that is not a batch");
            }
            Ok(batch) => {
                // the database may be away: the same record again until it is
                // stored or refused for what it is
                let mut wait = Duration::from_millis(200);
                loop {
                    match crate::service::usage::ingest(&db, &batch, None).await {
                        Ok(_) => break,
                        Err(ApiError::Problem(_, detail)) => {
                            tracing::warn!(batch_id = %batch.batch_id, %detail, "refused a usage batch from the topic");
                            break;
                        }
                        Err(error) => {
                            tracing::warn!(%error, batch_id = %batch.batch_id, "cannot store a usage batch; retrying");
                            tokio::select! {
                                _ = &mut shutdown => return Ok(()),
                                _ = tokio::time::sleep(wait) => {}
                            }
                            wait = (wait * 2).min(Duration::from_secs(10));
                        }
                    }
                }
            }
        }
        if let Err(error) = consumer.commit_message(&message, CommitMode::Async) {
            tracing::warn!(%error, "cannot commit a usage offset; the batch may be read again (and counted once)");
        }
    }
}
