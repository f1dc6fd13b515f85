//! Tenants, their API keys, and the feed tokens lookup nodes read the event
//! feed with.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject))]
pub struct Tenant {
    pub id: Uuid,
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The language greetings are said in by default (BCP 47, `en` unless set).
    pub locale: String,
    /// The tenant's own greeting templates; an absent one is the locale's default.
    pub greeting_templates: GreetingTemplates,
}

/// A tenant's greeting templates. `{emergency_number}` and `{label}` are
/// filled in (the number's country's emergency number, the route's customer
/// label); `{{` and `}}` are literal braces.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject))]
pub struct GreetingTemplates {
    /// What PSAP lines say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emergency: Option<String>,
    /// What every other line says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// `PATCH /v1/tenants/{id}` body: at least one field.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TenantPatch {
    /// BCP 47 tag (`es`, `pt-BR`). A language without default templates
    /// (see docs/api.md) needs both of the tenant's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(example = "es", max_length = 35))]
    pub locale: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub greeting_templates: Option<TemplatesPatch>,
}

/// Templates to set: a string sets one (1 to 500 characters), `null` goes
/// back to the locale's default, an absent field stays as it is.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TemplatesPatch {
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>, nullable, max_length = 500))]
    pub emergency: Option<Option<String>>,
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>, nullable, max_length = 500))]
    pub label: Option<Option<String>>,
}

/// `Some(x)` for a field that is present, `null` included (`Some(None)`),
/// so that "set to default" differs from "leave as it is".
fn present<'de, T: Deserialize<'de>, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// The tenant after `PATCH /v1/tenants/{id}`, and the position of the
/// events that re-published its allocated numbers' routes with the new
/// greetings (null when it has none allocated or nothing changed).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject))]
pub struct TenantUpdated {
    pub tenant: Tenant,
    pub seq: Option<u64>,
}

/// Every tenant.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Tenants {
    pub tenants: Vec<Tenant>,
}

/// What a tenant key may do: `read` (GET) or `write` (POST, PATCH, DELETE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Read,
    Write,
}

impl Scope {
    /// The name stored in `api_keys.scopes` and sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
        }
    }
}

/// `POST /v1/tenants/{id}/api-keys` body; no body at all means read and
/// write, no expiry.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewKeyRequest {
    /// `["read"]` or `["read", "write"]` (the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<Scope>>,
    /// When the key stops working; must be in the future. Default: never.
    #[serde(default, with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<OffsetDateTime>,
}

/// A new API key.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct NewKey {
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// The key itself: shown once, stored only as a hash.
    pub key: String,
    pub key_prefix: String,
    pub scopes: Vec<Scope>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

/// An API key as listed: never the key or its hash.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ApiKey {
    pub id: Uuid,
    pub key_prefix: String,
    pub scopes: Vec<Scope>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Refreshed at most once a minute.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
}

/// A tenant's keys, oldest first.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ApiKeys {
    pub api_keys: Vec<ApiKey>,
}

/// `POST /v1/feed-tokens` body (optional).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewFeedTokenRequest {
    /// What the token is for (a lookup node's name), 1 to 200 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A new feed token: it may read `GET /v1/events` and nothing else.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct NewFeedToken {
    pub id: Uuid,
    pub name: Option<String>,
    /// The token itself: shown once, stored only as a hash.
    pub token: String,
    pub token_prefix: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A feed token as listed: never the token or its hash.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct FeedToken {
    pub id: Uuid,
    pub name: Option<String>,
    pub token_prefix: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Refreshed at most once a minute.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
}

/// Every feed token, oldest first.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct FeedTokens {
    pub feed_tokens: Vec<FeedToken>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_patch_tells_null_from_absent() {
        let p: TenantPatch =
            serde_json::from_str(r#"{"greeting_templates": {"emergency": null, "label": "Hi {label}"}}"#).unwrap();
        let t = p.greeting_templates.unwrap();
        assert_eq!(t.emergency, Some(None));
        assert_eq!(t.label, Some(Some("Hi {label}".into())));
        let p: TenantPatch = serde_json::from_str(r#"{"greeting_templates": {}}"#).unwrap();
        let t = p.greeting_templates.unwrap();
        assert_eq!((t.emergency, t.label), (None, None));
        assert!(serde_json::from_str::<TenantPatch>(r#"{"greeting_templates": {"emergencyy": "x"}}"#).is_err());
    }
}
