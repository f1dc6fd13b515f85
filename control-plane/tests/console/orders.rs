//! The operator's recent carrier orders in Chromium, against the carrier
//! simulator: newest first with their status (one completed, one the
//! carrier refused, with its reason), each leading to its
//! page; a bad cursor's problem shown. Every tenant's range routes on one page.

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

#[tokio::test]
async fn the_operator_sees_every_range_route_on_one_page() {
    let _one = browser::ONE_AT_A_TIME.lock().await;
    let app = didroute_test_support::spawn_app().await;
    let harbor = app.tenant("Harbor").await;
    let metro = app.tenant("Metro").await;
    app.import("12125550000-12125550099", "US").await;
    for (t, range) in [(&harbor, "12125550010-12125550019"), (&metro, "12125550050-12125550054")] {
        let body = json!({ "range": range, "subsystem": "psap", "dashboard_id": "ranges", "customer_label": "Block" });
        let (s, b) = app.op(Method::POST, &format!("/v1/tenants/{}/ranges", t.id), Some(body)).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }

    let b = Browser::start(1280).await;
    let c = &b.client;
    c.goto(&format!("{}/console/sign-in", app.base)).await.unwrap();
    fill(c, "#credential", OPERATOR_TOKEN).await;
    click(c, "form button[type=submit]").await;
    wait_path(c, "/console/tenants").await;
    click(c, "nav a[href=\"/console/ranges\"]").await;
    wait_path(c, "/console/ranges").await;
    assert_eq!(text(c, "p.muted").await, "2 range routes, 15 numbers");
    let mut table = Vec::new();
    for r in c.find_all(Locator::Css("table.ranges tbody tr")).await.unwrap() {
        table.push(r.text().await.unwrap());
    }
    assert_eq!(table.len(), 2, "{table:?}");
    assert!(table.iter().any(|r| r.starts_with("Harbor 12125550010-12125550019 10 psap")), "{table:?}");
    assert!(table.iter().any(|r| r.starts_with("Metro 12125550050-12125550054 5 psap")), "{table:?}");
    check_page(c, "ranges").await;
    click(c, &format!("a[href=\"/console/tenants/{}\"]", metro.id)).await;
    wait_path(c, &format!("/console/tenants/{}", metro.id)).await;
    c.clone().close().await.unwrap();
}
