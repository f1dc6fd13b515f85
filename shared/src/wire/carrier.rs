//! Carriers as the operator sees them (`GET /v1/carriers`).

use serde::{Deserialize, Serialize};

/// One configured carrier and what its adapter knows of its health, without
/// calling it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct CarrierView {
    /// The configured name (`sim` in `DIDROUTE_CARRIERS=sim=telnyx+http://…`).
    pub name: String,
    /// The API the adapter speaks: `telnyx`.
    pub kind: String,
    /// The carrier's API root.
    pub base_url: String,
    /// False when the last call failed or the breaker is not closed.
    pub healthy: bool,
    /// The circuit breaker: `closed` (calls pass), `open` (calls refused for
    /// a while after repeated faults) or `half_open` (one probe passes).
    pub breaker: String,
    /// What the last failed call said, when the last call failed.
    pub last_error: Option<String>,
}

/// Every configured carrier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Carriers {
    pub carriers: Vec<CarrierView>,
}
