//! Numbering plans: which country's plan owns a number, which lengths are
//! possible, national format and the trunk prefix, and the emergency number of
//! the country a number really belongs to.
//!
//! The answers come from libphonenumber's metadata, compiled by
//! `scripts/gen-numbering.py` into `numbering/table.rs` (its header names the
//! metadata version and the date). [`region_of_digits`] gives the same region
//! as libphonenumber's `region_code_for_number`, and [`is_possible_digits`] the
//! same answer as its `is_possible_number_with_reason(..) == IS_POSSIBLE`;
//! `shared/tests/numbering_oracle.rs` checks both against the Python port on a
//! generated sample. Everything is a binary search over static tables: no
//! regex, no allocation on the query paths.
//!
//! A libphonenumber region is not always an ISO 3166-1 country of
//! [`Country`]: Ascension (AC) and Tristan da Cunha (TA) are parts of Saint
//! Helena (SH), and Kosovo (XK, +383) has no ISO code, so [`Region::country`]
//! answers `None` for it until the country table lists it.

mod error;
mod table;

use std::cmp::Ordering;
use std::fmt;

use crate::{Country, E164};

pub use error::{NumberingError, PossibleLengths};
pub use table::{GENERATED_ON, METADATA_VERSION};

/// National numbers of `.0` digits (0: of any length) that start with
/// `.1` followed by one digit in `.2..=.3`.
#[derive(Debug)]
struct Prefix(u8, &'static str, u8, u8);

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
fn table_covers(table: &[Prefix], len: u8, national: &[u8]) -> bool {
    let after = table.partition_point(|p| p.cmp_query(len, national) != Ordering::Greater);
    after > 0 && table[after - 1].covers(len, national)
}

/// How a region of a shared calling code recognises its numbers, tried in the
/// code's region order (libphonenumber's `region_code_for_number`).
#[derive(Debug)]
enum Rule {
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
    alpha2: &'static str,
    code: u16,
    lengths: &'static [u8],
    national_prefix: &'static str,
    emergency: &'static str,
    rule: Rule,
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

    fn owns(&self, national: &[u8]) -> bool {
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
struct CodeInfo {
    code: u16,
    /// Possible national lengths, from the code's main region (what
    /// libphonenumber checks for every number of a shared code).
    lengths: &'static [u8],
    /// The main region's trunk prefix.
    national_prefix: &'static str,
    /// Whether some national number of the code starts with its trunk prefix
    /// (RU: 8 00 toll-free), so that a leading trunk prefix is not by itself a
    /// mistake.
    prefix_starts_numbers: bool,
    /// Regions in libphonenumber's order; empty for non-geographic codes
    /// (800, 870, 882, ...).
    regions: &'static [&'static Region],
}

impl CodeInfo {
    fn possible(&self, national_len: usize) -> bool {
        self.lengths.iter().any(|&l| usize::from(l) == national_len)
    }
}

fn code_info(code: u16) -> Option<&'static CodeInfo> {
    table::CODES.binary_search_by_key(&code, |c| c.code).ok().map(|at| &table::CODES[at])
}

/// The calling code at the start of international digits and the rest (the
/// national significant number). Calling codes are a prefix code.
fn split(digits: &[u8]) -> Option<(&'static CodeInfo, &[u8])> {
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

fn with_digits<T>(number: E164, f: impl FnOnce(&[u8]) -> T) -> T {
    let mut buf = [0u8; 20];
    f(number.digits(&mut buf))
}

/// The region whose numbering plan owns international `digits` (no `+`):
/// libphonenumber's `region_code_for_number`. `None` for non-geographic codes,
/// codes libphonenumber does not know, and numbers of a shared code that no
/// region's plan claims (e.g. +1 555 0100, not in any NANP area code).
pub fn region_of_digits(digits: &str) -> Option<&'static Region> {
    let (code, national) = split(digits.as_bytes())?;
    if !national.iter().all(u8::is_ascii_digit) {
        return None;
    }
    code.regions.iter().copied().find(|r| r.owns(national))
}

/// The region whose numbering plan owns `number`.
pub fn region(number: E164) -> Option<&'static Region> {
    with_digits(number, |d| region_of_digits(std::str::from_utf8(d).expect("ascii digits")))
}

/// The country whose numbering plan owns `number`: JM for +1 876 523 0123,
/// KZ for +7 700…, GG for +44 1481…. `None` where no region claims it or the
/// region has no row in the country table (XK).
pub fn region_of(number: E164) -> Option<Country> {
    region(number).and_then(Region::country)
}

/// Whether international `digits` (no `+`) have a possible length for their
/// calling code: libphonenumber's `is_possible_number_with_reason` answering
/// `IS_POSSIBLE`. Local-only lengths (a number dialled without its area code)
/// are not possible for a full international number.
pub fn is_possible_digits(digits: &str) -> bool {
    match split(digits.as_bytes()) {
        Some((code, national)) => national.iter().all(u8::is_ascii_digit) && code.possible(national.len()),
        None => false,
    }
}

