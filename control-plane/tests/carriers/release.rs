//! Hard delete by carrier module (Kazoo): an `inventory` number of a
//! configured carrier is disconnected there by the job worker; `local` and
//! `mdn` numbers never reach the carrier; a number its tenant may still
//! reclaim needs `?force=true`.

use std::time::Duration;

use didroute_control_plane::carriers::CarrierError;
use didroute_test_support::spawn_app_with;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::orders::{order, order_reaches, with_sim};
use crate::sim::{fast_settings, Sim};

#[tokio::test]
async fn a_hard_deleted_inventory_number_is_disconnected_at_the_carrier() {
    let sim = Sim::start();
    let app = spawn_app_with(with_sim(&sim)).await;
    let n = "+15552000200";
    let id = order(&app, json!({ "carrier": "sim", "numbers": [n] })).await;
    assert_eq!(
        order_reaches(&app, &id, &["completed", "failed"], Duration::from_secs(20)).await["status"],
        "completed"
    );
    let carrier = sim.carrier(fast_settings());
    carrier.number_status(n).await.expect("owned at the carrier");

    let (s, b) = app.op(Method::DELETE, "/v1/inventory/%2B15552000200", None).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        match carrier.number_status(n).await {
            Err(CarrierError::NotFound(_)) => break,
            other => assert!(tokio::time::Instant::now() < deadline, "still at the carrier: {other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let done: (String, i32) =
        sqlx::query_as("SELECT state, attempts FROM carrier_jobs WHERE kind = 'disconnect' AND e164 = $1")
            .bind(n)
            .fetch_one(&app.state.db.operator)
            .await
            .unwrap();
    assert_eq!(done.0, "done");
}

#[tokio::test]
async fn local_and_mdn_numbers_never_call_the_carrier() {
    let sim = Sim::start();
    let app = spawn_app_with(with_sim(&sim)).await;
    for (n, module) in [("+15552000210", "local"), ("+15552000211", "mdn")] {
        let body = json!({ "numbers": n, "country": "US", "provider": "sim", "carrier_module": module });
        let (s, b) = app.op(Method::POST, "/v1/inventory", Some(body)).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let (s, b) = app.op(Method::DELETE, &format!("/v1/inventory/{}", n.replace('+', "%2B")), None).await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    }
    let jobs: i64 =
        sqlx::query_scalar("SELECT count(*) FROM carrier_jobs").fetch_one(&app.state.db.operator).await.unwrap();
    assert_eq!(jobs, 0, "no carrier job for the tenant's own numbers");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sim.requests().await, 0, "the carrier was never called");
}

#[tokio::test]
async fn a_number_its_tenant_may_reclaim_needs_force_to_be_deleted() {
    let sim = Sim::start();
    let app = spawn_app_with(with_sim(&sim)).await;
    let t = app.tenant("Metro").await;
    app.import("+15550007000-+15550007001", "US").await;
    for n in ["+15550007000", "+15550007001"] {
        let (s, b) = app.allocate(&t, n, "utilities").await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        app.release(&t, n).await;
    }
    let (s, b) = app.op(Method::DELETE, "/v1/inventory/%2B15550007000", None).await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert_eq!(b["type"], "https://didroute.dev/problems/in-cooldown", "{b}");
    assert!(b["detail"].as_str().unwrap().contains("force=true"), "{b}");
    // aging: the reclaim window is open
    sqlx::query("UPDATE numbers SET status = 'aging' WHERE e164 = '+15550007001'")
        .execute(&app.state.db.operator)
        .await
        .unwrap();
    let (s, b) = app.op(Method::DELETE, "/v1/inventory/%2B15550007001", None).await;
    assert_eq!(
        (s, b["type"].as_str()),
        (StatusCode::CONFLICT, Some("https://didroute.dev/problems/reclaim-window-open"))
    );
    for n in ["%2B15550007000", "%2B15550007001"] {
        let (s, b) = app.op(Method::DELETE, &format!("/v1/inventory/{n}?force=true"), None).await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    }
    // provider "simulated" names no configured carrier: nothing to release there
    let jobs: i64 =
        sqlx::query_scalar("SELECT count(*) FROM carrier_jobs").fetch_one(&app.state.db.operator).await.unwrap();
    assert_eq!(jobs, 0);
    let (s, b) = app.op(Method::DELETE, "/v1/inventory/%2B15550007000?force=maybe", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
}

#[tokio::test]
async fn a_stale_disconnect_never_releases_a_number_back_in_the_inventory() {
    let sim = Sim::start();
    let app = spawn_app_with(with_sim(&sim)).await;
    let n = "+15552000230";
    let id = order(&app, json!({ "carrier": "sim", "numbers": [n] })).await;
    assert_eq!(
        order_reaches(&app, &id, &["completed", "failed"], Duration::from_secs(20)).await["status"],
        "completed"
    );
    // a disconnect written by an earlier hard delete, run only now that the
    // number is back in the inventory (re-imported, adopted or ordered again)
    let job: i64 = sqlx::query_scalar(
        "INSERT INTO carrier_jobs (kind, carrier, e164) VALUES ('disconnect', 'sim', $1) RETURNING id",
    )
    .bind(n)
    .fetch_one(&app.state.db.operator)
    .await
    .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let (state, error) = loop {
        let (state, error): (String, Option<String>) =
            sqlx::query_as("SELECT state, last_error FROM carrier_jobs WHERE id = $1")
                .bind(job)
                .fetch_one(&app.state.db.operator)
                .await
                .unwrap();
        if state != "queued" || tokio::time::Instant::now() > deadline {
            break (state, error);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(state, "dead", "the job is given up, not run");
    assert!(error.as_deref().unwrap_or_default().contains("in the inventory again"), "{error:?}");
    let carrier = sim.carrier(fast_settings());
    carrier.number_status(n).await.expect("still owned at the carrier");
}
