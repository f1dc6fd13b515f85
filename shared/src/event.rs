//! The change-event wire format: one JSON object per event, keyed by number.
//!
//! `{seq, number, version, op: "upsert"|"delete"|"block", route: {...}|null, at, lineage}`
//!
//! `delete` and `block` both say a number has no route of its own; they
//! differ inside a range route. After `delete` (released, reserved, back in
//! the pool) the range answers for the number; after `block` (disabled, or
//! its provisioning is not active: pending, failed, port pending) nothing
//! does, the range included. `block` is a new op rather than a flag on
//! `delete` for the reason range ops are (below): a node that predates it
//! skips the event instead of routing the number through its range.
//!
//! A range route (a tenant's DID range, PortSIP style) travels as its own
//! ops, `range_upsert` and `range_delete`, with `number` the range's first
//! number and `range: {id, last}`. New ops rather than a flag on the number
//! ops: a node that predates ranges fails to decode the op and skips the
//! event (logged and counted), where a flag it ignored would make it route
//! the range's first number as the whole range.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{Route, E164};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "utoipa", schema(rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// The number is allocated and routes as `route` says.
    Upsert,
    /// The number has no route of its own (released, reserved, deleted):
    /// a range route holding it answers for it.
    Delete,
    /// The number must not route at all, not even through a range holding
    /// it: disabled, or its provisioning is pending or failed.
    Block,
    /// The range `number`..=`range.last` routes as `route` says (numbers
    /// without an allocation of their own).
    RangeUpsert,
    /// The range `range.id` no longer routes (deleted, split, re-assigned).
    RangeDelete,
}

impl Op {
    /// Whether the event carries a route.
    pub fn is_upsert(self) -> bool {
        matches!(self, Op::Upsert | Op::RangeUpsert)
    }

    /// Whether the event is about a range route, not one number.
    pub fn is_range(self) -> bool {
        matches!(self, Op::RangeUpsert | Op::RangeDelete)
    }
}

/// Which range a range event is about: the range's id in the control plane
/// (its identity across changes) and its last number (`number` is its first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct RangeRef {
    pub id: u64,
    #[cfg_attr(feature = "utoipa", schema(value_type = String, example = "+15550001999"))]
    pub last: E164,
}

/// One change to one number's routing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ChangeEvent {
    /// Outbox position: gap-free, in commit order, across all numbers.
    pub seq: u64,
    #[cfg_attr(feature = "utoipa", schema(value_type = String, example = "+15551234567"))]
    pub number: E164,
    /// The number's own change counter: a consumer ignores an event whose
    /// version is not newer than the one it holds, so replays are harmless.
    pub version: u64,
    pub op: Op,
    pub route: Option<Route>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The history of the database this event belongs to (a new one after a
    /// restore: `didroute-control-plane lineage rotate`). A consumer that
    /// meets another lineage than the one it holds has diverged from the
    /// database and must not go on applying. Absent in events written
    /// before lineages existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lineage: Option<uuid::Uuid>,
    /// Range events only (`range_upsert`, `range_delete`): the range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<RangeRef>,
}

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("malformed change event: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error("an upsert event must carry a route")]
    UpsertWithoutRoute,
    #[error("a delete or block event must not carry a route")]
    DeleteWithRoute,
    #[error("route country {country} does not match number {number}")]
    CountryMismatch { country: String, number: E164 },
    #[error("a range event must carry its range")]
    RangeMissing,
    #[error("a number event must not carry a range")]
    UnexpectedRange,
    #[error("range {first}-{last} is not one block of numbers of one length")]
    BadRange { first: E164, last: E164 },
}

impl ChangeEvent {
    /// Decodes and validates one event.
    pub fn decode(bytes: &[u8]) -> Result<Self, EventError> {
        let ev: ChangeEvent = serde_json::from_slice(bytes)?;
        ev.validate()?;
        Ok(ev)
    }

