//! The routing record of an allocated number: what a lookup answers.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::greeting::DEFAULT_LOCALE;
use crate::{Country, Greeting, Subsystem};

/// A route's attributes: a small JSON object a voice-AI prewarmer reads
/// (a voice, a model, a script), carried as it was set.
pub type Attributes = serde_json::Map<String, serde_json::Value>;

/// Largest serialized size of a route's attributes, in bytes: small enough
/// that every answer of the route stays a few packets.
pub const ATTRIBUTES_MAX_BYTES: usize = 1024;

/// Checks attributes a caller sets: a JSON object of at most
/// [`ATTRIBUTES_MAX_BYTES`] bytes serialized, without NUL (which
/// PostgreSQL's jsonb cannot store) in any key or string.
pub fn check_attributes(value: &serde_json::Value) -> Result<Attributes, String> {
    let serde_json::Value::Object(map) = value else {
        return Err(format!("attributes must be a JSON object, not {}", json_kind(value)));
    };
    let len = serde_json::to_vec(value).map_or(usize::MAX, |v| v.len());
    if len > ATTRIBUTES_MAX_BYTES {
        return Err(format!("attributes are {len} bytes serialized, more than the {ATTRIBUTES_MAX_BYTES} allowed"));
    }
    fn has_nul(v: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::String(s) => s.contains('\0'),
            serde_json::Value::Array(a) => a.iter().any(has_nul),
            serde_json::Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
            _ => false,
        }
    }
    if has_nul(value) {
        return Err("attributes must not contain the NUL character (U+0000)".into());
    }
    Ok(map.clone())
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// The live web session a leased tracking number resolves to (dynamic
/// number insertion): the call that follows is the visit's. Absent when the
/// number is not leased; a lookup node also drops it once `leased_until`
/// has passed, before the lifecycle job's expiry event arrives.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Tracking {
    pub pool_id: Uuid,
    pub session_id: Uuid,
    /// The caller's own id of the visitor (a cookie, an analytics id).
    pub visitor_id: String,
    /// What the session started with (campaign, source, landing page): a
    /// JSON object of at most 1 KiB serialized.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<Object>))]
    pub attributes: Option<Attributes>,
    /// When the lease ends unless renewed.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "utoipa", schema(value_type = String, format = DateTime))]
    pub leased_until: time::OffsetDateTime,
}

fn default_locale() -> String {
    DEFAULT_LOCALE.to_owned()
}

/// Where calls to one allocated number go.
///
/// Holds routing content only, no timestamps or per-number counters, so that
/// the many numbers sharing one route (a tenant's dispatch lines, say) share
/// one record in the lookup snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject), graphql(complex))]
pub struct Route {
    pub tenant_id: Uuid,
    pub subsystem: Subsystem,
    /// Which dashboard shows calls to this number.
    pub dashboard_id: String,
    /// The customer-facing name; non-PSAP greetings are built from it.
    pub customer_label: String,
    /// The number's country: picks the emergency number of a PSAP greeting.
    #[cfg_attr(feature = "utoipa", schema(value_type = String, example = "US"))]
    #[cfg_attr(feature = "graphql", graphql(skip))]
    pub country: Country,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub friendly_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation_id: Option<String>,
    #[serde(default)]
    pub auto_provisioned: bool,
    /// The tenant's locale: picks the default greeting templates. Events
    /// from before locales existed carry none and mean `en`.
    #[serde(default = "default_locale")]
    #[cfg_attr(feature = "utoipa", schema(example = "en"))]
    pub locale: String,
    /// The tenant's own template for this route's greeting kind (emergency
    /// for PSAP lines, label for the others); absent: the locale's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub greeting_template: Option<String>,
    /// The number's own greeting, said as written instead of any template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub greeting_text: Option<String>,
    /// What a voice-AI prewarmer needs from this route: a JSON object of at
    /// most 1 KiB serialized.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<Object>))]
    #[cfg_attr(feature = "graphql", graphql(skip))]
    pub attributes: Option<Attributes>,
    /// A leased tracking number's session (subsystem `tracking` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "graphql", graphql(skip))]
    pub tracking: Option<Tracking>,
}

impl Route {
    /// The greeting a caller hears on this number.
    pub fn greeting(&self) -> Greeting {
        Greeting::render(
            self.subsystem,
            self.country,
            &self.customer_label,
            &self.locale,
            self.greeting_template.as_deref(),
            self.greeting_text.as_deref(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn attributes_are_a_small_object() {
        let ok = json!({"voice": "alloy", "model": {"name": "x", "temperature": 0.2}, "tags": ["a"]});
        assert_eq!(check_attributes(&ok).unwrap().len(), 3);
        assert_eq!(check_attributes(&json!([1])).unwrap_err(), "attributes must be a JSON object, not an array");
        assert_eq!(check_attributes(&json!("x")).unwrap_err(), "attributes must be a JSON object, not a string");
        // {"k":"…"} is 8 bytes around the string
        let at_limit = json!({"k": "x".repeat(ATTRIBUTES_MAX_BYTES - 8)});
        assert!(check_attributes(&at_limit).is_ok());
        let over = json!({"k": "x".repeat(ATTRIBUTES_MAX_BYTES - 7)});
        assert_eq!(
            check_attributes(&over).unwrap_err(),
            "attributes are 1025 bytes serialized, more than the 1024 allowed"
        );
        let nul = json!({"a": [{"b\u{0}": 1}]});
        assert_eq!(check_attributes(&nul).unwrap_err(), "attributes must not contain the NUL character (U+0000)");
    }

    #[test]
    fn routes_from_before_locales_decode_as_english_without_extras() {
        let old = json!({
            "tenant_id": uuid::Uuid::nil(), "subsystem": "psap", "dashboard_id": "d", "customer_label": "L",
            "country": "JM"
        });
        let r: Route = serde_json::from_value(old).unwrap();
        assert_eq!(r.locale, "en");
        assert_eq!((r.greeting_template, r.greeting_text, r.attributes), (None, None, None));
    }
}
