//! `Idempotency-Key` on every change the control plane serves: a table of
//! one request per POST, PATCH and DELETE of `/openapi.json` (a new route
//! fails the coverage check until it has a row), each committed, retried
//! (same status and body, `seq` included, nothing written again) and reused
//! with another request (422). Credential routes refuse the repeat (409);
//! keys survive a restart and expire after 24 hours.

use std::collections::BTreeSet;

use didroute_control_plane::service::lifecycle;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{spawn_app, TestApp, TestTenant, OPERATOR_TOKEN};

const REUSED: &str = "https://didroute.dev/problems/idempotency-key-reused";
const NOT_REPLAYABLE: &str = "https://didroute.dev/problems/idempotency-secret-not-replayable";

#[derive(Clone)]
pub(crate) enum Body {
    None,
    Json(Value),
    Csv(&'static str),
}

/// What a repeat with the same key answers.
#[derive(Clone, Copy, PartialEq)]
enum Repeat {
    /// The first answer, status and body.
    Replays,
    /// 409: a credential's secret is not stored, so it is not shown again.
    RefusesSecret,
    /// GraphQL: the key is the mutation's `idempotencyKey` argument, the
    /// reuse an `UNPROCESSABLE` error in a 200 answer.
    GraphQl,
}

struct Case {
    method: Method,
    /// The path as `/openapi.json` names it.
    doc_path: &'static str,
    path: String,
    token: String,
    body: Body,
    /// Another request under the same key: another path or body.
    other: (String, Body),
    status: StatusCode,
    repeat: Repeat,
}

/// Sends `body` to `path` with `token` and `key`; returns status and JSON.
pub(crate) async fn send(
    app: &TestApp,
    method: &Method,
    path: &str,
    token: &str,
    key: &str,
    body: &Body,
) -> (StatusCode, Value) {
    let mut req = app
        .http
        .request(method.clone(), format!("{}{path}", app.base))
        .bearer_auth(token)
        .header("idempotency-key", key);
    req = match body {
        Body::None => req,
        Body::Json(v) => req.json(v),
        Body::Csv(text) => req.header("content-type", "text/csv").body(*text),
    };
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Rows written by every change: audit and outbox.
async fn writes(app: &TestApp) -> (i64, i64) {
    sqlx::query_as("SELECT (SELECT count(*) FROM audit_log), (SELECT count(*) FROM outbox)")
        .fetch_one(&app.state.db.operator)
        .await
        .unwrap()
}

fn gql_remap(number: &str, label: &str, key: &str) -> Body {
    Body::Json(json!({ "query": format!(
        r#"mutation {{ remap(number: "{number}", customerLabel: "{label}", idempotencyKey: "{key}") {{ seq number {{ number route {{ customerLabel }} }} }} }}"#
    ) }))
}

/// Numbers and credentials each row acts on, made beforehand.
async fn cases(app: &TestApp, t: &TestTenant) -> Vec<Case> {
    app.import("+15550009000-+15550009019", "US").await;
    let op = OPERATOR_TOKEN.to_owned();
    let key = t.key.clone();
    // held by the tenant for remap, release, reclaim and the GraphQL remap
    for n in ["+15550009003", "+15550009004", "+15550009005", "+15550009006"] {
        let (s, b) = app.allocate(t, n, "psap").await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }
    let (s, b) =
        app.call(Method::POST, "/v1/reservations", Some(&key), Some(json!({ "number": "+15550009002" }))).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    // released and aged, to reclaim
    let (s, b) =
        app.call(Method::POST, "/v1/numbers/%2B15550009005/release", Some(&key), Some(json!({ "reason": "r" }))).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    sqlx::query("UPDATE numbers SET cooldown_until = now() - interval '1 second' WHERE e164 = '+15550009005'")
        .execute(&app.state.db.operator)
        .await
        .unwrap();
    lifecycle::run_once(&app.state.db).await.unwrap();
    let (s, k) = app.op(Method::POST, &format!("/v1/tenants/{}/api-keys", t.id), None).await;
    assert_eq!(s, StatusCode::CREATED, "{k}");
    let key_id = k["id"].as_str().unwrap().to_owned();
    let (s, f) = app.op(Method::POST, "/v1/feed-tokens", Some(json!({ "name": "to revoke" }))).await;
    assert_eq!(s, StatusCode::CREATED, "{f}");
    let feed_id = f["id"].as_str().unwrap().to_owned();
    let tenant_id = t.id;
    let nobody = Uuid::new_v4();
    // orphans as a reconciliation would have found them
    sqlx::query(
        "INSERT INTO carrier_orphans (carrier, e164, country, carrier_status)
         VALUES ('sim', '+15550009040', 'US', 'active'), ('sim', '+15550009041', 'US', 'active')",
    )
    .execute(&app.state.db.operator)
    .await
    .unwrap();
    let (s, r) = app
        .op(
            Method::POST,
            &format!("/v1/tenants/{tenant_id}/ranges"),
            Some(json!({ "range": "12125559000-12125559009" })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let range_id = r["id"].as_i64().unwrap();

    // tracking: a pool to change and start sessions in, two sessions (one to
    // renew, one to end), and a pool to delete
    app.import("+15550009500-+15550009519", "US").await;
    let tracking_pool = |name: &str, numbers: Value| {
        let body = json!({ "name": name, "numbers": numbers, "lease_seconds": 600, "cooldown_seconds": 0 });
        app.call(Method::POST, "/v1/tracking-pools", Some(&key), Some(body))
    };
    let (s, p) = tracking_pool("idempotent pool", json!(["+15550009500", "+15550009501", "+15550009502"])).await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    let pool_id = p["id"].as_str().unwrap().to_owned();
    let (s, p) = tracking_pool("pool to delete", json!(["+15550009503"])).await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    let doomed_pool = p["id"].as_str().unwrap().to_owned();
    let mut sessions = Vec::new();
    for v in ["renewed visitor", "ended visitor"] {
        let (s, b) = app
            .call(
                Method::POST,
                &format!("/v1/tracking-pools/{pool_id}/sessions"),
                Some(&key),
                Some(json!({ "visitor_id": v })),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        sessions.push(b["session_id"].as_str().unwrap().to_owned());
    }
    let (renewed, ended) = (sessions[0].clone(), sessions[1].clone());
    let feed = app.feed_token("usage node").await;
    let now = time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap();
    let usage_batch = |id: &str| {
        Body::Json(json!({ "node_id": "n", "batch_id": id, "window_start": now, "window_end": now,
            "counts": [{ "number": "+15550009003", "lookups": 2 }] }))
    };

    let case = |method: Method, doc_path, path: String, token: &String, body, other, status, repeat| Case {
        method,
        doc_path,
        path,
        token: token.clone(),
        body,
        other,
        status,
        repeat,
    };
    use Repeat::*;
    vec![
        case(
            Method::POST,
            "/v1/numbers",
            "/v1/numbers".into(),
            &key,
            Body::Json(
                json!({ "number": "+15550009000", "subsystem": "psap", "dashboard_id": "d", "customer_label": "A" }),
            ),
            (
                "/v1/numbers".into(),
                Body::Json(
                    json!({ "number": "+15550009000", "subsystem": "psap", "dashboard_id": "d", "customer_label": "B" }),
                ),
            ),
            StatusCode::CREATED,
            Replays,
        ),
        case(
            Method::POST,
            "/v1/reservations",
            "/v1/reservations".into(),
            &key,
            Body::Json(json!({ "number": "+15550009001" })),
            ("/v1/reservations".into(), Body::Json(json!({ "number": "+15550009001", "ttl_seconds": 60 }))),
            StatusCode::CREATED,
            Replays,
        ),
        case(
            Method::DELETE,
            "/v1/reservations/{number}",
            "/v1/reservations/%2B15550009002".into(),
            &key,
            Body::None,
            ("/v1/reservations/%2B15550009001".into(), Body::None),
            StatusCode::OK,
            Replays,
        ),
        case(
            Method::PATCH,
            "/v1/numbers/{number}",
            "/v1/numbers/%2B15550009003".into(),
            &key,
            Body::Json(json!({ "customer_label": "Gas" })),
            ("/v1/numbers/%2B15550009003".into(), Body::Json(json!({ "customer_label": "Water" }))),
            StatusCode::OK,
            Replays,
        ),
        case(
            Method::POST,
            "/v1/numbers/{number}/release",
            "/v1/numbers/%2B15550009004/release".into(),
            &key,
            Body::Json(json!({ "reason": "left" })),
            ("/v1/numbers/%2B15550009004/release".into(), Body::Json(json!({ "reason": "moved" }))),
            StatusCode::OK,
            Replays,
        ),
        case(
            Method::POST,
            "/v1/numbers/{number}/reclaim",
            "/v1/numbers/%2B15550009005/reclaim".into(),
            &key,
            Body::None,
            ("/v1/numbers/%2B15550009004/reclaim".into(), Body::None),
            StatusCode::OK,
            Replays,
        ),
        case(
            Method::POST,
            "/graphql",
            "/graphql".into(),
            &key,
            gql_remap("+15550009006", "Gas", "gql-1"),
            ("/graphql".into(), gql_remap("+15550009006", "Water", "gql-1")),
            StatusCode::OK,
            GraphQl,
        ),
        case(
            Method::POST,
            "/v1/tenants",
            "/v1/tenants".into(),
            &op,
            Body::Json(json!({ "name": "keyed tenant" })),
            ("/v1/tenants".into(), Body::Json(json!({ "name": "another tenant" }))),
            StatusCode::CREATED,
            Replays,
        ),
        case(
            Method::POST,
            "/v1/tenants/{id}/api-keys",
            format!("/v1/tenants/{tenant_id}/api-keys"),
            &op,
            Body::Json(json!({ "scopes": ["read"] })),
            (format!("/v1/tenants/{tenant_id}/api-keys"), Body::None),
            StatusCode::CREATED,
            RefusesSecret,
        ),
        case(
            Method::DELETE,
            "/v1/tenants/{id}/api-keys/{key_id}",
            format!("/v1/tenants/{tenant_id}/api-keys/{key_id}"),
            &op,
            Body::None,
            (format!("/v1/tenants/{tenant_id}/api-keys/{nobody}"), Body::None),
            StatusCode::NO_CONTENT,
            Replays,
        ),
        case(
            Method::POST,
            "/v1/feed-tokens",
            "/v1/feed-tokens".into(),
            &op,
            Body::Json(json!({ "name": "node 1" })),
            ("/v1/feed-tokens".into(), Body::Json(json!({ "name": "node 2" }))),
            StatusCode::CREATED,
            RefusesSecret,
        ),
        case(
            Method::DELETE,
            "/v1/feed-tokens/{id}",
            format!("/v1/feed-tokens/{feed_id}"),
            &op,
            Body::None,
            (format!("/v1/feed-tokens/{nobody}"), Body::None),
            StatusCode::NO_CONTENT,
            Replays,
        ),
        case(
            Method::POST,
            "/v1/inventory",
            "/v1/inventory".into(),
            &op,
            Body::Json(json!({ "numbers": "15550008000-15550008009", "country": "US" })),
            ("/v1/inventory".into(), Body::Json(json!({ "numbers": "15550008000-15550008019", "country": "US" }))),
            StatusCode::OK,
            Replays,
        ),
        case(
            Method::POST,
            "/v1/inventory",
            "/v1/inventory".into(),
            &op,
            Body::Csv("number,country\n15550008100-15550008109,US\n"),
            // the same bytes as JSON are another request
            ("/v1/inventory".into(), Body::Csv("number,country\n15550008100-15550008119,US\n")),
            StatusCode::OK,
            Replays,
        ),
        case(
            Method::PATCH,
            "/v1/inventory/{number}",
            "/v1/inventory/%2B15550009010".into(),
            &op,
            Body::Json(json!({ "disabled": true })),
            ("/v1/inventory/%2B15550009010".into(), Body::Json(json!({ "monthly_cost": "3" }))),
            StatusCode::OK,
            Replays,
        ),
        case(
            Method::PATCH,
            "/v1/tenants/{id}",
            format!("/v1/tenants/{}", t.id),
            &op,
            Body::Json(json!({ "locale": "es", "greeting_templates": { "label": "Hola {label}" } })),
            (format!("/v1/tenants/{}", t.id), Body::Json(json!({ "locale": "fr" }))),
            StatusCode::OK,
            Replays,
        ),
        case(
            Method::POST,
            "/v1/tenants/{id}/ranges",
            format!("/v1/tenants/{tenant_id}/ranges"),
            &op,
            Body::Json(json!({ "range": "12125559100-12125559109", "subsystem": "mdoc" })),
            (format!("/v1/tenants/{tenant_id}/ranges"), Body::Json(json!({ "range": "12125559200-12125559209" }))),
            StatusCode::CREATED,
            Replays,
        ),
        case(
            Method::DELETE,
            "/v1/ranges/{id}",
            format!("/v1/ranges/{range_id}"),
            &op,
            Body::None,
            ("/v1/ranges/999999999".into(), Body::None),
            StatusCode::OK,
            Replays,
        ),
        case(
            Method::DELETE,
            "/v1/inventory/{number}",
            "/v1/inventory/%2B15550009011".into(),
            &op,
            Body::None,
            ("/v1/inventory/%2B15550009012".into(), Body::None),
            StatusCode::NO_CONTENT,
            Replays,
        ),
        case(
            Method::POST,
            "/v1/usage/batches",
            "/v1/usage/batches".into(),
            &feed,
            usage_batch("batch-1"),
            ("/v1/usage/batches".into(), usage_batch("batch-2")),
            StatusCode::OK,
            Replays,
        ),
        // the carrier is never called here: no job worker runs
        case(
            Method::POST,
            "/v1/orders",
            "/v1/orders".into(),
            &op,
            Body::Json(json!({ "carrier": "sim", "numbers": ["+15550009030"] })),
            ("/v1/orders".into(), Body::Json(json!({ "carrier": "sim", "numbers": ["+15550009031"] }))),
            StatusCode::ACCEPTED,
            Replays,
        ),
        case(
            Method::POST,
            "/v1/reconciliations",
            "/v1/reconciliations".into(),
            &op,
            Body::None,
            ("/v1/orders".into(), Body::Json(json!({ "carrier": "sim", "numbers": ["+15550009032"] }))),
            StatusCode::ACCEPTED,
            Replays,
        ),
        case(
            Method::POST,
            "/v1/orphans/{number}/adopt",
            "/v1/orphans/%2B15550009040/adopt".into(),
            &op,
            Body::None,
            ("/v1/orphans/%2B15550009041/adopt".into(), Body::None),
            StatusCode::OK,
            Replays,
        ),
        case(
            Method::POST,
            "/v1/orphans/{number}/disconnect",
            "/v1/orphans/%2B15550009041/disconnect".into(),
            &op,
            Body::None,
            ("/v1/orphans/%2B15550009040/disconnect".into(), Body::None),
            StatusCode::ACCEPTED,
            Replays,
        ),
        case(
            Method::POST,
            "/v1/tracking-pools",
            "/v1/tracking-pools".into(),
            &key,
            Body::Json(json!({
                "name": "keyed pool", "numbers": ["+15550009510"], "lease_seconds": 60, "cooldown_seconds": 0
            })),
            (
                "/v1/tracking-pools".into(),
                Body::Json(json!({
                    "name": "other pool", "numbers": ["+15550009511"], "lease_seconds": 60, "cooldown_seconds": 0
                })),
            ),
            StatusCode::CREATED,
            Replays,
        ),
        case(
            Method::PATCH,
            "/v1/tracking-pools/{id}",
            format!("/v1/tracking-pools/{pool_id}"),
            &key,
            Body::Json(json!({ "lease_seconds": 900, "grow": ["+15550009512"] })),
            (format!("/v1/tracking-pools/{pool_id}"), Body::Json(json!({ "lease_seconds": 30 }))),
            StatusCode::OK,
            Replays,
        ),
        case(
            Method::POST,
            "/v1/tracking-pools/{id}/sessions",
            format!("/v1/tracking-pools/{pool_id}/sessions"),
            &key,
            Body::Json(json!({ "visitor_id": "keyed visitor", "attributes": { "utm_source": "news" } })),
            (format!("/v1/tracking-pools/{pool_id}/sessions"), Body::Json(json!({ "visitor_id": "another" }))),
            StatusCode::CREATED,
            Replays,
        ),
        case(
            Method::POST,
            "/v1/tracking-sessions/{id}/renew",
            format!("/v1/tracking-sessions/{renewed}/renew"),
            &key,
            Body::None,
            (format!("/v1/tracking-sessions/{ended}/renew"), Body::None),
            StatusCode::OK,
            Replays,
        ),
        case(
            Method::DELETE,
            "/v1/tracking-sessions/{id}",
            format!("/v1/tracking-sessions/{ended}"),
            &key,
            Body::None,
            (format!("/v1/tracking-sessions/{renewed}"), Body::None),
            StatusCode::OK,
            Replays,
        ),
        case(
            Method::DELETE,
            "/v1/tracking-pools/{id}",
            format!("/v1/tracking-pools/{doomed_pool}"),
            &key,
            Body::None,
            (format!("/v1/tracking-pools/{doomed_pool}?numbers=release"), Body::None),
            StatusCode::OK,
            Replays,
        ),
    ]
}

/// An app with a carrier `sim` that is never called: orders are accepted,
/// and no job worker places them.
async fn spawn_app_with_carrier() -> TestApp {
    use didroute_control_plane::carriers::{CarrierConfig, CarrierKind};
    let carriers = vec![CarrierConfig {
        name: "sim".into(),
        kind: CarrierKind::Telnyx,
        base_url: "http://127.0.0.1:9".into(),
        token: "never-used-token".into(),
    }];
    let settings =
        didroute_control_plane::config::Settings { carriers, carrier_job_interval: None, ..crate::helpers::settings() };
    crate::helpers::spawn_app_with(settings).await
}

/// Every POST, PATCH and DELETE `/openapi.json` documents.
async fn changes_documented(app: &TestApp) -> (Value, BTreeSet<(String, String)>) {
    let (s, doc) = app.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(s, StatusCode::OK);
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                ops.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    (doc, ops)
}

#[tokio::test]
async fn every_change_replays_its_first_answer_and_refuses_a_reused_key() {
    let app = spawn_app_with_carrier().await;
    let t = app.tenant("keyed").await;
    let cases = cases(&app, &t).await;

    // the table covers every change the document names, and only those
    let (doc, documented) = changes_documented(&app).await;
    let covered: BTreeSet<(String, String)> =
        cases.iter().map(|c| (c.method.as_str().to_owned(), c.doc_path.to_owned())).collect();
    assert_eq!(covered, documented, "every POST, PATCH and DELETE has a row here");
    // and the document declares the header and the reuse answer on each
    // (GraphQL takes its key as a mutation argument, not a header)
    for (method, path) in &documented {
        let op = &doc["paths"][path][method.to_lowercase()];
        if path != "/graphql" {
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            assert!(
                params.iter().any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header"),
                "{method} {path} declares Idempotency-Key"
            );
            assert!(op["responses"].get("422").is_some(), "{method} {path} documents 422");
        }
    }
    for path in ["/v1/tenants/{id}/api-keys", "/v1/feed-tokens"] {
        assert!(doc["paths"][path]["post"]["responses"].get("409").is_some(), "POST {path} documents 409");
    }

    for (i, c) in cases.iter().enumerate() {
        let key = format!("key-{i}");
        let what = format!("{} {} ({:?})", c.method, c.path, c.doc_path);
        let first = send(&app, &c.method, &c.path, &c.token, &key, &c.body).await;
        assert_eq!(first.0, c.status, "{what}: {}", first.1);
        let written = writes(&app).await;
        let again = send(&app, &c.method, &c.path, &c.token, &key, &c.body).await;
        match c.repeat {
            Repeat::Replays | Repeat::GraphQl => assert_eq!(again, first, "{what}: the first answer, seq included"),
            Repeat::RefusesSecret => {
                assert_eq!((again.0, again.1["type"].as_str()), (StatusCode::CONFLICT, Some(NOT_REPLAYABLE)), "{what}");
                let id = first.1["id"].as_str().unwrap();
                let detail = again.1["detail"].as_str().unwrap();
                assert!(detail.contains(id), "{what}: the refusal names the credential made: {detail}");
            }
        }
        assert_eq!(writes(&app).await, written, "{what}: the repeat wrote nothing");
        let other = send(&app, &c.method, &c.other.0, &c.token, &key, &c.other.1).await;
        if c.repeat == Repeat::GraphQl {
            assert_eq!(other.0, StatusCode::OK, "{what}: {}", other.1);
            assert_eq!(other.1["errors"][0]["extensions"]["type"], REUSED, "{what}: {}", other.1);
        } else {
            assert_eq!((other.0, other.1["type"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(REUSED)), "{what}");
        }
        assert_eq!(writes(&app).await, written, "{what}: the refused reuse wrote nothing");
    }

    // one key and one feed token were made by the refused repeats' first tries
    let (_, keys) = app.op(Method::GET, &format!("/v1/tenants/{}/api-keys", t.id), None).await;
    assert_eq!(keys["api_keys"].as_array().unwrap().len(), 3, "the tenant's key, the revoked one, the keyed one");
    let (_, tokens) = app.op(Method::GET, "/v1/feed-tokens", None).await;
    // and the revoked one and the usage batches' one beforehand
    assert_eq!(tokens["feed_tokens"].as_array().unwrap().len(), 3, "{tokens}");
}

#[tokio::test]
async fn graphql_mutations_take_an_idempotency_key() {
    let app = spawn_app().await;
    let t = app.tenant("gql").await;
    app.import("+15550009100-+15550009109", "US").await;
    let (s, b) = app.allocate(&t, "+15550009100", "psap").await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, b) =
        app.call(Method::POST, "/v1/reservations", Some(&t.key), Some(json!({ "number": "+15550009101" }))).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let gql = |q: &str| json!({ "query": q });
    let mutations = [
        r#"mutation { cancelReservation(number: "+15550009101", idempotencyKey: "c") { number status seq } }"#,
        r#"mutation { release(number: "+15550009100", reason: "gone", idempotencyKey: "r") { seq number { status } } }"#,
    ];
    for m in mutations {
        let first = app.call(Method::POST, "/graphql", Some(&t.key), Some(gql(m))).await;
        assert!(first.1.get("errors").is_none(), "{m}: {}", first.1);
        let written = writes(&app).await;
        let again = app.call(Method::POST, "/graphql", Some(&t.key), Some(gql(m))).await;
        assert_eq!(again, first, "{m}");
        assert_eq!(writes(&app).await, written, "{m}");
    }
    // reclaim: aged first; a reuse of its key for another number is refused
    sqlx::query("UPDATE numbers SET cooldown_until = now() - interval '1 second' WHERE e164 = '+15550009100'")
        .execute(&app.state.db.operator)
        .await
        .unwrap();
    lifecycle::run_once(&app.state.db).await.unwrap();
    let reclaim = |n: &str| {
        gql(&format!(r#"mutation {{ reclaim(number: "{n}", idempotencyKey: "rc") {{ seq number {{ status }} }} }}"#))
    };
    let first = app.call(Method::POST, "/graphql", Some(&t.key), Some(reclaim("+15550009100"))).await;
    assert_eq!(first.1["data"]["reclaim"]["number"]["status"], "allocated", "{}", first.1);
    let again = app.call(Method::POST, "/graphql", Some(&t.key), Some(reclaim("+15550009100"))).await;
    assert_eq!(again, first);
    let other = app.call(Method::POST, "/graphql", Some(&t.key), Some(reclaim("+15550009102"))).await;
    assert_eq!(other.1["errors"][0]["extensions"]["type"], REUSED, "{}", other.1);
    // the key space is REST's: the same key on a REST request is another request
    let (s, p) = send(&app, &Method::POST, "/v1/numbers/%2B15550009100/reclaim", &t.key, "rc", &Body::None).await;
    assert_eq!((s, p["type"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(REUSED)));
}

#[tokio::test]
async fn a_key_is_honoured_by_another_instance_after_a_restart() {
    let first_app = spawn_app().await;
    let t = first_app.tenant("restart").await;
    first_app.import("+15550009200", "US").await;
    let allocate = Body::Json(
        json!({ "number": "+15550009200", "subsystem": "psap", "dashboard_id": "d", "customer_label": "c" }),
    );
    let tenant = Body::Json(json!({ "name": "made before the restart" }));
    let a = send(&first_app, &Method::POST, "/v1/numbers", &t.key, "restart-1", &allocate).await;
    assert_eq!(a.0, StatusCode::CREATED, "{}", a.1);
    let o = send(&first_app, &Method::POST, "/v1/tenants", OPERATOR_TOKEN, "restart-2", &tenant).await;
    assert_eq!(o.0, StatusCode::CREATED, "{}", o.1);

    let second_app = first_app.another_instance().await;
    drop(first_app);
    let again = send(&second_app, &Method::POST, "/v1/numbers", &t.key, "restart-1", &allocate).await;
    assert_eq!(again, a, "a tenant's key outlives the instance that stored it");
    let again = send(&second_app, &Method::POST, "/v1/tenants", OPERATOR_TOKEN, "restart-2", &tenant).await;
    assert_eq!(again, o, "so does the operator's");
}

#[tokio::test]
async fn keys_older_than_a_day_are_expired_by_the_lifecycle_job() {
    let app = spawn_app().await;
    let t = app.tenant("expiry").await;
    app.import("+15550009300-+15550009301", "US").await;
    let tenant = |name: &str| Body::Json(json!({ "name": name }));
    let reserve = |n: &str| Body::Json(json!({ "number": n }));
    for (token, path, key, body) in [
        (OPERATOR_TOKEN, "/v1/tenants", "old-op", tenant("old")),
        (OPERATOR_TOKEN, "/v1/tenants", "young-op", tenant("young")),
        (t.key.as_str(), "/v1/reservations", "old-t", reserve("+15550009300")),
        (t.key.as_str(), "/v1/reservations", "young-t", reserve("+15550009301")),
    ] {
        let (s, b) = send(&app, &Method::POST, path, token, key, &body).await;
        assert!(s.is_success(), "{b}");
    }
    // as the operator (who may change any entry): one of each a day and an
    // hour old, one of each an hour short of a day
    let mut owner = <sqlx::PgConnection as sqlx::Connection>::connect(&app.owner_url).await.unwrap();
    sqlx::query(
        "UPDATE idempotency_keys SET created_at = now() - CASE WHEN key LIKE 'old-%' THEN interval '25 hours'
                                                              ELSE interval '23 hours' END",
    )
    .execute(&mut owner)
    .await
    .unwrap();
    let report = lifecycle::run_once(&app.state.db).await.unwrap();
    assert_eq!(report.idempotency_keys_expired, 2, "{report:?}");
    let left: Vec<String> =
        sqlx::query_scalar("SELECT key FROM idempotency_keys ORDER BY key").fetch_all(&mut owner).await.unwrap();
    assert_eq!(left, ["young-op", "young-t"]);
    // an expired key is free again: another request with it is a new request
    let (s, b) = send(&app, &Method::POST, "/v1/tenants", OPERATOR_TOKEN, "old-op", &tenant("third")).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, b) = send(&app, &Method::POST, "/v1/tenants", OPERATOR_TOKEN, "young-op", &tenant("fourth")).await;
    assert_eq!((s, b["type"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(REUSED)));
}

#[tokio::test]
async fn tenant_sessions_neither_see_nor_write_operator_keys() {
    let app = spawn_app().await;
    let t = app.tenant("rls").await;
    let (s, b) =
        send(&app, &Method::POST, "/v1/tenants", OPERATOR_TOKEN, "op-only", &Body::Json(json!({ "name": "x" }))).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let all: i64 =
        sqlx::query_scalar("SELECT count(*) FROM idempotency_keys").fetch_one(&app.state.db.operator).await.unwrap();
    assert_eq!(all, 1, "the operator sees its entry");
    let mut tx = app.state.db.tenant_tx(t.id).await.unwrap();
    let seen: i64 = sqlx::query_scalar("SELECT count(*) FROM idempotency_keys").fetch_one(&mut *tx).await.unwrap();
    assert_eq!(seen, 0, "the tenant session does not");
    let changed = sqlx::query("UPDATE idempotency_keys SET status = 200, response = '{}' WHERE key = 'op-only'")
        .execute(&mut *tx)
        .await
        .unwrap()
        .rows_affected();
    assert_eq!(changed, 0, "nor changes it");
    let wrote = sqlx::query(
        "INSERT INTO idempotency_keys (tenant_id, key, request_hash, status, response) VALUES (NULL, 'forged', '\\x00', 201, '{}')",
    )
    .execute(&mut *tx)
    .await;
    assert!(wrote.is_err(), "nor writes one: {wrote:?}");
}

#[tokio::test]
async fn concurrent_operator_repeats_make_one_tenant_and_share_no_key_with_tenants() {
    let app = spawn_app().await;
    let mut tries = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let req = app
            .http
            .post(format!("{}/v1/tenants", app.base))
            .bearer_auth(OPERATOR_TOKEN)
            .header("idempotency-key", "race")
            .json(&json!({ "name": "raced" }));
        tries.spawn(async move {
            let res = req.send().await.unwrap();
            (res.status(), res.json::<Value>().await.unwrap())
        });
    }
    let answers = tries.join_all().await;
    assert_eq!(answers[0].0, StatusCode::CREATED, "{}", answers[0].1);
    assert!(answers.iter().all(|a| *a == answers[0]), "every try gets the first answer: {answers:?}");
    let (_, tenants) = app.op(Method::GET, "/v1/tenants", None).await;
    let raced = tenants["tenants"].as_array().unwrap().iter().filter(|t| t["name"] == "raced").count();
    assert_eq!(raced, 1, "{tenants}");

    // a tenant's key of the same name is its own: no 422 across the spaces
    let t = app.tenant("bystander").await;
    app.import("+15550009400", "US").await;
    let (s, b) =
        send(&app, &Method::POST, "/v1/reservations", &t.key, "race", &Body::Json(json!({ "number": "+15550009400" })))
            .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
}
