//! ISO 3166-1 alpha-2 countries, their E.164 calling codes and their
//! emergency numbers.
//!
//! The table itself, with its sources, is in `country/table.rs`; the
//! allocation-free calling-code check used on the lookup hot path is in
//! `country/calling_code.rs`.

mod calling_code;
mod table;

/// When the country table's emergency numbers were last checked.
pub use table::AS_OF as EMERGENCY_NUMBERS_AS_OF;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use calling_code::{calling_code, has_calling_code, CALLING_CODES};
use table::COUNTRIES;

/// One row of the country table.
#[derive(Debug)]
pub struct CountryInfo {
    /// ISO 3166-1 alpha-2 code, upper case.
    pub alpha2: &'static str,
    /// English short name.
    pub name: &'static str,
    /// Digit prefixes of E.164 numbers in this country: the calling code, or
    /// calling code plus area code where a code is shared (NANP members).
    pub prefixes: &'static [&'static str],
    /// The number a caller dials for emergency services (the greeting of a
    /// PSAP line).
    pub emergency: &'static str,
}

/// The number that reaches emergency services where a country's own is not
/// known: 112 is routed to emergency services by every GSM/3GPP network.
pub const FALLBACK_EMERGENCY_NUMBER: &str = "112";

/// The country that a shared calling code belongs to first: when a number
/// matches several countries equally well (+1 555…, +7 495…, +44 20…), it is
/// listed first. Each of these is the only primary of its code.
const PRIMARY_OF_SHARED_CODE: &[&str] =
    &["US", "RU", "GB", "NO", "IT", "GP", "RE", "AU", "CW", "FI", "MA", "NF", "NZ", "FK"];

/// An ISO 3166-1 alpha-2 country known to the table. `Copy`, 2 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Country(u16);

/// Why a string is not a known country code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not an ISO 3166-1 alpha-2 country code (two letters, e.g. \"US\", \"GB\")")]
pub struct CountryError {
    pub input: String,
}

impl Country {
    /// Looks up an alpha-2 code, case-insensitively. Binary search over the
    /// sorted table, no allocation on success.
    pub fn parse(input: &str) -> Result<Self, CountryError> {
        let err = || CountryError { input: input.to_owned() };
        let &[a, b] = input.as_bytes() else {
            return Err(err());
        };
        let key = [a.to_ascii_uppercase(), b.to_ascii_uppercase()];
        COUNTRIES.binary_search_by(|c| c.alpha2.as_bytes().cmp(&key[..])).map(|i| Country(i as u16)).map_err(|_| err())
    }

    pub fn info(self) -> &'static CountryInfo {
        &COUNTRIES[self.0 as usize]
    }

    /// The country's position in the table (alpha-2 order): a compact,
    /// stable key within one build of this crate.
    pub fn index(self) -> u16 {
        self.0
    }

    pub fn alpha2(self) -> &'static str {
        self.info().alpha2
    }

    /// English short name, e.g. "Germany".
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// The emergency number a PSAP line in this country greets with.
    pub fn emergency_number(self) -> &'static str {
        self.info().emergency
    }

    /// Whether `number` carries one of this country's calling-code prefixes.
    /// No allocation: the digits are written to a stack buffer.
    pub fn matches(self, number: &crate::E164) -> bool {
        let mut buf = [0u8; 20];
        let digits = number.digits(&mut buf);
        self.info().prefixes.iter().any(|p| digits.starts_with(p.as_bytes()))
    }

    /// Every country in the table, in alpha-2 order.
    pub fn all() -> impl Iterator<Item = Country> {
        (0..COUNTRIES.len()).map(|i| Country(i as u16))
    }

    fn is_primary(self) -> bool {
        PRIMARY_OF_SHARED_CODE.contains(&self.alpha2())
    }
}

/// Most countries one number can match: four today (+1 876…: JM, US, CA, UM;
/// +44 1481…: GG, GB, JE, IM); a test keeps this bound honest.
const MAX_MATCHES: usize = 8;

/// Countries whose prefixes start `digits`, most specific (longest prefix)
/// first; among equally specific ones the code's primary country (US for +1,
/// RU for +7, GB for +44, ...) first, then alpha-2 order. No heap allocation.
pub fn countries_for_digits(digits: &str) -> impl Iterator<Item = Country> {
    let digits = digits.as_bytes();
    // (prefix length, not primary, country): sorting ascending on
    // (Reverse(len), not primary, index) gives the documented order.
    let mut found = [(0usize, true, Country(0)); MAX_MATCHES];
    let mut n = 0;
    for c in Country::all() {
        let best = c.info().prefixes.iter().filter(|p| digits.starts_with(p.as_bytes())).map(|p| p.len()).max();
        if let Some(len) = best {
            if n < MAX_MATCHES {
                found[n] = (len, !c.is_primary(), c);
                n += 1;
            }
        }
    }
    found[..n].sort_unstable_by_key(|&(len, not_primary, c)| (std::cmp::Reverse(len), not_primary, c));
    found.into_iter().take(n).map(|(_, _, c)| c)
}

/// The emergency number for an alpha-2 code, or [`FALLBACK_EMERGENCY_NUMBER`]
/// when the code is unknown.
pub fn emergency_number_for(alpha2: &str) -> &'static str {
    Country::parse(alpha2).map(|c| c.emergency_number()).unwrap_or(FALLBACK_EMERGENCY_NUMBER)
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.alpha2())
    }
}

impl fmt::Debug for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Country({})", self.alpha2())
    }
}

impl FromStr for Country {
    type Err = CountryError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Country::parse(s)
    }
}

impl Serialize for Country {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.alpha2())
    }
}

impl<'de> Deserialize<'de> for Country {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Country::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests;
