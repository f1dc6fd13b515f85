//! A tenant's tracking pools in Chromium: create a pool by quantity, see a
//! live session (started over REST, as a web page would) and end it, a
//! refused shrink's problem by its form, grow, shrink, timings and
//! fallback, delete releasing the numbers.

use didroute_test_support::spawn_app;
use fantoccini::{Client, Locator};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::browser::{self, check_page, click, fill, text, Browser};
use crate::tenant::wait_path;

async fn facts(c: &Client) -> String {
    text(c, "dl.facts").await
}

/// The value of a fact (`dt`) on a pool's page.
async fn fact(c: &Client, name: &str) -> String {
    let all = facts(c).await;
    let mut lines = all.lines();
    while let Some(l) = lines.next() {
        if l.trim() == name {
            return lines.next().unwrap_or("").trim().to_owned();
        }
        if let Some(rest) = l.strip_prefix(name).and_then(|r| r.strip_prefix(' ')) {
            return rest.trim().to_owned();
        }
    }
    panic!("no {name} in {all}");
}

#[tokio::test]
async fn a_tenant_runs_tracking_pools_in_a_browser() {
    let _one = browser::ONE_AT_A_TIME.lock().await;
    let app = spawn_app().await;
    let acme = app.tenant("acme").await;
    app.import("15550401000-15550401009", "US").await;

    let b = Browser::start(1280).await;
    let c = &b.client;
    c.goto(&format!("{}/console/sign-in", app.base)).await.unwrap();
    fill(c, "#credential", &acme.key).await;
    click(c, "form button[type=submit]").await;
    wait_path(c, "/console/numbers").await;

    // create a pool of 3 US numbers
    click(c, "nav a[href=\"/console/tracking\"]").await;
    wait_path(c, "/console/tracking").await;
    assert!(text(c, "table.pools").await.contains("No tracking pools yet."));
    fill(c, "#name", "Spring campaign").await;
    fill(c, "#quantity", "3").await;
    fill(c, "#country", "US").await;
    fill(c, "#lease_seconds", "1800").await;
    fill(c, "#cooldown_seconds", "600").await;
    click(c, "form[action=\"/console/tracking\"] button[type=submit]").await;
    wait_path(c, "/console/tracking/").await;
    assert_eq!(text(c, ".done").await, "Pool created.");
    assert_eq!(text(c, "h1").await, "Pool Spring campaign");
    assert_eq!(fact(c, "Size").await, "3");
    assert_eq!(fact(c, "Free").await, "3");
    let pool_path = browser::path(c).await;
    let pool_path = pool_path.split('?').next().unwrap().to_owned();
    let id = pool_path.rsplit('/').next().unwrap().to_owned();

    // a visitor's session, started as a web page would
    let (s, session) = app
        .call(
            Method::POST,
            &format!("/v1/tracking-pools/{id}/sessions"),
            Some(&acme.key),
            Some(json!({ "visitor_id": "visitor-1" })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{session}");
    let leased = session["number"].as_str().unwrap().to_owned();
    c.goto(&format!("{}{pool_path}", app.base)).await.unwrap();
    assert_eq!(fact(c, "Leased").await, "1");
    let live = text(c, "ul.sessions").await;
    assert!(live.contains(&leased) && live.contains(session["session_id"].as_str().unwrap()), "{live}");
    let rows = text(c, "table.pool-numbers").await;
    assert_eq!(rows.matches("leased").count(), 1, "{rows}");
    check_page(c, "tracking-pool").await;

    // a refused shrink: more than the unleased numbers; the problem by its form
    fill(c, "#shrink_quantity", "3").await;
    click(c, "form[action$=\"/shrink\"] button").await;
    let deadline = tokio::time::Instant::now() + didroute_test_support::PATIENCE;
    while c.find(Locator::Css("form[action$=\"/shrink\"] .problem")).await.is_err() {
        assert!(tokio::time::Instant::now() < deadline, "no problem shown by the shrink form");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let shown = text(c, "form[action$=\"/shrink\"] .problem").await;
    assert!(shown.starts_with("Number in use: only 2 of the pool's numbers are not leased"), "{shown}");
    check_page(c, "tracking-shrink-refused").await;
    assert_eq!(fact(c, "Size").await, "3", "nothing removed");

    // grow by 2, then shrink by 1 keeping it
    fill(c, "#grow_quantity", "2").await;
    fill(c, "#grow_country", "US").await;
    click(c, "form[action$=\"/grow\"] button").await;
    wait_path(c, &format!("{pool_path}?done=pool-grown")).await;
    assert_eq!(fact(c, "Size").await, "5");
    fill(c, "#shrink_quantity", "1").await;
    click(c, "form[action$=\"/shrink\"] button").await;
    wait_path(c, &format!("{pool_path}?done=pool-shrunk")).await;
    assert_eq!(fact(c, "Size").await, "4");

    // timings and the fallback
    fill(c, "#lease_seconds", "900").await;
    fill(c, "#fallback_number", "+15550409999").await;
    click(c, "form[action$=\"/settings\"] button").await;
    wait_path(c, &format!("{pool_path}?done=pool-updated")).await;
    assert_eq!(fact(c, "Lease").await, "900 s");
    assert_eq!(fact(c, "Fallback").await, "+15550409999");

    // end the live session: its number cools down
    click(c, "ul.sessions form button").await;
    wait_path(c, &format!("{pool_path}?done=session-ended")).await;
    assert_eq!(fact(c, "Leased").await, "0");
    assert_eq!(fact(c, "Cooling").await, "1");
    let (_, ended) = app
        .call(
            Method::GET,
            &format!("/v1/tracking-sessions/{}", session["session_id"].as_str().unwrap()),
            Some(&acme.key),
            None,
        )
        .await;
    assert!(ended["ended_at"].is_string(), "{ended}");

    // the list shows the counts
    c.goto(&format!("{}/console/tracking", app.base)).await.unwrap();
    let row = text(c, "table.pools tbody tr").await;
    assert!(row.starts_with("Spring campaign 4 0 1 3"), "{row}");
    check_page(c, "tracking-pools").await;

    // delete, releasing the numbers
    click(c, "table.pools a").await;
    wait_path(c, &pool_path).await;
    c.find(Locator::Css("#numbers")).await.unwrap().select_by_value("release").await.unwrap();
    click(c, "form[action$=\"/delete\"] button").await;
    wait_path(c, "/console/tracking?done=pool-deleted").await;
    assert!(text(c, "table.pools").await.contains("No tracking pools yet."));
    let (_, mine) = app.call(Method::GET, "/v1/numbers", Some(&acme.key), None).await;
    let statuses: Vec<&str> =
        mine["numbers"].as_array().unwrap().iter().map(|n| n["status"].as_str().unwrap()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == "cooldown").count(), 4, "the pool's 4 released: {mine}");
    assert_eq!(statuses.iter().filter(|s| **s == "allocated").count(), 1, "the one shrunk away kept: {mine}");
    c.clone().close().await.unwrap();
}
