use std::collections::HashSet;

use super::*;
use crate::E164;

fn c(alpha2: &str) -> Country {
    Country::parse(alpha2).unwrap()
}

fn n(s: &str) -> E164 {
    E164::parse(s).unwrap()
}

#[test]
fn the_table_has_every_iso_code_once_in_order() {
    assert_eq!(COUNTRIES.len(), 249);
    let mut seen = HashSet::new();
    for info in COUNTRIES {
        let b = info.alpha2.as_bytes();
        assert!(b.len() == 2 && b.iter().all(u8::is_ascii_uppercase), "{}", info.alpha2);
        assert!(seen.insert(info.alpha2), "duplicate {}", info.alpha2);
        assert!(!info.name.is_empty() && info.name.trim() == info.name, "{}", info.alpha2);
        assert!(!info.prefixes.is_empty(), "{} has no prefix", info.alpha2);
        let e = info.emergency.as_bytes();
        assert!((2..=5).contains(&e.len()) && e.iter().all(u8::is_ascii_digit), "{}", info.alpha2);
    }
    // Binary search needs strict order.
    assert!(COUNTRIES.windows(2).all(|w| w[0].alpha2 < w[1].alpha2));
}

#[test]
fn every_prefix_starts_with_an_assigned_calling_code() {
    for info in COUNTRIES {
        for p in info.prefixes {
            assert!(!p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()), "{}: {p:?}", info.alpha2);
            let (code, len) = calling_code(p).unwrap_or_else(|| panic!("{}: {p} has no calling code", info.alpha2));
            assert_eq!(p[..len].parse::<u16>().unwrap(), code);
        }
    }
}

#[test]
fn calling_codes_are_sorted_prefix_free_and_each_listed_bare_by_a_country() {
    assert!(CALLING_CODES.windows(2).all(|w| w[0] < w[1]));
    for &a in CALLING_CODES {
        for &b in CALLING_CODES {
            let (a, b) = (a.to_string(), b.to_string());
            assert!(a == b || !b.starts_with(&a), "{a} is a prefix of {b}");
        }
        let bare = a.to_string();
        assert!(
            COUNTRIES.iter().any(|i| i.prefixes.contains(&bare.as_str())),
            "no country lists calling code {bare} itself"
        );
    }
}

#[test]
fn has_calling_code_agrees_with_the_table_on_every_four_digit_start() {
    // Every prefix starts with a code of at most three digits and every code
    // is listed bare, so four digits decide the question.
    for v in 0..10_000u32 {
        let d = format!("{v:04}");
        assert_eq!(has_calling_code(&d), countries_for_digits(&d).next().is_some(), "{d}");
    }
    assert!(!has_calling_code(""));
    assert!(!has_calling_code("0"));
    assert!(!has_calling_code("07911123456"));
    assert!(!has_calling_code("8001234567"), "non-geographic +800 is no country");
    assert!(!has_calling_code("3831234567"), "+383 has no ISO 3166-1 country");
    assert!(!has_calling_code("x1"));
    assert_eq!(calling_code("4420"), Some((44, 2)));
    assert_eq!(calling_code("1555"), Some((1, 1)));
    assert_eq!(calling_code("35818"), Some((358, 3)));
    assert_eq!(calling_code("4"), None);
}

#[test]
fn no_number_matches_more_countries_than_the_stack_buffer_holds() {
    for info in COUNTRIES {
        for p in info.prefixes {
            let hits = Country::all().filter(|c| c.info().prefixes.iter().any(|q| p.starts_with(q))).count();
            assert!(hits < MAX_MATCHES, "{p} matches {hits} countries");
        }
    }
}

