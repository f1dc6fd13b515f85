//! The simulator's in-memory world: numbers in stock, numbers the account
//! owns, number orders and the fault knobs. Every operation is synchronous and
//! short so one mutex serves all requests.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use rand::Rng;
use serde::{Deserialize, Serialize};

pub use crate::faults::{Counters, Faults, FaultsPatch, Injected};
use crate::stock::StockBlock;

/// Where a stocked or owned number came from: its country and number type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin {
    pub country: [u8; 2],
    pub number_type: &'static str,
}

impl Origin {
    fn of(block: &StockBlock) -> Self {
        let b = block.country.as_bytes();
        Self { country: [b[0], b[1]], number_type: block.number_type() }
    }

    pub fn country(&self) -> String {
        String::from_utf8_lossy(&self.country).into_owned()
    }

    /// Prices as decimal strings, the way Telnyx sends them.
    pub fn costs(&self) -> (&'static str, &'static str, &'static str) {
        let currency = match &self.country {
            b"US" | b"CA" => "USD",
            b"GB" => "GBP",
            b"AU" => "AUD",
            _ => "EUR",
        };
        match self.number_type {
            "toll_free" => ("0.00", "2.00", currency),
            _ => ("1.00", "1.00", currency),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NumberStatus {
    PurchasePending,
    Active,
}

impl NumberStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PurchasePending => "purchase-pending",
            Self::Active => "active",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Owned {
    pub id: u64,
    pub phone_number: String,
    pub origin: Origin,
    pub status: NumberStatus,
    pub customer_reference: Option<String>,
    pub purchased_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    Pending,
    Success,
    Failure,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Success => "success",
            Self::Failure => "failure",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Order {
    pub id: String,
    pub numbers: Vec<(String, Origin, u64)>,
    pub status: OrderStatus,
    pub customer_reference: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Decided when the order is placed, from the `fail_orders` knob.
    pub will_fail: bool,
}

/// A number's origin as saved: country and number type by name.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedOrigin(String, String);

impl SavedOrigin {
    fn of(o: &Origin) -> Self {
        Self(o.country(), o.number_type.to_owned())
    }

    fn origin(&self) -> Origin {
        let b = self.0.as_bytes();
        let country = if b.len() == 2 { [b[0], b[1]] } else { *b"US" };
        let number_type = if self.1 == "toll_free" { "toll_free" } else { "local" };
        Origin { country, number_type }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedOwned {
    id: u64,
    phone_number: String,
    origin: SavedOrigin,
    status: NumberStatus,
    customer_reference: Option<String>,
    purchased_at: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedOrder {
    id: String,
    numbers: Vec<(String, SavedOrigin, u64)>,
    status: OrderStatus,
    customer_reference: Option<String>,
    created_at: i64,
    updated_at: i64,
    will_fail: bool,
}

/// The simulator's state as `--state-file` holds it (JSON).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Saved {
    available: Vec<(String, SavedOrigin)>,
    owned: Vec<SavedOwned>,
    orders: Vec<SavedOrder>,
    next_id: u64,
    counters: Counters,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SimError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Unavailable(String),
}

/// A page of owned numbers.
pub struct OwnedPage {
    pub items: Vec<Owned>,
    pub total: u64,
}

/// Filters of `GET /v2/available_phone_numbers`.
#[derive(Debug, Default, Clone)]
pub struct Search {
    pub country: Option<String>,
    pub ndc: Option<String>,
    pub contains: Option<String>,
    pub starts_with: Option<String>,
    pub ends_with: Option<String>,
    pub number_type: Option<String>,
    pub limit: usize,
}

/// Filters of `GET /v2/phone_numbers`.
#[derive(Debug, Default, Clone)]
pub struct OwnedFilter {
    pub phone_number: Option<String>,
    pub status: Option<String>,
    pub country: Option<String>,
}

impl OwnedFilter {
    fn is_empty(&self) -> bool {
        self.phone_number.is_none() && self.status.is_none() && self.country.is_none()
    }

    fn matches(&self, o: &Owned) -> bool {
        self.phone_number.as_deref().is_none_or(|p| o.phone_number.contains(p.trim_start_matches('+')))
            && self.status.as_deref().is_none_or(|s| o.status.as_str() == s)
            && self.country.as_deref().is_none_or(|c| o.origin.country().eq_ignore_ascii_case(c))
    }
}

pub struct Sim {
    blocks: Vec<(StockBlock, Origin)>,
    available: BTreeMap<String, Origin>,
    /// Sorted by id (ids only grow), so a page is a slice.
    owned: Vec<Owned>,
    owned_index: HashMap<String, u64>,
    orders: HashMap<String, Order>,
    next_id: u64,
    pub faults: Faults,
    pub counters: Counters,
    /// Bumped by every change worth saving (`--state-file`): the writer
    /// saves only when it moved.
    changes: u64,
}

impl Sim {
    pub fn new(blocks: Vec<StockBlock>, order_delay_ms: u64) -> Self {
        let blocks: Vec<_> = blocks.into_iter().map(|b| (b.clone(), Origin::of(&b))).collect();
        let mut available = BTreeMap::new();
        for (block, origin) in &blocks {
            for number in block.numbers() {
                available.insert(number, *origin);
            }
        }
        Self {
            blocks,
            available,
            owned: Vec::new(),
            owned_index: HashMap::new(),
            orders: HashMap::new(),
            next_id: 1_293_384_261_075_731_000,
            faults: Faults { order_delay_ms, retry_after_secs: 1, ..Faults::default() },
            counters: Counters::default(),
            changes: 0,
        }
    }

    /// How many changes worth saving this simulator has seen.
    pub fn changes(&self) -> u64 {
        self.changes
    }

    /// What survives a restart: stock, owned numbers, orders, counters and
    /// ids. Not the fault knobs: they belong to the process (a restarted
    /// simulator takes its command line's).
    pub fn to_saved(&self) -> Saved {
        let line = |o: &Owned| SavedOwned {
            id: o.id,
            phone_number: o.phone_number.clone(),
            origin: SavedOrigin::of(&o.origin),
            status: o.status,
            customer_reference: o.customer_reference.clone(),
            purchased_at: o.purchased_at,
        };
        Saved {
            available: self.available.iter().map(|(n, o)| (n.clone(), SavedOrigin::of(o))).collect(),
            owned: self.owned.iter().map(line).collect(),
            orders: self
                .orders
                .values()
                .map(|o| SavedOrder {
                    id: o.id.clone(),
                    numbers: o
                        .numbers
                        .iter()
                        .map(|(n, origin, id)| (n.clone(), SavedOrigin::of(origin), *id))
                        .collect(),
                    status: o.status,
                    customer_reference: o.customer_reference.clone(),
                    created_at: o.created_at,
                    updated_at: o.updated_at,
                    will_fail: o.will_fail,
                })
                .collect(),
            next_id: self.next_id,
            counters: self.counters.clone(),
        }
    }

    /// Takes over `saved` (stock blocks stay this process's, for origins of
    /// numbers the admin names); returns the ids of orders still pending,
    /// which the caller completes after this process's order delay.
    pub fn restore(&mut self, saved: Saved) -> Vec<String> {
        self.available = saved.available.into_iter().map(|(n, o)| (n, o.origin())).collect();
        self.owned = saved
            .owned
            .into_iter()
            .map(|o| Owned {
                id: o.id,
                phone_number: o.phone_number,
                origin: o.origin.origin(),
                status: o.status,
                customer_reference: o.customer_reference,
                purchased_at: o.purchased_at,
            })
            .collect();
        self.owned.sort_by_key(|o| o.id);
        self.owned_index = self.owned.iter().map(|o| (o.phone_number.clone(), o.id)).collect();
        self.orders = saved
            .orders
            .into_iter()
            .map(|o| {
                let order = Order {
                    id: o.id,
                    numbers: o.numbers.into_iter().map(|(n, origin, id)| (n, origin.origin(), id)).collect(),
                    status: o.status,
                    customer_reference: o.customer_reference,
                    created_at: o.created_at,
                    updated_at: o.updated_at,
                    will_fail: o.will_fail,
                };
                (order.id.clone(), order)
            })
            .collect();
        self.next_id = saved.next_id;
        self.counters = saved.counters;
        self.changes += 1;
        let mut pending: Vec<String> =
            self.orders.values().filter(|o| o.status == OrderStatus::Pending).map(|o| o.id.clone()).collect();
        pending.sort();
        pending
    }

    pub fn stock_count(&self) -> usize {
        self.available.len()
    }

    pub fn owned_count(&self) -> usize {
        self.owned.len()
    }

    pub fn patch_faults(&mut self, p: FaultsPatch) -> Result<(), SimError> {
        self.faults.apply(p).map_err(SimError::Invalid)
    }

    /// Decides whether a `/v2` request is served or answered with a fault.
    pub fn inject(&mut self, rng: &mut impl Rng) -> Injected {
        let verdict = self.faults.decide(rng);
        self.counters.count(verdict);
        self.changes += 1;
        verdict
    }

    /// Numbers in stock matching `q`, at most `q.limit`, plus how many match in all.
    pub fn search(&self, q: &Search) -> (Vec<(String, Origin)>, u64) {
        // With a country and an NDC the matches are one key range.
        let prefix = match (&q.country, &q.ndc) {
            (Some(country), Some(ndc)) => {
                let cc = self.blocks.iter().find(|(b, _)| b.country.eq_ignore_ascii_case(country));
                match cc {
                    Some((b, _)) => Some(format!("+{}{}", b.calling_code(), ndc)),
                    None => return (Vec::new(), 0),
                }
            }
            _ => None,
        };
        let range: Box<dyn Iterator<Item = (&String, &Origin)>> = match &prefix {
            Some(p) => Box::new(
                self.available
                    .range::<str, _>((Bound::Included(p.as_str()), Bound::Unbounded))
                    .take_while(move |(n, _)| n.starts_with(p.as_str())),
            ),
            None => Box::new(self.available.iter()),
        };
        let ndc_of = |n: &str, origin: &Origin| -> bool {
            match &q.ndc {
                None => true,
                Some(ndc) => self.blocks.iter().any(|(b, o)| {
                    o == origin && &b.ndc == ndc && n.starts_with(&format!("+{}{}", b.calling_code(), ndc))
                }),
            }
        };
        let mut found = Vec::new();
        let mut total = 0u64;
        for (number, origin) in range {
            let digits = &number[1..];
            let ok = q.country.as_deref().is_none_or(|c| origin.country().eq_ignore_ascii_case(c))
                && q.number_type.as_deref().is_none_or(|t| origin.number_type == t)
                && q.contains.as_deref().is_none_or(|c| digits.contains(c.trim_start_matches('+')))
                && q.starts_with.as_deref().is_none_or(|s| digits.starts_with(s.trim_start_matches('+')))
                && q.ends_with.as_deref().is_none_or(|s| digits.ends_with(s))
                && (prefix.is_some() || ndc_of(number, origin));
            if ok {
                total += 1;
                if found.len() < q.limit {
                    found.push((number.clone(), *origin));
                }
            }
        }
        (found, total)
    }

    /// Places an order for numbers in stock; they leave the stock and show up
    /// owned as purchase-pending until the order completes.
    pub fn place_order(
        &mut self,
        numbers: &[String],
        customer_reference: Option<String>,
        now: i64,
    ) -> Result<Order, SimError> {
        if numbers.is_empty() {
            return Err(SimError::Invalid("phone_numbers must name at least one number".into()));
        }
        for (i, n) in numbers.iter().enumerate() {
            if !self.available.contains_key(n) {
                return Err(SimError::Invalid(format!("{n} is not available")));
            }
            if numbers[..i].contains(n) {
                return Err(SimError::Invalid(format!("{n} is listed twice")));
            }
        }
        let will_fail = if self.faults.fail_orders > 0 {
            self.faults.fail_orders -= 1;
            true
        } else {
            false
        };
        let mut lines = Vec::with_capacity(numbers.len());
        for n in numbers {
            let origin = self.available.remove(n).expect("checked above");
            self.changes += 1;
            let id = self.add_owned(n.clone(), origin, NumberStatus::PurchasePending, customer_reference.clone(), now);
            lines.push((n.clone(), origin, id));
        }
        let order = Order {
            id: uuid::Uuid::new_v4().to_string(),
            numbers: lines,
            status: OrderStatus::Pending,
            customer_reference,
            created_at: now,
            updated_at: now,
            will_fail,
        };
        self.counters.orders_placed += 1;
        self.orders.insert(order.id.clone(), order.clone());
        Ok(order)
    }

    /// Ends a pending order: success activates its numbers, failure returns
    /// them to stock. Completing twice changes nothing.
    pub fn complete_order(&mut self, id: &str, now: i64) -> Option<OrderStatus> {
        let order = self.orders.get_mut(id)?;
        if order.status != OrderStatus::Pending {
            return Some(order.status);
        }
        order.status = if order.will_fail { OrderStatus::Failure } else { OrderStatus::Success };
        order.updated_at = now;
        self.changes += 1;
        let (status, lines) = (order.status, order.numbers.clone());
        for (number, origin, _) in lines {
            if status == OrderStatus::Success {
                if let Some(o) = self.owned_mut(&number) {
                    o.status = NumberStatus::Active;
                    o.purchased_at = now;
                }
            } else if self.remove_owned(&number).is_some() {
                self.available.insert(number, origin);
            }
        }
        Some(status)
    }

    pub fn order(&self, id: &str) -> Option<&Order> {
        self.orders.get(id)
    }

    /// Orders with this customer reference and status (each when given), newest first.
    pub fn orders_matching(&self, reference: Option<&str>, status: Option<&str>) -> Vec<&Order> {
        let mut found: Vec<&Order> = self
            .orders
            .values()
            .filter(|o| reference.is_none_or(|r| o.customer_reference.as_deref() == Some(r)))
            .filter(|o| status.is_none_or(|s| o.status.as_str() == s))
            .collect();
        found.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| b.id.cmp(&a.id)));
        found
    }

    /// A page of owned numbers, 1-based, in purchase order.
    pub fn owned_page(&self, filter: &OwnedFilter, page: u64, size: u64) -> OwnedPage {
        let start = ((page.max(1) - 1) * size) as usize;
        if filter.is_empty() {
            let end = (start + size as usize).min(self.owned.len());
            let items = self.owned.get(start..end).map(<[Owned]>::to_vec).unwrap_or_default();
            return OwnedPage { items, total: self.owned.len() as u64 };
        }
        // A whole number (with or without `+`) is one index probe; other
        // filters scan. A whole number is contained in no other E.164 number.
        if let Some(p) = filter.phone_number.as_deref() {
            let whole = format!("+{}", p.trim_start_matches('+'));
            let hit = self.owned_by_number(&whole).filter(|o| filter.matches(o)).cloned();
            if hit.is_some() || p.starts_with('+') {
                let total = u64::from(hit.is_some());
                return OwnedPage { items: hit.into_iter().skip(start).collect(), total };
            }
        }
        let mut total = 0u64;
        let mut items = Vec::new();
        for o in self.owned.iter().filter(|o| filter.matches(o)) {
            if total as usize >= start && items.len() < size as usize {
                items.push(o.clone());
            }
            total += 1;
        }
        OwnedPage { items, total }
    }

    pub fn owned_by_id(&self, id: u64) -> Option<&Owned> {
        self.owned.binary_search_by_key(&id, |o| o.id).ok().map(|i| &self.owned[i])
    }

    pub fn owned_by_number(&self, number: &str) -> Option<&Owned> {
        self.owned_index.get(number).and_then(|id| self.owned_by_id(*id))
    }

    fn owned_mut(&mut self, number: &str) -> Option<&mut Owned> {
        let id = *self.owned_index.get(number)?;
        let i = self.owned.binary_search_by_key(&id, |o| o.id).ok()?;
        Some(&mut self.owned[i])
    }

    /// Releases an owned number at the carrier (`DELETE /v2/phone_numbers/{id}`).
    /// A released number does not go back to stock, as at a real carrier.
    pub fn delete_owned(&mut self, id: u64) -> Result<Owned, SimError> {
        let number = self.owned_by_id(id).map(|o| o.phone_number.clone());
        let number = number.ok_or_else(|| SimError::NotFound(format!("phone number {id} not found")))?;
        if self.owned_by_number(&number).is_some_and(|o| o.status == NumberStatus::PurchasePending) {
            return Err(SimError::Invalid(format!("{number} is still being purchased")));
        }
        Ok(self.remove_owned(&number).expect("looked up above"))
    }

    /// Removes a number from the account behind the customer's back.
    pub fn disconnect(&mut self, number: &str) -> Option<Owned> {
        self.remove_owned(number)
    }

    /// Adds numbers to the account that the customer never ordered (orphans);
    /// numbers already owned are skipped. Returns how many were added.
    pub fn add_orphans(&mut self, numbers: impl IntoIterator<Item = (String, Origin)>, now: i64) -> u64 {
        let mut added = 0;
        for (number, origin) in numbers {
            if self.owned_index.contains_key(&number) {
                continue;
            }
            self.available.remove(&number);
            self.add_owned(number, origin, NumberStatus::Active, None, now);
            added += 1;
        }
        added
    }

    /// The origin of a number given by the admin: its stock block's when it has
    /// one, else the block with the longest matching prefix.
    pub fn origin_of(&self, number: &str) -> Option<Origin> {
        if let Some(o) = self.available.get(number) {
            return Some(*o);
        }
        self.blocks
            .iter()
            .filter(|(b, _)| number.starts_with(&format!("+{}{}", b.calling_code(), b.ndc)))
            .max_by_key(|(b, _)| b.ndc.len())
            .map(|(_, o)| *o)
    }

    pub fn bulk_origin(block: &StockBlock) -> Origin {
        Origin::of(block)
    }

    fn add_owned(
        &mut self,
        phone_number: String,
        origin: Origin,
        status: NumberStatus,
        customer_reference: Option<String>,
        now: i64,
    ) -> u64 {
        self.next_id += 1;
        self.changes += 1;
        let id = self.next_id;
        self.owned_index.insert(phone_number.clone(), id);
        self.owned.push(Owned { id, phone_number, origin, status, customer_reference, purchased_at: now });
        id
    }

    fn remove_owned(&mut self, number: &str) -> Option<Owned> {
        let id = self.owned_index.remove(number)?;
        self.changes += 1;
        let i = self.owned.binary_search_by_key(&id, |o| o.id).ok()?;
        Some(self.owned.remove(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stock::parse_stock;

    fn sim() -> Sim {
        Sim::new(parse_stock("US:555=100,US:800=10,GB:20=5").unwrap(), 0)
    }

    #[test]
    fn saved_state_restores_stock_owned_numbers_orders_and_counters() {
        let mut s = sim();
        let n = vec!["+15552000001".to_string()];
        let pending = s.place_order(&n, Some("ref-1".into()), 10).unwrap();
        let done = s.place_order(&["+18002000001".to_string()], Some("ref-2".into()), 11).unwrap();
        s.complete_order(&done.id, 12);
        let bytes = serde_json::to_vec(&s.to_saved()).unwrap();

        let mut r = sim();
        let still_pending = r.restore(serde_json::from_slice(&bytes).unwrap());
        assert_eq!(still_pending, std::slice::from_ref(&pending.id));
        assert_eq!((r.stock_count(), r.owned_count()), (s.stock_count(), s.owned_count()));
        assert_eq!(r.counters.orders_placed, 2);
        assert_eq!(r.orders_matching(Some("ref-1"), None)[0].id, pending.id);
        let toll_free = r.owned_by_number("+18002000001").unwrap();
        assert_eq!((toll_free.status, toll_free.origin.number_type), (NumberStatus::Active, "toll_free"));
        assert_eq!(r.complete_order(&pending.id, 13), Some(OrderStatus::Success));
        // ids go on from where they were
        let next = r.place_order(&["+15552000002".to_string()], None, 14).unwrap();
        assert!(next.numbers[0].2 > toll_free_id(&s));
    }

    fn toll_free_id(s: &Sim) -> u64 {
        s.owned_by_number("+18002000001").unwrap().id
    }

    #[test]
    fn search_filters_by_country_ndc_pattern_and_type() {
        let s = sim();
        let q = Search { country: Some("US".into()), ndc: Some("555".into()), limit: 5, ..Search::default() };
        let (found, total) = s.search(&q);
        assert_eq!(total, 100);
        assert_eq!(found.len(), 5);
        assert!(found.iter().all(|(n, _)| n.starts_with("+1555")));
        let q = Search { contains: Some("2000042".into()), limit: 10, ..Search::default() };
        assert_eq!(s.search(&q).0.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["+15552000042"]);
        let q = Search { number_type: Some("toll_free".into()), limit: 100, ..Search::default() };
        assert_eq!(s.search(&q).1, 10);
        let q = Search { country: Some("GB".into()), limit: 100, ..Search::default() };
        assert_eq!(s.search(&q).1, 5);
        let q = Search { ndc: Some("20".into()), limit: 100, ..Search::default() };
        assert_eq!(s.search(&q).1, 5, "the NDC alone matches the GB block only");
    }

    #[test]
    fn orders_take_numbers_from_stock_and_complete_or_fail() {
        let mut s = sim();
        let n = vec!["+15552000001".to_string(), "+15552000002".to_string()];
        let order = s.place_order(&n, Some("ref-1".into()), 10).unwrap();
        assert_eq!(order.status, OrderStatus::Pending);
        assert_eq!(s.stock_count(), 113);
        assert_eq!(s.owned_by_number("+15552000001").unwrap().status, NumberStatus::PurchasePending);
        assert!(matches!(s.place_order(&n, None, 10), Err(SimError::Invalid(_))), "taken numbers are not available");
        assert_eq!(s.complete_order(&order.id, 11), Some(OrderStatus::Success));
        assert_eq!(s.owned_by_number("+15552000002").unwrap().status, NumberStatus::Active);

        s.patch_faults(FaultsPatch { fail_orders: Some(1), ..FaultsPatch::default() }).unwrap();
        let failed = s.place_order(&["+15552000003".to_string()], None, 12).unwrap();
        assert_eq!(s.complete_order(&failed.id, 13), Some(OrderStatus::Failure));
        assert!(s.owned_by_number("+15552000003").is_none());
        assert_eq!(s.stock_count(), 113, "a failed order's number is back in stock");
        assert_eq!(s.complete_order(&failed.id, 14), Some(OrderStatus::Failure));
    }

    #[test]
    fn owned_pages_slice_in_purchase_order_and_delete_keeps_order() {
        let mut s = sim();
        let block = StockBlock::new("US", "700", 1000).unwrap();
        let origin = Sim::bulk_origin(&block);
        assert_eq!(s.add_orphans(block.numbers().map(|n| (n, origin)), 1), 1000);
        assert_eq!(s.add_orphans(block.numbers().take(3).map(|n| (n, origin)), 1), 0);
        let p = s.owned_page(&OwnedFilter::default(), 4, 250);
        assert_eq!(p.total, 1000);
        assert_eq!(p.items.len(), 250);
        assert_eq!(p.items[0].phone_number, "+17002000750");
        assert!(s.owned_page(&OwnedFilter::default(), 5, 250).items.is_empty());
        let id = s.owned_by_number("+17002000010").unwrap().id;
        s.delete_owned(id).unwrap();
        assert!(matches!(s.delete_owned(id), Err(SimError::NotFound(_))));
        let p = s.owned_page(&OwnedFilter::default(), 1, 20);
        assert_eq!(p.total, 999);
        assert_eq!(p.items[10].phone_number, "+17002000011");
        let exact = OwnedFilter { phone_number: Some("+17002000500".into()), ..OwnedFilter::default() };
        assert_eq!(s.owned_page(&exact, 1, 20).total, 1);
        let digits = OwnedFilter { phone_number: Some("17002000500".into()), ..OwnedFilter::default() };
        assert_eq!(s.owned_page(&digits, 1, 20).items[0].phone_number, "+17002000500");
        let part = OwnedFilter { phone_number: Some("200050".into()), ..OwnedFilter::default() };
        assert_eq!(s.owned_page(&part, 1, 20).total, 10, "+1700200050x");
        assert!(s.disconnect("+17002000500").is_some());
        assert_eq!(s.owned_page(&exact, 1, 20).total, 0);
    }

    #[test]
    fn faults_count_down_and_validate_rates() {
        let mut s = sim();
        let mut rng = rand::thread_rng();
        s.patch_faults(FaultsPatch { rate_limit_next: Some(2), error_5xx_next: Some(1), ..FaultsPatch::default() })
            .unwrap();
        assert_eq!(s.inject(&mut rng), Injected::RateLimited { retry_after_secs: 1 });
        assert_eq!(s.inject(&mut rng), Injected::RateLimited { retry_after_secs: 1 });
        assert_eq!(s.inject(&mut rng), Injected::Unavailable);
        assert_eq!(s.inject(&mut rng), Injected::Serve);
        assert!(s.patch_faults(FaultsPatch { error_5xx_rate: Some(1.5), ..FaultsPatch::default() }).is_err());
        s.patch_faults(FaultsPatch { error_5xx_rate: Some(1.0), ..FaultsPatch::default() }).unwrap();
        assert_eq!(s.inject(&mut rng), Injected::Unavailable);
    }
}
