//! E.164 numbers: parsing, formatting and the compact in-memory form.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::country;

/// Fewest digits (country code included) of any assigned E.164 number
/// (e.g. Niue, +683 4002).
pub const MIN_DIGITS: usize = 7;
/// ITU-T E.164 caps a number at 15 digits, country code included.
pub const MAX_DIGITS: usize = 15;

/// A full international number in E.164 form, e.g. `+15551234567`.
///
/// Stored as the integer value of its digits: an E.164 number never starts
/// with `0`, so the integer identifies the digit string exactly, and a `u64`
/// holds any 15-digit number. That keeps it `Copy` and 8 bytes.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct E164(u64);

/// Why a string is not an E.164 number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    #[error("the number is empty")]
    Empty,
    #[error("unexpected character {ch:?} at position {pos}: a number is '+' followed by digits only")]
    InvalidCharacter { ch: char, pos: usize },
    #[error("{len} digits is too short for an E.164 number (at least {MIN_DIGITS}, country code included)")]
    TooShort { len: usize },
    #[error("{len} digits is too long for an E.164 number (at most {MAX_DIGITS}, country code included)")]
    TooLong { len: usize },
    #[error("an E.164 number starts with its country code, never with 0: drop the trunk or international prefix (0, 00, 011)")]
    LeadingZero,
    #[error("no country uses the calling code at the start of +{digits}")]
    UnknownCountryCode { digits: String },
}

impl E164 {
    /// Parses what a caller may put in a URL or a JSON body: `+15551234567`,
    /// the URL-encoded `%2B15551234567`, or bare international digits
    /// `15551234567`. Anything else is rejected with the reason.
    pub fn parse(input: &str) -> Result<Self, NumberError> {
        let digits = if let Some(rest) = input.strip_prefix('+') {
            rest
        } else if input.len() >= 3 && input.as_bytes()[..3].eq_ignore_ascii_case(b"%2b") {
            &input[3..]
        } else {
            input
        };
        let offset = input.len() - digits.len();
        if input.is_empty() || digits.is_empty() {
            return Err(NumberError::Empty);
        }
        Self::from_digits_at(digits, offset)
    }

    /// Parses a string of ASCII digits only (no prefix), as found after a
    /// range parser has stripped `+`, `0` or `00`.
    pub fn from_digits(digits: &str) -> Result<Self, NumberError> {
        if digits.is_empty() {
            return Err(NumberError::Empty);
        }
        Self::from_digits_at(digits, 0)
    }

    /// [`E164::from_digits`] with `offset` added to the position of a bad
    /// character, so that callers that stripped a prefix report positions in
    /// the text as written.
    pub(crate) fn from_digits_at(digits: &str, offset: usize) -> Result<Self, NumberError> {
        // Bytes, not chars: the first byte that is not an ASCII digit starts
        // the offending character (everything before it is ASCII), and the
        // lookup path parses every request's number here.
        if let Some(pos) = digits.bytes().position(|b| !b.is_ascii_digit()) {
            let ch = digits[pos..].chars().next().expect("a character starts after ASCII digits");
            return Err(NumberError::InvalidCharacter { ch, pos: pos + offset });
        }
        let len = digits.len();
        if digits.starts_with('0') {
            return Err(NumberError::LeadingZero);
        }
        if len < MIN_DIGITS {
            return Err(NumberError::TooShort { len });
        }
        if len > MAX_DIGITS {
            return Err(NumberError::TooLong { len });
        }
        // The lookup hot path: three bitmap probes, no allocation.
        if !country::has_calling_code(digits) {
            return Err(NumberError::UnknownCountryCode { digits: digits.to_owned() });
        }
        // At most 15 ASCII digits: always fits in a u64.
        let value = digits.bytes().fold(0u64, |acc, b| acc * 10 + u64::from(b - b'0'));
        Ok(E164(value))
    }

    /// The number as an integer (its digits without `+`).
    pub fn as_u64(self) -> u64 {
        self.0
    }

