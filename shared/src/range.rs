//! PortSIP DID-pool syntax: `15550001000-15550001999;4420790000`.
//!
//! Parts are separated by `;` (PortSIP), and also by a newline or a comma so
//! that a CSV-ish file with one number or range per line imports as it is.
//! Each part is trimmed, and empty parts (`;;`, blank lines) are skipped. A
//! part is one number or `first-last`. Each number may carry one leading
//! international or trunk prefix, as PortSIP asks users to remove: `+`, else
//! `00`, else `0` is stripped (the first that matches, once), and what is
//! left must be a full international number. A part that fails is reported on
//! its own, as written, with the reason, and the good parts are still
//! returned: one typo must not sink a whole import.

use std::fmt;

use crate::E164;

/// Most numbers one range may span: a typo in a range end must not import
/// ten billion numbers.
pub const MAX_RANGE_LEN: u64 = 1_000_000;

/// What separates parts: PortSIP's `;`, plus newline and comma for CSV-ish
/// input.
const SEPARATORS: [char; 3] = [';', '\n', ','];

/// Prefixes stripped from each number, tried in this order, at most one.
const STRIPPED_PREFIXES: [&str; 3] = ["+", "00", "0"];

/// An inclusive run of numbers.
///
/// Ranges built by [`parse_ranges`] or [`NumberRange::new`] have ends with
/// the same digit count and calling code, so every value between them is a
/// valid number; the fields stay public for callers that already hold
/// validated ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NumberRange {
    pub first: E164,
    pub last: E164,
}

/// Why two numbers do not make a range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpanError {
    #[error(
        "the range ends have different lengths ({first} and {last} digits): both ends must be full \
         international numbers of the same length"
    )]
    DigitCountDiffers { first: usize, last: usize },
    #[error("the range ends are in different country calling codes (+{first} and +{last})")]
    CallingCodeDiffers { first: u16, last: u16 },
    #[error("the range end {last} is below its start {first}")]
    EndBeforeStart { first: E164, last: E164 },
    #[error("the range spans {len} numbers, more than the limit of {MAX_RANGE_LEN}: split it into smaller ranges")]
    TooLong { len: u64 },
}

impl NumberRange {
    /// The range `first..=last`, checked: same digit count, same calling
    /// code, `last >= first`, at most [`MAX_RANGE_LEN`] numbers.
    pub fn new(first: E164, last: E164) -> Result<Self, SpanError> {
        let (fd, ld) = (first.digit_count(), last.digit_count());
        if fd != ld {
            return Err(SpanError::DigitCountDiffers { first: fd, last: ld });
        }
        let (fc, lc) = (first.calling_code(), last.calling_code());
        if fc != lc {
            return Err(SpanError::CallingCodeDiffers { first: fc, last: lc });
        }
        if last < first {
            return Err(SpanError::EndBeforeStart { first, last });
        }
        let range = NumberRange { first, last };
        if range.len() > MAX_RANGE_LEN {
            return Err(SpanError::TooLong { len: range.len() });
        }
        Ok(range)
    }

    /// A range of one number.
    pub fn single(number: E164) -> Self {
        NumberRange { first: number, last: number }
    }

    /// How many numbers the range holds; 0 if `last` is below `first`.
    pub fn len(&self) -> u64 {
        if self.is_empty() {
            0
        } else {
            self.last.as_u64() - self.first.as_u64() + 1
        }
    }

    /// Only a hand-built range with `last` below `first` is empty.
    pub fn is_empty(&self) -> bool {
        self.last < self.first
    }

    /// Every number in the range, in order.
    ///
    /// When both ends have the same digit count and calling code (always, for
    /// a range from [`parse_ranges`] or [`NumberRange::new`]), every value
    /// between them is a valid number with that code, so values are yielded
    /// without re-checking: importing a million-number range stays cheap. A
    /// hand-built range without that property has each value checked, so an
    /// invalid number is never yielded.
    pub fn iter(&self) -> impl Iterator<Item = E164> {
        let uniform = self.first.digit_count() == self.last.digit_count()
            && self.first.calling_code() == self.last.calling_code();
        (self.first.as_u64()..=self.last.as_u64()).filter_map(move |v| {
            if uniform {
                Some(E164::from_u64_trusted(v))
            } else {
                E164::from_u64(v).ok()
            }
        })
    }

