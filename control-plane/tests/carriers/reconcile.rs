//! Reconciliation against the simulator: a number disconnected behind
//! didroute's back is disabled and its route withdrawn (a lookup node
//! answers 404 after one run); a pending number the carrier reports active
//! becomes active; numbers the carrier holds that didroute does not are
//! counted as orphans.

use std::time::Duration;

use didroute_control_plane::config::Settings;
use didroute_control_plane::service::reconcile;
use didroute_test_support::{spawn_app_with, start_lookup, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::orders::{inventory, order, order_reaches, with_sim};
use crate::sim::Sim;

async fn latest_finished(app: &TestApp, id: i64) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (s, b) = app.op(Method::GET, "/v1/reconciliations/latest", None).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        if b["reconciliation_id"] == id && b["status"] == "finished" {
            return b;
        }
        assert!(tokio::time::Instant::now() < deadline, "reconciliation {id} did not finish: {b}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_number_disconnected_behind_our_back_stops_routing_after_one_reconciliation() {
    let sim = Sim::start();
    let app = spawn_app_with(with_sim(&sim)).await;
    let (s, b) = app.op(Method::GET, "/v1/reconciliations/latest", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
    let t = app.tenant("Metro").await;
    let (gone, kept) = ("+15552000280", "+15552000281");
    let id = order(&app, json!({ "carrier": "sim", "numbers": [gone, kept] })).await;
    assert_eq!(
        order_reaches(&app, &id, &["completed", "failed"], Duration::from_secs(20)).await["status"],
        "completed"
    );
    for n in [gone, kept] {
        let (s, b) = app.allocate(&t, n, "psap").await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }
    let node = start_lookup(&app).await;
    let lookup = |n: &str| format!("http://{}/v1/routes/{}", node.local_addr(), n.replace('+', "%2B"));
    assert_eq!(reqwest::get(lookup(gone)).await.unwrap().status(), StatusCode::OK);
    // and a number the carrier bills for that didroute does not hold
    sim.admin("orphans", json!({ "phone_numbers": ["+15552000289"] })).await;

    sim.admin("disconnect", json!({ "phone_number": gone })).await;
    let (s, b) = app.op(Method::POST, "/v1/reconciliations", None).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    let report = latest_finished(&app, b["reconciliation_id"].as_i64().unwrap()).await;
    let sim_report = &report["carriers"][0];
    assert_eq!(sim_report["carrier"], "sim", "{report}");
    assert_eq!(sim_report["gone"], 1, "{report}");
    assert_eq!(sim_report["gone_numbers"], json!([gone]), "{report}");
    assert_eq!(sim_report["orphans"], 1, "{report}");
    assert_eq!(sim_report["orphan_numbers"], json!(["+15552000289"]), "{report}");
    assert_eq!(sim_report["checked"], 2, "{report}");

    let item = inventory(&app, gone).await;
    assert_eq!(
        (item["provisioning_status"].as_str(), item["status"].as_str()),
        (Some("purchase_failed"), Some("disabled"))
    );
    // the lookup node stops routing it; the other number still routes
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while reqwest::get(lookup(gone)).await.unwrap().status() != StatusCode::NOT_FOUND {
        assert!(tokio::time::Instant::now() < deadline, "the lookup node still routes {gone}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(reqwest::get(lookup(kept)).await.unwrap().status(), StatusCode::OK);
    let audited: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE e164 = $1 AND action = 'carrier.gone'")
        .bind(gone)
        .fetch_one(&app.state.db.operator)
        .await
        .unwrap();
    assert_eq!(audited, 1);
    let metrics = reqwest::get(format!("{}/metrics", app.base)).await.unwrap().text().await.unwrap();
    assert!(metrics.contains("didroute_carrier_orphans{carrier=\"sim\"} 1"), "{metrics}");

    // a second run finds nothing more to do
    let (_, b) = app.op(Method::POST, "/v1/reconciliations", None).await;
    let report = latest_finished(&app, b["reconciliation_id"].as_i64().unwrap()).await;
    assert_eq!(report["carriers"][0]["gone"], 0, "{report}");
}

#[tokio::test]
async fn a_pending_number_the_carrier_reports_active_becomes_active() {
    let sim = Sim::start();
    // no job worker: the order stays unplaced, its number pending
    let app = spawn_app_with(Settings { carrier_job_interval: None, ..with_sim(&sim) }).await;
    let n = "+15552000310";
    order(&app, json!({ "carrier": "sim", "numbers": [n] })).await;
    assert_eq!(inventory(&app, n).await["provisioning_status"], "pending");
    // the carrier has it active (bought by another path)
    sim.admin("orphans", json!({ "phone_numbers": [n] })).await;
    let id =
        reconcile::run_due(&app.state, Some(Duration::from_secs(300)), None).await.unwrap().expect("a scheduled run");
    let report = latest_finished(&app, id).await;
    assert_eq!(report["trigger"], "schedule");
    assert_eq!(report["carriers"][0]["activated_numbers"], json!([n]), "{report}");
    assert_eq!(report["carriers"][0]["orphans"], 0, "{report}");
    assert_eq!(inventory(&app, n).await["provisioning_status"], "active");
    // the schedule is not due again yet
    assert_eq!(reconcile::run_due(&app.state, Some(Duration::from_secs(300)), None).await.unwrap(), None);
}

#[tokio::test]
async fn orphans_are_listed_with_their_cost_then_adopted_or_disconnected() {
    let sim = Sim::start();
    let app = spawn_app_with(with_sim(&sim)).await;
    let (adopted, released, toll_free) = ("+15552000290", "+15552000291", "+18002000019");
    sim.admin("orphans", json!({ "phone_numbers": [adopted, released, toll_free] })).await;
    let (_, b) = app.op(Method::POST, "/v1/reconciliations", None).await;
    let report = latest_finished(&app, b["reconciliation_id"].as_i64().unwrap()).await;
    assert_eq!(report["carriers"][0]["orphans"], 3, "{report}");

    let (s, list) = app.op(Method::GET, "/v1/orphans", None).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let orphans = list["orphans"].as_array().unwrap();
    assert_eq!(orphans.len(), 3, "{list}");
    let of = |n: &str| orphans.iter().find(|o| o["number"] == n).cloned().unwrap();
    assert_eq!((of(adopted)["monthly_cost"].as_str(), of(adopted)["currency"].as_str()), (Some("1.00"), Some("USD")));
    assert_eq!(of(toll_free)["monthly_cost"], "2.00", "{list}");
    assert_eq!(of(adopted)["carrier"], "sim");
    assert_eq!(list["monthly_cost_total"], json!([{ "currency": "USD", "monthly_cost": "4.00" }]), "{list}");
    let metrics = reqwest::get(format!("{}/metrics", app.base)).await.unwrap().text().await.unwrap();
    assert!(
        metrics.contains("didroute_carrier_monthly_cost_orphaned{carrier=\"sim\",currency=\"USD\"} 4"),
        "{metrics}"
    );

    let (s, item) = app.op(Method::POST, "/v1/orphans/%2B15552000290/adopt", None).await;
    assert_eq!(s, StatusCode::OK, "{item}");
    assert_eq!(
        (item["provider"].as_str(), item["provisioning_status"].as_str(), item["monthly_cost"].as_str()),
        (Some("sim"), Some("active"), Some("1.00"))
    );
    let t = app.tenant("Metro").await;
    assert_eq!(app.allocate(&t, adopted, "utilities").await.0, StatusCode::CREATED, "an adopted number is allocatable");
    let (s, b) = app.op(Method::POST, "/v1/orphans/%2B15552000290/adopt", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");

    let (s, b) = app.op(Method::POST, "/v1/orphans/%2B15552000291/disconnect", None).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    assert_eq!(b["status"], "disconnecting");
    let carrier = sim.carrier(crate::sim::fast_settings());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while carrier.number_status(released).await.is_ok() {
        assert!(tokio::time::Instant::now() < deadline, "{released} is still at the carrier");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, list) = app.op(Method::GET, "/v1/orphans", None).await;
    assert_eq!(list["orphans"].as_array().unwrap().len(), 1, "{list}");
}
