//! Usage from lookups: successful lookups counted per number in bounded
//! memory, swapped out and shipped to the control plane every
//! `DIDROUTE_USAGE_FLUSH_MS` ([`ship`]).
//!
//! The table is split into shards by the number's hash, each a
//! `Mutex<HashMap>` padded to its own cache line: two requests contend only
//! when they count numbers of the same shard at the same instant, and the
//! critical section is one hash probe. Each shard's map is allocated at its
//! full share of `DIDROUTE_USAGE_MAX_NUMBERS` up front and never grows past
//! it: a number that does not fit is counted as overflow instead, so the
//! request path never allocates and memory stays bounded however many
//! distinct numbers callers ask for. The numbers counted come from requests
//! (any number of a range route answers 200), so the hash is keyed per
//! process: a folded 64×64→128-bit multiply of the number with random keys
//! (foldhash's and aHash's fallback step), so callers cannot pick numbers
//! that pile into one probe chain without knowing the keys, at a few
//! instructions instead of SipHash's ~100. The cost per request is measured
//! in BENCHMARKS.md.

pub mod ship;

#[cfg(feature = "kafka")]
pub mod kafka;

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::Mutex;

use didroute_shared::E164;

/// Distinct numbers counted per window unless told otherwise.
pub const DEFAULT_MAX_NUMBERS: usize = 100_000;
/// Shards of a table this large or larger; a smaller one is one shard, so a
/// small bound (tests) is exact.
const SHARDS: usize = 64;
const SHARDED_FROM: usize = 4 * SHARDS;

/// The counts of one window, as [`UsageCounter::take`] returns them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Taken {
    /// `(number, lookups)`, in no particular order.
    pub counts: Vec<(u64, u64)>,
    /// Lookups of numbers that did not fit.
    pub overflow: u64,
}

impl Taken {
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty() && self.overflow == 0
    }

    pub fn lookups(&self) -> u64 {
        self.counts.iter().map(|(_, n)| n).sum::<u64>() + self.overflow
    }
}

/// The per-process keys of the number hash.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Keys {
    k0: u64,
    k1: u64,
}

impl Keys {
    fn random() -> Keys {
        // std's RandomState is seeded from the OS once per process
        let seed = RandomState::new();
        Keys { k0: seed.hash_one(0x6b30_u64), k1: seed.hash_one(0x6b31_u64) | 1 }
    }

    /// Folded multiply: every bit of the number reaches every bit of the
    /// hash, so neither the map's index (low bits), its tag (top bits) nor
    /// the shard (bits 32 to 37) can be aimed at without the keys.
    #[inline]
    fn hash(self, n: u64) -> u64 {
        let p = u128::from(n ^ self.k0) * u128::from(self.k1);
        (p as u64) ^ ((p >> 64) as u64)
    }
}

/// The map's hasher: [`Keys::hash`] of the `u64` key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NumberHasher {
    keys: Keys,
    state: u64,
}

impl Hasher for NumberHasher {
    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.state = self.keys.hash(self.state ^ n);
    }

    /// Not reached with `u64` keys; kept correct for any other.
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.state
    }
}

impl BuildHasher for Keys {
    type Hasher = NumberHasher;

    #[inline]
    fn build_hasher(&self) -> NumberHasher {
        NumberHasher { keys: *self, state: 0 }
    }
}

#[derive(Debug)]
struct Counts {
    map: HashMap<u64, u64, Keys>,
    overflow: u64,
}

/// One shard, on a cache line of its own so shards do not share one.
#[derive(Debug)]
#[repr(align(128))]
struct Shard(Mutex<Counts>);

/// Per-number lookup counts for at most `max_numbers` distinct numbers
/// between two [`take`](UsageCounter::take)s.
#[derive(Debug)]
pub struct UsageCounter {
    shards: Box<[Shard]>,
    /// Distinct numbers one shard holds at most.
    per_shard: usize,
    keys: Keys,
}

impl UsageCounter {
    pub fn new(max_numbers: usize) -> UsageCounter {
        let shards = if max_numbers >= SHARDED_FROM { SHARDS } else { 1 };
        let per_shard = max_numbers / shards;
        let keys = Keys::random();
        let shards = (0..shards).map(|_| Shard(Mutex::new(Counts::new(per_shard, keys)))).collect();
        UsageCounter { shards, per_shard, keys }
    }

    /// Distinct numbers counted per window at most.
    pub fn max_numbers(&self) -> usize {
        self.per_shard * self.shards.len()
    }

