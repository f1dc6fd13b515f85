//! The lookup node's answers, defined once: the node serves them (the route
//! answer from pre-rendered bytes, tested to decode into [`RouteAnswer`]
//! with exactly its fields), its OpenAPI document describes them, and
//! clients decode them.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{Country, Greeting, Subsystem, E164};

/// `GET /v1/routes/{number}`: where calls to one number go, and the
/// greeting a caller hears.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct RouteAnswer {
    #[cfg_attr(feature = "utoipa", schema(schema_with = schema::e164))]
    pub number: E164,
    pub tenant_id: Uuid,
    #[cfg_attr(feature = "utoipa", schema(schema_with = schema::subsystem))]
    pub subsystem: Subsystem,
    /// Which dashboard shows calls to this number.
    pub dashboard_id: String,
    /// The customer-facing name; non-PSAP greetings are built from it.
    pub customer_label: String,
    #[cfg_attr(feature = "utoipa", schema(schema_with = schema::country))]
    pub country: Country,
    /// `number` (its own allocation) or `range` (a range route); absent
    /// from nodes that predate range routes, read as `number`.
    #[serde(default)]
    pub source: RouteSource,
    /// The tenant's locale, which the greeting's words are in unless the
    /// tenant or the number set their own (`en` by default).
    pub locale: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub friendly_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation_id: Option<String>,
    pub auto_provisioned: bool,
    /// The route's attributes for voice AI, as set at allocation or remap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<Object>))]
    pub attributes: Option<crate::route::Attributes>,
    /// A leased tracking number's live web session: the visit the call
    /// comes from. Absent when the number is not leased or the lease ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking: Option<crate::route::Tracking>,
    /// The final greeting: `text` is what to say, placeholders filled in.
    #[cfg_attr(feature = "utoipa", schema(schema_with = schema::greeting))]
    pub greeting: Greeting,
    /// The number's version: grows with every change to it.
    pub version: u64,
    /// The snapshot position the answer was made from.
    pub seq: u64,
}

/// Where a route answer comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RouteSource {
    /// The number's own allocation.
    #[default]
    Number,
    /// A range route of the tenant the number's range is assigned to (the
    /// number has no allocation of its own); `version` is the range's.
    Range,
}

/// `GET /v1/caller-id/{tenant_id}/{number}`: whether the tenant may present
/// the number as its outbound caller id (when it is allocated to it, or unallocated in one of its range routes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct CallerIdAnswer {
    #[cfg_attr(feature = "utoipa", schema(schema_with = schema::e164))]
    pub number: E164,
    pub tenant_id: Uuid,
    pub allowed: bool,
}

/// `GET /v1/snapshot`: the node's snapshot and how current it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct SnapshotAnswer {
    /// Feed position applied.
    pub seq: u64,
    /// Routable numbers.
    pub numbers: u64,
    /// When the base (the block index) under the current snapshot was built.
    #[serde(with = "time::serde::rfc3339")]
    pub built_at: OffsetDateTime,
    /// Where the node's changes come from: `feed` or `kafka`.
    pub source: String,
    /// 0 when the last poll confirmed the node was caught up; else seconds
    /// since it last was.
    pub lag_seconds: f64,
    pub ready: bool,
    /// Changes applied since the base was built, not yet folded into it.
    pub overlay_entries: u64,
    /// The lineage of the history the snapshot holds (the database's, at the
    /// events applied); absent before the first event that carries one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lineage: Option<uuid::Uuid>,
    /// Why the node stopped applying events, when it did: its source
    /// diverged from that history (`/readyz` says 503 with the same).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diverged: Option<String>,
}

/// `GET /healthz`: the process answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct HealthAnswer {
    /// Always `ok`.
    pub status: String,
}

/// `GET /readyz` when ready: a complete snapshot is loaded and caught up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ReadyAnswer {
    /// Always `ready`.
    pub status: String,
    /// Feed position applied.
    pub seq: u64,
}

