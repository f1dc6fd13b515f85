//! Form posts: the CSRF check every POST passes first, the typed fields,
//! and the form nonce as the change's idempotency key.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::response::Response;
use serde::de::DeserializeOwned;

use super::page;
use super::session::Signed;
use crate::error::ApiError;
use crate::service::idempotency::Key;

/// A checked form post: its fields, typed, and its nonce.
pub struct Posted<T> {
    pub fields: T,
    nonce: Option<String>,
}

impl<T> Posted<T> {
    /// The idempotency key of this submission, bound to what it asks
    /// (`route`, `body`): a double-submitted form changes things once.
    pub fn key(&self, route: &str, body: &serde_json::Value) -> Result<Option<Key>, ApiError> {
        self.nonce.as_deref().map(|n| Key::new(&format!("console-{n}"), route, body)).transpose()
    }
}

/// Whether `sent` is the session's CSRF token, compared in constant time.
pub fn csrf_ok(who: &Signed, sent: Option<&str>) -> bool {
    use subtle::ConstantTimeEq;
    sent.is_some_and(|s| bool::from(s.as_bytes().ct_eq(who.csrf.as_bytes())))
}

/// Reads an `application/x-www-form-urlencoded` body: refused (403 page)
/// without the session's CSRF token; a field of the wrong form is a
/// problem page naming it.
pub fn read<T: DeserializeOwned>(who: &Signed, body: &Bytes) -> Result<Posted<T>, Response> {
    let all: HashMap<String, String> = serde_urlencoded::from_bytes(body).map_err(|_| page::csrf_refused())?;
    if !csrf_ok(who, all.get("_csrf").map(String::as_str)) {
        return Err(page::csrf_refused());
    }
    let fields = serde_urlencoded::from_bytes(body).map_err(|e| {
        page::error_page(&ApiError::new(didroute_shared::problem::ProblemType::InvalidBody, e.to_string()))
    })?;
    let nonce = all.get("_nonce").filter(|n| !n.is_empty()).cloned();
    Ok(Posted { fields, nonce })
}

/// A text field as the service takes an optional one: blank is absent.
pub fn opt(v: &Option<String>) -> Option<String> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}
