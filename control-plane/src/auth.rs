//! Bearer authentication: the operator token from configuration, or a tenant
//! API key (stored as its SHA-256; the key itself is shown once, at creation).

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::AppState;

/// Prefix of every tenant key, so a leaked key is recognisable in logs and scanners.
pub const KEY_PREFIX: &str = "drk_";

/// Who is calling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principal {
    Operator,
    Tenant(Uuid),
}

/// Extractor for routes only the operator may call.
pub struct Operator;

/// Extractor for tenant routes: the tenant whose key authenticated the request.
pub struct Tenant(pub Uuid);

/// A new random key and its hash.
pub fn new_key() -> (String, [u8; 32]) {
    let mut raw = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    let key = format!("{KEY_PREFIX}{}", hex(&raw));
    let hash = hash_key(&key);
    (key, hash)
}

pub fn hash_key(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares without an early exit, so timing does not reveal a prefix match.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn principal(parts: &Parts, state: &AppState) -> Result<Principal, ApiError> {
    let header = parts
        .headers
        .get(AUTHORIZATION)
        .ok_or_else(|| ApiError::Unauthorized("send Authorization: Bearer <token>".into()))?;
    let token = header
        .to_str()
        .ok()
        .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::Unauthorized("the Authorization header must be \"Bearer <token>\"".into()))?;
    if constant_time_eq(token.as_bytes(), state.settings.operator_token.as_bytes()) {
        return Ok(Principal::Operator);
    }
    if !token.starts_with(KEY_PREFIX) {
        return Err(ApiError::Unauthorized("the bearer token is not valid".into()));
    }
    // looked up on the operator pool: no tenant is known before this query
    let tenant: Option<Uuid> =
        sqlx::query_scalar("SELECT tenant_id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL")
            .bind(&hash_key(token)[..])
            .fetch_optional(&state.db.operator)
            .await?;
    tenant.map(Principal::Tenant).ok_or_else(|| ApiError::Unauthorized("the bearer token is not valid".into()))
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        principal(parts, state).await
    }
}

impl FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match principal(parts, state).await? {
            Principal::Operator => Ok(Operator),
            Principal::Tenant(_) => Err(ApiError::Forbidden("this route needs the operator token".into())),
        }
    }
}

impl FromRequestParts<AppState> for Tenant {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match principal(parts, state).await? {
            Principal::Tenant(t) => Ok(Tenant(t)),
            Principal::Operator => {
                Err(ApiError::Forbidden("this route acts for a tenant: use one of the tenant's API keys".into()))
            }
        }
    }
}
