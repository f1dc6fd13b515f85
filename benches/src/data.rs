//! Realistic numbering for benchmarks.
//!
//! What real DID inventory looks like: carriers hand out numbers in blocks of
//! 1,000 (one exchange, the last three digits free), a tenant owns a block and
//! fills part of it (here 10-30%, about 20% on average), and a tail of
//! scattered single numbers (ported-in, one-off purchases) sits anywhere.
//! Blocks spread over many country codes and exchanges, weighted towards the
//! larger markets. Tenants route many numbers through few routes: each tenant
//! has a handful (dispatch, utilities line, document telephony...), and most
//! numbers of one block share the block's main route.
//!
//! Deterministic: the same `(count, seed)` gives the same data on every run.

use didroute_shared::{Country, Route, Subsystem, E164};
use uuid::Uuid;

/// Share of numbers that live in 1,000-blocks; the rest are scattered.
pub const BLOCK_SHARE: f64 = 0.9;

/// `(alpha-2, calling code, national significant digits, weight)`.
pub const COUNTRIES: &[(&str, u64, u32, u32)] = &[
    ("US", 1, 10, 300),
    ("GB", 44, 10, 80),
    ("DE", 49, 11, 60),
    ("FR", 33, 9, 50),
    ("IT", 39, 10, 40),
    ("ES", 34, 9, 40),
    ("NL", 31, 9, 25),
    ("AU", 61, 9, 30),
    ("BR", 55, 11, 40),
    ("IN", 91, 10, 50),
    ("JP", 81, 10, 30),
    ("MX", 52, 10, 30),
    ("SE", 46, 9, 15),
    ("PL", 48, 9, 15),
    ("ZA", 27, 9, 15),
    ("NG", 234, 10, 15),
    ("KE", 254, 9, 10),
    ("PH", 63, 10, 15),
    ("CH", 41, 9, 10),
    ("AR", 54, 10, 15),
    ("SG", 65, 8, 10),
    ("NZ", 64, 9, 8),
    ("IE", 353, 9, 8),
    ("BE", 32, 9, 10),
];

/// One number of the data set: its route (index into [`Dataset::routes`])
/// and its version. Its seq is its position in [`Dataset::entries`] plus one.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    pub number: E164,
    pub route: u32,
    pub version: u64,
}

pub struct Dataset {
    /// In arrival (seq) order, which is random with respect to number order.
    pub entries: Vec<Entry>,
    pub routes: Vec<Route>,
    pub tenants: usize,
    /// 1,000-blocks the block share was drawn from.
    pub blocks: usize,
}

/// xorshift64*: small, fast, deterministic.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in `0..n` (n > 0), without modulo bias worth caring about here.
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
    #[inline]
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

struct Tenant {
    country: usize,
    /// Indices into the route table.
    routes: Vec<u32>,
}

fn pick_country(rng: &mut Rng, total_weight: u64) -> usize {
    let mut x = rng.below(total_weight);
    for (i, c) in COUNTRIES.iter().enumerate() {
        if x < u64::from(c.3) {
            return i;
        }
        x -= u64::from(c.3);
    }
    COUNTRIES.len() - 1
}

/// A national number of `digits` digits starting 2-9 (no trunk prefix).
fn national(rng: &mut Rng, digits: u32) -> u64 {
    let span = 10u64.pow(digits - 1);
    (2 + rng.below(8)) * span + rng.below(span)
}

fn e164(country: usize, national: u64) -> E164 {
    let (_, code, digits, _) = COUNTRIES[country];
    E164::from_u64(code * 10u64.pow(digits) + national).expect("generated numbers are valid E.164")
}

