//! docs/goals.md C1 and C3 over real HTTP on loopback.
//!
//! - C3: importing 1,000,000 numbers given as PortSIP ranges (1,000 ranges of
//!   1,000) in one `POST /v1/inventory`, timed end to end (request sent → 200
//!   with `imported = 1000000`), each run into a fresh database, the count
//!   checked in the database; plus one import of 1,000,000 more (4 ranges of
//!   250,000) into the table that already holds the first million.
//! - C1: `POST /v1/numbers` from 32 concurrent clients (4 tenants), one number
//!   per request, for a fixed time after a warm-up: first naming a specific
//!   number (every answer must be 201), then "any number matching"
//!   `{"criteria": {"country": "US"}}`. Throughput, latency percentiles and
//!   error counts; afterwards the database must hold exactly the numbers the
//!   clients were given, each once, with one sequenced event each. A
//!   one-client run of the first mode comes first, as the latency floor.
//!
//! The control plane runs in this process (`didroute_control_plane::run`,
//! built with the release profile under `cargo bench`) on a runtime of its
//! own, configured like `didroute-control-plane serve` with its defaults,
//! over a fresh database on the server at DATABASE_URL (an owner or superuser
//! URL). The load clients run on another runtime and speak HTTP/1.1
//! keep-alive. `benches/control-plane.sh` starts a private durable
//! PostgreSQL when DATABASE_URL is unset, prints the machine, and runs this.
//!
//! Knobs (environment): BENCH_CLIENTS (32), BENCH_SECONDS (20),
//! BENCH_WARMUP_SECONDS (3), BENCH_C3_RUNS (3), BENCH_DB_POOL_SIZE (16, the
//! service's default), BENCH_ONLY (`c1` or `c3`), BENCH_KEEP_DB (1: keep the
//! databases for inspection).

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::str::FromStr;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use didroute_control_plane::config::{DbArgs, Settings};
use didroute_control_plane::db::{self, Db};
use didroute_control_plane::AppState;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::Deserialize;
use serde_json::{json, Value};
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio::runtime::Handle;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use uuid::Uuid;

const OPERATOR_TOKEN: &str = "bench-operator-token-0123456789";
const TENANTS: usize = 4;
const MILLION: u64 = 1_000_000;
/// C3's ranges: 1,000 blocks of 1,000 numbers, one block per 10,000 (+1 201 200 0000 …).
const C3_BASE: u64 = 12_012_000_000;
/// The second million: 4 ranges of 250,000 (+1 303 000 0000 …).
const BIG_BASE: u64 = 13_030_000_000;

struct Knobs {
    clients: usize,
    seconds: u64,
    warmup: u64,
    c3_runs: usize,
    pool_size: u32,
    only: Option<String>,
    keep_db: bool,
}

fn env_or<T: FromStr>(name: &str, default: T) -> Result<T> {
    match std::env::var(name) {
        Ok(v) => v.trim().parse().map_err(|_| anyhow::anyhow!("{name}={v:?} is not a valid value")),
        Err(_) => Ok(default),
    }
}

impl Knobs {
    fn from_env() -> Result<Knobs> {
        let k = Knobs {
            clients: env_or("BENCH_CLIENTS", 32)?,
            seconds: env_or("BENCH_SECONDS", 20)?,
            warmup: env_or("BENCH_WARMUP_SECONDS", 3)?,
            c3_runs: env_or("BENCH_C3_RUNS", 3)?,
            pool_size: env_or("BENCH_DB_POOL_SIZE", 16)?,
            only: std::env::var("BENCH_ONLY").ok().filter(|s| !s.is_empty()),
            keep_db: std::env::var("BENCH_KEEP_DB").is_ok_and(|v| v == "1"),
        };
        ensure!(
            k.clients >= 1 && k.seconds >= 1 && k.c3_runs >= 1,
            "BENCH_CLIENTS, BENCH_SECONDS, BENCH_C3_RUNS must be ≥ 1"
        );
        if let Some(o) = &k.only {
            ensure!(o == "c1" || o == "c3", "BENCH_ONLY must be c1 or c3, got {o:?}");
        }
        Ok(k)
    }
    fn runs(&self, part: &str) -> bool {
        self.only.as_deref().is_none_or(|o| o == part)
    }
}

