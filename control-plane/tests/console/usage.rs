//! Usage from lookups in the console, in Chromium: a lookup node counts
//! real lookups and ships them; the tenant sees them in the numbers table's
//! sparkline, the number's chart (hours and days, the busy bucket marked)
//! and the busiest numbers; the operator sees every tenant's.

use didroute_lookup::{Config, Node};
use didroute_test_support::{eventually, spawn_app, within, OPERATOR_TOKEN};
use fantoccini::{Client, Locator};
use reqwest::{Method, StatusCode};

use crate::browser::{self, check_page, click, fill, source, text, Browser};
use crate::tenant::wait_path;

const BUSY: &str = "+15550301001";
const QUIET: &str = "+15550301002";
const OTHER: &str = "+15550301005";

async fn sign_in(c: &Client, base: &str, credential: &str, lands: &str) {
    c.goto(&format!("{base}/console/sign-in")).await.unwrap();
    fill(c, "#credential", credential).await;
    click(c, "form button[type=submit]").await;
    wait_path(c, lands).await;
}

async fn rows(c: &Client) -> Vec<String> {
    let mut out = Vec::new();
    for r in c.find_all(Locator::Css("tbody tr")).await.unwrap() {
        out.push(r.text().await.unwrap());
    }
    out
}

#[tokio::test]
async fn lookups_show_in_the_console_as_sparklines_charts_and_busiest_numbers() {
    let _one = browser::ONE_AT_A_TIME.lock().await;
    let app = spawn_app().await;
    let acme = app.tenant("acme").await;
    let other = app.tenant("other").await;
    app.import("15550301000-15550301009", "US").await;
    for n in [BUSY, QUIET] {
        let (s, _) = app.allocate(&acme, n, "psap").await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let (s, _) = app.allocate(&other, OTHER, "utilities").await;
    assert_eq!(s, StatusCode::CREATED);

    // a lookup node flushing its counts every 200 ms; real lookups
    let token = app.feed_token("console usage node").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = Config { usage_flush_ms: 200, ..Config::new(app.base.clone(), token) };
    let node = Node::start(&config, listener).await.unwrap();
    within("lookup node ready", node.wait_ready()).await;
    let head = app.op(Method::GET, "/v1/events?after=0&limit=1", None).await.1["head_seq"].as_u64().unwrap();
    for (n, times) in [(BUSY, 5), (QUIET, 2), (OTHER, 3)] {
        for _ in 0..times {
            let url = format!("http://{}/v1/routes/{n}?min_seq={head}", node.local_addr());
            assert_eq!(app.http.get(url).send().await.unwrap().status(), StatusCode::OK);
        }
    }
    eventually("the node's counts are stored", || async {
        let (_, top) = app.op(Method::GET, "/v1/usage/top", None).await;
        top["numbers"].as_array().is_some_and(|n| n.len() == 3)
    })
    .await;

    let b = Browser::start(1280).await;
    let c = &b.client;
    sign_in(c, &app.base, &acme.key, "/console/numbers").await;

    // the table: a sparkline per number with its total, the busiest list
    let table = rows(c).await;
    let busy_row = table.iter().find(|r| r.contains(BUSY)).expect("the busy number listed");
    assert_eq!(busy_row.split_whitespace().last(), Some("5"), "the 24 h total by the sparkline: {busy_row:?}");
    let quiet_row = table.iter().find(|r| r.contains(QUIET)).expect("the quiet number listed");
    assert_eq!(quiet_row.split_whitespace().last(), Some("2"), "{quiet_row:?}");
    let sparks = c.find_all(Locator::Css("td .chart.spark")).await.unwrap();
    assert_eq!(sparks.len(), 2, "one sparkline per number with lookups");
    let label = sparks[0].attr("aria-label").await.unwrap().unwrap();
    assert!(label.contains("over the last 24 hours"), "{label}");
    let busiest = text(c, "ol.busiest").await;
    assert!(busiest.find(BUSY).unwrap() < busiest.find(QUIET).unwrap(), "busiest first: {busiest}");
    assert!(!busiest.contains(OTHER), "another tenant's number is not shown: {busiest}");
    check_page(c, "usage-numbers").await;

    // the number's chart: 24 hourly bars, this hour the busy one
    c.goto(&format!("{}/console/numbers/{BUSY}", app.base)).await.unwrap();
    let bars = c.find_all(Locator::Css(".usage .chart span")).await.unwrap();
    assert_eq!(bars.len(), 24, "the last 24 hours");
    let busy = c.find_all(Locator::Css(".usage .chart span.busy")).await.unwrap();
    assert_eq!(busy.len(), 1, "one busy hour");
    assert!(busy[0].attr("title").await.unwrap().unwrap().ends_with(": 5 lookups"));
    let note = text(c, ".busy-note").await;
    assert!(note.starts_with("Busy hour: ") && note.contains("with 5 lookups"), "{note}");
    check_page(c, "usage-number-hours").await;

    // by days, switched by a link (keyboard-reachable like every action)
    click(c, ".bucket-switch a[href$=\"?bucket=day\"]").await;
    wait_path(c, &format!("/console/numbers/{BUSY}?bucket=day")).await;
    assert_eq!(c.find_all(Locator::Css(".usage .chart span")).await.unwrap().len(), 30, "the last 30 days");
    assert!(text(c, ".busy-note").await.starts_with("Busy day: "));
    assert_eq!(text(c, ".bucket-switch a[aria-current]").await, "days");
    check_page(c, "usage-number-days").await;

    // the busiest numbers page, over 7 days
    click(c, "nav a[href=\"/console/usage\"]").await;
    wait_path(c, "/console/usage").await;
    c.find(Locator::Css("#hours")).await.unwrap().select_by_value("168").await.unwrap();
    click(c, "form[action=\"/console/usage\"] button").await;
    wait_path(c, "/console/usage?hours=168").await;
    let top = rows(c).await;
    assert_eq!(top.len(), 2, "{top:?}");
    assert!(top[0].contains(BUSY) && top[0].ends_with('5'), "{top:?}");
    assert!(top[1].contains(QUIET) && top[1].ends_with('2'), "{top:?}");
    check_page(c, "usage-busiest").await;

    // a bad span: the problem's title and detail by the form
    c.goto(&format!("{}/console/usage?hours=5", app.base)).await.unwrap();
    let shown = text(c, ".card .problem").await;
    assert!(shown.contains("hours must be one of 24, 168 and 720"), "{shown}");
    click(c, "form.signout button").await;
    wait_path(c, "/console/sign-in").await;

    // the operator: every tenant's, or one tenant's
    sign_in(c, &app.base, OPERATOR_TOKEN, "/console/tenants").await;
    c.goto(&format!("{}/console/usage", app.base)).await.unwrap();
    let all = rows(c).await;
    assert_eq!(all.len(), 3, "{all:?}");
    assert!(all[0].contains(BUSY) && all[0].contains("acme"), "{all:?}");
    assert!(all.iter().any(|r| r.contains(OTHER) && r.contains("other")), "{all:?}");
    check_page(c, "usage-busiest-operator").await;
    c.find(Locator::Css("#tenant")).await.unwrap().select_by_value(&other.id.to_string()).await.unwrap();
    click(c, "form[action=\"/console/usage\"] button").await;
    wait_path(c, "/console/usage?hours=24&tenant=").await;
    let one = rows(c).await;
    assert_eq!(one.len(), 1, "{one:?}");
    assert!(one[0].contains(OTHER), "{one:?}");
    assert!(!source(c).await.contains(&acme.key), "no key in the page");
    c.clone().close().await.unwrap();
    drop(node);
}
