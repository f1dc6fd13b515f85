//! A number's audit trail.

use serde::Serialize;
use time::OffsetDateTime;

/// One audit row.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject))]
pub struct HistoryEntry {
    pub id: i64,
    /// `number.allocate`, `number.remap`, `number.release`, …
    pub action: String,
    /// `operator` or `tenant:<id>`.
    pub actor: String,
    /// What changed (the route before and after, the release reason, …).
    #[cfg_attr(feature = "utoipa", schema(value_type = Object))]
    #[cfg_attr(
        feature = "graphql",
        graphql(skip_output, derived(name = "detail", into = "async_graphql::Json<serde_json::Value>", owned))
    )]
    pub detail: serde_json::Value,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// The audit trail of one number, oldest first.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct History {
    pub history: Vec<HistoryEntry>,
}
