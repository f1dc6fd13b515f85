//! Checking the numbers and digit filters a request names.

use didroute_shared::problem::ProblemType;
use didroute_shared::E164;

use crate::error::{ApiError, ApiResult};

/// Checks a digit filter (`prefix`, `contains`, `area_code`) and returns its digits.
pub fn digits_filter(field: &str, value: &str) -> ApiResult<String> {
    let d = value.strip_prefix('+').unwrap_or(value);
    if d.is_empty() || d.len() > 15 || !d.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::new(ProblemType::InvalidField, format!("{field} must be 1 to 15 digits, got {value:?}")));
    }
    Ok(d.to_owned())
}

/// Parses a number from a path or body, as a 400 with the reason when invalid.
pub fn parse_number(input: &str) -> ApiResult<E164> {
    E164::parse(input)
        .map_err(|e| ApiError::new(ProblemType::InvalidNumber, format!("{input:?} is not a valid number: {e}")))
}
