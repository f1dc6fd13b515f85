//! The operator's recent carrier orders in Chromium, against the carrier
//! simulator: newest first with their status (one completed, one the
//! carrier refused, with its reason), each leading to its
//! page; a bad cursor's problem shown.

use std::time::Duration;

use didroute_test_support::carrier_sim::CarrierSim;
use didroute_test_support::{spawn_app_with, OPERATOR_TOKEN, PATIENCE};
use fantoccini::{Client, Locator};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::browser::{self, check_page, click, fill, text, Browser};
use crate::tenant::wait_path;

async fn rows(c: &Client) -> Vec<String> {
    let mut out = Vec::new();
    for r in c.find_all(Locator::Css("table.orders tbody tr")).await.unwrap() {
        out.push(r.text().await.unwrap());
    }
    out
}

#[tokio::test]
async fn the_operator_reads_recent_orders_in_a_browser() {
    let _one = browser::ONE_AT_A_TIME.lock().await;
    let sim = CarrierSim::start();
    let app = spawn_app_with(sim.settings()).await;
    let mut ids = Vec::new();
    for numbers in [json!(["+15552000110"]), json!(["+15552300200", "+15552300201"])] {
        let (s, b) = app.op(Method::POST, "/v1/orders", Some(json!({ "carrier": "sim", "numbers": numbers }))).await;
        assert_eq!(s, StatusCode::ACCEPTED, "{b}");
        ids.push(b["order_id"].as_str().unwrap().to_owned());
    }

    let b = Browser::start(1280).await;
    let c = &b.client;
    c.goto(&format!("{}/console/sign-in", app.base)).await.unwrap();
    fill(c, "#credential", OPERATOR_TOKEN).await;
    click(c, "form button[type=submit]").await;
    wait_path(c, "/console/tenants").await;
    click(c, "nav a[href=\"/console/orders\"]").await;
    wait_path(c, "/console/orders").await;

    // newest first, each settling at the simulator
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let table = rows(c).await;
        assert_eq!(table.len(), 2, "{table:?}");
        assert!(table[0].starts_with(&ids[1][..8]) && table[0].contains("+15552300201"), "newest first: {table:?}");
        assert!(table[1].starts_with(&ids[0][..8]) && table[1].contains("sim"), "{table:?}");
        // the simulator has the first; it refuses the second's numbers
        if table[1].contains("completed") && table[0].contains("failed") {
            assert!(table[0].contains("is not available"), "the carrier's reason: {table:?}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "orders not settled: {table:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
        c.refresh().await.unwrap();
    }
    check_page(c, "orders").await;

    // one order's page
    click(c, &format!("a[href=\"/console/carriers?order={}\"]", ids[0])).await;
    wait_path(c, "/console/carriers?order=").await;
    let facts = text(c, "dl.facts").await;
    assert!(facts.contains(&ids[0]) && facts.contains("completed"), "{facts}");

    // a cursor naming no order: the problem, not a restarted list
    c.goto(&format!("{}/console/orders?after=00000000-0000-0000-0000-000000000000", app.base)).await.unwrap();
    let shown = text(c, ".problem").await;
    assert!(shown.contains("after names no order"), "{shown}");
    c.clone().close().await.unwrap();
}
