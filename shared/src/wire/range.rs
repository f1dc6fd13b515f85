//! Range routes: a tenant's DID range (PortSIP's DID pool) that routes to
//! the tenant as one block, number by number only where a number has an
//! allocation of its own.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::Subsystem;

/// `POST /v1/tenants/{id}/ranges` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewRange {
    /// PortSIP range syntax: `15550001000-15550001999` (or one number);
    /// both ends of one length, at most 1,000,000 numbers.
    #[cfg_attr(feature = "utoipa", schema(example = "15550001000-15550001999"))]
    pub range: String,
    /// Where the range's calls go; `utilities` when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subsystem: Option<Subsystem>,
    /// Which dashboard shows the range's calls; `default` when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(min_length = 1, max_length = 200))]
    pub dashboard_id: Option<String>,
    /// The customer-facing name greetings are built from; the tenant's name
    /// when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(min_length = 1, max_length = 200))]
    pub customer_label: Option<String>,
}

/// A range route as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject))]
pub struct RangeView {
    pub id: i64,
    pub tenant_id: Uuid,
    /// `first-last` in PortSIP's syntax (digits, no `+`).
    pub range: String,
    /// E.164 of the first and last numbers.
    pub first: String,
    pub last: String,
    /// How many numbers the range holds.
    pub numbers: i64,
    /// As given; the route uses `utilities` for none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subsystem: Option<Subsystem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dashboard_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_label: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// On creation only: numbers already in the inventory that joined the
    /// tenant's private pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joined_pool: Option<i64>,
    /// On creation only: the position of the range's event (wait for it at a
    /// lookup node with `min_seq`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
}

/// `DELETE /v1/ranges/{id}` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject))]
pub struct RangeDeleted {
    pub id: i64,
    /// Available numbers of the range that left the tenant's private pool
    /// (back to public inventory).
    pub left_pool: i64,
    pub seq: u64,
}

/// `GET /v1/tenants/{id}/ranges`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Ranges {
    pub ranges: Vec<RangeView>,
}
