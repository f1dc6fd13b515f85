//! Bearer authentication: the operator token from configuration, a tenant
//! API key (scoped `read` or `read`+`write`, optionally expiring), or a
//! lookup node's feed token; keys and tokens are stored as their SHA-256 and
//! shown once, at creation.

use didroute_shared::problem::ProblemType;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::Method;
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::AppState;

/// Prefix of every tenant key, so a leaked key is recognisable in logs and scanners.
pub const KEY_PREFIX: &str = "drk_";
/// Prefix of every feed token: told apart from a tenant key at a glance.
pub const FEED_TOKEN_PREFIX: &str = "drf_";

/// Who is calling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principal {
    Operator,
    /// A tenant key; `write` is false for a read-only key.
    Tenant {
        id: Uuid,
        write: bool,
    },
    /// A lookup node's feed token: `GET /v1/events` and `POST /v1/usage/batches` only.
    Feed,
}

/// Extractor for routes only the operator may call.
pub struct Operator;

/// Extractor for tenant routes: the tenant whose key authenticated the
/// request. Any method but GET and HEAD needs the key's `write` scope, so no
/// tenant handler checks scopes itself.
pub struct Tenant(pub Uuid);

/// Extractor for `GET /v1/events` and `POST /v1/usage/batches`: the
/// operator token or a feed token.
pub struct FeedReader;

/// Extractor for `POST /graphql`: the operator or a tenant key (with its
/// scopes; mutations check `write`), never a feed token.
pub struct Caller(pub Principal);

/// The detail of a feed token's refusal (REST and GraphQL).
pub const FEED_ONLY: &str = "a feed token can only read /v1/events and send /v1/usage/batches";
/// The detail of a read-only key's refused change (REST and GraphQL).
pub const NEEDS_WRITE: &str =
    "this api key lacks the \"write\" scope: changes need a key created with scopes [\"read\", \"write\"]";

/// A new random credential with `prefix` and its hash.
pub fn new_secret(prefix: &str) -> (String, [u8; 32]) {
    let mut raw = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    let key = format!("{prefix}{}", hex(&raw));
    let hash = hash_key(&key);
    (key, hash)
}

