//! The whole life of a number: reservations, allocation by criteria under
//! concurrency, idempotency, release → cooldown → aging → available,
//! reclaim, provisioning blocks, carrier modules and private pools.

use std::collections::HashSet;
use std::sync::Arc;

use didroute_control_plane::service::lifecycle;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp, TestTenant};

fn route_fields() -> Value {
    json!({ "subsystem": "utilities", "dashboard_id": "ops", "customer_label": "City Water" })
}

fn merge(mut a: Value, b: Value) -> Value {
    for (k, v) in b.as_object().unwrap() {
        a[k] = v.clone();
    }
    a
}

async fn status_of(app: &TestApp, number: &str) -> Option<String> {
    sqlx::query_scalar("SELECT status FROM numbers WHERE e164 = $1")
        .bind(number)
        .fetch_optional(&app.state.db.operator)
        .await
        .unwrap()
}

async fn sql(app: &TestApp, q: &str) {
    sqlx::query(q).execute(&app.state.db.operator).await.unwrap();
}

async fn numbers_in(body: &Value) -> Vec<String> {
    body["numbers"].as_array().unwrap().iter().map(|n| n["number"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn reservations_hold_numbers_then_expire() {
    let app = spawn_app().await;
    let a = app.tenant("a").await;
    let b = app.tenant("b").await;
    app.import("15550100000-15550100009", "US").await;

    let (s, r) = app
        .call(
            Method::POST,
            "/v1/reservations",
            Some(&a.key),
            Some(json!({ "number": "+15550100000", "ttl_seconds": 600 })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    assert_eq!(r["numbers"][0]["status"], "reserved");
    assert!(r["numbers"][0]["reserved_until"].is_string());
    // held for a: b can neither reserve nor allocate it
    let (s, _) =
        app.call(Method::POST, "/v1/reservations", Some(&b.key), Some(json!({ "number": "+15550100000" }))).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = app.allocate(&b, "+15550100000", "psap").await;
    assert_eq!(s, StatusCode::CONFLICT);
    // b cannot cancel it either: to b it is not there
    let (s, _) = app.call(Method::DELETE, "/v1/reservations/+15550100000", Some(&b.key), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // a allocates its reservation
    let (s, body) = app.allocate(&a, "+15550100000", "psap").await;
    assert_eq!(s, StatusCode::CREATED, "{body}");

    // by criteria: three numbers, then cancel one
    let (s, r) = app
        .call(
            Method::POST,
            "/v1/reservations",
            Some(&a.key),
            Some(json!({ "criteria": { "country": "US", "prefix": "1555010" }, "quantity": 3 })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let held = numbers_in(&r).await;
    assert_eq!(held.len(), 3);
    let (s, c) = app.call(Method::DELETE, &format!("/v1/reservations/{}", held[0]), Some(&a.key), None).await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(status_of(&app, &held[0]).await.as_deref(), Some("available"));
    let (s, _) = app.call(Method::DELETE, &format!("/v1/reservations/{}", held[0]), Some(&a.key), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "a cancelled reservation is gone");

    // expiry: the job returns held numbers whose time is up, and only those
    sql(&app, &format!("UPDATE numbers SET reserved_until = now() - interval '1 second' WHERE e164 = '{}'", held[1]))
        .await;
    let report = lifecycle::run_once(&app.state.db).await.unwrap();
    assert_eq!(report.reservations_expired, 1, "{report:?}");
    assert_eq!(status_of(&app, &held[1]).await.as_deref(), Some("available"));
    assert_eq!(status_of(&app, &held[2]).await.as_deref(), Some("reserved"));
    let (s, bad) = app
        .call(
            Method::POST,
            "/v1/reservations",
            Some(&a.key),
            Some(json!({ "number": "+15550100005", "ttl_seconds": 0 })),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");
}

#[tokio::test]
async fn criteria_allocation_is_all_or_nothing() {
    let app = spawn_app().await;
    let a = app.tenant("a").await;
    app.import("15550200000-15550200002", "US").await;
    app.import("15550300000-15550300004", "US").await;
    let ask = |q: u32, prefix: &str| {
        merge(route_fields(), json!({ "criteria": { "country": "US", "prefix": prefix }, "quantity": q }))
    };
    let (s, p) = app.call(Method::POST, "/v1/numbers", Some(&a.key), Some(ask(5, "1555020"))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert_eq!(p["type"], "https://didroute.dev/problems/pool-exhausted");
    for n in ["+15550200000", "+15550200001", "+15550200002"] {
        assert_eq!(status_of(&app, n).await.as_deref(), Some("available"), "nothing was taken");
    }
    let (s, body) = app.call(Method::POST, "/v1/numbers", Some(&a.key), Some(ask(3, "+1555020"))).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert_eq!(numbers_in(&body).await, ["+15550200000", "+15550200001", "+15550200002"]);
    assert!(body["seq"].as_u64().unwrap() >= 3);
    // area code filter (NANP area code is derived on import)
    let (s, body) = app
        .call(
            Method::POST,
            "/v1/numbers",
            Some(&a.key),
            Some(merge(route_fields(), json!({ "criteria": { "country": "US", "area_code": "555" }, "quantity": 2 }))),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let (s, p) = app
        .call(
            Method::POST,
            "/v1/numbers",
            Some(&a.key),
            Some(merge(route_fields(), json!({ "criteria": { "country": "GB" } }))),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    let (s, p) = app
        .call(
            Method::POST,
            "/v1/numbers",
            Some(&a.key),
            Some(merge(route_fields(), json!({ "criteria": { "country": "US" }, "quantity": 0 }))),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{p}");
}

/// docs/goals.md C2: 200 concurrent "any number" allocations over 100 free
/// numbers: 100 distinct winners, 100 typed 422 answers, no duplicates.
#[tokio::test]
async fn c2_two_hundred_racers_for_one_hundred_numbers() {
    let app = Arc::new(spawn_app().await);
    let tenants =
        Arc::new(vec![app.tenant("a").await, app.tenant("b").await, app.tenant("c").await, app.tenant("d").await]);
    app.import("15550400000-15550400099", "US").await;
    let started = std::time::Instant::now();
    let mut tasks = Vec::new();
    for i in 0..200 {
        let (app, tenants) = (app.clone(), tenants.clone());
        tasks.push(tokio::spawn(async move {
            let t = &tenants[i % tenants.len()];
            let body = merge(route_fields(), json!({ "criteria": { "country": "US", "prefix": "155504" } }));
            app.call(Method::POST, "/v1/numbers", Some(&t.key), Some(body)).await
        }));
    }
    let mut won = Vec::new();
    let mut refused = 0;
    for t in tasks {
        let (s, body) = t.await.unwrap();
        match s {
            StatusCode::CREATED => won.extend(numbers_in(&body).await),
            StatusCode::UNPROCESSABLE_ENTITY => {
                assert_eq!(body["type"], "https://didroute.dev/problems/pool-exhausted");
                refused += 1
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    eprintln!("c2: 200 requests answered in {:?}", started.elapsed());
    let distinct: HashSet<_> = won.iter().collect();
    assert_eq!(won.len(), 100);
    assert_eq!(distinct.len(), 100, "no number twice");
    assert_eq!(refused, 100);
    let allocated: i64 = sqlx::query_scalar("SELECT count(*) FROM numbers WHERE status = 'allocated'")
        .fetch_one(&app.state.db.operator)
        .await
        .unwrap();
    assert_eq!(allocated, 100);
}

/// 64 allocators, a pool of 10,000 and 20,000 requests: no number twice,
/// and the counts add up.
#[tokio::test]
async fn sixty_four_allocators_drain_ten_thousand_numbers() {
    use didroute_control_plane::service::claim::{self, Action, Criteria, Target};
    use didroute_control_plane::service::numbers::RouteInput;
    let app = Arc::new(spawn_app().await);
    let tenants: Vec<TestTenant> = vec![app.tenant("a").await, app.tenant("b").await];
    app.import("15550500000-15550509999", "US").await;
    let route: RouteInput = serde_json::from_value(route_fields()).unwrap();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for w in 0..64 {
        let (app, route, next, tenant) = (app.clone(), route.clone(), next.clone(), tenants[w % 2].id);
        tasks.push(tokio::spawn(async move {
            let (mut won, mut refused) = (Vec::new(), 0u32);
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < 20_000 {
                let target =
                    Target::Matching { criteria: Criteria { country: "US".into(), ..Default::default() }, quantity: 1 };
                match claim::claim(&app.state, tenant, target, Action::Allocate(route.clone()), None).await {
                    Ok(answer) => won.push(answer.numbers[0].number.to_string()),
                    Err(e) if e.problem().status == 422 => refused += 1,
                    Err(e) => panic!("unexpected error: {e}"),
                }
            }
            (won, refused)
        }));
    }
    let (mut won, mut refused) = (Vec::new(), 0);
    for t in tasks {
        let (w, r) = t.await.unwrap();
        won.extend(w);
        refused += r;
    }
    let distinct: HashSet<_> = won.iter().collect();
    assert_eq!(won.len(), 10_000);
    assert_eq!(distinct.len(), 10_000, "no number twice");
    assert_eq!(refused, 10_000);
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE op = 'upsert'")
        .fetch_one(&app.state.db.operator)
        .await
        .unwrap();
    assert_eq!(events, 10_000, "one event per allocation");
}

#[tokio::test]
async fn idempotency_key_yields_one_allocation_and_identical_answers() {
    let app = Arc::new(spawn_app().await);
    let a = Arc::new(app.tenant("a").await);
    app.import("15550600000-15550600099", "US").await;
    let body = merge(route_fields(), json!({ "criteria": { "country": "US" }, "quantity": 2 }));
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let (app, a, body) = (app.clone(), a.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            let res = app
                .http
                .post(format!("{}/v1/numbers", app.base))
                .bearer_auth(&a.key)
                .header("idempotency-key", "order-42")
                .json(&body)
                .send()
                .await
                .unwrap();
            (res.status(), res.json::<Value>().await.unwrap())
        }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    assert!(answers.iter().all(|(s, _)| *s == StatusCode::CREATED), "{answers:?}");
    assert!(answers.iter().all(|a| a.1 == answers[0].1), "every answer is the first answer");
    let allocated: i64 = sqlx::query_scalar("SELECT count(*) FROM numbers WHERE status = 'allocated'")
        .fetch_one(&app.state.db.operator)
        .await
        .unwrap();
    assert_eq!(allocated, 2, "one allocation of two numbers");
    // the same key with another request is refused; a new key allocates again
    let other = merge(route_fields(), json!({ "criteria": { "country": "US" }, "quantity": 1 }));
    let res = app
        .http
        .post(format!("{}/v1/numbers", app.base))
        .bearer_auth(&a.key)
        .header("idempotency-key", "order-42")
        .json(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = app
        .http
        .post(format!("{}/v1/numbers", app.base))
        .bearer_auth(&a.key)
        .header("idempotency-key", "order-43")
        .json(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    // keys are per tenant: another tenant's same key is its own
    let b = app.tenant("b").await;
    let res = app
        .http
        .post(format!("{}/v1/numbers", app.base))
        .bearer_auth(&b.key)
        .header("idempotency-key", "order-42")
        .json(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    // reservations take a key too
    let hold = json!({ "criteria": { "country": "US" }, "quantity": 1 });
    let mut seen = Vec::new();
    for _ in 0..3 {
        let res = app
            .http
            .post(format!("{}/v1/reservations", app.base))
            .bearer_auth(&a.key)
            .header("idempotency-key", "hold-1")
            .json(&hold)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        seen.push(res.json::<Value>().await.unwrap());
    }
    assert!(seen.iter().all(|s| *s == seen[0]));
}

#[tokio::test]
async fn release_cooldown_aging_reclaim_and_return() {
    let app = spawn_app().await;
    let a = app.tenant("a").await;
    let b = app.tenant("b").await;
    app.import("15550700000-15550700001", "US").await;
    let n = "+15550700000";
    let (s, _) = app.allocate(&a, n, "psap").await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, r) = app
        .call(
            Method::POST,
            &format!("/v1/numbers/{n}/release"),
            Some(&a.key),
            Some(json!({ "reason": "moving", "notes": "to site B" })),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["number"]["status"], "cooldown");
    assert_eq!(r["number"]["release_reason"], "moving");
    assert!(r["number"]["route"].is_null());
    assert_eq!(r["number"]["last_route"]["subsystem"], "psap");
    // in cooldown: nobody may take or reclaim it
    let (s, p) = app.call(Method::POST, &format!("/v1/numbers/{n}/reclaim"), Some(&a.key), None).await;
    assert_eq!(s, StatusCode::CONFLICT, "{p}");
    assert_eq!(p["type"], "https://didroute.dev/problems/in-cooldown");
    let (s, _) = app.allocate(&b, n, "psap").await;
    assert_eq!(s, StatusCode::CONFLICT);
    // cooldown over: aging, only a may reclaim
    sql(&app, &format!("UPDATE numbers SET cooldown_until = now() - interval '1 second' WHERE e164 = '{n}'")).await;
    let report = lifecycle::run_once(&app.state.db).await.unwrap();
    assert_eq!(report.cooled_down, 1);
    assert_eq!(status_of(&app, n).await.as_deref(), Some("aging"));
    let (s, _) = app.allocate(&b, n, "psap").await;
    assert_eq!(s, StatusCode::CONFLICT, "aging numbers are the releaser's to reclaim");
    let (s, _) = app.call(Method::POST, &format!("/v1/numbers/{n}/reclaim"), Some(&b.key), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, r) = app.call(Method::POST, &format!("/v1/numbers/{n}/reclaim"), Some(&a.key), None).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["status"], "allocated");
    assert_eq!(r["route"]["subsystem"], "psap", "the last route comes back");
    assert_eq!(r["route"]["customer_label"], "Metro 911");
    // the feed carries the route again
    let (_, feed) = app.op(Method::GET, &format!("/v1/events?after={}", r["seq"].as_u64().unwrap() - 1), None).await;
    assert_eq!(feed["events"][0]["op"], "upsert", "{feed}");

    // release again and let the window close
    let (s, _) = app
        .call(Method::POST, &format!("/v1/numbers/{n}/release"), Some(&a.key), Some(json!({ "reason": "done" })))
        .await;
    assert_eq!(s, StatusCode::OK);
    sql(&app, &format!("UPDATE numbers SET status = 'aging', cooldown_until = now() - interval '2 days', reclaim_until = now() - interval '1 second' WHERE e164 = '{n}'")).await;
    let (s, p) = app.call(Method::POST, &format!("/v1/numbers/{n}/reclaim"), Some(&a.key), None).await;
    assert_eq!((s, &p["type"]), (StatusCode::CONFLICT, &json!("https://didroute.dev/problems/reclaim-window-closed")));
    let report = lifecycle::run_once(&app.state.db).await.unwrap();
    assert_eq!(report.returned_to_inventory, 1);
    assert_eq!(status_of(&app, n).await.as_deref(), Some("available"));
    let (s, p) = app.call(Method::POST, &format!("/v1/numbers/{n}/reclaim"), Some(&a.key), None).await;
    assert_eq!(s, StatusCode::CONFLICT, "after the window: still 409 for the releaser: {p}");
    let (s, _) = app.call(Method::POST, &format!("/v1/numbers/{n}/reclaim"), Some(&b.key), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, body) = app.allocate(&b, n, "mdoc").await;
    assert_eq!(s, StatusCode::CREATED, "back in inventory for anyone: {body}");
    assert_eq!(body["numbers"][0]["route"]["subsystem"], "mdoc");
    let (_, hist) = app.call(Method::GET, &format!("/v1/numbers/{n}/history"), Some(&b.key), None).await;
    assert_eq!(hist["history"].as_array().unwrap().len(), 1, "b sees only its own history: {hist}");
}

/// Two (here eight) instances running the jobs at once never process a row twice.
#[tokio::test]
async fn concurrent_lifecycle_jobs_never_double_process() {
    let app = spawn_app().await;
    let a = app.tenant("a").await;
    app.import("15550800000-15550802499", "US").await;
    sql(
        &app,
        &format!(
            "UPDATE numbers SET status = 'reserved', tenant_id = '{}', reserved_until = now() - interval '1 second'",
            a.id
        ),
    )
    .await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let db = app.state.db.clone();
        tasks.push(tokio::spawn(async move { lifecycle::run_once(&db).await.unwrap().reservations_expired }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    assert_eq!(total, 2500);
    let audits: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'reservation.expire'")
        .fetch_one(&app.state.db.operator)
        .await
        .unwrap();
    assert_eq!(audits, 2500, "one audit row per number");
    let events: i64 =
        sqlx::query_scalar("SELECT count(*) FROM outbox").fetch_one(&app.state.db.operator).await.unwrap();
    assert_eq!(events, 2500, "one event per number");
    assert_eq!(status_of(&app, "+15550801234").await.as_deref(), Some("available"));
}

#[tokio::test]
async fn provisioning_failure_disables_and_withdraws_the_route() {
    let app = spawn_app().await;
    let a = app.tenant("a").await;
    app.import("15550900000-15550900002", "US").await;
    let n = "+15550900000";
    let (s, body) = app.allocate(&a, n, "psap").await;
    assert_eq!(s, StatusCode::CREATED);
    let allocated_seq = body["seq"].as_u64().unwrap();
    let (s, p) = app.op(Method::DELETE, &format!("/v1/inventory/{n}"), None).await;
    assert_eq!(s, StatusCode::CONFLICT, "no hard delete while allocated: {p}");
    let (s, r) = app
        .op(Method::PATCH, &format!("/v1/inventory/{n}"), Some(json!({ "provisioning_status": "purchase_failed" })))
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["number"]["status"], "disabled");
    assert_eq!(r["number"]["provisioning_status"], "purchase_failed");
    let seq = r["seq"].as_u64().unwrap();
    assert!(seq > allocated_seq);
    let (_, feed) = app.op(Method::GET, &format!("/v1/events?after={allocated_seq}"), None).await;
    // `block`, not `delete`: no route, and none through a range holding it
    assert_eq!(feed["events"][0]["op"], "block", "the route is withdrawn: {feed}");
    assert_eq!(feed["events"][0]["number"], n);
    let (s, _) = app.call(Method::GET, &format!("/v1/numbers/{n}"), Some(&a.key), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "the tenant lost the number");
    // a number whose provisioning is not active cannot be taken
    let (s, _) =
        app.op(Method::PATCH, "/v1/inventory/+15550900001", Some(json!({ "provisioning_status": "pending" }))).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app.allocate(&a, "+15550900001", "psap").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, avail) = app.call(Method::GET, "/v1/available-numbers?country=US", Some(&a.key), None).await;
    assert_eq!(numbers_in(&avail).await, ["+15550900002"], "only allocatable numbers are offered");
    // unblock: fixed provisioning and enabled again
    let (s, r) = app
        .op(
            Method::PATCH,
            &format!("/v1/inventory/{n}"),
            Some(json!({ "provisioning_status": "active", "disabled": false, "monthly_cost": 2.5 })),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["number"]["status"], "available");
    assert_eq!(r["number"]["monthly_cost"], "2.50");
    let (s, _) = app.op(Method::DELETE, &format!("/v1/inventory/{n}"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(status_of(&app, n).await, None);
    let (s, _) = app.op(Method::DELETE, &format!("/v1/inventory/{n}"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) =
        app.op(Method::PATCH, "/v1/inventory/+15550900002", Some(json!({ "provisioning_status": "broken" }))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn private_pools_and_carrier_modules() {
    let app = spawn_app().await;
    let a = app.tenant("a").await;
    let b = app.tenant("b").await;
    let (s, r) = app
        .op(
            Method::POST,
            "/v1/inventory",
            Some(json!({ "numbers": "15551000000-15551000009", "country": "US", "tenant_id": a.id })),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["imported"], 10);
    // an overlapping range for another tenant is refused by the database constraint
    let (s, r) = app
        .op(
            Method::POST,
            "/v1/inventory",
            Some(json!({ "numbers": "15551000005-15551000019;15552000000", "country": "US", "tenant_id": b.id })),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["imported"], 1, "{r}");
    assert_eq!(r["rejected"][0]["input"], "15551000005-15551000019");
    assert!(r["rejected"][0]["reason"].as_str().unwrap().contains("another tenant"), "{r}");
    let overlap =
        sqlx::query("INSERT INTO pool_ranges (tenant_id, numbers) VALUES ($1, int8range(15551000009, 15551000020))")
            .bind(b.id)
            .execute(&app.state.db.operator)
            .await;
    assert!(overlap.is_err(), "the exclusion constraint holds whatever the code does");
    // the same tenant may import its own range again
    let (s, r) = app
        .op(
            Method::POST,
            "/v1/inventory",
            Some(json!({ "numbers": "15551000000-15551000009", "country": "US", "tenant_id": a.id })),
        )
        .await;
    assert_eq!((s, &r["already_present"]), (StatusCode::OK, &json!(10)));

    // only a finds and takes its managed numbers
    let (_, avail_b) = app.call(Method::GET, "/v1/available-numbers?prefix=1555100", Some(&b.key), None).await;
    assert!(numbers_in(&avail_b).await.is_empty(), "{avail_b}");
    let (s, _) = app.allocate(&b, "+15551000000", "psap").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, avail_a) = app.call(Method::GET, "/v1/available-numbers?prefix=1555100", Some(&a.key), None).await;
    assert_eq!(numbers_in(&avail_a).await.len(), 10);
    assert_eq!(avail_a["numbers"][0]["private_pool"], true);
    let (s, body) = app
        .call(
            Method::POST,
            "/v1/numbers",
            Some(&a.key),
            Some(merge(route_fields(), json!({ "criteria": { "country": "US" }, "quantity": 2 }))),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert_eq!(numbers_in(&body).await, ["+15551000000", "+15551000001"], "own pool first");

    // local numbers: the tenant's own; release deletes them, no cooldown
    let (s, r) = app
        .op(
            Method::POST,
            "/v1/inventory",
            Some(json!({ "numbers": ["+15553000000"], "country": "US", "tenant_id": a.id, "carrier_module": "local" })),
        )
        .await;
    assert_eq!((s, &r["imported"]), (StatusCode::OK, &json!(1)), "{r}");
    let (s, _) = app.allocate(&a, "+15553000000", "utilities").await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, r) = app
        .call(Method::POST, "/v1/numbers/+15553000000/release", Some(&a.key), Some(json!({ "reason": "ported out" })))
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert!(r["number"].is_null());
    assert_eq!(status_of(&app, "+15553000000").await, None, "deleted on release");
    let (_, feed) = app.op(Method::GET, &format!("/v1/events?after={}", r["seq"].as_u64().unwrap() - 1), None).await;
    assert_eq!(feed["events"][0]["op"], "delete");
    let (s, p) = app
        .op(
            Method::POST,
            "/v1/inventory",
            Some(json!({ "numbers": "15554000000", "country": "US", "carrier_module": "managed" })),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "managed numbers need a tenant: {p}");
}

#[tokio::test]
async fn search_filters_and_pages() {
    let app = spawn_app().await;
    let a = app.tenant("a").await;
    app.import("15551100000-15551100019", "US").await;
    app.import("12125550000-12125550004", "US").await;
    app.import("442079460000-442079460004", "GB").await;
    // page through everything US with limit 7: every number once, in order
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/available-numbers?country=US&limit=7&cursor={}", c.replace('+', "%2B")),
            None => "/v1/available-numbers?country=US&limit=7".to_owned(),
        };
        let (s, page) = app.call(Method::GET, &path, Some(&a.key), None).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        seen.extend(numbers_in(&page).await);
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 25);
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted);
    let get = |q: &'static str| {
        let app = &app;
        let key = a.key.clone();
        async move { numbers_in(&app.call(Method::GET, q, Some(&key), None).await.1).await }
    };
    assert_eq!(get("/v1/available-numbers?area_code=212").await.len(), 5);
    assert_eq!(get("/v1/available-numbers?prefix=%2B4420").await.len(), 5);
    assert_eq!(
        get("/v1/available-numbers?contains=2555").await,
        ["+12125550000", "+12125550001", "+12125550002", "+12125550003", "+12125550004"]
    );
    assert_eq!(get("/v1/available-numbers?country=GB&contains=94600").await.len(), 5);
    let (_, one) = app.call(Method::GET, "/v1/available-numbers?prefix=4420794600", Some(&a.key), None).await;
    assert_eq!(one["numbers"][0]["monthly_cost"], "1.25");
    assert_eq!(one["numbers"][0]["currency"], "USD");
    let (s, _) = app.call(Method::GET, "/v1/available-numbers?contains=12a", Some(&a.key), None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = app.call(Method::GET, "/v1/available-numbers?status=allocated", Some(&a.key), None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // the operator sees every status
    let (s, _) = app.allocate(&a, "+12125550000", "psap").await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, inv) = app.op(Method::GET, "/v1/inventory?status=allocated", None).await;
    assert_eq!(numbers_in(&inv).await, ["+12125550000"]);
    assert_eq!(inv["numbers"][0]["tenant_id"], a.id.to_string());
    let (_, inv) = app.op(Method::GET, &format!("/v1/inventory?tenant_id={}", a.id), None).await;
    assert_eq!(numbers_in(&inv).await.len(), 1);
    let (_, inv) = app.op(Method::GET, "/v1/inventory?limit=1000", None).await;
    assert_eq!(numbers_in(&inv).await.len(), 30);
    let (s, _) = app.op(Method::GET, "/v1/inventory?status=lost", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // the tenant's own list
    let (_, mine) = app.call(Method::GET, "/v1/numbers?subsystem=psap&status=allocated", Some(&a.key), None).await;
    assert_eq!(numbers_in(&mine).await, ["+12125550000"]);
    let (_, none) = app.call(Method::GET, "/v1/numbers?subsystem=mdoc", Some(&a.key), None).await;
    assert!(numbers_in(&none).await.is_empty());
}
