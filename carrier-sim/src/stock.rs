//! The simulator's number stock: `--stock US:555=1000,GB:20=200` parsed into
//! blocks, each block's numbers generated deterministically so two runs with
//! the same spec offer the same numbers.

use std::fmt;

/// One `COUNTRY:NDC=COUNT` entry of the stock spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockBlock {
    /// ISO 3166-1 alpha-2, upper case.
    pub country: String,
    /// National destination code (area code), digits only.
    pub ndc: String,
    pub count: u64,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StockError {
    #[error("stock entry {0:?} is not COUNTRY:NDC=COUNT")]
    Syntax(String),
    #[error("unknown country {0:?} (known: {known})", known = KNOWN)]
    UnknownCountry(String),
    #[error("area code {0:?} must be 1 to 5 digits")]
    BadNdc(String),
    #[error("count {0:?} is not a whole number")]
    BadCount(String),
    #[error("{country}:{ndc} holds at most {max} numbers, asked for {count}")]
    TooMany { country: String, ndc: String, count: u64, max: u64 },
}

const KNOWN: &str = "US, CA, GB, DE, FR, NL, ES, IT, AU";

/// Calling code and subscriber-number length after the NDC, per country.
fn numbering(country: &str) -> Option<(&'static str, u32)> {
    Some(match country {
        "US" | "CA" => ("1", 7),
        "GB" => ("44", 8),
        "DE" => ("49", 8),
        "FR" => ("33", 8),
        "NL" => ("31", 7),
        "ES" => ("34", 7),
        "IT" => ("39", 7),
        "AU" => ("61", 8),
        _ => return None,
    })
}

/// NANP toll-free area codes; everything else the simulator calls local.
const TOLL_FREE_NDC: [&str; 7] = ["800", "833", "844", "855", "866", "877", "888"];

impl StockBlock {
    pub fn new(country: &str, ndc: &str, count: u64) -> Result<Self, StockError> {
        let country = country.trim().to_ascii_uppercase();
        let (_, len) = numbering(&country).ok_or_else(|| StockError::UnknownCountry(country.clone()))?;
        let ndc = ndc.trim().to_string();
        if ndc.is_empty() || ndc.len() > 5 || !ndc.bytes().all(|b| b.is_ascii_digit()) {
            return Err(StockError::BadNdc(ndc));
        }
        let max = capacity(len);
        if count > max {
            return Err(StockError::TooMany { country, ndc, count, max });
        }
        Ok(Self { country, ndc, count })
    }

    pub fn calling_code(&self) -> &'static str {
        numbering(&self.country).map(|(cc, _)| cc).unwrap_or("")
    }

    pub fn number_type(&self) -> &'static str {
        if self.calling_code() == "1" && TOLL_FREE_NDC.contains(&self.ndc.as_str()) {
            "toll_free"
        } else {
            "local"
        }
    }

    /// The `index`th number of this block in E.164; subscriber numbers start
    /// at 2 followed by zeros so NANP exchanges stay valid.
    pub fn number(&self, index: u64) -> String {
        let (cc, len) = numbering(&self.country).unwrap_or(("", 7));
        let first = 2 * 10u64.pow(len - 1);
        format!("+{cc}{}{:0width$}", self.ndc, first + index, width = len as usize)
    }

    /// Every number of the block, in order.
    pub fn numbers(&self) -> impl Iterator<Item = String> + '_ {
        (0..self.count).map(|i| self.number(i))
    }
}

/// How many numbers fit after an NDC when subscriber numbers start at 2xxx.
fn capacity(len: u32) -> u64 {
    8 * 10u64.pow(len - 1)
}

/// The subscriber capacity of one country's NDC, for bulk generation.
pub fn block_capacity(country: &str) -> Option<u64> {
    numbering(&country.to_ascii_uppercase()).map(|(_, len)| capacity(len))
}

/// Parses `US:555=1000,US:800=50,GB:20=200`; an empty spec is an empty stock.
pub fn parse_stock(spec: &str) -> Result<Vec<StockBlock>, StockError> {
    spec.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            let (place, count) = entry.split_once('=').ok_or_else(|| StockError::Syntax(entry.to_string()))?;
            let (country, ndc) = place.split_once(':').ok_or_else(|| StockError::Syntax(entry.to_string()))?;
            let count = count.trim().parse::<u64>().map_err(|_| StockError::BadCount(count.trim().to_string()))?;
            StockBlock::new(country, ndc, count)
        })
        .collect()
}

impl fmt::Display for StockBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}={}", self.country, self.ndc, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_spec_and_generates_deterministic_numbers() {
        let blocks = parse_stock("US:555=3, gb:20=2").unwrap();
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].numbers().collect::<Vec<_>>(), ["+15552000000", "+15552000001", "+15552000002"]);
        assert_eq!(blocks[1].numbers().collect::<Vec<_>>(), ["+442020000000", "+442020000001"]);
        assert_eq!(blocks[1].to_string(), "GB:20=2");
        assert_eq!(parse_stock("US:800=1").unwrap()[0].number_type(), "toll_free");
        assert_eq!(blocks[0].number_type(), "local");
    }

    #[test]
    fn rejects_malformed_entries() {
        assert_eq!(parse_stock("US555=1"), Err(StockError::Syntax("US555=1".into())));
        assert_eq!(parse_stock("US:555"), Err(StockError::Syntax("US:555".into())));
        assert_eq!(parse_stock("XX:1=1"), Err(StockError::UnknownCountry("XX".into())));
        assert_eq!(parse_stock("US:5a5=1"), Err(StockError::BadNdc("5a5".into())));
        assert_eq!(parse_stock("US:555=-1"), Err(StockError::BadCount("-1".into())));
        assert!(matches!(parse_stock("US:555=8000001"), Err(StockError::TooMany { .. })));
        assert_eq!(parse_stock("").unwrap(), vec![]);
    }
}
