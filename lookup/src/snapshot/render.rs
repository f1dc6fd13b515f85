//! A route rendered once into the JSON every lookup of it answers with.
//!
//! Many numbers share one route, and the lookup answer differs between them
//! only in `number`, `version` and `seq`. Rendering the shared middle once per
//! distinct route, when it enters the snapshot, leaves the hot path with
//! copying bytes and formatting three integers into one exactly-sized buffer.
//!
//! A leased tracking number's route carries its session, which ends at
//! `leased_until` even before the lifecycle job's expiry event arrives: such
//! a route is rendered twice, with and without `tracking`, and the answer
//! picks by the clock. Only these routes read the clock.

use didroute_shared::e164::write_digits;
use didroute_shared::route::{Attributes, Tracking};
use didroute_shared::wire::lookup::RouteSource;
use didroute_shared::{Country, Greeting, Route, Subsystem, E164};
use serde::Serialize;
use uuid::Uuid;

/// `{"number":"+`: the start of every route answer.
const HEAD: &[u8] = b"{\"number\":\"+";
/// Between the version and the seq.
const SEQ: &[u8] = b",\"seq\":";
/// Longest decimal `u64`.
const MAX_U64_DIGITS: usize = 20;

/// A distinct route together with its pre-rendered answer body.
#[derive(Debug)]
pub struct RenderedRoute {
    route: Route,
    /// `","tenant_id":…,"greeting":{…},"version":`: every byte of the
    /// answer between the number's digits and its version.
    middle: Box<[u8]>,
    /// A tracking session's route: when its lease ends (Unix nanoseconds)
    /// and the middle to answer with after that, without `tracking`.
    lapse: Option<(i128, Box<[u8]>)>,
}

/// The answer's fields that come from the route, in the order docs/api.md shows.
#[derive(Serialize)]
struct Body<'a> {
    tenant_id: &'a Uuid,
    subsystem: Subsystem,
    dashboard_id: &'a str,
    customer_label: &'a str,
    country: Country,
    source: RouteSource,
    locale: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    friendly_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    organisation_id: Option<&'a str>,
    auto_provisioned: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    attributes: Option<&'a Attributes>,
    /// A leased tracking number's session.
    #[serde(skip_serializing_if = "Option::is_none")]
    tracking: Option<&'a Tracking>,
    /// Rendered here, once per distinct route: templates filled in with the
    /// country's emergency number and the label, or the number's own text.
    greeting: Greeting,
}

impl RenderedRoute {
    /// A number's own route.
    pub fn new(route: Route) -> RenderedRoute {
        RenderedRoute::with_source(route, RouteSource::Number)
    }

    /// A route and where it comes from: a range route answers with
    /// `"source":"range"`.
    pub fn with_source(route: Route, source: RouteSource) -> RenderedRoute {
        let middle = Self::middle(&route, source, route.tracking.as_ref());
        let lapse = route
            .tracking
            .as_ref()
            .map(|t| (t.leased_until.unix_timestamp_nanos(), Self::middle(&route, source, None)));
        RenderedRoute { route, middle, lapse }
    }

