//! In-process lookup benchmarks (docs/goals.md L1, L2, L5) against std `HashMap`.
//!
//! ```sh
//! CARGO_TARGET_DIR=/work/target-perf cargo bench -p didroute-benches --bench lookup
//! DIDROUTE_BENCH_SIZES=10000000,100000000 cargo bench -p didroute-benches --bench lookup
//! ```
//!
//! For each size (default 10M numbers of realistic data, see
//! `didroute_benches::data`):
//! - L5: full build (push every number, finish) in wall time and CPU time
//!   of all threads (a large build uses two), folding 100k changes into the
//!   base in thread CPU time and wall time (median of a few runs: each
//!   takes seconds), and the same inserts into a `HashMap`;
//! - L2: heap bytes per number of the base and of the `HashMap`, from the
//!   counting allocator, and the peak during a fold while the old base is
//!   still alive;
//! - L1 (criterion): `store.load()` + overlay probe + base probe + record,
//!   for hits, misses and hit-plus-rendered-answer, over 1M random keys,
//!   against `HashMap::get` + route table on the same keys. Criterion
//!   measures thread CPU time (`didroute_benches::cpu::ThreadCpu`): this
//!   2-core machine is shared, and CPU time is not inflated by preemption.
//!
//! Two peers are measured in the same run: std `HashMap` (what a service
//! would reach for first) and an `fst::Map` (what docs/design.md started the
//! lookup node with): numbers as 8-byte big-endian keys (digit order is
//! numeric order) and the record packed into the fst's own `u64` output
//! (route index << 42 | version), its most compact form: no side table.
//!
//! Range routes (issue 18): `DIDROUTE_BENCH_RANGES` ranges (default
//! 1,000,000; 0 skips them) of PortSIP shapes (100- and 1,000-blocks and
//! unaligned runs, 1,000 distinct routes): build time, heap bytes per
//! range (fst + entries, the counting allocator's live bytes), and the
//! lookup of a number without its own allocation through the store (exact
//! probe missing, then the range fst). `DIDROUTE_BENCH_SIZES=` (empty)
//! skips the number benchmarks.
//!
//! A summary table is printed at the end (stderr) for BENCHMARKS.md.

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use didroute_benches::alloc::{self, Counting};
use didroute_benches::cpu::{process_cpu, thread_cpu, ThreadCpu};
use didroute_benches::data::{Dataset, Rng};
use didroute_lookup::snapshot::{BaseBuilder, RenderedRoute};
use didroute_lookup::{Snapshot, Store};
use didroute_shared::{ChangeEvent, Op, Route, E164};
use time::OffsetDateTime;

#[global_allocator]
static ALLOC: Counting = Counting;

const KEYS: usize = 1 << 20;
const FOLD_CHANGES: usize = 100_000;
/// Changes left in the overlay for the lookup benchmarks: what a node holds
/// between two folds.
const OVERLAY: usize = 10_000;

fn sizes() -> Vec<usize> {
    std::env::var("DIDROUTE_BENCH_SIZES")
        .unwrap_or_else(|_| "10000000".into())
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().replace('_', "").parse().expect("DIDROUTE_BENCH_SIZES: comma-separated counts"))
        .collect()
}

fn runs() -> usize {
    std::env::var("DIDROUTE_BENCH_RUNS").ok().and_then(|s| s.parse().ok()).unwrap_or(3)
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// The fst peer's output: route index in the high bits, version below.
const FST_VERSION_BITS: u32 = 42;

/// Builds the fst peer: sorts `(number, output)` and streams it into a
/// `fst::MapBuilder` (keys must arrive in byte order).
fn build_fst(data: &Dataset) -> fst::Map<Vec<u8>> {
    let mut items: Vec<(u64, u64)> = data
        .entries
        .iter()
        .map(|e| (e.number.as_u64(), (u64::from(e.route) << FST_VERSION_BITS) | e.version))
        .collect();
    items.sort_unstable_by_key(|i| i.0);
    items.dedup_by_key(|i| i.0);
    let mut b = fst::MapBuilder::memory();
    for (number, out) in items {
        b.insert(number.to_be_bytes(), out).expect("keys in order");
    }
    b.into_map()
}

fn label(n: usize) -> String {
    if n.is_multiple_of(1_000_000) {
        format!("{}M", n / 1_000_000)
    } else {
        format!("{}k", n / 1000)
    }
}

fn build(data: &Dataset) -> didroute_lookup::snapshot::Base {
    let mut b = BaseBuilder::with_capacity(data.entries.len());
    b.push_refs(
        data.entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.number, &data.routes[e.route as usize], e.version, Dataset::seq_of(i))),
    );
    b.finish()
}

