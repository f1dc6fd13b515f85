//! Tracking numbers (dynamic number insertion) through the whole system:
//! pools over REST, web sessions leasing their numbers, and a lookup node on
//! the HTTP feed answering a leased number with its session (`tracking`)
//! and without it once the lease ends, expires or the lifecycle job ends it.
//! Concurrency (200 starts on a pool of 100) and churn end with the node
//! equal to the database.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use didroute_control_plane::service::lifecycle;
use didroute_lookup::Node;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{spawn_app, start_lookup, TestApp, TestTenant};

const PROBLEMS: &str = "https://didroute.dev/problems/";

async fn lookup(app: &TestApp, node: &Node, number: &str, seq: u64) -> (StatusCode, Value) {
    let url = format!("http://{}/v1/routes/{}?min_seq={seq}", node.local_addr(), number.replace('+', "%2B"));
    let res = app.http.get(url).send().await.unwrap();
    (res.status(), res.json().await.unwrap())
}

async fn create_pool(app: &TestApp, t: &TestTenant, body: Value) -> (StatusCode, Value) {
    app.call(Method::POST, "/v1/tracking-pools", Some(&t.key), Some(body)).await
}

/// Creates a pool and checks it was created; returns its answer.
async fn pool(app: &TestApp, t: &TestTenant, body: Value) -> Value {
    let (s, p) = create_pool(app, t, body).await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    p
}

async fn get_pool(app: &TestApp, t: &TestTenant, id: &str) -> Value {
    let (s, p) = app.call(Method::GET, &format!("/v1/tracking-pools/{id}"), Some(&t.key), None).await;
    assert_eq!(s, StatusCode::OK, "{p}");
    p
}

async fn start(
    app: &TestApp,
    t: &TestTenant,
    pool: &str,
    visitor: &str,
    attributes: Option<Value>,
) -> (StatusCode, Value) {
    let mut body = json!({ "visitor_id": visitor });
    if let Some(a) = attributes {
        body["attributes"] = a;
    }
    app.call(Method::POST, &format!("/v1/tracking-pools/{pool}/sessions"), Some(&t.key), Some(body)).await
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap_or_else(|| panic!("no id in {v}")).to_owned()
}

fn seq(v: &Value) -> u64 {
    v["seq"].as_u64().unwrap_or_else(|| panic!("no seq in {v}"))
}

/// Sends `requests` at once, each on its own task; answers in no order.
async fn at_once(requests: Vec<reqwest::RequestBuilder>) -> Vec<(StatusCode, Value)> {
    let mut set = tokio::task::JoinSet::new();
    for req in requests {
        set.spawn(async move {
            let res = req.send().await.unwrap();
            (res.status(), res.json::<Value>().await.unwrap_or(Value::Null))
        });
    }
    set.join_all().await
}

fn start_request(
    app: &TestApp,
    t: &TestTenant,
    pool: &str,
    visitor: &str,
    attributes: Option<Value>,
) -> reqwest::RequestBuilder {
    let mut body = json!({ "visitor_id": visitor });
    if let Some(a) = attributes {
        body["attributes"] = a;
    }
    app.http.post(format!("{}/v1/tracking-pools/{pool}/sessions", app.base)).bearer_auth(&t.key).json(&body)
}

async fn head(app: &TestApp) -> u64 {
    didroute_control_plane::outbox::sequence_all(&app.state.db.operator).await.unwrap()
}

