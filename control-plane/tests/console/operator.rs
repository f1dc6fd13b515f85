//! The operator in the console, in Chromium: tenants, a key shown once and
//! revoked, imports (pasted range, uploaded CSV), inventory search, the
//! read-only carrier, orphan and reconciliation pages.

use didroute_test_support::{spawn_app, OPERATOR_TOKEN};
use fantoccini::{Client, Locator};
use reqwest::{Method, StatusCode};

use crate::browser::{self, check_page, click, fill, text, Browser};
use crate::tenant::wait_path;

async fn rows(c: &Client) -> usize {
    c.find_all(Locator::Css("tbody tr")).await.unwrap().len()
}

#[tokio::test]
async fn the_operator_runs_tenants_and_inventory_in_a_browser() {
    let _one = browser::ONE_AT_A_TIME.lock().await;
    let app = spawn_app().await;
    let b = Browser::start(1280).await;
    let c = &b.client;

    c.goto(&format!("{}/console", app.base)).await.unwrap();
    wait_path(c, "/console/sign-in").await;
    fill(c, "#credential", OPERATOR_TOKEN).await;
    click(c, "form button[type=submit]").await;
    wait_path(c, "/console/tenants").await;
    assert!(!c.source().await.unwrap().contains(OPERATOR_TOKEN));

    // a tenant, then a key for it, shown once
    fill(c, "#name", "Harbor Utilities").await;
    click(c, "form[action=\"/console/tenants\"] button").await;
    wait_path(c, "/console/tenants/").await;
    assert_eq!(text(c, ".done").await, "Tenant created.");
    assert_eq!(text(c, "h1").await, "Tenant Harbor Utilities");
    click(c, "form[action$=\"/keys\"] button").await;
    let key = text(c, "#new-key").await;
    assert!(key.starts_with("drk_"), "{key}");
    check_page(c, "tenant-new-key").await;
    let (s, _) = app.call(Method::GET, "/v1/numbers", Some(&key), None).await;
    assert_eq!(s, StatusCode::OK, "the new key works");
    // shown once: the tenant's page again lists its prefix only
    let url = c.current_url().await.unwrap();
    let tenant_page = url.as_str().strip_suffix("/keys").expect("the key is the answer to the POST").to_owned();
    c.goto(&tenant_page).await.unwrap();
    assert!(!c.source().await.unwrap().contains(&key));
    assert!(c.source().await.unwrap().contains(&key[..12]), "its prefix is listed");

    // revoke it
    click(c, "button[aria-label^=\"Revoke key\"]").await;
    wait_path(c, "/console/tenants/").await;
    assert_eq!(text(c, ".done").await, "Key revoked.");
    let (s, _) = app.call(Method::GET, "/v1/numbers", Some(&key), None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "the revoked key is refused");

    // a refused tenant name, shown by its form
    c.goto(&format!("{}/console/tenants", app.base)).await.unwrap();
    fill(c, "#name", &"n".repeat(201)).await;
    click(c, "form[action=\"/console/tenants\"] button").await;
    let shown = text(c, ".problem").await;
    assert!(shown.contains("longer than 200"), "{shown}");
    check_page(c, "tenants").await;

    // import a pasted PortSIP range
    c.goto(&format!("{}/console/import", app.base)).await.unwrap();
    fill(c, "#numbers", "15550008000-15550008009").await;
    fill(c, "#country", "US").await;
    fill(c, "#monthly_cost", "2.50").await;
    click(c, "form[action=\"/console/import\"] button").await;
    let summary = text(c, "form[action=\"/console/import\"] .done").await;
    assert!(summary.contains("Imported 10") && summary.contains("rejected 0"), "{summary}");

    // and an uploaded CSV file, one bad row rejected with its reason
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("numbers.csv");
    std::fs::write(&csv, "number,country,monthly_cost\n15550009000-15550009004,US,1.10\nnot-a-number,US,1\n").unwrap();
    c.find(Locator::Css("#file")).await.unwrap().send_keys(csv.to_str().unwrap()).await.unwrap();
    click(c, "form[action=\"/console/import/csv\"] button").await;
    let summary = text(c, "form[action=\"/console/import/csv\"] .done").await;
    assert!(summary.contains("Imported 5") && summary.contains("rejected 1"), "{summary}");
    assert!(text(c, "form[action=\"/console/import/csv\"] ul").await.contains("not-a-number"));
    check_page(c, "import").await;

    // inventory search with filters
    c.goto(&format!("{}/console/inventory", app.base)).await.unwrap();
    fill(c, "#prefix", "1555000900").await;
    c.find(Locator::Css("#status")).await.unwrap().select_by_value("available").await.unwrap();
    click(c, "form[role=search] button").await;
    wait_path(c, "/console/inventory?").await;
    assert_eq!(rows(c).await, 5);
    check_page(c, "inventory").await;
    fill(c, "#tenant_id", "not-a-uuid").await;
    click(c, "form[role=search] button").await;
    assert!(text(c, ".problem").await.contains("tenant_id must be a tenant's id"));

    // the read-only pages
    for (path, title) in [
        ("/console/carriers", "Carriers & orders"),
        ("/console/orphans", "Orphans"),
        ("/console/reconciliation", "Reconciliation"),
    ] {
        c.goto(&format!("{}{path}", app.base)).await.unwrap();
        assert_eq!(text(c, "h1").await, title);
        check_page(c, path.trim_start_matches("/console/")).await;
    }
    c.goto(&format!("{}/console/carriers?order=not-an-id", app.base)).await.unwrap();
    assert!(text(c, ".problem").await.contains("an order id is a UUID"));

    // the tenant pages are not the operator's
    c.goto(&format!("{}/console/numbers", app.base)).await.unwrap();
    assert!(text(c, ".problem").await.contains("sign in with one of the tenant's api keys"));
    c.clone().close().await.unwrap();
}