fn main() -> Result<()> {
    let knobs = Knobs::from_env()?;
    let admin = std::env::var("DATABASE_URL")
        .context("DATABASE_URL (an owner or superuser URL) is required: run benches/control-plane.sh, which starts a private PostgreSQL when it is unset")?;
    // the server and the load clients on separate runtimes, like two processes
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("control-plane")
        .enable_all()
        .build()?;
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("load-client")
        .enable_all()
        .build()?;
    let server = server_rt.handle().clone();
    client_rt.block_on(bench(server, admin, knobs))
}

async fn bench(rt: Handle, admin: String, knobs: Knobs) -> Result<()> {
    print_server_settings(&rt, &admin).await?;
    let http = reqwest::Client::builder().pool_max_idle_per_host(1024).tcp_nodelay(true).build()?;

    let mut c3 = Vec::new();
    if knobs.runs("c3") {
        for run in 1..=knobs.c3_runs {
            let app = App::start(&rt, &admin, knobs.pool_size).await?;
            c3.push(import_run(&http, &app, format!("fresh database, run {run}"), c3_ranges(), MILLION).await?);
            app.close(&admin, knobs.keep_db).await?;
        }
    }

    // C1's database: the first million as above, then the second into the non-empty table
    let app = App::start(&rt, &admin, knobs.pool_size).await?;
    let first = import_run(&http, &app, "C1 inventory, first million".into(), c3_ranges(), MILLION).await?;
    if !knobs.runs("c3") {
        c3.push(first);
    }
    c3.push(import_run(&http, &app, "onto 1,000,000 rows".into(), big_ranges(), 2 * MILLION).await?);
    print_c3(&c3);

    if knobs.runs("c1") {
        let c1 = c1(&http, &app, &knobs).await?;
        print_c1(&c1, &knobs);
    }
    app.close(&admin, knobs.keep_db).await?;
    Ok(())
}

/// Runs `f` on the server's runtime (its pools live there).
async fn on_server<T: Send + 'static>(rt: &Handle, f: impl Future<Output = Result<T>> + Send + 'static) -> Result<T> {
    rt.spawn(f).await?
}

