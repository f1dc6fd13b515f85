//! Tracking numbers (dynamic number insertion): a tenant's pools of
//! numbers, each leased to one web session at a time so the call that
//! follows is attributed to the visit.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// Which numbers a pool takes (or gives up): named numbers, or any
/// `quantity` numbers matching `criteria`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum PoolNumbers {
    /// Named numbers (E.164), at most 1,000: available to the tenant, or
    /// already allocated to it and in no pool.
    Named(Vec<String>),
    /// Any `quantity` numbers (1 to 1,000) the tenant may allocate that
    /// match `criteria` (its private pool first, then public inventory).
    Matching(MatchingNumbers),
}

/// `{criteria, quantity}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MatchingNumbers {
    /// As `POST /v1/numbers` takes them: `country` and optionally `region`,
    /// `area_code`, `prefix`, `number_type`.
    #[cfg_attr(feature = "utoipa", schema(value_type = Object))]
    pub criteria: serde_json::Value,
    pub quantity: u32,
}

/// `POST /v1/tracking-pools` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewTrackingPool {
    /// Unique among the tenant's pools (case-insensitive), 1 to 200 characters.
    #[cfg_attr(feature = "utoipa", schema(min_length = 1, max_length = 200, example = "Spring campaign"))]
    pub name: String,
    pub numbers: PoolNumbers,
    /// How long a session holds its number unless renewed (1 to 86,400).
    #[cfg_attr(feature = "utoipa", schema(minimum = 1, maximum = 86400, example = 1800))]
    pub lease_seconds: u32,
    /// How long a number rests after a session before it is leased again
    /// (0 to 86,400), so a late call still reaches the right visit's record.
    #[cfg_attr(feature = "utoipa", schema(minimum = 0, maximum = 86400, example = 600))]
    pub cooldown_seconds: u32,
    /// The number an exhausted pool hands out (E.164; never leased).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(example = "+15550000000"))]
    pub fallback_number: Option<String>,
    /// Which dashboard shows calls to the pool's numbers; `tracking` when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(min_length = 1, max_length = 200))]
    pub dashboard_id: Option<String>,
    /// The numbers' customer-facing name; the pool's name when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(min_length = 1, max_length = 200))]
    pub customer_label: Option<String>,
}

/// What happens to numbers that leave a pool (shrunk or deleted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
#[serde(rename_all = "snake_case")]
pub enum LeavingNumbers {
    /// They stay allocated to the tenant (subsystem `tracking`, no pool):
    /// remap or release them as any other number.
    #[default]
    Keep,
    /// They are released, as `DELETE /v1/numbers/{number}` would.
    Release,
}

/// Which numbers a pool gives up: named ones, or any `quantity` free ones.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum ShrinkBy {
    /// Named numbers of the pool; none may be leased.
    Named(Vec<String>),
    /// Any `quantity` numbers that are not leased, cooling ones first.
    Quantity(ShrinkQuantity),
}

/// `{quantity}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ShrinkQuantity {
    pub quantity: u32,
}

/// `PATCH /v1/tracking-pools/{id}` body: at least one field.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TrackingPoolPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(min_length = 1, max_length = 200))]
    pub name: Option<String>,
    /// Applies to leases started or renewed from now on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(minimum = 1, maximum = 86400))]
    pub lease_seconds: Option<u32>,
    /// Applies to leases ending from now on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(minimum = 0, maximum = 86400))]
    pub cooldown_seconds: Option<u32>,
    /// A new fallback number; `null` removes it.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>, nullable))]
    pub fallback_number: Option<Option<String>>,
    /// Numbers to add, as at creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grow: Option<PoolNumbers>,
    /// Numbers to remove: named ones (none leased) or a quantity of unleased ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shrink: Option<ShrinkBy>,
    /// What happens to the numbers `shrink` removes: `keep` (default) or `release`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed: Option<LeavingNumbers>,
}