    /// Whether `number` is in the range.
    pub fn contains(&self, number: E164) -> bool {
        self.first <= number && number <= self.last
    }

    /// Whether the two ranges share at least one number: assigned ranges must
    /// never overlap across tenants.
    pub fn overlaps(&self, other: &NumberRange) -> bool {
        !self.is_empty() && !other.is_empty() && self.first <= other.last && other.first <= self.last
    }
}

/// PortSIP syntax, without `+`: `15550001000-15550001999`, or the bare number
/// for a range of one. [`parse_ranges`] reads it back.
impl fmt::Display for NumberRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first.as_u64())
        } else {
            write!(f, "{}-{}", self.first.as_u64(), self.last.as_u64())
        }
    }
}

/// One malformed part of the input, reported on its own.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input}: {reason}")]
pub struct RangeError {
    /// The part as written (between separators), trimmed.
    pub input: String,
    /// Lower case, no trailing punctuation, says what to fix.
    pub reason: String,
}

/// The good ranges and the rejected parts of one input.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RangeParse {
    pub ranges: Vec<NumberRange>,
    pub rejected: Vec<RangeError>,
}

impl RangeParse {
    /// How many numbers the good ranges hold together (duplicates counted
    /// again), so a caller can refuse an import over its own total cap
    /// before expanding anything.
    pub fn total_numbers(&self) -> u64 {
        self.ranges.iter().fold(0u64, |sum, r| sum.saturating_add(r.len()))
    }
}

/// Parses a list of numbers and `first-last` ranges separated by `;`,
/// newlines or commas. Never fails as a whole: see [`RangeParse`].
pub fn parse_ranges(input: &str) -> RangeParse {
    parse_ranges_in(input, None)
}

/// [`parse_ranges`] for numbers of `country`: a number written with a single
/// leading `0` that is that country's trunk prefix (`02079460001` in GB) is
/// read in its national format (+442079460001) when that gives a possible
/// number; otherwise, and for every other form, PortSIP's reading holds.
pub fn parse_ranges_in(input: &str, country: Option<crate::Country>) -> RangeParse {
    let mut out = RangeParse::default();
    for part in input.split(SEPARATORS).map(str::trim).filter(|p| !p.is_empty()) {
        match parse_part(part, country) {
            Ok(r) => out.ranges.push(r),
            Err(reason) => out.rejected.push(RangeError { input: part.to_owned(), reason }),
        }
    }
    out
}

fn parse_part(part: &str, country: Option<crate::Country>) -> Result<NumberRange, String> {
    let Some((a, b)) = part.split_once('-') else {
        return number(part, country).map(NumberRange::single);
    };
    if b.contains('-') {
        return Err("a range has exactly one '-' between its first and last number".to_owned());
    }
    let (a, b) = (a.trim(), b.trim());
    if a.is_empty() {
        return Err("the range has no first number before '-'".to_owned());
    }
    if b.is_empty() {
        return Err("the range has no last number after '-'".to_owned());
    }
    let first = number(a, country).map_err(|e| format!("range start: {e}"))?;
    let last = number(b, country).map_err(|e| format!("range end: {e}"))?;
    NumberRange::new(first, last).map_err(|e| e.to_string())
}

/// One number, with at most one of [`STRIPPED_PREFIXES`] removed. Positions
/// in the reason count from the start of the number as written.
fn number(text: &str, country: Option<crate::Country>) -> Result<E164, String> {
    if let Some(national) = country.and_then(|c| national(text, c)) {
        return Ok(national);
    }
    let digits = STRIPPED_PREFIXES.iter().find_map(|p| text.strip_prefix(p)).unwrap_or(text);
    if digits.is_empty() {
        return Err(format!("{text:?} has no digits after the prefix"));
    }
    E164::from_digits_at(digits, text.len() - digits.len()).map_err(|e| e.to_string())
}

/// `text` in the national format of `country`, when it is written with that
/// country's trunk prefix `0` (one, not the `00` of an international call)
/// and reads as a possible number that way.
fn national(text: &str, country: crate::Country) -> Option<E164> {
    let region = crate::numbering::Region::of_country(country)?;
    if region.national_prefix() != "0" || !text.starts_with('0') || text.starts_with("00") {
        return None;
    }
    crate::numbering::parse_national(text, country).ok()
}

#[cfg(test)]
mod tests;