/// Schemas of the shared domain types the answers hold, built from the
/// types' own value lists where they have one.
#[cfg(feature = "utoipa")]
pub mod schema {
    use utoipa::openapi::schema::{Object, ObjectBuilder, Type};

    use crate::Subsystem;

    /// What `E164` serialises to: `+` and 7 to 15 digits not starting with 0.
    pub fn e164() -> Object {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some("^\\+[1-9][0-9]{6,14}$"))
            .examples(["+15551234567"])
            .build()
    }

    /// ISO 3166-1 alpha-2.
    pub fn country() -> Object {
        ObjectBuilder::new().schema_type(Type::String).pattern(Some("^[A-Z]{2}$")).examples(["US"]).build()
    }

    /// Which call-handling surface receives calls to a number.
    pub fn subsystem() -> Object {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(Subsystem::ALL.iter().map(|s| s.as_str())))
            .build()
    }

    /// The greeting kinds, as `GreetingKind` serialises them.
    pub const GREETING_KINDS: [&str; 2] = ["emergency", "label"];

    /// What plays when a call to a number connects.
    pub fn greeting() -> Object {
        let string = || ObjectBuilder::new().schema_type(Type::String);
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property("kind", string().enum_values(Some(GREETING_KINDS)))
            .required("kind")
            .property(
                "emergency_number",
                string().description(Some("set for `emergency` greetings only: the country's emergency number")),
            )
            .property("text", string())
            .required("text")
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::GreetingKind;

    fn route_answer() -> RouteAnswer {
        let country = Country::parse("US").unwrap();
        RouteAnswer {
            number: E164::parse("+15551234567").unwrap(),
            tenant_id: Uuid::from_u128(7),
            subsystem: Subsystem::Psap,
            dashboard_id: "dispatch-east".into(),
            customer_label: "Metro 911".into(),
            country,
            source: RouteSource::Number,
            locale: "en".into(),
            friendly_name: None,
            organisation_id: Some("org-7".into()),
            auto_provisioned: false,
            attributes: Some(serde_json::json!({"voice": "alloy"}).as_object().unwrap().clone()),
            tracking: None,
            greeting: Greeting::for_route(Subsystem::Psap, country, "Metro 911"),
            version: 7,
            seq: 1042,
        }
    }

    #[test]
    fn the_route_answer_is_the_api_shape() {
        let v = serde_json::to_value(route_answer()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "number": "+15551234567",
                "tenant_id": Uuid::from_u128(7).to_string(),
                "subsystem": "psap",
                "dashboard_id": "dispatch-east",
                "customer_label": "Metro 911",
                "country": "US",
                "source": "number",
                "locale": "en",
                "organisation_id": "org-7",
                "auto_provisioned": false,
                "attributes": {"voice": "alloy"},
                "greeting": {"kind": "emergency", "emergency_number": "911", "text": "911, what is the address of your emergency?"},
                "version": 7,
                "seq": 1042
            })
        );
        assert_eq!(serde_json::from_value::<RouteAnswer>(v).unwrap(), route_answer());
    }

    #[test]
    fn the_snapshot_answer_writes_rfc3339() {
        let answer = SnapshotAnswer {
            seq: 3,
            numbers: 2,
            built_at: OffsetDateTime::UNIX_EPOCH,
            source: "feed".into(),
            lag_seconds: 0.5,
            ready: true,
            overlay_entries: 1,
            lineage: None,
            diverged: None,
        };
        let v = serde_json::to_value(&answer).unwrap();
        assert_eq!(v["built_at"], "1970-01-01T00:00:00Z");
        assert_eq!(serde_json::from_value::<SnapshotAnswer>(v).unwrap(), answer);
    }

    #[test]
    fn greeting_kinds_are_listed_as_they_serialise() {
        let kinds: Vec<_> = [GreetingKind::Emergency, GreetingKind::Label]
            .into_iter()
            .map(|k| serde_json::to_value(k).unwrap().as_str().unwrap().to_owned())
            .collect();
        #[cfg(feature = "utoipa")]
        assert_eq!(kinds, schema::GREETING_KINDS);
        assert_eq!(kinds, ["emergency", "label"]);
    }
}
