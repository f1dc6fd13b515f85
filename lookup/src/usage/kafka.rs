//! Usage batches to the `didroute.usage.v1` topic (feature `kafka`): a node
//! that reads the routes topic has no feed token, so it ships to the broker
//! it already trusts. Keyed by the batch id; the control plane's consumer
//! applies each id once, so a redelivery or a retried send counts nothing
//! twice.

use std::time::Duration;

use didroute_shared::wire::UsageBatch;
use rdkafka::config::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};

pub struct KafkaSink {
    producer: FutureProducer,
    topic: String,
}

impl KafkaSink {
    /// A producer for `topic` at `brokers`, with the operator's properties
    /// (TLS, SASL) under the settings delivery rests on.
    pub fn new(brokers: &str, topic: &str, properties: &didroute_net::KafkaProperties) -> anyhow::Result<KafkaSink> {
        let mut config = ClientConfig::new();
        config.set("message.timeout.ms", "30000").set("linger.ms", "50");
        for (k, v) in properties.iter() {
            config.set(k, v);
        }
        // not the idempotent producer: a duplicate record is harmless (the
        // batch id makes it count once), and tansu 0.6 drops the records of
        // a second idempotent producer on a partition
        config
            .set("bootstrap.servers", brokers)
            .set("client.id", "didroute-lookup-usage")
            .set("enable.idempotence", "false")
            .set("acks", "all");
        let producer = config.create::<FutureProducer>()?;
        Ok(KafkaSink { producer, topic: topic.to_owned() })
    }

    pub async fn send(&self, batch: &UsageBatch) -> Result<(), String> {
        let payload = serde_json::to_vec(batch).map_err(|e| e.to_string())?;
        let record = FutureRecord::to(&self.topic).key(&batch.batch_id).payload(&payload);
        self.producer
            .send(record, Duration::from_secs(5))
            .await
            .map(|_| ())
            .map_err(|(error, _)| format!("cannot publish to {}: {error}", self.topic))
    }
}