impl Dataset {
    /// About `count` distinct numbers (exactly `count` unless the random
    /// draw collides more than it ever does in practice).
    pub fn generate(count: usize, seed: u64) -> Dataset {
        let mut rng = Rng::new(seed);
        let total_weight: u64 = COUNTRIES.iter().map(|c| u64::from(c.3)).sum();

        // Tenants: one per ~5,000 numbers, each in one country with 1-8
        // routes (most have few).
        let tenant_count = (count / 5_000).max(20);
        let mut routes = Vec::new();
        let mut tenants = Vec::with_capacity(tenant_count);
        let mut by_country: Vec<Vec<usize>> = vec![Vec::new(); COUNTRIES.len()];
        for t in 0..tenant_count {
            let country = pick_country(&mut rng, total_weight);
            let n_routes = 1 + (rng.below(8) * rng.below(8) / 7) as usize;
            let tenant_id = Uuid::from_u64_pair(0x6469_6472_6f75_7465, t as u64);
            let mut own = Vec::with_capacity(n_routes);
            for k in 0..n_routes {
                let subsystem = match rng.below(10) {
                    0..=3 => Subsystem::Psap,
                    4..=6 => Subsystem::Utilities,
                    7..=8 => Subsystem::DocumentTelephony,
                    _ => Subsystem::Mdoc,
                };
                own.push(routes.len() as u32);
                routes.push(Route {
                    tenant_id,
                    subsystem,
                    dashboard_id: format!("dash-{t}-{k}"),
                    customer_label: format!("Tenant {t} line {k}"),
                    country: Country::parse(COUNTRIES[country].0).expect("known country"),
                    friendly_name: (rng.below(3) == 0).then(|| format!("Line {k} of tenant {t}")),
                    organisation_id: (rng.below(2) == 0).then(|| format!("org-{t}")),
                    auto_provisioned: rng.below(4) == 0,
                    locale: "en".into(),
                    greeting_template: None,
                    greeting_text: None,
                    attributes: None,
                    tracking: None,
                });
            }
            by_country[country].push(t);
            tenants.push(Tenant { country, routes: own });
        }

        // The control plane draws a number's version from one global
        // sequence on every change (import, reserve, allocate, remap...), so
        // a number's version is where that sequence stood at its last change:
        // spread over about three changes per number.
        let span = (count as u64).saturating_mul(3).max(1);
        let version = |rng: &mut Rng| -> u64 { 1 + rng.below(span) };

        let mut entries: Vec<Entry> = Vec::with_capacity(count + count / 8);
        let in_blocks = (count as f64 * BLOCK_SHARE) as usize;
        let mut blocks = 0;
        while entries.len() < in_blocks {
            let country = pick_country(&mut rng, total_weight);
            let Some(&tenant) = by_country[country].get(rng.below(by_country[country].len().max(1) as u64) as usize)
            else {
                continue;
            };
            let tenant = &tenants[tenant];
            let digits = COUNTRIES[country].2;
            let block = national(&mut rng, digits) / 1000 * 1000;
            let fill = 0.1 + 0.2 * rng.unit();
            let main = tenant.routes[rng.below(tenant.routes.len() as u64) as usize];
            blocks += 1;
            for offset in 0..1000 {
                if rng.unit() < fill {
                    let route = if rng.below(5) == 0 {
                        tenant.routes[rng.below(tenant.routes.len() as u64) as usize]
                    } else {
                        main
                    };
                    entries.push(Entry { number: e164(country, block + offset), route, version: version(&mut rng) });
                }
            }
        }
        entries.truncate(in_blocks);
        while entries.len() < count + count / 100 + 16 {
            let tenant = &tenants[rng.below(tenants.len() as u64) as usize];
            let number = e164(tenant.country, national(&mut rng, COUNTRIES[tenant.country].2));
            let route = tenant.routes[rng.below(tenant.routes.len() as u64) as usize];
            entries.push(Entry { number, route, version: version(&mut rng) });
        }
        // Distinct numbers (a scattered draw may hit a block), then arrival
        // order: shuffled, as allocations come in over time.
        entries.sort_unstable_by_key(|e| e.number);
        entries.dedup_by_key(|e| e.number);
        shuffle(&mut rng, &mut entries);
        entries.truncate(count);
        Dataset { entries, routes, tenants: tenant_count, blocks }
    }

    /// `n` numbers of the data set, drawn at random (lookups that hit).
    pub fn sample_hits(&self, n: usize, seed: u64) -> Vec<E164> {
        let mut rng = Rng::new(seed);
        (0..n).map(|_| self.entries[rng.below(self.entries.len() as u64) as usize].number).collect()
    }

    /// `n` numbers shaped like real ones but almost never in the set
    /// (lookups that miss): the free slots of real blocks and random numbers.
    pub fn sample_misses(&self, n: usize, seed: u64) -> Vec<E164> {
        let mut rng = Rng::new(seed);
        let total_weight: u64 = COUNTRIES.iter().map(|c| u64::from(c.3)).sum();
        (0..n)
            .map(|i| {
                if i % 2 == 0 {
                    let c = pick_country(&mut rng, total_weight);
                    e164(c, national(&mut rng, COUNTRIES[c].2))
                } else {
                    let hit = self.entries[rng.below(self.entries.len() as u64) as usize].number.as_u64();
                    let flipped = hit / 1000 * 1000 + rng.below(1000);
                    E164::from_u64(flipped).unwrap_or(E164::from_u64(hit).expect("valid"))
                }
            })
            .collect()
    }

    pub fn seq_of(index: usize) -> u64 {
        index as u64 + 1
    }
}

fn shuffle<T>(rng: &mut Rng, v: &mut [T]) {
    for i in (1..v.len()).rev() {
        v.swap(i, rng.below(i as u64 + 1) as usize);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn shape_is_realistic() {
        let d = Dataset::generate(200_000, 7);
        assert_eq!(d.entries.len(), 200_000);
        let distinct: HashSet<u64> = d.entries.iter().map(|e| e.number.as_u64()).collect();
        assert_eq!(distinct.len(), d.entries.len());
        for e in &d.entries {
            assert!(d.routes[e.route as usize].country.matches(&e.number), "{}", e.number);
        }
        // Most numbers share their 1,000-block with many others.
        let mut per_block = std::collections::HashMap::<u64, u32>::new();
        for e in &d.entries {
            *per_block.entry(e.number.as_u64() / 1000).or_default() += 1;
        }
        let in_busy: u32 = per_block.values().filter(|&&c| c >= 50).sum();
        let share = f64::from(in_busy) / d.entries.len() as f64;
        assert!((0.85..0.95).contains(&share), "{share}");
        assert!(d.routes.len() < d.entries.len() / 500, "routes repeat: {}", d.routes.len());
        assert_eq!(Dataset::generate(1000, 7).entries[17].number, Dataset::generate(1000, 7).entries[17].number);
    }
}
