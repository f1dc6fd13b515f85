//! Usage from lookups through the whole system: a lookup node on the HTTP
//! feed counts lookups and ships them with its feed token; the control plane
//! stores each batch once, per tenant in hourly buckets under row-level
//! security, answers per number and busiest numbers, rolls hours up to days.

use didroute_control_plane::service::lifecycle;
use didroute_lookup::{Config, Node};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::helpers::{eventually, spawn_app, within, TestApp, TestTenant, OPERATOR_TOKEN};

const A1: &str = "+15550200001";
const A2: &str = "+15550200002";
const B1: &str = "+15550200003";

fn now() -> String {
    OffsetDateTime::now_utc().format(&Rfc3339).unwrap()
}

fn batch(id: &str, counts: &[(&str, u64)]) -> Value {
    let counts: Vec<Value> = counts.iter().map(|(n, l)| json!({ "number": n, "lookups": l })).collect();
    json!({ "node_id": "test-node", "batch_id": id, "window_start": now(), "window_end": now(),
            "counts": counts, "overflow": 0 })
}

async fn post_batch(app: &TestApp, token: &str, key: &str, body: &Value) -> (StatusCode, Value) {
    let res = app
        .http
        .post(format!("{}/v1/usage/batches", app.base))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
        .unwrap();
    (res.status(), res.json().await.unwrap())
}

async fn usage(app: &TestApp, token: &str, number: &str, query: &str) -> (StatusCode, Value) {
    let path = format!("/v1/numbers/{}/usage{query}", number.replace('+', "%2B"));
    app.call(Method::GET, &path, Some(token), None).await
}

/// Two tenants, A holding A1 and A2, B holding B1.
async fn world(app: &TestApp) -> (TestTenant, TestTenant) {
    let a = app.tenant("Usage A").await;
    let b = app.tenant("Usage B").await;
    app.import("+15550200000-+15550200009", "US").await;
    for (t, n) in [(&a, A1), (&a, A2), (&b, B1)] {
        let (s, body) = app.allocate(t, n, "psap").await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
    }
    (a, b)
}

