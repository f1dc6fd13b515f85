//! The compiled plans: calling codes, regions and the prefix tables that
//! tell which region of a shared code owns a national number.

use std::cmp::Ordering;
use std::fmt;

use super::{table, PossibleLengths};
use crate::{Country, E164};

/// National numbers of `.0` digits (0: of any length) that start with
/// `.1` followed by one digit in `.2..=.3`.
#[derive(Debug)]
pub(super) struct Prefix(pub(super) u8, pub(super) &'static str, pub(super) u8, pub(super) u8);

impl Prefix {
    /// Orders the entry against a query (length, national digits) by its
    /// first string (`stem` then `lo`).
    fn cmp_query(&self, len: u8, national: &[u8]) -> Ordering {
        let first = self.1.as_bytes().iter().copied().chain(std::iter::once(b'0' + self.2));
        self.0.cmp(&len).then_with(|| first.cmp(national.iter().copied()))
    }

    fn covers(&self, len: u8, national: &[u8]) -> bool {
        let stem = self.1.as_bytes();
        self.0 == len
            && national.starts_with(stem)
            && national.get(stem.len()).is_some_and(|&d| (b'0' + self.2..=b'0' + self.3).contains(&d))
    }
}

/// Whether a sorted, prefix-free table covers the national number: the only
/// entry that can is the last one not after it.
pub(super) fn table_covers(table: &[Prefix], len: u8, national: &[u8]) -> bool {
    let after = table.partition_point(|p| p.cmp_query(len, national) != Ordering::Greater);
    after > 0 && table[after - 1].covers(len, national)
}

/// How a region of a shared calling code recognises its numbers, tried in the
/// code's region order (libphonenumber's `region_code_for_number`).
#[derive(Debug)]
pub(super) enum Rule {
    /// The only region of its code: every number of the code is its.
    Whole,
    /// The national number starts with one of these (any length).
    Leading(&'static [Prefix]),
    /// The national number is valid for the region: these prefixes per length.
    Valid(&'static [Prefix]),
}

/// One libphonenumber region (a country or territory with its own plan).
#[derive(Debug)]
pub struct Region {
    pub(super) alpha2: &'static str,
    pub(super) code: u16,
    pub(super) lengths: &'static [u8],
    pub(super) national_prefix: &'static str,
    pub(super) emergency: &'static str,
    pub(super) rule: Rule,
}

impl Region {
    /// libphonenumber's region code: ISO 3166-1 alpha-2, or AC, TA, XK.
    pub fn alpha2(&self) -> &'static str {
        self.alpha2
    }

    pub fn calling_code(&self) -> u16 {
        self.code
    }

    /// Possible lengths of the region's own national numbers.
    pub fn lengths(&self) -> PossibleLengths {
        PossibleLengths(self.lengths)
    }

    /// The trunk prefix dialled before a national number ("0" in GB, "1" in
    /// the NANP, "8" in RU), empty where there is none (IT, NO, ...).
    pub fn national_prefix(&self) -> &'static str {
        self.national_prefix
    }

    /// The emergency number a PSAP line greets with; its source is in the
    /// header of `numbering/table.rs`.
    pub fn emergency_number(&self) -> &'static str {
        self.emergency
    }

    /// The ISO 3166-1 country of [`Country`] the region is or belongs to
    /// (AC and TA: SH); `None` where the country table has no row (XK).
    pub fn country(&self) -> Option<Country> {
        let alpha2 = match self.alpha2 {
            "AC" | "TA" => "SH",
            other => other,
        };
        Country::parse(alpha2).ok()
    }

    /// The region libphonenumber keeps for `country`: the same code, or
    /// `None` for countries without a plan of their own there (AQ, BV, GS,
    /// HM, PN, TF, UM).
    pub fn of_country(country: Country) -> Option<&'static Region> {
        Self::by_alpha2(country.alpha2())
    }

    /// Looks a region up by libphonenumber's code (upper case).
    pub fn by_alpha2(alpha2: &str) -> Option<&'static Region> {
        table::REGIONS.binary_search_by(|r| r.alpha2.cmp(alpha2)).ok().map(|i| table::REGIONS[i])
    }

    /// Every region, in alpha-2 order.
    pub fn all() -> impl Iterator<Item = &'static Region> {
        table::REGIONS.iter().copied()
    }

    pub(super) fn owns(&self, national: &[u8]) -> bool {
        let Ok(len) = u8::try_from(national.len()) else {
            return false;
        };
        match self.rule {
            Rule::Whole => true,
            Rule::Leading(table) => table_covers(table, 0, national),
            Rule::Valid(table) => table_covers(table, len, national),
        }
    }
}

impl PartialEq for Region {
    fn eq(&self, other: &Self) -> bool {
        self.alpha2 == other.alpha2
    }
}

impl Eq for Region {}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.alpha2)
    }
}

/// One calling code of the table.
#[derive(Debug)]
pub(super) struct CodeInfo {
    pub(super) code: u16,
    /// Possible national lengths, from the code's main region (what
    /// libphonenumber checks for every number of a shared code).
    pub(super) lengths: &'static [u8],
    /// The main region's trunk prefix.
    pub(super) national_prefix: &'static str,
    /// Whether some national number of the code starts with its trunk prefix
    /// (RU: 8 00 toll-free), so that a leading trunk prefix is not by itself a
    /// mistake.
    pub(super) prefix_starts_numbers: bool,
    /// Regions in libphonenumber's order; empty for non-geographic codes
    /// (800, 870, 882, ...).
    pub(super) regions: &'static [&'static Region],
}

impl CodeInfo {
    pub(super) fn possible(&self, national_len: usize) -> bool {
        self.lengths.iter().any(|&l| usize::from(l) == national_len)
    }
}

pub(super) fn code_info(code: u16) -> Option<&'static CodeInfo> {
    table::CODES.binary_search_by_key(&code, |c| c.code).ok().map(|at| &table::CODES[at])
}

/// The calling code at the start of international digits and the rest (the
/// national significant number). Calling codes are a prefix code.
pub(super) fn split(digits: &[u8]) -> Option<(&'static CodeInfo, &[u8])> {
    let mut code = 0u16;
    for (i, &d) in digits.iter().take(3).enumerate() {
        if !d.is_ascii_digit() || (i == 0 && d == b'0') {
            return None;
        }
        code = code * 10 + u16::from(d - b'0');
        if let Some(info) = code_info(code) {
            return Some((info, &digits[i + 1..]));
        }
    }
    None
}

pub(super) fn with_digits<T>(number: E164, f: impl FnOnce(&[u8]) -> T) -> T {
    let mut buf = [0u8; 20];
    f(number.digits(&mut buf))
}

/// How international digits fit the plans' possible lengths.
pub(super) enum Fit {
    Possible,
    /// Not a length of the calling code.
    Code(&'static CodeInfo),
    /// A length of the code, not of the region that owns the number (+44 1624
    /// with 9 digits: the Isle of Man's numbers have 10).
    Region(&'static Region),
    /// No calling code libphonenumber knows, or not digits.
    Unknown,
}

pub(super) fn fit(digits: &[u8]) -> Fit {
    let Some((code, national)) = split(digits) else {
        return Fit::Unknown;
    };
    if !national.iter().all(u8::is_ascii_digit) {
        return Fit::Unknown;
    }
    if !code.possible(national.len()) {
        return Fit::Code(code);
    }
    match code.regions.iter().copied().find(|r| r.owns(national)) {
        Some(region) if !region.lengths.iter().any(|&l| usize::from(l) == national.len()) => Fit::Region(region),
        _ => Fit::Possible,
    }
}
