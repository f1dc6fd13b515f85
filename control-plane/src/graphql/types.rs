//! The GraphQL filters and the history lookup. The output types are the
//! REST wire types themselves (`didroute_shared::wire`, derived behind its
//! `graphql` feature), and the criteria and route inputs are the service
//! layer's own; the filters map onto the service's search query, which does
//! all the checking.

use std::sync::Arc;

use async_graphql::{Context, InputObject};
use didroute_shared::wire::graphql::{BoxFuture, HistorySource};
use didroute_shared::wire::HistoryEntry;
use didroute_shared::{Subsystem, E164};
use uuid::Uuid;

use crate::service::{inventory, numbers};

/// A number's history, read under the calling tenant's own context.
struct TenantHistory;

impl HistorySource for TenantHistory {
    fn history<'a>(
        &'a self,
        ctx: &'a Context<'_>,
        number: E164,
    ) -> BoxFuture<'a, async_graphql::Result<Vec<HistoryEntry>>> {
        Box::pin(async move {
            let (state, tenant) = super::schema::tenant(ctx)?;
            Ok(numbers::history(state, tenant, number).await?)
        })
    }
}

/// The history lookup the schema's `Number.history` resolves through.
pub fn history_source() -> Arc<dyn HistorySource> {
    Arc::new(TenantHistory)
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
