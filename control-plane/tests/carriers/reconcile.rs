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
    let id = reconcile::run_due(&app.state, Some(Duration::from_secs(300))).await.unwrap().expect("a scheduled run");
    let report = latest_finished(&app, id).await;
    assert_eq!(report["trigger"], "schedule");
    assert_eq!(report["carriers"][0]["activated_numbers"], json!([n]), "{report}");
    assert_eq!(report["carriers"][0]["orphans"], 0, "{report}");
    assert_eq!(inventory(&app, n).await["provisioning_status"], "active");
    // the schedule is not due again yet
    assert_eq!(reconcile::run_due(&app.state, Some(Duration::from_secs(300))).await.unwrap(), None);
}