/// `n` changes after the data set's last seq: 70% remaps of existing numbers
/// to another route of their country, 20% new numbers, 10% releases.
fn changes(data: &Dataset, n: usize, seed: u64) -> Vec<ChangeEvent> {
    let mut rng = Rng::new(seed);
    let fresh = data.sample_misses(n, seed ^ 0x5eed);
    let mut by_country: HashMap<_, Vec<u32>> = HashMap::new();
    for (i, r) in data.routes.iter().enumerate() {
        by_country.entry(r.country).or_default().push(i as u32);
    }
    let other_route = |rng: &mut Rng, r: &Route| -> Route {
        let same = &by_country[&r.country];
        data.routes[same[rng.below(same.len() as u64) as usize] as usize].clone()
    };
    let mut seq = data.entries.len() as u64;
    let next_version = data.entries.iter().map(|e| e.version).max().unwrap_or(0) + 1;
    (0..n)
        .map(|i| {
            seq += 1;
            let e = data.entries[rng.below(data.entries.len() as u64) as usize];
            let base = ChangeEvent {
                seq,
                number: e.number,
                // Fresh values of the control plane's one version sequence.
                version: next_version + i as u64,
                op: Op::Upsert,
                route: None,
                at: OffsetDateTime::UNIX_EPOCH,
                lineage: None,
                range: None,
            };
            match rng.below(10) {
                0..=6 => ChangeEvent { route: Some(other_route(&mut rng, &data.routes[e.route as usize])), ..base },
                7..=8 => {
                    let number = fresh[i];
                    let r = &data.routes[e.route as usize];
                    // A route of the new number's own country.
                    let route =
                        data.routes.iter().find(|r| r.country.matches(&number)).cloned().unwrap_or_else(|| r.clone());
                    ChangeEvent { number, route: Some(route), ..base }
                }
                _ => ChangeEvent { op: Op::Delete, ..base },
            }
        })
        .filter(|e| e.validate().is_ok())
        .collect()
}

fn apply_all(mut s: Snapshot, events: &[ChangeEvent]) -> Snapshot {
    for batch in events.chunks(10_000) {
        s = s.with_events(batch, batch.last().map_or(0, |e| e.seq)).0;
    }
    s
}

#[derive(Default)]
struct Report {
    rows: Vec<String>,
}

impl Report {
    fn row(&mut self, s: String) {
        eprintln!("{s}");
        self.rows.push(s);
    }
}

