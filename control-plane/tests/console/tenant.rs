//! A tenant admin's day in the console, in Chromium: sign in by keyboard,
//! the numbers table and its search, allocate, a refused allocation, remap,
//! a refused remap, release, the history, sign out.

use std::time::Duration;

use didroute_test_support::{spawn_app, PATIENCE};
use fantoccini::{Client, Locator};
use reqwest::StatusCode;

use crate::browser::{self, check_page, click, fill, js, path, source, text, Browser};

const TAB: &str = "\u{E004}";
const ENTER: &str = "\u{E007}";

/// Waits until the page's path and query start with `want`.
pub async fn wait_path(c: &Client, want: &str) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let now = path(c).await;
        if now.starts_with(want) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "still at {now}, waiting for {want}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn rows(c: &Client) -> Vec<String> {
    let mut out = Vec::new();
    for r in c.find_all(Locator::Css("tbody tr")).await.unwrap() {
        out.push(r.text().await.unwrap());
    }
    out
}

#[tokio::test]
async fn a_tenant_manages_its_numbers_in_a_browser() {
    let _one = browser::ONE_AT_A_TIME.lock().await;
    let app = spawn_app().await;
    let acme = app.tenant("acme").await;
    let other = app.tenant("other").await;
    app.import("15550007000-15550007009", "US").await;
    let (s, _) = app.allocate(&acme, "+15550007001", "psap").await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = app.allocate(&other, "+15550007005", "utilities").await;
    assert_eq!(s, StatusCode::CREATED);

    let b = Browser::start(1280).await;
    let c = &b.client;

    // signed out, every page leads to sign-in
    c.goto(&format!("{}/console/numbers", app.base)).await.unwrap();
    wait_path(c, "/console/sign-in").await;
    check_page(c, "sign-in").await;

    // sign in with the keyboard only: type, Tab to the button, Enter
    click(c, "#credential").await;
    c.active_element().await.unwrap().send_keys(&acme.key).await.unwrap();
    c.active_element().await.unwrap().send_keys(TAB).await.unwrap();
    let focused = js(c, "return document.activeElement.tagName + ' ' + document.activeElement.textContent").await;
    assert_eq!(focused, "BUTTON Sign in", "Tab reaches the sign-in button");
    c.active_element().await.unwrap().send_keys(ENTER).await.unwrap();
    wait_path(c, "/console/numbers").await;

    // nothing of the key in the page, the URL or the cookie
    assert!(!source(c).await.contains(&acme.key), "the key is not in the page");
    assert!(!c.current_url().await.unwrap().as_str().contains(&acme.key[4..]), "nor in the URL");
    let cookies = c.get_all_cookies().await.unwrap();
    let session = cookies.iter().find(|k| k.name() == "didroute_console").expect("the session cookie");
    assert_eq!(session.http_only(), Some(true), "HttpOnly");
    assert_eq!(format!("{:?}", session.same_site()), "Some(Strict)", "SameSite=Strict");
    assert_ne!(session.secure(), Some(true), "not Secure over plain http");
    assert!(!session.value().contains(&acme.key[4..]), "the cookie holds a session id, not the key");

    // the table: the number allocated over REST, with its badges and route
    let table = rows(c).await;
    assert_eq!(table.len(), 1, "{table:?}");
    assert!(table[0].contains("+15550007001") && table[0].contains("allocated") && table[0].contains("Metro 911"));
    assert!(table[0].contains("psap") && table[0].contains("1.25 USD"), "{table:?}");
    check_page(c, "numbers").await;

    // allocate: choose from the available numbers, fill the route
    c.goto(&format!("{}/console/allocate?country=US", app.base)).await.unwrap();
    check_page(c, "allocate").await;
    let available = rows(c).await;
    assert!(available.iter().any(|r| r.contains("+15550007002")), "{available:?}");
    assert!(!available.iter().any(|r| r.contains("+15550007005")), "a taken number is not offered");
    click(c, "a[href=\"/console/allocate?number=%2B15550007002\"]").await;
    wait_path(c, "/console/allocate?number=").await;
    fill(c, "#dashboard_id", "harbor-1").await;
    fill(c, "#customer_label", "Harbor desk").await;
    c.find(Locator::Css("#subsystem")).await.unwrap().select_by_value("mdoc").await.unwrap();
    click(c, "form[action=\"/console/allocate\"] button[type=submit]").await;
    wait_path(c, "/console/numbers/+15550007002?done=allocated").await;
    assert_eq!(text(c, ".done").await, "Allocated.");
    assert!(text(c, "dl.facts").await.contains("Harbor desk"));
    assert!(source(c).await.contains("No usage data"), "no lookups yet");
    check_page(c, "number").await;

    // a refused allocation: the problem's title and detail by the form, as REST says them
    let (s, problem) = app.allocate(&acme, "+15550007005", "utilities").await;
    assert!(s.is_client_error(), "{s}");
    let (title, detail) = (problem["title"].as_str().unwrap(), problem["detail"].as_str().unwrap());
    c.goto(&format!("{}/console/allocate?number=%2B15550007005", app.base)).await.unwrap();
    fill(c, "#dashboard_id", "taken-try").await;
    fill(c, "#customer_label", "Taken").await;
    click(c, "form[action=\"/console/allocate\"] button[type=submit]").await;
    wait_path(c, "/console/allocate").await;
    let shown = text(c, "form[action=\"/console/allocate\"] .problem").await;
    assert!(shown.contains(title) && shown.contains(detail), "{shown:?} vs {problem}");
    let kept = c.find(Locator::Css("#dashboard_id")).await.unwrap().prop("value").await.unwrap();
    assert_eq!(kept.as_deref(), Some("taken-try"), "the form comes back as it was sent");
    check_page(c, "allocate-refused").await;

    // search and filters
    c.goto(&format!("{}/console/numbers", app.base)).await.unwrap();
    fill(c, "#q", "harbor").await;
    click(c, "form[role=search] button").await;
    wait_path(c, "/console/numbers?q=harbor").await;
    let found = rows(c).await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("+15550007002"));
    c.find(Locator::Css("#q")).await.unwrap().clear().await.unwrap();
    c.find(Locator::Css("#subsystem")).await.unwrap().select_by_value("psap").await.unwrap();
    click(c, "form[role=search] button").await;
    wait_path(c, "/console/numbers?q=&status=&subsystem=psap").await;
    let found = rows(c).await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("+15550007001"));

    // remap
    c.goto(&format!("{}/console/numbers/+15550007002", app.base)).await.unwrap();
    fill(c, "#customer_label", "Harbor night desk").await;
    click(c, "form[action$=\"/remap\"] button").await;
    wait_path(c, "/console/numbers/+15550007002?done=remapped").await;
    assert!(text(c, "dl.facts").await.contains("Harbor night desk"));

    // a refused remap: the problem by the remap form, what was typed kept
    let long = "d".repeat(201);
    fill(c, "#dashboard_id", &long).await;
    click(c, "form[action$=\"/remap\"] button").await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while c.find(Locator::Css("form[action$=\"/remap\"] .problem")).await.is_err() {
        assert!(tokio::time::Instant::now() < deadline, "no problem shown by the remap form");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let shown = text(c, "form[action$=\"/remap\"] .problem").await;
    assert!(shown.contains("dashboard_id is longer than 200 characters"), "{shown}");
    let kept = c.find(Locator::Css("#dashboard_id")).await.unwrap().prop("value").await.unwrap();
    assert_eq!(kept.as_deref(), Some(long.as_str()));
    check_page(c, "remap-refused").await;

    // release with reason and notes
    c.goto(&format!("{}/console/numbers/+15550007002", app.base)).await.unwrap();
    fill(c, "#reason", "customer left").await;
    fill(c, "#notes", "ticket 42\nport-out requested").await;
    click(c, "form[action$=\"/release\"] button").await;
    wait_path(c, "/console/numbers?done=released").await;
    let table = rows(c).await;
    let row = table.iter().find(|r| r.contains("+15550007002")).expect("still listed in cooldown");
    assert!(row.contains("cooldown"), "{row}");

    // the history: every change, newest first
    click(c, "a[href=\"/console/numbers/+15550007002\"]").await;
    wait_path(c, "/console/numbers/+15550007002").await;
    let history = text(c, "ol.timeline").await;
    let at = |what: &str| history.find(what).unwrap_or_else(|| panic!("{what} in {history}"));
    assert!(at("number.release") < at("number.remap") && at("number.remap") < at("number.allocate"), "{history}");
    assert!(history.contains("customer left"), "{history}");
    assert!(text(c, "dl.facts").await.contains("ticket 42"));
    check_page(c, "history").await;

    // cooldown over (moved on by the lifecycle job): aging, and reclaimed from its page
    sqlx::query("UPDATE numbers SET cooldown_until = now() - interval '1 second' WHERE e164 = '+15550007002'")
        .execute(&app.state.db.operator)
        .await
        .unwrap();
    let report = didroute_control_plane::service::lifecycle::run_once(&app.state.db).await.unwrap();
    assert_eq!(report.cooled_down, 1);
    c.goto(&format!("{}/console/numbers/+15550007002", app.base)).await.unwrap();
    assert!(text(c, "dl.facts").await.contains("aging"));
    check_page(c, "reclaim").await;
    click(c, "form[action$=\"/reclaim\"] button").await;
    wait_path(c, "/console/numbers/+15550007002?done=reclaimed").await;
    assert!(text(c, "dl.facts").await.contains("allocated"));
    assert!(text(c, "ol.timeline").await.starts_with("number.reclaim"), "the newest entry first");

    // on a phone
    c.set_window_size(390, 844).await.unwrap();
    c.goto(&format!("{}/console/numbers", app.base)).await.unwrap();
    check_page(c, "numbers-phone").await;
    let overflow = js(c, "return document.documentElement.scrollWidth > window.innerWidth + 1").await;
    assert_eq!(overflow, false, "the page fits a phone's width (wide tables scroll inside their box)");
    c.set_window_size(1280, 900).await.unwrap();

    // sign out: the cookie is gone, pages lead to sign-in again
    click(c, "form.signout button").await;
    wait_path(c, "/console/sign-in").await;
    let cookies = c.get_all_cookies().await.unwrap();
    assert!(!cookies.iter().any(|k| k.name() == "didroute_console"), "{cookies:?}");
    c.goto(&format!("{}/console/numbers/+15550007001", app.base)).await.unwrap();
    wait_path(c, "/console/sign-in").await;
    c.clone().close().await.unwrap();
}
