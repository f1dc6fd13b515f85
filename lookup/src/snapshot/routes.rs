//! [`RouteTable`]: the distinct routes of a build or a fold, each rendered
//! once, found again by content.
//!
//! A build interns the route of every number it is given (100M numbers and
//! 49k routes in the 100M data set of
//! `cargo bench -p didroute-benches --bench lookup`), so finding a route is
//! the build's hottest loop. A route is compared as a [`Key`]: its fields encoded into one
//! fixed-size, zero-padded 128-byte array, kept in a dense vector by route
//! index. Finding a route is then: encode the caller's route (reading its
//! strings once), hash the encoding, one hash-map probe for the chain head,
//! and a comparison of the used bytes with `keys[head]` (two adjacent cache
//! lines at most).
//! Comparing against the interned `Route` instead would walk
//! `Arc → RenderedRoute → Route → four heap strings`: four dependent cache
//! misses a candidate once the routes outgrow the cache (hundreds of
//! nanoseconds a number at 100M numbers, in that benchmark's build time).
//!
//! Keys are hashed with Fx; once a chain passes [`MAX_CHAIN`] candidates the
//! table rehashes with a randomly keyed SipHash, because routes carry
//! tenants' own labels: crafted Fx collisions cost a slower build, never a
//! wrong answer.
//!
//! Bulk loads and catch-up pages intern [`WARM`] routes at a time
//! ([`RouteTable::warm`]): each stage (route fields, string bytes, encode and
//! hash, chain heads, candidate keys) runs over the whole batch before the
//! next, so the batch's cache misses overlap instead of queueing.
//!
//! Routes whose encoding does not fit (a string longer than 255 bytes, more
//! than 96 bytes of strings in all, attributes, which may be 1 KiB, or a
//! tracking session, which no other number shares) go
//! to a plain `HashMap<Route, u32>`: hashed with std's randomly keyed
//! SipHash over every field, attributes included, and compared in full, so
//! they cost a slower build, never a wrong answer.

use std::borrow::Cow;
use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;

use didroute_shared::Route;

use super::base::TOMBSTONE;
use super::hash::{FxHashMap, FxHasher};
use super::render::RenderedRoute;

/// Bytes of a [`Key`]: two cache lines.
const KEY_BYTES: usize = 128;

/// A route's content: tenant (16 bytes); subsystem, country (2), flags
/// (auto-provisioned, has friendly name, has organisation) and the first
/// four string lengths (one byte each); the last three string lengths and
/// their flags (has greeting template, has greeting text); then the seven
/// strings' bytes (dashboard, label, friendly name, organisation, locale,
/// greeting template, greeting text); zeros after. The lengths make the
/// encoding unambiguous, so two routes are equal exactly when their keys
/// are. Routes with attributes (up to 1 KiB) or a tracking session never
/// fit and go to the exact map.
pub(crate) type Key = [u8; KEY_BYTES];

const HEADER: usize = 32;

#[inline]
fn strings(r: &Route) -> [&[u8]; 7] {
    [
        r.dashboard_id.as_bytes(),
        r.customer_label.as_bytes(),
        r.friendly_name.as_deref().unwrap_or_default().as_bytes(),
        r.organisation_id.as_deref().unwrap_or_default().as_bytes(),
        r.locale.as_bytes(),
        r.greeting_template.as_deref().unwrap_or_default().as_bytes(),
        r.greeting_text.as_deref().unwrap_or_default().as_bytes(),
    ]
}

#[inline]
fn put_word(key: &mut Key, at: usize, word: u64) {
    key[at..at + 8].copy_from_slice(&word.to_le_bytes());
}

