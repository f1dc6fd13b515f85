//! Where and how the node reads the routes topic.

use std::collections::HashMap;
use std::time::Duration;

/// The default topic.
pub const DEFAULT_TOPIC: &str = "didroute.routes.v1";

#[derive(Debug, Clone)]
pub struct KafkaSettings {
    /// Bootstrap servers, `host:port[,host:port…]`.
    pub brokers: String,
    pub topic: String,
    /// The operator's librdkafka properties (TLS, SASL, tuning such as
    /// `fetch.wait.max.ms`); they cannot change the brokers, the group or
    /// offset handling. Debug output hides secret values.
    pub properties: didroute_net::KafkaProperties,
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
    /// Keep the [`Ledger`](super::Ledger) snapshot files need.
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

impl StartAt {
    /// Reads the positions a snapshot file recorded (see [`KafkaResume`](super::KafkaResume))
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
            properties: didroute_net::KafkaProperties::default(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip_and_refuse_another_topic() {
        let positions = serde_json::json!({"topic": "t", "offsets": {"0": 7, "3": 0}});
        let at = StartAt::from_positions(9, &positions, "t").unwrap();
        assert_eq!((at.seq, at.offsets[&0], at.offsets[&3]), (9, 7, 0));
        assert_eq!(StartAt::from_positions(9, &positions, "other"), None);
        assert_eq!(StartAt::from_positions(9, &serde_json::json!({"topic": "t", "offsets": {"0": -1}}), "t"), None);
    }
}
