//! Numbers as the service reads them back: a tenant's own numbers
//! ([`NumberView`]) and the operator's inventory rows ([`InventoryItem`]),
//! one query each for any number of them.

use std::collections::HashMap;

use didroute_shared::wire::{InventoryItem, NumberView};
use didroute_shared::{Country, Route, E164};
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

pub(crate) const VIEW_SELECT: &str = "
    SELECT n.e164, n.status, n.country, n.region, n.area_code, n.number_type, n.carrier_module,
           n.provisioning_status, n.monthly_cost::text AS monthly_cost, n.currency, n.version,
           n.reserved_until, n.cooldown_until, n.reclaim_until, n.release_reason, n.release_notes,
           n.updated_at, r.tenant_id AS r_tenant, r.subsystem, r.dashboard_id, r.customer_label,
           r.friendly_name, r.organisation_id, r.auto_provisioned, r.allocated_at,
           r.greeting_text, r.attributes, t.locale,
           CASE WHEN r.subsystem = 'psap' THEN t.greeting_emergency ELSE t.greeting_label END AS greeting_template
    FROM numbers n LEFT JOIN routes r ON r.e164 = n.e164 LEFT JOIN tenants t ON t.id = r.tenant_id";

pub(crate) fn view_from_row(row: &sqlx::postgres::PgRow) -> ApiResult<NumberView> {
    let e164: String = row.get("e164");
    let number = E164::parse(&e164).map_err(|e| anyhow::anyhow!("stored number {e164}: {e}"))?;
    let country: String = row.get("country");
    let route = match row.get::<Option<Uuid>, _>("r_tenant") {
        Some(tenant_id) => Some(Route {
            tenant_id,
            subsystem: row
                .get::<String, _>("subsystem")
                .parse()
                .map_err(|e| anyhow::anyhow!("stored route of {e164}: {e}"))?,
            dashboard_id: row.get("dashboard_id"),
            customer_label: row.get("customer_label"),
            country: Country::parse(&country).map_err(|e| anyhow::anyhow!("stored country of {e164}: {e}"))?,
            friendly_name: row.get("friendly_name"),
            organisation_id: row.get("organisation_id"),
            auto_provisioned: row.get("auto_provisioned"),
            // as didroute_emit puts them in the event, so the view's greeting
            // is the one the lookup node answers with
            locale: row
                .get::<Option<String>, _>("locale")
                .unwrap_or_else(|| didroute_shared::greeting::DEFAULT_LOCALE.to_owned()),
            greeting_template: row.get("greeting_template"),
            greeting_text: row.get("greeting_text"),
            attributes: match row.get::<Option<serde_json::Value>, _>("attributes") {
                Some(serde_json::Value::Object(map)) => Some(map),
                Some(other) => {
                    return Err(anyhow::anyhow!("stored attributes of {e164}: not an object: {other}").into())
                }
                None => None,
            },
            tracking: None,
        }),
        None => None,
    };
    let status: String = row.get("status");
    let (route, last_route) = if status == "allocated" { (route, None) } else { (None, route) };
    Ok(NumberView {
        number,
        status,
        country,
        region: row.get("region"),
        area_code: row.get("area_code"),
        number_type: row.get("number_type"),
        carrier_module: row.get("carrier_module"),
        provisioning_status: row.get("provisioning_status"),
        monthly_cost: super::price(row, "monthly_cost")?,
        currency: row.get("currency"),
        version: row.get("version"),
        route,
        last_route,
        allocated_at: row.get("allocated_at"),
        reserved_until: row.get("reserved_until"),
        cooldown_until: row.get("cooldown_until"),
        reclaim_until: row.get("reclaim_until"),
        release_reason: row.get("release_reason"),
        release_notes: row.get("release_notes"),
        updated_at: row.get("updated_at"),
    })
}

/// The tenant's own number (held by it in any status), or None.
pub(crate) async fn own_view(conn: &mut PgConnection, tenant: Uuid, number: E164) -> ApiResult<Option<NumberView>> {
    // tenant_id = $2 on top of RLS: available inventory is visible to the
    // tenant too, but is not "its number"
    let sql = format!("{VIEW_SELECT} WHERE n.e164 = $1 AND n.tenant_id = $2");
    let row = sqlx::query(&sql).bind(number.to_string()).bind(tenant).fetch_optional(&mut *conn).await?;
    row.as_ref().map(view_from_row).transpose()
}

pub(crate) fn not_yours(number: E164) -> ApiError {
    ApiError::not_found(format!("{number} is not one of your numbers"))
}

/// Several of the tenant's own numbers, in the order of `numbers`, in one
/// query; a number it does not hold is left out.
pub(crate) async fn own_views(conn: &mut PgConnection, tenant: Uuid, numbers: &[E164]) -> ApiResult<Vec<NumberView>> {
    let texts: Vec<String> = numbers.iter().map(E164::to_string).collect();
    let sql = format!("{VIEW_SELECT} WHERE n.e164 = ANY($1) AND n.tenant_id = $2");
    let rows = sqlx::query(&sql).bind(&texts).bind(tenant).fetch_all(&mut *conn).await?;
    let mut by_number = HashMap::with_capacity(rows.len());
    for row in &rows {
        let view = view_from_row(row)?;
        by_number.insert(view.number, view);
    }
    Ok(numbers.iter().filter_map(|n| by_number.remove(n)).collect())
}

pub(crate) const ITEM_COLUMNS: &str = "e164, country, region, area_code, provider, carrier_module, number_type,
    monthly_cost::text AS monthly_cost, currency, pool_tenant_id, tenant_id, status, provisioning_status,
    allow_unknown_provisioning, version, reserved_until, cooldown_until, reclaim_until, updated_at";

pub(crate) fn item_from_row(r: &sqlx::postgres::PgRow) -> ApiResult<InventoryItem> {
    let e164: String = r.get("e164");
    Ok(InventoryItem {
        number: E164::parse(&e164).map_err(|e| anyhow::anyhow!("stored number {e164}: {e}"))?,
        country: r.get("country"),
        region: r.get("region"),
        area_code: r.get("area_code"),
        provider: r.get("provider"),
        carrier_module: r.get("carrier_module"),
        number_type: r.get("number_type"),
        monthly_cost: super::price(r, "monthly_cost")?,
        currency: r.get("currency"),
        pool_tenant_id: r.get("pool_tenant_id"),
        tenant_id: r.get("tenant_id"),
        status: r.get("status"),
        provisioning_status: r.get("provisioning_status"),
        allow_unknown_provisioning: r.get("allow_unknown_provisioning"),
        version: r.get("version"),
        reserved_until: r.get("reserved_until"),
        cooldown_until: r.get("cooldown_until"),
        reclaim_until: r.get("reclaim_until"),
        updated_at: r.get("updated_at"),
    })
}

/// One number's inventory row, inside the caller's transaction.
pub async fn item(conn: &mut PgConnection, number: E164) -> ApiResult<InventoryItem> {
    let row = sqlx::query(&format!("SELECT {ITEM_COLUMNS} FROM numbers WHERE e164 = $1"))
        .bind(number.to_string())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("{number} is not in the inventory")))?;
    item_from_row(&row)
}
