//! The GraphQL types: the REST JSON documents, typed.
//!
//! Output types deserialize from exactly what the REST API serializes (the
//! service layer's own structs, through serde), so both APIs answer with the
//! same data; field names are the REST names in camelCase. Input types map
//! one to one onto the service layer's inputs, which do all the checking.

use async_graphql::{ComplexObject, Context, Enum, InputObject, Object, SimpleObject};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::service::numbers::parse_number;
use crate::service::{claim, inventory, numbers};

/// What a DB round trip costs in the complexity budget (see `schema.rs`).
pub const DB_COST: usize = 20;

/// A service answer as its GraphQL type: serialize as REST does, read back typed.
pub fn from_rest<T: Serialize, U: DeserializeOwned>(value: &T) -> ApiResult<U> {
    let json = serde_json::to_value(value).map_err(|e| anyhow::anyhow!("serialising a service answer: {e}"))?;
    from_json(json)
}

/// A REST JSON document (a claim's answer, say) as its GraphQL type.
pub fn from_json<U: DeserializeOwned>(json: serde_json::Value) -> ApiResult<U> {
    serde_json::from_value(json).map_err(|e| ApiError::Internal(anyhow::anyhow!("reading a service answer: {e}")))
}

/// Which call-handling surface receives calls to a number.
#[derive(Enum, Debug, Copy, Clone, Eq, PartialEq, Serialize)]
#[graphql(remote = "didroute_shared::Subsystem")]
#[serde(rename_all = "snake_case")]
pub enum Subsystem {
    Psap,
    Utilities,
    DocumentTelephony,
    Mdoc,
}

/// `EMERGENCY` for PSAP lines, `LABEL` for the others.
#[derive(Enum, Debug, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "didroute_shared::GreetingKind")]
pub enum GreetingKind {
    Emergency,
    Label,
}

/// What plays when a call to a number connects.
#[derive(SimpleObject)]
pub struct Greeting {
    pub kind: GreetingKind,
    /// Set for `EMERGENCY` greetings only.
    pub emergency_number: Option<String>,
    pub text: String,
}

/// A route as the REST API serializes it.
#[derive(Deserialize)]
#[serde(transparent)]
pub struct Route(pub didroute_shared::Route);

/// Where calls to an allocated number go: what a lookup node answers.
#[Object]
impl Route {
    async fn tenant_id(&self) -> Uuid {
        self.0.tenant_id
    }
    async fn subsystem(&self) -> Subsystem {
        self.0.subsystem.into()
    }
    /// Which dashboard shows calls to this number.
    async fn dashboard_id(&self) -> &str {
        &self.0.dashboard_id
    }
    async fn customer_label(&self) -> &str {
        &self.0.customer_label
    }
    /// ISO 3166-1 alpha-2.
    async fn country(&self) -> &str {
        self.0.country.alpha2()
    }
    async fn friendly_name(&self) -> Option<&str> {
        self.0.friendly_name.as_deref()
    }
    async fn organisation_id(&self) -> Option<&str> {
        self.0.organisation_id.as_deref()
    }
    async fn auto_provisioned(&self) -> bool {
        self.0.auto_provisioned
    }
    /// The greeting a caller hears (the rule lives in `didroute_shared`).
    async fn greeting(&self) -> Greeting {
        let g = self.0.greeting();
        Greeting { kind: g.kind.into(), emergency_number: g.emergency_number, text: g.text }
    }
}

