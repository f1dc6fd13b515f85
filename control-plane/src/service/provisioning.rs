//! Operator changes to one inventory number: provisioning health, hard
//! blocks, cost, provider, and hard delete.
//!
//! A number whose provisioning fails while it is allocated, or that the
//! operator disables, stops routing at once: its route is withdrawn and a
//! delete event published, in the same transaction as the change.

use didroute_shared::problem::ProblemType;
use didroute_shared::wire::{Patched, Price};
use didroute_shared::E164;
use serde::Deserialize;
use sqlx::Row;
use uuid::Uuid;

use super::idempotency::{self, Answer, Key};
use crate::error::{ApiError, ApiResult};
use crate::outbox::{self, Change};
use crate::state::AppState;

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InventoryPatch {
    pub provisioning_status: Option<String>,
    /// true: block the number (withdrawing its route); false: unblock it
    /// back to available.
    pub disabled: Option<bool>,
    /// A decimal string (`"1.25"`) or a number: at most 4 decimal places.
    pub monthly_cost: Option<Price>,
    pub provider: Option<String>,
    /// Let manually managed numbers whose provisioning is `unknown` be allocated.
    pub allow_unknown_provisioning: Option<bool>,
}

/// Provisioning states that mean the number cannot carry calls.
const FAILED: &str = "purchase_failed";

pub async fn patch(state: &AppState, number: E164, p: InventoryPatch, key: Option<&Key>) -> ApiResult<Answer<Patched>> {
    if let Some(ps) = &p.provisioning_status {
        if !["unknown", "pending", "active", "purchase_failed", "port_pending"].contains(&ps.as_str()) {
            return Err(ApiError::new(
                ProblemType::InvalidField,
                "provisioning_status must be one of unknown, pending, active, purchase_failed, port_pending",
            ));
        }
    }
    if let Some(pr) = &p.provider {
        super::check_text("provider", pr, 100)?;
    }
    let mut tx = state.db.operator.begin().await?;
    if let Some(first) = idempotency::repeat(state, &mut tx, None, key).await? {
        return Ok(first);
    }
    let row = sqlx::query("SELECT status, tenant_id FROM numbers WHERE e164 = $1 FOR UPDATE")
        .bind(number.to_string())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("{number} is not in the inventory")))?;
    let status: String = row.get("status");
    let holder: Option<Uuid> = row.get("tenant_id");

    let provisioning_failed = p.provisioning_status.as_deref() == Some(FAILED);
    let block = p.disabled == Some(true) || (provisioning_failed && status == "allocated");
    let unblock = p.disabled == Some(false) && status == "disabled";
    if block && status != "disabled" {
        // the route goes with the block; the holder loses the number
        sqlx::query("DELETE FROM routes WHERE e164 = $1").bind(number.to_string()).execute(&mut *tx).await?;
    }
    let new_status = if block {
        "disabled"
    } else if unblock {
        "available"
    } else {
        status.as_str()
    };
    sqlx::query(
        "UPDATE numbers
         SET provisioning_status = coalesce($2, provisioning_status),
             monthly_cost = coalesce($3::numeric, monthly_cost),
             provider = coalesce($4, provider),
             allow_unknown_provisioning = coalesce($5, allow_unknown_provisioning),
             status = $6,
             tenant_id = CASE WHEN $6 IN ('disabled', 'available') THEN NULL ELSE tenant_id END,
             reserved_until = CASE WHEN $6 IN ('disabled', 'available') THEN NULL ELSE reserved_until END,
             cooldown_until = CASE WHEN $6 IN ('disabled', 'available') THEN NULL ELSE cooldown_until END,
             reclaim_until = CASE WHEN $6 IN ('disabled', 'available') THEN NULL ELSE reclaim_until END
         WHERE e164 = $1",
    )
    .bind(number.to_string())
    .bind(&p.provisioning_status)
    .bind(p.monthly_cost.map(|c| c.to_string()))
    .bind(&p.provider)
    .bind(p.allow_unknown_provisioning)
    .bind(new_status)
    .execute(&mut *tx)
    .await?;
    let detail = serde_json::json!({
        "from_status": status,
        "to_status": new_status,
        "provisioning_status": p.provisioning_status,
        "disabled": p.disabled,
        "monthly_cost": p.monthly_cost,
        "provider": p.provider,
        "allow_unknown_provisioning": p.allow_unknown_provisioning,
    });
    let action = if block && status != "disabled" {
        "number.disable"
    } else if unblock {
        "number.enable"
    } else {
        "inventory.update"
    };
    let change = Change { number, tenant: holder, detail };
    let id = outbox::record(&mut tx, "operator", action, &[change]).await?;
    let item = super::view::item(&mut tx, number).await?;
    // stored with a placeholder position when routing changed, null when
    // not: a replay reads the position again only where there is one
    let mut answer = Patched { number: item, seq: id.map(|_| 0) };
    idempotency::keep(&mut tx, None, key, 200, &answer, id).await?;
    tx.commit().await?;
    if let Some(id) = id {
        let seq = outbox::sequence(&state.db.operator, id).await?;
        state.advance_head(seq);
        answer.seq = Some(seq);
    }
    Ok(Answer::Fresh(answer))
}

