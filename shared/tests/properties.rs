//! Property tests for the parsers that face untrusted input: E.164 numbers
//! (URLs, JSON), PortSIP ranges (imports) and change events (Kafka, the HTTP
//! feed). None may panic, and what the crate writes it must read back the
//! same. Case counts stay modest so the suite runs in a few seconds.

use didroute_shared::{parse_ranges, ChangeEvent, Country, NumberRange, Op, Route, Subsystem, E164};
use proptest::prelude::*;
use time::OffsetDateTime;

fn config() -> ProptestConfig {
    ProptestConfig { cases: 256, ..ProptestConfig::default() }
}

/// A valid number: one of a country's prefixes, then digits up to a length
/// E.164 allows. Returns the country it was built for.
fn number() -> impl Strategy<Value = (Country, E164)> {
    let countries: Vec<Country> = Country::all().collect();
    let fill = proptest::collection::vec(0u8..10, 15);
    (proptest::sample::select(countries), any::<prop::sample::Index>(), 7usize..=15, fill).prop_map(
        |(country, which, len, fill)| {
            let prefix = *which.get(country.info().prefixes);
            let mut digits = prefix.to_owned();
            digits.extend(fill.iter().map(|d| char::from(b'0' + d)).take(len.saturating_sub(prefix.len())));
            (country, E164::parse(&digits).expect("built from a country prefix"))
        },
    )
}

/// A range of up to 1,000 numbers whose ends share digit count and code.
fn range() -> impl Strategy<Value = NumberRange> {
    (number(), 0u64..1000).prop_map(|((_, first), extra)| {
        E164::from_u64(first.as_u64() + extra)
            .ok()
            .and_then(|last| NumberRange::new(first, last).ok())
            .unwrap_or(NumberRange::single(first))
    })
}

fn route_for(country: Country) -> impl Strategy<Value = Route> {
    (
        any::<u128>(),
        proptest::sample::select(Subsystem::ALL.to_vec()),
        any::<String>(),
        any::<String>(),
        proptest::option::of(any::<String>()),
        proptest::option::of("[a-z0-9-]{0,12}"),
        any::<bool>(),
    )
        .prop_map(move |(id, subsystem, dashboard_id, customer_label, friendly_name, organisation_id, auto)| {
            Route {
                tenant_id: uuid::Uuid::from_u128(id),
                subsystem,
                dashboard_id,
                customer_label,
                country,
                friendly_name,
                organisation_id,
                auto_provisioned: auto,
                locale: "en".into(),
                greeting_template: None,
                greeting_text: None,
                attributes: None,
                tracking: None,
            }
        })
}

fn event() -> impl Strategy<Value = ChangeEvent> {
    (number(), any::<u64>(), any::<u64>(), any::<bool>(), 0i64..=253_402_300_799, 0u32..1_000_000_000).prop_flat_map(
        |((country, number), seq, version, upsert, secs, nanos)| {
            let route = if upsert { route_for(country).prop_map(Some).boxed() } else { Just(None).boxed() };
            route.prop_map(move |route| ChangeEvent {
                seq,
                number,
                version,
                op: if upsert { Op::Upsert } else { Op::Delete },
                route,
                at: OffsetDateTime::from_unix_timestamp(secs).unwrap() + time::Duration::nanoseconds(i64::from(nanos)),
                lineage: None,
                range: None,
            })
        },
    )
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn number_parse_never_panics(s in any::<String>()) {
        let _ = E164::parse(&s);
        let _ = E164::parse(&format!("%2B{s}"));
        let _ = E164::parse(&format!("+{s}"));
    }

    #[test]
    fn number_parse_never_panics_on_near_misses(s in "(%2[bB]|\\+|0|00)?[0-9 \\-٣+]{0,18}") {
        if let Ok(n) = E164::parse(&s) {
            prop_assert_eq!(E164::parse(&n.to_string()), Ok(n));
        }
    }

    #[test]
    fn numbers_round_trip_in_every_spelling((country, n) in number()) {
        let text = n.to_string();
        prop_assert_eq!(E164::parse(&text), Ok(n));
        let digits = &text[1..];
        prop_assert_eq!(E164::parse(digits), Ok(n));
        prop_assert_eq!(E164::parse(&format!("%2B{digits}")), Ok(n));
        prop_assert_eq!(E164::parse(&format!("%2b{digits}")), Ok(n));
        prop_assert_eq!(E164::from_u64(n.as_u64()), Ok(n));
        prop_assert!(country.matches(&n));
        prop_assert!(n.countries().any(|c| c == country));
        let json = serde_json::to_string(&n).unwrap();
        prop_assert_eq!(serde_json::from_str::<E164>(&json).unwrap(), n);
    }

    #[test]
    fn parse_ranges_never_panics(s in any::<String>()) {
        let p = parse_ranges(&s);
        prop_assert!(p.ranges.iter().all(|r| !r.is_empty() && r.len() <= didroute_shared::range::MAX_RANGE_LEN));
    }

    #[test]
    fn parse_ranges_never_panics_on_near_misses(s in "[0-9+;,\n -]{0,80}") {
        let p = parse_ranges(&s);
        for e in &p.rejected {
            prop_assert!(!e.input.is_empty());
            prop_assert!(!e.reason.ends_with('.'));
        }
    }

    #[test]
    fn ranges_round_trip_through_portsip_syntax(
        ranges in proptest::collection::vec(range(), 0..8),
        seps in proptest::collection::vec(proptest::sample::select(vec![";", "\n", ",", " ; ", "\r\n", ";;"]), 8),
        prefixes in proptest::collection::vec(proptest::sample::select(vec!["", "+", "00", "0"]), 8),
    ) {
        let mut text = String::new();
        for (i, r) in ranges.iter().enumerate() {
            if i > 0 {
                text.push_str(seps[i]);
            }
            text.push_str(prefixes[i]);
            text.push_str(&r.to_string());
        }
        let p = parse_ranges(&text);
        prop_assert!(p.rejected.is_empty(), "{:?}", p.rejected);
        prop_assert_eq!(&p.ranges, &ranges);
        prop_assert_eq!(p.total_numbers(), ranges.iter().map(NumberRange::len).sum::<u64>());
    }

    #[test]
    fn range_iter_yields_len_valid_numbers_in_order(r in range()) {
        let all: Vec<E164> = r.iter().collect();
        prop_assert_eq!(all.len() as u64, r.len());
        prop_assert_eq!(all.first(), Some(&r.first));
        prop_assert_eq!(all.last(), Some(&r.last));
        for n in &all {
            prop_assert_eq!(E164::from_u64(n.as_u64()), Ok(*n));
            prop_assert!(r.contains(*n));
        }
    }

    #[test]
    fn event_decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = ChangeEvent::decode(&bytes);
    }

    #[test]
    fn event_decode_never_panics_on_damaged_events(ev in event(), at in any::<prop::sample::Index>(), b in any::<u8>()) {
        let mut bytes = ev.encode();
        let i = at.index(bytes.len());
        bytes[i] = b;
        let _ = ChangeEvent::decode(&bytes);
        let _ = ChangeEvent::decode(&bytes[..i]);
    }

    #[test]
    fn events_round_trip(ev in event()) {
        prop_assert_eq!(ChangeEvent::decode(&ev.encode()).unwrap(), ev);
    }
}
