//! Ordering from a carrier through the control plane: `POST /v1/orders`
//! writes the order, its pending numbers and a carrier job; the job worker
//! places it at `didroute-carrier-sim` (a process) and follows it. Faults:
//! a failed order, a 429 storm, the simulator killed mid-order, the control
//! plane stopped between order and poll (and its placement's commit lost).

use std::time::Duration;

use didroute_control_plane::config::Settings;
use didroute_test_support::{spawn_app_with, TestApp, TestTenant};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::sim::Sim;

pub fn with_sim(sim: &Sim) -> Settings {
    sim.settings()
}

pub async fn order(app: &TestApp, body: Value) -> String {
    let (s, b) = app.op(Method::POST, "/v1/orders", Some(body)).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    assert_eq!(b["status"], "pending");
    b["order_id"].as_str().unwrap().to_owned()
}

pub async fn order_view(app: &TestApp, id: &str) -> Value {
    let (s, b) = app.op(Method::GET, &format!("/v1/orders/{id}"), None).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b
}

/// Waits until the order's status is one of `states`.
pub async fn order_reaches(app: &TestApp, id: &str, states: &[&str], within: Duration) -> Value {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let v = order_view(app, id).await;
        if states.contains(&v["status"].as_str().unwrap()) {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "order never reached {states:?}: {v}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub async fn inventory(app: &TestApp, number: &str) -> Value {
    let (s, b) = app.op(Method::GET, &format!("/v1/inventory?contains={}", &number[1..]), None).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b["numbers"].as_array().unwrap().iter().find(|n| n["number"] == number).cloned().unwrap_or(Value::Null)
}

async fn allocate(app: &TestApp, t: &TestTenant, number: &str) -> StatusCode {
    app.allocate(t, number, "utilities").await.0
}

#[tokio::test]
async fn an_order_enters_pending_then_active_and_allocatable() {
    let sim = Sim::start();
    let app = spawn_app_with(with_sim(&sim)).await;
    let t = app.tenant("Metro").await;

    // the carrier's stock, with prices
    let (s, b) = app.op(Method::GET, "/v1/carriers/sim/available-numbers?country=US&area_code=555&limit=3", None).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["numbers"].as_array().unwrap().len(), 3, "{b}");
    assert_eq!(b["numbers"][0]["monthly_cost"], "1.00");
    let (s, b) = app.op(Method::GET, "/v1/carriers/nope/available-numbers?country=US", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
    let (s, b) = app.op(Method::GET, "/v1/carriers/sim/available-numbers?country=US&limit=0", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");

    // slow enough to see the pending state
    sim.admin("faults", json!({ "order_delay_ms": 1500 })).await;
    let n = "+15552000100";
    let id = order(&app, json!({ "carrier": "sim", "numbers": [n, "+15552000101"] })).await;
    let item = inventory(&app, n).await;
    assert_eq!(item["provisioning_status"], "pending", "{item}");
    assert_eq!(item["provider"], "sim", "{item}");
    assert_ne!(allocate(&app, &t, n).await, StatusCode::CREATED, "a pending number is not allocatable");

    let v = order_reaches(&app, &id, &["completed", "failed"], Duration::from_secs(20)).await;
    assert_eq!(v["status"], "completed", "{v}");
    assert!(v["carrier_order_id"].is_string(), "{v}");
    assert_eq!(v["numbers"][0]["provisioning_status"], "active", "{v}");
    let item = inventory(&app, n).await;
    assert_eq!(item["provisioning_status"], "active");
    // named numbers take the carrier's price, looked up before ordering
    assert_eq!((item["monthly_cost"].as_str(), item["currency"].as_str()), (Some("1.00"), Some("USD")), "{item}");
    assert_eq!(allocate(&app, &t, n).await, StatusCode::CREATED);
    assert_eq!(sim.state().await["counters"]["orders_placed"], 1);

    // by criteria: the worker searches, orders and records the carrier's prices
    sim.admin("faults", json!({ "order_delay_ms": 100 })).await;
    let id = order(&app, json!({ "carrier": "sim", "criteria": { "country": "US", "area_code": "800", "number_type": "toll_free" }, "quantity": 2 }))
        .await;
    let v = order_reaches(&app, &id, &["completed", "failed"], Duration::from_secs(20)).await;
    assert_eq!(v["status"], "completed", "{v}");
    let numbers = v["numbers"].as_array().unwrap();
    assert_eq!(numbers.len(), 2, "{v}");
    let first = numbers[0]["number"].as_str().unwrap();
    assert!(first.starts_with("+1800"), "{v}");
    let item = inventory(&app, first).await;
    assert_eq!((item["provisioning_status"].as_str(), item["monthly_cost"].as_str()), (Some("active"), Some("2.00")));
    assert_eq!(item["number_type"], "toll_free", "{item}");

    // bad orders are refused before anything is written
    for (body, want) in [
        (json!({ "carrier": "nope", "numbers": ["+15552000102"] }), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({ "carrier": "sim", "numbers": [] }), StatusCode::BAD_REQUEST),
        (json!({ "carrier": "sim", "numbers": ["12"] }), StatusCode::BAD_REQUEST),
        (json!({ "carrier": "sim", "numbers": ["+15552000102"], "carrier_module": "local" }), StatusCode::BAD_REQUEST),
        (
            json!({ "carrier": "sim", "numbers": ["+15552000102"], "carrier_module": "managed" }),
            StatusCode::BAD_REQUEST,
        ),
        (json!({ "carrier": "sim", "criteria": { "country": "XX" } }), StatusCode::BAD_REQUEST),
        (json!({ "carrier": "sim", "numbers": [n] }), StatusCode::CONFLICT),
    ] {
        let (s, b) = app.op(Method::POST, "/v1/orders", Some(body.clone())).await;
        assert_eq!(s, want, "{body}: {b}");
    }
    let (s, b) = app.op(Method::GET, "/v1/orders/00000000-0000-4000-8000-000000000000", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
}

#[tokio::test]
async fn an_order_the_carrier_fails_leaves_its_numbers_failed_and_unallocatable() {
    let sim = Sim::start();
    let app = spawn_app_with(with_sim(&sim)).await;
    let t = app.tenant("Metro").await;
    sim.admin("faults", json!({ "fail_orders": 1 })).await;
    let n = "+15552000110";
    let id = order(&app, json!({ "carrier": "sim", "numbers": [n] })).await;
    let v = order_reaches(&app, &id, &["completed", "failed"], Duration::from_secs(20)).await;
    assert_eq!(v["status"], "failed", "{v}");
    assert!(v["last_error"].as_str().unwrap().contains(n), "{v}");
    let item = inventory(&app, n).await;
    assert_eq!(
        (item["provisioning_status"].as_str(), item["status"].as_str()),
        (Some("purchase_failed"), Some("disabled"))
    );
    assert_ne!(allocate(&app, &t, n).await, StatusCode::CREATED);
    // a failed number can be deleted (the carrier does not hold it: nothing to release)
    let (s, b) = app.op(Method::DELETE, "/v1/inventory/%2B15552000110", None).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
}

#[tokio::test]
async fn a_429_storm_delays_the_order_without_losing_or_doubling_it() {
    let sim = Sim::start();
    let app = spawn_app_with(with_sim(&sim)).await;
    sim.admin("faults", json!({ "rate_limit_next": 8, "retry_after_secs": 1 })).await;
    let id = order(&app, json!({ "carrier": "sim", "numbers": ["+15552000120"] })).await;
    let v = order_reaches(&app, &id, &["completed", "failed"], Duration::from_secs(40)).await;
    assert_eq!(v["status"], "completed", "{v}");
    let state = sim.state().await;
    assert_eq!(state["counters"]["rate_limited"], 8, "{state}");
    assert_eq!(state["counters"]["orders_placed"], 1, "{state}");
    // per-carrier metrics: attempts by outcome, the breaker, the job backlog
    let metrics = reqwest::get(format!("{}/metrics", app.base)).await.unwrap().text().await.unwrap();
    for line in [
        "didroute_carrier_requests_total{carrier=\"sim\",outcome=\"rate_limited\"} 8",
        "didroute_carrier_breaker_state{carrier=\"sim\"} 0",
        "didroute_carrier_jobs_queued{carrier=\"sim\"} 0",
        "didroute_carrier_jobs_dead{carrier=\"sim\"} 0",
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
    assert!(metrics.contains("didroute_carrier_request_duration_seconds_count{carrier=\"sim\"}"), "{metrics}");
}

#[tokio::test]
async fn the_simulator_killed_mid_order_and_restarted_still_ends_with_one_order() {
    // a simulator that keeps its state, like a carrier: the order survives
    let state = std::env::temp_dir().join(format!("didroute-sim-{}.json", uuid::Uuid::new_v4()));
    let state_arg = state.to_str().unwrap().to_owned();
    let args = ["--state-file", state_arg.as_str(), "--state-save-ms", "20"];
    let mut sim = Sim::start_with("127.0.0.1:0", &args);
    let addr = sim.addr.to_string();
    let app = spawn_app_with(with_sim(&sim)).await;
    // the order stays pending at the carrier until the simulator dies (the
    // fault knobs are the process's: the restarted one completes it)
    sim.admin("faults", json!({ "order_delay_ms": 600_000 })).await;
    let n = "+15552000130";
    let id = order(&app, json!({ "carrier": "sim", "numbers": [n] })).await;
    let placed = order_reaches(&app, &id, &["placed"], Duration::from_secs(20)).await;
    // past one save interval, so the order is on disk
    tokio::time::sleep(Duration::from_millis(200)).await;
    sim.kill();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sim = Sim::start_with(&addr, &args);
    // the restarted simulator still has the order: the worker follows it (or,
    // had it lost the carrier order id, finds it by our reference) and never
    // places it again
    let v = order_reaches(&app, &id, &["completed", "failed"], Duration::from_secs(60)).await;
    assert_eq!(v["status"], "completed", "{v}");
    assert_eq!(v["carrier_order_id"], placed["carrier_order_id"], "{v}");
    assert_eq!(inventory(&app, n).await["provisioning_status"], "active");
    assert_eq!(sim.state().await["counters"]["orders_placed"], 1);
    drop(sim);
    let _ = std::fs::remove_file(&state);
}

#[tokio::test]
async fn another_instance_finishes_an_order_without_placing_it_twice() {
    let sim = Sim::start();
    let app = spawn_app_with(with_sim(&sim)).await;
    sim.admin("faults", json!({ "order_delay_ms": 3000 })).await;
    let (a, b) = ("+15552000140", "+15552000141");
    let first = order(&app, json!({ "carrier": "sim", "numbers": [a] })).await;
    let second = order(&app, json!({ "carrier": "sim", "numbers": [b] })).await;
    order_reaches(&app, &first, &["placed"], Duration::from_secs(20)).await;
    order_reaches(&app, &second, &["placed"], Duration::from_secs(20)).await;
    assert_eq!(sim.state().await["counters"]["orders_placed"], 2);
    // the first instance stops between placing and polling; one without a
    // job worker keeps the database's handle meanwhile
    let idle = app.another_instance_with(Settings { carrier_job_interval: None, ..with_sim(&sim) }).await;
    drop(app);
    tokio::time::sleep(Duration::from_millis(500)).await;
    // and as if the second placement's commit had been lost: no carrier order id
    let owner = sqlx::PgPool::connect(&idle.owner_url).await.unwrap();
    sqlx::query("UPDATE carrier_orders SET carrier_order_id = NULL, status = 'pending' WHERE id = $1::uuid")
        .bind(&second)
        .execute(&owner)
        .await
        .unwrap();
    let app = idle.another_instance_with(with_sim(&sim)).await;
    for id in [&first, &second] {
        let v = order_reaches(&app, id, &["completed", "failed"], Duration::from_secs(30)).await;
        assert_eq!(v["status"], "completed", "{v}");
    }
    assert_eq!(inventory(&app, a).await["provisioning_status"], "active");
    assert_eq!(inventory(&app, b).await["provisioning_status"], "active");
    assert_eq!(sim.state().await["counters"]["orders_placed"], 2, "the lost placement was found by its reference");
}

/// Two instances, each with a job worker, over one database and one
/// carrier: every order is placed exactly once and ends completed.
#[tokio::test]
async fn two_instances_place_each_order_once() {
    let sim = Sim::start();
    let app = spawn_app_with(with_sim(&sim)).await;
    let other = app.another_instance_with(with_sim(&sim)).await;
    // slow orders, so both workers follow pending orders side by side
    sim.admin("faults", json!({ "order_delay_ms": 500, "latency_ms": 20 })).await;
    let mut ids = Vec::new();
    for i in 0..12 {
        let via = if i % 2 == 0 { &app } else { &other };
        ids.push(order(via, json!({ "carrier": "sim", "numbers": [format!("+155520002{i:02}")] })).await);
    }
    for id in &ids {
        let v = order_reaches(&app, id, &["completed", "failed"], Duration::from_secs(60)).await;
        assert_eq!(v["status"], "completed", "{v}");
    }
    let state = sim.state().await;
    assert_eq!(state["counters"]["orders_placed"], 12, "{state}");
}
