//! Numbers as the API shows them: a tenant's own numbers, the numbers a
//! tenant may take, the operator's inventory rows, and the answers to changes.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::Price;
use crate::{Route, E164};

/// One number as its tenant sees it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject), graphql(name = "Number", complex))]
pub struct NumberView {
    /// E.164, `+15551234567`.
    #[cfg_attr(feature = "utoipa", schema(value_type = String, example = "+15551234567"))]
    #[cfg_attr(
        feature = "graphql",
        graphql(skip_output, derived(name = "number", into = "String", owned, with = "super::e164_text"))
    )]
    pub number: E164,
    /// reserved, allocated, cooldown or aging.
    pub status: String,
    pub country: String,
    pub region: Option<String>,
    pub area_code: Option<String>,
    pub number_type: String,
    pub carrier_module: String,
    pub provisioning_status: String,
    /// A decimal string, `"1.25"`, in `currency`.
    #[cfg_attr(
        feature = "graphql",
        graphql(skip_output, derived(name = "monthly_cost", into = "String", owned, with = "super::price_text"))
    )]
    pub monthly_cost: Price,
    pub currency: String,
    /// The number's own change counter.
    pub version: i64,
    /// Where the number routes; set only while it is allocated.
    pub route: Option<Route>,
    /// The route a released number had (cooldown, aging): what a reclaim restores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_route: Option<Route>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub allocated_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub reserved_until: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub cooldown_until: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub reclaim_until: Option<OffsetDateTime>,
    pub release_reason: Option<String>,
    pub release_notes: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// A page of the tenant's numbers.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject), graphql(name = "NumberPage"))]
pub struct NumbersPage {
    pub numbers: Vec<NumberView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// A number a tenant may take, with its cost.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject))]
pub struct AvailableNumber {
    #[cfg_attr(feature = "utoipa", schema(value_type = String, example = "+15551234567"))]
    #[cfg_attr(
        feature = "graphql",
        graphql(skip_output, derived(name = "number", into = "String", owned, with = "super::e164_text"))
    )]
    pub number: E164,
    pub country: String,
    pub region: Option<String>,
    pub area_code: Option<String>,
    pub number_type: String,
    /// A decimal string, `"1.25"`, in `currency`.
    #[cfg_attr(
        feature = "graphql",
        graphql(skip_output, derived(name = "monthly_cost", into = "String", owned, with = "super::price_text"))
    )]
    pub monthly_cost: Price,
    pub currency: String,
    /// In the tenant's own private pool (only it can take it).
    pub private_pool: bool,
}

/// A page of numbers a tenant may take.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject), graphql(name = "AvailableNumberPage"))]
pub struct AvailablePage {
    pub numbers: Vec<AvailableNumber>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// One inventory row as the operator sees it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject))]
pub struct InventoryItem {
    #[cfg_attr(feature = "utoipa", schema(value_type = String, example = "+15551234567"))]
    #[cfg_attr(
        feature = "graphql",
        graphql(skip_output, derived(name = "number", into = "String", owned, with = "super::e164_text"))
    )]
    pub number: E164,
    pub country: String,
    pub region: Option<String>,
    pub area_code: Option<String>,
    pub provider: String,
    pub carrier_module: String,
    pub number_type: String,
    /// A decimal string, `"1.25"`, in `currency`.
    #[cfg_attr(
        feature = "graphql",
        graphql(skip_output, derived(name = "monthly_cost", into = "String", owned, with = "super::price_text"))
    )]
    pub monthly_cost: Price,
    pub currency: String,
    /// The tenant whose private pool holds it; None for public inventory.
    pub pool_tenant_id: Option<Uuid>,
    /// The tenant holding it (reserved, allocated, cooldown, aging).
    pub tenant_id: Option<Uuid>,
    pub status: String,
    pub provisioning_status: String,
    pub allow_unknown_provisioning: bool,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339::option")]
    pub reserved_until: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub cooldown_until: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub reclaim_until: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// A page of inventory.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject))]
pub struct InventoryPage {
    pub numbers: Vec<InventoryItem>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// An inventory number after an operator's change.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Patched {
    pub number: InventoryItem,
    /// Position of the change event, when the change touched routing or status.
    pub seq: Option<u64>,
}

/// Numbers just taken (allocated or reserved) and the position of the change.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject))]
pub struct Claimed {
    pub numbers: Vec<NumberView>,
    /// Outbox position: pass as `min_seq` to a lookup node to read this write.
    pub seq: u64,
}

/// One number after a change (remap, reclaim), and the position of the
/// change. REST answers the number's fields with `seq` beside them; GraphQL
/// nests the number under `number`.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject), graphql(name = "NumberChange"))]
pub struct NumberChanged {
    #[serde(flatten)]
    #[cfg_attr(feature = "utoipa", schema(inline))]
    pub number: NumberView,
    pub seq: u64,
}

impl<'de> Deserialize<'de> for NumberChanged {
    /// By hand: `#[serde(flatten)]` buffers the fields in serde's own content
    /// type, from which a [`Price`] (read as raw JSON) cannot be read.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<NumberChanged, D::Error> {
        use serde::de::Error;
        let mut fields = serde_json::Map::<String, serde_json::Value>::deserialize(d)?;
        let seq = fields.remove("seq").ok_or_else(|| D::Error::missing_field("seq"))?;
        Ok(NumberChanged {
            seq: u64::deserialize(seq).map_err(D::Error::custom)?,
            number: NumberView::deserialize(serde_json::Value::Object(fields)).map_err(D::Error::custom)?,
        })
    }
}

/// A released number (absent for the tenant's own local/mdn numbers, which
/// release deletes) and the position of the change.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject))]
pub struct Released {
    pub number: Option<NumberView>,
    pub seq: u64,
}

/// A cancelled reservation: the number is back in inventory.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject), graphql(name = "ReservationCancelled"))]
pub struct Cancelled {
    #[cfg_attr(feature = "utoipa", schema(value_type = String, example = "+15551234567"))]
    #[cfg_attr(
        feature = "graphql",
        graphql(skip_output, derived(name = "number", into = "String", owned, with = "super::e164_text"))
    )]
    pub number: E164,
    /// Always `available`.
    #[cfg_attr(feature = "utoipa", schema(example = "available"))]
    pub status: String,
    pub seq: u64,
}
