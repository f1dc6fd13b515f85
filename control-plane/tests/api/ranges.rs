//! Range routes (PortSIP DID ranges) through the whole system: created,
//! listed, split and re-assigned over REST without a re-import, refused on
//! overlap, and answered by a lookup node on the HTTP feed from its range
//! fst (`"source": "range"`), a number's own allocation first.

use didroute_lookup::Node;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, start_lookup, TestApp, TestTenant};

async fn lookup(app: &TestApp, node: &Node, number: &str, seq: u64) -> (StatusCode, Value) {
    let url = format!("http://{}/v1/routes/{number}?min_seq={seq}", node.local_addr());
    let res = app.http.get(url).send().await.unwrap();
    (res.status(), res.json().await.unwrap())
}

async fn caller_id(app: &TestApp, node: &Node, t: &TestTenant, number: &str, seq: u64) -> bool {
    let url = format!("http://{}/v1/caller-id/{}/{number}?min_seq={seq}", node.local_addr(), t.id);
    let res = app.http.get(url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json::<Value>().await.unwrap()["allowed"].as_bool().unwrap()
}

async fn add_range(app: &TestApp, t: &TestTenant, body: Value) -> (StatusCode, Value) {
    app.op(Method::POST, &format!("/v1/tenants/{}/ranges", t.id), Some(body)).await
}

fn seq(body: &Value) -> u64 {
    body["seq"].as_u64().unwrap_or_else(|| panic!("no seq in {body}"))
}

#[tokio::test]
async fn a_range_routes_to_its_tenant_and_splits_without_a_reimport() {
    let app = spawn_app().await;
    let a = app.tenant("Range Tenant A").await;
    let b = app.tenant("Range Tenant B").await;
    app.import("12125550000-12125550099", "US").await;
    let (s, own) = app.allocate(&a, "+12125550005", "utilities").await;
    assert_eq!(s, StatusCode::CREATED, "{own}");
    let node = start_lookup(&app).await;

    let (s, created) = add_range(
        &app,
        &a,
        json!({ "range": "12125550000-12125550049", "subsystem": "psap", "customer_label": "Range A" }),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    assert_eq!(created["range"], "12125550000-12125550049");
    assert_eq!(created["first"], "+12125550000");
    assert_eq!(created["numbers"], 50);
    // the public numbers of the range and the tenant's own one joined its pool
    assert_eq!(created["joined_pool"], 50, "{created}");
    let range_a = created["id"].as_i64().unwrap();
    let at = seq(&created);

    let (s, hit) = lookup(&app, &node, "+12125550010", at).await;
    assert_eq!(s, StatusCode::OK, "{hit}");
    assert_eq!(hit["source"], "range", "{hit}");
    assert_eq!(hit["number"], "+12125550010");
    assert_eq!(hit["tenant_id"], a.id.to_string());
    assert_eq!(hit["subsystem"], "psap");
    assert_eq!(hit["customer_label"], "Range A");
    assert_eq!(hit["country"], "US");
    assert_eq!(hit["greeting"]["emergency_number"], "911", "{hit}");
    // the number's own allocation answers first
    let (s, hit) = lookup(&app, &node, "+12125550005", at).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(hit["source"], "number", "{hit}");
    assert_eq!(hit["customer_label"], "Metro 911");
    // beside the range: nothing
    let (s, _) = lookup(&app, &node, "+12125550050", at).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // the tenant may present its range's numbers as caller id, no one else
    assert!(caller_id(&app, &node, &a, "+12125550010", at).await);
    assert!(!caller_id(&app, &node, &b, "+12125550010", at).await);
    assert!(!caller_id(&app, &node, &a, "+12125550050", at).await);

    // the range's numbers are in A's private pool: A sees them, B does not
    let (s, avail) =
        app.call(Method::GET, "/v1/available-numbers?prefix=121255500&limit=200", Some(&a.key), None).await;
    assert_eq!(s, StatusCode::OK, "{avail}");
    let private = avail["numbers"].as_array().unwrap().iter().filter(|n| n["private_pool"] == true).count();
    assert_eq!(private, 49, "{avail}");
    let (_, avail) =
        app.call(Method::GET, "/v1/available-numbers?prefix=121255500&limit=200", Some(&b.key), None).await;
    assert!(avail["numbers"].as_array().unwrap().iter().all(|n| n["number"].as_str().unwrap() >= "+12125550050"));

    // another tenant's overlapping range: 409, naming the range in the way
    let (s, problem) = add_range(&app, &b, json!({ "range": "12125550040-12125550059" })).await;
    assert_eq!(s, StatusCode::CONFLICT, "{problem}");
    assert_eq!(problem["type"], "https://didroute.dev/problems/range-overlap");
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains(&format!("range {range_a}")) && detail.contains(&a.id.to_string()), "{detail}");
    // the same tenant's too
    let (s, _) = add_range(&app, &a, json!({ "range": "12125550049-12125550051" })).await;
    assert_eq!(s, StatusCode::CONFLICT);
    // bad input
    let (s, problem) = add_range(&app, &a, json!({ "range": "12125550060-121255500" })).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{problem}");
    // numbers no numbering plan places: the country their import recorded
    let (s, problem) = add_range(&app, &a, json!({ "range": "15559990000-15559990009" })).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("import them with their country first"), "{problem}");
    app.import("15559990000-15559990009", "US").await;
    let (s, test_range) = add_range(&app, &a, json!({ "range": "15559990000-15559990009" })).await;
    assert_eq!(s, StatusCode::CREATED, "{test_range}");
    let (_, hit) = lookup(&app, &node, "+15559990005", seq(&test_range)).await;
    assert_eq!((hit["source"].as_str(), hit["country"].as_str()), (Some("range"), Some("US")), "{hit}");
    let (s, _) = app.op(Method::DELETE, &format!("/v1/ranges/{}", test_range["id"]), None).await;
    assert_eq!(s, StatusCode::OK);

    // split and re-assign: delete, then two smaller ranges of two tenants
    let (s, deleted) = app.op(Method::DELETE, &format!("/v1/ranges/{range_a}"), None).await;
    assert_eq!(s, StatusCode::OK, "{deleted}");
    assert_eq!(deleted["left_pool"], 49, "{deleted}");
    let (s, _) = lookup(&app, &node, "+12125550010", seq(&deleted)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app.op(Method::DELETE, &format!("/v1/ranges/{range_a}"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, first) = add_range(&app, &a, json!({ "range": "12125550000-12125550019" })).await;
    assert_eq!(s, StatusCode::CREATED, "{first}");
    let (s, second) =
        add_range(&app, &b, json!({ "range": "12125550020-12125550049", "dashboard_id": "b-dash" })).await;
    assert_eq!(s, StatusCode::CREATED, "{second}");
    let at = seq(&second);
    let (_, hit) = lookup(&app, &node, "+12125550010", at).await;
    assert_eq!(hit["tenant_id"], a.id.to_string(), "{hit}");
    // defaults: utilities, dashboard `default`, the tenant's name as label
    assert_eq!(hit["subsystem"], "utilities");
    assert_eq!(hit["dashboard_id"], "default");
    assert_eq!(hit["customer_label"], "Range Tenant A");
    let (_, hit) = lookup(&app, &node, "+12125550030", at).await;
    assert_eq!(hit["tenant_id"], b.id.to_string(), "{hit}");
    assert_eq!(hit["dashboard_id"], "b-dash");
    assert!(caller_id(&app, &node, &b, "+12125550030", at).await);

    let (s, list) = app.op(Method::GET, &format!("/v1/tenants/{}/ranges", a.id), None).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let ranges = list["ranges"].as_array().unwrap();
    assert_eq!(ranges.len(), 1, "{list}");
    assert_eq!(ranges[0]["range"], "12125550000-12125550019");
    // operator only
    let (s, _) = app.call(Method::GET, &format!("/v1/tenants/{}/ranges", a.id), Some(&a.key), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // the folded base answers the same (the range fst rebuilt)
    node.app().store().fold();
    let (_, hit) = lookup(&app, &node, "+12125550030", at).await;
    assert_eq!(hit["tenant_id"], b.id.to_string(), "{hit}");
    assert_eq!(hit["source"], "range");
    let (_, hit) = lookup(&app, &node, "+12125550005", at).await;
    assert_eq!(hit["source"], "number");
}

/// Re-importing public numbers with a `tenant_id` used to record a pool
/// range and leave the numbers public: they join the pool, and the range
/// routes to the tenant.
#[tokio::test]
async fn reimporting_public_numbers_for_a_tenant_moves_them_into_its_pool() {
    let app = spawn_app().await;
    let a = app.tenant("Reimport Tenant").await;
    app.import("12125551000-12125551009", "US").await;
    let (s, body) = app
        .op(
            Method::POST,
            "/v1/inventory",
            Some(json!({ "numbers": "12125551000-12125551009", "country": "US", "tenant_id": a.id })),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["already_present"], 10, "{body}");
    let (_, avail) = app.call(Method::GET, "/v1/available-numbers?prefix=1212555100", Some(&a.key), None).await;
    let numbers = avail["numbers"].as_array().unwrap();
    assert_eq!(numbers.len(), 10, "{avail}");
    assert!(numbers.iter().all(|n| n["private_pool"] == true), "{avail}");
    let (_, list) = app.op(Method::GET, &format!("/v1/tenants/{}/ranges", a.id), None).await;
    assert_eq!(list["ranges"].as_array().unwrap().len(), 1, "{list}");
    // a third import of the same range records nothing new
    app.op(
        Method::POST,
        "/v1/inventory",
        Some(json!({ "numbers": "12125551000-12125551009", "country": "US", "tenant_id": a.id })),
    )
    .await;
    let (_, list) = app.op(Method::GET, &format!("/v1/tenants/{}/ranges", a.id), None).await;
    assert_eq!(list["ranges"].as_array().unwrap().len(), 1, "{list}");

    let node = start_lookup(&app).await;
    let (s, hit) = lookup(&app, &node, "+12125551004", 0).await;
    assert_eq!(s, StatusCode::OK, "{hit}");
    assert_eq!(hit["source"], "range");
    assert_eq!(hit["tenant_id"], a.id.to_string());
}

async fn gql(app: &TestApp, token: &str, query: &str, variables: Value) -> Value {
    app.http
        .post(format!("{}/graphql", app.base))
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The operator's GraphQL: `addRange`, `ranges`, `deleteRange`; a tenant
/// key is refused.
#[tokio::test]
async fn graphql_adds_lists_and_deletes_ranges() {
    let app = spawn_app().await;
    let t = app.tenant("GraphQL ranges").await;
    let node = start_lookup(&app).await;
    let op = crate::helpers::OPERATOR_TOKEN;
    let add = "mutation($t: UUID!) { addRange(tenantId: $t, range: \"12125558000-12125558999\", subsystem: PSAP, \
               customerLabel: \"County\", idempotencyKey: \"gql-range-1\") { id range numbers subsystem joinedPool seq } }";
    let r = gql(&app, op, add, json!({ "t": t.id })).await;
    assert!(r.get("errors").is_none(), "{r}");
    let added = &r["data"]["addRange"];
    assert_eq!(added["numbers"], 1000, "{r}");
    assert_eq!(added["subsystem"], "PSAP", "{r}");
    // the key's repeat answers the same
    let again = gql(&app, op, add, json!({ "t": t.id })).await;
    assert_eq!(again["data"]["addRange"]["id"], added["id"], "{again}");
    let (s, hit) = lookup(&app, &node, "+12125558123", added["seq"].as_u64().unwrap()).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!((hit["source"].as_str(), hit["customer_label"].as_str()), (Some("range"), Some("County")));

    let r = gql(&app, op, "query($t: UUID!) { ranges(tenantId: $t) { id range } }", json!({ "t": t.id })).await;
    assert_eq!(r["data"]["ranges"].as_array().unwrap().len(), 1, "{r}");
    let r = gql(&app, &t.key, "query($t: UUID!) { ranges(tenantId: $t) { id } }", json!({ "t": t.id })).await;
    assert!(r["errors"][0]["message"].as_str().is_some(), "a tenant key is refused: {r}");

    let r =
        gql(&app, op, "mutation($id: Int!) { deleteRange(id: $id) { id leftPool seq } }", json!({ "id": added["id"] }))
            .await;
    assert!(r.get("errors").is_none(), "{r}");
    let (s, _) = lookup(&app, &node, "+12125558123", r["data"]["deleteRange"]["seq"].as_u64().unwrap()).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

/// Issue 18's gap: a number inside a range that must not carry calls
/// (disabled by the operator, provisioning pending, a failed purchase)
/// answers 404 at the lookup node and fails the caller-ID check, where one
/// merely not allocated (available in the pool, released and cooling down)
/// answers through the range; the feed says `block` for it. Re-enabled, it
/// answers through the range again.
#[tokio::test]
async fn a_disabled_number_inside_a_range_routes_nowhere() {
    let app = spawn_app().await;
    let a = app.tenant("Blocked Range Tenant").await;
    app.import("12125560000-12125560099", "US").await;
    let node = start_lookup(&app).await;
    let (s, created) = add_range(&app, &a, json!({ "range": "12125560000-12125560099" })).await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let at = seq(&created);
    let (disabled, pending, released, allocated) = ("+12125560010", "+12125560040", "+12125560030", "+12125560050");
    let (s, hit) = lookup(&app, &node, disabled, at).await;
    assert_eq!((s, hit["source"].as_str()), (StatusCode::OK, Some("range")), "{hit}");

    // disabled by the operator: 404, not even the range; no caller id
    let patch = |n: &'static str, body: Value| {
        let app = &app;
        async move { app.op(Method::PATCH, &format!("/v1/inventory/{n}"), Some(body)).await }
    };
    let (s, r) = patch(disabled, json!({ "disabled": true })).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["number"]["status"], "disabled");
    let at = seq(&r);
    let (_, feed) = app.op(Method::GET, &format!("/v1/events?after={}", at - 1), None).await;
    assert_eq!(
        (feed["events"][0]["op"].as_str(), feed["events"][0]["number"].as_str()),
        (Some("block"), Some(disabled))
    );
    let (s, problem) = lookup(&app, &node, disabled, at).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("not even through a range route"), "{problem}");
    assert!(!caller_id(&app, &node, &a, disabled, at).await, "a disabled number is no caller id");
    // its neighbours still answer through the range
    let (s, hit) = lookup(&app, &node, "+12125560011", at).await;
    assert_eq!((s, hit["source"].as_str()), (StatusCode::OK, Some("range")), "{hit}");
    assert!(caller_id(&app, &node, &a, "+12125560011", at).await);

    // re-enabled: available in the pool again, the range answers for it
    let (s, r) = patch(disabled, json!({ "disabled": false })).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let at = seq(&r);
    let (s, hit) = lookup(&app, &node, disabled, at).await;
    assert_eq!((s, hit["source"].as_str()), (StatusCode::OK, Some("range")), "{hit}");
    assert!(caller_id(&app, &node, &a, disabled, at).await);

    // provisioning pending (an order not done): 404; active again: the range
    let (s, r) = patch(pending, json!({ "provisioning_status": "pending" })).await;
    assert_eq!((s, r["number"]["status"].as_str()), (StatusCode::OK, Some("available")), "{r}");
    let (s, _) = lookup(&app, &node, pending, seq(&r)).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "a pending number routes nowhere");
    let (s, r) = patch(pending, json!({ "provisioning_status": "active" })).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let (s, hit) = lookup(&app, &node, pending, seq(&r)).await;
    assert_eq!((s, hit["source"].as_str()), (StatusCode::OK, Some("range")), "{hit}");

    // allocated, then released: cooling down, the range answers for it
    let (s, own) = app.allocate(&a, released, "utilities").await;
    assert_eq!(s, StatusCode::CREATED, "{own}");
    let (_, hit) = lookup(&app, &node, released, seq(&own)).await;
    assert_eq!(hit["source"], "number", "{hit}");
    let (s, r) = app
        .call(Method::POST, &format!("/v1/numbers/{released}/release"), Some(&a.key), Some(json!({ "reason": "done" })))
        .await;
    assert_eq!((s, r["number"]["status"].as_str()), (StatusCode::OK, Some("cooldown")), "{r}");
    let (s, hit) = lookup(&app, &node, released, seq(&r)).await;
    assert_eq!((s, hit["source"].as_str()), (StatusCode::OK, Some("range")), "{hit}");

    // an allocated number whose purchase failed: disabled, its own route
    // gone and the range's withheld
    let (s, own) = app.allocate(&a, allocated, "utilities").await;
    assert_eq!(s, StatusCode::CREATED, "{own}");
    let (s, r) = patch(allocated, json!({ "provisioning_status": "purchase_failed" })).await;
    assert_eq!((s, r["number"]["status"].as_str()), (StatusCode::OK, Some("disabled")), "{r}");
    let (s, _) = lookup(&app, &node, allocated, seq(&r)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(!caller_id(&app, &node, &a, allocated, seq(&r)).await);

    // a node started now (a catch-up build from the feed) agrees
    let fresh = start_lookup(&app).await;
    let head = seq(&r);
    for (n, want) in [(disabled, Some("range")), (pending, Some("range")), (released, Some("range")), (allocated, None)]
    {
        let (s, hit) = lookup(&app, &fresh, n, head).await;
        assert_eq!(hit["source"].as_str(), want, "{n}: {s} {hit}");
    }
}
