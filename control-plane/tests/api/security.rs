//! Credentials an operator manages: several operator tokens at once, so one
//! can be rotated without downtime; and every documented operation against
//! every kind of wrong credential (revoked, expired, read-only, another
//! tenant's, a feed token), and no secret in the logs.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::helpers::{eventually, settings, spawn_app, spawn_app_with, TestApp, OPERATOR_TOKEN};
use crate::observability::Served;

const NEXT_TOKEN: &str = "rotation-next-operator-token-42";

#[tokio::test]
async fn every_configured_operator_token_is_accepted_and_no_other() {
    let app = spawn_app_with(didroute_control_plane::config::Settings {
        more_operator_tokens: vec![NEXT_TOKEN.to_owned()],
        ..settings()
    })
    .await;
    let tenants = |token: &'static str| {
        let req = app.http.get(format!("{}/v1/tenants", app.base)).bearer_auth(token);
        async move { req.send().await.unwrap().status() }
    };
    assert_eq!(tenants(OPERATOR_TOKEN).await, StatusCode::OK);
    assert_eq!(tenants(NEXT_TOKEN).await, StatusCode::OK);
    // neither a prefix of one nor a token that was never configured
    assert_eq!(tenants("rotation-next-operator-token-4").await, StatusCode::UNAUTHORIZED);
    assert_eq!(tenants("rotation-next-operator-token-43").await, StatusCode::UNAUTHORIZED);
}

/// The credentials the matrix presents, for one tenant's numbers.
struct Creds {
    revoked: String,
    expired: String,
    read_only: String,
    other_tenant: String,
    feed: String,
}

async fn creds(app: &TestApp) -> Creds {
    let t = app.tenant("Matrix").await;
    let other = app.tenant("Matrix other").await;
    let revoked = app.key_for(t.id, json!({})).await;
    let keys = app.op(Method::GET, &format!("/v1/tenants/{}/api-keys", t.id), None).await.1;
    let id = keys["api_keys"][1]["id"].as_str().unwrap();
    let (s, _) = app.op(Method::DELETE, &format!("/v1/tenants/{}/api-keys/{id}", t.id), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let soon = OffsetDateTime::now_utc() + time::Duration::seconds(1);
    let expired = app.key_for(t.id, json!({ "expires_at": soon.format(&Rfc3339).unwrap() })).await;
    let read_only = app.key_for(t.id, json!({ "scopes": ["read"] })).await;
    let feed = app.feed_token("matrix").await;
    eventually("the key expires", || async {
        app.call(Method::GET, "/v1/numbers", Some(&expired), None).await.0 == StatusCode::UNAUTHORIZED
    })
    .await;
    Creds { revoked, expired, read_only, other_tenant: other.key, feed }
}

/// A plausible value for a path parameter: the auth checks run before the
/// path is looked at, so only its shape matters.
fn fill(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').unwrap() + open;
        out.push_str(&rest[..open]);
        out.push_str(match &rest[open + 1..close] {
            "number" => "%2B15550000000",
            _ => "00000000-0000-4000-8000-000000000000",
        });
        rest = &rest[close + 1..];
    }
    out + rest
}

/// Routes that serve the operator and tenants alike (GraphQL checks per
/// field; usage reads answer a tenant its own).
const BOTH: [&str; 3] = ["/graphql", "/v1/numbers/{number}/usage", "/v1/usage/top"];

