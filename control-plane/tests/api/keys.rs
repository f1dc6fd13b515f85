//! Tenant key scopes, expiry, listing and revocation, and feed tokens:
//! real PostgreSQL, two control-plane instances where revocation must reach
//! both.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::helpers::{eventually, spawn_app, TestApp};

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap()
}

async fn audit_actions(app: &TestApp) -> Vec<String> {
    sqlx::query_scalar("SELECT action FROM audit_log ORDER BY id").fetch_all(&app.state.db.operator).await.unwrap()
}

#[tokio::test]
async fn keys_are_created_with_scopes_listed_without_secrets_and_revoked_idempotently() {
    let app = spawn_app().await;
    let t = app.tenant("Scoped").await;
    let keys_path = format!("/v1/tenants/{}/api-keys", t.id);

    let later = OffsetDateTime::now_utc() + time::Duration::days(30);
    let (s, ro) =
        app.op(Method::POST, &keys_path, Some(json!({ "scopes": ["read"], "expires_at": rfc3339(later) }))).await;
    assert_eq!(s, StatusCode::CREATED, "{ro}");
    assert_eq!(ro["scopes"], json!(["read"]));
    // the harness's key was made without a body: read and write, no expiry
    let (s, list) = app.op(Method::GET, &keys_path, None).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let listed = list["api_keys"].as_array().unwrap();
    assert_eq!(listed.len(), 2, "{list}");
    assert_eq!((&listed[0]["scopes"], &listed[0]["expires_at"]), (&json!(["read", "write"]), &Value::Null));
    assert_eq!((&listed[1]["id"], &listed[1]["expires_at"]), (&ro["id"], &ro["expires_at"]));
    let expires: OffsetDateTime = OffsetDateTime::parse(ro["expires_at"].as_str().unwrap(), &Rfc3339).unwrap();
    assert!((expires - later).abs() < time::Duration::milliseconds(1), "{ro}");
    let text = list.to_string();
    for secret in [t.key.as_str(), ro["key"].as_str().unwrap()] {
        assert!(!text.contains(secret), "a listing never shows a key");
    }
    for field in ["id", "key_prefix", "scopes", "created_at", "last_used_at", "expires_at", "revoked_at"] {
        assert!(listed[1].get(field).is_some(), "{field}: {list}");
    }
    assert!(listed[1].get("key").is_none() && listed[1].get("key_hash").is_none());

    // last_used_at is set by use
    assert_eq!(app.call(Method::GET, "/v1/numbers", Some(&t.key), None).await.0, StatusCode::OK);
    let (_, list) = app.op(Method::GET, &keys_path, None).await;
    assert!(list["api_keys"][0]["last_used_at"].is_string(), "{list}");
    assert!(list["api_keys"][1]["last_used_at"].is_null(), "{list}");

    // bad requests
    let past = rfc3339(OffsetDateTime::now_utc() - time::Duration::minutes(1));
    let (s, p) = app.op(Method::POST, &keys_path, Some(json!({ "expires_at": past }))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("expires_at is in the past"), "{p}");
    let (s, p) = app.op(Method::POST, &keys_path, Some(json!({ "scopes": ["write"] }))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{p}");
    let (s, p) = app.op(Method::POST, &keys_path, Some(json!({ "scopes": ["admin"] }))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{p}");
    let unknown = uuid::Uuid::new_v4();
    let (s, _) = app.op(Method::GET, &format!("/v1/tenants/{unknown}/api-keys"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // revocation: 204, again 204, unknown 404, another tenant's key 404
    let ro_id = ro["id"].as_str().unwrap();
    let revoke = format!("{keys_path}/{ro_id}");
    assert_eq!(app.op(Method::DELETE, &revoke, None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(app.op(Method::DELETE, &revoke, None).await.0, StatusCode::NO_CONTENT, "retry-safe");
    assert_eq!(app.op(Method::DELETE, &format!("{keys_path}/{unknown}"), None).await.0, StatusCode::NOT_FOUND);
    let other = app.tenant("Other").await;
    let elsewhere = format!("/v1/tenants/{}/api-keys/{ro_id}", other.id);
    assert_eq!(app.op(Method::DELETE, &elsewhere, None).await.0, StatusCode::NOT_FOUND);
    let (_, list) = app.op(Method::GET, &keys_path, None).await;
    assert!(list["api_keys"][1]["revoked_at"].is_string(), "{list}");
    let (s, p) = app.call(Method::GET, "/v1/numbers", ro["key"].as_str(), None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{p}");

    // one audit row per change; the repeated revocation changed nothing
    let actions = audit_actions(&app).await;
    let count = |a: &str| actions.iter().filter(|x| *x == a).count();
    assert_eq!((count("api_key.create"), count("api_key.revoke")), (3, 1), "{actions:?}");
}

#[tokio::test]
async fn a_read_only_key_reads_but_every_change_is_forbidden() {
    let app = spawn_app().await;
    app.import("15557770000-15557770009", "US").await;
    let t = app.tenant("Reader").await;
    let ro = app.key_for(t.id, json!({ "scopes": ["read"] })).await;
    assert_eq!(app.allocate(&t, "+15557770001", "psap").await.0, StatusCode::CREATED);

    assert_eq!(app.call(Method::GET, "/v1/numbers", Some(&ro), None).await.0, StatusCode::OK);
    assert_eq!(app.call(Method::GET, "/v1/numbers/%2B15557770001", Some(&ro), None).await.0, StatusCode::OK);
    let body = json!({ "number": "+15557770002", "subsystem": "psap", "dashboard_id": "d", "customer_label": "c" });
    let (s, p) = app.call(Method::POST, "/v1/numbers", Some(&ro), Some(body)).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{p}");
    assert_eq!(p["type"], "https://didroute.dev/problems/forbidden");
    assert!(p["detail"].as_str().unwrap().contains("\"write\" scope"), "{p}");
    let (s, _) = app.call(Method::DELETE, "/v1/reservations/%2B15557770001", Some(&ro), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // GraphQL: queries work, a mutation is refused with the problem in extensions
    let gql = |token: String, query: &'static str| {
        let req = app.http.post(format!("{}/graphql", app.base)).bearer_auth(token).json(&json!({ "query": query }));
        async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let r = gql(ro.clone(), "{ numbers { numbers { number } } }").await;
    assert_eq!(r["data"]["numbers"]["numbers"][0]["number"], "+15557770001", "{r}");
    let r = gql(ro.clone(), r#"mutation { reclaim(number: "+15557770001") { seq } }"#).await;
    let ext = &r["errors"][0]["extensions"];
    assert_eq!((ext["code"].as_str(), ext["status"].as_u64()), (Some("FORBIDDEN"), Some(403)), "{r}");
    assert!(ext["detail"].as_str().unwrap().contains("\"write\" scope"), "{r}");
    // the read-write key still changes things
    let r = gql(t.key.clone(), r#"mutation { release(number: "+15557770001", reason: "r") { seq } }"#).await;
    assert!(r["errors"].is_null(), "{r}");
}

#[tokio::test]
async fn an_expired_key_is_refused_like_an_unknown_one() {
    let app = spawn_app().await;
    let t = app.tenant("Brief").await;
    let soon = OffsetDateTime::now_utc() + time::Duration::seconds(2);
    let key = app.key_for(t.id, json!({ "expires_at": rfc3339(soon) })).await;
    // used (and so cached) while valid
    assert_eq!(app.call(Method::GET, "/v1/numbers", Some(&key), None).await.0, StatusCode::OK);
    eventually("the key expires", || async {
        app.call(Method::GET, "/v1/numbers", Some(&key), None).await.0 == StatusCode::UNAUTHORIZED
    })
    .await;
    assert!(OffsetDateTime::now_utc() >= soon, "refused only once expired");
    let (s, p) = app.call(Method::GET, "/v1/numbers", Some(&key), None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(p["detail"], "the api key has expired");
    assert!(!p.to_string().contains(&key), "the key is never echoed");
}

/// Revocation through one instance holds on another within a second, even
/// though the other had the key cached (KEY_CACHE_TTL is 5 s).
#[tokio::test]
async fn a_revoked_key_is_refused_by_every_instance_within_a_second() {
    let a = spawn_app().await;
    let b = a.another_instance().await;
    let t = a.tenant("Replicated").await;
    let keys: Value = a.op(Method::GET, &format!("/v1/tenants/{}/api-keys", t.id), None).await.1;
    let key_id = keys["api_keys"][0]["id"].as_str().unwrap().to_owned();
    // let both listeners settle, so the revocation is heard rather than
    // outlived by the fallback lifetime
    tokio::time::sleep(Duration::from_millis(300)).await;
    for app in [&a, &b] {
        assert_eq!(app.call(Method::GET, "/v1/numbers", Some(&t.key), None).await.0, StatusCode::OK);
    }
    let (s, _) = a.op(Method::DELETE, &format!("/v1/tenants/{}/api-keys/{key_id}", t.id), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let revoked = Instant::now();
    eventually("instance B refuses the revoked key", || async {
        b.call(Method::GET, "/v1/numbers", Some(&t.key), None).await.0 == StatusCode::UNAUTHORIZED
    })
    .await;
    let took = revoked.elapsed();
    assert!(took < Duration::from_secs(1), "B refused the key only after {took:?}");
    assert_eq!(a.call(Method::GET, "/v1/numbers", Some(&t.key), None).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_feed_token_reads_the_feed_and_nothing_else() {
    let app = spawn_app().await;
    let (s, made) = app.op(Method::POST, "/v1/feed-tokens", Some(json!({ "name": "node-1" }))).await;
    assert_eq!(s, StatusCode::CREATED, "{made}");
    let token = made["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("drf_") && made["token_prefix"].as_str().is_some_and(|p| token.starts_with(p)));
    // without a body too
    assert_eq!(app.op(Method::POST, "/v1/feed-tokens", None).await.0, StatusCode::CREATED);

    assert_eq!(app.call(Method::GET, "/v1/events", Some(&token), None).await.0, StatusCode::OK);
    assert_eq!(app.op(Method::GET, "/v1/events", None).await.0, StatusCode::OK, "the operator token still reads it");
    let t = app.tenant("Tenant").await;
    assert_eq!(app.call(Method::GET, "/v1/events", Some(&t.key), None).await.0, StatusCode::FORBIDDEN);
    for (method, path) in [(Method::GET, "/v1/tenants"), (Method::GET, "/v1/numbers"), (Method::GET, "/v1/feed-tokens")]
    {
        let (s, p) = app.call(method, path, Some(&token), None).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}: {p}");
        assert_eq!(p["detail"], "a feed token can only read /v1/events and send /v1/usage/batches");
    }

    let (s, list) = app.op(Method::GET, "/v1/feed-tokens", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list["feed_tokens"].as_array().unwrap().len(), 2, "{list}");
    assert_eq!(list["feed_tokens"][0]["name"], "node-1");
    assert!(list["feed_tokens"][0]["last_used_at"].is_string(), "{list}");
    assert!(!list.to_string().contains(&token));

    let revoke = format!("/v1/feed-tokens/{}", made["id"].as_str().unwrap());
    assert_eq!(app.op(Method::DELETE, &revoke, None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(app.op(Method::DELETE, &revoke, None).await.0, StatusCode::NO_CONTENT);
    let unknown = format!("/v1/feed-tokens/{}", uuid::Uuid::new_v4());
    assert_eq!(app.op(Method::DELETE, &unknown, None).await.0, StatusCode::NOT_FOUND);
    eventually("the revoked feed token is refused", || async {
        app.call(Method::GET, "/v1/events", Some(&token), None).await.0 == StatusCode::UNAUTHORIZED
    })
    .await;
    let actions = audit_actions(&app).await;
    let count = |a: &str| actions.iter().filter(|x| *x == a).count();
    assert_eq!((count("feed_token.create"), count("feed_token.revoke")), (2, 1), "{actions:?}");
}