/// One of the tenant's numbers, as `GET /v1/numbers/{number}` answers.
#[derive(SimpleObject, Deserialize)]
#[graphql(complex)]
pub struct Number {
    /// E.164, `+15551234567`.
    pub number: String,
    /// reserved, allocated, cooldown or aging.
    pub status: String,
    pub country: String,
    pub region: Option<String>,
    pub area_code: Option<String>,
    pub number_type: String,
    pub carrier_module: String,
    pub provisioning_status: String,
    pub monthly_cost: f64,
    pub currency: String,
    /// The number's own change counter.
    pub version: i64,
    /// Where the number routes; set only while it is allocated.
    pub route: Option<Route>,
    /// The route a released number had (cooldown, aging): what a reclaim restores.
    #[serde(default)]
    pub last_route: Option<Route>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub allocated_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub reserved_until: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub cooldown_until: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub reclaim_until: Option<OffsetDateTime>,
    pub release_reason: Option<String>,
    pub release_notes: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

#[ComplexObject]
impl Number {
    /// The audit trail of this number as the tenant may see it (its own entries).
    #[graphql(complexity = "DB_COST + child_complexity")]
    async fn history(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<HistoryEntry>> {
        let (state, tenant) = super::schema::tenant(ctx)?;
        let entries = numbers::history(state, tenant, parse_number(&self.number)?).await?;
        Ok(from_rest(&entries)?)
    }
}

/// One audit row.
#[derive(SimpleObject, Deserialize)]
pub struct HistoryEntry {
    pub id: i64,
    /// `number.allocate`, `number.remap`, `number.release`, …
    pub action: String,
    /// `operator` or `tenant:<id>`.
    pub actor: String,
    /// What changed (the route before and after, the release reason, …).
    pub detail: async_graphql::Json<serde_json::Value>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// A page of the tenant's numbers.
#[derive(SimpleObject, Deserialize)]
pub struct NumberPage {
    pub numbers: Vec<Number>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// A number the tenant may take, with its cost.
#[derive(SimpleObject, Deserialize)]
pub struct AvailableNumber {
    pub number: String,
    pub country: String,
    pub region: Option<String>,
    pub area_code: Option<String>,
    pub number_type: String,
    pub monthly_cost: f64,
    pub currency: String,
    /// In the tenant's own private pool (only it can take it).
    pub private_pool: bool,
}

#[derive(SimpleObject, Deserialize)]
pub struct AvailableNumberPage {
    pub numbers: Vec<AvailableNumber>,
    pub next_cursor: Option<String>,
}

/// One inventory row as the operator sees it.
#[derive(SimpleObject, Deserialize)]
pub struct InventoryItem {
    pub number: String,
    pub country: String,
    pub region: Option<String>,
    pub area_code: Option<String>,
    pub provider: String,
    pub carrier_module: String,
    pub number_type: String,
    pub monthly_cost: f64,
    pub currency: String,
    /// The tenant whose private pool holds it; null for public inventory.
    pub pool_tenant_id: Option<Uuid>,
    /// The tenant holding it (reserved, allocated, cooldown, aging).
    pub tenant_id: Option<Uuid>,
    pub status: String,
    pub provisioning_status: String,
    pub allow_unknown_provisioning: bool,
    pub version: i64,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub reserved_until: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub cooldown_until: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub reclaim_until: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

#[derive(SimpleObject, Deserialize)]
pub struct InventoryPage {
    pub numbers: Vec<InventoryItem>,
    pub next_cursor: Option<String>,
}

#[derive(SimpleObject, Deserialize)]
pub struct Tenant {
    pub id: Uuid,
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// Numbers taken (allocated or reserved) and the event-feed position of the change.
#[derive(SimpleObject, Deserialize)]
pub struct Claimed {
    pub numbers: Vec<Number>,
    /// Pass as `min_seq` to a lookup node to read this write.
    pub seq: u64,
}

/// A changed number (remap, reclaim) and the position of the change.
#[derive(SimpleObject)]
pub struct NumberChange {
    pub number: Number,
    pub seq: u64,
}

/// A released number: null for the tenant's own `local`/`mdn` numbers,
/// which are deleted on release.
#[derive(SimpleObject)]
pub struct Released {
    pub number: Option<Number>,
    pub seq: u64,
}

#[derive(SimpleObject)]
pub struct ReservationCancelled {
    pub number: String,
    /// Always `available`.
    pub status: String,
    pub seq: u64,
}

/// Filters of the tenant's numbers.
#[derive(InputObject, Default)]
pub struct NumbersFilter {
    pub subsystem: Option<Subsystem>,
    /// reserved, allocated, cooldown or aging.
    pub status: Option<String>,
}

/// Filters of the numbers a tenant may take.
#[derive(InputObject, Default)]
pub struct AvailableFilter {
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    pub region: Option<String>,
    pub area_code: Option<String>,
    /// Leading digits (`1555`, `+4420`).
    pub prefix: Option<String>,
    /// Digits anywhere in the number.
    pub contains: Option<String>,
    pub number_type: Option<String>,
}

impl AvailableFilter {
    pub fn query(self, limit: Option<i64>, cursor: Option<String>) -> inventory::SearchQuery {
        inventory::SearchQuery {
            country: self.country,
            region: self.region,
            area_code: self.area_code,
            prefix: self.prefix,
            contains: self.contains,
            number_type: self.number_type,
            limit,
            cursor,
            ..Default::default()
        }
    }
}

/// Filters of the operator's inventory search (every status).
#[derive(InputObject, Default)]
pub struct InventoryFilter {
    pub country: Option<String>,
    pub region: Option<String>,
    pub area_code: Option<String>,
    pub prefix: Option<String>,
    pub contains: Option<String>,
    pub number_type: Option<String>,
    pub status: Option<String>,
    pub provisioning_status: Option<String>,
    /// Holder or private-pool tenant.
    pub tenant_id: Option<Uuid>,
}

impl InventoryFilter {
    pub fn query(self, limit: Option<i64>, cursor: Option<String>) -> inventory::SearchQuery {
        inventory::SearchQuery {
            country: self.country,
            region: self.region,
            area_code: self.area_code,
            prefix: self.prefix,
            contains: self.contains,
            number_type: self.number_type,
            status: self.status,
            provisioning_status: self.provisioning_status,
            tenant_id: self.tenant_id,
            limit,
            cursor,
        }
    }
}

/// "Any numbers matching these": what `allocate` and `reserve` take instead of a number.
#[derive(InputObject, Serialize, Clone)]
pub struct CriteriaInput {
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub region: Option<String>,
    pub area_code: Option<String>,
    /// Leading digits of the number, with or without `+`.
    pub prefix: Option<String>,
    pub number_type: Option<String>,
}

impl From<CriteriaInput> for claim::Criteria {
    fn from(c: CriteriaInput) -> Self {
        claim::Criteria {
            country: c.country,
            region: c.region,
            area_code: c.area_code,
            prefix: c.prefix,
            number_type: c.number_type,
        }
    }
}

/// The routing fields a tenant sets when allocating.
#[derive(InputObject, Serialize, Clone)]
pub struct RouteInput {
    pub subsystem: Subsystem,
    pub dashboard_id: String,
    pub customer_label: String,
    pub friendly_name: Option<String>,
    pub organisation_id: Option<String>,
    #[graphql(default)]
    pub auto_provisioned: bool,
}

impl From<RouteInput> for numbers::RouteInput {
    fn from(r: RouteInput) -> Self {
        numbers::RouteInput {
            subsystem: r.subsystem.into(),
            dashboard_id: r.dashboard_id,
            customer_label: r.customer_label,
            friendly_name: r.friendly_name,
            organisation_id: r.organisation_id,
            auto_provisioned: r.auto_provisioned,
        }
    }
}