/// Removes a number from the inventory for good; refused while a tenant
/// holds it allocated or reserved, while its carrier order is pending, and
/// (without `force`) while it is cooling down or aging, when its tenant may
/// still reclaim it. An `inventory` or `managed` number of a configured
/// carrier is released there too: the disconnect is a carrier job written in
/// this transaction (the worker calls the carrier). `local` and `mdn`
/// numbers are the tenant's own: the carrier is never called for them.
pub async fn delete(state: &AppState, number: E164, force: bool, key: Option<&Key>) -> ApiResult<()> {
    let mut tx = state.db.operator.begin().await?;
    // a retried delete whose first answer was lost succeeds again rather
    // than answering 404 for the number it removed
    if idempotency::repeat_stored::<()>(&mut tx, None, key).await?.is_some() {
        return Ok(());
    }
    let row = sqlx::query(
        "SELECT status, tenant_id, provider, carrier_module, provisioning_status FROM numbers
         WHERE e164 = $1 FOR UPDATE",
    )
    .bind(number.to_string())
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| ApiError::not_found(format!("{number} is not in the inventory")))?;
    let status: String = row.get("status");
    if status == "allocated" || status == "reserved" {
        return Err(ApiError::new(
            ProblemType::NumberInUse,
            format!("{number} is {status}; it can be deleted once released (or disable it first)"),
        ));
    }
    if row.get::<String, _>("provisioning_status") == "pending" {
        return Err(ApiError::new(
            ProblemType::OrderPending,
            format!("{number} is being ordered from its carrier; delete it once the order completed"),
        ));
    }
    if !force && status == "cooldown" {
        return Err(ApiError::new(
            ProblemType::InCooldown,
            format!(
                "{number} is cooling down and its tenant may still reclaim it; add ?force=true to delete it anyway"
            ),
        ));
    }
    if !force && status == "aging" {
        return Err(ApiError::new(
            ProblemType::ReclaimWindowOpen,
            format!("{number} is in its reclaim window and its tenant may still reclaim it; add ?force=true to delete it anyway"),
        ));
    }
    let provider: String = row.get("provider");
    let module: String = row.get("carrier_module");
    let at_carrier =
        matches!(module.as_str(), "inventory" | "managed") && super::orders::carrier(state, &provider).is_some();
    sqlx::query("DELETE FROM numbers WHERE e164 = $1").bind(number.to_string()).execute(&mut *tx).await?;
    if at_carrier {
        sqlx::query("INSERT INTO carrier_jobs (kind, carrier, e164) VALUES ('disconnect', $1, $2)")
            .bind(&provider)
            .bind(number.to_string())
            .execute(&mut *tx)
            .await?;
    }
    let detail = serde_json::json!({
        "from_status": status, "forced": force, "carrier_module": module,
        "disconnect_at_carrier": at_carrier.then_some(&provider),
    });
    let change = Change { number, tenant: row.get("tenant_id"), detail };
    let id = outbox::record(&mut tx, "operator", "inventory.delete", &[change]).await?;
    idempotency::keep(&mut tx, None, key, 204, &(), id).await?;
    tx.commit().await?;
    if let Some(id) = id {
        state.advance_head(outbox::sequence(&state.db.operator, id).await?);
    }
    Ok(())
}