#[tokio::test]
async fn lookups_at_a_node_show_as_usage_of_their_tenant() {
    let app = spawn_app().await;
    let (a, b) = world(&app).await;
    let token = app.feed_token("usage node").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = Config { usage_flush_ms: 200, ..Config::new(app.base.clone(), token) };
    let node = Node::start(&config, listener).await.unwrap();
    within("lookup node ready", node.wait_ready()).await;
    let head = app.op(Method::GET, "/v1/events?after=0&limit=1", None).await.1["head_seq"].as_u64().unwrap();
    let get = |n: &str| {
        let url = format!("http://{}/v1/routes/{n}?min_seq={head}", node.local_addr());
        let req = app.http.get(url);
        async move { req.send().await.unwrap().status() }
    };
    for _ in 0..3 {
        assert_eq!(get(A1).await, StatusCode::OK);
    }
    assert_eq!(get(B1).await, StatusCode::OK);
    assert_eq!(get(B1).await, StatusCode::OK);
    assert_eq!(get("+15550200009").await, StatusCode::NOT_FOUND, "not allocated: not counted");

    eventually("the node's batches are stored", || async {
        usage(&app, &a.key, A1, "").await.1["total"] == 3 && usage(&app, &b.key, B1, "").await.1["total"] == 2
    })
    .await;
    let (s, mine) = usage(&app, &a.key, A1, "?bucket=hour").await;
    assert_eq!(s, StatusCode::OK, "{mine}");
    let buckets = mine["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), 24, "the last 24 hours, empty ones included: {mine}");
    assert_eq!(buckets.last().unwrap()["lookups"], 3, "this hour: {mine}");
    assert_eq!(mine["bucket"], "hour");
    let (_, days) = usage(&app, &a.key, A1, "?bucket=day").await;
    assert_eq!((days["buckets"].as_array().unwrap().len(), &days["total"]), (30, &json!(3)), "{days}");

    // another tenant sees none of it; the operator sees it all
    assert_eq!(usage(&app, &b.key, A1, "").await.1["total"], 0);
    assert_eq!(usage(&app, OPERATOR_TOKEN, A1, "").await.1["total"], 3);

    let (s, top) = app.call(Method::GET, "/v1/usage/top", Some(&a.key), None).await;
    assert_eq!(s, StatusCode::OK, "{top}");
    assert_eq!(top["numbers"], json!([{ "number": A1, "tenant_id": a.id, "lookups": 3 }]));
    let (_, all) = app.op(Method::GET, "/v1/usage/top", None).await;
    let numbers: Vec<&str> = all["numbers"].as_array().unwrap().iter().map(|n| n["number"].as_str().unwrap()).collect();
    assert_eq!(numbers, [A1, B1], "busiest first: {all}");
    let (_, only_b) = app.op(Method::GET, &format!("/v1/usage/top?tenant_id={}&limit=1", b.id), None).await;
    assert_eq!(only_b["numbers"], json!([{ "number": B1, "tenant_id": b.id, "lookups": 2 }]));
    let (s, p) = app.call(Method::GET, &format!("/v1/usage/top?tenant_id={}", b.id), Some(&a.key), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{p}");

    // GraphQL answers the same
    let q = json!({ "query": format!(r#"{{ usage(number: "{A1}") {{ total buckets {{ lookups }} }} usageTop {{ numbers {{ number lookups }} }} }}"#) });
    let (s, g) = app.call(Method::POST, "/graphql", Some(&a.key), Some(q)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(g["data"]["usage"]["total"], 3, "{g}");
    assert_eq!(g["data"]["usageTop"]["numbers"], json!([{ "number": A1, "lookups": 3 }]), "{g}");
    node.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_batch_is_applied_once_however_often_it_arrives() {
    let app = spawn_app().await;
    let (a, b) = world(&app).await;
    let feed = app.feed_token("usage feed").await;
    // a number in B's range but not held: B's; one with no tenant: not stored
    let (s, r) = app
        .op(Method::POST, &format!("/v1/tenants/{}/ranges", b.id), Some(json!({ "range": "12125557000-12125557099" })))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let body = batch("node-x-1", &[(A1, 5), (A2, 1), ("+12125557005", 4), ("+15550200009", 7)]);

    let (s, first) = post_batch(&app, &feed, "k1", &body).await;
    assert_eq!(s, StatusCode::OK, "{first}");
    assert_eq!(first, json!({ "batch_id": "node-x-1", "applied": true, "stored": 10, "unattributed": 7 }));
    // the same key: the first answer replayed
    assert_eq!(post_batch(&app, &feed, "k1", &body).await, (StatusCode::OK, first.clone()));
    // a retry under another key (a node restarted, a Kafka redelivery): nothing counted again
    let (s, again) = post_batch(&app, OPERATOR_TOKEN, "k2", &body).await;
    assert_eq!((s, &again["applied"], &again["stored"]), (StatusCode::OK, &json!(false), &json!(0)), "{again}");
    // the key with another batch is refused
    let (s, p) = post_batch(&app, &feed, "k1", &batch("node-x-2", &[(A1, 1)])).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");

    assert_eq!(usage(&app, &a.key, A1, "").await.1["total"], 5);
    assert_eq!(usage(&app, &a.key, A2, "").await.1["total"], 1);
    assert_eq!(usage(&app, &b.key, "+12125557005", "").await.1["total"], 4);
    let (_, top) = app.op(Method::GET, "/v1/usage/top", None).await;
    let total: u64 = top["numbers"].as_array().unwrap().iter().map(|n| n["lookups"].as_u64().unwrap()).sum();
    assert_eq!(total, 10, "{top}");
    let ledger: (i64, i64, i64) =
        sqlx::query_as("SELECT count(*), sum(stored)::bigint, sum(unattributed)::bigint FROM usage_batches")
            .fetch_one(&app.state.db.operator)
            .await
            .unwrap();
    assert_eq!(ledger, (1, 10, 7));

    // a tenant key may not ship batches
    let (s, _) = post_batch(&app, &a.key, "k3", &batch("node-x-3", &[(A1, 1)])).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn bad_batches_and_bad_queries_are_refused_with_what_was_wrong() {
    let app = spawn_app().await;
    let (a, _) = world(&app).await;
    let feed = app.feed_token("usage feed").await;
    let old = (OffsetDateTime::now_utc() - time::Duration::days(8)).format(&Rfc3339).unwrap();
    let later = (OffsetDateTime::now_utc() + time::Duration::hours(2)).format(&Rfc3339).unwrap();
    let mut backwards = batch("b1", &[(A1, 1)]);
    backwards["window_start"] = json!(later);
    let mut stale = batch("b2", &[(A1, 1)]);
    stale["window_start"] = json!(old);
    stale["window_end"] = json!(old);
    let too_many: Vec<(String, u64)> = (0..10_001).map(|i| (format!("+1555{:07}", i), 1)).collect();
    let too_many: Vec<(&str, u64)> = too_many.iter().map(|(n, l)| (n.as_str(), *l)).collect();
    let cases = [
        (backwards, "window_end must not be before window_start"),
        (stale, "more than 7 days ago"),
        (batch("b3", &[(A1, 0)]), "lookups of +15550200001 must be between 1"),
        (batch("", &[(A1, 1)]), "batch_id must be"),
        (batch("b5", &too_many), "at most 10000 numbers"),
        (json!({ "batch_id": "b6" }), "missing field"),
        (batch("b7", &[("+1", 1)]), "counts"),
    ];
    for (i, (body, detail)) in cases.iter().enumerate() {
        let (s, p) = post_batch(&app, &feed, &format!("bad-{i}"), body).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{detail}: {p}");
        assert!(p["detail"].as_str().unwrap().contains(detail), "{detail}: {p}");
    }
    let queries = [
        ("?from=2026-12-25T10:00:00Z&to=2026-12-25T09:00:00Z", "must be after from"),
        ("?from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z", "at most 744"),
        ("?from=2020-01-01T00:00:00Z&to=2026-03-01T00:00:00Z&bucket=day", "at most 400"),
        ("?bucket=week", "`hour`"),
        ("?from=yesterday", "from must be an RFC 3339 time"),
        ("?colour=red", "colour"),
    ];
    for (q, detail) in queries {
        let (s, p) = usage(&app, &a.key, A1, q).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{q}: {p}");
        assert!(p["detail"].as_str().unwrap().contains(detail), "{q}: {p}");
    }
    let (s, p) = usage(&app, &a.key, "+1", "").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{p}");
    for q in ["?limit=0", "?limit=1001", "?to=2026-01-01T00:00:00Z&from=2026-02-01T00:00:00Z", "?tenant_id=x"] {
        let (s, p) = app.call(Method::GET, &format!("/v1/usage/top{q}"), Some(&a.key), None).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{q}: {p}");
    }
    let (s, _) = usage(&app, &feed, A1, "").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "a feed token reads no usage");
}

#[tokio::test]
async fn the_app_role_sees_only_its_tenants_buckets_and_writes_none() {
    let app = spawn_app().await;
    let (a, b) = world(&app).await;
    let db = &app.state.db;
    sqlx::query(
        "INSERT INTO usage_hourly (tenant_id, e164, hour, lookups) VALUES
             ($1, $3, date_trunc('hour', now(), 'UTC'), 5), ($2, $4, date_trunc('hour', now(), 'UTC'), 7)",
    )
    .bind(a.id)
    .bind(b.id)
    .bind(A1)
    .bind(B1)
    .execute(&db.operator)
    .await
    .unwrap();
    let seen = |t: Uuid| async move {
        let mut tx = db.tenant_tx(t).await.unwrap();
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT e164, lookups FROM usage_hourly ORDER BY e164").fetch_all(&mut *tx).await.unwrap();
        tx.rollback().await.unwrap();
        rows
    };
    assert_eq!(seen(a.id).await, vec![(A1.to_owned(), 5)]);
    assert_eq!(seen(b.id).await, vec![(B1.to_owned(), 7)]);
    // no tenant set: nothing (fail closed)
    let mut tx = db.app.begin().await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM usage_hourly").fetch_one(&mut *tx).await.unwrap();
    assert_eq!(n, 0);
    tx.rollback().await.unwrap();
    // a tenant writes no usage, not even its own, and reads no batch ledger
    for sql in [
        format!("INSERT INTO usage_hourly VALUES ('{}', '{A2}', date_trunc('hour', now(), 'UTC'), 1)", a.id),
        "UPDATE usage_hourly SET lookups = 0".to_owned(),
        "DELETE FROM usage_daily".to_owned(),
        "SELECT count(*) FROM usage_batches".to_owned(),
    ] {
        let mut tx = db.tenant_tx(a.id).await.unwrap();
        let err = sqlx::query(&sql).execute(&mut *tx).await.unwrap_err();
        assert_eq!(err.as_database_error().and_then(|e| e.code()).as_deref(), Some("42501"), "{sql}: {err}");
    }
    // and the app role really is the one that ran (not a superuser)
    let mut tx = db.tenant_tx(a.id).await.unwrap();
    let (role, bypass): (String, bool) =
        sqlx::query_as("SELECT current_user::text, rolbypassrls FROM pg_roles WHERE rolname = current_user")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    assert_eq!((role.as_str(), bypass), ("didroute_app", false));
}

#[tokio::test]
async fn old_hours_roll_up_into_days_and_old_batch_ids_are_forgotten() {
    let app = spawn_app().await;
    let (a, _) = world(&app).await;
    let db = &app.state.db;
    // 40 days ago: three hours of one day; 2 days ago: one hour (kept)
    sqlx::query(
        "INSERT INTO usage_hourly (tenant_id, e164, hour, lookups)
         SELECT $1, $2, date_trunc('day', now() - interval '40 days', 'UTC') + h * interval '1 hour', 10
         FROM generate_series(1, 3) h
         UNION ALL SELECT $1, $2, date_trunc('hour', now() - interval '2 days', 'UTC'), 4",
    )
    .bind(a.id)
    .bind(A1)
    .execute(&db.operator)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO usage_batches (batch_id, node_id, window_start, window_end, numbers, stored, unattributed, overflow, received_at)
         VALUES ('old', 'n', now(), now(), 0, 0, 0, 0, now() - interval '8 days'), ('new', 'n', now(), now(), 0, 0, 0, 0, now())",
    )
    .execute(&db.operator)
    .await
    .unwrap();
    let report = lifecycle::run_once(db).await.unwrap();
    assert_eq!((report.usage_hours_rolled_up, report.usage_batches_expired), (3, 1), "{report:?}");
    let daily: Vec<(i64,)> = sqlx::query_as("SELECT lookups FROM usage_daily").fetch_all(&db.operator).await.unwrap();
    assert_eq!(daily, vec![(30,)]);
    let hourly: i64 = sqlx::query_scalar("SELECT count(*) FROM usage_hourly").fetch_one(&db.operator).await.unwrap();
    assert_eq!(hourly, 1);
    // days answer from both tables
    let from = (OffsetDateTime::now_utc() - time::Duration::days(45)).format(&Rfc3339).unwrap();
    let (s, days) = usage(&app, &a.key, A1, &format!("?bucket=day&from={from}")).await;
    assert_eq!(s, StatusCode::OK, "{days}");
    assert_eq!(days["total"], 34, "{days}");
    let busy: Vec<u64> =
        days["buckets"].as_array().unwrap().iter().map(|b| b["lookups"].as_u64().unwrap()).filter(|l| *l > 0).collect();
    assert_eq!(busy, [30, 4]);
    // a second run finds nothing more
    let again = lifecycle::run_once(db).await.unwrap();
    assert_eq!((again.usage_hours_rolled_up, again.usage_batches_expired), (0, 0));
}

/// The console's sparklines: a page of numbers read in one query, each
/// tenant its own under row-level security, the operator every tenant's.
#[tokio::test]
async fn a_page_of_numbers_reads_its_last_day_at_once() {
    use didroute_control_plane::auth::Principal;
    use didroute_control_plane::service::usage::{last_day_many, MAX_SPARKLINES};
    use didroute_shared::E164;

    let app = spawn_app().await;
    let (a, b) = world(&app).await;
    let (s, body) = post_batch(&app, OPERATOR_TOKEN, "spark-1", &batch("spark-1", &[(A1, 4), (B1, 2)])).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let n = |t: &str| E164::parse(t).unwrap();
    let page = [n(A1), n(A2), n(B1)];
    let tenant = |id| Principal::Tenant { id, write: false };

    let mine = last_day_many(&app.state.db, tenant(a.id), &page).await.unwrap();
    assert_eq!(mine.len(), 1, "only A1 has lookups, and B1 is not A's: {mine:?}");
    assert_eq!(mine[0].0, n(A1));
    assert_eq!(mine[0].1.len(), 24, "24 hourly buckets");
    assert_eq!(mine[0].1.last().unwrap().lookups, 4, "this hour last");
    assert_eq!(mine[0].1.iter().map(|b| b.lookups).sum::<u64>(), 4);

    let theirs = last_day_many(&app.state.db, tenant(b.id), &page).await.unwrap();
    assert_eq!(theirs.iter().map(|(n, _)| *n).collect::<Vec<_>>(), [n(B1)]);
    let all = last_day_many(&app.state.db, Principal::Operator, &page).await.unwrap();
    assert_eq!(all.iter().map(|(n, _)| *n).collect::<Vec<_>>(), [n(A1), n(B1)]);

    let too_many = vec![n(A1); MAX_SPARKLINES + 1];
    let e = last_day_many(&app.state.db, Principal::Operator, &too_many).await.unwrap_err();
    assert_eq!(e.problem().status, 400, "{:?}", e.problem());
    assert!(last_day_many(&app.state.db, Principal::Operator, &[]).await.unwrap().is_empty());
}
