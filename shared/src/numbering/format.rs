//! Written forms: national format with its trunk prefix, and the trunk
//! prefix kept by mistake inside an international number.

use super::plan::{code_info, split};
use super::{check_possible, is_possible_digits, NumberingError, Region};
use crate::{Country, E164};

/// The trunk prefix and the number meant, when international `digits` keep
/// the trunk prefix after the calling code.
fn trunk_mistake(digits: &str) -> Option<(&'static str, E164)> {
    let (code, national) = split(digits.as_bytes())?;
    let trunk = code.national_prefix;
    let meant = national.strip_prefix(trunk.as_bytes()).filter(|_| !trunk.is_empty())?;
    let cc = &digits[..digits.len() - national.len()];
    let meant = format!("{cc}{}", std::str::from_utf8(meant).ok()?);
    // Where numbers may start with the trunk prefix (RU 800…), only an
    // impossible whole is a mistake.
    if !is_possible_digits(&meant) || (code.prefix_starts_numbers && is_possible_digits(digits)) {
        return None;
    }
    E164::from_digits(&meant).ok().map(|number| (trunk, number))
}

/// An international number written with its trunk prefix kept after the
/// calling code (`+4402079460000`): the number probably meant
/// (`+442079460000`). `None` when the input is something else. Accepts `+`
/// or bare digits.
pub fn trunk_prefix_mistake(input: &str) -> Option<E164> {
    trunk_mistake(input.strip_prefix('+').unwrap_or(input)).map(|(_, meant)| meant)
}

/// Parses an international number as an import gets it, refusing a trunk
/// prefix kept inside it and lengths its plan does not have.
pub fn parse_international(input: &str) -> Result<E164, NumberingError> {
    if let Some((prefix, meant)) = trunk_mistake(input.strip_prefix('+').unwrap_or(input)) {
        return Err(NumberingError::TrunkPrefixInside { prefix, meant });
    }
    let number = E164::parse(input)?;
    check_possible(number)?;
    Ok(number)
}

/// Reads `national` in the national format of `country` (`02079460001` in
/// GB is +442079460001): the trunk prefix is dropped where it leads and what
/// remains is a possible number; a number that starts with the trunk prefix
/// as part of itself (RU 800…) or that is written without it is kept whole.
/// The result may belong to another country's plan of the same calling code
/// (a Guernsey number read as GB): [`super::check_country`] tells.
pub fn parse_national(national: &str, country: Country) -> Result<E164, NumberingError> {
    let region = Region::of_country(country).ok_or(NumberingError::NoPlan { country })?;
    let code = code_info(region.code).ok_or(NumberingError::NoPlan { country })?;
    let bytes = national.as_bytes();
    if bytes.is_empty() || !bytes.iter().all(u8::is_ascii_digit) {
        return Err(NumberingError::NotNational { input: national.to_owned(), country });
    }
    let whole = format!("{}{national}", region.code);
    let whole_possible = is_possible_digits(&whole);
    let trunk = region.national_prefix;
    let stripped = national.strip_prefix(trunk).filter(|_| !trunk.is_empty());
    let candidate = match stripped {
        // A leading trunk prefix is dropped unless numbers may start with it
        // and the whole is a possible number (RU 800…).
        Some(rest) if !(code.prefix_starts_numbers && whole_possible) => format!("{}{rest}", region.code),
        _ => whole,
    };
    if !is_possible_digits(&candidate) {
        return Err(NumberingError::NotPossibleNational {
            input: national.to_owned(),
            country,
            len: candidate.len() - region.code.to_string().len(),
            lengths: region.lengths(),
        });
    }
    Ok(E164::from_digits(&candidate)?)
}
