//! Backpressure: under more load than PostgreSQL (or the service) takes, the
//! control plane answers 503 `overloaded` with Retry-After quickly instead of
//! queueing without bound, changes nothing half-way, and recovers by itself.

use std::time::{Duration, Instant};

use didroute_control_plane::config::Settings;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{settings, spawn_app_with, spawn_app_with_pools, OPERATOR_TOKEN};

#[tokio::test]
async fn a_full_pool_is_answered_503_quickly_and_recovers() {
    // four a pool: the operator pool keeps two for the outbox and key listeners
    let app = spawn_app_with_pools(settings(), 4, 300).await;
    let tenant = app.tenant("Metro").await;
    // every connection of the tenant pool taken, as by slow transactions
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(app.state.db.app.acquire().await.unwrap());
    }
    let started = Instant::now();
    let res = app.http.get(format!("{}/v1/numbers", app.base)).bearer_auth(&tenant.key).send().await.unwrap();
    let waited = started.elapsed();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.headers()["retry-after"], "1");
    let problem: serde_json::Value = res.json().await.unwrap();
    assert_eq!(problem["type"].as_str().map(|t| t.ends_with("/overloaded")), Some(true), "{problem}");
    assert!(waited < Duration::from_secs(2), "answered after {waited:?}, not queued");
    drop(held);
    let (s, _) = app.call(Method::GET, "/v1/numbers", Some(&tenant.key), None).await;
    assert_eq!(s, StatusCode::OK, "recovered once connections are free");
}

#[tokio::test]
async fn a_request_past_its_time_is_stopped_whole_and_a_retry_applies_it_once() {
    let app = spawn_app_with(Settings { request_timeout: Duration::from_millis(500), ..settings() }).await;
    let tenant = app.tenant("Metro").await;
    app.import("+15550401000", "US").await;
    app.allocate_seq(&tenant, "+15550401000", "first").await;
    // another session holds the number's row: the remap waits on its lock
    let owner = sqlx::PgPool::connect(&app.owner_url).await.unwrap();
    let mut lock = owner.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM numbers WHERE e164 = '+15550401000' FOR UPDATE").execute(&mut *lock).await.unwrap();
    let remap = || {
        app.http
            .patch(format!("{}/v1/numbers/%2B15550401000", app.base))
            .bearer_auth(&tenant.key)
            .header("idempotency-key", "remap-under-load-1")
            .json(&json!({ "customer_label": "second" }))
            .send()
    };
    let started = Instant::now();
    let res = remap().await.unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(started.elapsed() < Duration::from_secs(3), "stopped at its time: {:?}", started.elapsed());
    let detail = res.json::<serde_json::Value>().await.unwrap()["detail"].as_str().unwrap().to_owned();
    assert!(detail.contains("500 ms"), "{detail}");
    lock.rollback().await.unwrap();
    let (_, number) = app.call(Method::GET, "/v1/numbers/%2B15550401000", Some(&tenant.key), None).await;
    assert_eq!(number["route"]["customer_label"], "first", "nothing changed half-way: {number}");
    let res = remap().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let (_, number) = app.call(Method::GET, "/v1/numbers/%2B15550401000", Some(&tenant.key), None).await;
    assert_eq!(number["route"]["customer_label"], "second");
}

#[tokio::test]
async fn past_the_in_flight_limit_requests_are_shed_and_probes_still_answer() {
    let app = spawn_app_with(Settings { max_in_flight: 1, ..settings() }).await;
    // one request in flight: a long poll with nothing to wait for
    let poll = app.http.get(format!("{}/v1/events?after=0&wait_ms=3000", app.base)).bearer_auth(OPERATOR_TOKEN).send();
    let poll = tokio::spawn(poll);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (s, problem) = app.op(Method::GET, "/v1/tenants", None).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("in flight"), "{problem}");
    for probe in ["/healthz", "/metrics"] {
        let res = app.http.get(format!("{}{probe}", app.base)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{probe}");
    }
    assert_eq!(poll.await.unwrap().unwrap().status(), StatusCode::OK);
    let (s, _) = app.op(Method::GET, "/v1/tenants", None).await;
    assert_eq!(s, StatusCode::OK, "recovered");
}
