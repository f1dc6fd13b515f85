//! Scattered numbers: the few numbers of otherwise empty 1,000-blocks,
//! which a block container would store at 35+ bytes each.
//!
//! A bucketed hash table: `buckets[b]..buckets[b + 1]` is the range of
//! bucket `b` (about four numbers) in `records`, 13-byte records packing the
//! number (50 bits), route (22 bits) and version (32 bits), so a probe reads
//! one or two cache lines: 13 + 1 bytes per number. Numbers whose route or
//! version does not fit those widths stay in block containers.
//!
//! [`Sparse::build`] orders the records in place, without a scratch copy,
//! in two passes: into 1,024 groups of buckets, then within each group into
//! its buckets. A single pass straight into buckets scatters its writes over
//! the whole table and misses the cache and TLB on nearly every record; two
//! passes keep each one's moving heads few enough to stay cached, which is
//! several times faster at 100M numbers (the build time of
//! `cargo bench -p didroute-benches --bench lookup`).

use super::base::{BLOCKED, TOMBSTONE};

/// Bytes of one record.
pub(crate) const RECORD: usize = 13;
const NUMBER_BITS: u32 = 50;
const ROUTE_BITS: u32 = 22;
const ROUTE_LOW: u32 = 64 - NUMBER_BITS;
const ROUTE_MASK: u64 = (1 << ROUTE_BITS) - 1;
/// The packed route of a deleted number.
const PACKED_TOMBSTONE: u64 = ROUTE_MASK;
/// The packed route of a blocked number (snapshot format 5; in format 4
/// it was a route index, see `file.rs`).
pub(crate) const PACKED_BLOCKED: u64 = ROUTE_MASK - 1;
const NUMBER_LIMIT: u64 = 1 << NUMBER_BITS;
/// Route indexes below this pack into a record.
pub(crate) const ROUTE_LIMIT: usize = PACKED_BLOCKED as usize;

#[derive(Clone, Default)]
pub(crate) struct Sparse {
    pub(crate) buckets: Vec<u32>,
    /// 13-byte records, grouped by bucket.
    pub(crate) records: Vec<u8>,
}

/// Whether `(number, route, version)` packs into a record.
pub(crate) fn fits(number: u64, route: u32, version: u64) -> bool {
    number < NUMBER_LIMIT
        && (route == TOMBSTONE || route == BLOCKED || (route as usize) < ROUTE_LIMIT)
        && u32::try_from(version).is_ok()
}

/// The record of `(number, route, version)` (which [`fits`]).
#[inline]
fn record(number: u64, route: u32, version: u64) -> [u8; RECORD] {
    let r = match route {
        TOMBSTONE => PACKED_TOMBSTONE,
        BLOCKED => PACKED_BLOCKED,
        _ => u64::from(route),
    };
    let a = number | (r << NUMBER_BITS);
    let b = (r >> ROUTE_LOW) | (version << (ROUTE_BITS - ROUTE_LOW));
    let mut out = [0; RECORD];
    out[..8].copy_from_slice(&a.to_le_bytes());
    out[8..].copy_from_slice(&b.to_le_bytes()[..5]);
    out
}

/// Appends the record of `(number, route, version)` (which [`fits`]).
#[inline]
pub(crate) fn push(out: &mut Vec<u8>, number: u64, route: u32, version: u64) {
    out.extend_from_slice(&record(number, route, version));
}

/// Gives every record's route the index `remap` maps it to (a build drops
/// the routes only superseded numbers had; indices only shrink, so every
/// record still fits).
pub(crate) fn remap_routes(records: &mut [u8], remap: &[u32]) {
    for at in (0..records.len() / RECORD).map(|i| i * RECORD) {
        if let Some((number, route, version)) = read(records, at).filter(|&(_, route, _)| super::base::routable(route))
        {
            let route = remap[route as usize];
            debug_assert!(fits(number, route, version));
            records[at..at + RECORD].copy_from_slice(&record(number, route, version));
        }
    }
}