async fn print_server_settings(rt: &Handle, admin: &str) -> Result<()> {
    let admin = admin.to_owned();
    let rows = on_server(rt, async move {
        let pool = PgPool::connect(&admin).await.context("connect to DATABASE_URL (is PostgreSQL running?)")?;
        let mut rows = Vec::new();
        for s in [
            "server_version",
            "fsync",
            "synchronous_commit",
            "full_page_writes",
            "wal_sync_method",
            "wal_level",
            "shared_buffers",
            "max_wal_size",
            "checkpoint_timeout",
            "max_connections",
        ] {
            let v: String = sqlx::query_scalar(&format!("SHOW {s}")).fetch_one(&pool).await?;
            rows.push((s, v));
        }
        pool.close().await;
        Ok(rows)
    })
    .await?;
    println!("PostgreSQL settings (as the benchmark sees them):");
    for (k, v) in &rows {
        println!("  {k:<20} {v}");
    }
    let durable = rows.iter().any(|(k, v)| *k == "fsync" && v == "on")
        && rows.iter().any(|(k, v)| *k == "synchronous_commit" && v == "on");
    if durable {
        println!("  durable: fsync=on, synchronous_commit=on (every commit waits for its WAL flush)");
    } else {
        println!("  WARNING: NOT DURABLE (fsync or synchronous_commit off): these figures do not count for C1/C3");
    }
    println!();
    Ok(())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

// ---------------------------------------------------------------------------
// the control plane under test

struct App {
    rt: Handle,
    base: String,
    state: AppState,
    db_name: String,
    stop: oneshot::Sender<()>,
    done: JoinHandle<anyhow::Result<()>>,
}

fn settings() -> Settings {
    // `serve`'s defaults
    Settings {
        operator_token: OPERATOR_TOKEN.to_owned(),
        more_operator_tokens: Vec::new(),
        cooldown: Duration::from_secs(300),
        reclaim_window: Duration::from_secs(10 * 24 * 3600),
        lifecycle_interval: Some(Duration::from_millis(5000)),
        tls: None,
        request_timeout: Duration::from_secs(10),
        max_in_flight: 1024,
        carriers: Vec::new(),
        carrier_job_interval: Some(Duration::from_millis(1000)),
        reconcile_interval: Some(Duration::from_secs(300)),
    }
}

impl App {
    /// A control plane on port 0 over a fresh, migrated database.
    async fn start(rt: &Handle, admin: &str, pool_size: u32) -> Result<App> {
        let admin = admin.to_owned();
        let (base, state, db_name, stop, done) = on_server(rt, async move {
            let name = format!("didroute_bench_{}", Uuid::new_v4().simple());
            let pool = PgPool::connect(&admin).await?;
            sqlx::query(&format!("CREATE DATABASE {name}")).execute(&pool).await?;
            pool.close().await;
            let url = db::with_database(&admin, &name)?;
            db::migrate(&url, None).await?;
            let args = DbArgs {
                database_url: None,
                app_database_url: None,
                operator_database_url: None,
                db_role_password: None,
                db_pool_size: pool_size,
                // serve's default unless overridden: overload runs show its 503s
                db_acquire_timeout_ms: env_or("BENCH_DB_ACQUIRE_TIMEOUT_MS", 2_000)?,
            };
            let state = AppState::new(Db::connect(&args, &url).await?, settings());
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let base = format!("http://{}", listener.local_addr()?);
            let (stop, rx) = oneshot::channel::<()>();
            let done = tokio::spawn(didroute_control_plane::run(listener, state.clone(), async move {
                let _ = rx.await;
            }));
            Ok((base, state, name, stop, done))
        })
        .await?;
        Ok(App { rt: rt.clone(), base, state, db_name, stop, done })
    }

    fn owner_url(&self, admin: &str) -> Result<String> {
        db::with_database(admin, &self.db_name)
    }

    /// A query on the operator pool (sees every row through its policies).
    async fn count(&self, sql: &'static str) -> Result<i64> {
        let pool = self.state.db.operator.clone();
        on_server(&self.rt, async move { Ok(sqlx::query_scalar(sql).fetch_one(&pool).await?) }).await
    }

    async fn close(self, admin: &str, keep: bool) -> Result<()> {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(15), self.done).await.context("control plane shutdown")???;
        let (state, admin, name) = (self.state, admin.to_owned(), self.db_name);
        on_server(&self.rt, async move {
            state.db.app.close().await;
            state.db.operator.close().await;
            if keep {
                eprintln!("kept database {name}");
            } else {
                let pool = PgPool::connect(&admin).await?;
                sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)")).execute(&pool).await?;
                pool.close().await;
            }
            Ok(())
        })
        .await
    }

    async fn post(&self, http: &reqwest::Client, path: &str, token: &str, body: Value) -> Result<(u16, Value)> {
        let res = http.post(format!("{}{path}", self.base)).bearer_auth(token).json(&body).send().await?;
        let status = res.status().as_u16();
        let text = res.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
    }
}

// ---------------------------------------------------------------------------
// C3: imports

/// 1,000 PortSIP ranges of 1,000 numbers.
fn c3_ranges() -> Vec<(u64, u64)> {
    (0..1000).map(|i| C3_BASE + i * 10_000).map(|first| (first, first + 999)).collect()
}

/// 4 PortSIP ranges of 250,000 numbers.
fn big_ranges() -> Vec<(u64, u64)> {
    (0..4).map(|i| BIG_BASE + i * 250_000).map(|first| (first, first + 249_999)).collect()
}

fn portsip(ranges: &[(u64, u64)]) -> String {
    ranges.iter().map(|(a, b)| format!("{a}-{b}")).collect::<Vec<_>>().join(";")
}

