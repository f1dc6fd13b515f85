//! Bearer authentication: the operator token from configuration, or a tenant
//! API key (stored as its SHA-256; the key itself is shown once, at creation).

use didroute_shared::problem::ProblemType;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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

/// Compares without an early exit (`subtle`), so timing does not reveal a
/// prefix match of the operator token.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.ct_eq(b).into()
}

async fn principal(parts: &Parts, state: &AppState) -> Result<Principal, ApiError> {
    let header = parts
        .headers
        .get(AUTHORIZATION)
        .ok_or_else(|| ApiError::new(ProblemType::Unauthorized, "send Authorization: Bearer <token>"))?;
    let token = header
        .to_str()
        .ok()
        .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::new(ProblemType::Unauthorized, "the Authorization header must be \"Bearer <token>\"")
        })?;
    // every configured token is compared, so timing does not tell which matched
    let operator = std::iter::once(&state.settings.operator_token)
        .chain(&state.settings.more_operator_tokens)
        .fold(false, |hit, t| hit | constant_time_eq(token.as_bytes(), t.as_bytes()));
    if operator {
        return Ok(Principal::Operator);
    }
    if !token.starts_with(KEY_PREFIX) {
        return Err(ApiError::new(ProblemType::Unauthorized, "the bearer token is not valid"));
    }
    let hash = hash_key(token);
    if let Some(tenant) = state.keys.get(&hash) {
        return Ok(Principal::Tenant(tenant));
    }
    // looked up on the operator pool: no tenant is known before this query
    let tenant: Option<Uuid> =
        sqlx::query_scalar("SELECT tenant_id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL")
            .bind(&hash[..])
            .fetch_optional(&state.db.operator)
            .await?;
    let tenant = tenant.ok_or_else(|| ApiError::new(ProblemType::Unauthorized, "the bearer token is not valid"))?;
    state.keys.put(hash, tenant);
    Ok(Principal::Tenant(tenant))
}

/// Tenant keys recently found valid, so a busy tenant's requests do not each
/// cost a query (docs/goals.md C1). Only valid keys are kept, for `ttl`: a key
/// revoked in the database stops working within that time.
pub struct KeyCache {
    ttl: Duration,
    entries: Mutex<HashMap<[u8; 32], (Uuid, Instant)>>,
}

/// How long a valid key is trusted without asking the database again.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(5);
/// Most keys kept; past it, expired entries go, then all of them.
const KEY_CACHE_MAX: usize = 10_000;

impl KeyCache {
    pub fn new(ttl: Duration) -> KeyCache {
        KeyCache { ttl, entries: Mutex::new(HashMap::new()) }
    }

    fn get(&self, hash: &[u8; 32]) -> Option<Uuid> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.get(hash).filter(|(_, at)| at.elapsed() < self.ttl).map(|(tenant, _)| *tenant)
    }

    fn put(&self, hash: [u8; 32], tenant: Uuid) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= KEY_CACHE_MAX {
            entries.retain(|_, (_, at)| at.elapsed() < self.ttl);
            if entries.len() >= KEY_CACHE_MAX {
                entries.clear();
            }
        }
        entries.insert(hash, (tenant, Instant::now()));
    }
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
            Principal::Tenant(_) => Err(ApiError::new(ProblemType::Forbidden, "this route needs the operator token")),
        }
    }
}

impl FromRequestParts<AppState> for Tenant {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match principal(parts, state).await? {
            Principal::Tenant(t) => Ok(Tenant(t)),
            Principal::Operator => Err(ApiError::new(
                ProblemType::Forbidden,
                "this route acts for a tenant: use one of the tenant's API keys",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cached_key_expires_after_its_ttl() {
        let cache = KeyCache::new(Duration::from_millis(50));
        let (a, b) = (hash_key("drk_a"), hash_key("drk_b"));
        let tenant = Uuid::new_v4();
        assert_eq!(cache.get(&a), None);
        cache.put(a, tenant);
        assert_eq!((cache.get(&a), cache.get(&b)), (Some(tenant), None));
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(cache.get(&a), None, "expired");
    }

    #[test]
    fn the_cache_stays_bounded() {
        let cache = KeyCache::new(Duration::from_secs(60));
        for i in 0..KEY_CACHE_MAX + 5 {
            cache.put(hash_key(&format!("drk_{i}")), Uuid::new_v4());
        }
        let len = cache.entries.lock().unwrap().len();
        assert!(len <= KEY_CACHE_MAX, "{len}");
        assert!(cache.get(&hash_key(&format!("drk_{}", KEY_CACHE_MAX + 4))).is_some(), "the newest key is kept");
    }
}
