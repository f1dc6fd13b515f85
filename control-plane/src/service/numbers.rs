//! A tenant's numbers: allocate, read, remap, release, history.
//!
//! Every change is one transaction on the app pool under the tenant's
//! context: the state change, an audit row and an outbox row commit together.
//! After commit the outbox row is sequenced and its position returned, so the
//! caller can read its own write from a lookup node (`min_seq`).

use didroute_shared::problem::ProblemType;
use didroute_shared::wire::{HistoryEntry, NumberChanged, NumberView, NumbersPage, Released};
use didroute_shared::{Country, Route, Subsystem, E164};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use time::OffsetDateTime;
use uuid::Uuid;

use super::idempotency::{self, Answer, Key};
use super::view::{not_yours, own_view, view_from_row, VIEW_SELECT};
use crate::error::{ApiError, ApiResult};
use crate::outbox::{self, commit_and_sequence, Change};
use crate::state::AppState;

/// The routing fields a tenant sets when allocating.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema, async_graphql::InputObject)]
pub struct RouteInput {
    pub subsystem: Subsystem,
    #[schema(value_type = super::schema::LabelText, inline)]
    pub dashboard_id: String,
    #[schema(value_type = super::schema::LabelText, inline)]
    pub customer_label: String,
    #[schema(value_type = Option<super::schema::LabelText>, inline)]
    pub friendly_name: Option<String>,
    #[schema(value_type = Option<super::schema::LabelText>, inline)]
    pub organisation_id: Option<String>,
    #[serde(default)]
    #[graphql(default)]
    pub auto_provisioned: bool,
    /// The number's own greeting, said as written instead of the tenant's
    /// templates (1 to 500 characters).
    #[schema(value_type = Option<String>, min_length = 1, max_length = 500)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub greeting_text: Option<String>,
    /// What a voice-AI prewarmer needs from the route: a JSON object of at
    /// most 1 KiB serialized, returned by the lookup node as it is.
    #[schema(value_type = Option<Object>)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<serde_json::Value>,
}

impl RouteInput {
    pub(crate) fn validate(&self) -> ApiResult<()> {
        refuse_tracking(Some(self.subsystem))?;
        super::check_text("dashboard_id", &self.dashboard_id, super::LABEL_MAX)?;
        super::check_text("customer_label", &self.customer_label, super::LABEL_MAX)?;
        if let Some(f) = &self.friendly_name {
            super::check_text("friendly_name", f, super::LABEL_MAX)?;
        }
        if let Some(o) = &self.organisation_id {
            super::check_text("organisation_id", o, super::LABEL_MAX)?;
        }
        if let Some(t) = &self.greeting_text {
            check_greeting_text(t)?;
        }
        if let Some(a) = &self.attributes {
            check_attributes(a)?;
        }
        Ok(())
    }
}

/// Subsystem `tracking` is a tracking pool's alone: a number gets it by
/// joining a pool, never by allocation or remap.
pub(crate) fn refuse_tracking(subsystem: Option<Subsystem>) -> ApiResult<()> {
    if subsystem == Some(Subsystem::Tracking) {
        return Err(ApiError::new(
            ProblemType::InvalidField,
            "subsystem tracking is given by tracking pools: add the number to one with POST /v1/tracking-pools",
        ));
    }
    Ok(())
}

