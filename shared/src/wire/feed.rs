//! The event feed (`GET /v1/events`): a page of change events.

use serde::{Deserialize, Serialize};

use crate::ChangeEvent;

/// A page of the change feed. The control plane serves `FeedPage` (of
/// [`ChangeEvent`]s); a reader that wants to judge each event on its own
/// (and skip one it cannot decode) reads `FeedPage<serde_json::Value>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct FeedPage<E = ChangeEvent> {
    pub events: Vec<E>,
    /// The seq of the last event returned, or `after` when none.
    pub last_seq: u64,
    /// The highest position that exists.
    pub head_seq: u64,
    /// The database's lineage now (see `ChangeEvent::lineage`): a page
    /// without events still tells a reader which history the head is of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lineage: Option<uuid::Uuid>,
}
