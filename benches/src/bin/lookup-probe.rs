//! A fixed amount of lookup work for instruction-count profiling, which is
//! stable on a loaded machine where wall-clock timings are not:
//!
//! ```sh
//! valgrind --tool=callgrind --toggle-collect='*run_lookups*' --cache-sim=yes \
//!     /work/target-perf/release/lookup-probe 1000000 200000
//! ```
//!
//! Builds a base of N realistic numbers (default 1M), then looks up K random
//! present numbers (default 200k) through the store, or with a third
//! argument `miss` K realistic misses; only `run_lookups` is counted. Divide
//! `Ir` by K for instructions per lookup. `PROBE_USAGE=100000` also counts
//! each hit in a usage table of that many numbers, as a node counting usage
//! does (BENCHMARKS.md, usage counting).

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use didroute_benches::cpu::{process_cpu, process_user_sys};
use didroute_benches::data::Dataset;
use didroute_lookup::snapshot::BaseBuilder;
use didroute_lookup::usage::UsageCounter;
use didroute_lookup::{Snapshot, Store};
use didroute_shared::E164;

#[inline(never)]
fn run_lookups(store: &Store, keys: &[E164], usage: Option<&UsageCounter>) -> usize {
    let mut found = 0;
    let mut out = Vec::with_capacity(1024);
    for &k in keys {
        let s = store.load();
        if let Some(hit) = s.get(black_box(k)) {
            out.clear();
            hit.write_json(&mut out);
            found += out.len();
            // what `GET /v1/routes` adds on a hit when the node counts usage
            if let Some(usage) = usage {
                usage.count(k);
            }
        }
    }
    found
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let k: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let data = Dataset::generate(n, 42);
    // Build in two timed phases: pushing (route interning) and finishing
    // (sort + encode), each in wall time and in CPU time of all threads (a
    // large build uses two).
    let (w0, t0, u0) = (Instant::now(), process_cpu(), process_user_sys());
    let mut b = BaseBuilder::with_capacity(n);
    b.push_refs(
        data.entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.number, &data.routes[e.route as usize], e.version, Dataset::seq_of(i))),
    );
    let (w1, t1, u1) = (Instant::now(), process_cpu(), process_user_sys());
    let base = b.finish();
    let (w2, t2, u2) = (Instant::now(), process_cpu(), process_user_sys());
    eprintln!(
        "build of {n}: push {:.2?} + finish {:.2?} = {:.2?} wall; CPU push {:.2?} + finish {:.2?} (of which system {:.2?} + {:.2?})",
        w1 - w0,
        w2 - w1,
        w2 - w0,
        t1 - t0,
        t2 - t1,
        u1.1 - u0.1,
        u2.1 - u1.1
    );
    let store = Store::new(Snapshot::from_base(Arc::new(base), n as u64));
    // a third argument `miss` looks up realistic misses instead of hits
    let misses = args.next().is_some_and(|a| a == "miss");
    let keys = if misses { data.sample_misses(k, 1) } else { data.sample_hits(k, 1) };
    // PROBE_USAGE=N: count each hit in a usage table of N numbers (issue 21)
    let usage = std::env::var("PROBE_USAGE").ok().and_then(|n| n.parse().ok()).map(UsageCounter::new);
    let t = Instant::now();
    let bytes = run_lookups(&store, &keys, usage.as_ref());
    eprintln!("{k} lookups, {bytes} answer bytes, {:.0} ns each", t.elapsed().as_nanos() as f64 / k as f64);
}
