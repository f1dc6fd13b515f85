//! Telnyx API v2 bodies as the simulator writes them: `data` plus `meta`,
//! errors as `{"errors": [{code, title, detail}]}`, money as decimal strings.

use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct Envelope<T, M = ()> {
    pub data: T,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta: Option<M>,
}

#[derive(Debug, Serialize)]
pub struct AvailableNumber {
    pub record_type: &'static str,
    pub phone_number: String,
    pub best_effort: bool,
    pub quickship: bool,
    pub reservable: bool,
    pub region_information: Vec<Region>,
    pub cost_information: CostInformation,
    pub features: Vec<Feature>,
}

#[derive(Debug, Serialize)]
pub struct Region {
    pub region_type: &'static str,
    pub region_name: String,
}

#[derive(Debug, Serialize)]
pub struct CostInformation {
    pub upfront_cost: &'static str,
    pub monthly_cost: &'static str,
    pub currency: &'static str,
}

#[derive(Debug, Serialize)]
pub struct Feature {
    pub name: &'static str,
}

#[derive(Debug, Serialize)]
pub struct SearchMeta {
    pub total_results: u64,
    pub best_effort_results: u64,
}

#[derive(Debug, Serialize)]
pub struct NumberOrder {
    pub id: String,
    pub record_type: &'static str,
    pub phone_numbers: Vec<OrderPhoneNumber>,
    pub phone_numbers_count: usize,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_reference: Option<String>,
    pub requirements_met: bool,
    pub sub_number_orders_ids: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Serialize)]
pub struct OrderPhoneNumber {
    pub id: String,
    pub record_type: &'static str,
    pub phone_number: String,
    pub phone_number_type: &'static str,
    pub country_iso_alpha2: String,
    pub requirements_met: bool,
    pub status: &'static str,
}

#[derive(Debug, Serialize)]
pub struct PhoneNumber {
    pub id: String,
    pub record_type: &'static str,
    pub phone_number: String,
    pub status: &'static str,
    pub country_iso_alpha2: String,
    pub phone_number_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_reference: Option<String>,
    pub tags: Vec<String>,
    pub purchased_at: String,
    pub created_at: String,
}

#[derive(Debug, Serialize)]
pub struct PageMeta {
    pub total_pages: u64,
    pub total_results: u64,
    pub page_number: u64,
    pub page_size: u64,
}

#[derive(Debug, Serialize)]
pub struct Errors {
    pub errors: Vec<ErrorObject>,
}

#[derive(Debug, Serialize)]
pub struct ErrorObject {
    pub code: &'static str,
    pub title: &'static str,
    pub detail: String,
}

impl Errors {
    pub fn one(code: &'static str, title: &'static str, detail: impl Into<String>) -> Self {
        Self { errors: vec![ErrorObject { code, title, detail: detail.into() }] }
    }
}