/// A number in a tracking pool changes only through its pool: refuses to
/// remap or release it.
async fn refuse_pooled(conn: &mut sqlx::PgConnection, number: E164, what: &str) -> ApiResult<()> {
    let pool: Option<Uuid> = sqlx::query_scalar("SELECT pool_id FROM tracking_numbers WHERE e164 = $1")
        .bind(number.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    match pool {
        Some(p) => Err(ApiError::new(
            ProblemType::NumberInUse,
            format!("{number} is in tracking pool {p}: shrink the pool to {what} it (PATCH /v1/tracking-pools/{p})"),
        )),
        None => Ok(()),
    }
}

/// A number's own greeting text: said as written, so only its length and
/// characters are checked (braces are words here, not placeholders).
pub(crate) fn check_greeting_text(text: &str) -> ApiResult<()> {
    didroute_shared::greeting::check_text(text)
        .map_err(|e| ApiError::new(ProblemType::InvalidGreeting, format!("greeting_text: {e}")))
}

/// Route attributes: a JSON object of at most 1 KiB serialized.
pub(crate) fn check_attributes(value: &serde_json::Value) -> ApiResult<()> {
    didroute_shared::route::check_attributes(value)
        .map(drop)
        .map_err(|e| ApiError::new(ProblemType::InvalidAttributes, e))
}

/// `Some(x)` for a field that is present, `null` included (`Some(None)`):
/// a remap tells "clear it" from "leave it".
fn present<'de, T: Deserialize<'de>, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

impl RouteInput {
    /// The route this input gives a number of `country`.
    pub fn route(&self, tenant: Uuid, country: Country) -> Route {
        Route {
            tenant_id: tenant,
            subsystem: self.subsystem,
            dashboard_id: self.dashboard_id.trim().to_owned(),
            customer_label: self.customer_label.trim().to_owned(),
            country,
            friendly_name: self.friendly_name.as_ref().map(|s| s.trim().to_owned()),
            organisation_id: self.organisation_id.as_ref().map(|s| s.trim().to_owned()),
            auto_provisioned: self.auto_provisioned,
            // the tenant's part, as the database holds it; the view reads it back
            locale: didroute_shared::greeting::DEFAULT_LOCALE.to_owned(),
            greeting_template: None,
            greeting_text: self.greeting_text.clone(),
            attributes: self.attributes.as_ref().and_then(|a| a.as_object().cloned()),
            tracking: None,
        }
    }
}

/// The fields a remap may change; at least one.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemapInput {
    pub subsystem: Option<Subsystem>,
    #[schema(value_type = Option<super::schema::LabelText>, inline)]
    pub dashboard_id: Option<String>,
    #[schema(value_type = Option<super::schema::LabelText>, inline)]
    pub customer_label: Option<String>,
    #[schema(value_type = Option<super::schema::LabelText>, inline)]
    pub friendly_name: Option<String>,
    /// The number's own greeting (1 to 500 characters); `null` clears it,
    /// back to the tenant's templates.
    #[schema(value_type = Option<String>, nullable, min_length = 1, max_length = 500)]
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub greeting_text: Option<Option<String>>,
    /// The route's attributes (a JSON object of at most 1 KiB serialized),
    /// replaced whole; `null` clears them.
    #[schema(value_type = Option<Object>, nullable)]
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Option<serde_json::Value>>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseInput {
    #[schema(value_type = super::schema::ReasonText, inline)]
    pub reason: String,
    #[schema(value_type = Option<super::schema::NotesText>, inline)]
    pub notes: Option<String>,
}

impl ReleaseInput {
    pub(crate) fn validate(&self) -> ApiResult<()> {
        super::check_text("reason", &self.reason, super::REASON_MAX)?;
        if let Some(n) = &self.notes {
            check_notes(n)?;
        }
        Ok(())
    }
}

/// Notes are free text (new lines welcome) up to [`super::NOTES_MAX`]
/// characters, but without NUL, which PostgreSQL's text cannot hold.
pub(crate) fn check_notes(notes: &str) -> ApiResult<()> {
    if notes.chars().count() > super::NOTES_MAX {
        let detail = format!("notes is longer than {} characters", super::NOTES_MAX);
        return Err(ApiError::new(ProblemType::InvalidField, detail));
    }
    if notes.contains('\0') {
        return Err(ApiError::new(ProblemType::InvalidField, "notes must not contain the NUL character (U+0000)"));
    }
    Ok(())
}

pub async fn get(state: &AppState, tenant: Uuid, number: E164) -> ApiResult<NumberView> {
    let mut tx = state.db.tenant_tx(tenant).await?;
    let view = own_view(&mut tx, tenant, number).await?.ok_or_else(|| not_yours(number))?;
    tx.commit().await?;
    Ok(view)
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListFilter {
    pub subsystem: Option<Subsystem>,
    pub status: Option<String>,
    pub limit: Option<i64>,
    /// The last number of the previous page.
    pub cursor: Option<String>,
}

pub async fn list(state: &AppState, tenant: Uuid, f: ListFilter) -> ApiResult<NumbersPage> {
    let limit = f.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::new(ProblemType::InvalidQuery, "limit must be between 1 and 1000"));
    }
    if let Some(s) = &f.status {
        if !["reserved", "allocated", "cooldown", "aging"].contains(&s.as_str()) {
            return Err(ApiError::new(
                ProblemType::InvalidQuery,
                "status must be one of reserved, allocated, cooldown, aging",
            ));
        }
    }
    let cursor = f
        .cursor
        .as_deref()
        .map(E164::parse)
        .transpose()
        .map_err(|e| ApiError::new(ProblemType::InvalidQuery, format!("cursor: {e}")))?;
    let mut tx = state.db.tenant_tx(tenant).await?;
    // keyset pagination on the number: stable under concurrent changes
    let sql = format!(
        "{VIEW_SELECT} WHERE n.tenant_id = $1
           AND ($2::text IS NULL OR r.subsystem = $2)
           AND ($3::text IS NULL OR n.status = $3)
           AND ($4::text IS NULL OR n.e164 > $4)
         ORDER BY n.e164 LIMIT $5"
    );
    let rows = sqlx::query(&sql)
        .bind(tenant)
        .bind(f.subsystem.map(|s| s.as_str()))
        .bind(&f.status)
        .bind(cursor.map(|c| c.to_string()))
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    let numbers = rows.iter().map(view_from_row).collect::<ApiResult<Vec<_>>>()?;
    let next_cursor = (numbers.len() as i64 == limit).then(|| numbers.last().map(|n| n.number.to_string())).flatten();
    Ok(NumbersPage { numbers, next_cursor })
}