    fn middle(route: &Route, source: RouteSource, tracking: Option<&Tracking>) -> Box<[u8]> {
        let body = Body {
            tenant_id: &route.tenant_id,
            subsystem: route.subsystem,
            dashboard_id: &route.dashboard_id,
            customer_label: &route.customer_label,
            country: route.country,
            source,
            locale: &route.locale,
            friendly_name: route.friendly_name.as_deref(),
            organisation_id: route.organisation_id.as_deref(),
            auto_provisioned: route.auto_provisioned,
            attributes: route.attributes.as_ref(),
            tracking,
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
        middle.into_boxed_slice()
    }

    /// The middle to answer with now: a tracking session past its lease
    /// answers without it.
    #[inline]
    fn current(&self) -> &[u8] {
        match &self.lapse {
            None => &self.middle,
            Some((until, lapsed)) => {
                if time::OffsetDateTime::now_utc().unix_timestamp_nanos() >= *until {
                    lapsed
                } else {
                    &self.middle
                }
            }
        }
    }

    pub fn route(&self) -> &Route {
        &self.route
    }

    /// The full answer for `number` in a buffer of exactly its length:
    /// `Bytes::from` takes such a `Vec` over as it is, where a spare byte of
    /// capacity would cost a second allocation (and atomic reference
    /// counting) on every answer.
    pub fn to_json(&self, number: E164, version: u64, seq: u64) -> Vec<u8> {
        let parts = Parts::new(number, version, seq);
        let middle = self.current();
        let mut out = Vec::with_capacity(parts.len() + middle.len());
        parts.write(middle, &mut out);
        debug_assert_eq!(out.len(), out.capacity(), "the answer's length was miscounted");
        out
    }

    /// Appends the full answer for `number` to `out`.
    pub fn write_json(&self, number: E164, version: u64, seq: u64, out: &mut Vec<u8>) {
        Parts::new(number, version, seq).write(self.current(), out);
    }
}

/// The three integers of an answer, already in decimal.
struct Parts {
    number: Decimal,
    version: Decimal,
    seq: Decimal,
}

impl Parts {
    fn new(number: E164, version: u64, seq: u64) -> Parts {
        Parts { number: Decimal::new(number.as_u64()), version: Decimal::new(version), seq: Decimal::new(seq) }
    }

    /// The answer's length without the route's middle.
    fn len(&self) -> usize {
        HEAD.len() + self.number.bytes().len() + self.version.bytes().len() + SEQ.len() + self.seq.bytes().len() + 1
    }

    fn write(&self, middle: &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(HEAD);
        out.extend_from_slice(self.number.bytes());
        out.extend_from_slice(middle);
        out.extend_from_slice(self.version.bytes());
        out.extend_from_slice(SEQ);
        out.extend_from_slice(self.seq.bytes());
        out.push(b'}');
    }
}

/// A `u64` in decimal.
struct Decimal {
    buf: [u8; MAX_U64_DIGITS],
    start: usize,
}

impl Decimal {
    fn new(value: u64) -> Decimal {
        let mut buf = [0u8; MAX_U64_DIGITS];
        let start = MAX_U64_DIGITS - write_digits(value, &mut buf).len();
        Decimal { buf, start }
    }