    /// Rebuilds a number from [`E164::as_u64`] after checking it again, for
    /// values read back from storage.
    pub fn from_u64(value: u64) -> Result<Self, NumberError> {
        let mut buf = [0u8; 20];
        let digits = write_digits(value, &mut buf);
        Self::from_digits(std::str::from_utf8(digits).expect("ascii digits"))
    }

    /// Writes the digits (no `+`) into `buf` and returns them (rendering an
    /// answer, checking calling codes). No allocation.
    pub fn digits<'a>(&self, buf: &'a mut [u8; 20]) -> &'a [u8] {
        write_digits(self.0, buf)
    }

    /// The digits as an owned string, without `+`.
    pub fn digits_string(&self) -> String {
        self.0.to_string()
    }

    /// Countries that use this number's calling code (several for shared
    /// codes such as +1 or +7), most specific prefix first.
    pub fn countries(&self) -> impl Iterator<Item = crate::Country> {
        let mut buf = [0u8; 20];
        country::countries_for_digits(self.digits_str(&mut buf))
    }

    /// The country calling code this number starts with, e.g. 44 for
    /// `+442079460000`.
    pub fn calling_code(&self) -> u16 {
        let mut buf = [0u8; 20];
        // Every E164 was built from digits that start with a calling code.
        country::calling_code(self.digits_str(&mut buf)).map_or(0, |(code, _)| code)
    }

    /// How many digits the number has, country code included.
    pub fn digit_count(&self) -> usize {
        // Never 0: an E164 has at least MIN_DIGITS digits, the first non-zero.
        self.0.checked_ilog10().map_or(1, |l| l as usize + 1)
    }

    /// A number whose validity the caller has established another way: a
    /// value between two valid numbers of the same digit count and calling
    /// code (see `NumberRange::iter`).
    pub(crate) fn from_u64_trusted(value: u64) -> Self {
        E164(value)
    }

    fn digits_str<'a>(&self, buf: &'a mut [u8; 20]) -> &'a str {
        std::str::from_utf8(self.digits(buf)).expect("ascii digits")
    }
}

/// "00", "01", … "99": two digits per division when formatting.
const DIGIT_PAIRS: [u8; 200] = {
    let mut pairs = [0u8; 200];
    let mut i = 0;
    while i < 100 {
        pairs[2 * i] = b'0' + (i / 10) as u8;
        pairs[2 * i + 1] = b'0' + (i % 10) as u8;
        i += 1;
    }
    pairs
};

/// Writes `value` in decimal at the end of `buf` and returns those bytes
/// (no `fmt`, no allocation: every lookup answer formats three integers
/// through this, so it takes two digits per division).
pub fn write_digits(mut value: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    while value >= 100 {
        let pair = (value % 100) as usize * 2;
        value /= 100;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    }
    if value >= 10 {
        let pair = value as usize * 2;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    } else {
        i -= 1;
        buf[i] = b'0' + value as u8;
    }
    &buf[i..]
}

impl fmt::Display for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "+{}", self.0)
    }
}

impl fmt::Debug for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "E164(+{})", self.0)
    }
}

impl FromStr for E164 {
    type Err = NumberError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        E164::parse(s)
    }
}

