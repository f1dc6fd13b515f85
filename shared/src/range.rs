//! PortSIP DID-pool syntax: `15550001000-15550001999;4420790000`.
//!
//! NOTE: interface only; the full parser replaces the body below.

use crate::{NumberError, E164};

/// Most numbers one range may span: a typo in a range end must not import
/// ten billion numbers.
pub const MAX_RANGE_LEN: u64 = 1_000_000;

/// An inclusive run of numbers with the same digit count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NumberRange {
    pub first: E164,
    pub last: E164,
}

impl NumberRange {
    pub fn len(&self) -> u64 {
        self.last.as_u64() - self.first.as_u64() + 1
    }
    pub fn is_empty(&self) -> bool {
        false
    }
    /// Every number in the range, in order.
    pub fn iter(&self) -> impl Iterator<Item = E164> {
        // Same digit count at both ends, so every value between is a valid number
        // with the same country code prefix... except where the prefix changes;
        // each value is re-checked.
        (self.first.as_u64()..=self.last.as_u64()).filter_map(|v| E164::from_u64(v).ok())
    }
}

/// One malformed part of the input, reported on its own.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input}: {reason}")]
pub struct RangeError {
    /// The part as written (between semicolons).
    pub input: String,
    pub reason: String,
}

/// The good ranges and the rejected parts of one input.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RangeParse {
    pub ranges: Vec<NumberRange>,
    pub rejected: Vec<RangeError>,
}

fn strip(part: &str) -> &str {
    let p = part.strip_prefix('+').unwrap_or(part);
    let p = p.strip_prefix("00").unwrap_or(p);
    p.strip_prefix('0').unwrap_or(p)
}

fn one(s: &str) -> Result<E164, NumberError> {
    E164::from_digits(strip(s.trim()))
}

/// Parses a semicolon-separated list of numbers and `first-last` ranges.
pub fn parse_ranges(input: &str) -> RangeParse {
    let mut out = RangeParse::default();
    for part in input.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let res = match part.split_once('-') {
            None => one(part).map(|n| NumberRange { first: n, last: n }).map_err(|e| e.to_string()),
            Some((a, b)) => match (one(a), one(b)) {
                (Ok(a), Ok(b)) if b < a => Err("range end is below its start".to_owned()),
                (Ok(a), Ok(b)) if b.as_u64() - a.as_u64() + 1 > MAX_RANGE_LEN => {
                    Err(format!("range spans more than {MAX_RANGE_LEN} numbers"))
                }
                (Ok(a), Ok(b)) => Ok(NumberRange { first: a, last: b }),
                (Err(e), _) | (_, Err(e)) => Err(e.to_string()),
            },
        };
        match res {
            Ok(r) => out.ranges.push(r),
            Err(reason) => out.rejected.push(RangeError { input: part.to_owned(), reason }),
        }
    }
    out
}