fn all_numbers(ranges: &[(u64, u64)]) -> impl Iterator<Item = String> + '_ {
    ranges.iter().flat_map(|&(a, b)| (a..=b).map(|n| format!("+{n}")))
}

struct ImportRun {
    label: String,
    ranges: String,
    body_bytes: usize,
    seconds: f64,
    imported: u64,
    in_db: i64,
    expected_in_db: u64,
    load: String,
}

async fn import_run(
    http: &reqwest::Client,
    app: &App,
    label: String,
    ranges: Vec<(u64, u64)>,
    expected_in_db: u64,
) -> Result<ImportRun> {
    let total: u64 = ranges.iter().map(|(a, b)| b - a + 1).sum();
    let text = portsip(&ranges);
    let body = json!({ "numbers": text, "country": "US", "monthly_cost": 1.25, "provider": "bench" });
    let body_bytes = body.to_string().len();
    eprintln!("C3 [{label}]: importing {total} numbers as {} ranges ({body_bytes} bytes of JSON)…", ranges.len());
    let load = loadavg();
    let started = Instant::now();
    let (status, answer) = app.post(http, "/v1/inventory", OPERATOR_TOKEN, body).await?;
    let seconds = started.elapsed().as_secs_f64();
    ensure!(status == 200, "import answered {status}: {answer}");
    let imported = answer["imported"].as_u64().context("import answer without imported")?;
    ensure!(imported == total, "imported {imported} of {total}: {answer}");
    ensure!(answer["rejected"].as_array().is_some_and(|r| r.is_empty()), "import rejected some input: {answer}");
    let in_db = app.count("SELECT count(*) FROM numbers").await?;
    ensure!(in_db as u64 == expected_in_db, "the database holds {in_db} numbers, expected {expected_in_db}");
    eprintln!("C3 [{label}]: {seconds:.2} s");
    Ok(ImportRun {
        label,
        ranges: format!("{} × {}", ranges.len(), ranges[0].1 - ranges[0].0 + 1),
        body_bytes,
        seconds,
        imported,
        in_db,
        expected_in_db,
        load,
    })
}

fn print_c3(runs: &[ImportRun]) {
    println!("C3: import 1,000,000 numbers given as PortSIP ranges, one POST /v1/inventory (bar: ≤ 10 s)");
    println!(
        "  {:<28} {:>13} {:>10} {:>9} {:>11} {:>14}  load avg (1 5 15 min) at start",
        "run", "ranges", "body B", "seconds", "imported", "rows in db"
    );
    for r in runs {
        println!(
            "  {:<28} {:>13} {:>10} {:>9.2} {:>11} {:>14}  {}",
            r.label, r.ranges, r.body_bytes, r.seconds, r.imported, r.in_db, r.load
        );
        debug_assert_eq!(r.in_db as u64, r.expected_in_db);
    }
    let mut fresh: Vec<f64> = runs.iter().filter(|r| r.expected_in_db == MILLION).map(|r| r.seconds).collect();
    fresh.sort_by(f64::total_cmp);
    let median = fresh[fresh.len() / 2];
    let worst = runs.iter().map(|r| r.seconds).fold(0.0, f64::max);
    println!(
        "  median into an empty table: {median:.2} s; slowest of all runs: {worst:.2} s → C3 {}",
        if worst <= 10.0 {
            "MET"
        } else if median <= 10.0 {
            "MET at the median, not in every run"
        } else {
            "MISSED"
        }
    );
    println!();
}

// ---------------------------------------------------------------------------
// C1: allocations

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Specific,
    Criteria,
}

struct Tenant {
    key: String,
}

/// One request, as a client saw it.
struct Sample {
    /// Completion, since the end of the warm-up.
    done_at: Duration,
    latency_us: u32,
    status: u16,
}

#[derive(Default)]
struct ClientOut {
    samples: Vec<Sample>,
    /// Numbers answered with 201, warm-up included.
    taken: Vec<String>,
    /// Non-201 answers, warm-up included, and a few of their bodies.
    failures: u64,
    failure_bodies: Vec<String>,
}