/// Every authenticated operation of the served OpenAPI document, with every
/// kind of wrong credential: so a route added later is covered without
/// anyone remembering to list it here.
#[tokio::test]
async fn every_documented_operation_refuses_the_wrong_credentials() {
    let app = spawn_app().await;
    let c = creds(&app).await;
    let doc: Value = app.http.get(format!("{}/openapi.json", app.base)).send().await.unwrap().json().await.unwrap();
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Ok(method) = Method::from_bytes(method.to_uppercase().as_bytes()) else { continue };
            if !matches!(method, Method::GET | Method::POST | Method::PUT | Method::PATCH | Method::DELETE) {
                continue;
            }
            // `security: [{}]`: a route served without a token (health, this document)
            let public = op["security"].as_array().is_some_and(|s| s.iter().any(|r| r == &json!({})));
            if public {
                continue;
            }
            let url = fill(path);
            let what = format!("{method} {path}");
            let (app, url) = (&app, &url);
            let call = |token: Option<&str>| {
                let (method, token) = (method.clone(), token.map(str::to_owned));
                async move { app.call(method, url, token.as_deref(), None).await }
            };
            let expect = |status: StatusCode, body: Value, want: StatusCode, who: &str| {
                assert_eq!(status, want, "{what} with {who}: {body}");
            };

            let (s, b) = call(None).await;
            expect(s, b, StatusCode::UNAUTHORIZED, "no token");
            let (s, b) = call(Some(&c.revoked)).await;
            expect(s, b, StatusCode::UNAUTHORIZED, "a revoked key");
            let (s, b) = call(Some(&c.expired)).await;
            expect(s, b, StatusCode::UNAUTHORIZED, "an expired key");
            let (s, b) = call(Some("drf_0000000000000000000000000000000000000000000000000000000000000000")).await;
            expect(s, b, StatusCode::UNAUTHORIZED, "an unknown feed token");

            let feed_may = (method == Method::GET && path == "/v1/events")
                || (method == Method::POST && path == "/v1/usage/batches");
            let (s, b) = call(Some(&c.feed)).await;
            if feed_may {
                // accepted: the request itself (here without a body) is what is wrong
                assert!(
                    !matches!(s, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN),
                    "{what} with a feed token: {s} {b}"
                );
            } else {
                assert_eq!(
                    b["detail"], "a feed token can only read /v1/events and send /v1/usage/batches",
                    "{what}: {b}"
                );
                expect(s, b, StatusCode::FORBIDDEN, "a feed token");
            }

            // an operator route is one the operator token is not refused on;
            // GraphQL serves both and checks per field (tested below)
            let (s, _) = call(Some(OPERATOR_TOKEN)).await;
            let operator_route =
                !matches!(s, StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED) && !BOTH.contains(&path.as_str());
            assert_ne!(s, StatusCode::UNAUTHORIZED, "{what}: the operator token is valid");
            if operator_route {
                let (s, b) = call(Some(&c.other_tenant)).await;
                expect(s, b, StatusCode::FORBIDDEN, "a tenant key on an operator route");
            }
            if path != "/graphql" && matches!(method, Method::POST | Method::PUT | Method::PATCH | Method::DELETE) {
                let (s, b) = call(Some(&c.read_only)).await;
                expect(s, b, StatusCode::FORBIDDEN, "a read-only key");
            }
            checked += 1;
        }
    }
    // the document really was walked: every operation of this branch at least
    assert!(checked >= 24, "only {checked} operations checked");
}

/// A GraphQL literal for a required argument of introspected type `ty`.
fn literal(ty: &Value, types: &Value) -> String {
    match ty["kind"].as_str().unwrap() {
        "NON_NULL" => literal(&ty["ofType"], types),
        "LIST" => format!("[{}]", literal(&ty["ofType"], types)),
        _ => {
            let name = ty["name"].as_str().unwrap();
            let def = types.as_array().unwrap().iter().find(|t| t["name"] == name).unwrap();
            match (def["kind"].as_str().unwrap(), name) {
                ("ENUM", _) => def["enumValues"][0]["name"].as_str().unwrap().to_owned(),
                ("INPUT_OBJECT", _) => {
                    let fields: Vec<String> = def["inputFields"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter(|f| f["type"]["kind"] == "NON_NULL")
                        .map(|f| format!("{}: {}", f["name"].as_str().unwrap(), literal(&f["type"], types)))
                        .collect();
                    format!("{{{}}}", fields.join(", "))
                }
                (_, "Int") => "1".to_owned(),
                (_, "Float") => "1.0".to_owned(),
                (_, "Boolean") => "false".to_owned(),
                (_, "UUID") => format!("\"{}\"", uuid::Uuid::nil()),
                _ => "\"+15550000000\"".to_owned(),
            }
        }
    }
}

/// GraphQL mutations only the operator token may call.
const OPERATOR_MUTATIONS: [&str; 3] = ["updateTenant", "addRange", "deleteRange"];

/// Every mutation the schema lists, with a read-only key: FORBIDDEN, with
/// the problem in `extensions`. Walked from introspection, so a new mutation
/// is covered too.
#[tokio::test]
async fn every_graphql_mutation_refuses_a_read_only_key() {
    let app = spawn_app().await;
    let c = creds(&app).await;
    let gql = |token: &str, query: String| {
        let req = app.http.post(format!("{}/graphql", app.base)).bearer_auth(token).json(&json!({ "query": query }));
        async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let ty = "type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }";
    let intro = format!(
        "{{ __schema {{ mutationType {{ fields {{ name args {{ name {ty} }} }} }}
            types {{ kind name enumValues {{ name }} inputFields {{ name {ty} }} }} }} }}"
    );
    let schema = gql(&c.read_only, intro).await;
    let types = &schema["data"]["__schema"]["types"];
    let fields = schema["data"]["__schema"]["mutationType"]["fields"].as_array().expect("introspection");
    assert!(fields.len() >= 6, "{schema}");
    for field in fields {
        let name = field["name"].as_str().unwrap();
        let args: Vec<String> = field["args"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["type"]["kind"] == "NON_NULL")
            .map(|a| format!("{}: {}", a["name"].as_str().unwrap(), literal(&a["type"], types)))
            .collect();
        let args = if args.is_empty() { String::new() } else { format!("({})", args.join(", ")) };
        let query = format!("mutation {{ {name}{args} {{ __typename }} }}");
        let r = gql(&c.read_only, query.clone()).await;
        let ext = &r["errors"][0]["extensions"];
        assert_eq!(ext["code"], "FORBIDDEN", "{query}: {r}");
        assert_eq!(ext["type"], "https://didroute.dev/problems/forbidden", "{query}: {r}");
        // the operator's own mutations refuse every tenant key, read-only or not
        let refusal = if OPERATOR_MUTATIONS.contains(&name) { "needs the operator token" } else { "\"write\" scope" };
        assert!(ext["detail"].as_str().unwrap().contains(refusal), "{query}: {r}");
    }
    // and a query is fine
    let r = gql(&c.read_only, "{ numbers { numbers { number } } }".to_owned()).await;
    assert!(r["errors"].is_null(), "{r}");
}

