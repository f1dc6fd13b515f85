//! The domain types carriers speak, independent of any carrier's wire format.

use std::fmt;

use serde::Serialize;

/// A non-negative decimal amount kept as its string (`"1.00"`), as carriers
/// send prices; validated so it can later be parsed exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Decimal(String);

impl Decimal {
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        let dangling_point = s.contains('.') && frac.is_empty();
        let ok = !int.is_empty() && int.len() <= 12 && digits(int) && frac.len() <= 6 && digits(frac);
        (ok && !dangling_point).then(|| Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NumberType {
    Local,
    TollFree,
    Mobile,
    National,
    SharedCost,
}

impl NumberType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::TollFree => "toll_free",
            Self::Mobile => "mobile",
            Self::National => "national",
            Self::SharedCost => "shared_cost",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "local" | "landline" | "longcode" => Self::Local,
            "toll_free" | "tollfree" => Self::TollFree,
            "mobile" => Self::Mobile,
            "national" => Self::National,
            "shared_cost" => Self::SharedCost,
            _ => return None,
        })
    }
}

/// What to look for in a carrier's stock.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchQuery {
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// National destination (area) code.
    pub area_code: Option<String>,
    pub contains: Option<String>,
    pub starts_with: Option<String>,
    pub ends_with: Option<String>,
    pub number_type: Option<NumberType>,
    /// At most this many results; adapters clamp it to what their carrier allows.
    pub limit: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AvailableNumber {
    /// E.164 with the leading `+`.
    pub number: String,
    pub country: Option<String>,
    pub number_type: Option<NumberType>,
    pub upfront_cost: Option<Decimal>,
    pub monthly_cost: Option<Decimal>,
    pub currency: Option<String>,
    pub features: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRequest {
    /// E.164 numbers, as found by a search.
    pub numbers: Vec<String>,
    /// Our reference, stored with the order at the carrier.
    pub customer_reference: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Pending,
    Success,
    Failure,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderedNumber {
    pub number: String,
    pub status: OrderStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Order {
    /// The carrier's order id.
    pub id: String,
    pub status: OrderStatus,
    pub numbers: Vec<OrderedNumber>,
    pub customer_reference: Option<String>,
}

/// A number's state in the carrier's account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NumberStatus {
    Active,
    PurchasePending,
    PurchaseFailed,
    PortPending,
    Deleted,
    /// A status this adapter does not map, verbatim.
    Other(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// 1-based.
    pub page: u32,
    pub size: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OwnedNumber {
    /// The carrier's id for the number.
    pub carrier_id: String,
    pub number: String,
    pub status: NumberStatus,
    pub country: Option<String>,
    /// When the carrier says (Telnyx `phone_number_type`).
    pub number_type: Option<NumberType>,
    pub customer_reference: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OwnedPage {
    pub numbers: Vec<OwnedNumber>,
    pub page: u32,
    pub total_pages: u32,
    pub total_results: Option<u64>,
}

impl OwnedPage {
    pub fn is_last(&self) -> bool {
        self.page >= self.total_pages || self.numbers.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_accepts_plain_amounts_only() {
        for ok in ["0", "1.00", "12.5", "0.000001"] {
            assert_eq!(Decimal::parse(ok).unwrap().as_str(), ok);
        }
        for bad in ["", ".5", "1.", "-1.00", "1e3", "1,00", "0.0000001", "abc", "1.0.0"] {
            assert!(Decimal::parse(bad).is_none(), "{bad:?} accepted");
        }
    }
}
