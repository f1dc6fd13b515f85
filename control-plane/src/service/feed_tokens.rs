//! Feed tokens: the credential a lookup node reads `GET /v1/events` with,
//! and nothing else (operator work; no tenant owns one).

use didroute_shared::wire::{FeedToken, NewFeedToken, NewFeedTokenRequest};
use sqlx::Row;
use time::OffsetDateTime;
use uuid::Uuid;

use super::idempotency::{self, Key};
use super::tenants::audit;
use crate::auth;
use crate::db::Db;
use crate::error::{ApiError, ApiResult};

/// With `key`, a repeat is refused (409), naming the token made the first
/// time: the token is stored only as a hash and cannot be shown again.
pub async fn create(db: &Db, req: &NewFeedTokenRequest, key: Option<&Key>) -> ApiResult<NewFeedToken> {
    if let Some(name) = &req.name {
        super::check_text("name", name, super::LABEL_MAX)?;
    }
    let name = req.name.as_deref().map(str::trim);
    let (token, hash) = auth::new_secret(auth::FEED_TOKEN_PREFIX);
    let prefix = auth::shown_prefix(&token);
    let id = Uuid::new_v4();
    let mut tx = db.operator.begin().await?;
    idempotency::refuse_secret_repeat(&mut tx, key, "feed token", "GET /v1/feed-tokens").await?;
    let created_at: OffsetDateTime = sqlx::query_scalar(
        "INSERT INTO feed_tokens (id, name, token_hash, token_prefix) VALUES ($1, $2, $3, $4) RETURNING created_at",
    )
    .bind(id)
    .bind(name)
    .bind(&hash[..])
    .bind(&prefix)
    .fetch_one(&mut *tx)
    .await?;
    let detail = serde_json::json!({ "token_id": id, "token_prefix": prefix, "name": name });
    audit(&mut tx, None, "feed_token.create", detail).await?;
    idempotency::keep_created(&mut tx, key, id, &prefix).await?;
    tx.commit().await?;
    Ok(NewFeedToken { id, name: name.map(str::to_owned), token, token_prefix: prefix, created_at })
}

/// Every feed token, oldest first; never a token or its hash.
pub async fn list(db: &Db) -> ApiResult<Vec<FeedToken>> {
    let rows = sqlx::query(
        "SELECT id, name, token_prefix, created_at, last_used_at, revoked_at FROM feed_tokens ORDER BY created_at, id",
    )
    .fetch_all(&db.operator)
    .await?;
    Ok(rows
        .iter()
        .map(|r| FeedToken {
            id: r.get("id"),
            name: r.get("name"),
            token_prefix: r.get("token_prefix"),
            created_at: r.get("created_at"),
            last_used_at: r.get("last_used_at"),
            revoked_at: r.get("revoked_at"),
        })
        .collect())
}

/// Revokes a feed token; revoking it again succeeds and changes nothing.
pub async fn revoke(db: &Db, id: Uuid, key: Option<&Key>) -> ApiResult<()> {
    let mut tx = db.operator.begin().await?;
    if idempotency::repeat_stored::<()>(&mut tx, None, key).await?.is_some() {
        return Ok(());
    }
    let revoked: Option<bool> = sqlx::query_scalar(
        "WITH t AS (SELECT id, revoked_at FROM feed_tokens WHERE id = $1 FOR UPDATE),
         done AS (UPDATE feed_tokens f SET revoked_at = now() FROM t WHERE f.id = t.id AND t.revoked_at IS NULL)
         SELECT t.revoked_at IS NULL FROM t",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    match revoked {
        None => return Err(ApiError::not_found(format!("no feed token {id}"))),
        // revoked before: nothing to audit, but the key keeps its answer
        Some(false) => {}
        Some(true) => audit(&mut tx, None, "feed_token.revoke", serde_json::json!({ "token_id": id })).await?,
    }
    idempotency::keep(&mut tx, None, key, 204, &(), None).await?;
    tx.commit().await?;
    Ok(())
}