#[derive(Deserialize)]
struct Allocated {
    numbers: Vec<AllocatedNumber>,
}

#[derive(Deserialize)]
struct AllocatedNumber {
    number: String,
}

#[allow(clippy::too_many_arguments)]
async fn client(
    http: reqwest::Client,
    url: String,
    key: String,
    id: usize,
    mode: Mode,
    numbers: Vec<String>,
    warm_end: Instant,
    end: Instant,
) -> Result<ClientOut> {
    let mut out = ClientOut::default();
    let mut numbers = numbers.into_iter();
    let (dashboard, label) = (format!("bench-dashboard-{}", id % 8), format!("Bench client {id}"));
    while Instant::now() < end {
        let body = match mode {
            Mode::Specific => json!({
                "number": numbers.next().context("a client ran out of numbers: import more")?,
                "subsystem": "utilities", "dashboard_id": dashboard, "customer_label": label,
            }),
            Mode::Criteria => json!({
                "criteria": { "country": "US" },
                "subsystem": "utilities", "dashboard_id": dashboard, "customer_label": label,
            }),
        };
        let body = serde_json::to_vec(&body)?;
        let started = Instant::now();
        let res = http
            .post(&url)
            .bearer_auth(&key)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await;
        let (status, bytes) = match res {
            Ok(r) => {
                let status = r.status().as_u16();
                match r.bytes().await {
                    Ok(b) => (status, b),
                    Err(e) => (0, e.to_string().into_bytes().into()),
                }
            }
            Err(e) => (0, e.to_string().into_bytes().into()),
        };
        let finished = Instant::now();
        if status == 201 {
            let a: Allocated = serde_json::from_slice(&bytes).context("a 201 answer that is not an allocation")?;
            out.taken.extend(a.numbers.into_iter().map(|n| n.number));
        } else {
            out.failures += 1;
            if out.failure_bodies.len() < 3 {
                out.failure_bodies.push(format!("{status} {}", String::from_utf8_lossy(&bytes)));
            }
        }
        if started >= warm_end {
            out.samples.push(Sample {
                done_at: finished - warm_end,
                latency_us: (finished - started).as_micros().min(u32::MAX as u128) as u32,
                status,
            });
        }
    }
    Ok(out)
}

/// CPU seconds used so far: PostgreSQL's processes (None when the server
/// does not run on this machine) and this process's server and client threads.
#[derive(Clone, Default)]
struct Cpu {
    postgres: Option<BTreeMap<i32, f64>>,
    server: f64,
    client: f64,
}

/// utime + stime of a /proc/…/stat file, in seconds (USER_HZ is 100 on Linux).
fn proc_cpu(stat: &str) -> Option<f64> {
    let text = std::fs::read_to_string(stat).ok()?;
    let fields: Vec<&str> = text.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

async fn cpu_snapshot(app: &App) -> Result<Cpu> {
    let pool = app.state.db.operator.clone();
    // the benchmark database's backends and the server's background processes
    let pids: Vec<i32> = on_server(&app.rt, async move {
        Ok(sqlx::query_scalar("SELECT pid FROM pg_stat_activity WHERE datname = current_database() OR datname IS NULL")
            .fetch_all(&pool)
            .await?)
    })
    .await?;
    let mut postgres = BTreeMap::new();
    for pid in pids {
        let local = std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "postgres");
        if let Some(c) = proc_cpu(&format!("/proc/{pid}/stat")).filter(|_| local) {
            postgres.insert(pid, c);
        }
    }
    let mut cpu = Cpu { postgres: (!postgres.is_empty()).then_some(postgres), ..Cpu::default() };
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for t in tasks.flatten() {
            let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
            let used = proc_cpu(&t.path().join("stat").to_string_lossy()).unwrap_or(0.0);
            match comm.trim() {
                "control-plane" => cpu.server += used,
                "load-client" => cpu.client += used,
                _ => {}
            }
        }
    }
    Ok(cpu)
}

