//! Inventory imports (`POST /v1/inventory`): the JSON request, the CSV
//! columns, and the answer.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Price;

/// The columns a CSV import may have, in their usual order: the fields of
/// [`ImportRequest`], with `number` for one number or range per row.
pub const CSV_COLUMNS: [&str; 10] = [
    "number",
    "country",
    "region",
    "area_code",
    "provider",
    "carrier_module",
    "number_type",
    "monthly_cost",
    "currency",
    "tenant_id",
];

/// `numbers` as PortSIP syntax in one string, or a list of numbers/ranges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum NumbersInput {
    Text(String),
    List(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ImportRequest {
    pub numbers: NumbersInput,
    /// ISO 3166-1 alpha-2 of the numbers; it must be the country whose
    /// numbering plan owns them. Empty or absent: each range's country is
    /// the one its numbering plan names (a range no plan names one country
    /// for is rejected). With a country whose trunk prefix is `0`, numbers
    /// written in its national format (`02079460001` in GB) are read so.
    #[serde(default)]
    pub country: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub area_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier_module: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_type: Option<String>,
    /// A decimal string (`"1.25"`) or a number; default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monthly_cost: Option<Price>,
    /// ISO 4217; default USD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Puts the numbers in this tenant's private pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<Uuid>,
}

/// An input that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Rejected {
    pub input: String,
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ImportResult {
    pub imported: u64,
    pub already_present: u64,
    pub rejected: Vec<Rejected>,
}