impl Serialize for E164 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for E164 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        E164::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_three_spellings() {
        let want = E164::parse("+15551234567").unwrap();
        assert_eq!(E164::parse("%2B15551234567").unwrap(), want);
        assert_eq!(E164::parse("%2b15551234567").unwrap(), want);
        assert_eq!(E164::parse("15551234567").unwrap(), want);
        assert_eq!(want.to_string(), "+15551234567");
        assert_eq!(want.as_u64(), 15551234567);
    }

    #[test]
    fn rejects_with_a_reason() {
        assert_eq!(E164::parse(""), Err(NumberError::Empty));
        assert_eq!(E164::parse("+"), Err(NumberError::Empty));
        assert_eq!(E164::parse("+1555-123"), Err(NumberError::InvalidCharacter { ch: '-', pos: 5 }));
        assert_eq!(E164::parse("0015551234567"), Err(NumberError::LeadingZero));
        assert_eq!(E164::parse("+1555"), Err(NumberError::TooShort { len: 4 }));
        assert_eq!(E164::parse("+1234567890123456"), Err(NumberError::TooLong { len: 16 }));
        assert!(matches!(E164::parse("++15551234567"), Err(NumberError::InvalidCharacter { .. })));
        assert!(matches!(E164::parse("+15551234567 "), Err(NumberError::InvalidCharacter { ch: ' ', .. })));
        assert!(matches!(E164::parse("+٣٣٣٣٣٣٣٣"), Err(NumberError::InvalidCharacter { .. })));
        // A character of several bytes is reported whole, at its byte offset.
        assert_eq!(E164::parse("+٣٣٣٣٣٣٣٣"), Err(NumberError::InvalidCharacter { ch: '٣', pos: 1 }));
        assert_eq!(E164::parse("%2B1555é123"), Err(NumberError::InvalidCharacter { ch: 'é', pos: 7 }));
    }

    #[test]
    fn unknown_calling_codes_are_rejected() {
        assert_eq!(
            E164::parse("+8001234567"),
            Err(NumberError::UnknownCountryCode { digits: "8001234567".to_owned() })
        );
        assert!(E164::parse("+3831234567").is_err(), "+383 has no ISO 3166-1 country");
        assert!(E164::parse("+9991234567").is_err());
        assert!(E164::parse("+6831234").is_ok(), "Niue, 7 digits");
    }

    #[test]
    fn error_messages_are_lowercase_without_trailing_punctuation() {
        let errors = [
            NumberError::Empty,
            NumberError::InvalidCharacter { ch: 'x', pos: 3 },
            NumberError::TooShort { len: 4 },
            NumberError::TooLong { len: 16 },
            NumberError::LeadingZero,
            NumberError::UnknownCountryCode { digits: "8001234567".to_owned() },
        ];
        for e in errors {
            let msg = e.to_string();
            assert!(msg.starts_with(|c: char| !c.is_uppercase()), "{msg}");
            assert!(!msg.ends_with(['.', '!', ';', ':']), "{msg}");
        }
        assert_eq!(
            E164::parse("+8001234567").unwrap_err().to_string(),
            "no country uses the calling code at the start of +8001234567"
        );
    }

    #[test]
    fn calling_code_and_digit_count() {
        let n = E164::parse("+442079460000").unwrap();
        assert_eq!((n.calling_code(), n.digit_count()), (44, 12));
        let n = E164::parse("+15551234567").unwrap();
        assert_eq!((n.calling_code(), n.digit_count()), (1, 11));
        let n = E164::parse("+35818123456").unwrap();
        assert_eq!(n.calling_code(), 358);
        assert_eq!(n.countries().map(|c| c.alpha2()).collect::<Vec<_>>(), ["AX", "FI"]);
    }

    #[test]
    fn digits_round_trip() {
        let n = E164::parse("+442079460000").unwrap();
        let mut buf = [0u8; 20];
        assert_eq!(n.digits(&mut buf), b"442079460000");
        assert_eq!(E164::from_u64(n.as_u64()).unwrap(), n);
        let json = serde_json::to_string(&n).unwrap();
        assert_eq!(json, "\"+442079460000\"");
        assert_eq!(serde_json::from_str::<E164>(&json).unwrap(), n);
    }

    #[test]
    fn write_digits_matches_display() {
        let mut buf = [0u8; 20];
        let mut values = vec![0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 15551234567, u64::MAX, u64::MAX - 1];
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.push(x >> (x % 64));
        }
        for v in values {
            assert_eq!(write_digits(v, &mut buf), v.to_string().as_bytes(), "{v}");
        }
    }
}