/// Encodes `r` into `key` (all zeros on entry) and returns the bytes
/// used, or 0 (and `key` unspecified) when `r` does not fit a [`Key`].
/// Strings are copied a word at a time, the last word read where the string
/// ends: no `memcpy` call per string in the build's hottest loop.
#[inline]
fn encode_into(r: &Route, key: &mut Key) -> usize {
    let strings = strings(r);
    let [a, b, c, d, e, f, g] = strings.map(<[u8]>::len);
    let total = HEADER + a + b + c + d + e + f + g;
    if total > KEY_BYTES
        || a.max(b).max(c).max(d).max(e).max(f).max(g) > usize::from(u8::MAX)
        || r.attributes.is_some()
        || r.tracking.is_some()
    {
        return 0;
    }
    let (t0, t1) = r.tenant_id.as_u64_pair();
    let flags = u64::from(r.auto_provisioned)
        | u64::from(r.friendly_name.is_some()) << 1
        | u64::from(r.organisation_id.is_some()) << 2;
    put_word(key, 0, t0);
    put_word(key, 8, t1);
    put_word(
        key,
        16,
        (r.subsystem as u64)
            | u64::from(r.country.index()) << 8
            | flags << 24
            | (a as u64) << 32
            | (b as u64) << 40
            | (c as u64) << 48
            | (d as u64) << 56,
    );
    put_word(
        key,
        24,
        (e as u64)
            | (f as u64) << 8
            | (g as u64) << 16
            | (u64::from(r.greeting_template.is_some()) | u64::from(r.greeting_text.is_some()) << 1) << 24,
    );
    let mut at = HEADER;
    for s in strings {
        match s.last_chunk::<8>() {
            Some(last) => {
                let mut chunks = s.chunks_exact(8);
                let mut to = at;
                for w in &mut chunks {
                    key[to..to + 8].copy_from_slice(w);
                    to += 8;
                }
                key[at + s.len() - 8..at + s.len()].copy_from_slice(last);
            }
            None => {
                for (i, &byte) in s.iter().enumerate() {
                    key[at + i] = byte;
                }
            }
        }
        at += s.len();
    }
    total
}

/// `r` as a [`Key`] and its length, or `None` when it does not fit one.
#[inline]
fn encode(r: &Route) -> Option<(Key, usize)> {
    let mut key = [0; KEY_BYTES];
    let len = encode_into(r, &mut key);
    (len > 0).then_some((key, len))
}

/// Whether `stored` is `key` (`len` bytes long): comparing the first `len`
/// bytes is enough, because they include the lengths, so a stored key that
/// agrees with them is as long and zero beyond.
#[inline]
fn same(stored: &Key, key: &Key, len: usize) -> bool {
    stored[..len] == key[..len]
}

/// A key's used words, hashed with Fx or, once a chain grew long, with a
/// randomly keyed SipHash (routes carry tenants' own labels, so a flood of
/// crafted Fx collisions is conceivable; it costs a slower build, never a
/// wrong answer).
#[inline]
fn hash_key(key: &Key, len: usize, keyed: Option<&RandomState>) -> u64 {
    let words = key[..len.div_ceil(8) * 8].chunks_exact(8).map(|w| u64::from_le_bytes(w.try_into().expect("8 bytes")));
    match keyed {
        None => {
            #[cfg(test)]
            if FX_COLLIDES.get() {
                return 7;
            }
            let mut h = FxHasher::default();
            words.for_each(|w| h.write_u64(w));
            h.finish()
        }
        Some(state) => {
            let mut h = state.build_hasher();
            words.for_each(|w| h.write_u64(w));
            h.finish()
        }
    }
}

