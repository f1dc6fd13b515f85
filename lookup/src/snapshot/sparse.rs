//! Scattered numbers: the few numbers of otherwise empty 1,000-blocks,
//! which a block container would store at 35+ bytes each.
//!
//! A bucketed hash table in two flat arrays: `buckets[b]..buckets[b + 1]`
//! is the range of bucket `b` in `entries` (about four per bucket), each
//! entry the number and a payload packing its route (21 bits) and version
//! (43 bits), side by side so a probe reads one cache line. 8 + 8 + 1 bytes
//! per number; built in place, so a fold needs no second copy. Numbers whose route or version does not fit
//! those widths stay in block containers.

use super::base::TOMBSTONE;

const ROUTE_BITS: u32 = 21;
const ROUTE_MASK: u64 = (1 << ROUTE_BITS) - 1;
/// The packed route of a deleted number.
const PACKED_TOMBSTONE: u64 = ROUTE_MASK;
const VERSION_LIMIT: u64 = 1 << (64 - ROUTE_BITS);

#[derive(Clone, Default)]
pub(crate) struct Sparse {
    pub(crate) buckets: Vec<u32>,
    /// `(number, payload)`, grouped by bucket.
    pub(crate) entries: Vec<(u64, u64)>,
}

/// Whether `(route, version)` packs into a payload.
pub(crate) fn fits(route: u32, version: u64) -> bool {
    (route == TOMBSTONE || u64::from(route) < PACKED_TOMBSTONE) && version < VERSION_LIMIT
}

pub(crate) fn pack(route: u32, version: u64) -> u64 {
    let r = if route == TOMBSTONE { PACKED_TOMBSTONE } else { u64::from(route) };
    version << ROUTE_BITS | r
}

pub(crate) fn unpack(p: u64) -> (u32, u64) {
    let r = p & ROUTE_MASK;
    (if r == PACKED_TOMBSTONE { TOMBSTONE } else { r as u32 }, p >> ROUTE_BITS)
}

#[inline]
pub(crate) fn bucket_of(number: u64, buckets: usize) -> usize {
    let h = number.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    ((u128::from(h) * buckets as u128) >> 64) as usize
}

impl Sparse {
    /// A table of `(number, payload)` with distinct numbers, reordered in
    /// place.
    pub(crate) fn build(mut entries: Vec<(u64, u64)>) -> Sparse {
        let n = entries.len();
        if n == 0 {
            return Sparse::default();
        }
        let nb = n / 4 + 1;
        entries.sort_unstable_by_key(|&(k, _)| bucket_of(k, nb));
        entries.shrink_to_fit();
        let mut buckets = vec![0u32; nb + 1];
        for &(k, _) in &entries {
            buckets[bucket_of(k, nb) + 1] += 1;
        }
        for i in 1..=nb {
            buckets[i] += buckets[i - 1];
        }
        Sparse { buckets, entries }
    }

    #[inline]
    pub(crate) fn get(&self, number: u64) -> Option<(u32, u64)> {
        let nb = self.buckets.len().checked_sub(1).filter(|&nb| nb > 0)?;
        let b = bucket_of(number, nb);
        let (from, to) = (*self.buckets.get(b)? as usize, *self.buckets.get(b + 1)? as usize);
        let &(_, p) = self.entries.get(from..to)?.iter().find(|e| e.0 == number)?;
        Some(unpack(p))
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Positions in `entries` in number order (4 bytes per number, not a
    /// copy of the table).
    pub(crate) fn order(&self) -> Vec<u32> {
        let mut order: Vec<u32> = (0..self.entries.len() as u32).collect();
        order.sort_unstable_by_key(|&i| self.entries[i as usize].0);
        order
    }

    /// The `(number, route, version)` at position `i`.
    pub(crate) fn at(&self, i: u32) -> (u64, u32, u64) {
        let (k, p) = self.entries[i as usize];
        let (r, v) = unpack(p);
        (k, r, v)
    }

    /// Why the table cannot be what a builder wrote, if it cannot.
    pub(crate) fn check(&self) -> Result<(), String> {
        if self.entries.is_empty() {
            return if self.buckets.is_empty() { Ok(()) } else { Err("sparse buckets without keys".into()) };
        }
        let nb = self.buckets.len().saturating_sub(1);
        if nb == 0 || self.buckets[0] != 0 || self.buckets[nb] as usize != self.entries.len() {
            return Err("sparse bucket offsets do not span the keys".into());
        }
        for b in 0..nb {
            let (from, to) = (self.buckets[b] as usize, self.buckets[b + 1] as usize);
            if from > to {
                return Err("sparse bucket offsets go backwards".into());
            }
            if self.entries[from..to].iter().any(|&(k, _)| bucket_of(k, nb) != b) {
                return Err(format!("a sparse key sits outside its bucket {b}"));
            }
        }
        Ok(())
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.buckets.capacity() * 4 + self.entries.capacity() * 16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_what_it_holds_and_packs_exactly() {
        let entries: Vec<(u64, u64)> = (0..3000u64)
            .map(|i| (15_550_000_000 + i * 7919, pack(if i % 7 == 0 { TOMBSTONE } else { i as u32 }, i * 1_000_003)))
            .collect();
        let s = Sparse::build(entries.clone());
        s.check().unwrap();
        for &(k, p) in &entries {
            assert_eq!(s.get(k), Some(unpack(p)));
            assert_eq!(pack(unpack(p).0, unpack(p).1), p);
        }
        assert_eq!(s.get(1), None);
        let order = s.order();
        assert!(order.windows(2).all(|w| s.at(w[0]).0 < s.at(w[1]).0));
        assert_eq!(Sparse::default().get(5), None);
        assert!(fits(TOMBSTONE, VERSION_LIMIT - 1) && !fits(0, VERSION_LIMIT) && !fits(PACKED_TOMBSTONE as u32, 1));
    }
}
