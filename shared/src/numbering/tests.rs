use super::*;

fn n(s: &str) -> E164 {
    E164::parse(s).unwrap()
}

fn c(alpha2: &str) -> Country {
    Country::parse(alpha2).unwrap()
}

fn owner(s: &str) -> Option<&'static str> {
    region_of_digits(s.strip_prefix('+').unwrap()).map(Region::alpha2)
}

#[track_caller]
fn owned_by(cases: &[(&str, &str)]) {
    for &(number, alpha2) in cases {
        assert_eq!(owner(number), Some(alpha2), "{number}");
        if let Ok(country) = Country::parse(alpha2) {
            assert_eq!(region_of(n(number)), Some(country), "{number}");
        }
    }
}

#[test]
fn nanp_numbers_belong_to_their_area_codes_country() {
    owned_by(&[
        ("+18765230123", "JM"),
        ("+16585230123", "JM"),
        ("+12015550123", "US"),
        ("+14169671111", "CA"),
        ("+15062345678", "CA"),
        ("+16135550123", "CA"),
        ("+12425550123", "BS"),
        ("+12465550123", "BB"),
    ]);
    // 555 is no area code: no plan claims the number, and it stays possible.
    assert_eq!(owner("+15550100000"), None);
    assert!(is_possible(n("+15550100000")));
}

#[test]
fn jamaica_declared_as_us_is_refused_naming_jamaica() {
    let err = check_country(n("+18765230123"), c("US")).unwrap_err();
    assert_eq!(err, NumberingError::WrongCountry { number: n("+18765230123"), declared: c("US"), owner: "JM" });
    assert_eq!(
        err.to_string(),
        "+18765230123 belongs to the numbering plan of JM (Jamaica), not US: give country JM or leave the country out"
    );
    assert_eq!(check_country(n("+18765230123"), c("JM")), Ok(()));
    assert_eq!(check_country(n("+15550100000"), c("US")), Ok(()));
}

#[test]
fn shared_codes_outside_the_nanp() {
    owned_by(&[
        ("+74951234567", "RU"),
        ("+78001234567", "RU"),
        ("+77011234567", "KZ"),
        ("+77172123456", "KZ"),
        ("+442079460000", "GB"),
        ("+441481256789", "GG"),
        ("+447781123456", "GG"),
        ("+441534456789", "JE"),
        ("+447624123456", "IM"),
        ("+441624756789", "IM"),
        ("+262262123456", "RE"),
        ("+262692123456", "RE"),
        ("+262269601234", "YT"),
        ("+262639012345", "YT"),
        ("+590590201234", "GP"),
        ("+590590271234", "BL"),
        ("+5999123456", "CW"),
        ("+5997151234", "BQ"),
        ("+5993181234", "BQ"),
        ("+61212345678", "AU"),
        ("+61412345678", "AU"),
        ("+61891621234", "CC"),
        ("+61891641234", "CX"),
        ("+4722123456", "NO"),
        ("+4741234567", "NO"),
        ("+4779123456", "SJ"),
        ("+358912345678", "FI"),
        ("+358457123456", "FI"),
        ("+358181234567", "AX"),
        ("+390612345678", "IT"),
        ("+390669812345", "VA"),
        ("+3906698123", "VA"),
    ]);
}

#[test]
fn kosovo_and_the_parts_of_saint_helena_have_regions() {
    // +383 is not yet a calling code of the country table, so only the digit
    // form reaches it.
    assert_eq!(owner("+38344123456"), Some("XK"));
    assert_eq!(owner("+38328012345"), Some("XK"));
    assert!(is_possible_digits("38344123456"));
    assert_eq!(Region::by_alpha2("XK").unwrap().country(), None);
    assert_eq!(Region::by_alpha2("XK").unwrap().emergency_number(), "112");
    assert_eq!(owner("+24712345"), Some("AC"));
    assert_eq!(owner("+2908123"), Some("TA"));
    assert_eq!(region_of(n("+24712345")), Some(c("SH")));
    assert_eq!(check_country(n("+24712345"), c("SH")), Ok(()));
}

#[test]
fn possible_lengths_come_from_the_calling_code() {
    assert!(is_possible(n("+442079460000")));
    assert!(!is_possible(n("+4420794600")));
    assert!(!is_possible(n("+4402079460000")));
    assert!(is_possible(n("+33123456789")));
    assert!(!is_possible(n("+3312345678")));
    // A number of a range not yet in the metadata is possible, not valid.
    assert!(is_possible(n("+442099999999")));
    let err = check_possible(n("+4420794600")).unwrap_err();
    assert_eq!(err.to_string(), "+4420794600 has 8 digits after its calling code, and numbers of +44 have 7, 9 or 10");
    // A length of +44, not of the Isle of Man, whose plan owns +44 1624.
    assert!(is_possible(n("+441624756789")));
    assert!(!is_possible(n("+44162475678")));
    assert_eq!(
        check_possible(n("+44162475678")).unwrap_err().to_string(),
        "+44162475678 has 9 digits after its calling code, and numbers of IM (Isle of Man) have 10"
    );
    assert!(is_possible_digits("80012345678"), "non-geographic +800");
    // +379 (reserved for the Vatican) is in the country table, not in use.
    assert!(!is_possible(n("+3791234567")));
    assert_eq!(check_possible(n("+3791234567")), Err(NumberingError::UnknownCode { number: n("+3791234567") }));
    assert!(!is_possible_digits("0123"));
    assert!(!is_possible_digits("44abc"));
}

