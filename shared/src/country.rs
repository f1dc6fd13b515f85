//! ISO 3166-1 alpha-2 countries, their E.164 calling codes and their
//! emergency numbers.
//!
//! NOTE: placeholder table with a handful of countries; the full table of
//! every ISO 3166-1 country replaces it (see the issue on the shared crate).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

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

static COUNTRIES: &[CountryInfo] = &[
    CountryInfo { alpha2: "CA", name: "Canada", prefixes: &["1"], emergency: "911" },
    CountryInfo { alpha2: "DE", name: "Germany", prefixes: &["49"], emergency: "112" },
    CountryInfo { alpha2: "FR", name: "France", prefixes: &["33"], emergency: "112" },
    CountryInfo { alpha2: "GB", name: "United Kingdom", prefixes: &["44"], emergency: "999" },
    CountryInfo { alpha2: "JP", name: "Japan", prefixes: &["81"], emergency: "119" },
    CountryInfo { alpha2: "US", name: "United States", prefixes: &["1"], emergency: "911" },
];

/// The number that reaches emergency services where a country's own is not
/// known: 112 is routed to emergency services by every GSM/3GPP network.
pub const FALLBACK_EMERGENCY_NUMBER: &str = "112";

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
    /// Looks up an alpha-2 code, case-insensitively.
    pub fn parse(input: &str) -> Result<Self, CountryError> {
        COUNTRIES
            .iter()
            .position(|c| c.alpha2.eq_ignore_ascii_case(input))
            .map(|i| Country(i as u16))
            .ok_or_else(|| CountryError { input: input.to_owned() })
    }

    pub fn info(self) -> &'static CountryInfo {
        &COUNTRIES[self.0 as usize]
    }

    pub fn alpha2(self) -> &'static str {
        self.info().alpha2
    }

    /// The emergency number a PSAP line in this country greets with.
    pub fn emergency_number(self) -> &'static str {
        self.info().emergency
    }

    /// Whether `number` carries one of this country's calling-code prefixes.
    pub fn matches(self, number: &crate::E164) -> bool {
        let digits = number.digits_string();
        self.info().prefixes.iter().any(|p| digits.starts_with(p))
    }

    /// Every country in the table.
    pub fn all() -> impl Iterator<Item = Country> {
        (0..COUNTRIES.len()).map(|i| Country(i as u16))
    }
}

/// Countries whose prefixes start `digits`, most specific (longest prefix) first.
pub fn countries_for_digits(digits: &str) -> impl Iterator<Item = Country> {
    let mut found: Vec<(usize, Country)> = Country::all()
        .filter_map(|c| {
            c.info().prefixes.iter().filter(|p| digits.starts_with(**p)).map(|p| p.len()).max().map(|l| (l, c))
        })
        .collect();
    found.sort_by(|a, b| b.0.cmp(&a.0));
    found.into_iter().map(|(_, c)| c)
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
