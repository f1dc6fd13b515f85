//! Business rules, independent of HTTP: the REST handlers (and later GraphQL)
//! call these, so no rule exists twice.

pub mod carrier_jobs;
pub mod claim;
pub mod csv;
pub mod feed_tokens;
pub mod filter;
pub mod idempotency;
pub mod inventory;
pub mod lifecycle;
pub mod numbers;
pub mod orders;
pub mod orphans;
pub mod provisioning;
pub mod ranges;
pub mod reconcile;
pub mod schema;
pub mod tenants;
pub mod tracking;
pub mod usage;
pub mod view;

use didroute_shared::problem::ProblemType;
use didroute_shared::wire::Price;
use sqlx::Row;
use uuid::Uuid;

use crate::auth::Principal;

/// How the audit log names who made a change.
pub fn actor(p: Principal) -> String {
    match p {
        Principal::Operator => "operator".to_owned(),
        Principal::Tenant { id, .. } => format!("tenant:{id}"),
        Principal::Feed => "feed".to_owned(),
    }
}

/// Longest name, label or id a caller chooses: tenant names and the text
/// fields of a route.
pub const LABEL_MAX: usize = 200;
/// Longest release reason.
pub const REASON_MAX: usize = 500;
/// Longest release notes.
pub const NOTES_MAX: usize = 5000;

/// Checks a free-text field: trimmed length within bounds.
pub fn check_text(field: &str, value: &str, max: usize) -> Result<(), crate::error::ApiError> {
    let len = value.trim().chars().count();
    if len == 0 {
        return Err(crate::error::ApiError::new(ProblemType::InvalidField, format!("{field} must not be empty")));
    }
    if value.chars().count() > max {
        return Err(crate::error::ApiError::new(
            ProblemType::InvalidField,
            format!("{field} is longer than {max} characters"),
        ));
    }
    if value.chars().any(|c| c.is_control()) {
        return Err(crate::error::ApiError::new(
            ProblemType::InvalidField,
            format!("{field} must not contain control characters"),
        ));
    }
    Ok(())
}

pub fn tenant_actor(t: Uuid) -> String {
    actor(Principal::Tenant { id: t, write: true })
}

/// A price column read as text (`numeric::text`), so no float ever holds it.
pub(crate) fn price(row: &sqlx::postgres::PgRow, column: &str) -> Result<Price, crate::error::ApiError> {
    let text: String = row.try_get(column)?;
    Ok(text.parse().map_err(|e| anyhow::anyhow!("stored {column} {text:?}: {e}"))?)
}
