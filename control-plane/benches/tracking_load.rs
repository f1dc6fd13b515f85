//! Issue 20: tracking session starts over real HTTP on loopback.
//!
//! A tenant's tracking pools hold 20,000 numbers (4 pools of 5,000, taken by
//! criteria); BENCH_CLIENTS (32) concurrent clients send
//! `POST /v1/tracking-pools/{id}/sessions`, each for a new visitor, for
//! BENCH_SECONDS after a warm-up, HTTP/1.1 keep-alive. Reported: leased
//! starts a second, latency percentiles, fallbacks (pool exhausted) and
//! errors. Afterwards the database must hold exactly one live session per
//! leased answer, no number in two sessions, one event per lease.
//!
//! The control plane runs in this process on a runtime of its own (as in
//! `control_plane_load.rs`), over a fresh database on DATABASE_URL (an owner
//! or superuser URL); `benches/tracking.sh` starts a private durable
//! PostgreSQL when it is unset.
//!
//! Knobs (environment): BENCH_CLIENTS (32), BENCH_SECONDS (8),
//! BENCH_WARMUP_SECONDS (2), BENCH_DB_POOL_SIZE (16), BENCH_KEEP_DB (1).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use didroute_control_plane::config::{DbArgs, Settings};
use didroute_control_plane::db::{self, Db};
use didroute_control_plane::AppState;
use serde_json::{json, Value};
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio::runtime::Handle;
use uuid::Uuid;