    fn bytes(&self) -> &[u8] {
        &self.buf[self.start..]
    }
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
            locale: "en".into(),
            greeting_template: None,
            greeting_text: None,
            attributes: None,
            tracking: None,
        }
    }

    #[test]
    fn answer_is_the_api_shape() {
        let r = RenderedRoute::new(route(Subsystem::Psap, "US"));
        let n = E164::parse("+15551234567").unwrap();
        let out = r.to_json(n, u64::MAX, 1042);
        assert_eq!(out.len(), out.capacity(), "the answer's buffer is not exactly its length");
        let mut written = Vec::new();
        r.write_json(n, u64::MAX, 1042, &mut written);
        assert_eq!(written, out);
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
                "source": "number",
                "locale": "en",
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

    /// The fast path renders bytes by hand; the wire type is what clients
    /// and the OpenAPI document go by. Every rendered answer decodes into it
    /// and encodes back to the same JSON: no field missing on either side.
    #[test]
    fn answers_are_exactly_the_wire_type() {
        use didroute_shared::wire::lookup::RouteAnswer;

        let mut named = route(Subsystem::Mdoc, "DE");
        named.friendly_name = Some("Front desk \\ \u{1F4DE}".into());
        named.organisation_id = None;
        let mut voiced = route(Subsystem::Psap, "JM");
        voiced.locale = "es".into();
        voiced.greeting_template = Some("{emergency_number} \"{label}\"".into());
        voiced.attributes = serde_json::json!({"voice": "alloy", "n": [1, 2.5, null]}).as_object().cloned();
        let mut own = route(Subsystem::Utilities, "FR");
        own.greeting_text = Some("Bonjour \u{1F4DE}".into());
        for r in [route(Subsystem::Psap, "US"), route(Subsystem::Utilities, "GB"), named, voiced, own] {
            let rendered = RenderedRoute::new(r.clone());
            let n = E164::parse("+4930123456").unwrap();
            let out = rendered.to_json(n, 3, u64::MAX);
            let answer: RouteAnswer = serde_json::from_slice(&out).unwrap();
            assert_eq!(serde_json::to_value(&answer).unwrap(), serde_json::from_slice::<Value>(&out).unwrap());
            assert_eq!((answer.number, answer.version, answer.seq), (n, 3, u64::MAX));
            assert_eq!(
                (answer.tenant_id, answer.subsystem, answer.country, answer.greeting),
                (r.tenant_id, r.subsystem, r.country, r.greeting())
            );
            assert_eq!(
                (answer.dashboard_id, answer.customer_label, answer.friendly_name, answer.organisation_id),
                (r.dashboard_id, r.customer_label, r.friendly_name, r.organisation_id)
            );
            assert_eq!(answer.auto_provisioned, r.auto_provisioned);
            assert_eq!((&answer.locale, &answer.attributes), (&r.locale, &r.attributes));
        }
    }

    /// The greeting is rendered into the bytes once: locale, the tenant's
    /// template and the number's own text all reach the answer.
    #[test]
    fn the_final_greeting_is_in_the_rendered_answer() {
        let n = E164::parse("+18765230123").unwrap();
        let answer = |r: Route| -> Value { serde_json::from_slice(&RenderedRoute::new(r).to_json(n, 1, 2)).unwrap() };
        let jm = route(Subsystem::Psap, "JM");
        let v = answer(jm.clone());
        assert_eq!(v["greeting"]["emergency_number"], "119");
        assert_eq!(v["greeting"]["text"], "119, what is the address of your emergency?");
        assert_eq!(v["locale"], "en");
        let v = answer(Route { locale: "es".into(), ..jm.clone() });
        assert_eq!(v["greeting"]["text"], "119, ¿cuál es la dirección de su emergencia?");
        assert_eq!(v["locale"], "es");
        let v = answer(Route { greeting_template: Some("Call {emergency_number}: {label}".into()), ..jm.clone() });
        assert_eq!(v["greeting"]["text"], "Call 119: Metro \"911\" \u{e9}");
        let v = answer(Route { greeting_text: Some("Own words".into()), ..jm.clone() });
        assert_eq!(v["greeting"]["text"], "Own words");
        let attrs = serde_json::json!({"voice": "alloy"});
        let v = answer(Route { attributes: attrs.as_object().cloned(), ..jm });
        assert_eq!(v["attributes"], attrs);
    }

    /// A leased tracking number answers with its session until
    /// `leased_until`, and without it after, before any expiry event.
    #[test]
    fn a_tracking_session_is_answered_until_its_lease_ends() {
        let n = E164::parse("+15551234567").unwrap();
        let session = |until: time::OffsetDateTime| Route {
            subsystem: Subsystem::Tracking,
            tracking: Some(Tracking {
                pool_id: Uuid::from_u128(1),
                session_id: Uuid::from_u128(2),
                visitor_id: "visitor-7".into(),
                attributes: json!({"utm_source": "radio"}).as_object().cloned(),
                leased_until: until,
            }),
            ..route(Subsystem::Utilities, "US")
        };
        let live = RenderedRoute::new(session(time::OffsetDateTime::now_utc() + time::Duration::hours(1)));
        let v: Value = serde_json::from_slice(&live.to_json(n, 3, 9)).unwrap();
        assert_eq!(v["tracking"]["visitor_id"], "visitor-7");
        assert_eq!(v["tracking"]["attributes"]["utm_source"], "radio");
        let decoded: didroute_shared::wire::lookup::RouteAnswer = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(decoded.tracking.unwrap().session_id, Uuid::from_u128(2));
        let mut written = Vec::new();
        live.write_json(n, 3, 9, &mut written);
        assert_eq!(serde_json::from_slice::<Value>(&written).unwrap(), v);

        let lapsed = RenderedRoute::new(session(time::OffsetDateTime::now_utc() - time::Duration::seconds(1)));
        let out = lapsed.to_json(n, 3, 9);
        assert_eq!(out.len(), out.capacity());
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert!(v.get("tracking").is_none(), "{v}");
        assert_eq!((v["subsystem"].as_str(), v["version"].as_u64()), (Some("tracking"), Some(3)));
        // the route itself keeps the session (a fold or a snapshot file carries it)
        assert!(lapsed.route().tracking.is_some());
    }
}