/// The first characters of a credential, shown in listings to tell them apart.
pub fn shown_prefix(secret: &str) -> String {
    secret.chars().take(KEY_PREFIX.len() + 8).collect()
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

fn invalid() -> ApiError {
    ApiError::new(ProblemType::Unauthorized, "the bearer token is not valid")
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
    principal_of(state, token).await
}

/// Who `token` (the operator token, a tenant key or a feed token) is:
/// the bearer header's check, also the console's sign-in.
pub(crate) async fn principal_of(state: &AppState, token: &str) -> Result<Principal, ApiError> {
    // every configured token is compared, so timing does not tell which matched
    let operator = std::iter::once(&state.settings.operator_token)
        .chain(&state.settings.more_operator_tokens)
        .fold(false, |hit, t| hit | constant_time_eq(token.as_bytes(), t.as_bytes()));
    if operator {
        return Ok(Principal::Operator);
    }
    let feed = token.starts_with(FEED_TOKEN_PREFIX);
    if !feed && !token.starts_with(KEY_PREFIX) {
        return Err(invalid());
    }
    principal_of_hash(state, hash_key(token), feed).await
}

/// Whether `hash` is the SHA-256 of a configured operator token (a console
/// session holds only the hash). Every configured token is compared,
/// without an early exit, so timing tells not which one matched.
pub(crate) fn is_operator_hash(state: &AppState, hash: &[u8; 32]) -> bool {
    std::iter::once(&state.settings.operator_token)
        .chain(&state.settings.more_operator_tokens)
        .fold(false, |hit, t| hit | constant_time_eq(hash, &hash_key(t)))
}

/// Who the tenant key (or, with `feed`, the feed token) hashing to `hash`
/// is, now: revoked, expired or deleted credentials are refused. The
/// console re-checks its sessions with this, holding only the hash.
pub(crate) async fn principal_of_hash(state: &AppState, hash: [u8; 32], feed: bool) -> Result<Principal, ApiError> {
    let now = OffsetDateTime::now_utc();
    if let Some(hit) = state.keys.get(&hash) {
        return hit.usable(now);
    }
    let generation = state.keys.generation();
    // Looked up on the operator pool: no tenant is known before this query.
    // The same statement refreshes last_used_at only when it is a minute
    // old, so a key in steady use costs one small write a minute at most.
    let found = if feed {
        sqlx::query_as::<_, (Option<Uuid>, Option<Vec<String>>, Option<OffsetDateTime>)>(
            "WITH t AS (SELECT id, last_used_at FROM feed_tokens WHERE token_hash = $1 AND revoked_at IS NULL),
             touch AS (UPDATE feed_tokens f SET last_used_at = now() FROM t
                       WHERE f.id = t.id AND (t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute'))
             SELECT NULL::uuid, NULL::text[], NULL::timestamptz FROM t",
        )
        .bind(&hash[..])
        .fetch_optional(&state.db.operator)
        .await?
    } else {
        sqlx::query_as(
            "WITH k AS (SELECT id, tenant_id, scopes, expires_at, last_used_at FROM api_keys
                        WHERE key_hash = $1 AND revoked_at IS NULL),
             touch AS (UPDATE api_keys a SET last_used_at = now() FROM k
                       WHERE a.id = k.id AND (k.expires_at IS NULL OR k.expires_at > now())
                         AND (k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute'))
             SELECT tenant_id, scopes, expires_at FROM k",
        )
        .bind(&hash[..])
        .fetch_optional(&state.db.operator)
        .await?
    };
    let (tenant, scopes, expires_at) = found.ok_or_else(invalid)?;
    let principal = match tenant {
        None => Principal::Feed,
        Some(id) => Principal::Tenant { id, write: scopes.unwrap_or_default().iter().any(|s| s == "write") },
    };
    let entry = Entry { principal, expires_at };
    state.keys.put(hash, entry, generation);
    entry.usable(now)
}

/// What the cache remembers of a valid tenant key or feed token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    principal: Principal,
    expires_at: Option<OffsetDateTime>,
}

impl Entry {
    /// Expiry is checked on every request, cached or not: a key stops at
    /// its `expires_at`, not up to a cache lifetime later.
    fn usable(self, now: OffsetDateTime) -> Result<Principal, ApiError> {
        match self.expires_at {
            Some(at) if at <= now => Err(ApiError::new(ProblemType::Unauthorized, "the api key has expired")),
            _ => Ok(self.principal),
        }
    }
}

/// Tenant keys and feed tokens recently found valid, so a busy tenant's
/// requests do not each cost a query (docs/goals.md C1). Only valid
/// credentials are kept. Every change that could make one invalid (a
/// revocation, a scope or expiry change, a deletion) notifies
/// [`CREDENTIALS_CHANNEL`], and [`run_key_listener`] clears the cache on it,
/// so a revocation holds on every instance as soon as it commits. While the
/// listener is not connected (at start, after a dropped connection)
/// entries live only [`KEY_CACHE_FALLBACK_TTL`], under the 1 s a revocation
/// may take.
pub struct KeyCache {
    ttl: Duration,
    listening: AtomicBool,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<[u8; 32], (Entry, Instant)>,
    /// Bumped by every clear: a lookup that read the database before a
    /// clear must not put its (possibly revoked) answer back after it.
    generation: u64,
}

/// The channel the credential triggers notify (migration 20261210000001).
pub const CREDENTIALS_CHANNEL: &str = "didroute_credentials";
/// How long a valid credential is trusted without asking the database
/// again, while revocations are heard as notifications.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(5);
/// The same while no notification can be heard: a query per key per
/// half-second at most, which C1's keys afford easily.
pub const KEY_CACHE_FALLBACK_TTL: Duration = Duration::from_millis(500);
/// Most keys kept; past it, expired entries go, then all of them.
const KEY_CACHE_MAX: usize = 10_000;

impl KeyCache {
    pub fn new(ttl: Duration) -> KeyCache {
        KeyCache { ttl, listening: AtomicBool::new(false), inner: Mutex::new(Inner::default()) }
    }

    fn ttl(&self) -> Duration {
        if self.listening.load(Ordering::Acquire) {
            self.ttl
        } else {
            self.ttl.min(KEY_CACHE_FALLBACK_TTL)
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn get(&self, hash: &[u8; 32]) -> Option<Entry> {
        let ttl = self.ttl();
        self.lock().entries.get(hash).filter(|(_, at)| at.elapsed() < ttl).map(|(entry, _)| *entry)
    }

    fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// Remembers `entry` unless the cache was cleared since `generation`
    /// was read (before the database was asked).
    fn put(&self, hash: [u8; 32], entry: Entry, generation: u64) {
        let ttl = self.ttl();
        let mut inner = self.lock();
        if inner.generation != generation {
            return;
        }
        if inner.entries.len() >= KEY_CACHE_MAX {
            inner.entries.retain(|_, (_, at)| at.elapsed() < ttl);
            if inner.entries.len() >= KEY_CACHE_MAX {
                inner.entries.clear();
            }
        }
        inner.entries.insert(hash, (entry, Instant::now()));
    }

    /// Forgets every credential: the next request of each asks the database.
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.entries.clear();
        inner.generation += 1;
    }

    fn set_listening(&self, on: bool) {
        self.listening.store(on, Ordering::Release);
    }
}

/// Clears `cache` on every credential notification, reconnecting when the
/// connection drops. Notifications sent while it was down are lost, so each
/// (re)connection clears the cache once LISTEN holds, and until then the
/// cache runs on its short fallback lifetime.
pub async fn run_key_listener(operator: PgPool, cache: Arc<KeyCache>) {
    loop {
        if let Err(e) = listen(&operator, &cache).await {
            tracing::warn!(error = %e, "credential listener failed; reconnecting");
        }
        cache.set_listening(false);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn listen(operator: &PgPool, cache: &KeyCache) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect_with(operator).await?;
    listener.listen(CREDENTIALS_CHANNEL).await?;
    cache.clear();
    cache.set_listening(true);
    // try_recv: None means the connection dropped (recv would reconnect
    // silently, hiding the notifications lost meanwhile)
    while listener.try_recv().await?.is_some() {
        cache.clear();
    }
    Ok(())
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match principal(parts, state).await? {
            Principal::Feed => Err(ApiError::new(ProblemType::Forbidden, FEED_ONLY)),
            p => Ok(Caller(p)),
        }
    }
}

impl FromRequestParts<AppState> for FeedReader {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match principal(parts, state).await? {
            Principal::Operator | Principal::Feed => Ok(FeedReader),
            Principal::Tenant { .. } => {
                Err(ApiError::new(ProblemType::Forbidden, "this route needs the operator token or a feed token"))
            }
        }
    }
}

impl FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match principal(parts, state).await? {
            Principal::Operator => Ok(Operator),
            Principal::Feed => Err(ApiError::new(ProblemType::Forbidden, FEED_ONLY)),
            Principal::Tenant { .. } => {
                Err(ApiError::new(ProblemType::Forbidden, "this route needs the operator token"))
            }
        }
    }
}

impl FromRequestParts<AppState> for Tenant {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match principal(parts, state).await? {
            Principal::Tenant { id, write } => {
                if !write && !matches!(parts.method, Method::GET | Method::HEAD) {
                    return Err(ApiError::new(ProblemType::Forbidden, NEEDS_WRITE));
                }
                Ok(Tenant(id))
            }
            Principal::Feed => Err(ApiError::new(ProblemType::Forbidden, FEED_ONLY)),
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

    fn entry(write: bool) -> Entry {
        Entry { principal: Principal::Tenant { id: Uuid::new_v4(), write }, expires_at: None }
    }

    #[test]
    fn a_cached_key_expires_after_its_ttl() {
        let cache = KeyCache::new(Duration::from_millis(50));
        cache.set_listening(true);
        let (a, b) = (hash_key("drk_a"), hash_key("drk_b"));
        let e = entry(true);
        assert_eq!(cache.get(&a), None);
        cache.put(a, e, cache.generation());
        assert_eq!((cache.get(&a), cache.get(&b)), (Some(e), None));
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(cache.get(&a), None, "expired");
    }

    #[test]
    fn without_a_listener_entries_live_only_the_fallback_ttl() {
        let cache = KeyCache::new(Duration::from_secs(60));
        assert_eq!(cache.ttl(), KEY_CACHE_FALLBACK_TTL, "not listening yet");
        assert!(KEY_CACHE_FALLBACK_TTL < Duration::from_secs(1), "a revocation must hold within 1 s");
        cache.set_listening(true);
        assert_eq!(cache.ttl(), Duration::from_secs(60));
    }

    #[test]
    fn a_clear_wins_over_a_lookup_that_started_before_it() {
        let cache = KeyCache::new(Duration::from_secs(60));
        let a = hash_key("drk_a");
        let before = cache.generation();
        cache.clear();
        cache.put(a, entry(true), before);
        assert_eq!(cache.get(&a), None, "an answer read before the clear may be revoked");
        cache.put(a, entry(true), cache.generation());
        assert!(cache.get(&a).is_some());
        cache.clear();
        assert_eq!(cache.get(&a), None);
    }

    #[test]
    fn an_expired_entry_is_refused_even_when_cached() {
        let now = OffsetDateTime::now_utc();
        let e = Entry { expires_at: Some(now), ..entry(false) };
        let refused = e.usable(now).unwrap_err().problem();
        assert_eq!((refused.status, refused.detail.as_str()), (401, "the api key has expired"));
        let later = Entry { expires_at: Some(now + time::Duration::minutes(1)), ..e };
        assert_eq!(later.usable(now).unwrap(), e.principal);
    }

    #[test]
    fn the_cache_stays_bounded() {
        let cache = KeyCache::new(Duration::from_secs(60));
        cache.set_listening(true);
        for i in 0..KEY_CACHE_MAX + 5 {
            cache.put(hash_key(&format!("drk_{i}")), entry(true), cache.generation());
        }
        let len = cache.lock().entries.len();
        assert!(len <= KEY_CACHE_MAX, "{len}");
        assert!(cache.get(&hash_key(&format!("drk_{}", KEY_CACHE_MAX + 4))).is_some(), "the newest key is kept");
    }
}