    pub fn validate(&self) -> Result<(), EventError> {
        match (self.op.is_range(), self.range) {
            (true, None) => return Err(EventError::RangeMissing),
            (false, Some(_)) => return Err(EventError::UnexpectedRange),
            (true, Some(r)) if r.last < self.number || r.last.digit_count() != self.number.digit_count() => {
                return Err(EventError::BadRange { first: self.number, last: r.last })
            }
            _ => {}
        }
        match (self.op.is_upsert(), &self.route) {
            (true, None) => Err(EventError::UpsertWithoutRoute),
            (false, Some(_)) => Err(EventError::DeleteWithRoute),
            (true, Some(r)) if !r.country.matches(&self.number) => {
                Err(EventError::CountryMismatch { country: r.country.to_string(), number: self.number })
            }
            _ => Ok(()),
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a change event always serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Country, Subsystem};

    fn route(country: &str) -> Route {
        Route {
            tenant_id: uuid::Uuid::nil(),
            subsystem: Subsystem::Psap,
            dashboard_id: "dispatch-east".to_owned(),
            customer_label: "Metro 911".to_owned(),
            country: Country::parse(country).unwrap(),
            friendly_name: None,
            organisation_id: None,
            auto_provisioned: false,
            locale: "en".into(),
            greeting_template: None,
            greeting_text: None,
            attributes: None,
            tracking: None,
        }
    }

    fn event(op: Op, route: Option<Route>) -> ChangeEvent {
        ChangeEvent {
            seq: 1042,
            number: E164::parse("+15551234567").unwrap(),
            version: 7,
            op,
            route,
            at: time::macros::datetime!(2024-05-01 12:00:00.5 UTC),
            lineage: None,
            range: None,
        }
    }

    #[test]
    fn round_trips() {
        for ev in [event(Op::Upsert, Some(route("US"))), event(Op::Delete, None), event(Op::Block, None)] {
            assert_eq!(ChangeEvent::decode(&ev.encode()).unwrap(), ev);
        }
        assert!(String::from_utf8(event(Op::Block, None).encode()).unwrap().contains(r#""op":"block""#));
        // a block is a number event without a route
        let bad = event(Op::Block, Some(route("US")));
        assert_eq!(
            ChangeEvent::decode(&bad.encode()).unwrap_err().to_string(),
            "a delete or block event must not carry a route"
        );
        let bad = ChangeEvent {
            range: Some(RangeRef { id: 1, last: E164::parse("+15551234999").unwrap() }),
            ..event(Op::Block, None)
        };
        assert!(ChangeEvent::decode(&bad.encode()).is_err());
    }

    #[test]
    fn range_events_round_trip_and_are_checked() {
        let last = E164::parse("+15551234999").unwrap();
        let mut ev = event(Op::RangeUpsert, Some(route("US")));
        ev.range = Some(RangeRef { id: 9, last });
        let text = String::from_utf8(ev.encode()).unwrap();
        assert!(text.contains(r#""op":"range_upsert""#) && text.contains(r#""range":{"id":9,"last":"+15551234999"}"#));
        assert_eq!(ChangeEvent::decode(text.as_bytes()).unwrap(), ev);
        let del = ChangeEvent { op: Op::RangeDelete, route: None, ..ev.clone() };
        assert_eq!(ChangeEvent::decode(&del.encode()).unwrap(), del);
        let no_range = ChangeEvent { range: None, ..ev.clone() };
        assert_eq!(
            ChangeEvent::decode(&no_range.encode()).unwrap_err().to_string(),
            "a range event must carry its range"
        );
        let backwards =
            ChangeEvent { range: Some(RangeRef { id: 9, last: E164::parse("+15551230000").unwrap() }), ..ev };
        assert!(ChangeEvent::decode(&backwards.encode()).is_err());
        let number_with_range = ChangeEvent { range: Some(RangeRef { id: 9, last }), ..event(Op::Delete, None) };
        assert_eq!(
            ChangeEvent::decode(&number_with_range.encode()).unwrap_err().to_string(),
            "a number event must not carry a range"
        );
    }

    #[test]
    fn error_reasons() {
        let bad = event(Op::Upsert, None);
        assert_eq!(ChangeEvent::decode(&bad.encode()).unwrap_err().to_string(), "an upsert event must carry a route");
        let bad = event(Op::Delete, Some(route("US")));
        assert_eq!(
            ChangeEvent::decode(&bad.encode()).unwrap_err().to_string(),
            "a delete or block event must not carry a route"
        );
        let bad = event(Op::Upsert, Some(route("DE")));
        assert_eq!(
            ChangeEvent::decode(&bad.encode()).unwrap_err().to_string(),
            "route country DE does not match number +15551234567"
        );
        let err = ChangeEvent::decode(b"{\"seq\": 1}").unwrap_err();
        assert!(matches!(err, EventError::Malformed(_)));
        assert!(err.to_string().starts_with("malformed change event: missing field"), "{err}");
        let bad_number =
            br#"{"seq":1,"number":"+0123","version":1,"op":"delete","route":null,"at":"2024-05-01T12:00:00Z"}"#;
        let err = ChangeEvent::decode(bad_number).unwrap_err().to_string();
        assert!(err.contains("never with 0"), "{err}");
        assert!(ChangeEvent::decode(b"").is_err());
        assert!(ChangeEvent::decode(&[0xff, 0xfe]).is_err());
    }
}