const OPERATOR_TOKEN: &str = "bench-operator-token-0123456789";
const POOLS: usize = 4;
const POOL_SIZE: u32 = 5_000;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> Result<T> {
    match std::env::var(name) {
        Ok(v) => v.parse().map_err(|_| anyhow::anyhow!("{name}={v} is not valid")),
        Err(_) => Ok(default),
    }
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

fn main() -> Result<()> {
    let admin = std::env::var("DATABASE_URL").context("DATABASE_URL (an owner or superuser URL) is required")?;
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
    client_rt.block_on(bench(server, admin))
}

async fn post(http: &reqwest::Client, url: String, token: &str, body: Value) -> Result<(u16, Value)> {
    let res = http.post(url).bearer_auth(token).json(&body).send().await?;
    let status = res.status().as_u16();
    Ok((status, res.json().await.unwrap_or(Value::Null)))
}

async fn bench(rt: Handle, admin: String) -> Result<()> {
    let clients: usize = env_or("BENCH_CLIENTS", 32)?;
    let seconds: u64 = env_or("BENCH_SECONDS", 8)?;
    let warmup: u64 = env_or("BENCH_WARMUP_SECONDS", 2)?;
    let pool_size: u32 = env_or("BENCH_DB_POOL_SIZE", 16)?;
    let keep: bool = env_or::<u8>("BENCH_KEEP_DB", 0)? == 1;

    // the server, on its own runtime
    let name = format!("didroute_bench_{}", Uuid::new_v4().simple());
    let (base, state, stop) = {
        let (admin, name) = (admin.clone(), name.clone());
        rt.spawn(async move {
            let pool = PgPool::connect(&admin).await?;
            for s in ["fsync", "synchronous_commit"] {
                let v: String = sqlx::query_scalar(&format!("SHOW {s}")).fetch_one(&pool).await?;
                println!("PostgreSQL {s}: {v}");
            }
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
                db_acquire_timeout_ms: 2_000,
            };
            let state = AppState::new(Db::connect(&args, &url).await?, settings());
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let base = format!("http://{}", listener.local_addr()?);
            let (stop, rx) = tokio::sync::oneshot::channel::<()>();
            tokio::spawn(didroute_control_plane::run(listener, state.clone(), async move {
                let _ = rx.await;
            }));
            anyhow::Ok((base, state, stop))
        })
        .await??
    };
    let http = reqwest::Client::builder().pool_max_idle_per_host(1024).tcp_nodelay(true).build()?;

    // a tenant, 20,000 numbers, 4 pools of 5,000
    let (s, t) = post(&http, format!("{base}/v1/tenants"), OPERATOR_TOKEN, json!({ "name": "bench" })).await?;
    ensure!(s == 201, "tenant: {s} {t}");
    let tenant = t["id"].as_str().context("tenant id")?.to_owned();
    let (s, k) = post(&http, format!("{base}/v1/tenants/{tenant}/api-keys"), OPERATOR_TOKEN, json!({})).await?;
    ensure!(s == 201, "key: {s} {k}");
    let key = k["key"].as_str().context("key")?.to_owned();
    let numbers = "12125000000-12125019999";
    let body = json!({ "numbers": numbers, "country": "US", "monthly_cost": "1" });
    let (s, b) = post(&http, format!("{base}/v1/inventory"), OPERATOR_TOKEN, body).await?;
    ensure!(s == 200, "import: {s} {b}");
    let mut pools = Vec::new();
    for p in 0..POOLS {
        let criteria = json!({ "country": "US", "prefix": "12125" });
        let body = json!({ "name": format!("pool {p}"), "numbers": { "criteria": criteria, "quantity": 1000 },
                           "lease_seconds": 3600, "cooldown_seconds": 0 });
        let (s, b) = post(&http, format!("{base}/v1/tracking-pools"), &key, body).await?;
        ensure!(s == 201, "pool: {s} {b}");
        let id = b["id"].as_str().context("pool id")?.to_owned();
        for _ in 1..POOL_SIZE / 1000 {
            let res = http
                .patch(format!("{base}/v1/tracking-pools/{id}"))
                .bearer_auth(&key)
                .json(&json!({ "grow": { "criteria": criteria, "quantity": 1000 } }))
                .send()
                .await?;
            ensure!(res.status().as_u16() == 200, "grow: {}", res.text().await?);
        }
        pools.push(id);
    }
    println!("pools: {POOLS} of {POOL_SIZE} numbers; {clients} clients; {warmup} s warm-up, {seconds} s measured");
    println!("load avg before: {}", std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim());

    let start = Instant::now();
    let measure_from = start + Duration::from_secs(warmup);
    let end = measure_from + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (http, base, key, pool) = (http.clone(), base.clone(), key.clone(), pools[c % POOLS].clone());
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut leased, mut fallbacks, mut errors, mut numbers) =
                (Vec::new(), 0u64, 0u64, 0u64, Vec::new());
            let mut i = 0u64;
            while Instant::now() < end {
                i += 1;
                let t0 = Instant::now();
                let r = post(
                    &http,
                    format!("{base}/v1/tracking-pools/{pool}/sessions"),
                    &key,
                    json!({ "visitor_id": format!("c{c}-v{i}"), "attributes": { "utm_source": "bench" } }),
                )
                .await;
                let took = t0.elapsed();
                match r {
                    Ok((201, b)) => {
                        numbers.push(b["number"].as_str().unwrap_or_default().to_owned());
                        if t0 >= measure_from {
                            leased += 1;
                            lat.push(took);
                        }
                    }
                    Ok((200, _)) => fallbacks += 1,
                    _ => errors += 1,
                }
            }
            (lat, leased, fallbacks, errors, numbers)
        }));
    }
    let (mut lat, mut leased, mut fallbacks, mut errors, mut all) = (Vec::new(), 0, 0, 0, Vec::new());
    for t in tasks {
        let (l, n, f, e, nums) = t.await?;
        lat.extend(l);
        leased += n;
        fallbacks += f;
        errors += e;
        all.extend(nums);
    }
    lat.sort();
    let pct = |p: f64| lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1))).copied();
    let ms = |d: Option<Duration>| d.map_or("-".into(), |d| format!("{:.1} ms", d.as_secs_f64() * 1e3));
    println!(
        "session starts: {:.0}/s leased ({leased} in {seconds} s); p50 {}, p90 {}, p99 {}, max {}; fallbacks {fallbacks}, errors {errors}",
        leased as f64 / seconds as f64,
        ms(pct(0.50)),
        ms(pct(0.90)),
        ms(pct(0.99)),
        ms(lat.last().copied()),
    );
    println!("load avg after: {}", std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim());

    // the database agrees: one live session per leased answer, no number twice
    let distinct: HashSet<&String> = all.iter().collect();
    ensure!(distinct.len() == all.len(), "a number was leased to two sessions");
    let operator = state.db.operator.clone();
    let (live, numbers_live, leases): (i64, i64, i64) = rt
        .spawn(async move {
            sqlx::query_as(
                "SELECT (SELECT count(*) FROM tracking_sessions WHERE ended_at IS NULL),
                        (SELECT count(DISTINCT e164) FROM tracking_sessions WHERE ended_at IS NULL),
                        (SELECT count(*) FROM audit_log WHERE action = 'tracking.lease_start')",
            )
            .fetch_one(&operator)
            .await
        })
        .await??;
    ensure!(
        live == all.len() as i64 && numbers_live == live && leases == live,
        "database: {live} live sessions on {numbers_live} numbers, {leases} lease events; clients got {}",
        all.len()
    );
    println!("checked: {live} live sessions on {numbers_live} distinct numbers, one lease event each");

    let _ = stop.send(());
    let admin2 = admin.clone();
    rt.spawn(async move {
        state.db.app.close().await;
        state.db.operator.close().await;
        if !keep {
            let pool = PgPool::connect(&admin2).await?;
            sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)")).execute(&pool).await?;
            pool.close().await;
        }
        anyhow::Ok(())
    })
    .await??;
    Ok(())
}