/// Every secret a run handled (operator token, keys, feed tokens; valid,
/// refused, revoked) stays out of the JSON logs of `serve` at debug level.
#[tokio::test]
async fn no_secret_reaches_the_json_logs() {
    let served = Served::start().await;
    let base = served.base.clone();
    let http = reqwest::Client::new();
    let send = |method: Method, path: &str, token: &str, body: Option<Value>| {
        let mut req = http.request(method, format!("{base}{path}")).bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        async move {
            let res = req.send().await.unwrap();
            (res.status(), res.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (_, tenant) = send(Method::POST, "/v1/tenants", OPERATOR_TOKEN, Some(json!({ "name": "Logged" }))).await;
    let keys = format!("/v1/tenants/{}/api-keys", tenant["id"].as_str().unwrap());
    let (_, rw) = send(Method::POST, &keys, OPERATOR_TOKEN, None).await;
    let (_, ro) = send(Method::POST, &keys, OPERATOR_TOKEN, Some(json!({ "scopes": ["read"] }))).await;
    let (_, feed) = send(Method::POST, "/v1/feed-tokens", OPERATOR_TOKEN, Some(json!({ "name": "n" }))).await;
    let (rw, ro, feed) = (rw["key"].as_str().unwrap(), ro["key"].as_str().unwrap(), feed["token"].as_str().unwrap());
    let unknown = "drk_00000000000000000000000000000000000000000000000000000000deadbeef";
    let mut secrets = vec![OPERATOR_TOKEN, rw, ro, feed, unknown];
    for token in &secrets {
        send(Method::GET, "/v1/numbers", token, None).await;
        send(Method::GET, "/v1/tenants", token, None).await;
        send(Method::GET, "/v1/events", token, None).await;
        send(Method::POST, "/v1/reservations", token, Some(json!({ "number": "+15550000000" }))).await;
        send(
            Method::POST,
            "/graphql",
            token,
            Some(json!({ "query": "mutation { reclaim(number: \"+15550000000\") { seq } }" })),
        )
        .await;
    }
    let (_, listed) = send(Method::GET, &keys, OPERATOR_TOKEN, None).await;
    let rw_id = listed["api_keys"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(send(Method::DELETE, &format!("{keys}/{rw_id}"), OPERATOR_TOKEN, None).await.0, StatusCode::NO_CONTENT);
    let res = http.get(format!("{base}/v1/numbers")).bearer_auth(rw).header("x-request-id", "last-1").send().await;
    assert_eq!(res.unwrap().status(), StatusCode::UNAUTHORIZED);
    // the hash of a key is as good as a secret in a log reader's hands
    let hashes: Vec<String> = [rw, ro, feed].iter().map(|k| hex(&Sha256::digest(k.as_bytes()))).collect();
    secrets.extend(hashes.iter().map(String::as_str));

    let deadline = Instant::now() + Duration::from_secs(10);
    let lines = loop {
        let lines = served.raw();
        if lines.iter().any(|l| l.contains("last-1")) || Instant::now() > deadline {
            break lines;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(lines.iter().any(|l| l.contains("last-1")), "the run's log lines were read");
    assert!(lines.len() > 30, "a debug run logs plenty: {}", lines.len());
    for line in &lines {
        for secret in &secrets {
            assert!(!line.contains(secret), "a secret in the logs: {line}");
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
