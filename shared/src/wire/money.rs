//! Prices: exact decimal amounts, never floating point.
//!
//! A price is accepted as a decimal string (`"1.25"`, as carriers write
//! prices) or a JSON number (`1.25`, read from its own digits), and always
//! written as a decimal string with at least two decimal places (`"1.50"`).
//! It is held as whole ten-thousandths, the scale of the database's
//! `numeric(12, 4)` column.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Decimal places a price may have.
pub const PRICE_SCALE: u32 = 4;
/// Ten-thousandths in one unit of currency.
const UNIT: i64 = 10_i64.pow(PRICE_SCALE);
/// Largest price, in ten-thousandths: what `numeric(12, 4)` holds.
const MAX_UNITS: i64 = 100_000_000 * UNIT - 1;

/// A non-negative amount of money with at most four decimal places, below
/// 100,000,000. The currency travels beside it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Price {
    /// Whole ten-thousandths of a unit of currency.
    units: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceError {
    #[error("{0:?} is not a decimal number such as \"1.25\"")]
    Malformed(String),
    #[error("{0:?} is negative; a price must be 0 or more")]
    Negative(String),
    #[error("{0:?} has more than 4 decimal places")]
    TooPrecise(String),
    #[error("{0:?} is too large; a price must be below 100000000")]
    TooLarge(String),
}

impl Price {
    pub const ZERO: Price = Price { units: 0 };

    /// The price of `units` ten-thousandths.
    pub fn from_units(units: i64) -> Option<Price> {
        (0..=MAX_UNITS).contains(&units).then_some(Price { units })
    }

    /// Whole ten-thousandths.
    pub fn units(self) -> i64 {
        self.units
    }
}

impl FromStr for Price {
    type Err = PriceError;

    /// `123`, `1.25`, `.5`, `0.0001`; no sign, exponent or white space.
    fn from_str(s: &str) -> Result<Price, PriceError> {
        let malformed = || PriceError::Malformed(s.to_owned());
        if let Some(rest) = s.strip_prefix('-') {
            let is_number = !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit() || b == b'.');
            return Err(if is_number { PriceError::Negative(s.to_owned()) } else { malformed() });
        }
        let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
        let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
        if (whole.is_empty() && frac.is_empty()) || !digits(whole) || !digits(frac) {
            return Err(malformed());
        }
        if s.ends_with('.') {
            return Err(malformed());
        }
        if frac.len() > PRICE_SCALE as usize {
            // trailing zeros past the scale change nothing
            if frac[PRICE_SCALE as usize..].bytes().any(|b| b != b'0') {
                return Err(PriceError::TooPrecise(s.to_owned()));
            }
        }
        let whole = whole.trim_start_matches('0');
        if whole.len() > 8 {
            return Err(PriceError::TooLarge(s.to_owned()));
        }
        let whole: i64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| malformed())? };
        let mut frac_units = 0i64;
        for (i, b) in frac.bytes().take(PRICE_SCALE as usize).enumerate() {
            frac_units += i64::from(b - b'0') * 10_i64.pow(PRICE_SCALE - 1 - i as u32);
        }
        Price::from_units(whole * UNIT + frac_units).ok_or_else(|| PriceError::TooLarge(s.to_owned()))
    }
}

impl fmt::Display for Price {
    /// At least two decimal places, at most four: `1.50`, `0.0001`, `12.00`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.units / UNIT;
        let mut frac = format!("{:04}", self.units % UNIT);
        while frac.len() > 2 && frac.ends_with('0') {
            frac.pop();
        }
        write!(f, "{whole}.{frac}")
    }
}

impl Serialize for Price {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Price {
    /// A decimal string, or a JSON number taken from its digits as written
    /// (so `0.1` is exactly one tenth, not the nearest binary fraction).
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Price, D::Error> {
        let raw = Box::<serde_json::value::RawValue>::deserialize(d)?;
        let text = raw.get().trim();
        let digits = if text.starts_with('"') {
            serde_json::from_str::<String>(text).map_err(serde::de::Error::custom)?
        } else if text.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
            text.to_owned()
        } else {
            return Err(serde::de::Error::custom(format!(
                "a price is a decimal string such as \"1.25\" or a number, not {text}"
            )));
        };
        digits.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(feature = "utoipa")]
impl utoipa::PartialSchema for Price {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
        let text = ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(PRICE_PATTERN))
            .description(Some(
                "a decimal amount: at most 4 decimal places, from 0 to 99999999.9999; always written as a string",
            ))
            .examples(["1.25"]);
        let number = ObjectBuilder::new()
            .schema_type(Type::Number)
            .minimum(Some(0.0))
            .exclusive_maximum(Some(100_000_000.0))
            .description(Some("accepted in requests, read from its digits (at most 4 decimal places)"));
        Schema::OneOf(OneOfBuilder::new().item(text).item(number).build()).into()
    }
}

#[cfg(feature = "utoipa")]
impl utoipa::ToSchema for Price {}

/// What [`Price::from_str`] accepts, as a pattern.
pub const PRICE_PATTERN: &str = "^([0-9]{1,8}(\\.[0-9]{1,4})?|\\.[0-9]{1,4})$";

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Price, PriceError> {
        s.parse()
    }

    #[test]
    fn parses_and_prints() {
        for (input, units, shown) in [
            ("1.25", 12_500, "1.25"),
            ("1.5", 15_000, "1.50"),
            ("0", 0, "0.00"),
            ("9", 90_000, "9.00"),
            (".5", 5_000, "0.50"),
            ("0.0001", 1, "0.0001"),
            ("1.25000", 12_500, "1.25"),
            ("99999999.9999", MAX_UNITS, "99999999.9999"),
            ("00012.3", 123_000, "12.30"),
        ] {
            let price = p(input).unwrap();
            assert_eq!(price.units(), units, "{input}");
            assert_eq!(price.to_string(), shown, "{input}");
        }
    }

    #[test]
    fn refuses_what_is_not_a_price() {
        assert!(matches!(p("-1"), Err(PriceError::Negative(_))));
        assert!(matches!(p("-0.5"), Err(PriceError::Negative(_))));
        assert!(matches!(p("1.23456"), Err(PriceError::TooPrecise(_))));
        assert!(matches!(p("100000000"), Err(PriceError::TooLarge(_))));
        assert!(matches!(p("1e3"), Err(PriceError::Malformed(_))));
        for bad in ["", ".", "1.", "abc", " 1", "1,5", "+1", "--1", "NaN", "inf"] {
            assert!(matches!(p(bad), Err(PriceError::Malformed(_))), "{bad:?}");
        }
    }

    #[test]
    fn json_strings_and_numbers_read_exactly() {
        let from = |j: &str| serde_json::from_str::<Price>(j);
        assert_eq!(from("\"1.25\"").unwrap().units(), 12_500);
        assert_eq!(from("1.25").unwrap().units(), 12_500);
        assert_eq!(from("0.1").unwrap().units(), 1_000);
        assert_eq!(from("7").unwrap().units(), 70_000);
        assert!(from("-1").unwrap_err().to_string().contains("negative"));
        assert!(from("1.23456").unwrap_err().to_string().contains("more than 4 decimal places"));
        assert!(from("1e2").is_err());
        assert!(from("true").is_err());
        assert_eq!(serde_json::to_string(&from("2.5").unwrap()).unwrap(), "\"2.50\"");
    }

    #[test]
    fn round_trips_through_its_text() {
        for units in [0, 1, 99, 10_000, 12_345, MAX_UNITS] {
            let price = Price::from_units(units).unwrap();
            assert_eq!(p(&price.to_string()).unwrap(), price);
        }
    }
}
