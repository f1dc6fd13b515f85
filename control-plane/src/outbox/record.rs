//! Recording changes to numbers: the audit rows and outbox rows that commit
//! with every state change, written in one statement each however many
//! numbers changed.

use didroute_shared::E164;
use sqlx::PgConnection;
use uuid::Uuid;

/// One number's change, as the audit log and the outbox record it.
#[derive(Debug, Clone)]
pub struct Change {
    pub number: E164,
    /// The tenant the change concerns (holder before or after); None for
    /// numbers no tenant holds.
    pub tenant: Option<Uuid>,
    pub detail: serde_json::Value,
}

/// Appends an audit row and an outbox row per change inside the caller's
/// transaction, after the change itself: the event is derived from the
/// number's state by `didroute_emit`. Returns the highest outbox id (None for
/// no changes).
pub async fn record(
    conn: &mut PgConnection,
    actor: &str,
    action: &str,
    changes: &[Change],
) -> Result<Option<i64>, sqlx::Error> {
    if changes.is_empty() {
        return Ok(None);
    }
    let numbers: Vec<String> = changes.iter().map(|c| c.number.to_string()).collect();
    let tenants: Vec<Option<Uuid>> = changes.iter().map(|c| c.tenant).collect();
    let details: Vec<serde_json::Value> = changes.iter().map(|c| c.detail.clone()).collect();
    // one statement: the audit rows, and the events themselves, derived from
    // the numbers' state by didroute_emit in the order of `changes` (the CTE
    // runs whether or not the outer query reads it)
    sqlx::query_scalar(
        "WITH audit AS (
             INSERT INTO audit_log (e164, tenant_id, actor, action, detail)
             SELECT e, t, $3, $4, d FROM unnest($1::text[], $2::uuid[], $5::jsonb[]) AS x(e, t, d))
         SELECT max(id) FROM (SELECT didroute_emit(e) AS id FROM unnest($1::text[]) AS e) AS emitted",
    )
    .bind(&numbers)
    .bind(&tenants)
    .bind(actor)
    .bind(action)
    .bind(&details)
    .fetch_one(&mut *conn)
    .await
}
