//! Every failure is a problem+json with a status that says what went wrong.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, OPERATOR_TOKEN};

fn assert_problem(body: &Value, status: u16) {
    assert_eq!(body["status"], status, "{body}");
    assert!(body["type"].as_str().unwrap().starts_with("https://didroute.dev/problems/"), "{body}");
    assert!(!body["title"].as_str().unwrap().is_empty(), "{body}");
    assert!(!body["detail"].as_str().unwrap().is_empty(), "{body}");
}

#[tokio::test]
async fn authentication_and_authorisation() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let (s, b) = app.call(Method::GET, "/v1/tenants", None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_problem(&b, 401);
    let (s, b) = app.call(Method::GET, "/v1/tenants", Some("drk_0000"), None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_problem(&b, 401);
    let (s, b) = app.call(Method::GET, "/v1/tenants", Some("wrong-operator-token-xxxxxxxx"), None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_problem(&b, 401);
    // a tenant key on an operator route, and the operator on a tenant route
    let (s, b) = app.call(Method::GET, "/v1/tenants", Some(&t.key), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_problem(&b, 403);
    let (s, b) = app.call(Method::GET, "/v1/events", Some(&t.key), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_problem(&b, 403);
    let (s, b) = app.call(Method::GET, "/v1/numbers", Some(OPERATOR_TOKEN), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_problem(&b, 403);
    let (s, b) = app.call(Method::GET, "/v1/numbers", Some(&t.key), None).await;
    assert_eq!(s, StatusCode::OK, "{b}");
}

#[tokio::test]
async fn bad_requests_say_what_was_wrong() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    app.import("15550002000-15550002009", "US").await;

    // malformed JSON, wrong content type, wrong field types, unknown fields
    let res = app
        .http
        .post(format!("{}/v1/numbers", app.base))
        .bearer_auth(&t.key)
        .header("content-type", "application/json")
        .body("{\"number\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let res =
        app.http.post(format!("{}/v1/numbers", app.base)).bearer_auth(&t.key).body("number=1").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let (s, b) = app
        .call(
            Method::POST,
            "/v1/numbers",
            Some(&t.key),
            Some(json!({ "number": "+15550002000", "subsystem": "fax", "dashboard_id": "d", "customer_label": "c" })),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        b["detail"].as_str().unwrap().contains("subsystem") || b["detail"].as_str().unwrap().contains("fax"),
        "{b}"
    );

    let (s, b) = app
        .call(
            Method::POST,
            "/v1/numbers",
            Some(&t.key),
            Some(json!({ "number": "+1555abc", "subsystem": "psap", "dashboard_id": "d", "customer_label": "c" })),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_problem(&b, 400);
    assert!(b["detail"].as_str().unwrap().contains("not a valid number"), "{b}");

    let (s, b) = app
        .call(
            Method::POST,
            "/v1/numbers",
            Some(&t.key),
            Some(json!({ "number": "+15550002000", "subsystem": "psap", "dashboard_id": "  ", "customer_label": "c" })),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(b["detail"].as_str().unwrap().contains("dashboard_id"), "{b}");

    let (s, b) =
        app.call(Method::PATCH, "/v1/numbers/+15550002000", Some(&t.key), Some(json!({ "colour": "red" }))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");

    let (s, b) = app.call(Method::GET, "/v1/numbers/not-a-number", Some(&t.key), None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_problem(&b, 400);

    let (s, b) = app.call(Method::GET, "/v1/numbers?limit=0", Some(&t.key), None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_problem(&b, 400);
    let (s, _) = app.call(Method::GET, "/v1/numbers?limit=abc", Some(&t.key), None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    let (s, b) =
        app.op(Method::POST, "/v1/inventory", Some(json!({ "numbers": "15550001000", "country": "XX" }))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(b["detail"].as_str().unwrap().contains("XX"), "{b}");

    let (s, b) = app.op(Method::POST, "/v1/tenants/not-a-uuid/api-keys", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_problem(&b, 400);
    let (s, b) = app.op(Method::POST, &format!("/v1/tenants/{}/api-keys", uuid::Uuid::new_v4()), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_problem(&b, 404);

    let (s, b) = app.op(Method::POST, "/v1/tenants", Some(json!({ "name": "ACME" }))).await;
    assert_eq!(s, StatusCode::CONFLICT, "tenant names are unique regardless of case: {b}");

    let (s, b) = app.op(Method::GET, "/v1/nope", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_problem(&b, 404);
    let (s, b) = app.op(Method::DELETE, "/v1/tenants", None).await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    assert_problem(&b, 405);

    // nothing above changed anything
    let (_, feed) = app.op(Method::GET, "/v1/events?after=0", None).await;
    assert_eq!(feed["events"].as_array().unwrap().len(), 0, "{feed}");
}

/// JSON (`\u0000`) and query strings (`%00`) can carry a NUL, which
/// PostgreSQL's text cannot hold: a 400 that says so, never a 500, and
/// nothing changed.
#[tokio::test]
async fn a_nul_character_is_refused_not_a_server_error() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    app.import("15550002000-15550002009", "US").await;
    let (s, _) = app.allocate(&t, "+15550002000", "psap").await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, b) = app
        .op(
            Method::POST,
            "/v1/inventory",
            Some(json!({ "numbers": ["+15553000000"], "country": "US", "tenant_id": t.id, "carrier_module": "local" })),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (_, before) = app.op(Method::GET, "/v1/events?after=0", None).await;

    let refused = |s: StatusCode, b: &Value, what: &str| {
        assert_eq!(s, StatusCode::BAD_REQUEST, "{what}: {b}");
        assert_problem(b, 400);
        assert!(b["detail"].as_str().unwrap().contains("U+0000"), "{what}: {b}");
    };
    // an inventory number keeps its notes; a tenant's own (local) number is
    // deleted on release, so its notes only reach the audit row (jsonb)
    for number in ["+15550002000", "+15553000000"] {
        let release = format!("/v1/numbers/{number}/release");
        let notes = json!({ "reason": "moving", "notes": "a\u{0}b" });
        let (s, b) = app.call(Method::POST, &release, Some(&t.key), Some(notes)).await;
        refused(s, &b, &format!("release notes of {number}"));
    }
    let (s, b) = app.op(Method::GET, "/v1/inventory?country=US&region=a%00b", None).await;
    refused(s, &b, "inventory search");
    let (s, b) = app.call(Method::GET, "/v1/available-numbers?country=US&region=a%00b", Some(&t.key), None).await;
    refused(s, &b, "available numbers");
    let criteria = json!({ "country": "US", "region": "a\u{0}b" });
    let (s, b) = app
        .call(
            Method::POST,
            "/v1/numbers",
            Some(&t.key),
            Some(json!({ "criteria": criteria, "quantity": 1, "subsystem": "psap", "dashboard_id": "d", "customer_label": "c" })),
        )
        .await;
    refused(s, &b, "allocation criteria");
    let (s, b) = app
        .call(Method::POST, "/v1/reservations", Some(&t.key), Some(json!({ "criteria": criteria, "quantity": 1 })))
        .await;
    refused(s, &b, "reservation criteria");
    // an import quotes its input in the audit row (jsonb)
    let (s, b) =
        app.op(Method::POST, "/v1/inventory", Some(json!({ "numbers": "15550003000\u{0}", "country": "US" }))).await;
    refused(s, &b, "import text");
    let (s, b) = app
        .op(Method::POST, "/v1/inventory", Some(json!({ "numbers": ["15550003001", "x\u{0}"], "country": "US" })))
        .await;
    refused(s, &b, "import list");

    // nothing changed: the number is still allocated, no event was written
    let (s, n) = app.call(Method::GET, "/v1/numbers/+15550002000", Some(&t.key), None).await;
    assert_eq!((s, &n["status"]), (StatusCode::OK, &json!("allocated")), "{n}");
    let (_, after) = app.op(Method::GET, "/v1/events?after=0", None).await;
    assert_eq!(after["events"], before["events"]);
}

#[tokio::test]
async fn allocation_refusals_are_typed() {
    let app = spawn_app().await;
    let a = app.tenant("a").await;
    let b = app.tenant("b").await;
    app.import("15550003000-15550003001", "US").await;
    let (s, _) = app.allocate(&a, "+15550003000", "utilities").await;
    assert_eq!(s, StatusCode::CREATED);
    // taken by another tenant: 409, nothing more
    let (s, body) = app.allocate(&b, "+15550003000", "utilities").await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert!(!body["detail"].as_str().unwrap().contains(&a.id.to_string()));
    // not in inventory at all: 404
    let (s, body) = app.allocate(&b, "+15550009999", "utilities").await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{body}");
    // provisioning not active: 422, and the number stays available
    sqlx::query("UPDATE numbers SET provisioning_status = 'purchase_failed' WHERE e164 = '+15550003001'")
        .execute(&app.state.db.operator)
        .await
        .unwrap();
    let (s, body) = app.allocate(&b, "+15550003001", "utilities").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let status: String = sqlx::query_scalar("SELECT status FROM numbers WHERE e164 = '+15550003001'")
        .fetch_one(&app.state.db.operator)
        .await
        .unwrap();
    assert_eq!(status, "available");
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_413() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let huge = "x".repeat(3 * 1024 * 1024);
    let (s, b) = app
        .call(
            Method::POST,
            "/v1/numbers",
            Some(&t.key),
            Some(json!({ "number": "+15550001000", "customer_label": huge })),
        )
        .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{b}");
    assert_problem(&b, 413);
}
