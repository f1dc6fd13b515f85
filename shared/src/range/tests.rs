use super::*;

fn n(s: &str) -> E164 {
    E164::parse(s).unwrap()
}

fn r(a: &str, b: &str) -> NumberRange {
    NumberRange { first: n(a), last: n(b) }
}

/// The single rejected part of `input`, with its reason.
fn rejected(input: &str) -> RangeError {
    let p = parse_ranges(input);
    assert!(p.ranges.is_empty(), "{input}: {:?}", p.ranges);
    assert_eq!(p.rejected.len(), 1, "{input}: {:?}", p.rejected);
    let e = p.rejected.into_iter().next().unwrap();
    assert!(!e.reason.ends_with(['.', '!', ';', ':']), "{}", e.reason);
    assert!(e.reason.starts_with(|c: char| !c.is_uppercase()), "{}", e.reason);
    e
}

#[test]
fn parses_the_portsip_example() {
    let p = parse_ranges("15550001000-15550001999;4420790000");
    assert_eq!(p.rejected, []);
    assert_eq!(p.ranges, [r("+15550001000", "+15550001999"), r("+4420790000", "+4420790000")]);
    assert_eq!(p.total_numbers(), 1001);
}

#[test]
fn trims_skips_empty_parts_and_accepts_newlines_and_commas() {
    let p = parse_ranges(" ;; 15550001000 - 15550001002 ;\r\n4420790000,\n\n, 4420790001 ;");
    assert_eq!(p.rejected, []);
    assert_eq!(
        p.ranges,
        [r("+15550001000", "+15550001002"), r("+4420790000", "+4420790000"), r("+4420790001", "+4420790001")]
    );
    assert_eq!(parse_ranges(""), RangeParse::default());
    assert_eq!(parse_ranges(" ; \n ,"), RangeParse::default());
}

#[test]
fn strips_one_leading_plus_00_or_0() {
    let want = [r("+4420790000", "+4420790000")];
    for s in ["+4420790000", "004420790000", "04420790000"] {
        assert_eq!(parse_ranges(s).ranges, want, "{s}");
    }
    assert_eq!(parse_ranges("+15550001000-0015550001001").ranges, [r("+15550001000", "+15550001001")]);
    // Only one prefix comes off: what is left must be a full number.
    assert!(rejected("+004420790000").reason.contains("never with 0"));
    assert!(rejected("0004420790000").reason.contains("never with 0"));
}

#[test]
fn reports_each_bad_part_on_its_own_and_keeps_the_good_ones() {
    let p = parse_ranges("15550001000;abc;15550001001-15550001000;4420790000");
    assert_eq!(p.ranges, [r("+15550001000", "+15550001000"), r("+4420790000", "+4420790000")]);
    let inputs: Vec<_> = p.rejected.iter().map(|e| e.input.as_str()).collect();
    assert_eq!(inputs, ["abc", "15550001001-15550001000"]);
}

#[test]
fn error_reasons() {
    let e = rejected("  1555x001000 ");
    assert_eq!(e.input, "1555x001000");
    assert_eq!(e.reason, "unexpected character 'x' at position 4: a number is '+' followed by digits only");
    assert_eq!(
        rejected("+1555").reason,
        "4 digits is too short for an E.164 number (at least 7, country code included)"
    );
    assert!(rejected("1234567890123456").reason.starts_with("16 digits is too long"));
    assert!(rejected("8001234567").reason.starts_with("no country uses the calling code"));
    assert_eq!(rejected("+").reason, "\"+\" has no digits after the prefix");
    assert_eq!(rejected("00").reason, "\"00\" has no digits after the prefix");
    assert_eq!(rejected("-15550001000").reason, "the range has no first number before '-'");
    assert_eq!(rejected("15550001000-").reason, "the range has no last number after '-'");
    assert_eq!(
        rejected("15550001000-15550001001-15550001002").reason,
        "a range has exactly one '-' between its first and last number"
    );
    let e = rejected("1555x001000-15550001001");
    assert!(e.reason.starts_with("range start: unexpected character 'x' at position 4"), "{}", e.reason);
    let e = rejected("15550001000-+1555y001001");
    assert!(e.reason.starts_with("range end: unexpected character 'y' at position 5"), "{}", e.reason);
    assert_eq!(
        rejected("15550001000-5550001999").reason,
        "the range ends have different lengths (11 and 10 digits): both ends must be full international \
         numbers of the same length"
    );
    assert_eq!(
        rejected("15550001000-44207900000").reason,
        "the range ends are in different country calling codes (+1 and +44)"
    );
    assert_eq!(
        rejected("15550001999-15550001000").reason,
        "the range end +15550001000 is below its start +15550001999"
    );
    assert_eq!(
        rejected("15550000000-15551000000").reason,
        "the range spans 1000001 numbers, more than the limit of 1000000: split it into smaller ranges"
    );
    assert!(rejected("15550001000–15550001001").reason.contains("unexpected character '–'"), "en dash");
}