/// `Some(x)` for a field that is present, `null` included (`Some(None)`).
fn present<'de, T: Deserialize<'de>, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A tracking pool as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject))]
pub struct TrackingPoolView {
    pub id: Uuid,
    pub name: String,
    pub lease_seconds: i32,
    pub cooldown_seconds: i32,
    #[serde(default)]
    pub fallback_number: Option<String>,
    pub dashboard_id: String,
    pub customer_label: String,
    /// Numbers in the pool.
    pub size: i64,
    /// Held by a live session.
    pub leased: i64,
    /// Resting after a session.
    pub cooling: i64,
    /// Ready for the next session.
    pub free: i64,
    /// Neither leased nor leasable: not active (provisioning not `active`,
    /// disabled), so never leased until that changes.
    pub unavailable: i64,
    /// Sessions started in this pool, live and ended.
    pub sessions: i64,
    /// Starts the pool could not serve, answered with `fallback_number`.
    pub exhausted: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// `GET /v1/tracking-pools/{id}` only: the pool's numbers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numbers: Option<Vec<TrackingNumber>>,
    /// After a change: the position of its last event (wait for it at a
    /// lookup node with `min_seq`); absent when no number changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
}

/// One number of a pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject))]
pub struct TrackingNumber {
    #[cfg_attr(feature = "utoipa", schema(example = "+15551234567"))]
    pub number: String,
    /// `leased`, `cooling`, `free` or `unavailable`.
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<Uuid>,
    /// Cooling: when it is free again.
    #[serde(default, with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub available_at: Option<OffsetDateTime>,
}

/// `GET /v1/tracking-pools`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct TrackingPools {
    pub pools: Vec<TrackingPoolView>,
}

/// `DELETE /v1/tracking-pools/{id}` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject))]
pub struct TrackingPoolDeleted {
    pub id: Uuid,
    /// Numbers that left the pool.
    pub numbers: i64,
    /// `keep` (still allocated to the tenant) or `release`.
    pub disposition: LeavingNumbers,
    /// Live sessions the deletion ended.
    pub sessions_ended: i64,
    /// The position of the last event (absent for an empty pool).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
}

/// `POST /v1/tracking-pools/{id}/sessions` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewTrackingSession {
    /// The visitor (a first-party cookie, an analytics client id): the same
    /// visitor gets its live session's number back. 1 to 200 characters.
    #[cfg_attr(feature = "utoipa", schema(min_length = 1, max_length = 200, example = "v-7f3a9c"))]
    pub visitor_id: String,
    /// What to attribute the call to (campaign, source, landing page, click
    /// id): a JSON object of at most 1 KiB serialized, carried by the
    /// number's route while the lease lasts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<Object>))]
    pub attributes: Option<serde_json::Value>,
}

/// A session as the API shows it: the answer of a start, a renewal, an end
/// or a read. An exhausted pool's answer has `leased: false`, the pool's
/// fallback number (if any) and no session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject))]
pub struct TrackingSession {
    /// Absent when the pool was exhausted.
    #[serde(default)]
    pub session_id: Option<Uuid>,
    pub pool_id: Uuid,
    /// The number to show the visitor: the leased one, or the fallback.
    #[serde(default)]
    #[cfg_attr(feature = "utoipa", schema(example = "+15551234567"))]
    pub number: Option<String>,
    /// Whether `number` is leased to this session (false: the fallback).
    pub leased: bool,
    pub visitor_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<Object>))]
    pub attributes: Option<serde_json::Value>,
    /// When the lease ends unless renewed.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub started_at: Option<OffsetDateTime>,
    /// Ended sessions: when, and why (`ended`, `expired`, `pool_changed`).
    #[serde(default, with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_reason: Option<String>,
    /// A start for a visitor with a live session: that session, renewed.
    #[serde(default)]
    pub resumed: bool,
    /// The position of the change's event (wait for it at a lookup node
    /// with `min_seq`); absent when nothing routed changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
}
