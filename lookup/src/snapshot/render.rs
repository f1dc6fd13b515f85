//! A route rendered once into the JSON every lookup of it answers with.
//!
//! Many numbers share one route, and the lookup answer differs between them
//! only in `number`, `version` and `seq`. Rendering the shared middle once per
//! distinct route, when it enters the snapshot, leaves the hot path with
//! copying bytes and formatting three integers into one exactly-sized buffer.

use didroute_shared::{Country, Greeting, Route, Subsystem, E164};
use serde::Serialize;
use uuid::Uuid;

/// `{"number":"+`: the start of every route answer.
const HEAD: &[u8] = b"{\"number\":\"+";
/// Between the version and the seq.
const SEQ: &[u8] = b",\"seq\":";
/// Longest decimal `u64`.
const MAX_U64_DIGITS: usize = 20;
/// Longest E.164 number, in digits.
const MAX_NUMBER_DIGITS: usize = 15;

/// A distinct route together with its pre-rendered answer body.
#[derive(Debug)]
pub struct RenderedRoute {
    route: Route,
    /// `","tenant_id":…,"greeting":{…},"version":`: every byte of the
    /// answer between the number's digits and its version.
    middle: Box<[u8]>,
}

/// The answer's fields that come from the route, in the order API.md shows.
#[derive(Serialize)]
struct Body<'a> {
    tenant_id: &'a Uuid,
    subsystem: Subsystem,
    dashboard_id: &'a str,
    customer_label: &'a str,
    country: Country,
    #[serde(skip_serializing_if = "Option::is_none")]
    friendly_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    organisation_id: Option<&'a str>,
    auto_provisioned: bool,
    greeting: Greeting,
}

impl RenderedRoute {
    pub fn new(route: Route) -> RenderedRoute {
        let body = Body {
            tenant_id: &route.tenant_id,
            subsystem: route.subsystem,
            dashboard_id: &route.dashboard_id,
            customer_label: &route.customer_label,
            country: route.country,
            friendly_name: route.friendly_name.as_deref(),
            organisation_id: route.organisation_id.as_deref(),
            auto_provisioned: route.auto_provisioned,
            greeting: route.greeting(),
        };
        // Serialising plain strings, ids and enums cannot fail.
        let object = serde_json::to_vec(&body).expect("a route always serialises");
        // `object` is `{…}`; keep what is inside the braces.
        let inner = &object[1..object.len() - 1];
        let mut middle = Vec::with_capacity(inner.len() + 16);
        middle.extend_from_slice(b"\",");
        middle.extend_from_slice(inner);
        middle.extend_from_slice(b",\"version\":");
        RenderedRoute { route, middle: middle.into_boxed_slice() }
    }

    pub fn route(&self) -> &Route {
        &self.route
    }

    /// An upper bound of the answer's length for any number of this route:
    /// reserve this much and [`RenderedRoute::write_json`] never reallocates.
    pub fn max_json_len(&self) -> usize {
        HEAD.len() + MAX_NUMBER_DIGITS + self.middle.len() + MAX_U64_DIGITS + SEQ.len() + MAX_U64_DIGITS + 1
    }

    /// Appends the full answer for `number` to `out`.
    pub fn write_json(&self, number: E164, version: u64, seq: u64, out: &mut Vec<u8>) {
        let mut digits = [0u8; 20];
        out.extend_from_slice(HEAD);
        out.extend_from_slice(number.digits(&mut digits));
        out.extend_from_slice(&self.middle);
        push_u64(out, version);
        out.extend_from_slice(SEQ);
        push_u64(out, seq);
        out.push(b'}');
    }
}

/// Appends `value` in decimal without going through `fmt`.
fn push_u64(out: &mut Vec<u8>, mut value: u64) {
    let mut buf = [0u8; MAX_U64_DIGITS];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn route(subsystem: Subsystem, country: &str) -> Route {
        Route {
            tenant_id: Uuid::from_u128(0x1234),
            subsystem,
            dashboard_id: "dispatch-east".into(),
            customer_label: "Metro \"911\" \u{e9}".into(),
            country: Country::parse(country).unwrap(),
            friendly_name: None,
            organisation_id: Some("org-7".into()),
            auto_provisioned: true,
        }
    }

    #[test]
    fn answer_is_the_api_shape() {
        let r = RenderedRoute::new(route(Subsystem::Psap, "US"));
        let n = E164::parse("+15551234567").unwrap();
        let mut out = Vec::with_capacity(r.max_json_len());
        let cap = out.capacity();
        r.write_json(n, u64::MAX, 1042, &mut out);
        assert_eq!(out.capacity(), cap, "the reserved length was too small");
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            v,
            json!({
                "number": "+15551234567",
                "tenant_id": Uuid::from_u128(0x1234).to_string(),
                "subsystem": "psap",
                "dashboard_id": "dispatch-east",
                "customer_label": "Metro \"911\" \u{e9}",
                "country": "US",
                "organisation_id": "org-7",
                "auto_provisioned": true,
                "greeting": serde_json::to_value(r.route().greeting()).unwrap(),
                "version": u64::MAX,
                "seq": 1042
            })
        );
        assert_eq!(v["greeting"]["kind"], "emergency");
        assert_eq!(v["greeting"]["emergency_number"], "911");
    }

    #[test]
    fn label_lines_have_no_emergency_number() {
        let r = RenderedRoute::new(route(Subsystem::Utilities, "GB"));
        let mut out = Vec::new();
        r.write_json(E164::parse("+442079460000").unwrap(), 0, 0, &mut out);
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["greeting"]["kind"], "label");
        assert!(v["greeting"].get("emergency_number").is_none());
        assert!(v.get("friendly_name").is_none());
        assert_eq!(v["version"], 0);
        assert_eq!(v["seq"], 0);
    }
}