#[test]
fn spot_checks() {
    let cases: &[(&str, &str, &[&str], &str)] = &[
        ("US", "United States", &["1"], "911"),
        ("CA", "Canada", &["1"], "911"),
        ("GB", "United Kingdom", &["44"], "999"),
        ("DE", "Germany", &["49"], "112"),
        ("FR", "France", &["33"], "112"),
        ("JP", "Japan", &["81"], "119"),
        ("AU", "Australia", &["61"], "000"),
        ("NZ", "New Zealand", &["64"], "111"),
        ("IN", "India", &["91"], "112"),
        ("BR", "Brazil", &["55"], "190"),
        ("JM", "Jamaica", &["1876", "1658"], "119"),
        ("PR", "Puerto Rico", &["1787", "1939"], "911"),
        ("BS", "Bahamas", &["1242"], "911"),
        ("KZ", "Kazakhstan", &["7", "76", "77"], "112"),
        ("VA", "Holy See (Vatican City State)", &["39", "379", "3906698"], "112"),
        ("KR", "Korea, Republic of", &["82"], "119"),
        ("TW", "Taiwan, Province of China", &["886"], "119"),
        ("CN", "China", &["86"], "110"),
        ("HK", "Hong Kong", &["852"], "999"),
        ("AQ", "Antarctica", &["672"], "112"),
        ("UM", "United States Minor Outlying Islands", &["1"], "911"),
        ("HM", "Heard Island and McDonald Islands", &["672"], "000"),
        ("BV", "Bouvet Island", &["47"], "112"),
        ("TF", "French Southern Territories", &["262"], "112"),
    ];
    for &(alpha2, name, prefixes, emergency) in cases {
        let info = c(alpha2).info();
        assert_eq!((info.name, info.prefixes, info.emergency), (name, prefixes, emergency), "{alpha2}");
    }
    let eu = ["AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV"];
    let eu2 = ["LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO"];
    for alpha2 in eu.iter().chain(&eu2) {
        assert_eq!(emergency_number_for(alpha2), "112", "{alpha2}");
    }
}

#[test]
fn parse_is_case_insensitive_and_rejects_unknown_codes_with_a_message() {
    assert_eq!(c("us"), c("US"));
    assert_eq!(c("uS").alpha2(), "US");
    assert_eq!("gb".parse::<Country>().unwrap().name(), "United Kingdom");
    for bad in ["", "U", "USA", "ZZ", "XK", "1A", "ü", "u\u{0}", " US"] {
        let err = Country::parse(bad).unwrap_err();
        assert_eq!(err.input, bad);
        let msg = err.to_string();
        assert!(msg.contains("is not an ISO 3166-1 alpha-2 country code"), "{msg}");
        assert!(!msg.ends_with('.'), "{msg}");
    }
    let json = serde_json::to_string(&c("jp")).unwrap();
    assert_eq!(json, "\"JP\"");
    assert_eq!(serde_json::from_str::<Country>("\"jp\"").unwrap(), c("JP"));
    assert!(serde_json::from_str::<Country>("\"JPN\"").is_err());
}

#[test]
fn unknown_codes_fall_back_to_112() {
    assert_eq!(FALLBACK_EMERGENCY_NUMBER, "112");
    assert_eq!(emergency_number_for("ZZ"), "112");
    assert_eq!(emergency_number_for(""), "112");
    assert_eq!(emergency_number_for("us"), "911");
}

#[test]
fn countries_for_digits_ranks_specific_then_primary() {
    let list = |d: &str| countries_for_digits(d).map(Country::alpha2).collect::<Vec<_>>();
    assert_eq!(list("12125550100"), ["US", "CA", "UM"]);
    assert_eq!(list("18765550100"), ["JM", "US", "CA", "UM"]);
    assert_eq!(list("74951234567"), ["RU", "KZ"]);
    assert_eq!(list("77011234567"), ["KZ", "RU"]);
    assert_eq!(list("442079460000"), ["GB", "GG", "IM", "JE"]);
    assert_eq!(list("441481700000"), ["GG", "GB", "IM", "JE"]);
    assert_eq!(list("390669812345"), ["VA", "IT"]);
    assert_eq!(list("3790000000"), ["VA"]);
    assert_eq!(list("5999461234"), ["CW", "BQ"]);
    assert_eq!(list("4915112345678"), ["DE"]);
    assert_eq!(list("8001234567"), Vec::<&str>::new());
    assert_eq!(list(""), Vec::<&str>::new());
}

#[test]
fn matches_uses_every_prefix() {
    assert!(c("US").matches(&n("+12125550100")));
    assert!(c("JM").matches(&n("+18765550100")));
    assert!(!c("JM").matches(&n("+12125550100")));
    assert!(c("KZ").matches(&n("+77011234567")));
    assert!(c("GB").matches(&n("+441481700000")));
    assert!(!c("DE").matches(&n("+33123456789")));
}

#[test]
fn e164_countries_lists_the_same() {
    let got: Vec<_> = n("+18765550100").countries().collect();
    assert_eq!(got, [c("JM"), c("US"), c("CA"), c("UM")]);
}