/// Changes an allocated number's routing in place.
pub async fn remap(
    state: &AppState,
    tenant: Uuid,
    number: E164,
    input: &RemapInput,
    key: Option<&Key>,
) -> ApiResult<Answer<NumberChanged>> {
    if input.subsystem.is_none()
        && input.dashboard_id.is_none()
        && input.customer_label.is_none()
        && input.friendly_name.is_none()
        && input.greeting_text.is_none()
        && input.attributes.is_none()
    {
        return Err(ApiError::new(
            ProblemType::InvalidBody,
            "give at least one of subsystem, dashboard_id, customer_label, friendly_name, greeting_text, attributes",
        ));
    }
    refuse_tracking(input.subsystem)?;
    if let Some(Some(t)) = &input.greeting_text {
        check_greeting_text(t)?;
    }
    if let Some(Some(a)) = &input.attributes {
        check_attributes(a)?;
    }
    for (field, v) in [
        ("dashboard_id", &input.dashboard_id),
        ("customer_label", &input.customer_label),
        ("friendly_name", &input.friendly_name),
    ] {
        if let Some(v) = v {
            super::check_text(field, v, super::LABEL_MAX)?;
        }
    }
    let mut tx = state.db.tenant_tx(tenant).await?;
    if let Some(first) = idempotency::repeat(state, &mut tx, Some(tenant), key).await? {
        return Ok(first);
    }
    let before = own_view(&mut tx, tenant, number).await?.ok_or_else(|| not_yours(number))?;
    if before.status != "allocated" {
        return Err(ApiError::new(
            ProblemType::NotAllocated,
            format!("{number} is {}; only an allocated number can be remapped", before.status),
        ));
    }
    refuse_pooled(&mut tx, number, "remap").await?;
    // bumps the number's version (trigger) so consumers order the change
    sqlx::query("UPDATE numbers SET updated_at = now() WHERE e164 = $1 AND tenant_id = $2 AND status = 'allocated'")
        .bind(number.to_string())
        .bind(tenant)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE routes SET subsystem = coalesce($2, subsystem), dashboard_id = coalesce($3, dashboard_id),
                customer_label = coalesce($4, customer_label), friendly_name = coalesce($5, friendly_name),
                greeting_text = CASE WHEN $6 THEN $7 ELSE greeting_text END,
                attributes = CASE WHEN $8 THEN $9 ELSE attributes END,
                updated_at = now()
         WHERE e164 = $1",
    )
    .bind(number.to_string())
    .bind(input.subsystem.map(|s| s.as_str()))
    .bind(input.dashboard_id.as_ref().map(|s| s.trim()))
    .bind(input.customer_label.as_ref().map(|s| s.trim()))
    .bind(input.friendly_name.as_ref().map(|s| s.trim()))
    .bind(input.greeting_text.is_some())
    .bind(input.greeting_text.clone().flatten())
    .bind(input.attributes.is_some())
    .bind(input.attributes.clone().flatten())
    .execute(&mut *tx)
    .await?;
    let after = own_view(&mut tx, tenant, number).await?.ok_or_else(|| anyhow::anyhow!("remapped row vanished"))?;
    let route = after.route.clone().ok_or_else(|| anyhow::anyhow!("allocated number {number} has no route"))?;
    let change =
        Change { number, tenant: Some(tenant), detail: serde_json::json!({ "from": before.route, "to": route }) };
    let id = outbox::record(&mut tx, &super::tenant_actor(tenant), "number.remap", &[change]).await?;
    let mut answer = NumberChanged { number: after, seq: 0 };
    idempotency::keep(&mut tx, Some(tenant), key, 200, &answer, id).await?;
    answer.seq = commit_and_sequence(state, tx, id).await?;
    Ok(Answer::Fresh(answer))
}