fn run(c: &mut Criterion<ThreadCpu>, n: usize, report: &mut Report) {
    let t = Instant::now();
    let data = Dataset::generate(n, 42);
    eprintln!(
        "generated {} numbers ({} blocks, {} tenants, {} routes) in {:.1?}",
        data.entries.len(),
        data.blocks,
        data.tenants,
        data.routes.len(),
        t.elapsed()
    );
    let label = label(n);
    let hits = data.sample_hits(KEYS, 1);
    let misses = data.sample_misses(KEYS, 2);

    // L5 + L2: build.
    let (mut times, mut walls) = (Vec::new(), Vec::new());
    let mut base = None;
    let (mut bytes, mut build_peak) = (0, 0);
    for _ in 0..runs() {
        drop(base.take());
        let before = alloc::live();
        alloc::reset_peak();
        // CPU of every thread: a large build uses two
        let (t, cpu) = (Instant::now(), process_cpu());
        let b = build(&data);
        times.push(process_cpu() - cpu);
        walls.push(t.elapsed());
        bytes = alloc::live() - before;
        build_peak = alloc::peak() - before;
        base = Some(b);
    }
    let base = Arc::new(base.expect("at least one run"));
    let build_time = median(times);
    report.row(format!(
        "| {label} | didroute base | build {:.2?} wall ({:.2?} CPU, both threads) | {:.1} MiB = {:.2} B/number | build peak {:.1} MiB | {} routes, {} block containers, {} sparse numbers, index {:.1} MiB |",
        median(walls),
        build_time,
        mib(bytes),
        bytes as f64 / n as f64,
        mib(build_peak),
        base.route_count(),
        base.block_count(),
        base.sparse_count(),
        mib(base.index_bytes()),
    ));

    // L5 + L2: fold 100k changes into the base.
    let events = changes(&data, FOLD_CHANGES, 3);
    let before = alloc::live();
    let layered = apply_all(Snapshot::from_base(Arc::clone(&base), n as u64), &events);
    // What the node holds beside the base until the fold: the overlay.
    let overlay_bytes = alloc::live() - before;
    let (mut times, mut walls) = (Vec::new(), Vec::new());
    let (mut fold_peak, mut folded_bytes) = (0, 0);
    for _ in 0..runs() {
        let before = alloc::live();
        alloc::reset_peak();
        let (t, cpu) = (Instant::now(), thread_cpu());
        let folded = layered.folded();
        times.push(thread_cpu() - cpu);
        walls.push(t.elapsed());
        fold_peak = alloc::peak() - before;
        folded_bytes = alloc::live() - before;
        drop(folded);
    }
    report.row(format!(
        "| {label} | didroute fold {} changes | {:.2?} CPU ({:.2?} wall) | new base {:.1} MiB; peak while the old base serves: {:.1} MiB = {:.2}x the base; {:.2}x the snapshot before the fold (base + {:.1} MiB overlay) |",
        events.len(),
        median(times),
        median(walls),
        mib(folded_bytes),
        mib(bytes + fold_peak),
        (bytes + fold_peak) as f64 / bytes as f64,
        (bytes + overlay_bytes + fold_peak) as f64 / (bytes + overlay_bytes) as f64,
        mib(overlay_bytes),
    ));
    drop(layered);

    // Baseline: std HashMap number -> (route index, version, seq).
    let routes: Vec<Arc<RenderedRoute>> =
        data.routes.iter().cloned().map(|r| Arc::new(RenderedRoute::new(r))).collect();
    let before = alloc::live();
    alloc::reset_peak();
    let cpu = thread_cpu();
    let mut map: HashMap<E164, (u32, u64, u64)> = HashMap::new();
    for (i, e) in data.entries.iter().enumerate() {
        map.insert(e.number, (e.route, e.version, Dataset::seq_of(i)));
    }
    let map_time = thread_cpu() - cpu;
    let map_bytes = alloc::live() - before;
    report.row(format!(
        "| {label} | std HashMap (SipHash) | insert {:.2?} CPU | {:.1} MiB = {:.2} B/number (+ route table) | peak {:.1} MiB | |",
        map_time,
        mib(map_bytes),
        map_bytes as f64 / n as f64,
        mib(alloc::peak() - before)
    ));

    // Peer: the fst map (sorted build, bytes of the automaton).
    let (mut times, mut fst_map) = (Vec::new(), None);
    let mut fst_bytes = 0;
    for _ in 0..runs() {
        drop(fst_map.take());
        let before = alloc::live();
        let cpu = thread_cpu();
        let m = build_fst(&data);
        times.push(thread_cpu() - cpu);
        fst_bytes = alloc::live() - before;
        fst_map = Some(m);
    }
    let fst_map = fst_map.expect("at least one run");
    report.row(format!(
        "| {label} | fst::Map (record in the output) | build {:.2?} CPU | {:.1} MiB = {:.2} B/number (+ route table) | | |",
        median(times),
        mib(fst_bytes),
        fst_bytes as f64 / n as f64,
    ));

    // L1: lookups through the store, with a realistic overlay on top.
    let store = Store::new(apply_all(Snapshot::from_base(Arc::clone(&base), n as u64), &events[..OVERLAY]));
    let mut g = c.benchmark_group(format!("lookup/{label}"));
    g.throughput(Throughput::Elements(1));
    for (name, keys) in [("hit", &hits), ("miss", &misses)] {
        g.bench_function(format!("didroute/{name}"), |b| {
            let mut i = 0usize;
            b.iter(|| {
                i = (i + 1) & (KEYS - 1);
                let s = store.load();
                let hit = s.get(black_box(keys[i]));
                black_box(hit.map(|h| (h.route as *const RenderedRoute, h.version, h.seq)))
            })
        });
        g.bench_function(format!("std-hashmap/{name}"), |b| {
            let mut i = 0usize;
            b.iter(|| {
                i = (i + 1) & (KEYS - 1);
                let hit = map.get(&black_box(keys[i]));
                black_box(hit.map(|&(r, v, s)| (Arc::as_ptr(&routes[r as usize]), v, s)))
            })
        });
        g.bench_function(format!("fst/{name}"), |b| {
            let mut i = 0usize;
            b.iter(|| {
                i = (i + 1) & (KEYS - 1);
                let hit = fst_map.get(black_box(keys[i]).as_u64().to_be_bytes());
                black_box(hit.map(|o| {
                    (Arc::as_ptr(&routes[(o >> FST_VERSION_BITS) as usize]), o & ((1 << FST_VERSION_BITS) - 1))
                }))
            })
        });
    }
    g.bench_function("didroute/hit+answer", |b| {
        let mut i = 0usize;
        let mut out = Vec::with_capacity(1024);
        b.iter(|| {
            i = (i + 1) & (KEYS - 1);
            out.clear();
            let s = store.load();
            if let Some(hit) = s.get(black_box(hits[i])) {
                hit.write_json(&mut out);
            }
            black_box(out.len())
        })
    });
    g.finish();
}