/// The record at `at`: `(number, route, version)`.
#[inline]
pub(crate) fn read(records: &[u8], at: usize) -> Option<(u64, u32, u64)> {
    let a = u64::from_le_bytes(records.get(at..at + 8)?.try_into().ok()?);
    let mut b = [0u8; 8];
    b[..5].copy_from_slice(records.get(at + 8..at + RECORD)?);
    let b = u64::from_le_bytes(b);
    let r = (a >> NUMBER_BITS) | ((b & ((1 << (ROUTE_BITS - ROUTE_LOW)) - 1)) << ROUTE_LOW);
    let route = match r {
        PACKED_TOMBSTONE => TOMBSTONE,
        PACKED_BLOCKED => BLOCKED,
        _ => r as u32,
    };
    Some((a & (NUMBER_LIMIT - 1), route, b >> (ROUTE_BITS - ROUTE_LOW)))
}

#[inline]
fn number_at(records: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(records.get(at..at + 8)?.try_into().ok()?) & (NUMBER_LIMIT - 1))
}

#[inline]
pub(crate) fn bucket_of(number: u64, buckets: usize) -> usize {
    let h = number.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    ((u128::from(h) * buckets as u128) >> 64) as usize
}

/// Groups the first pass of [`Sparse::build`] places records into.
const PARTS: usize = 1024;

/// Reorders `records` so that group `g` (of `group(number)`) fills positions
/// `starts[g]..starts[g + 1]`, where `starts` counts each group's records, in
/// place: an American flag sort, each swap putting one record in its group
/// for good. The only extra memory is one cursor per group.
fn place(records: &mut [u8], starts: &[u32], group: impl Fn(u64) -> usize) {
    let groups = starts.len() - 1;
    // next[g]: the first position of group g not yet known to hold a record
    // of g. Every record before it is in place.
    let mut next: Vec<u32> = starts[..groups].to_vec();
    let (mut carried, mut held) = ([0u8; RECORD], [0u8; RECORD]);
    for g in 0..groups {
        let end = starts[g + 1];
        while next[g] < end {
            // Carry the record at g's head around its cycle: each step drops
            // it at its group's next free position and picks up what was
            // there, until one belongs to g. (d > g always: earlier groups
            // are complete.)
            let i = next[g] as usize;
            carried.copy_from_slice(&records[i * RECORD..(i + 1) * RECORD]);
            loop {
                let d = group(number_at(&carried, 0).unwrap_or(0));
                if d == g {
                    break;
                }
                let j = next[d] as usize;
                next[d] += 1;
                let slot = &mut records[j * RECORD..(j + 1) * RECORD];
                held.copy_from_slice(slot);
                slot.copy_from_slice(&carried);
                carried = held;
            }
            records[i * RECORD..(i + 1) * RECORD].copy_from_slice(&carried);
            next[g] += 1;
        }
    }
}

impl Sparse {
    /// A table of the records in `records` (distinct numbers), reordered in
    /// place by bucket (see [`place`]): the only extra memory is one cursor
    /// per bucket, a byte per number, while it runs. A fold builds this while the old
    /// base still serves, so the peak counts.
    pub(crate) fn build(mut records: Vec<u8>) -> Sparse {
        let n = records.len() / RECORD;
        if n == 0 {
            return Sparse::default();
        }
        let nb = n / 4 + 1;
        let bucket = |records: &[u8], i: usize| bucket_of(number_at(records, i * RECORD).unwrap_or(0), nb);
        let mut buckets = vec![0u32; nb + 1];
        for i in 0..n {
            buckets[bucket(&records, i) + 1] += 1;
        }
        for i in 1..=nb {
            buckets[i] += buckets[i - 1];
        }
        // Trim the growth slack first: the cursors below are the only other
        // memory this takes.
        records.truncate(n * RECORD);
        records.shrink_to_fit();
        // Two passes of the same placement: first into groups of 2^shift
        // consecutive buckets (at most PARTS of them), then each record into
        // its bucket, which stays inside its group. One pass straight into
        // millions of buckets makes every step a cache and TLB miss that the
        // next step waits for (4.2 s for 12M records at 100M numbers); a
        // group's records fit in cache, and PARTS moving heads do too.
        let shift = (usize::BITS - nb.leading_zeros()).saturating_sub(PARTS.trailing_zeros());
        if shift > 0 {
            let groups = ((nb - 1) >> shift) + 1;
            let group_starts: Vec<u32> = (0..=groups).map(|g| buckets[(g << shift).min(nb)]).collect();
            place(&mut records, &group_starts, |number| bucket_of(number, nb) >> shift);
        }
        place(&mut records, &buckets, |number| bucket_of(number, nb));
        records.shrink_to_fit();
        Sparse { buckets, records }
    }

