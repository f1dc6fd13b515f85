//! Issue 19 point 9: one reconciliation of 1,000,000 numbers at the carrier
//! against 1,000,000 in the inventory, with drift, in ≤ 60 s.
//!
//! - The carrier: `didroute-carrier-sim` as a process (the release build next
//!   to this benchmark, or DIDROUTE_CARRIER_SIM_BIN), holding 999,000 numbers
//!   of US 303 (`/_sim/bulk`) plus 1,000 of US 720 the inventory does not
//!   hold (orphans): 1,000,000 owned numbers.
//! - The inventory: the 1,000,000 numbers +1 303 200 0000 … +1 303 299 9999
//!   imported in one `POST /v1/inventory` with `provider: sim`, so the last
//!   1,000 are gone at the carrier.
//! - Timed: `POST /v1/reconciliations` until `GET /v1/reconciliations/latest`
//!   answers `finished` (polled every 50 ms), the run found by the carrier
//!   job worker's loop as in production; its report must say 1,000,000 owned
//!   at the carrier, 1,000,000 checked, exactly 1,000 gone and 1,000 orphans,
//!   and the database must hold 1,000 disabled numbers and 1,000 orphans.
//!
//! The control plane runs in this process (`didroute_control_plane::run`,
//! release profile under `cargo bench`) on a runtime of its own over a fresh
//! database on the server at DATABASE_URL (an owner or superuser URL).
//! `benches/reconcile.sh` builds the simulator, starts a private durable
//! PostgreSQL when DATABASE_URL is unset, prints the machine and runs this.
//!
//! Knobs (environment): BENCH_RUNS (1; each run a fresh database and
//! simulator), BENCH_KEEP_DB (1: keep the databases).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use didroute_control_plane::carriers::{CarrierConfig, CarrierKind};
use didroute_control_plane::config::{DbArgs, Settings};
use didroute_control_plane::db::{self, Db};
use didroute_control_plane::AppState;
use serde_json::{json, Value};
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio::runtime::Handle;
use uuid::Uuid;

const OPERATOR_TOKEN: &str = "bench-operator-token-0123456789";
const SIM_TOKEN: &str = "bench-sim-token";
const INVENTORY: u64 = 1_000_000;
const GONE: u64 = 1_000;
const ORPHANS: u64 = 1_000;
/// The bar.
const BAR_S: f64 = 60.0;

fn sim_binary() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("DIDROUTE_CARRIER_SIM_BIN") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe()?;
    let dir = exe.parent().and_then(|deps| deps.parent()).context("target/<profile>/deps")?;
    let bin = dir.join(format!("didroute-carrier-sim{}", std::env::consts::EXE_SUFFIX));
    ensure!(bin.exists(), "{} is missing: run `cargo build --release -p didroute-carrier-sim` first", bin.display());
    Ok(bin)
}

struct Sim {
    child: Child,
    base: String,
}