#[test]
fn the_largest_range_is_accepted() {
    let p = parse_ranges("15550000000-15550999999");
    assert_eq!(p.rejected, []);
    assert_eq!(p.ranges[0].len(), MAX_RANGE_LEN);
    assert_eq!(p.total_numbers(), MAX_RANGE_LEN);
}

#[test]
fn iter_yields_every_number() {
    let range = r("+15550001998", "+15550002001");
    let got: Vec<_> = range.iter().map(|x| x.to_string()).collect();
    assert_eq!(got, ["+15550001998", "+15550001999", "+15550002000", "+15550002001"]);
    assert_eq!(NumberRange::single(n("+4420790000")).iter().count(), 1);
    let big = parse_ranges("4420790000-4420999999").ranges[0];
    assert_eq!(big.iter().count() as u64, big.len());
}

#[test]
fn iter_of_a_hand_built_range_never_yields_an_invalid_number() {
    // Ends of different lengths and codes: +998 9999 (Uzbekistan), then the
    // 999xxxx values (no such code, skipped), then +1 0000000..+1 0000005.
    let odd = NumberRange { first: n("+9989999"), last: n("+10000005") };
    let all: Vec<_> = odd.iter().collect();
    assert!(all.iter().all(|x| E164::from_u64(x.as_u64()) == Ok(*x)));
    assert_eq!(all.len(), 7);
    assert_eq!(all[0], n("+9989999"));
    assert_eq!(all[1], n("+10000000"));
    assert_eq!(all[6], n("+10000005"));
    let backwards = NumberRange { first: n("+15550001001"), last: n("+15550001000") };
    assert!(backwards.is_empty());
    assert_eq!(backwards.len(), 0);
    assert_eq!(backwards.iter().count(), 0);
}

#[test]
fn contains_and_overlaps() {
    let a = r("+15550001000", "+15550001999");
    assert!(a.contains(n("+15550001000")) && a.contains(n("+15550001999")));
    assert!(!a.contains(n("+15550000999")) && !a.contains(n("+15550002000")));
    let b = r("+15550001999", "+15550002999");
    let c = r("+15550002000", "+15550002999");
    assert!(a.overlaps(&b) && b.overlaps(&a));
    assert!(!a.overlaps(&c) && !c.overlaps(&a));
    assert!(a.overlaps(&a));
    assert!(a.overlaps(&NumberRange::single(n("+15550001500"))));
    let empty = NumberRange { first: n("+15550001500"), last: n("+15550001400") };
    assert!(!a.overlaps(&empty) && !empty.overlaps(&a));
}

#[test]
fn display_round_trips() {
    let p = parse_ranges("15550001000-15550001999;4420790000");
    let text: Vec<_> = p.ranges.iter().map(|r| r.to_string()).collect();
    assert_eq!(text.join(";"), "15550001000-15550001999;4420790000");
    assert_eq!(parse_ranges(&text.join(";")), p);
}

#[test]
fn new_checks_the_span() {
    assert!(NumberRange::new(n("+15550001000"), n("+15550001000")).is_ok());
    assert_eq!(
        NumberRange::new(n("+15550001000"), n("+442079460000")),
        Err(SpanError::DigitCountDiffers { first: 11, last: 12 })
    );
    assert_eq!(
        NumberRange::new(n("+15550001000"), n("+44207946000")),
        Err(SpanError::CallingCodeDiffers { first: 1, last: 44 })
    );
}
