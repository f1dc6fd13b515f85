//! Tenants and their API keys (operator work).

use didroute_shared::problem::ProblemType;
use didroute_shared::wire::{NewKey, Tenant};
use sqlx::Row;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::auth;
use crate::db::Db;
use crate::error::{ApiError, ApiResult};

pub async fn create(db: &Db, name: &str) -> ApiResult<Tenant> {
    super::check_text("name", name, super::LABEL_MAX)?;
    let mut tx = db.operator.begin().await?;
    let tenant = sqlx::query(
        "INSERT INTO tenants (id, name) VALUES ($1, $2)
         ON CONFLICT DO NOTHING RETURNING id, name, created_at",
    )
    .bind(Uuid::new_v4())
    .bind(name.trim())
    .fetch_optional(&mut *tx)
    .await?
    .map(|r| tenant_from_row(&r));
    let tenant = tenant.ok_or_else(|| {
        ApiError::new(ProblemType::TenantExists, format!("a tenant named {:?} already exists", name.trim()))
    })?;
    audit(&mut tx, tenant.id, "tenant.create", serde_json::json!({ "name": tenant.name })).await?;
    tx.commit().await?;
    Ok(tenant)
}

pub async fn list(db: &Db) -> ApiResult<Vec<Tenant>> {
    let rows =
        sqlx::query("SELECT id, name, created_at FROM tenants ORDER BY created_at, id").fetch_all(&db.operator).await?;
    Ok(rows.iter().map(tenant_from_row).collect())
}

fn tenant_from_row(r: &sqlx::postgres::PgRow) -> Tenant {
    Tenant { id: r.get("id"), name: r.get("name"), created_at: r.get("created_at") }
}

pub async fn create_key(db: &Db, tenant: Uuid) -> ApiResult<NewKey> {
    let mut tx = db.operator.begin().await?;
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM tenants WHERE id = $1)")
        .bind(tenant)
        .fetch_one(&mut *tx)
        .await?;
    if !exists {
        return Err(ApiError::not_found(format!("no tenant {tenant}")));
    }
    let (key, hash) = auth::new_key();
    let prefix: String = key.chars().take(auth::KEY_PREFIX.len() + 8).collect();
    let id = Uuid::new_v4();
    let created_at: OffsetDateTime = sqlx::query_scalar(
        "INSERT INTO api_keys (id, tenant_id, key_hash, key_prefix) VALUES ($1, $2, $3, $4) RETURNING created_at",
    )
    .bind(id)
    .bind(tenant)
    .bind(&hash[..])
    .bind(&prefix)
    .fetch_one(&mut *tx)
    .await?;
    audit(&mut tx, tenant, "api_key.create", serde_json::json!({ "key_id": id, "key_prefix": prefix })).await?;
    tx.commit().await?;
    Ok(NewKey { id, tenant_id: tenant, key, key_prefix: prefix, created_at })
}

async fn audit(tx: &mut sqlx::PgConnection, tenant: Uuid, action: &str, detail: serde_json::Value) -> ApiResult<()> {
    sqlx::query("INSERT INTO audit_log (tenant_id, actor, action, detail) VALUES ($1, 'operator', $2, $3)")
        .bind(tenant)
        .bind(action)
        .bind(detail)
        .execute(&mut *tx)
        .await?;
    Ok(())
}
