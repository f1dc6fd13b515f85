//! Orphans: numbers a carrier bills for that the inventory does not hold,
//! as reconciliation last found them (`carrier_orphans`). The operator
//! adopts one (it enters the inventory, active, at the carrier's price) or
//! has it disconnected at the carrier (a carrier job, as a hard delete).

use didroute_shared::problem::ProblemType;
use didroute_shared::wire::{InventoryItem, Orphan, OrphanCost, OrphanDisconnect, Orphans};
use didroute_shared::{numbering, Country, E164};
use sqlx::Row;

use super::idempotency::{self, Answer, Key};
use crate::error::{ApiError, ApiResult};
use crate::outbox::{self, Change};
use crate::state::AppState;

const TS: &str = r#"'YYYY-MM-DD"T"HH24:MI:SS"Z"'"#;

/// `GET /v1/orphans`.
pub async fn list(state: &AppState) -> ApiResult<Orphans> {
    let sql = format!(
        "SELECT carrier, e164, country, number_type, carrier_status, monthly_cost::text AS monthly_cost, currency,
                to_char(found_at AT TIME ZONE 'UTC', {TS}) AS found_at
         FROM carrier_orphans ORDER BY carrier, e164 LIMIT 10000"
    );
    let rows = sqlx::query(&sql).fetch_all(&state.db.operator).await?;
    let orphans = rows
        .iter()
        .map(|r| Orphan {
            carrier: r.get("carrier"),
            number: r.get("e164"),
            country: r.get("country"),
            number_type: r.get("number_type"),
            carrier_status: r.get("carrier_status"),
            monthly_cost: r.get::<Option<String>, _>("monthly_cost").map(|c| decimal(&c)),
            currency: r.get::<Option<String>, _>("currency").map(|c| c.trim().to_owned()),
            found_at: r.get("found_at"),
        })
        .collect();
    let totals: Vec<(String, String)> = sqlx::query_as(
        "SELECT trim(currency), sum(monthly_cost)::text FROM carrier_orphans
         WHERE currency IS NOT NULL GROUP BY currency ORDER BY currency",
    )
    .fetch_all(&state.db.operator)
    .await?;
    Ok(Orphans {
        orphans,
        monthly_cost_total: totals
            .into_iter()
            .map(|(currency, monthly_cost)| OrphanCost { currency, monthly_cost: decimal(&monthly_cost) })
            .collect(),
    })
}

/// A stored amount as prices are written everywhere else (`"1.00"`).
pub(crate) fn decimal(stored: &str) -> String {
    stored.parse::<didroute_shared::wire::Price>().map_or_else(|_| stored.to_owned(), |p| p.to_string())
}

/// The orphan row of `number`, locked; 404 when it is not one.
async fn locked(tx: &mut sqlx::PgConnection, number: E164) -> ApiResult<sqlx::postgres::PgRow> {
    sqlx::query(
        "SELECT carrier, country, number_type, monthly_cost::text AS monthly_cost, currency
         FROM carrier_orphans WHERE e164 = $1 ORDER BY carrier LIMIT 1 FOR UPDATE",
    )
    .bind(number.to_string())
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| ApiError::not_found(format!("{number} is not an orphan at any carrier (GET /v1/orphans)")))
}

/// `POST /v1/orphans/{number}/adopt`: into the inventory as an active
/// `inventory` number of its carrier.
pub async fn adopt(state: &AppState, number: E164, key: Option<&Key>) -> ApiResult<Answer<InventoryItem>> {
    let mut tx = state.db.operator.begin().await?;
    if let Some(first) = idempotency::repeat_stored(&mut tx, None, key).await? {
        return Ok(first);
    }
    let row = locked(&mut tx, number).await?;
    let carrier: String = row.get("carrier");
    let country = row
        .get::<Option<String>, _>("country")
        .and_then(|c| Country::parse(&c).ok())
        .or_else(|| numbering::region_of(number))
        .or_else(|| number.countries().next())
        .ok_or_else(|| ApiError::new(ProblemType::InvalidNumber, format!("{number} belongs to no country")))?;
    let inserted = sqlx::query(
        "INSERT INTO numbers (e164, country, area_code, provider, carrier_module, number_type, monthly_cost,
                              currency, provisioning_status)
         VALUES ($1, $2, CASE WHEN $1 LIKE '+1%' THEN substr($1, 3, 3) END, $3, 'inventory',
                 coalesce($4, 'local'), coalesce($5::numeric, 0), coalesce(trim($6), 'USD'), 'active')
         ON CONFLICT (e164) DO NOTHING",
    )
    .bind(number.to_string())
    .bind(country.alpha2())
    .bind(&carrier)
    .bind(row.get::<Option<String>, _>("number_type"))
    .bind(row.get::<Option<String>, _>("monthly_cost"))
    .bind(row.get::<Option<String>, _>("currency"))
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(ApiError::new(ProblemType::AlreadyExists, format!("{number} is in the inventory already")));
    }
    sqlx::query("DELETE FROM carrier_orphans WHERE e164 = $1").bind(number.to_string()).execute(&mut *tx).await?;
    let change = Change { number, tenant: None, detail: serde_json::json!({ "carrier": carrier }) };
    let id = outbox::record(&mut tx, "operator", "orphan.adopt", &[change]).await?;
    let item = super::view::item(&mut tx, number).await?;
    idempotency::keep(&mut tx, None, key, 200, &item, id).await?;
    tx.commit().await?;
    if let Some(id) = id {
        state.advance_head(outbox::sequence(&state.db.operator, id).await?);
    }
    Ok(Answer::Fresh(item))
}

/// `POST /v1/orphans/{number}/disconnect`: a carrier job releases it.
pub async fn disconnect(state: &AppState, number: E164, key: Option<&Key>) -> ApiResult<Answer<OrphanDisconnect>> {
    let mut tx = state.db.operator.begin().await?;
    if let Some(first) = idempotency::repeat_stored(&mut tx, None, key).await? {
        return Ok(first);
    }
    let row = locked(&mut tx, number).await?;
    let carrier: String = row.get("carrier");
    if super::orders::carrier(state, &carrier).is_none() {
        return Err(ApiError::new(
            ProblemType::UnknownCarrier,
            format!("carrier {carrier} is not configured any more"),
        ));
    }
    sqlx::query("INSERT INTO carrier_jobs (kind, carrier, e164) VALUES ('disconnect', $1, $2)")
        .bind(&carrier)
        .bind(number.to_string())
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM carrier_orphans WHERE e164 = $1").bind(number.to_string()).execute(&mut *tx).await?;
    sqlx::query("INSERT INTO audit_log (e164, actor, action, detail) VALUES ($1, 'operator', 'orphan.disconnect', $2)")
        .bind(number.to_string())
        .bind(serde_json::json!({ "carrier": carrier }))
        .execute(&mut *tx)
        .await?;
    let answer = OrphanDisconnect { number: number.to_string(), carrier, status: "disconnecting".into() };
    idempotency::keep(&mut tx, None, key, 202, &answer, None).await?;
    tx.commit().await?;
    Ok(Answer::Fresh(answer))
}
