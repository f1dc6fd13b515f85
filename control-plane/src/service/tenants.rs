//! Tenants and their API keys (operator work).

use didroute_shared::greeting::{self, GreetingKind};
use didroute_shared::problem::ProblemType;
use didroute_shared::wire::{
    ApiKey, GreetingTemplates, NewKey, NewKeyRequest, Scope, Tenant, TenantPatch, TenantUpdated,
};
use sqlx::Row;
use time::OffsetDateTime;
use uuid::Uuid;

use super::idempotency::{self, Answer, Key};
use crate::auth;
use crate::db::Db;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The columns [`tenant_from_row`] reads.
const TENANT_COLUMNS: &str = "id, name, created_at, locale, greeting_emergency, greeting_label";

pub async fn create(db: &Db, name: &str, key: Option<&Key>) -> ApiResult<Answer<Tenant>> {
    super::check_text("name", name, super::LABEL_MAX)?;
    let mut tx = db.operator.begin().await?;
    // a retry whose first answer was lost gets the tenant it made, not a 409
    if let Some(first) = idempotency::repeat_stored(&mut tx, None, key).await? {
        return Ok(first);
    }
    let tenant = sqlx::query(
        "INSERT INTO tenants (id, name) VALUES ($1, $2)
         ON CONFLICT DO NOTHING RETURNING id, name, created_at, locale, greeting_emergency, greeting_label",
    )
    .bind(Uuid::new_v4())
    .bind(name.trim())
    .fetch_optional(&mut *tx)
    .await?
    .map(|r| tenant_from_row(&r));
    let tenant = tenant.ok_or_else(|| {
        ApiError::new(ProblemType::TenantExists, format!("a tenant named {:?} already exists", name.trim()))
    })?;
    audit(&mut tx, Some(tenant.id), "tenant.create", serde_json::json!({ "name": tenant.name })).await?;
    idempotency::keep(&mut tx, None, key, 201, &tenant, None).await?;
    tx.commit().await?;
    Ok(Answer::Fresh(tenant))
}

pub async fn list(db: &Db) -> ApiResult<Vec<Tenant>> {
    let rows = sqlx::query(&format!("SELECT {TENANT_COLUMNS} FROM tenants ORDER BY created_at, id"))
        .fetch_all(&db.operator)
        .await?;
    Ok(rows.iter().map(tenant_from_row).collect())
}

fn tenant_from_row(r: &sqlx::postgres::PgRow) -> Tenant {
    Tenant {
        id: r.get("id"),
        name: r.get("name"),
        created_at: r.get("created_at"),
        locale: r.get("locale"),
        greeting_templates: GreetingTemplates {
            emergency: r.get("greeting_emergency"),
            label: r.get("greeting_label"),
        },
    }
}

/// A locale or template the caller cannot set, with the field named.
fn invalid(field: &str, why: impl std::fmt::Display) -> ApiError {
    ApiError::new(ProblemType::InvalidGreeting, format!("{field}: {why}"))
}

