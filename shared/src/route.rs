//! The routing record of an allocated number: what a lookup answers.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Country, Greeting, Subsystem};

/// Where calls to one allocated number go.
///
/// Holds routing content only, no timestamps or per-number counters, so that
/// the many numbers sharing one route (a tenant's dispatch lines, say) share
/// one record in the lookup snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject), graphql(complex))]
pub struct Route {
    pub tenant_id: Uuid,
    pub subsystem: Subsystem,
    /// Which dashboard shows calls to this number.
    pub dashboard_id: String,
    /// The customer-facing name; non-PSAP greetings are built from it.
    pub customer_label: String,
    /// The number's country: picks the emergency number of a PSAP greeting.
    #[cfg_attr(feature = "utoipa", schema(value_type = String, example = "US"))]
    #[cfg_attr(feature = "graphql", graphql(skip))]
    pub country: Country,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub friendly_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation_id: Option<String>,
    #[serde(default)]
    pub auto_provisioned: bool,
}

impl Route {
    /// The greeting a caller hears on this number.
    pub fn greeting(&self) -> Greeting {
        Greeting::for_route(self.subsystem, self.country, &self.customer_label)
    }
}
