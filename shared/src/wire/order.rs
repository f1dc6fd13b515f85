//! Ordering numbers from a carrier (`/v1/carriers/{carrier}/available-numbers`,
//! `/v1/orders`) and reconciliation reports (`/v1/reconciliations`).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One number in a carrier's stock, with its price as the carrier states it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct CarrierNumber {
    /// E.164.
    pub number: String,
    pub country: Option<String>,
    pub number_type: Option<String>,
    /// One-off price, a decimal string.
    pub upfront_cost: Option<String>,
    /// Monthly price, a decimal string.
    pub monthly_cost: Option<String>,
    pub currency: Option<String>,
    pub features: Vec<String>,
}

/// A carrier's stock matching a search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct CarrierNumbers {
    pub carrier: String,
    pub numbers: Vec<CarrierNumber>,
}

/// What an order by criteria looks for in the carrier's stock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OrderCriteria {
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub area_code: Option<String>,
    /// Digits the number contains.
    pub contains: Option<String>,
    /// `local`, `mobile`, `toll_free`, `national` or `shared_cost`.
    pub number_type: Option<String>,
}

/// `POST /v1/orders`: named numbers (`numbers`, as a carrier search found
/// them), or `criteria` and `quantity` (the worker searches the carrier).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewOrder {
    /// A configured carrier's name (`GET /v1/carriers`).
    pub carrier: String,
    /// E.164 numbers, 1 to 100.
    pub numbers: Option<Vec<String>>,
    pub criteria: Option<OrderCriteria>,
    /// With `criteria`: how many numbers, 1 to 100 (default 1).
    pub quantity: Option<u32>,
    /// `inventory` (default) or `managed` (needs `tenant_id`): the Kazoo
    /// carrier module the numbers enter the inventory under.
    pub carrier_module: Option<String>,
    /// The tenant whose private pool the numbers enter.
    pub tenant_id: Option<Uuid>,
}

/// The answer to `POST /v1/orders`: accepted, to be placed by the job worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct OrderAccepted {
    pub order_id: Uuid,
    /// `pending` until the carrier has the order.
    pub status: String,
}

/// A number of an order and its provisioning in the inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct OrderedNumber {
    pub number: String,
    /// `pending`, `active` or `purchase_failed`; null once the number left the inventory.
    pub provisioning_status: Option<String>,
}

/// `GET /v1/orders/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct OrderView {
    pub order_id: Uuid,
    pub carrier: String,
    /// `pending` (not yet placed at the carrier), `placed` (the carrier has
    /// it, not yet complete), `completed` or `failed`.
    pub status: String,
    pub carrier_module: String,
    pub tenant_id: Option<Uuid>,
    pub numbers: Vec<OrderedNumber>,
    pub criteria: Option<OrderCriteria>,
    pub quantity: Option<u32>,
    /// The carrier's own id of the order, once placed.
    pub carrier_order_id: Option<String>,
    /// Failed attempts of the job calling the carrier for this order.
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub completed_at: Option<String>,
}

/// `POST /v1/reconciliations`: the run asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ReconciliationAccepted {
    pub reconciliation_id: i64,
    /// `requested` until a control-plane instance starts it.
    pub status: String,
}

/// What one reconciliation found at one carrier and did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct CarrierReconciliation {
    pub carrier: String,
    /// Numbers the carrier's account lists.
    pub owned_at_carrier: u64,
    /// Inventory numbers of this carrier compared.
    pub checked: u64,
    /// Numbers gone or disconnected at the carrier: now `purchase_failed`
    /// and disabled, their routes withdrawn.
    pub gone: u64,
    /// Numbers pending in the inventory the carrier reports active: now active.
    pub activated: u64,
    /// Numbers the carrier bills for that the inventory does not hold.
    pub orphans: u64,
    /// What the orphans cost a month, per currency.
    #[serde(default)]
    pub orphans_monthly_cost: Vec<OrphanCost>,
    /// The first numbers of each kind (at most 100 each).
    pub gone_numbers: Vec<String>,
    pub activated_numbers: Vec<String>,
    pub orphan_numbers: Vec<String>,
    /// Why this carrier could not be reconciled (nothing was changed for it).
    pub error: Option<String>,
}

/// `GET /v1/reconciliations/latest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ReconciliationView {
    pub reconciliation_id: i64,
    /// `requested`, `running`, `finished` or `failed`.
    pub status: String,
    /// `schedule` (every `DIDROUTE_RECONCILE_INTERVAL_S`) or `request`.
    pub trigger: String,
    pub requested_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub carriers: Vec<CarrierReconciliation>,
}

/// A number a carrier bills for that the inventory does not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Orphan {
    pub carrier: String,
    pub number: String,
    pub country: Option<String>,
    pub number_type: Option<String>,
    /// Its status in the carrier's account (`active`, `purchase_pending`, …).
    pub carrier_status: String,
    /// The carrier's current monthly price for numbers of its country and
    /// type (a decimal string), when its stock shows one.
    pub monthly_cost: Option<String>,
    pub currency: Option<String>,
    /// When the reconciliation that found it ran.
    pub found_at: String,
}

/// What orphans cost a month, per currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct OrphanCost {
    pub currency: String,
    pub monthly_cost: String,
}

/// `GET /v1/orphans`: as the last reconciliation of each carrier found them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Orphans {
    pub orphans: Vec<Orphan>,
    pub monthly_cost_total: Vec<OrphanCost>,
}

/// `POST /v1/orphans/{number}/disconnect`: released at the carrier by the job worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct OrphanDisconnect {
    pub number: String,
    pub carrier: String,
    /// `disconnecting`.
    pub status: String,
}