/// Sets a tenant's locale and greeting templates. Its allocated numbers'
/// routes carry the greeting (the lookup node renders it once per route), so
/// every one of them is re-published in the same transaction, with a new
/// version, for lookup nodes to apply. A tenant with many numbers makes as
/// many events: greetings change rarely, lookups never wait for them.
pub async fn update(
    state: &AppState,
    id: Uuid,
    patch: &TenantPatch,
    key: Option<&Key>,
) -> ApiResult<Answer<TenantUpdated>> {
    let templates = patch.greeting_templates.clone().unwrap_or_default();
    if patch.locale.is_none() && templates.emergency.is_none() && templates.label.is_none() {
        return Err(ApiError::new(
            ProblemType::InvalidBody,
            "give at least one of locale, greeting_templates.emergency, greeting_templates.label",
        ));
    }
    if let Some(locale) = &patch.locale {
        greeting::check_locale(locale).map_err(|e| ApiError::new(ProblemType::InvalidGreeting, e.to_string()))?;
    }
    for (field, t) in
        [("greeting_templates.emergency", &templates.emergency), ("greeting_templates.label", &templates.label)]
    {
        if let Some(Some(t)) = t {
            greeting::check_template(t).map_err(|e| invalid(field, e))?;
        }
    }
    let mut tx = state.db.operator.begin().await?;
    if let Some(first) = idempotency::repeat(state, &mut tx, None, key).await? {
        return Ok(first);
    }
    let before = sqlx::query(&format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE id = $1 FOR UPDATE"))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| tenant_from_row(&r))
        .ok_or_else(|| ApiError::not_found(format!("no tenant {id}")))?;
    let locale = patch.locale.clone().unwrap_or_else(|| before.locale.clone());
    let emergency = templates.emergency.clone().unwrap_or_else(|| before.greeting_templates.emergency.clone());
    let label = templates.label.clone().unwrap_or_else(|| before.greeting_templates.label.clone());
    // a language without defaults would greet in English: refuse rather than
    // surprise, unless the tenant says every word itself
    for (kind, own, field) in
        [(GreetingKind::Emergency, &emergency, "emergency"), (GreetingKind::Label, &label, "label")]
    {
        if own.is_none() && greeting::default_template(&locale, kind).is_none() {
            let languages: Vec<&str> = greeting::default_languages().collect();
            return Err(ApiError::new(
                ProblemType::InvalidGreeting,
                format!(
                    "locale {locale} has no default greetings (there are defaults for {}): set \
                     greeting_templates.{field} too",
                    languages.join(", ")
                ),
            ));
        }
    }
    let row = sqlx::query(&format!(
        "UPDATE tenants SET locale = $2, greeting_emergency = $3, greeting_label = $4 WHERE id = $1
         RETURNING {TENANT_COLUMNS}"
    ))
    .bind(id)
    .bind(&locale)
    .bind(&emergency)
    .bind(&label)
    .fetch_one(&mut *tx)
    .await?;
    let tenant = tenant_from_row(&row);
    let changed = tenant.locale != before.locale || tenant.greeting_templates != before.greeting_templates;
    let outbox_id = if changed {
        audit(
            &mut tx,
            Some(id),
            "tenant.update",
            serde_json::json!({
                "from": { "locale": before.locale, "greeting_templates": before.greeting_templates },
                "to": { "locale": tenant.locale, "greeting_templates": tenant.greeting_templates },
            }),
        )
        .await?;
        // the guard trigger gives each number a new version, so nodes apply
        // the re-published route instead of taking it for a repeat
        let mut bumped: Vec<String> = sqlx::query_scalar(
            "UPDATE numbers SET updated_at = now() WHERE tenant_id = $1 AND status = 'allocated' RETURNING e164",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        bumped.sort();
        // a statement of its own: didroute_emit must see the new versions
        sqlx::query_scalar("SELECT max(didroute_emit(e)) FROM unnest($1::text[]) AS e")
            .bind(&bumped)
            .fetch_one(&mut *tx)
            .await?
    } else {
        None
    };
    let mut answer = TenantUpdated { tenant, seq: outbox_id.map(|_| 0) };
    idempotency::keep(&mut tx, None, key, 200, &answer, outbox_id).await?;
    tx.commit().await?;
    if let Some(outbox_id) = outbox_id {
        let seq = crate::outbox::sequence(&state.db.operator, outbox_id).await?;
        state.advance_head(seq);
        answer.seq = Some(seq);
    }
    Ok(Answer::Fresh(answer))
}

/// Creates a key for `tenant` with `req`'s scopes and expiry.
/// With `key`, a repeat is refused (409), naming the key made the first time:
/// the key itself is stored only as a hash and cannot be shown again.
pub async fn create_key(db: &Db, tenant: Uuid, req: &NewKeyRequest, key: Option<&Key>) -> ApiResult<NewKey> {
    let scopes = check_scopes(req.scopes.as_deref())?;
    if let Some(at) = req.expires_at {
        if at <= OffsetDateTime::now_utc() {
            return Err(ApiError::new(
                ProblemType::ConstraintViolated,
                "expires_at is in the past: give a future time, or none for a key that does not expire",
            ));
        }
    }
    let mut tx = db.operator.begin().await?;
    let listing = format!("GET /v1/tenants/{tenant}/api-keys");
    idempotency::refuse_secret_repeat(&mut tx, key, "api key", &listing).await?;
    tenant_exists(&mut tx, tenant).await?;
    let idem = key;
    let (key, hash) = auth::new_secret(auth::KEY_PREFIX);
    let prefix = auth::shown_prefix(&key);
    let id = Uuid::new_v4();
    let names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
    // expires_at as stored (microseconds), so the answer equals the listing
    let (created_at, expires_at): (OffsetDateTime, Option<OffsetDateTime>) = sqlx::query_as(
        "INSERT INTO api_keys (id, tenant_id, key_hash, key_prefix, scopes, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING created_at, expires_at",
    )
    .bind(id)
    .bind(tenant)
    .bind(&hash[..])
    .bind(&prefix)
    .bind(&names)
    .bind(req.expires_at)
    .fetch_one(&mut *tx)
    .await?;
    let detail = serde_json::json!({
        "key_id": id, "key_prefix": prefix, "scopes": names, "expires_at": expires_at.map(rfc3339)
    });
    audit(&mut tx, Some(tenant), "api_key.create", detail).await?;
    idempotency::keep_created(&mut tx, idem, id, &prefix).await?;
    tx.commit().await?;
    Ok(NewKey { id, tenant_id: tenant, key, key_prefix: prefix, scopes, created_at, expires_at })
}

/// `["read"]` or `["read", "write"]` in any order (default both); a key
/// that could write but not read would be refused its own GETs.
fn check_scopes(scopes: Option<&[Scope]>) -> ApiResult<Vec<Scope>> {
    let Some(scopes) = scopes else { return Ok(vec![Scope::Read, Scope::Write]) };
    let mut scopes = scopes.to_vec();
    scopes.sort();
    scopes.dedup();
    if !scopes.contains(&Scope::Read) {
        return Err(ApiError::new(
            ProblemType::InvalidField,
            "scopes must be [\"read\"] or [\"read\", \"write\"]: every key can read",
        ));
    }
    Ok(scopes)
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

async fn tenant_exists(tx: &mut sqlx::PgConnection, tenant: Uuid) -> ApiResult<()> {
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM tenants WHERE id = $1)")
        .bind(tenant)
        .fetch_one(&mut *tx)
        .await?;
    if exists {
        Ok(())
    } else {
        Err(ApiError::not_found(format!("no tenant {tenant}")))
    }
}

/// A tenant's keys, oldest first; never a key or its hash.
pub async fn list_keys(db: &Db, tenant: Uuid) -> ApiResult<Vec<ApiKey>> {
    let mut tx = db.operator.begin().await?;
    tenant_exists(&mut tx, tenant).await?;
    let rows = sqlx::query(
        "SELECT id, key_prefix, scopes, created_at, last_used_at, expires_at, revoked_at
         FROM api_keys WHERE tenant_id = $1 ORDER BY created_at, id",
    )
    .bind(tenant)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows
        .iter()
        .map(|r| ApiKey {
            id: r.get("id"),
            key_prefix: r.get("key_prefix"),
            scopes: r.get::<Vec<String>, _>("scopes").iter().filter_map(|s| parse_scope(s)).collect(),
            created_at: r.get("created_at"),
            last_used_at: r.get("last_used_at"),
            expires_at: r.get("expires_at"),
            revoked_at: r.get("revoked_at"),
        })
        .collect())
}

fn parse_scope(s: &str) -> Option<Scope> {
    [Scope::Read, Scope::Write].into_iter().find(|k| k.as_str() == s)
}

/// Revokes one of `tenant`'s keys. Revoking a revoked key again changes
/// nothing and succeeds, so a retried request is safe; a key of another
/// tenant is as unknown as a key that does not exist.
pub async fn revoke_key(db: &Db, tenant: Uuid, key: Uuid, idem: Option<&Key>) -> ApiResult<()> {
    let mut tx = db.operator.begin().await?;
    if idempotency::repeat_stored::<()>(&mut tx, None, idem).await?.is_some() {
        return Ok(());
    }
    let revoked: Option<bool> = sqlx::query_scalar(
        "WITH k AS (SELECT id, revoked_at FROM api_keys WHERE id = $1 AND tenant_id = $2 FOR UPDATE),
         done AS (UPDATE api_keys a SET revoked_at = now() FROM k WHERE a.id = k.id AND k.revoked_at IS NULL)
         SELECT k.revoked_at IS NULL FROM k",
    )
    .bind(key)
    .bind(tenant)
    .fetch_optional(&mut *tx)
    .await?;
    match revoked {
        None => return Err(ApiError::not_found(format!("tenant {tenant} has no api key {key}"))),
        // revoked before: nothing to audit, but the key keeps its answer
        Some(false) => {}
        Some(true) => audit(&mut tx, Some(tenant), "api_key.revoke", serde_json::json!({ "key_id": key })).await?,
    }
    idempotency::keep(&mut tx, None, idem, 204, &(), None).await?;
    tx.commit().await?;
    Ok(())
}

/// The audit row of an operator change; `tenant` is None for changes that
/// belong to no tenant (feed tokens).
pub(super) async fn audit(
    tx: &mut sqlx::PgConnection,
    tenant: Option<Uuid>,
    action: &str,
    detail: serde_json::Value,
) -> ApiResult<()> {
    sqlx::query("INSERT INTO audit_log (tenant_id, actor, action, detail) VALUES ($1, 'operator', $2, $3)")
        .bind(tenant)
        .bind(action)
        .bind(detail)
        .execute(&mut *tx)
        .await?;
    Ok(())
}
