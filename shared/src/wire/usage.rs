//! Usage from lookups: the batches lookup nodes ship (`POST
//! /v1/usage/batches`, or the `didroute.usage.v1` topic) and the buckets the
//! control plane answers with (`GET /v1/numbers/{number}/usage`, `GET
//! /v1/usage/top`).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::E164;

/// The Kafka topic lookup nodes publish usage batches to.
pub const USAGE_TOPIC: &str = "didroute.usage.v1";

/// Most counts one batch carries: a node splits a larger window into
/// several batches, so a body stays a few hundred kilobytes.
pub const MAX_BATCH_COUNTS: usize = 10_000;

/// Longest `batch_id` and `node_id`.
pub const MAX_BATCH_ID_LEN: usize = 200;

/// One flush window of one lookup node: how many successful lookups
/// (`GET /v1/routes/{number}` answering 200) each number had.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UsageBatch {
    /// Which node counted (its host and port by default); informational.
    #[cfg_attr(feature = "utoipa", schema(min_length = 1, max_length = 200))]
    pub node_id: String,
    /// Unique per batch (the node instance's UUID and a sequence): a batch
    /// sent again under the same id is applied once.
    #[cfg_attr(feature = "utoipa", schema(min_length = 1, max_length = 200))]
    pub batch_id: String,
    /// The window the counts were taken in; counts are stored in the hour
    /// `window_start` falls in (nodes cut windows at hour boundaries).
    #[serde(with = "time::serde::rfc3339")]
    pub window_start: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub window_end: OffsetDateTime,
    /// At most 10,000 entries, each number once.
    pub counts: Vec<UsageCount>,
    /// Lookups of numbers that did not fit in the node's table
    /// (`DIDROUTE_USAGE_MAX_NUMBERS` distinct numbers per window).
    #[serde(default)]
    pub overflow: u64,
}

/// Successful lookups of one number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UsageCount {
    #[cfg_attr(feature = "utoipa", schema(schema_with = super::lookup::schema::e164))]
    pub number: E164,
    #[cfg_attr(feature = "utoipa", schema(minimum = 1))]
    pub lookups: u64,
}

/// `POST /v1/usage/batches` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct UsageBatchAccepted {
    pub batch_id: String,
    /// False when a batch with this id was applied before (nothing counted again).
    pub applied: bool,
    /// Lookups stored under a tenant.
    pub stored: u64,
    /// Lookups of numbers with no tenant at ingest time (neither held nor in
    /// a tenant's range): not stored.
    pub unattributed: u64,
}

/// Bucket sizes of `GET /v1/numbers/{number}/usage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
#[serde(rename_all = "lowercase")]
pub enum BucketSize {
    Hour,
    Day,
}

impl BucketSize {
    pub fn as_str(self) -> &'static str {
        match self {
            BucketSize::Hour => "hour",
            BucketSize::Day => "day",
        }
    }
}

/// Lookups in one bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject))]
pub struct UsageBucket {
    /// Start of the bucket (UTC hour or day).
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    pub lookups: u64,
}

/// `GET /v1/numbers/{number}/usage`: every bucket of the span, empty ones
/// included, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject))]
pub struct NumberUsage {
    #[cfg_attr(feature = "utoipa", schema(schema_with = super::lookup::schema::e164))]
    #[cfg_attr(
        feature = "graphql",
        graphql(skip_output, derived(name = "number", into = "String", owned, with = "super::e164_text"))
    )]
    pub number: E164,
    pub bucket: BucketSize,
    /// The span, widened to whole buckets.
    #[serde(with = "time::serde::rfc3339")]
    pub from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub to: OffsetDateTime,
    pub total: u64,
    pub buckets: Vec<UsageBucket>,
}

/// One of the busiest numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject))]
pub struct TopNumber {
    #[cfg_attr(feature = "utoipa", schema(schema_with = super::lookup::schema::e164))]
    #[cfg_attr(
        feature = "graphql",
        graphql(skip_output, derived(name = "number", into = "String", owned, with = "super::e164_text"))
    )]
    pub number: E164,
    pub tenant_id: Uuid,
    pub lookups: u64,
}

/// `GET /v1/usage/top`: the busiest numbers of the span, busiest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject))]
pub struct UsageTop {
    /// The span, widened to whole hours.
    #[serde(with = "time::serde::rfc3339")]
    pub from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub to: OffsetDateTime,
    pub numbers: Vec<TopNumber>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_round_trips_and_refuses_unknown_fields() {
        let batch = UsageBatch {
            node_id: "node-1:8081".into(),
            batch_id: "b-1".into(),
            window_start: OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap(),
            window_end: OffsetDateTime::from_unix_timestamp(1_800_000_060).unwrap(),
            counts: vec![UsageCount { number: "+15551234567".parse().unwrap(), lookups: 3 }],
            overflow: 2,
        };
        let text = serde_json::to_string(&batch).unwrap();
        assert!(text.contains(r#""number":"+15551234567""#), "{text}");
        assert_eq!(serde_json::from_str::<UsageBatch>(&text).unwrap(), batch);
        let mut extra: serde_json::Value = serde_json::from_str(&text).unwrap();
        extra["tenant"] = "x".into();
        assert!(serde_json::from_value::<UsageBatch>(extra).is_err());
        assert_eq!(serde_json::to_string(&BucketSize::Day).unwrap(), r#""day""#);
    }
}