fn ranges_count() -> usize {
    std::env::var("DIDROUTE_BENCH_RANGES").ok().and_then(|s| s.replace('_', "").parse().ok()).unwrap_or(1_000_000)
}

/// The spans of `n` ranges of PortSIP shapes, 2,000 numbers apart: 60%
/// 100-blocks, 30% 1,000-blocks, 10% unaligned runs of 37.
fn range_spans(n: usize) -> Vec<(u64, u64)> {
    (0..n as u64)
        .map(|i| {
            let start = 12_000_000_000 + i * 2000;
            match i % 10 {
                0..=5 => (start, start + 99),
                6..=8 => (start, start + 999),
                _ => (start + 13, start + 49),
            }
        })
        .collect()
}

/// The range events of `spans`, one of 1,000 distinct routes each, made as
/// they are pushed (so the heap counted after the build is the ranges').
fn range_events(spans: &[(u64, u64)]) -> impl Iterator<Item = ChangeEvent> + '_ {
    let mut rng = Rng::new(18);
    let routes: Vec<Route> = (0..1000u128)
        .map(|t| Route {
            tenant_id: uuid::Uuid::from_u128(t + 1),
            subsystem: didroute_shared::Subsystem::Utilities,
            dashboard_id: "default".into(),
            customer_label: format!("Tenant {t}"),
            country: didroute_shared::Country::parse("US").unwrap(),
            friendly_name: None,
            organisation_id: None,
            auto_provisioned: false,
            locale: "en".into(),
            greeting_template: None,
            greeting_text: None,
            attributes: None,
            tracking: None,
        })
        .collect();
    spans.iter().enumerate().map(move |(i, &(first, last))| {
        let i = i as u64;
        ChangeEvent {
            seq: i + 1,
            number: E164::from_u64(first).unwrap(),
            version: i + 1,
            op: Op::RangeUpsert,
            route: Some(routes[rng.below(routes.len() as u64) as usize].clone()),
            at: OffsetDateTime::UNIX_EPOCH,
            lineage: None,
            range: Some(didroute_shared::RangeRef { id: i + 1, last: E164::from_u64(last).unwrap() }),
        }
    })
}

fn run_ranges(c: &mut Criterion<ThreadCpu>, n: usize, report: &mut Report) {
    let spans = range_spans(n);
    let before = alloc::live();
    let started = Instant::now();
    let mut builder = BaseBuilder::new();
    for e in range_events(&spans) {
        builder.push_range(e);
    }
    let base = Arc::new(builder.finish());
    let built = started.elapsed();
    // the base's own (empty) number index is a few KiB
    let bytes = alloc::live().saturating_sub(before);
    let fst_and_entries = base.ranges().heap_bytes();
    report.row(format!(
        "| {n} ranges | build {built:.2?} wall | {:.1} MiB live = {:.1} B/range (fst + entries {:.1} B/range, routes shared) |",
        mib(bytes),
        bytes as f64 / n as f64,
        fst_and_entries as f64 / n as f64,
    ));
    let mut rng = Rng::new(7);
    let hits: Vec<E164> = (0..KEYS)
        .map(|_| {
            let (a, b) = spans[rng.below(spans.len() as u64) as usize];
            E164::from_u64(a + rng.below(b - a + 1)).unwrap()
        })
        .collect();
    let misses: Vec<E164> = (0..KEYS)
        .map(|_| {
            let (_, b) = spans[rng.below(spans.len() as u64) as usize];
            E164::from_u64(b + 1 + rng.below(900)).unwrap()
        })
        .collect();
    let store = Store::new(Snapshot::from_base(base, n as u64));
    let mut g = c.benchmark_group(format!("ranges/{}", label(n)));
    g.throughput(Throughput::Elements(1));
    for (name, keys) in [("hit", &hits), ("miss", &misses)] {
        g.bench_function(format!("didroute/{name}"), |b| {
            let mut i = 0usize;
            b.iter(|| {
                i = (i + 1) & (KEYS - 1);
                let s = store.load();
                let hit = s.route_of(black_box(keys[i]));
                black_box(hit.map(|h| (h.route as *const RenderedRoute, h.version, h.seq)))
            })
        });
    }
    g.finish();
}

fn main() {
    let mut c = Criterion::default()
        .with_measurement(ThreadCpu)
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let mut report = Report::default();
    for n in sizes() {
        run(&mut c, n, &mut report);
    }
    match ranges_count() {
        0 => {}
        n => run_ranges(&mut c, n, &mut report),
    }
    c.final_summary();
    eprintln!("\nsummary:");
    for r in &report.rows {
        eprintln!("{r}");
    }
}
