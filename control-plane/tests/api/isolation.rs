//! docs/goals.md R3, HTTP half: another tenant's number answers 404 on every
//! tenant route that names a number, exactly like a number that does not
//! exist, and changes nothing; lists and searches never show it.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn another_tenants_number_is_not_found_everywhere() {
    let app = spawn_app().await;
    let a = app.tenant("owner").await;
    let b = app.tenant("intruder").await;
    app.import("15550004000-15550004001", "US").await;
    let (s, _) = app.allocate(&a, "+15550004000", "psap").await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, before) = app.call(Method::GET, "/v1/numbers/+15550004000", Some(&a.key), None).await;

    let n = "+15550004000";
    let missing = "+15550004999";
    let routes: Vec<(Method, String, Option<serde_json::Value>)> = vec![
        (Method::GET, format!("/v1/numbers/{n}"), None),
        (Method::PATCH, format!("/v1/numbers/{n}"), Some(json!({ "customer_label": "mine now" }))),
        (Method::POST, format!("/v1/numbers/{n}/release"), Some(json!({ "reason": "stolen" }))),
        (Method::GET, format!("/v1/numbers/{n}/history"), None),
        (Method::POST, format!("/v1/numbers/{n}/reclaim"), None),
        (Method::DELETE, format!("/v1/reservations/{n}"), None),
    ];
    for (method, path, body) in routes {
        let (s, theirs) = app.call(method.clone(), &path, Some(&b.key), body.clone()).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{method} {path}: {theirs}");
        // exactly like a number that does not exist
        let (s2, absent) = app.call(method.clone(), &path.replace(n, missing), Some(&b.key), body).await;
        assert_eq!(s2, StatusCode::NOT_FOUND, "{method} {path}");
        assert_eq!(theirs["type"], absent["type"]);
        assert_eq!(theirs["title"], absent["title"]);
        assert_eq!(theirs["detail"].as_str().unwrap().replace(n, missing), absent["detail"], "{method} {path}");
    }
    let (_, listed) = app.call(Method::GET, "/v1/numbers", Some(&b.key), None).await;
    assert_eq!(listed["numbers"].as_array().unwrap().len(), 0, "{listed}");
    let (_, avail) = app.call(Method::GET, "/v1/available-numbers?prefix=1555000400", Some(&b.key), None).await;
    let offered: Vec<&str> =
        avail["numbers"].as_array().unwrap().iter().map(|n| n["number"].as_str().unwrap()).collect();
    assert_eq!(offered, ["+15550004001"], "only the free number is offered");
    // the held number in every state a tenant can leave it in
    let (s, _) =
        app.call(Method::POST, "/v1/reservations", Some(&a.key), Some(json!({ "number": "+15550004001" }))).await;
    assert_eq!(s, StatusCode::CREATED);
    for (method, path) in [
        (Method::DELETE, "/v1/reservations/+15550004001"),
        (Method::GET, "/v1/numbers/+15550004001"),
        (Method::POST, "/v1/numbers/+15550004001/reclaim"),
    ] {
        let (s, p) = app.call(method.clone(), path, Some(&b.key), None).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{method} {path}: {p}");
    }
    let (s, _) =
        app.call(Method::POST, "/v1/numbers/+15550004000/release", Some(&a.key), Some(json!({ "reason": "x" }))).await;
    assert_eq!(s, StatusCode::OK);
    for (method, path, body) in [
        (Method::GET, "/v1/numbers/+15550004000", None),
        (Method::POST, "/v1/numbers/+15550004000/reclaim", None),
        (Method::GET, "/v1/numbers/+15550004000/history", None),
        (Method::POST, "/v1/numbers/+15550004000/release", Some(json!({ "reason": "x" }))),
    ] {
        let (s, p) = app.call(method.clone(), path, Some(&b.key), body).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "released: {method} {path}: {p}");
    }

    // what the intruder's calls changed: nothing (a's own history is its own changes only)
    let (_, hist) = app.call(Method::GET, "/v1/numbers/+15550004000/history", Some(&a.key), None).await;
    let actions: Vec<&str> =
        hist["history"].as_array().unwrap().iter().map(|h| h["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["number.allocate", "number.release"]);
    assert_eq!(before["route"], hist["history"][0]["detail"]["route"]);
}