#[cfg(test)]
thread_local! {
    /// Makes every Fx hash of this test's thread the same: what a flood of
    /// crafted collisions would do.
    pub(crate) static FX_COLLIDES: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Distinct routes, each rendered once; see the module docs.
#[derive(Default)]
pub(crate) struct RouteTable {
    pub(crate) routes: Vec<Arc<RenderedRoute>>,
    /// `keys[i]`: route `i`'s [`Key`] (zeros for a route in `long`).
    keys: Vec<Key>,
    /// Hash of a key -> the newest route index with it.
    heads: FxHashMap<u64, u32>,
    /// `chain[i]`: the next older index with route `i`'s hash, or
    /// [`TOMBSTONE`] at the end.
    chain: Vec<u32>,
    /// Set once a chain grew past [`MAX_CHAIN`]: keys are hashed with it.
    pub(crate) keyed: Option<RandomState>,
    /// Routes too long for a [`Key`].
    long: HashMap<Route, u32>,
}

/// Candidates compared before the table switches to a keyed hash.
const MAX_CHAIN: usize = 8;

/// Routes [`RouteTable::warm`] loads at a time: enough misses in flight to
/// fill the memory pipeline, few enough that the first are still cached when
/// they are interned.
pub(crate) const WARM: usize = 16;

/// What [`RouteTable::warm`] found for a batch: each route's key and its
/// length (0: no route, or one too long for a key), hash and chain head,
/// the head valid while the table still has `routes` routes and the same
/// hash.
pub(crate) struct Warmed {
    keys: [Key; WARM],
    lens: [usize; WARM],
    hashes: [u64; WARM],
    heads: [u32; WARM],
    routes: usize,
    keyed: bool,
}

impl RouteTable {
    /// The newest route index with `hash`, or [`TOMBSTONE`].
    #[inline]
    fn head(&self, hash: u64) -> u32 {
        self.heads.get(&hash).copied().unwrap_or(TOMBSTONE)
    }

    /// Walks the chain from `at` for `key`: `Some(index)` of an equal route
    /// or `Some(None)` at the chain's end; `None` once more than
    /// [`MAX_CHAIN`] candidates differed (and the hash is not keyed yet).
    #[inline]
    fn walk_from(&self, mut at: u32, key: &Key, len: usize) -> Option<Option<u32>> {
        let limit = if self.keyed.is_some() { usize::MAX } else { MAX_CHAIN };
        let mut walked = 0;
        while at != TOMBSTONE {
            if same(&self.keys[at as usize], key, len) {
                return Some(Some(at));
            }
            at = self.chain[at as usize];
            walked += 1;
            if walked > limit {
                return None;
            }
        }
        Some(None)
    }

    /// The index of the route with `key`, if interned; and the key's hash.
    /// `start`: the hash and chain head a [`RouteTable::warm`] found.
    #[inline]
    fn find(&mut self, key: &Key, len: usize, start: Option<(u64, u32)>) -> (Option<u32>, u64) {
        let (hash, head) = start.unwrap_or_else(|| {
            let hash = hash_key(key, len, self.keyed.as_ref());
            (hash, self.head(hash))
        });
        match self.walk_from(head, key, len) {
            Some(found) => (found, hash),
            None => self.find_after_rehash(key, len),
        }
    }

    /// [`RouteTable::find`] once a chain grew too long: switches to the
    /// keyed hash and rebuilds the chains.
    #[cold]
    #[inline(never)]
    fn find_after_rehash(&mut self, key: &Key, len: usize) -> (Option<u32>, u64) {
        let state = RandomState::new();
        self.heads.clear();
        for (i, r) in self.routes.iter().enumerate() {
            self.chain[i] = match encode(r.route()) {
                Some((k, l)) => self.heads.insert(hash_key(&k, l, Some(&state)), i as u32).unwrap_or(TOMBSTONE),
                None => TOMBSTONE,
            };
        }
        self.keyed = Some(state);
        let hash = hash_key(key, len, self.keyed.as_ref());
        (self.walk_from(self.head(hash), key, len).flatten(), hash)
    }

    /// Adds a route not in the table; `found`: its key and hash, `None` for
    /// a route too long for a [`Key`].
    fn add(&mut self, route: Route, found: Option<(&Key, u64)>) -> u32 {
        // The sentinels (TOMBSTONE, BLOCKED) are the top two indexes: four
        // billion distinct routes would be a bug upstream long before memory
        // ran out here.
        let index = u32::try_from(self.routes.len())
            .ok()
            .filter(|&i| super::base::routable(i))
            .expect("fewer than 2^32 - 2 distinct routes");
        match found {
            Some((key, hash)) => {
                self.keys.push(*key);
                self.chain.push(self.heads.insert(hash, index).unwrap_or(TOMBSTONE));
            }
            None => {
                self.keys.push([0; KEY_BYTES]);
                self.chain.push(TOMBSTONE);
                self.long.insert(route.clone(), index);
            }
        }
        self.routes.push(Arc::new(RenderedRoute::new(route)));
        index
    }

    /// Interns `route` (taken or cloned only when new) given its key and the
    /// key's length (0: too long for one).
    #[inline]
    fn intern_with(&mut self, route: Cow<'_, Route>, key: &Key, len: usize, start: Option<(u64, u32)>) -> u32 {
        if len == 0 {
            return match self.long.get(&*route) {
                Some(&index) => index,
                None => self.add(route.into_owned(), None),
            };
        }
        match self.find(key, len, start) {
            (Some(index), _) => index,
            (None, hash) => self.add(route.into_owned(), Some((key, hash))),
        }
    }

    pub(crate) fn intern(&mut self, route: Route) -> u32 {
        let mut key = [0; KEY_BYTES];
        let len = encode_into(&route, &mut key);
        self.intern_with(Cow::Owned(route), &key, len, None)
    }

    pub(crate) fn intern_ref(&mut self, route: &Route) -> u32 {
        let mut key = [0; KEY_BYTES];
        let len = encode_into(route, &mut key);
        self.intern_with(Cow::Borrowed(route), &key, len, None)
    }

    /// Interns every route of `other` (another lane of the same build) and
    /// returns where each of its indices went here. A few thousand routes
    /// against the millions of numbers that found them.
    pub(crate) fn absorb(&mut self, other: &RouteTable) -> Vec<u32> {
        other.routes.iter().map(|r| self.intern_ref(r.route())).collect()
    }

    /// Encodes and hashes a batch of routes (`None`: no route) and loads
    /// into the cache what interning them will read, without changing
    /// anything. A bulk load pushes numbers in arrival order, so consecutive
    /// numbers hit unrelated routes; run a stage at a time over a batch, the
    /// cache misses of different routes overlap instead of queueing.
    pub(crate) fn warm(&self, batch: &[Option<&Route>], warmed: &mut Warmed) {
        // Each route's own fields, then its strings' bytes: two rounds of
        // independent loads, so encoding below finds them cached (encoding
        // route by route would wait for each route's misses in turn).
        for r in batch.iter().flatten() {
            std::hint::black_box((r.dashboard_id.as_ptr(), r.organisation_id.as_ref().map(|s| s.as_ptr())));
        }
        for r in batch.iter().flatten() {
            for s in strings(r) {
                std::hint::black_box(s.first().copied());
            }
        }
        warmed.keys = [[0; KEY_BYTES]; WARM];
        for (i, r) in batch.iter().enumerate().take(WARM) {
            warmed.lens[i] = r.map_or(0, |r| encode_into(r, &mut warmed.keys[i]));
            if warmed.lens[i] > 0 {
                warmed.hashes[i] = hash_key(&warmed.keys[i], warmed.lens[i], self.keyed.as_ref());
            }
        }
        for i in 0..batch.len().min(WARM) {
            warmed.heads[i] = if warmed.lens[i] > 0 { self.head(warmed.hashes[i]) } else { TOMBSTONE };
        }
        for &at in &warmed.heads[..batch.len().min(WARM)] {
            if let Some(key) = self.keys.get(at as usize) {
                std::hint::black_box((key[0], key[KEY_BYTES - 1]));
            }
        }
        warmed.routes = self.routes.len();
        warmed.keyed = self.keyed.is_some();
    }

    /// Where a find for the `i`th route of `warmed` starts: the hash and
    /// head found then, unless a route was added since (which may have moved
    /// the head) or the hash changed.
    /// The caller passes the route it warmed at slot `i`; a mismatch would
    /// intern it under another route's key (checked in debug builds).
    #[inline]
    fn start(&self, warmed: &Warmed, i: usize) -> Option<(u64, u32)> {
        (self.routes.len() == warmed.routes && self.keyed.is_some() == warmed.keyed)
            .then(|| (warmed.hashes[i], warmed.heads[i]))
    }

    /// [`RouteTable::intern`] for the `i`th route of a batch given to
    /// [`RouteTable::warm`].
    pub(crate) fn intern_warmed(&mut self, route: Route, warmed: &Warmed, i: usize) -> u32 {
        self.intern_slot(Cow::Owned(route), warmed, i)
    }

    /// [`RouteTable::intern_ref`] for the `i`th route of a batch given to
    /// [`RouteTable::warm`].
    pub(crate) fn intern_ref_warmed(&mut self, route: &Route, warmed: &Warmed, i: usize) -> u32 {
        self.intern_slot(Cow::Borrowed(route), warmed, i)
    }

    /// Interns the route warmed at slot `i` of `warmed`.
    #[inline]
    fn intern_slot(&mut self, route: Cow<'_, Route>, warmed: &Warmed, i: usize) -> u32 {
        debug_assert!(
            encode(&route) == (warmed.lens[i] > 0).then(|| (warmed.keys[i], warmed.lens[i])),
            "route {i} is not the one warmed"
        );
        let start = self.start(warmed, i);
        self.intern_with(route, &warmed.keys[i], warmed.lens[i], start)
    }
}

impl Default for Warmed {
    fn default() -> Warmed {
        Warmed {
            keys: [[0; KEY_BYTES]; WARM],
            lens: [0; WARM],
            hashes: [0; WARM],
            heads: [TOMBSTONE; WARM],
            routes: 0,
            keyed: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use didroute_shared::{Country, Subsystem};

    use super::*;

    fn route(label: &str) -> Route {
        Route {
            tenant_id: uuid::Uuid::from_u128(7),
            subsystem: Subsystem::Utilities,
            dashboard_id: "dash".into(),
            customer_label: label.into(),
            country: Country::parse("US").unwrap(),
            friendly_name: None,
            organisation_id: None,
            auto_provisioned: false,
            locale: "en".into(),
            greeting_template: None,
            greeting_text: None,
            attributes: None,
            tracking: None,
        }
    }

    #[test]
    fn keys_are_equal_exactly_when_routes_are() {
        let base = route("Metro 911");
        let variants = [
            Route { tenant_id: uuid::Uuid::from_u128(8), ..base.clone() },
            Route { subsystem: Subsystem::Psap, ..base.clone() },
            Route { country: Country::parse("CA").unwrap(), ..base.clone() },
            Route { auto_provisioned: true, ..base.clone() },
            Route { friendly_name: Some(String::new()), ..base.clone() },
            Route { organisation_id: Some(String::new()), ..base.clone() },
            // the same bytes split differently between two strings
            Route { dashboard_id: "dashM".into(), customer_label: "etro 911".into(), ..base.clone() },
            Route { friendly_name: Some("x".into()), organisation_id: None, ..base.clone() },
            Route { friendly_name: None, organisation_id: Some("x".into()), ..base.clone() },
            Route { locale: "es".into(), ..base.clone() },
            Route { greeting_template: Some(String::new()), ..base.clone() },
            Route { greeting_text: Some(String::new()), ..base.clone() },
            Route { greeting_template: Some("Hi {label}".into()), ..base.clone() },
            Route { greeting_text: Some("Hi {label}".into()), ..base.clone() },
            // the same bytes moved between locale and template
            Route { locale: "e".into(), greeting_template: Some("nHi".into()), ..base.clone() },
            Route { locale: "en".into(), greeting_template: Some("Hi".into()), ..base.clone() },
        ];
        let key = |r: &Route| encode(r).expect("fits").0;
        assert_eq!(key(&base), key(&base.clone()));
        for (i, v) in variants.iter().enumerate() {
            assert_ne!(key(v), key(&base), "variant {i}");
            for w in &variants[i + 1..] {
                assert_ne!(key(v), key(w), "{v:?} vs {w:?}");
            }
        }
        // The table gives each its own index, and the same one again.
        let mut t = RouteTable::default();
        let all: Vec<&Route> = std::iter::once(&base).chain(&variants).collect();
        for (i, r) in all.iter().enumerate() {
            assert_eq!(t.intern_ref(r), i as u32);
        }
        for (i, r) in all.iter().enumerate() {
            assert_eq!(t.intern((*r).clone()), i as u32);
            assert_eq!(t.routes[i].route(), *r);
        }
    }

    /// Interning agrees with a linear search over every route seen, for
    /// random routes drawn from few values (so most repeat and many differ
    /// in one field only), some of them long, through every entry point.
    #[test]
    fn interning_agrees_with_a_linear_search() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        let text = |next: &mut dyn FnMut(u64) -> u64| {
            let len = match next(20) {
                0 => 90 + next(200) as usize, // around the key's limits
                _ => next(6) as usize,
            };
            (0..len).map(|_| ['a', 'b', 'é'][next(3) as usize]).collect::<String>()
        };
        let countries = ["US", "CA", "GB"].map(|c| Country::parse(c).unwrap());
        let subsystems = [Subsystem::Psap, Subsystem::Utilities, Subsystem::DocumentTelephony, Subsystem::Mdoc];
        let routes: Vec<Route> = (0..3000)
            .map(|_| Route {
                tenant_id: uuid::Uuid::from_u128(u128::from(next(3))),
                subsystem: subsystems[next(4) as usize],
                dashboard_id: text(&mut next),
                customer_label: text(&mut next),
                country: countries[next(3) as usize],
                friendly_name: (next(2) == 0).then(|| text(&mut next)),
                organisation_id: (next(2) == 0).then(|| text(&mut next)),
                auto_provisioned: next(2) == 0,
                locale: ["en", "es", "pt-BR"][next(3) as usize].into(),
                greeting_template: (next(3) == 0).then(|| text(&mut next)),
                greeting_text: (next(3) == 0).then(|| text(&mut next)),
                attributes: (next(8) == 0)
                    .then(|| serde_json::json!({ "k": next(3) }).as_object().cloned().expect("an object")),
                tracking: None,
            })
            .collect();
        assert!(routes.iter().any(|r| encode(r).is_none()) && routes.iter().any(|r| encode(r).is_some()));
        let mut model: Vec<Route> = Vec::new();
        let mut want = |r: &Route| -> u32 {
            match model.iter().position(|m| m == r) {
                Some(i) => i as u32,
                None => {
                    model.push(r.clone());
                    model.len() as u32 - 1
                }
            }
        };
        let mut t = RouteTable::default();
        let mut warmed = Box::<Warmed>::default();
        let mut i = 0;
        while i < 20_000 {
            match next(3) {
                0 => {
                    let r = &routes[next(3000) as usize];
                    assert_eq!(t.intern(r.clone()), want(r));
                    i += 1;
                }
                1 => {
                    let r = &routes[next(3000) as usize];
                    assert_eq!(t.intern_ref(r), want(r));
                    i += 1;
                }
                _ => {
                    let batch: Vec<Option<&Route>> =
                        (0..WARM).map(|_| (next(8) != 0).then(|| &routes[next(3000) as usize])).collect();
                    t.warm(&batch, &mut warmed);
                    for (k, r) in batch.iter().enumerate() {
                        if let Some(r) = r {
                            assert_eq!(t.intern_ref_warmed(r, &warmed, k), want(r));
                        }
                    }
                    i += WARM;
                }
            }
        }
        assert_eq!(t.routes.len(), model.len());
        for (stored, m) in t.routes.iter().zip(&model) {
            assert_eq!(stored.route(), m);
        }
    }

    /// Attributes never go into a key: routes that differ only in them are
    /// told apart by the exact map, and the same attributes find the same
    /// route again.
    #[test]
    fn routes_with_attributes_are_interned_exactly() {
        let with = |v: serde_json::Value| Route { attributes: v.as_object().cloned(), ..route("Metro 911") };
        let (a, b) = (with(serde_json::json!({"voice": "a"})), with(serde_json::json!({"voice": "b"})));
        let big = with(serde_json::json!({"script": "x".repeat(1000)}));
        assert!(encode(&a).is_none() && encode(&big).is_none());
        let mut t = RouteTable::default();
        let ids = [t.intern(route("Metro 911")), t.intern_ref(&a), t.intern(b.clone()), t.intern(big.clone())];
        assert_eq!(ids, [0, 1, 2, 3]);
        assert_eq!([t.intern_ref(&route("Metro 911")), t.intern(a), t.intern_ref(&b), t.intern_ref(&big)], ids);
        assert_eq!(t.routes[3].route(), &big);
    }

    #[test]
    fn routes_too_long_for_a_key_are_interned_exactly() {
        let long = |s: &str| Route { friendly_name: Some(s.repeat(300)), ..route("Metro 911") };
        let total = |n: usize| Route { customer_label: "x".repeat(n), ..route("") };
        assert!(encode(&long("a")).is_none(), "a string past 255 bytes");
        // dashboard "dash" and locale "en" take 6 of the string bytes
        assert!(encode(&total(KEY_BYTES - HEADER - 6)).is_some() && encode(&total(KEY_BYTES - HEADER - 5)).is_none());
        let mut t = RouteTable::default();
        let (a, b, c) = (t.intern(long("a")), t.intern_ref(&long("b")), t.intern(route("short")));
        assert_eq!((a, b, c), (0, 1, 2));
        assert_eq!((t.intern_ref(&long("a")), t.intern(long("b")), t.intern_ref(&route("short"))), (0, 1, 2));
        assert_eq!(t.routes[1].route(), &long("b"));
    }

    #[test]
    fn long_chains_switch_to_a_keyed_hash() {
        FX_COLLIDES.set(true);
        let routes: Vec<Route> = (0..200).map(|i| route(&format!("line {i}"))).collect();
        let mut t = RouteTable::default();
        for (i, r) in routes.iter().enumerate() {
            assert_eq!(t.intern_ref(r), i as u32);
            assert_eq!(t.keyed.is_some(), i > MAX_CHAIN, "route {i}");
        }
        for (i, r) in routes.iter().enumerate().rev() {
            assert_eq!(t.intern(r.clone()), i as u32);
            assert_eq!(t.routes[i].route(), r);
        }
        assert!(t.chain.iter().all(|&c| c == TOMBSTONE), "no chains left: SipHash does not collide here");
    }
}