    #[inline]
    pub(crate) fn get(&self, number: u64) -> Option<(u32, u64)> {
        let nb = self.buckets.len().checked_sub(1).filter(|&nb| nb > 0)?;
        let b = bucket_of(number, nb);
        let (from, to) = (*self.buckets.get(b)? as usize, *self.buckets.get(b + 1)? as usize);
        for i in from..to {
            if number_at(&self.records, i * RECORD)? == number {
                let (_, route, version) = read(&self.records, i * RECORD)?;
                return Some((route, version));
            }
        }
        None
    }

    pub(crate) fn len(&self) -> usize {
        self.records.len() / RECORD
    }

    /// Record indexes in number order (4 bytes per number, not a copy).
    pub(crate) fn order(&self) -> Vec<u32> {
        let mut order: Vec<u32> = (0..self.len() as u32).collect();
        order.sort_unstable_by_key(|&i| number_at(&self.records, i as usize * RECORD).unwrap_or(0));
        order
    }

    /// The `(number, route, version)` of record `i`.
    pub(crate) fn at(&self, i: u32) -> (u64, u32, u64) {
        read(&self.records, i as usize * RECORD).unwrap_or((0, TOMBSTONE, 0))
    }

    /// Why the table cannot be what a builder wrote, if it cannot.
    pub(crate) fn check(&self) -> Result<(), String> {
        if !self.records.len().is_multiple_of(RECORD) {
            return Err("the sparse records are not whole".into());
        }
        let n = self.len();
        if n == 0 {
            return if self.buckets.is_empty() { Ok(()) } else { Err("sparse buckets without records".into()) };
        }
        let nb = self.buckets.len().saturating_sub(1);
        if nb == 0 || self.buckets[0] != 0 || self.buckets[nb] as usize != n {
            return Err("sparse bucket offsets do not span the records".into());
        }
        for b in 0..nb {
            let (from, to) = (self.buckets[b] as usize, self.buckets[b + 1] as usize);
            if from > to {
                return Err("sparse bucket offsets go backwards".into());
            }
            if (from..to).any(|i| number_at(&self.records, i * RECORD).map(|k| bucket_of(k, nb)) != Some(b)) {
                return Err(format!("a sparse number sits outside its bucket {b}"));
            }
        }
        Ok(())
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.buckets.capacity() * 4 + self.records.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_what_it_holds_and_packs_exactly() {
        // one placement pass (fewer buckets than PARTS), and two (more)
        for n in [3000, 50_000] {
            holds_exactly(n);
        }
        assert_eq!(Sparse::default().get(5), None);
        assert!(!fits(NUMBER_LIMIT, 0, 0) && !fits(1, PACKED_TOMBSTONE as u32, 0) && !fits(1, 0, 1 << 32));
        assert!(!fits(1, PACKED_BLOCKED as u32, 0), "the blocked sentinel's packed value is not a route index");
        assert!(fits(999_999_999_999_999, TOMBSTONE, 0) && fits(999_999_999_999_999, BLOCKED, 0));
    }

    fn holds_exactly(n: u64) {
        let mut records = Vec::new();
        let mut want = Vec::new();
        for i in 0..n {
            let number = 15_550_000_000 + i * 7919;
            let route = match i % 7 {
                0 => TOMBSTONE,
                1 => BLOCKED,
                _ => (i as u32 * 1399) % (ROUTE_LIMIT as u32),
            };
            let version = (i * 1_000_003) % (1 << 32);
            assert!(fits(number, route, version));
            push(&mut records, number, route, version);
            want.push((number, route, version));
        }
        push(&mut records, NUMBER_LIMIT - 1, ROUTE_LIMIT as u32 - 1, u64::from(u32::MAX));
        want.push((NUMBER_LIMIT - 1, ROUTE_LIMIT as u32 - 1, u64::from(u32::MAX)));
        let s = Sparse::build(records);
        s.check().unwrap();
        for &(k, r, v) in &want {
            assert_eq!(s.get(k), Some((r, v)), "{k}");
        }
        assert_eq!(s.get(1), None);
        let order = s.order();
        assert_eq!(order.len(), want.len());
        assert!(order.windows(2).all(|w| s.at(w[0]).0 < s.at(w[1]).0));
    }
}
