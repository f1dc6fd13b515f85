//! Numbering plans: which country's plan owns a number, which lengths are
//! possible, national format and the trunk prefix, and the emergency number of
//! the country a number really belongs to.
//!
//! The answers come from libphonenumber's metadata, compiled by
//! `scripts/gen-numbering.py` into `numbering/table.rs` (its header names the
//! metadata version and the date). [`region_of_digits`] gives the same region
//! as libphonenumber's `region_code_for_number`, and [`is_possible_digits`] the
//! same answer as its `is_possible_number_with_reason(..) == IS_POSSIBLE`
//! narrowed to the owning region's possible lengths;
//! `shared/tests/numbering_oracle.rs` checks both against the Python port on a
//! generated sample. Everything is a binary search over static tables: no
//! regex, and no allocation in the `region*` and `is_possible*` queries.
//!
//! A libphonenumber region is not always an ISO 3166-1 country of
//! [`Country`]: Ascension (AC) and Tristan da Cunha (TA) are parts of Saint
//! Helena (SH), and Kosovo (XK, +383) has no ISO code, so [`Region::country`]
//! answers `None` for it until the country table lists it.

mod error;
mod format;
mod plan;
mod table;

use crate::{Country, E164};

pub use error::{NumberingError, PossibleLengths};
pub use format::{parse_international, parse_national, trunk_prefix_mistake};
pub use plan::Region;
pub use table::{GENERATED_ON, METADATA_VERSION};

use plan::{split, with_digits, Fit};
#[cfg(test)]
use plan::{Prefix, Rule};

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

/// Whether international `digits` (no `+`) have a possible length: one of
/// their calling code's (libphonenumber's `is_possible_number_with_reason`
/// answering `IS_POSSIBLE`) and, where a region owns the number, one of that
/// region's (the Isle of Man's +44 1624 numbers have 10 digits, not 7 or 9).
/// A length check, not validity: numbers of newly opened ranges stay
/// possible. Local-only lengths (a number dialled without its area code) are
/// not possible for a full international number.
pub fn is_possible_digits(digits: &str) -> bool {
    matches!(plan::fit(digits.as_bytes()), Fit::Possible)
}

/// [`is_possible_digits`] for an E.164 number.
pub fn is_possible(number: E164) -> bool {
    with_digits(number, |d| matches!(plan::fit(d), Fit::Possible))
}

/// [`is_possible`] as a result naming the possible lengths.
pub fn check_possible(number: E164) -> Result<(), NumberingError> {
    with_digits(number, |d| {
        let national_len = |code: u16| d.len() - code.to_string().len();
        match plan::fit(d) {
            Fit::Possible => Ok(()),
            Fit::Code(code) => Err(NumberingError::NotPossible {
                number,
                len: national_len(code.code),
                of: format!("+{}", code.code),
                lengths: PossibleLengths(code.lengths),
            }),
            Fit::Region(region) => Err(NumberingError::NotPossible {
                number,
                len: national_len(region.code),
                of: error::named(region.alpha2),
                lengths: region.lengths(),
            }),
            Fit::Unknown => Err(NumberingError::UnknownCode { number }),
        }
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