/// Whether `number` has a possible length for its calling code (a length
/// check, not validity: numbers of newly opened ranges stay possible).
pub fn is_possible(number: E164) -> bool {
    with_digits(number, |d| split(d).is_some_and(|(code, national)| code.possible(national.len())))
}

/// [`is_possible`] as a result naming the possible lengths.
pub fn check_possible(number: E164) -> Result<(), NumberingError> {
    with_digits(number, |d| match split(d) {
        Some((code, national)) if !code.possible(national.len()) => Err(NumberingError::NotPossible {
            number,
            code: code.code,
            len: national.len(),
            lengths: PossibleLengths(code.lengths),
        }),
        _ => Ok(()),
    })
}

/// Checks a declared country against the one whose plan owns `number`:
/// `+18765230123` declared US is refused naming JM. A number no region
/// claims is left to the declaration.
pub fn check_country(number: E164, declared: Country) -> Result<(), NumberingError> {
    let Some(owner) = region(number) else {
        return Ok(());
    };
    if owner.country() == Some(declared) {
        return Ok(());
    }
    Err(NumberingError::WrongCountry { number, declared, owner: owner.alpha2 })
}

/// An international number written with its trunk prefix kept after the
/// calling code (`+4402079460000`): the number probably meant
/// (`+442079460000`). `None` when the input is something else. Accepts `+`
/// or bare digits.
pub fn trunk_prefix_mistake(input: &str) -> Option<E164> {
    let digits = input.strip_prefix('+').unwrap_or(input).as_bytes();
    let (code, national) = split(digits)?;
    let trunk = code.national_prefix.as_bytes();
    if trunk.is_empty() || !national.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let meant = national.strip_prefix(trunk)?;
    if !code.possible(meant.len()) || (code.prefix_starts_numbers && code.possible(national.len())) {
        return None;
    }
    let cc_len = digits.len() - national.len();
    let mut buf = [0u8; 20];
    let total = cc_len + meant.len();
    buf.get_mut(..cc_len)?.copy_from_slice(&digits[..cc_len]);
    buf.get_mut(cc_len..total)?.copy_from_slice(meant);
    E164::from_digits(std::str::from_utf8(&buf[..total]).ok()?).ok()
}

/// Parses an international number as an import gets it, refusing a trunk
/// prefix kept inside it and lengths its calling code does not have.
pub fn parse_international(input: &str) -> Result<E164, NumberingError> {
    if let Some(meant) = trunk_prefix_mistake(input) {
        let code = split(input.strip_prefix('+').unwrap_or(input).as_bytes()).map(|(c, _)| c.national_prefix);
        return Err(NumberingError::TrunkPrefixInside { prefix: code.unwrap_or_default(), meant });
    }
    let number = E164::parse(input)?;
    check_possible(number)?;
    Ok(number)
}

/// Reads `national` in the national format of `country` (`02079460001` in
/// GB is +442079460001): the trunk prefix is dropped where it leads and what
/// remains has a possible length; a number that starts with the trunk prefix
/// as part of itself (RU 800…) or that is written without it is kept whole.
pub fn parse_national(national: &str, country: Country) -> Result<E164, NumberingError> {
    let region = Region::of_country(country).ok_or(NumberingError::NoPlan { country })?;
    let code = code_info(region.code).ok_or(NumberingError::NoPlan { country })?;
    let bytes = national.as_bytes();
    if bytes.is_empty() || !bytes.iter().all(u8::is_ascii_digit) {
        return Err(NumberingError::NotNational { input: national.to_owned(), country });
    }
    let trunk = region.national_prefix.as_bytes();
    let stripped = bytes.strip_prefix(trunk).filter(|_| !trunk.is_empty());
    let whole_possible = code.possible(bytes.len());
    let significant = match stripped {
        // A leading trunk prefix is dropped unless numbers may start with it
        // and the whole is a possible number (RU 800…).
        Some(rest) if code.possible(rest.len()) && !(code.prefix_starts_numbers && whole_possible) => rest,
        Some(_) if code.prefix_starts_numbers && whole_possible => bytes,
        None if whole_possible => bytes,
        _ => {
            return Err(NumberingError::NotPossibleNational {
                input: national.to_owned(),
                country,
                len: stripped.map_or(bytes.len(), <[u8]>::len),
                lengths: PossibleLengths(code.lengths),
            });
        }
    };
    let digits = format!("{}{}", region.code, std::str::from_utf8(significant).expect("ascii digits"));
    Ok(E164::from_digits(&digits)?)
}

/// The emergency number a PSAP line of `number` greets with: that of the
/// region whose plan owns it (119 for Jamaica's +1 876, not the US 911), or of
/// `fallback` (the line's declared country) where no region claims it.
pub fn emergency_number_of(number: E164, fallback: Country) -> &'static str {
    region(number).map_or_else(|| emergency_number(fallback), Region::emergency_number)
}

/// The emergency number of `country`: its region's where libphonenumber has
/// one, the country table's otherwise (the same number for every country the
/// two share; the table header lists where libphonenumber's short-number data
/// differs).
pub fn emergency_number(country: Country) -> &'static str {
    Region::of_country(country).map_or_else(|| country.emergency_number(), Region::emergency_number)
}

#[cfg(test)]
mod tests;