impl Sim {
    fn start() -> Result<Sim> {
        let mut child = Command::new(sim_binary()?)
            .args(["--listen", "127.0.0.1:0", "--token", SIM_TOKEN, "--order-delay-ms", "200"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("start didroute-carrier-sim")?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().context("piped stdout")?).read_line(&mut line)?;
        let addr = line.trim().strip_prefix("listening on ").context("the simulator's first line")?.to_owned();
        Ok(Sim { child, base: format!("http://{addr}") })
    }

    async fn bulk(&self, http: &reqwest::Client, ndc: &str, count: u64) -> Result<Value> {
        let res = http
            .post(format!("{}/_sim/bulk", self.base))
            .json(&json!({ "count": count, "country": "US", "ndc": ndc }))
            .send()
            .await?;
        ensure!(res.status().is_success(), "bulk {ndc}: {}", res.status());
        Ok(res.json().await?)
    }

    fn rss_mib(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let kb: f64 = status.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb / 1024.0)
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn settings(sim: &Sim) -> Settings {
    // `serve`'s defaults, the schedule off: the one run is the requested one
    Settings {
        operator_token: OPERATOR_TOKEN.to_owned(),
        more_operator_tokens: Vec::new(),
        cooldown: Duration::from_secs(300),
        reclaim_window: Duration::from_secs(10 * 24 * 3600),
        lifecycle_interval: Some(Duration::from_millis(5000)),
        tls: None,
        request_timeout: Duration::from_secs(10),
        max_in_flight: 1024,
        carriers: vec![CarrierConfig {
            name: "sim".into(),
            kind: CarrierKind::Telnyx,
            base_url: sim.base.clone(),
            token: SIM_TOKEN.into(),
        }],
        carrier_job_interval: Some(Duration::from_millis(1000)),
        reconcile_interval: None,
    }
}

struct Run {
    seconds: f64,
    run_seconds: f64,
    load_before: String,
    load_after: String,
    sim_rss: Option<f64>,
}

fn main() -> Result<()> {
    let admin = std::env::var("DATABASE_URL")
        .context("DATABASE_URL (an owner or superuser URL) is required: run benches/reconcile.sh")?;
    let runs: usize = std::env::var("BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(1);
    let keep = std::env::var("BENCH_KEEP_DB").is_ok_and(|v| v == "1");
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("control-plane")
        .enable_all()
        .build()?;
    let client_rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let server = server_rt.handle().clone();
    let mut results = Vec::new();
    for i in 1..=runs.max(1) {
        results.push(client_rt.block_on(run(server.clone(), &admin, keep, i))?);
    }
    println!();
    println!("Reconciliation of 1,000,000 numbers at the carrier (issue 19 point 9, bar ≤ {BAR_S} s)");
    println!("| run | POST → finished | started → finished | load avg before → after | simulator RSS | met |");
    println!("|---|---|---|---|---|---|");
    for (i, r) in results.iter().enumerate() {
        println!(
            "| {} | {:.2} s | {:.2} s | {} → {} | {} | {} |",
            i + 1,
            r.seconds,
            r.run_seconds,
            r.load_before,
            r.load_after,
            r.sim_rss.map(|m| format!("{m:.0} MiB")).unwrap_or_else(|| "?".into()),
            if r.seconds <= BAR_S { "yes" } else { "no" }
        );
    }
    Ok(())
}

async fn on_server<T: Send + 'static>(
    rt: &Handle,
    f: impl std::future::Future<Output = Result<T>> + Send + 'static,
) -> Result<T> {
    rt.spawn(f).await?
}

async fn run(rt: Handle, admin: &str, keep: bool, n: usize) -> Result<Run> {
    let http = reqwest::Client::new();
    let sim = Sim::start()?;
    let prepared = Instant::now();
    let a = sim.bulk(&http, "303", INVENTORY - GONE).await?;
    let b = sim.bulk(&http, "720", ORPHANS).await?;
    ensure!(b["owned"] == INVENTORY - GONE + ORPHANS, "simulator owns {a} then {b}");
    eprintln!("run {n}: simulator owns {} numbers ({:.1} s)", b["owned"], prepared.elapsed().as_secs_f64());

    let settings = settings(&sim);
    let admin_url = admin.to_owned();
    let (base, state, name, stop, done) = on_server(&rt, async move {
        let name = format!("didroute_bench_{}", Uuid::new_v4().simple());
        let pool = PgPool::connect(&admin_url).await.context("connect to DATABASE_URL")?;
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&pool).await?;
        pool.close().await;
        let url = db::with_database(&admin_url, &name)?;
        db::migrate(&url, None).await?;
        let args = DbArgs {
            database_url: None,
            app_database_url: None,
            operator_database_url: None,
            db_role_password: None,
            db_pool_size: 16,
            db_acquire_timeout_ms: 2_000,
        };
        let state = AppState::new(Db::connect(&args, &url).await?, settings);
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let (stop, rx) = tokio::sync::oneshot::channel::<()>();
        let done = tokio::spawn(didroute_control_plane::run(listener, state.clone(), async move {
            let _ = rx.await;
        }));
        Ok((base, state, name, stop, done))
    })
    .await?;

    let post = |path: &str, body: Value| {
        http.post(format!("{base}{path}"))
            .bearer_auth(OPERATOR_TOKEN)
            .header("Idempotency-Key", Uuid::new_v4().to_string())
            .json(&body)
            .send()
    };
    let imported = Instant::now();
    let res = post(
        "/v1/inventory",
        json!({ "numbers": "13032000000-13032999999", "country": "US", "provider": "sim",
                "carrier_module": "inventory", "monthly_cost": "1.00", "currency": "USD" }),
    )
    .await?;
    ensure!(res.status() == 200, "import answered {}", res.status());
    let answer: Value = res.json().await?;
    ensure!(answer["imported"] == INVENTORY, "import: {answer}");
    eprintln!("run {n}: inventory holds {INVENTORY} numbers ({:.1} s)", imported.elapsed().as_secs_f64());

    let load_before = loadavg();
    let started = Instant::now();
    let res = post("/v1/reconciliations", json!({})).await?;
    ensure!(res.status() == 202, "POST /v1/reconciliations answered {}", res.status());
    let id = res.json::<Value>().await?["reconciliation_id"].as_i64().context("reconciliation_id")?;
    let report = loop {
        let latest: Value = http
            .get(format!("{base}/v1/reconciliations/latest"))
            .bearer_auth(OPERATOR_TOKEN)
            .send()
            .await?
            .json()
            .await?;
        if latest["reconciliation_id"] == id && matches!(latest["status"].as_str(), Some("finished" | "failed")) {
            break latest;
        }
        ensure!(started.elapsed() < Duration::from_secs(600), "reconciliation {id} still not finished: {latest}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let seconds = started.elapsed().as_secs_f64();
    let load_after = loadavg();
    eprintln!("run {n}: reconciliation {id} ended in {seconds:.2} s");
    let c = &report["carriers"][0];
    ensure!(report["status"] == "finished" && c["error"].is_null(), "reconciliation failed: {report}");
    ensure!(c["owned_at_carrier"] == INVENTORY, "owned_at_carrier: {c}");
    ensure!(c["checked"] == INVENTORY, "checked: {c}");
    ensure!(c["gone"] == GONE, "gone: {c}");
    ensure!(c["orphans"] == ORPHANS, "orphans: {c}");
    ensure!(c["activated"] == 0, "activated: {c}");
    ensure!(c["gone_numbers"][0] == "+13032999000", "the first gone number: {c}");
    ensure!(c["orphan_numbers"][0] == "+17202000000", "the first orphan: {c}");
    let pool = state.db.operator.clone();
    let (disabled, orphans, run_seconds) = on_server(&rt, async move {
        let disabled: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM numbers WHERE status = 'disabled' AND provisioning_status = 'purchase_failed'",
        )
        .fetch_one(&pool)
        .await?;
        let orphans: i64 = sqlx::query_scalar("SELECT count(*) FROM carrier_orphans").fetch_one(&pool).await?;
        let run: f64 = sqlx::query_scalar(
            "SELECT extract(epoch FROM finished_at - started_at)::float8 FROM reconciliations WHERE id = $1",
        )
        .bind(id)
        .fetch_one(&pool)
        .await?;
        Ok((disabled, orphans, run))
    })
    .await?;
    ensure!(disabled as u64 == GONE, "{disabled} numbers disabled, expected {GONE}");
    ensure!(orphans as u64 == ORPHANS, "{orphans} orphans recorded, expected {ORPHANS}");
    let sim_rss = sim.rss_mib();

    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(15), done).await.context("control plane shutdown")???;
    let admin_url = admin.to_owned();
    on_server(&rt, async move {
        state.db.app.close().await;
        state.db.operator.close().await;
        if keep {
            eprintln!("kept database {name}");
        } else {
            let pool = PgPool::connect(&admin_url).await?;
            sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)")).execute(&pool).await?;
            pool.close().await;
        }
        Ok(())
    })
    .await?;
    Ok(Run { seconds, run_seconds, load_before, load_after, sim_rss })
}