/// CPU milliseconds per allocation between two snapshots: (postgres, server, client).
fn cpu_per(before: &Cpu, after: &Cpu, allocations: usize) -> Option<(Option<f64>, f64, f64)> {
    if allocations == 0 {
        return None;
    }
    let per = |secs: f64| secs * 1000.0 / allocations as f64;
    let postgres = match (&before.postgres, &after.postgres) {
        (Some(b), Some(a)) => Some(per(a.iter().map(|(pid, c)| c - b.get(pid).copied().unwrap_or(0.0)).sum())),
        _ => None,
    };
    Some((postgres, per(after.server - before.server), per(after.client - before.client)))
}

struct ModeResult {
    label: &'static str,
    clients: usize,
    measured: Duration,
    /// 201s completed inside the measured window, per second.
    throughput: f64,
    /// Lowest and highest whole-second count inside the window.
    per_second: (u64, u64),
    /// Every request started inside the window.
    requests: u64,
    statuses: BTreeMap<u16, u64>,
    latencies_us: Vec<u32>,
    failures_total: u64,
    failure_bodies: Vec<String>,
    load_before: String,
    load_after: String,
    /// CPU milliseconds per allocation (warm-up included): postgres, server, client.
    cpu_ms: Option<(Option<f64>, f64, f64)>,
}

impl ModeResult {
    fn pct(&self, p: f64) -> f64 {
        let n = self.latencies_us.len();
        if n == 0 {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * n as f64).ceil() as usize;
        self.latencies_us[rank.clamp(1, n) - 1] as f64 / 1000.0
    }
    fn errors(&self) -> u64 {
        self.statuses.iter().filter(|(s, _)| **s != 201).map(|(_, c)| c).sum()
    }
}

#[allow(clippy::too_many_arguments)]
async fn load(
    http: &reqwest::Client,
    app: &App,
    tenants: &[Tenant],
    label: &'static str,
    mode: Mode,
    clients: usize,
    lists: Vec<Vec<String>>,
    warmup: Duration,
    measure: Duration,
) -> Result<(ModeResult, Vec<String>)> {
    eprintln!("C1 [{label}]: {clients} clients, {}s warm-up + {}s…", warmup.as_secs(), measure.as_secs());
    let url = format!("{}/v1/numbers", app.base);
    let load_before = loadavg();
    let cpu_before = cpu_snapshot(app).await?;
    let warm_end = Instant::now() + warmup;
    let end = warm_end + measure;
    let mut tasks = Vec::new();
    let mut lists = lists.into_iter();
    for c in 0..clients {
        let numbers = if mode == Mode::Specific { lists.next().context("a number list per client")? } else { vec![] };
        let key = tenants[c % tenants.len()].key.clone();
        tasks.push(tokio::spawn(client(http.clone(), url.clone(), key, c, mode, numbers, warm_end, end)));
    }
    let mut outs = Vec::new();
    for t in tasks {
        outs.push(t.await??);
    }
    let load_after = loadavg();
    let cpu_after = cpu_snapshot(app).await?;
    let secs = measure.as_secs() as usize;
    let mut buckets = vec![0u64; secs];
    let mut statuses = BTreeMap::new();
    let mut latencies_us = Vec::new();
    let (mut in_window, mut taken, mut failure_bodies, mut failures_total) = (0u64, Vec::new(), Vec::new(), 0);
    for o in outs {
        for s in &o.samples {
            *statuses.entry(s.status).or_insert(0u64) += 1;
            latencies_us.push(s.latency_us);
            if s.status == 201 && s.done_at < measure {
                in_window += 1;
                buckets[(s.done_at.as_secs() as usize).min(secs - 1)] += 1;
            }
        }
        taken.extend(o.taken);
        failures_total += o.failures;
        failure_bodies.extend(o.failure_bodies);
    }
    latencies_us.sort_unstable();
    failure_bodies.truncate(5);
    let r = ModeResult {
        label,
        clients,
        measured: measure,
        throughput: in_window as f64 / measure.as_secs_f64(),
        per_second: (buckets.iter().copied().min().unwrap_or(0), buckets.iter().copied().max().unwrap_or(0)),
        requests: latencies_us.len() as u64,
        statuses,
        latencies_us,
        failures_total,
        failure_bodies,
        load_before,
        load_after,
        cpu_ms: cpu_per(&cpu_before, &cpu_after, taken.len()),
    };
    eprintln!("C1 [{label}]: {:.0} allocations/s, p99 {:.1} ms, {} errors", r.throughput, r.pct(99.0), r.errors());
    Ok((r, taken))
}