#[test]
fn a_trunk_prefix_inside_an_international_number_is_a_mistake() {
    assert_eq!(trunk_prefix_mistake("+4402079460000"), Some(n("+442079460000")));
    assert_eq!(trunk_prefix_mistake("4402079460000"), Some(n("+442079460000")));
    assert_eq!(trunk_prefix_mistake("+3301234567890"), None, "too long even without the 0");
    assert_eq!(trunk_prefix_mistake("+33012345678"), None, "too short without the 0");
    assert_eq!(trunk_prefix_mistake("+330123456789"), Some(n("+33123456789")));
    assert_eq!(trunk_prefix_mistake("+4903012345678"), Some(n("+493012345678")));
    assert_eq!(trunk_prefix_mistake("+784951234567"), Some(n("+74951234567")));
    assert_eq!(trunk_prefix_mistake("+112125550123"), Some(n("+12125550123")));
    // RU numbers may start with 8 (toll-free 800): a possible one is kept.
    assert_eq!(trunk_prefix_mistake("+78001234567"), None);
    // Italy keeps its leading 0 in international form: no trunk prefix.
    assert_eq!(trunk_prefix_mistake("+390612345678"), None);
    assert_eq!(trunk_prefix_mistake("+442079460000"), None);
    assert_eq!(trunk_prefix_mistake("not a number"), None);

    let err = parse_international("+4402079460000").unwrap_err();
    assert_eq!(err.to_string(), "trunk prefix 0 inside an international number: did you mean +442079460000?");
    assert_eq!(parse_international("+442079460000"), Ok(n("+442079460000")));
    assert!(matches!(parse_international("+4420794600"), Err(NumberingError::NotPossible { len: 8, .. })));
    assert!(matches!(parse_international("+44x"), Err(NumberingError::Number(_))));
}

#[test]
fn national_format_drops_the_trunk_prefix() {
    let cases = [
        ("02079460001", "GB", "+442079460001"),
        ("2079460001", "GB", "+442079460001"),
        ("0123456789", "FR", "+33123456789"),
        ("030123456", "DE", "+4930123456"),
        ("03012345678", "DE", "+493012345678"),
        ("84951234567", "RU", "+74951234567"),
        ("8001234567", "RU", "+78001234567"),
        ("0612345678", "IT", "+390612345678"),
        ("18765230123", "JM", "+18765230123"),
        ("8765230123", "JM", "+18765230123"),
        ("01481256789", "GG", "+441481256789"),
    ];
    for (national, country, want) in cases {
        assert_eq!(parse_national(national, c(country)), Ok(n(want)), "{national} in {country}");
    }
    let err = parse_national("020794600", "GB".parse().unwrap()).unwrap_err();
    assert!(matches!(err, NumberingError::NotPossibleNational { len: 8, .. }), "{err}");
    assert!(matches!(parse_national("+442079460001", c("GB")), Err(NumberingError::NotNational { .. })));
    assert!(matches!(parse_national("", c("GB")), Err(NumberingError::NotNational { .. })));
    assert_eq!(parse_national("0123456", c("AQ")), Err(NumberingError::NoPlan { country: c("AQ") }));
}

#[test]
fn the_greeting_uses_the_emergency_number_of_the_real_country() {
    assert_eq!(emergency_number_of(n("+18765230123"), c("US")), "119");
    assert_eq!(emergency_number_of(n("+12015550123"), c("US")), "911");
    assert_eq!(emergency_number_of(n("+442079460000"), c("GB")), "999");
    assert_eq!(emergency_number_of(n("+4930123456"), c("DE")), "112");
    assert_eq!(emergency_number_of(n("+61212345678"), c("AU")), "000");
    // No plan claims +1 555: the declared country's number.
    assert_eq!(emergency_number_of(n("+15550100000"), c("CA")), "911");
    assert_eq!(emergency_number(c("JM")), "119");
    assert_eq!(emergency_number(c("AQ")), c("AQ").emergency_number());
}

#[test]
fn regions_agree_with_the_country_table_where_both_have_a_row() {
    for region in Region::all() {
        match Country::parse(region.alpha2()) {
            Ok(country) => {
                assert_eq!(region.emergency_number(), country.emergency_number(), "{region}");
                assert_eq!(region.country(), Some(country));
                let prefix = region.calling_code().to_string();
                assert!(country.info().prefixes.iter().any(|p| p.starts_with(&prefix)), "{region} +{prefix}");
            }
            Err(_) => assert!(["AC", "TA", "XK"].contains(&region.alpha2()), "{region} has no country row"),
        }
        assert!(!region.lengths().as_slice().is_empty(), "{region}");
        assert_eq!(Region::by_alpha2(region.alpha2()), Some(region));
    }
}

#[test]
fn prefix_tables_are_sorted_and_prefix_free() {
    fn expand(table: &[Prefix]) -> Vec<(u8, String)> {
        table.iter().flat_map(|p| (p.2..=p.3).map(move |d| (p.0, format!("{}{d}", p.1)))).collect()
    }
    for region in Region::all() {
        let table = match region.rule {
            Rule::Whole => continue,
            Rule::Leading(t) | Rule::Valid(t) => t,
        };
        assert!(!table.is_empty(), "{region}");
        let all = expand(table);
        for w in all.windows(2) {
            assert!(w[0] < w[1], "{region}: {w:?} out of order");
            assert!(w[0].0 != w[1].0 || !w[1].1.starts_with(&w[0].1), "{region}: {w:?} not prefix-free");
        }
        assert!(table.iter().all(|p| p.2 <= p.3 && p.3 <= 9), "{region}");
    }
    let codes: Vec<u16> = table::CODES.iter().map(|c| c.code).collect();
    assert!(codes.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn possible_lengths_render_as_a_list() {
    assert_eq!(PossibleLengths(&[10]).to_string(), "10");
    assert_eq!(PossibleLengths(&[9, 10]).to_string(), "9 or 10");
    assert_eq!(PossibleLengths(&[7, 9, 10]).to_string(), "7, 9 or 10");
}