/// Releases an allocated number: to cooldown (kept for reclaim), or deleted
/// for the tenant's own `local`/`mdn` numbers. Lookups stop resolving it.
pub async fn release(
    state: &AppState,
    tenant: Uuid,
    number: E164,
    input: &ReleaseInput,
    key: Option<&Key>,
) -> ApiResult<Answer<Released>> {
    input.validate()?;
    let settings = &state.settings;
    let mut tx = state.db.tenant_tx(tenant).await?;
    // a retried release whose first answer was lost gets that answer, not
    // a 409 saying the number is no longer allocated
    if let Some(first) = idempotency::repeat(state, &mut tx, Some(tenant), key).await? {
        return Ok(first);
    }
    let before = own_view(&mut tx, tenant, number).await?.ok_or_else(|| not_yours(number))?;
    if before.status != "allocated" {
        return Err(ApiError::new(
            ProblemType::NotAllocated,
            format!("{number} is {}; only an allocated number can be released", before.status),
        ));
    }
    refuse_pooled(&mut tx, number, "release").await?;
    let detail = serde_json::json!({ "reason": input.reason, "notes": input.notes, "route": before.route });
    let view = if matches!(before.carrier_module.as_str(), "local" | "mdn") {
        // the tenant's own number: nothing to keep, no cooldown
        sqlx::query("DELETE FROM numbers WHERE e164 = $1 AND tenant_id = $2")
            .bind(number.to_string())
            .bind(tenant)
            .execute(&mut *tx)
            .await?;
        None
    } else {
        sqlx::query(
            "UPDATE numbers
             SET status = 'cooldown', cooldown_until = now() + make_interval(secs => $3),
                 reclaim_until = now() + make_interval(secs => $4), release_reason = $5, release_notes = $6
             WHERE e164 = $1 AND tenant_id = $2 AND status = 'allocated'",
        )
        .bind(number.to_string())
        .bind(tenant)
        .bind(settings.cooldown.as_secs_f64())
        .bind(settings.reclaim_window.as_secs_f64())
        .bind(input.reason.trim())
        .bind(&input.notes)
        .execute(&mut *tx)
        .await?;
        own_view(&mut tx, tenant, number).await?
    };
    let change = Change { number, tenant: Some(tenant), detail };
    let id = outbox::record(&mut tx, &super::tenant_actor(tenant), "number.release", &[change]).await?;
    let mut answer = Released { number: view, seq: 0 };
    idempotency::keep(&mut tx, Some(tenant), key, 200, &answer, id).await?;
    answer.seq = commit_and_sequence(state, tx, id).await?;
    Ok(Answer::Fresh(answer))
}