struct C1 {
    modes: Vec<ModeResult>,
    checks: Vec<String>,
}

async fn c1(http: &reqwest::Client, app: &App, knobs: &Knobs) -> Result<C1> {
    let mut tenants = Vec::new();
    for i in 0..TENANTS {
        let (s, t) =
            app.post(http, "/v1/tenants", OPERATOR_TOKEN, json!({ "name": format!("bench tenant {i}") })).await?;
        ensure!(s == 201, "create tenant: {s} {t}");
        let id = t["id"].as_str().context("tenant id")?.to_owned();
        let (s, k) = app.post(http, &format!("/v1/tenants/{id}/api-keys"), OPERATOR_TOKEN, json!({})).await?;
        ensure!(s == 201, "create key: {s} {k}");
        tenants.push(Tenant { key: k["key"].as_str().context("key")?.to_owned() });
    }
    // like autovacuum after a bulk load: fresh statistics and visibility map
    let owner_url = app.owner_url(&std::env::var("DATABASE_URL")?)?;
    on_server(&app.rt, async move {
        let pool = PgPool::connect(&owner_url).await?;
        sqlx::query("VACUUM ANALYZE numbers").execute(&pool).await?;
        pool.close().await;
        Ok(())
    })
    .await?;

    // every client its own numbers, scattered over the 2,000,000 imported
    let mut numbers: Vec<String> = all_numbers(&c3_ranges()).chain(all_numbers(&big_ranges())).collect();
    numbers.shuffle(&mut rand::rngs::StdRng::seed_from_u64(3));
    let per_client = numbers.len() / (knobs.clients + 1);
    let mut lists: Vec<Vec<String>> = numbers.chunks(per_client).map(<[String]>::to_vec).collect();
    drop(numbers);

    let warmup = Duration::from_secs(knobs.warmup);
    let measure = Duration::from_secs(knobs.seconds);
    let mut modes = Vec::new();
    let mut checks = Vec::new();
    let mut all_taken: HashSet<String> = HashSet::new();
    let mut taken_count = 0u64;
    let runs: [(&'static str, Mode, usize, Duration); 3] = [
        ("specific number, 1 client", Mode::Specific, 1, Duration::from_secs(knobs.seconds.min(10))),
        ("specific number", Mode::Specific, knobs.clients, measure),
        ("any number, country=US", Mode::Criteria, knobs.clients, measure),
    ];
    for (label, mode, clients, measure) in runs {
        let mine: Vec<Vec<String>> = match mode {
            Mode::Specific => lists.drain(..clients).collect(),
            Mode::Criteria => vec![],
        };
        let (r, taken) = load(http, app, &tenants, label, mode, clients, mine, warmup, measure).await?;
        taken_count += taken.len() as u64;
        all_taken.extend(taken);
        // the outbox tracker sequences stragglers every 500 ms
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let allocated = app.count("SELECT count(*) FROM numbers WHERE status = 'allocated'").await?;
        let events = app.count("SELECT count(*) FROM outbox WHERE op = 'upsert'").await?;
        let unsequenced = app.count("SELECT count(*) FROM outbox WHERE seq IS NULL").await?;
        let head = app.count("SELECT coalesce(max(seq), 0) FROM outbox").await?;
        let ok = all_taken.len() as u64 == taken_count
            && allocated as u64 == taken_count
            && events as u64 == taken_count
            && unsequenced == 0
            && head as u64 == taken_count;
        checks.push(format!(
            "{label}: {} numbers answered 201 so far ({} distinct), {allocated} allocated in the database, \
             {events} upsert events, {unsequenced} unsequenced, head seq {head} → {}",
            taken_count,
            all_taken.len(),
            if ok { "consistent" } else { "INCONSISTENT" }
        ));
        ensure!(ok, "database check failed: {}", checks.last().unwrap());
        modes.push(r);
    }
    Ok(C1 { modes, checks })
}

fn print_c1(c1: &C1, knobs: &Knobs) {
    println!(
        "C1: POST /v1/numbers, one number per request, {} tenants, database pool {} per role \
         (bar: ≥ 1,000/s sustained with 32 clients, p99 ≤ 50 ms)",
        TENANTS, knobs.pool_size
    );
    println!(
        "  {:<27} {:>7} {:>5} {:>8} {:>7} {:>9} {:>11} {:>7} {:>7} {:>7} {:>8} {:>7}  load avg before → after",
        "mode",
        "clients",
        "secs",
        "requests",
        "errors",
        "alloc/s",
        "min-max /s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "p99.9 ms",
        "max ms",
    );
    for m in &c1.modes {
        println!(
            "  {:<27} {:>7} {:>5} {:>8} {:>7} {:>9.0} {:>11} {:>7.1} {:>7.1} {:>7.1} {:>8.1} {:>7.1}  {} → {}",
            m.label,
            m.clients,
            m.measured.as_secs(),
            m.requests,
            m.errors(),
            m.throughput,
            format!("{}-{}", m.per_second.0, m.per_second.1),
            m.pct(50.0),
            m.pct(90.0),
            m.pct(99.0),
            m.pct(99.9),
            m.pct(100.0),
            m.load_before,
            m.load_after,
        );
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "  CPU per allocation (ms, warm-up included; PostgreSQL = this database's backends and the \
         server's background processes):"
    );
    for m in &c1.modes {
        match m.cpu_ms {
            Some((pg, server, client)) => {
                let total = pg.unwrap_or(0.0) + server + client;
                println!(
                    "    {:<27} postgres {:>6} + control plane {:>5.2} + load client {:>5.2} = {:>5.2} ms → \
                     at most ~{:.0}/s on {cores} cores{}",
                    m.label,
                    pg.map_or("n/a".to_owned(), |p| format!("{p:.2}")),
                    server,
                    client,
                    total,
                    cores as f64 * 1000.0 / total,
                    if pg.is_none() { " (PostgreSQL not on this machine: not counted)" } else { "" },
                );
            }
            None => println!("    {:<27} no allocation to divide by", m.label),
        }
    }
    for m in &c1.modes {
        if m.failures_total > 0 {
            println!("  {}: {} non-201 answers (warm-up included), e.g.:", m.label, m.failures_total);
            for b in &m.failure_bodies {
                println!("    {}", b.chars().take(300).collect::<String>());
            }
        }
    }
    println!("  checks after each mode:");
    for c in &c1.checks {
        println!("    {c}");
    }
    for m in c1.modes.iter().filter(|m| m.clients == knobs.clients) {
        let met = m.throughput >= 1000.0 && m.pct(99.0) <= 50.0 && m.errors() == 0 && m.failures_total == 0;
        let mut why = Vec::new();
        if m.throughput < 1000.0 {
            why.push(format!("{:.0}/s < 1,000/s", m.throughput));
        }
        if m.pct(99.0) > 50.0 {
            why.push(format!("p99 {:.1} ms > 50 ms", m.pct(99.0)));
        }
        if m.errors() > 0 || m.failures_total > 0 {
            why.push(format!("{} non-201 answers", m.failures_total.max(m.errors())));
        }
        println!(
            "  C1 with {} ({} clients): {}",
            m.label,
            m.clients,
            if met { "MET".to_owned() } else { format!("MISSED ({})", why.join(", ")) }
        );
    }
    if knobs.clients != 32 {
        println!("  note: BENCH_CLIENTS={} — the bar is defined at 32 clients", knobs.clients);
    }
}