#[tokio::test]
async fn a_session_leases_the_least_recently_used_number_and_the_lookup_names_the_visit() {
    let app = spawn_app().await;
    let t = app.tenant("Marketing").await;
    app.import("12125551000-12125551009", "US").await;
    let node = start_lookup(&app).await;

    let created = pool(
        &app,
        &t,
        json!({
            "name": "Spring campaign", "numbers": ["+12125551001", "+12125551000", "+12125551002"],
            "lease_seconds": 600, "cooldown_seconds": 2, "fallback_number": "+12125551009"
        }),
    )
    .await;
    assert_eq!(
        (created["size"].as_i64(), created["free"].as_i64(), created["leased"].as_i64()),
        (Some(3), Some(3), Some(0))
    );
    assert_eq!(created["dashboard_id"], "tracking");
    assert_eq!(created["customer_label"], "Spring campaign");
    let pool_id = id(&created);

    // the numbers are the tenant's, subsystem tracking, and route without a session
    let (s, n) = app.call(Method::GET, "/v1/numbers/%2B12125551000", Some(&t.key), None).await;
    assert_eq!(s, StatusCode::OK, "{n}");
    assert_eq!((n["status"].as_str(), n["route"]["subsystem"].as_str()), (Some("allocated"), Some("tracking")));
    let (s, hit) = lookup(&app, &node, "+12125551000", seq(&created)).await;
    assert_eq!(s, StatusCode::OK, "{hit}");
    assert_eq!(
        (hit["subsystem"].as_str(), hit["customer_label"].as_str()),
        (Some("tracking"), Some("Spring campaign"))
    );
    assert!(hit.get("tracking").is_none(), "{hit}");
    let free_version = hit["version"].as_u64().unwrap();

    // a visitor leases the least recently used number (all unused: the lowest)
    let attrs = json!({ "utm_source": "google", "utm_campaign": "spring", "gclid": "abc123" });
    let (s, v1) = start(&app, &t, &pool_id, "visitor-1", Some(attrs.clone())).await;
    assert_eq!(s, StatusCode::CREATED, "{v1}");
    assert_eq!((v1["number"].as_str(), v1["leased"].as_bool()), (Some("+12125551000"), Some(true)), "{v1}");
    let s1 = v1["session_id"].as_str().unwrap().to_owned();
    let (s, hit) = lookup(&app, &node, "+12125551000", seq(&v1)).await;
    assert_eq!(s, StatusCode::OK);
    let tracking = &hit["tracking"];
    assert_eq!(tracking["pool_id"], pool_id.as_str(), "{hit}");
    assert_eq!(tracking["session_id"], s1.as_str());
    assert_eq!(tracking["visitor_id"], "visitor-1");
    assert_eq!(tracking["attributes"], attrs);
    let leased_until = time::OffsetDateTime::parse(
        tracking["leased_until"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let expires_at =
        time::OffsetDateTime::parse(v1["expires_at"].as_str().unwrap(), &time::format_description::well_known::Rfc3339)
            .unwrap();
    assert!((leased_until - expires_at).abs() < time::Duration::milliseconds(1), "{leased_until} vs {expires_at}");
    assert!(hit["version"].as_u64().unwrap() > free_version, "a lease is a change of the number");

    // the same visitor within its lease: the same number and session, renewed
    let (s, again) = start(&app, &t, &pool_id, "visitor-1", None).await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!((again["session_id"].as_str(), again["number"].as_str()), (Some(s1.as_str()), Some("+12125551000")));
    assert_eq!(again["resumed"], true);

    // two more visitors take the other two numbers; the fourth gets the fallback
    let (s, v2) = start(&app, &t, &pool_id, "visitor-2", None).await;
    assert_eq!((s, v2["number"].as_str()), (StatusCode::CREATED, Some("+12125551001")), "{v2}");
    let (s, v3) = start(&app, &t, &pool_id, "visitor-3", None).await;
    assert_eq!((s, v3["number"].as_str()), (StatusCode::CREATED, Some("+12125551002")), "{v3}");
    let (s, v4) = start(&app, &t, &pool_id, "visitor-4", None).await;
    assert_eq!(s, StatusCode::OK, "{v4}");
    assert_eq!((v4["leased"].as_bool(), v4["number"].as_str()), (Some(false), Some("+12125551009")), "{v4}");
    assert!(v4["session_id"].is_null());
    let p = get_pool(&app, &t, &pool_id).await;
    assert_eq!((p["leased"].as_i64(), p["free"].as_i64(), p["exhausted"].as_i64()), (Some(3), Some(0), Some(1)), "{p}");
    assert_eq!(p["sessions"], 3);
    let states: Vec<&str> = p["numbers"].as_array().unwrap().iter().map(|n| n["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["leased", "leased", "leased"]);

    // the visit ends: the number answers without a session, and cools down
    let (s, ended) = app.call(Method::DELETE, &format!("/v1/tracking-sessions/{s1}"), Some(&t.key), None).await;
    assert_eq!(s, StatusCode::OK, "{ended}");
    assert_eq!((ended["end_reason"].as_str(), ended["leased"].as_bool()), (Some("ended"), Some(false)));
    let (_, hit) = lookup(&app, &node, "+12125551000", seq(&ended)).await;
    assert!(hit.get("tracking").is_none(), "{hit}");
    assert_eq!(hit["subsystem"], "tracking");
    let p = get_pool(&app, &t, &pool_id).await;
    assert_eq!((p["leased"].as_i64(), p["cooling"].as_i64()), (Some(2), Some(1)), "{p}");
    // cooling is not free: a new visitor gets the fallback until it is
    let (s, v5) = start(&app, &t, &pool_id, "visitor-5", None).await;
    assert_eq!((s, v5["leased"].as_bool()), (StatusCode::OK, Some(false)), "{v5}");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (s, v5) = start(&app, &t, &pool_id, "visitor-5", None).await;
    assert_eq!((s, v5["number"].as_str()), (StatusCode::CREATED, Some("+12125551000")), "{v5}");

    // a renewal moves leased_until, at the node too
    let s2 = v2["session_id"].as_str().unwrap();
    let (s, renewed) = app.call(Method::POST, &format!("/v1/tracking-sessions/{s2}/renew"), Some(&t.key), None).await;
    assert_eq!(s, StatusCode::OK, "{renewed}");
    assert!(renewed["expires_at"].as_str().unwrap() > v2["expires_at"].as_str().unwrap(), "{renewed}");
    let (_, hit) = lookup(&app, &node, "+12125551001", seq(&renewed)).await;
    let at_node = time::OffsetDateTime::parse(
        hit["tracking"]["leased_until"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let renewed_at = time::OffsetDateTime::parse(
        renewed["expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert!((at_node - renewed_at).abs() < time::Duration::milliseconds(1));

    // an ended session cannot be renewed or ended again
    for (method, path) in [
        (Method::POST, format!("/v1/tracking-sessions/{s1}/renew")),
        (Method::DELETE, format!("/v1/tracking-sessions/{s1}")),
    ] {
        let (s, problem) = app.call(method, &path, Some(&t.key), None).await;
        assert_eq!(s, StatusCode::CONFLICT, "{problem}");
        assert_eq!(problem["type"], format!("{PROBLEMS}tracking-session-ended"));
    }
    let (s, read) = app.call(Method::GET, &format!("/v1/tracking-sessions/{s1}"), Some(&t.key), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!((read["visitor_id"].as_str(), read["end_reason"].as_str()), (Some("visitor-1"), Some("ended")));
    assert_eq!(read["attributes"], attrs);

    // the audit trail tells which visit held the number when
    let (_, history) = app.call(Method::GET, "/v1/numbers/%2B12125551000/history", Some(&t.key), None).await;
    let actions: Vec<&str> =
        history["history"].as_array().unwrap().iter().map(|h| h["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "tracking.pool_join",
            "tracking.lease_start",
            "tracking.lease_renew",
            "tracking.lease_end",
            "tracking.lease_start"
        ]
    );

    // a pool's number changes only through its pool; tracking only through pools
    let (s, problem) = app
        .call(Method::PATCH, "/v1/numbers/%2B12125551001", Some(&t.key), Some(json!({ "customer_label": "x" })))
        .await;
    assert_eq!(
        (s, problem["type"].as_str()),
        (StatusCode::CONFLICT, Some(&*format!("{PROBLEMS}number-in-use"))),
        "{problem}"
    );
    let (s, problem) = app
        .call(Method::POST, "/v1/numbers/%2B12125551001/release", Some(&t.key), Some(json!({ "reason": "x" })))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{problem}");
    let (s, problem) = app.allocate(&t, "+12125551005", "tracking").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("tracking pools"), "{problem}");

    // metrics: sessions by event, exhaustion by pool
    let metrics = app.http.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap();
    for line in [
        "didroute_tracking_sessions_total{event=\"started\"} 4".to_owned(),
        "didroute_tracking_sessions_total{event=\"resumed\"} 1".to_owned(),
        "didroute_tracking_sessions_total{event=\"renewed\"} 1".to_owned(),
        "didroute_tracking_sessions_total{event=\"ended\"} 1".to_owned(),
        format!("didroute_tracking_pool_exhausted_total{{pool_id=\"{pool_id}\"}} 2"),
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} not in:\n{metrics}");
    }
}

#[tokio::test]
async fn leases_expire_at_the_node_by_the_clock_and_in_the_database_by_the_lifecycle_job() {
    let app = spawn_app().await;
    let t = app.tenant("Expiring").await;
    app.import("12125552000-12125552004", "US").await;
    let node = start_lookup(&app).await;
    let p = pool(
        &app,
        &t,
        json!({ "name": "Short visits", "numbers": { "criteria": { "country": "US", "prefix": "1212555200" }, "quantity": 5 },
                "lease_seconds": 1, "cooldown_seconds": 600 }),
    )
    .await;
    assert_eq!(p["size"], 5, "{p}");
    let pool_id = id(&p);
    let mut leased = BTreeMap::new();
    let mut last = 0;
    for v in 0..3 {
        let (s, b) = start(&app, &t, &pool_id, &format!("v{v}"), None).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        last = seq(&b);
        leased.insert(b["number"].as_str().unwrap().to_owned(), b["session_id"].as_str().unwrap().to_owned());
    }
    for (n, sid) in &leased {
        let (_, hit) = lookup(&app, &node, n, last).await;
        assert_eq!(hit["tracking"]["session_id"], sid.as_str(), "{hit}");
    }
    tokio::time::sleep(Duration::from_millis(1300)).await;
    // past leased_until the node answers without the session, before any event
    for n in leased.keys() {
        let (s, hit) = lookup(&app, &node, n, last).await;
        assert_eq!(s, StatusCode::OK);
        assert!(hit.get("tracking").is_none(), "{hit}");
    }
    // the lifecycle job ends them in one batch: the numbers cool down
    let report = lifecycle::run_once(&app.state.db).await.unwrap();
    assert_eq!(report.tracking_leases_expired, 3, "{report:?}");
    let after = get_pool(&app, &t, &pool_id).await;
    assert_eq!(
        (after["leased"].as_i64(), after["cooling"].as_i64(), after["free"].as_i64()),
        (Some(0), Some(3), Some(2))
    );
    let at = head(&app).await;
    for (n, sid) in &leased {
        let (_, hit) = lookup(&app, &node, n, at).await;
        assert!(hit.get("tracking").is_none(), "{hit}");
        let (_, s) = app.call(Method::GET, &format!("/v1/tracking-sessions/{sid}"), Some(&t.key), None).await;
        assert_eq!(s["end_reason"], "expired", "{s}");
    }
    // nothing more is due
    assert_eq!(lifecycle::run_once(&app.state.db).await.unwrap().tracking_leases_expired, 0);
    // the same visitor after expiry: a new session, on a free number
    let (s, b) = start(&app, &t, &pool_id, "v0", None).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert!(!leased.contains_key(b["number"].as_str().unwrap()), "a cooling number was leased: {b}");
}

#[tokio::test]
async fn a_number_that_is_not_active_is_never_leased() {
    let app = spawn_app().await;
    let t = app.tenant("Careful").await;
    app.import("12125553000-12125553002", "US").await;
    let p = pool(
        &app,
        &t,
        json!({ "name": "Mixed", "numbers": ["+12125553000", "+12125553001", "+12125553002"],
                "lease_seconds": 600, "cooldown_seconds": 0 }),
    )
    .await;
    let pool_id = id(&p);
    let (s, b) = app
        .op(Method::PATCH, "/v1/inventory/%2B12125553000", Some(json!({ "provisioning_status": "port_pending" })))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = app.op(Method::PATCH, "/v1/inventory/%2B12125553001", Some(json!({ "disabled": true }))).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let p = get_pool(&app, &t, &pool_id).await;
    assert_eq!((p["free"].as_i64(), p["unavailable"].as_i64()), (Some(1), Some(2)), "{p}");
    let mut numbers = Vec::new();
    for v in 0..4 {
        let (s, b) = start(&app, &t, &pool_id, &format!("v{v}"), None).await;
        if b["leased"] == true {
            assert_eq!(s, StatusCode::CREATED);
            numbers.push(b["number"].as_str().unwrap().to_owned());
        } else {
            assert_eq!((s, b["number"].clone()), (StatusCode::OK, Value::Null), "no fallback set: {b}");
        }
    }
    assert_eq!(numbers, ["+12125553002"], "only the active number is leased");
    let p = get_pool(&app, &t, &pool_id).await;
    assert_eq!(p["exhausted"], 3, "{p}");
}

#[tokio::test]
async fn two_hundred_concurrent_starts_on_a_pool_of_one_hundred_never_share_a_number() {
    let app = spawn_app().await;
    let t = app.tenant("Spike").await;
    app.import("12125554000-12125554099", "US").await;
    let node = start_lookup(&app).await;
    let p = pool(
        &app,
        &t,
        json!({ "name": "Spike pool", "numbers": { "criteria": { "country": "US", "prefix": "121255540" }, "quantity": 100 },
                "lease_seconds": 3600, "cooldown_seconds": 60, "fallback_number": "+12125550000" }),
    )
    .await;
    assert_eq!(p["size"], 100);
    let pool_id = id(&p);
    let starts = (0..200)
        .map(|i| start_request(&app, &t, &pool_id, &format!("visitor-{i:03}"), Some(json!({ "i": i }))))
        .collect();
    let answers = at_once(starts).await;
    let mut by_number: BTreeMap<String, String> = BTreeMap::new();
    let mut fallbacks = 0;
    for (s, b) in &answers {
        match s.as_u16() {
            201 => {
                let n = b["number"].as_str().unwrap().to_owned();
                let sid = b["session_id"].as_str().unwrap().to_owned();
                assert!(by_number.insert(n.clone(), sid).is_none(), "{n} leased to two sessions");
            }
            200 => {
                assert_eq!((b["leased"].as_bool(), b["number"].as_str()), (Some(false), Some("+12125550000")), "{b}");
                fallbacks += 1;
            }
            other => panic!("{other}: {b}"),
        }
    }
    assert_eq!((by_number.len(), fallbacks), (100, 100));
    let p = get_pool(&app, &t, &pool_id).await;
    assert_eq!((p["leased"].as_i64(), p["free"].as_i64(), p["exhausted"].as_i64()), (Some(100), Some(0), Some(100)));
    let (live, distinct): (i64, i64) =
        sqlx::query_as("SELECT count(*), count(DISTINCT e164) FROM tracking_sessions WHERE ended_at IS NULL")
            .fetch_one(&app.state.db.operator)
            .await
            .unwrap();
    assert_eq!((live, distinct), (100, 100));
    // every leased number resolves to its own session at the lookup node
    let at = head(&app).await;
    for (n, sid) in &by_number {
        let (_, hit) = lookup(&app, &node, n, at).await;
        assert_eq!(hit["tracking"]["session_id"], sid.as_str(), "{n}: {hit}");
    }
}

/// What the database says each pool number resolves to: (session, version).
async fn truth(app: &TestApp, pool_id: &str) -> BTreeMap<String, (Option<String>, u64)> {
    let rows: Vec<(String, Option<Uuid>, i64)> = sqlx::query_as(
        "SELECT tn.e164, s.id, n.version FROM tracking_numbers tn JOIN numbers n ON n.e164 = tn.e164
         LEFT JOIN tracking_sessions s ON s.id = tn.session_id AND s.ended_at IS NULL
         WHERE tn.pool_id = $1::uuid",
    )
    .bind(pool_id)
    .fetch_all(&app.state.db.operator)
    .await
    .unwrap();
    rows.into_iter().map(|(n, s, v)| (n, (s.map(|s| s.to_string()), v as u64))).collect()
}

#[tokio::test]
async fn under_churn_the_lookup_node_equals_the_database() {
    let app = spawn_app().await;
    let t = app.tenant("Churn").await;
    app.import("12125555000-12125555029", "US").await;
    let node = start_lookup(&app).await;
    let p = pool(
        &app,
        &t,
        json!({ "name": "Churning", "numbers": { "criteria": { "country": "US", "prefix": "121255550" }, "quantity": 30 },
                "lease_seconds": 1, "cooldown_seconds": 0 }),
    )
    .await;
    let pool_id = id(&p);
    let mut sessions_seen = BTreeSet::new();
    for round in 0..4 {
        if round == 3 {
            // the last round's leases outlive the comparison
            let (s, b) = app
                .call(
                    Method::PATCH,
                    &format!("/v1/tracking-pools/{pool_id}"),
                    Some(&t.key),
                    Some(json!({ "lease_seconds": 600 })),
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{b}");
        }
        // visitors repeat across rounds: some resume, most start anew
        let starts = (0..40)
            .map(|i| start_request(&app, &t, &pool_id, &format!("visitor-{}", (round * 29 + i) % 70), None))
            .collect();
        let answers = at_once(starts).await;
        let mut live = Vec::new();
        for (s, b) in &answers {
            assert!(s.is_success(), "{s}: {b}");
            if let Some(sid) = b["session_id"].as_str() {
                sessions_seen.insert(sid.to_owned());
                live.push(sid.to_owned());
            }
        }
        live.sort();
        live.dedup();
        // end a third, renew a third, leave the rest to expire
        let changes = live
            .iter()
            .enumerate()
            .filter_map(|(i, sid)| match i % 3 {
                0 => Some(app.http.delete(format!("{}/v1/tracking-sessions/{sid}", app.base))),
                1 => Some(app.http.post(format!("{}/v1/tracking-sessions/{sid}/renew", app.base))),
                _ => None,
            })
            .map(|r| r.bearer_auth(&t.key))
            .collect();
        for (s, b) in at_once(changes).await {
            assert_eq!(s, StatusCode::OK, "{b}");
        }
        if round < 3 {
            tokio::time::sleep(Duration::from_millis(1100)).await;
            // the job runs while new starts come in
            let job = lifecycle::run_once(&app.state.db);
            let late = format!("late-{round}");
            let more = start(&app, &t, &pool_id, &late, None);
            let (report, (s, b)) = tokio::join!(job, more);
            report.unwrap();
            assert!(s.is_success(), "{b}");
        }
    }
    assert!(sessions_seen.len() > 60, "the churn made {} sessions", sessions_seen.len());
    // the earlier rounds' last one-second leases expire; the last round's stay
    tokio::time::sleep(Duration::from_millis(1100)).await;
    lifecycle::run_once(&app.state.db).await.unwrap();
    let at = head(&app).await;
    let db = truth(&app, &pool_id).await;
    assert_eq!(db.len(), 30);
    assert!(db.values().any(|(s, _)| s.is_some()), "some numbers are leased at the end");
    for (n, (session, version)) in &db {
        let (s, hit) = lookup(&app, &node, n, at).await;
        assert_eq!(s, StatusCode::OK, "{hit}");
        assert_eq!(hit["version"].as_u64(), Some(*version), "{n}: {hit}");
        assert_eq!(hit["tracking"]["session_id"].as_str(), session.as_deref(), "{n}: {hit}");
    }
}

#[tokio::test]
async fn pools_grow_shrink_change_and_are_deleted() {
    let app = spawn_app().await;
    let t = app.tenant("Owner").await;
    let other = app.tenant("Other").await;
    app.import("12125556000-12125556019", "US").await;
    let node = start_lookup(&app).await;
    let (s, b) = app.allocate(&other, "+12125556019", "utilities").await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    // a number the tenant holds already joins as it is
    let (s, b) = app.allocate(&t, "+12125556000", "utilities").await;
    assert_eq!(s, StatusCode::CREATED, "{b}");

    // bad input: clear 4xx naming what was wrong
    let base = json!({ "name": "P", "numbers": ["+12125556001"], "lease_seconds": 60, "cooldown_seconds": 0 });
    for (patch, status, needle) in [
        (json!({ "lease_seconds": 0 }), 400, "lease_seconds must be between 1 and 86400"),
        (json!({ "cooldown_seconds": 86401 }), 400, "cooldown_seconds must be between 0 and 86400"),
        (json!({ "numbers": [] }), 400, "numbers must name between 1 and 1000 numbers"),
        (json!({ "numbers": ["+12125556001", "+12125556001"] }), 400, "names +12125556001 twice"),
        (json!({ "fallback_number": "12ab" }), 400, "not a valid number"),
        (json!({ "name": "" }), 400, "name must not be empty"),
        (json!({ "numbers": { "criteria": { "country": "US" }, "quantity": 0 } }), 400, "quantity must be between"),
        (
            json!({ "numbers": { "criteria": { "country": "US", "prefix": "1212555699" }, "quantity": 1 } }),
            422,
            "only 0 of the 1",
        ),
        (json!({ "numbers": ["+12125556019"] }), 409, "taken"),
        (json!({ "surprise": true }), 400, "surprise"),
    ] {
        let mut body = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (s, problem) = create_pool(&app, &t, body).await;
        assert_eq!(s.as_u16(), status, "{patch}: {problem}");
        assert!(problem["detail"].as_str().unwrap().contains(needle), "{patch}: {problem}");
    }
    // nothing was taken by the refused creations
    let (_, list) = app.call(Method::GET, "/v1/tracking-pools", Some(&t.key), None).await;
    assert_eq!(list["pools"], json!([]));

    let p = pool(
        &app,
        &t,
        json!({ "name": "Radio ads", "numbers": ["+12125556000", "+12125556001"], "lease_seconds": 60, "cooldown_seconds": 0,
                "customer_label": "Radio", "dashboard_id": "marketing" }),
    )
    .await;
    let pool_id = id(&p);
    let (_, hit) = lookup(&app, &node, "+12125556000", seq(&p)).await;
    assert_eq!((hit["subsystem"].as_str(), hit["customer_label"].as_str()), (Some("tracking"), Some("Radio")), "{hit}");
    let (s, problem) = create_pool(
        &app,
        &t,
        json!({ "name": "radio ADS", "numbers": ["+12125556002"], "lease_seconds": 1, "cooldown_seconds": 0 }),
    )
    .await;
    assert_eq!(
        (s, problem["type"].as_str()),
        (StatusCode::CONFLICT, Some(&*format!("{PROBLEMS}already-exists"))),
        "{problem}"
    );
    let (s, problem) = create_pool(
        &app,
        &t,
        json!({ "name": "Again", "numbers": ["+12125556001"], "lease_seconds": 1, "cooldown_seconds": 0 }),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains(&pool_id), "{problem}");

    let path = format!("/v1/tracking-pools/{pool_id}");
    let patch = |body: Value| app.call(Method::PATCH, &path, Some(&t.key), Some(body));
    // grow by criteria, change timings and fallback
    let (s, grown) = patch(json!({
        "grow": { "criteria": { "country": "US", "prefix": "121255560" }, "quantity": 3 },
        "lease_seconds": 120, "cooldown_seconds": 5, "fallback_number": "+12125556019"
    }))
    .await;
    assert_eq!(s, StatusCode::OK, "{grown}");
    assert_eq!((grown["size"].as_i64(), grown["lease_seconds"].as_i64()), (Some(5), Some(120)), "{grown}");
    assert_eq!(grown["fallback_number"], "+12125556019");
    let (s, problem) = patch(json!({ "fallback_number": "+12125556001" })).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "a pool number cannot be the fallback: {problem}");
    let (s, cleared) = patch(json!({ "fallback_number": null })).await;
    assert_eq!((s, &cleared["fallback_number"]), (StatusCode::OK, &Value::Null), "{cleared}");
    let (s, problem) = patch(json!({})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{problem}");

    // a leased number cannot be shrunk away by name; by quantity, unleased ones go
    let (s, v) = start(&app, &t, &pool_id, "listener", None).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let leased = v["number"].as_str().unwrap().to_owned();
    let (s, problem) = patch(json!({ "shrink": [leased] })).await;
    assert_eq!(s, StatusCode::CONFLICT, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("is leased to session"), "{problem}");
    let (s, problem) = patch(json!({ "shrink": { "quantity": 5 } })).await;
    assert_eq!(s, StatusCode::CONFLICT, "only 4 are not leased: {problem}");
    let (s, shrunk) = patch(json!({ "shrink": { "quantity": 2 } })).await;
    assert_eq!((s, shrunk["size"].as_i64()), (StatusCode::OK, Some(3)), "{shrunk}");
    // kept numbers stay the tenant's, out of the pool: remap works again
    let (_, numbers) = app.call(Method::GET, "/v1/numbers?subsystem=tracking", Some(&t.key), None).await;
    assert_eq!(numbers["numbers"].as_array().unwrap().len(), 5, "{numbers}");
    let full = get_pool(&app, &t, &pool_id).await;
    let in_pool: BTreeSet<String> =
        full["numbers"].as_array().unwrap().iter().map(|n| n["number"].as_str().unwrap().to_owned()).collect();
    let kept = numbers["numbers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["number"].as_str().unwrap().to_owned())
        .find(|n| !in_pool.contains(n))
        .unwrap();
    let seq_remap = app.remap(&t, &kept, "Back to normal").await;
    let (_, hit) = lookup(&app, &node, &kept, seq_remap).await;
    assert_eq!(hit["customer_label"], "Back to normal");

    // delete, releasing the numbers: the live session ends, lookups stop
    let (s, deleted) = app.call(Method::DELETE, &format!("{path}?numbers=release"), Some(&t.key), None).await;
    assert_eq!(s, StatusCode::OK, "{deleted}");
    assert_eq!((deleted["numbers"].as_i64(), deleted["sessions_ended"].as_i64()), (Some(3), Some(1)), "{deleted}");
    assert_eq!(deleted["disposition"], "release");
    let (s, _) = lookup(&app, &node, &leased, seq(&deleted)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, n) =
        app.call(Method::GET, &format!("/v1/numbers/{}", leased.replace('+', "%2B")), Some(&t.key), None).await;
    assert_eq!(n["status"], "cooldown", "{n}");
    let (s, _) = app.call(Method::GET, &path, Some(&t.key), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app.call(Method::DELETE, &path, Some(&t.key), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn another_tenant_can_neither_see_nor_touch_a_pool_or_its_sessions() {
    let app = spawn_app().await;
    let a = app.tenant("Pool owner").await;
    let b = app.tenant("Intruder").await;
    app.import("12125557000-12125557003", "US").await;
    let p = pool(
        &app,
        &a,
        json!({ "name": "Private", "numbers": ["+12125557000", "+12125557001"], "lease_seconds": 600, "cooldown_seconds": 0 }),
    )
    .await;
    let pool_id = id(&p);
    let (s, v) = start(&app, &a, &pool_id, "visitor", None).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let sid = v["session_id"].as_str().unwrap().to_owned();

    let (s, list) = app.call(Method::GET, "/v1/tracking-pools", Some(&b.key), None).await;
    assert_eq!((s, &list["pools"]), (StatusCode::OK, &json!([])));
    let missing = Uuid::new_v4();
    for (method, theirs, absent, body) in [
        (Method::GET, format!("/v1/tracking-pools/{pool_id}"), format!("/v1/tracking-pools/{missing}"), None),
        (
            Method::PATCH,
            format!("/v1/tracking-pools/{pool_id}"),
            format!("/v1/tracking-pools/{missing}"),
            Some(json!({ "name": "mine" })),
        ),
        (Method::DELETE, format!("/v1/tracking-pools/{pool_id}"), format!("/v1/tracking-pools/{missing}"), None),
        (
            Method::POST,
            format!("/v1/tracking-pools/{pool_id}/sessions"),
            format!("/v1/tracking-pools/{missing}/sessions"),
            Some(json!({ "visitor_id": "x" })),
        ),
        (Method::GET, format!("/v1/tracking-sessions/{sid}"), format!("/v1/tracking-sessions/{missing}"), None),
        (
            Method::POST,
            format!("/v1/tracking-sessions/{sid}/renew"),
            format!("/v1/tracking-sessions/{missing}/renew"),
            None,
        ),
        (Method::DELETE, format!("/v1/tracking-sessions/{sid}"), format!("/v1/tracking-sessions/{missing}"), None),
    ] {
        let (s, problem) = app.call(method.clone(), &theirs, Some(&b.key), body.clone()).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{method} {theirs}: {problem}");
        let (s2, nothing) = app.call(method.clone(), &absent, Some(&b.key), body).await;
        assert_eq!(s2, StatusCode::NOT_FOUND, "{method} {absent}");
        assert_eq!(
            problem["detail"].as_str().unwrap().replace(&pool_id, "X").replace(&sid, "X"),
            nothing["detail"].as_str().unwrap().replace(&missing.to_string(), "X"),
            "another tenant's is exactly like an absent one"
        );
    }
    // nothing changed for the owner
    let after = get_pool(&app, &a, &pool_id).await;
    assert_eq!(
        (after["name"].as_str(), after["leased"].as_i64(), after["sessions"].as_i64()),
        (Some("Private"), Some(1), Some(1))
    );
    let (s, mine) = app.call(Method::GET, &format!("/v1/tracking-sessions/{sid}"), Some(&a.key), None).await;
    assert_eq!((s, mine["end_reason"].clone()), (StatusCode::OK, Value::Null));

    // as the application role under B's context the rows are invisible and
    // unchangeable; under A's (the positive control) they are there
    let role: String = sqlx::query_scalar("SELECT current_user::text").fetch_one(&app.state.db.app).await.unwrap();
    assert_eq!(role, "didroute_app");
    for (tenant, expect) in [(b.id, 0i64), (a.id, 1)] {
        let mut tx = app.state.db.tenant_tx(tenant).await.unwrap();
        let seen: (i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM tracking_pools), (SELECT count(*) FROM tracking_sessions),
                    (SELECT count(*) FROM tracking_numbers WHERE session_id IS NOT NULL)",
        )
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        assert_eq!(seen, (expect, expect, expect), "tenant {tenant}");
        let ended = sqlx::query("UPDATE tracking_sessions SET ended_at = now(), end_reason = 'ended'")
            .execute(&mut *tx)
            .await
            .unwrap()
            .rows_affected();
        let moved = sqlx::query("UPDATE tracking_numbers SET session_id = NULL")
            .execute(&mut *tx)
            .await
            .unwrap()
            .rows_affected();
        assert_eq!((ended as i64, moved as i64), (expect, 2 * expect), "tenant {tenant}");
        // a row for another tenant cannot be written
        let forged = sqlx::query(
            "INSERT INTO tracking_pools (id, tenant_id, name, lease_seconds, cooldown_seconds, dashboard_id, customer_label)
             VALUES (gen_random_uuid(), $1, 'forged', 1, 0, 'd', 'l')",
        )
        .bind(if tenant == a.id { b.id } else { a.id })
        .execute(&mut *tx)
        .await;
        assert_eq!(forged.unwrap_err().as_database_error().unwrap().code().as_deref(), Some("42501"));
        tx.rollback().await.unwrap();
    }
}

/// A GraphQL request's data; panics on errors.
async fn gql(app: &TestApp, key: &str, query: &str, variables: Value) -> Value {
    let res = app
        .http
        .post(format!("{}/graphql", app.base))
        .bearer_auth(key)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert!(body.get("errors").is_none(), "{query}: {body}");
    body["data"].clone()
}

#[tokio::test]
async fn graphql_mirrors_the_rest_of_tracking() {
    let app = spawn_app().await;
    let t = app.tenant("Graph").await;
    let other = app.tenant("Graph other").await;
    app.import("12125558000-12125558004", "US").await;
    let node = start_lookup(&app).await;

    let d = gql(
        &app,
        &t.key,
        r#"mutation { createTrackingPool(name: "Podcast", criteria: { country: "US", prefix: "121255580" }, quantity: 2,
               leaseSeconds: 600, cooldownSeconds: 0, fallbackNumber: "+12125558004", idempotencyKey: "gql-pool")
             { id name size free fallbackNumber seq } }"#,
        json!({}),
    )
    .await;
    let p = &d["createTrackingPool"];
    assert_eq!((p["size"].as_i64(), p["free"].as_i64()), (Some(2), Some(2)), "{d}");
    let pool_id = p["id"].as_str().unwrap().to_owned();

    let start_q = r#"mutation($p: UUID!, $v: String!) {
        startTrackingSession(poolId: $p, visitorId: $v, attributes: { utm_source: "podcast" }) {
            sessionId number leased resumed expiresAt seq } }"#;
    let d = gql(&app, &t.key, start_q, json!({ "p": pool_id, "v": "listener-1" })).await;
    let s = &d["startTrackingSession"];
    assert_eq!((s["leased"].as_bool(), s["number"].as_str()), (Some(true), Some("+12125558000")), "{d}");
    let sid = s["sessionId"].as_str().unwrap().to_owned();
    let (_, hit) = lookup(&app, &node, "+12125558000", s["seq"].as_u64().unwrap()).await;
    assert_eq!(hit["tracking"]["session_id"], sid.as_str(), "{hit}");
    assert_eq!(hit["tracking"]["attributes"]["utm_source"], "podcast");
    gql(&app, &t.key, start_q, json!({ "p": pool_id, "v": "listener-2" })).await;
    let d = gql(&app, &t.key, start_q, json!({ "p": pool_id, "v": "listener-3" })).await;
    let s = &d["startTrackingSession"];
    assert_eq!((s["leased"].as_bool(), s["number"].as_str()), (Some(false), Some("+12125558004")), "{d}");

    let d = gql(
        &app,
        &t.key,
        "query($p: UUID!, $s: UUID!) { trackingPools { id } trackingPool(id: $p) { leased exhausted numbers { number state } }
                                      trackingSession(id: $s) { visitorId leased } }",
        json!({ "p": pool_id, "s": sid }),
    )
    .await;
    assert_eq!(d["trackingPools"].as_array().unwrap().len(), 1);
    assert_eq!((d["trackingPool"]["leased"].as_i64(), d["trackingPool"]["exhausted"].as_i64()), (Some(2), Some(1)));
    assert_eq!(d["trackingSession"]["visitorId"], "listener-1");

    let d =
        gql(&app, &t.key, "mutation($s: UUID!) { renewTrackingSession(id: $s) { expiresAt } }", json!({ "s": sid }))
            .await;
    assert!(d["renewTrackingSession"]["expiresAt"].is_string());
    let d =
        gql(&app, &t.key, "mutation($s: UUID!) { endTrackingSession(id: $s) { endReason seq } }", json!({ "s": sid }))
            .await;
    assert_eq!(d["endTrackingSession"]["endReason"], "ended");
    let (_, hit) = lookup(&app, &node, "+12125558000", d["endTrackingSession"]["seq"].as_u64().unwrap()).await;
    assert!(hit.get("tracking").is_none(), "{hit}");

    let d = gql(
        &app,
        &t.key,
        "mutation($p: UUID!) { updateTrackingPool(id: $p, leaseSeconds: 30, fallbackNumber: null, shrinkQuantity: 1) { size leaseSeconds fallbackNumber } }",
        json!({ "p": pool_id }),
    )
    .await;
    let u = &d["updateTrackingPool"];
    assert_eq!(
        (u["size"].as_i64(), u["leaseSeconds"].as_i64(), &u["fallbackNumber"]),
        (Some(1), Some(30), &Value::Null)
    );

    // another tenant: NOT_FOUND, as REST's 404
    let res = app
        .http
        .post(format!("{}/graphql", app.base))
        .bearer_auth(&other.key)
        .json(&json!({ "query": "mutation($p: UUID!) { deleteTrackingPool(id: $p) { id } }", "variables": { "p": pool_id } }))
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "NOT_FOUND", "{body}");

    let d = gql(
        &app,
        &t.key,
        "mutation($p: UUID!) { deleteTrackingPool(id: $p, numbers: RELEASE) { numbers disposition } }",
        json!({ "p": pool_id }),
    )
    .await;
    assert_eq!(
        (d["deleteTrackingPool"]["numbers"].as_i64(), d["deleteTrackingPool"]["disposition"].as_str()),
        (Some(1), Some("RELEASE"))
    );
}