/// Takes back a number this tenant released, with its last route: only
/// while it is aging (cooldown over, reclaim window open).
pub async fn reclaim(
    state: &AppState,
    tenant: Uuid,
    number: E164,
    key: Option<&Key>,
) -> ApiResult<Answer<NumberChanged>> {
    let mut tx = state.db.tenant_tx(tenant).await?;
    if let Some(first) = idempotency::repeat(state, &mut tx, Some(tenant), key).await? {
        return Ok(first);
    }
    let Some(before) = own_view(&mut tx, tenant, number).await? else {
        // back in inventory already: the tenant's own audit rows (RLS) say
        // whether it ever released it, so only the releaser learns why
        let released: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM audit_log WHERE e164 = $1 AND action = 'number.release')")
                .bind(number.to_string())
                .fetch_one(&mut *tx)
                .await?;
        return Err(if released {
            ApiError::new(ProblemType::ReclaimWindowClosed, format!("the reclaim window of {number} has closed"))
        } else {
            not_yours(number)
        });
    };
    let reclaimed = sqlx::query(
        "UPDATE numbers
         SET status = 'allocated', cooldown_until = NULL, reclaim_until = NULL, release_reason = NULL, release_notes = NULL
         WHERE e164 = $1 AND tenant_id = $2 AND status = 'aging' AND reclaim_until > now()
           AND (provisioning_status = 'active' OR (provisioning_status = 'unknown' AND allow_unknown_provisioning))",
    )
    .bind(number.to_string())
    .bind(tenant)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if reclaimed == 0 {
        return Err(match before.status.as_str() {
            "cooldown" => ApiError::new(
                ProblemType::InCooldown,
                format!("{number} is in cooldown until {}; reclaim it after that", fmt_time(before.cooldown_until)),
            ),
            "aging" if before.provisioning_status != "active" => ApiError::new(
                ProblemType::NotAllocatable,
                format!("{number} cannot be reclaimed while its provisioning is {}", before.provisioning_status),
            ),
            "aging" => {
                ApiError::new(ProblemType::ReclaimWindowClosed, format!("the reclaim window of {number} has closed"))
            }
            other => ApiError::new(
                ProblemType::NotReleased,
                format!("{number} is {other}; only a released number can be reclaimed"),
            ),
        });
    }
    let after = own_view(&mut tx, tenant, number).await?.ok_or_else(|| anyhow::anyhow!("reclaimed row vanished"))?;
    let route = after.route.clone().ok_or_else(|| anyhow::anyhow!("released number {number} kept no route"))?;
    let change = Change { number, tenant: Some(tenant), detail: serde_json::json!({ "route": route }) };
    let id = outbox::record(&mut tx, &super::tenant_actor(tenant), "number.reclaim", &[change]).await?;
    let mut answer = NumberChanged { number: after, seq: 0 };
    idempotency::keep(&mut tx, Some(tenant), key, 200, &answer, id).await?;
    answer.seq = commit_and_sequence(state, tx, id).await?;
    Ok(Answer::Fresh(answer))
}

fn fmt_time(t: Option<OffsetDateTime>) -> String {
    t.and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok()).unwrap_or_else(|| "later".into())
}

/// The audit trail of `number` as this tenant may see it (its own entries).
pub async fn history(state: &AppState, tenant: Uuid, number: E164) -> ApiResult<Vec<HistoryEntry>> {
    let mut tx = state.db.tenant_tx(tenant).await?;
    let rows = sqlx::query("SELECT id, action, actor, detail, at FROM audit_log WHERE e164 = $1 ORDER BY id")
        .bind(number.to_string())
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    if rows.is_empty() {
        return Err(not_yours(number));
    }
    Ok(rows
        .into_iter()
        .map(|r| HistoryEntry {
            id: r.get("id"),
            action: r.get("action"),
            actor: r.get("actor"),
            detail: r.get("detail"),
            at: r.get("at"),
        })
        .collect())
}