    /// Counts one successful lookup of `number`: no allocation, one short
    /// critical section.
    #[inline]
    pub fn count(&self, number: E164) {
        let key = number.as_u64();
        // bits the map leaves alone (it indexes by the low bits and tags by
        // the top seven), so a shard's numbers still spread over its map
        let shard = &self.shards[(self.keys.hash(key) >> 32) as usize % self.shards.len()];
        let mut counts = shard.0.lock().unwrap_or_else(|e| e.into_inner());
        let full = counts.map.len() >= self.per_shard;
        match counts.map.get_mut(&key) {
            Some(n) => *n += 1,
            None if full => counts.overflow += 1,
            None => {
                counts.map.insert(key, 1);
            }
        }
    }

    /// Takes every count so far and starts a new window. Each shard is
    /// swapped for a fresh map allocated before its lock is taken, so the
    /// request path waits for a pointer swap, never for an allocation or the
    /// copy out.
    pub fn take(&self) -> Taken {
        let mut taken = Taken::default();
        for shard in self.shards.iter() {
            let mut fresh = Counts::new(self.per_shard, self.keys);
            {
                let mut counts = shard.0.lock().unwrap_or_else(|e| e.into_inner());
                std::mem::swap(&mut *counts, &mut fresh);
            }
            taken.overflow += fresh.overflow;
            taken.counts.extend(fresh.map);
        }
        taken
    }
}

impl Counts {
    fn new(capacity: usize, keys: Keys) -> Counts {
        Counts { map: HashMap::with_capacity_and_hasher(capacity, keys), overflow: 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(i: u64) -> E164 {
        E164::from_u64(15_550_000_000 + i).unwrap()
    }

    #[test]
    fn counts_per_number_and_starts_over_after_a_take() {
        let c = UsageCounter::new(10);
        for _ in 0..3 {
            c.count(n(1));
        }
        c.count(n(2));
        let mut t = c.take();
        t.counts.sort();
        assert_eq!(t.counts, vec![(n(1).as_u64(), 3), (n(2).as_u64(), 1)]);
        assert_eq!((t.overflow, t.lookups()), (0, 4));
        assert!(c.take().is_empty(), "a take empties the table");
    }

    #[test]
    fn numbers_past_the_bound_are_overflow_and_known_ones_still_count() {
        let c = UsageCounter::new(3);
        for i in 0..10 {
            c.count(n(i));
        }
        c.count(n(0));
        let t = c.take();
        assert_eq!(t.counts.len(), 3, "at most the bound: {t:?}");
        assert_eq!(t.overflow, 7);
        assert_eq!(t.lookups(), 11, "no lookup is lost, counted or overflow");
        assert_eq!(t.counts.iter().find(|(k, _)| *k == n(0).as_u64()), Some(&(n(0).as_u64(), 2)));
    }

    #[test]
    fn a_sharded_table_never_holds_more_than_its_bound() {
        let c = UsageCounter::new(1_000);
        assert_eq!(c.shards.len(), SHARDS);
        assert!(c.max_numbers() <= 1_000);
        for i in 0..50_000 {
            c.count(n(i));
        }
        let t = c.take();
        assert!(t.counts.len() <= 1_000, "{}", t.counts.len());
        assert!(t.counts.len() > 900, "shards fill evenly: {}", t.counts.len());
        assert_eq!(t.lookups(), 50_000);
    }

    #[test]
    fn numbers_alike_in_their_low_bits_still_spread() {
        // numbers 2^17 apart: alike in every bit a plain multiplicative hash
        // would index a 2^17-bucket table by
        let keys = Keys::random();
        let buckets: std::collections::HashSet<u64> =
            (0..1_000u64).map(|i| keys.hash(15_550_000_000 + (i << 17)) & ((1 << 17) - 1)).collect();
        assert!(buckets.len() > 950, "{} buckets of 1000", buckets.len());
        let shards: std::collections::HashSet<u64> =
            (0..1_000u64).map(|i| (keys.hash(15_550_000_000 + (i << 17)) >> 32) % 64).collect();
        assert_eq!(shards.len(), 64);
    }

    #[test]
    fn counting_from_many_threads_loses_nothing() {
        let c = std::sync::Arc::new(UsageCounter::new(100_000));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let c = c.clone();
                std::thread::spawn(move || {
                    for i in 0..10_000 {
                        c.count(n(i % 500));
                    }
                })
            })
            .collect();
        let mut total = Taken::default();
        // takes while counting: every lookup lands in exactly one window
        for _ in 0..20 {
            let t = c.take();
            total.counts.extend(t.counts);
            total.overflow += t.overflow;
        }
        threads.into_iter().for_each(|t| t.join().unwrap());
        let last = c.take();
        total.counts.extend(last.counts);
        assert_eq!(total.lookups(), 40_000);
        assert_eq!(total.overflow, 0);
    }
}
