//! Retrying a change with its `Idempotency-Key` answers what the first try
//! answered (status and body, `seq` included) and changes nothing again; the
//! same key with another request is refused.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp, TestTenant};
use crate::idempotency::{send, Body};

/// Sends `body` to `path` as tenant `t` with `key`; returns status and JSON.
async fn keyed(
    app: &TestApp,
    t: &TestTenant,
    method: Method,
    path: &str,
    key: &str,
    body: Value,
) -> (StatusCode, Value) {
    send(app, &method, path, &t.key, key, &Body::Json(body)).await
}

async fn history_actions(app: &TestApp, t: &TestTenant) -> Vec<String> {
    let (s, h) = app.call(Method::GET, "/v1/numbers/%2B15550007000/history", Some(&t.key), None).await;
    assert_eq!(s, StatusCode::OK, "{h}");
    h["history"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn a_retried_remap_and_release_get_their_first_answers() {
    let app = spawn_app().await;
    let t = app.tenant("retrier").await;
    app.import("+15550007000", "US").await;
    let (s, body) = app.allocate(&t, "+15550007000", "utilities").await;
    assert_eq!(s, StatusCode::CREATED, "{body}");

    let path = "/v1/numbers/%2B15550007000";
    let remap = json!({ "customer_label": "Gas line" });
    let first = keyed(&app, &t, Method::PATCH, path, "remap-1", remap.clone()).await;
    assert_eq!(first.0, StatusCode::OK, "{}", first.1);
    let again = keyed(&app, &t, Method::PATCH, path, "remap-1", remap).await;
    assert_eq!(again, first, "the retry answers as the first try did, seq included");

    let release = json!({ "reason": "customer left", "notes": "ticket 42" });
    let first = keyed(&app, &t, Method::POST, &format!("{path}/release"), "release-1", release.clone()).await;
    assert_eq!(first.0, StatusCode::OK, "{}", first.1);
    assert_eq!(first.1["number"]["status"], "cooldown");
    // the first answer was lost: the caller retries and learns it happened
    let again = keyed(&app, &t, Method::POST, &format!("{path}/release"), "release-1", release).await;
    assert_eq!(again, first);
    // without the key, the same request is a new one, refused as it should be
    let (s, p) = app
        .call(Method::POST, &format!("{path}/release"), Some(&t.key), Some(json!({ "reason": "customer left" })))
        .await;
    assert_eq!((s, p["type"].as_str()), (StatusCode::CONFLICT, Some("https://didroute.dev/problems/not-allocated")));

    // one remap and one release happened, however many tries
    let actions = history_actions(&app, &t).await;
    assert_eq!(actions.iter().filter(|a| *a == "number.remap").count(), 1, "{actions:?}");
    assert_eq!(actions.iter().filter(|a| *a == "number.release").count(), 1, "{actions:?}");

    // the same key with another request is refused, not answered wrongly
    let (s, p) =
        keyed(&app, &t, Method::POST, &format!("{path}/release"), "release-1", json!({ "reason": "other" })).await;
    assert_eq!(
        (s, p["type"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("https://didroute.dev/problems/idempotency-key-reused"))
    );
    // and a key is the tenant's own: another tenant's identical key is a fresh request
    let other = app.tenant("bystander").await;
    let (s, _) = keyed(&app, &other, Method::PATCH, path, "remap-1", json!({ "customer_label": "Gas line" })).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
