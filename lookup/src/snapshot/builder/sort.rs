//! The builder's 16-byte [`Item`] and the in-place radix sort that orders
//! a build's items by number.

/// One pushed number in 16 bytes, so a catch-up of 100M events sorts 1.6 GB
/// in place (24-byte items took 2.4 GB: a third more fresh pages to fault in
/// and bytes to move). `key` holds the number above the route index's high
/// [`ROUTE_HIGH`] bits, so ordering by `key` orders by number; `rest` holds
/// the version above the route index's low bits. A version above
/// [`VERSION_MAX`] does not fit: such a number waits in
/// [`BaseBuilder::wide`](super::BaseBuilder).
#[derive(Debug, Clone, Copy)]
pub(super) struct Item {
    pub(super) key: u64,
    pub(super) rest: u64,
}

/// Bits above a number: every E.164 number (at most 15 digits) is below 2^50.
const ROUTE_HIGH: u32 = 14;
const ROUTE_LOW: u32 = u32::BITS - ROUTE_HIGH;
const LOW_MASK: u32 = (1 << ROUTE_LOW) - 1;
/// The highest version an [`Item`] holds (2^46 - 1: a million changes a
/// second for two years).
pub(super) const VERSION_MAX: u64 = u64::MAX >> ROUTE_LOW;
const _: () = assert!(999_999_999_999_999u64 < 1 << (u64::BITS - ROUTE_HIGH));

impl Item {
    /// `None` when `version` is above [`VERSION_MAX`].
    #[inline]
    pub(super) fn new(number: u64, version: u64, route: u32) -> Option<Item> {
        (version <= VERSION_MAX).then(|| Item {
            key: number << ROUTE_HIGH | u64::from(route >> ROUTE_LOW),
            rest: version << ROUTE_LOW | u64::from(route & LOW_MASK),
        })
    }

    #[inline]
    pub(super) fn number(self) -> u64 {
        self.key >> ROUTE_HIGH
    }

    #[inline]
    pub(super) fn version(self) -> u64 {
        self.rest >> ROUTE_LOW
    }

    #[inline]
    pub(super) fn route(self) -> u32 {
        // the key's low bits shifted to the top; the number's bits fall off
        (self.key as u32) << ROUTE_LOW | (self.rest as u32 & LOW_MASK)
    }
}

/// Items ahead of a bucket's head [`sort_by_number`] loads early (4 cache
/// lines).
const AHEAD: usize = 10;

/// Sorts by number (by [`Item::key`]), in place: a most-significant-digit
/// radix sort (an American flag sort: counts, then cycle-leader swaps that put each item in
/// its bucket for good), taking as many bits a level as the run is large (up
/// to 10: 1,024 buckets for millions of items, a few for hundreds; 4,096
/// moving heads outgrew the TLB, 5.6 s against 4.8 s for 100M items) from the
/// highest bit in which the run's numbers differ; runs of 256 or fewer are
/// finished by a comparison sort. No scratch buffer: a catch-up of 100M
/// events sorts its 2.4 GB where it lies, and the deep levels run on buckets
/// that fit in cache. Items of one number keep no particular order; `finish`
/// keeps the highest version of each, whatever the order.
pub(super) fn sort_by_number(items: &mut [Item]) {
    if items.len() <= 256 {
        items.sort_unstable_by_key(|i| i.key);
        return;
    }
    let (min, max) = items.iter().fold((u64::MAX, 0), |(lo, hi), i| (lo.min(i.key), hi.max(i.key)));
    if min == max {
        return;
    }
    // Every item agrees on the bits above `top`. About 16 items a bucket.
    let top = u64::BITS - (min ^ max).leading_zeros();
    let want = (usize::BITS - items.len().leading_zeros()).saturating_sub(4).clamp(4, 10);
    let bits = want.min(top);
    let shift = top - bits;
    let buckets = 1usize << bits;
    let digit = |i: &Item| ((i.key >> shift) as usize) & (buckets - 1);
    let mut ends = vec![0usize; buckets];
    for i in items.iter() {
        ends[digit(i)] += 1;
    }
    let mut heads = vec![0usize; buckets];
    let mut sum = 0;
    for b in 0..buckets {
        heads[b] = sum;
        sum += ends[b];
        ends[b] = sum;
    }
    let starts = heads.clone();
    for b in 0..buckets {
        while heads[b] < ends[b] {
            // Carry the item at b's head around its cycle in a register:
            // each step drops it at its bucket's head and picks up what was
            // there, until one belongs to b.
            let mut carried = items[heads[b]];
            loop {
                let d = digit(&carried);
                if d == b {
                    break;
                }
                // d's slots before heads[d] are final, so d > b is not yet full.
                std::mem::swap(&mut carried, &mut items[heads[d]]);
                heads[d] += 1;
                // The next swap's address depends on the item this one
                // loaded, so a miss here stalls the whole chain: load d's
                // slot a few lines ahead now, while the chain goes on.
                std::hint::black_box(items.get(heads[d] + AHEAD).map(|i| i.key));
            }
            items[heads[b]] = carried;
            heads[b] += 1;
        }
    }
    drop(heads);
    if shift > 0 {
        for b in 0..buckets {
            if ends[b] - starts[b] > 1 {
                sort_by_number(&mut items[starts[b]..ends[b]]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::base::TOMBSTONE;

    fn item(number: u64, version: u64, route: u32) -> Item {
        Item::new(number, version, route).expect("a version that fits")
    }

    #[test]
    fn items_keep_what_they_are_given() {
        for (number, version, route) in [
            (0, 0, 0),
            (999_999_999_999_999, VERSION_MAX, TOMBSTONE),
            (15_551_234_567, 1 << 40, TOMBSTONE - 1),
            (442_079_460_000, 3, 0x2_1234),
        ] {
            let i = item(number, version, route);
            assert_eq!((i.number(), i.version(), i.route()), (number, version, route));
        }
        assert!(Item::new(1, VERSION_MAX + 1, 0).is_none());
    }

    #[test]
    fn radix_sort_sorts() {
        let mut x = 0x1234_5678_9abc_def1u64;
        let mut items: Vec<Item> = (0..20_000u64)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                item(x % 999_999_999_999_999, i, (x >> 20) as u32)
            })
            .collect();
        items.extend_from_within(..5000);
        // Runs of one number, and numbers close together (deep levels).
        items.extend((0..3000u64).map(|i| item(15_550_000_000 + i % 700, i, 1)));
        items.extend((0..100u64).map(|i| item(7, i, i as u32)));
        let mut want: Vec<(u64, u64, u32)> = items.iter().map(|i| (i.number(), i.version(), i.route())).collect();
        want.sort_unstable();
        sort_by_number(&mut items);
        assert!(items.windows(2).all(|w| w[0].number() <= w[1].number()), "sorted by number");
        let mut got: Vec<(u64, u64, u32)> = items.iter().map(|i| (i.number(), i.version(), i.route())).collect();
        got.sort_unstable();
        assert_eq!(got, want, "the same items");
    }
}
