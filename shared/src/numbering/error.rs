//! Why a number does not fit the numbering plan it claims.

use std::fmt;

use crate::{Country, NumberError, E164};

/// Possible national-number lengths, rendered as "7, 9 or 10".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PossibleLengths(pub(super) &'static [u8]);

impl PossibleLengths {
    pub fn as_slice(&self) -> &'static [u8] {
        self.0
    }
}

impl fmt::Display for PossibleLengths {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        for (i, l) in self.0.iter().enumerate() {
            let sep = match i {
                0 => "",
                _ if i + 1 == n => " or ",
                _ => ", ",
            };
            write!(f, "{sep}{l}")?;
        }
        Ok(())
    }
}

/// "JM (Jamaica)"; the bare code for regions without a country-table row.
pub(super) fn named(alpha2: &str) -> String {
    match Country::parse(alpha2) {
        Ok(country) => format!("{alpha2} ({})", country.name()),
        Err(_) => alpha2.to_owned(),
    }
}

/// Why a number is refused by the numbering plans; each message says what
/// was probably meant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberingError {
    #[error(transparent)]
    Number(#[from] NumberError),
    #[error(
        "{number} belongs to the numbering plan of {}, not {declared}: give country {owner} or leave the country out",
        named(owner)
    )]
    WrongCountry { number: E164, declared: Country, owner: &'static str },
    #[error("trunk prefix {prefix} inside an international number: did you mean {meant}?")]
    TrunkPrefixInside { prefix: &'static str, meant: E164 },
    #[error("{number} has {len} digits after its calling code, and numbers of {of} have {lengths}")]
    NotPossible { number: E164, len: usize, of: String, lengths: PossibleLengths },
    #[error("{number}: libphonenumber knows no numbering plan for its calling code")]
    UnknownCode { number: E164 },
    #[error("{input:?} is not a national number of {country}: digits only, with or without the trunk prefix, or give the number in international form (+...)")]
    NotNational { input: String, country: Country },
    #[error("{input:?} has {len} digits without its trunk prefix, and national numbers of {country} have {lengths}")]
    NotPossibleNational { input: String, country: Country, len: usize, lengths: PossibleLengths },
    #[error("no numbering plan is known for {country}: give the number in international form (+...)")]
    NoPlan { country: Country },
}
