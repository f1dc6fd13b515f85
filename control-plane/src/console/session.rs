//! Console sessions. The cookie holds only a random session id; this process
//! maps it to the SHA-256 of the credential that signed in (never the
//! credential itself) and a CSRF token. Every request re-checks that
//! credential (`auth::principal_of_hash`, cached and cleared on revocation
//! like a bearer key), so revoking a key ends its sessions at their next
//! request. Sessions live in memory: a restart signs everyone out, which a
//! console can afford and which keeps session state out of the database.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use rand::RngCore;

use crate::auth::{self, Principal};
use crate::state::AppState;

/// The session cookie's name.
pub const COOKIE_NAME: &str = "didroute_console";
/// A session ends this long after sign-in, however busy.
pub const SESSION_MAX: Duration = Duration::from_secs(12 * 3600);
/// A session ends after this long without a request.
pub const SESSION_IDLE: Duration = Duration::from_secs(2 * 3600);
/// Most sessions held; past it the oldest go first.
const MAX_SESSIONS: usize = 10_000;

/// What signed in, as a hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// SHA-256 of an operator token.
    Operator([u8; 32]),
    /// SHA-256 of a tenant key.
    Key([u8; 32]),
}

#[derive(Debug, Clone)]
struct Entry {
    credential: Credential,
    csrf: String,
    created: Instant,
    seen: Instant,
}

/// Every signed-in session of this process.
#[derive(Default)]
pub struct Sessions {
    inner: Mutex<HashMap<String, Entry>>,
}

/// 32 random bytes as hex: session ids, CSRF tokens, form nonces.
pub fn random_token() -> String {
    let mut raw = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    auth::hex(&raw)
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new session for `credential`: its id (for the cookie).
    pub fn create(&self, credential: Credential) -> String {
        let id = random_token();
        let now = Instant::now();
        let mut map = self.lock();
        if map.len() >= MAX_SESSIONS {
            map.retain(|_, e| live(e, now));
            if map.len() >= MAX_SESSIONS {
                if let Some(oldest) = map.iter().min_by_key(|(_, e)| e.created).map(|(k, _)| k.clone()) {
                    map.remove(&oldest);
                }
            }
        }
        map.insert(id.clone(), Entry { credential, csrf: random_token(), created: now, seen: now });
        id
    }

    /// The live session `id` names, touched; an expired one is removed.
    fn get(&self, id: &str) -> Option<(Credential, String)> {
        let now = Instant::now();
        let mut map = self.lock();
        let entry = map.get_mut(id)?;
        if !live(entry, now) {
            map.remove(id);
            return None;
        }
        entry.seen = now;
        Some((entry.credential, entry.csrf.clone()))
    }

    pub fn remove(&self, id: &str) {
        self.lock().remove(id);
    }
}

fn live(e: &Entry, now: Instant) -> bool {
    now.duration_since(e.created) < SESSION_MAX && now.duration_since(e.seen) < SESSION_IDLE
}

/// A signed-in request: who, and the session's CSRF token.
#[derive(Debug, Clone)]
pub struct Signed {
    pub id: String,
    pub principal: Principal,
    pub csrf: String,
}

/// The session id the request's cookie carries.
pub fn cookie_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.to_owned())
}

/// Whether the request reached us over HTTPS: our own TLS listener, or a
/// proxy that says so (the cookie only gets stricter for it).
pub fn over_https(state: &AppState, headers: &HeaderMap) -> bool {
    state.settings.tls.is_some()
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|p| p.eq_ignore_ascii_case("https"))
}

/// `Set-Cookie` for a new session: HttpOnly, SameSite=Strict, scoped to the
/// console, Secure over HTTPS; a session cookie (no Max-Age), so closing the
/// browser forgets it too.
pub fn set_cookie(id: &str, secure: bool) -> (axum::http::HeaderName, String) {
    let secure = if secure { "; Secure" } else { "" };
    (SET_COOKIE, format!("{COOKIE_NAME}={id}; Path=/console; HttpOnly; SameSite=Strict{secure}"))
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_cookie(secure: bool) -> (axum::http::HeaderName, String) {
    let secure = if secure { "; Secure" } else { "" };
    (SET_COOKIE, format!("{COOKIE_NAME}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0{secure}"))
}

/// Where a request without a live session goes.
pub fn to_sign_in() -> Response {
    Redirect::to("/console/sign-in").into_response()
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let id = cookie_id(&parts.headers).ok_or_else(to_sign_in)?;
        let (credential, csrf) = state.console.sessions.get(&id).ok_or_else(to_sign_in)?;
        let principal = match credential {
            Credential::Operator(hash) if auth::is_operator_hash(state, &hash) => Some(Principal::Operator),
            Credential::Operator(_) => None,
            Credential::Key(hash) => match auth::principal_of_hash(state, hash, false).await {
                Ok(p @ Principal::Tenant { .. }) => Some(p),
                Ok(_) => None,
                // a database failure is not a sign-out
                Err(e) if !matches!(e.kind(), didroute_shared::problem::ProblemType::Unauthorized) => {
                    return Err(super::page::error_page(&e).into_response())
                }
                Err(_) => None,
            },
        };
        match principal {
            Some(principal) => Ok(Signed { id, principal, csrf }),
            None => {
                // revoked, expired or no longer configured: the session ends
                state.console.sessions.remove(&id);
                Err(to_sign_in())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_found_by_id_and_removed() {
        let s = Sessions::default();
        let id = s.create(Credential::Key([7; 32]));
        let (c, csrf) = s.get(&id).unwrap();
        assert_eq!(c, Credential::Key([7; 32]));
        assert_eq!(csrf.len(), 64);
        assert!(s.get("other").is_none());
        s.remove(&id);
        assert!(s.get(&id).is_none());
    }

    #[test]
    fn an_idle_session_expires() {
        let s = Sessions::default();
        let id = s.create(Credential::Key([1; 32]));
        s.lock().get_mut(&id).unwrap().seen = Instant::now() - SESSION_IDLE;
        assert!(s.get(&id).is_none(), "idle too long");
        assert!(s.lock().is_empty(), "and removed");
    }

    #[test]
    fn the_cookie_is_read_among_others() {
        let mut h = HeaderMap::new();
        h.insert(COOKIE, "a=b; didroute_console=abc123; c=d".parse().unwrap());
        assert_eq!(cookie_id(&h).as_deref(), Some("abc123"));
        let (_, set) = set_cookie("x", true);
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.ends_with("; Secure"), "{set}");
        assert!(!set_cookie("x", false).1.contains("Secure"));
    }
}
