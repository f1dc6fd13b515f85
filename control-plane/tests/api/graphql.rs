//! `POST /graphql` over real HTTP: the same rules, data and errors as REST,
//! read back through both; isolation, roles, authentication, and the depth
//! and complexity limits.

use didroute_control_plane::service::lifecycle;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp, OPERATOR_TOKEN};

/// Every field of a number, its route and greeting.
const NUMBER_FIELDS: &str = "
fragment N on Number {
  number status country region areaCode numberType carrierModule provisioningStatus monthlyCost currency version
  allocatedAt reservedUntil cooldownUntil reclaimUntil releaseReason releaseNotes updatedAt
  route { ...R }
  lastRoute { ...R }
}
fragment R on Route {
  tenantId subsystem dashboardId customerLabel country friendlyName organisationId autoProvisioned
  greeting { kind emergencyNumber text }
}";

const ROUTE: &str =
    r#"{ subsystem: PSAP, dashboardId: "dispatch-east", customerLabel: "Metro 911", friendlyName: "Main line" }"#;

/// Posts a GraphQL request; a well-formed request always answers 200 JSON.
async fn gql(app: &TestApp, token: Option<&str>, query: &str, variables: Value) -> Value {
    let (status, ct, body) = post(app, token, json!({ "query": query, "variables": variables })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(ct, "application/json");
    body
}

/// The data of a request that must have no errors.
async fn ok(app: &TestApp, token: &str, query: &str, variables: Value) -> Value {
    let r = gql(app, Some(token), query, variables).await;
    assert!(r.get("errors").is_none(), "{query}: {r}");
    r["data"].clone()
}

/// The one error of a request that must fail.
async fn err(app: &TestApp, token: &str, query: &str, variables: Value) -> Value {
    let r = gql(app, Some(token), query, variables).await;
    let errors = r["errors"].as_array().unwrap_or_else(|| panic!("{query}: expected an error, got {r}"));
    assert_eq!(errors.len(), 1, "{r}");
    assert!(r["data"].is_null(), "a failed non-null root field nulls data: {r}");
    errors[0].clone()
}

async fn post(app: &TestApp, token: Option<&str>, body: Value) -> (StatusCode, String, Value) {
    let mut req = app.http.post(format!("{}/graphql", app.base)).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let ct = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, ct, res.json().await.unwrap_or(Value::Null))
}

fn code(e: &Value) -> &str {
    e["extensions"]["code"].as_str().unwrap_or_else(|| panic!("no code: {e}"))
}

fn problem_type(slug: &str) -> String {
    format!("https://didroute.dev/problems/{slug}")
}

fn numbers_of(list: &Value) -> Vec<&str> {
    list.as_array().unwrap().iter().map(|n| n["number"].as_str().unwrap()).collect()
}

async fn rest_get(app: &TestApp, token: &str, path: &str) -> Value {
    let (s, body) = app.call(Method::GET, path, Some(token), None).await;
    assert_eq!(s, StatusCode::OK, "{path}: {body}");
    body
}

#[tokio::test]
async fn allocate_remap_release_reclaim_through_mutations_read_back_through_both_apis() {
    let app = spawn_app().await;
    let a = app.tenant("a").await;
    app.import("15550070000-15550070001", "US").await;
    let n = "+15550070000";

    let q = format!(
        "mutation($n: String!) {{ allocate(number: $n, route: {ROUTE}) {{ seq numbers {{ ...N }} }} }} {NUMBER_FIELDS}"
    );
    let d = ok(&app, &a.key, &q, json!({ "n": n })).await;
    let got = &d["allocate"]["numbers"][0];
    let seq_allocate = d["allocate"]["seq"].as_u64().unwrap();
    assert!(seq_allocate > 0);
    assert_eq!(got["number"], n);
    assert_eq!(got["status"], "allocated");
    assert_eq!(got["monthlyCost"], "1.25");
    assert_eq!(got["route"]["tenantId"], a.id.to_string());
    assert_eq!(got["route"]["subsystem"], "PSAP");
    assert_eq!(got["route"]["friendlyName"], "Main line");
    assert_eq!(got["route"]["greeting"]["kind"], "EMERGENCY");
    assert_eq!(got["route"]["greeting"]["emergencyNumber"], "911");
    assert!(got["lastRoute"].is_null());

    // the same number through REST
    let rest = rest_get(&app, &a.key, &format!("/v1/numbers/{n}")).await;
    assert_eq!(rest["status"], "allocated");
    assert_eq!(rest["version"], got["version"]);
    assert_eq!(rest["updated_at"], got["updatedAt"]);
    assert_eq!(rest["allocated_at"], got["allocatedAt"]);
    assert_eq!(rest["route"]["subsystem"], "psap");
    assert_eq!(rest["route"]["dashboard_id"], got["route"]["dashboardId"]);
    assert_eq!(rest["route"]["customer_label"], got["route"]["customerLabel"]);

    // one number with its route and history, by bare digits as REST accepts
    let d = ok(
        &app,
        &a.key,
        &format!(
            r#"{{ number(number: "15550070000") {{ ...N history {{ id action actor detail at }} }} }} {NUMBER_FIELDS}"#
        ),
        json!({}),
    )
    .await;
    let history = &d["number"]["history"];
    assert_eq!(history[0]["action"], "number.allocate");
    assert_eq!(history[0]["actor"], format!("tenant:{}", a.id));
    let rest_history = rest_get(&app, &a.key, &format!("/v1/numbers/{n}/history")).await;
    assert_eq!(history[0]["detail"], rest_history["history"][0]["detail"], "history detail is the REST JSON");
    assert_eq!(history[0]["at"], rest_history["history"][0]["at"]);

    // remap in place
    let d = ok(
        &app,
        &a.key,
        &format!(
            r#"mutation {{ remap(number: "{n}", subsystem: UTILITIES, customerLabel: "City Water") {{ seq number {{ ...N }} }} }} {NUMBER_FIELDS}"#
        ),
        json!({}),
    )
    .await;
    let seq_remap = d["remap"]["seq"].as_u64().unwrap();
    assert!(seq_remap > seq_allocate);
    let route = &d["remap"]["number"]["route"];
    assert_eq!(route["subsystem"], "UTILITIES");
    assert_eq!(route["dashboardId"], "dispatch-east", "fields not given stay");
    assert_eq!(route["greeting"]["kind"], "LABEL");
    assert!(route["greeting"]["emergencyNumber"].is_null());
    assert_eq!(route["greeting"]["text"], "Thank you for calling City Water.");
    let rest = rest_get(&app, &a.key, &format!("/v1/numbers/{n}")).await;
    assert_eq!(
        (&rest["route"]["subsystem"], &rest["route"]["customer_label"]),
        (&json!("utilities"), &json!("City Water"))
    );

    // the list, filtered
    let list = "query($s: Subsystem) { numbers(filter: { subsystem: $s }) { nextCursor numbers { number } } }";
    let d = ok(&app, &a.key, list, json!({ "s": "UTILITIES" })).await;
    assert_eq!(numbers_of(&d["numbers"]["numbers"]), [n]);
    assert!(d["numbers"]["nextCursor"].is_null());
    let d = ok(&app, &a.key, list, json!({ "s": "PSAP" })).await;
    assert!(numbers_of(&d["numbers"]["numbers"]).is_empty());

    // release to cooldown
    let d = ok(
        &app,
        &a.key,
        &format!(
            r#"mutation {{ release(number: "{n}", reason: "moving", notes: "to site B") {{ seq number {{ ...N }} }} }} {NUMBER_FIELDS}"#
        ),
        json!({}),
    )
    .await;
    let seq_release = d["release"]["seq"].as_u64().unwrap();
    assert!(seq_release > seq_remap);
    let released = &d["release"]["number"];
    assert_eq!(released["status"], "cooldown");
    assert_eq!((&released["releaseReason"], &released["releaseNotes"]), (&json!("moving"), &json!("to site B")));
    assert!(released["route"].is_null(), "lookups stop resolving it");
    assert_eq!(released["lastRoute"]["customerLabel"], "City Water");
    assert!(released["cooldownUntil"].is_string());
    assert_eq!(rest_get(&app, &a.key, &format!("/v1/numbers/{n}")).await["status"], "cooldown");

    // reclaim: refused in cooldown, with the REST problem
    let reclaim = format!(r#"mutation {{ reclaim(number: "{n}") {{ seq number {{ ...N }} }} }} {NUMBER_FIELDS}"#);
    let e = err(&app, &a.key, &reclaim, json!({})).await;
    assert_eq!(code(&e), "CONFLICT", "{e}");
    assert_eq!(e["extensions"]["status"], 409);
    assert_eq!(e["extensions"]["type"], problem_type("in-cooldown"));
    assert_eq!(e["message"], e["extensions"]["detail"]);
    assert_eq!(e["path"], json!(["reclaim"]));
    // cooldown over: aging, reclaimable by its releaser
    sqlx::query("UPDATE numbers SET cooldown_until = now() - interval '1 second' WHERE e164 = $1")
        .bind(n)
        .execute(&app.state.db.operator)
        .await
        .unwrap();
    assert_eq!(lifecycle::run_once(&app.state.db).await.unwrap().cooled_down, 1);
    let d = ok(&app, &a.key, &reclaim, json!({})).await;
    assert!(d["reclaim"]["seq"].as_u64().unwrap() > seq_release);
    assert_eq!(d["reclaim"]["number"]["status"], "allocated");
    assert_eq!(d["reclaim"]["number"]["route"]["customerLabel"], "City Water", "the last route comes back");
    let rest = rest_get(&app, &a.key, &format!("/v1/numbers/{n}")).await;
    assert_eq!(rest["status"], "allocated");
    assert_eq!(rest["version"], d["reclaim"]["number"]["version"]);

    // the audit trail, both ways
    let d = ok(&app, &a.key, &format!(r#"{{ number(number: "{n}") {{ history {{ action }} }} }}"#), json!({})).await;
    let actions: Vec<&str> =
        d["number"]["history"].as_array().unwrap().iter().map(|h| h["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["number.allocate", "number.remap", "number.release", "number.aging", "number.reclaim"]);
    let rest_history = rest_get(&app, &a.key, &format!("/v1/numbers/{n}/history")).await;
    let rest_actions: Vec<&str> =
        rest_history["history"].as_array().unwrap().iter().map(|h| h["action"].as_str().unwrap()).collect();
    assert_eq!(actions, rest_actions);
}

#[tokio::test]
async fn reserve_cancel_available_and_criteria_allocation_with_idempotency() {
    let app = spawn_app().await;
    let a = app.tenant("a").await;
    app.import("15550071000-15550071009", "US").await;

    let d = ok(
        &app,
        &a.key,
        r#"mutation { reserve(number: "+15550071000", ttlSeconds: 600) { seq numbers { number status reservedUntil } } }"#,
        json!({}),
    )
    .await;
    assert_eq!(d["reserve"]["numbers"][0]["status"], "reserved");
    assert!(d["reserve"]["numbers"][0]["reservedUntil"].is_string());
    assert_eq!(rest_get(&app, &a.key, "/v1/numbers/+15550071000").await["status"], "reserved");
    let d = ok(&app, &a.key, r#"{ numbers(filter: { status: "reserved" }) { numbers { number } } }"#, json!({})).await;
    assert_eq!(numbers_of(&d["numbers"]["numbers"]), ["+15550071000"]);

    // criteria and quantity
    let d = ok(
        &app,
        &a.key,
        r#"mutation { reserve(criteria: { country: "US", prefix: "1555007100" }, quantity: 2) { numbers { number status } } }"#,
        json!({}),
    )
    .await;
    let reserved = numbers_of(&d["reserve"]["numbers"]);
    assert_eq!(reserved, ["+15550071001", "+15550071002"]);
    let d =
        ok(&app, &a.key, r#"mutation { cancelReservation(number: "+15550071001") { number status seq } }"#, json!({}))
            .await;
    assert_eq!(d["cancelReservation"]["status"], "available");
    assert!(d["cancelReservation"]["seq"].as_u64().is_some());
    let (s, _) = app.call(Method::GET, "/v1/numbers/+15550071001", Some(&a.key), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "no longer held by a");

    // what may be taken, as REST lists it
    let d = ok(
        &app,
        &a.key,
        r#"{ availableNumbers(filter: { prefix: "155500710" }, limit: 50) { nextCursor numbers { number country monthlyCost currency privatePool } } }"#,
        json!({}),
    )
    .await;
    let rest = rest_get(&app, &a.key, "/v1/available-numbers?prefix=155500710&limit=50").await;
    assert_eq!(numbers_of(&d["availableNumbers"]["numbers"]), numbers_of(&rest["numbers"]));
    assert_eq!(numbers_of(&d["availableNumbers"]["numbers"]).len(), 8);
    assert_eq!(d["availableNumbers"]["numbers"][0]["monthlyCost"], "1.25");
    assert_eq!(d["availableNumbers"]["numbers"][0]["privatePool"], false);

    // allocating the reservation
    let d = ok(
        &app,
        &a.key,
        &format!(r#"mutation {{ allocate(number: "+15550071000", route: {ROUTE}) {{ numbers {{ status }} }} }}"#),
        json!({}),
    )
    .await;
    assert_eq!(d["allocate"]["numbers"][0]["status"], "allocated");

    // criteria allocation with an idempotency key: a repeat answers the same and takes nothing more
    let by_criteria = format!(
        r#"mutation($q: Int) {{ allocate(criteria: {{ country: "US", prefix: "1555007100" }}, quantity: $q, route: {ROUTE}, idempotencyKey: "gql-key-1") {{ seq numbers {{ number status route {{ subsystem }} }} }} }}"#
    );
    let first = ok(&app, &a.key, &by_criteria, json!({ "q": 2 })).await;
    assert_eq!(numbers_of(&first["allocate"]["numbers"]).len(), 2);
    let again = ok(&app, &a.key, &by_criteria, json!({ "q": 2 })).await;
    assert_eq!(first, again);
    let rest = rest_get(&app, &a.key, "/v1/numbers?status=allocated").await;
    assert_eq!(rest["numbers"].as_array().unwrap().len(), 3);
    let e = err(&app, &a.key, &by_criteria, json!({ "q": 1 })).await;
    assert_eq!(code(&e), "UNPROCESSABLE");
    assert_eq!(e["extensions"]["type"], problem_type("idempotency-key-reused"));

    // the service's refusals, as GraphQL errors
    let e =
        err(&app, &a.key, r#"mutation { reserve(number: "+15550071005", ttlSeconds: 0) { seq } }"#, json!({})).await;
    assert_eq!(code(&e), "BAD_REQUEST");
    assert_eq!(e["message"], "ttl_seconds must be between 1 and 604800");
    let e = err(
        &app,
        &a.key,
        &format!(r#"mutation {{ allocate(criteria: {{ country: "US", prefix: "1555007100" }}, quantity: 50, route: {ROUTE}) {{ seq }} }}"#),
        json!({}),
    )
    .await;
    assert_eq!((code(&e), &e["extensions"]["status"]), ("UNPROCESSABLE", &json!(422)));
    assert_eq!(e["extensions"]["type"], problem_type("pool-exhausted"));
    let e = err(
        &app,
        &a.key,
        &format!(r#"mutation {{ allocate(number: "+15550071005", criteria: {{ country: "US" }}, route: {ROUTE}) {{ seq }} }}"#),
        json!({}),
    )
    .await;
    assert_eq!(code(&e), "BAD_REQUEST");
    assert_eq!(e["message"], "give number or criteria, not both");
    let e = err(&app, &a.key, r#"mutation { remap(number: "+15550071000") { seq } }"#, json!({})).await;
    assert_eq!(code(&e), "BAD_REQUEST", "remap needs at least one field: {e}");
    let e = err(
        &app,
        &a.key,
        &format!(r#"mutation {{ allocate(number: "+15550071000", route: {ROUTE}) {{ seq }} }}"#),
        json!({}),
    )
    .await;
    assert_eq!((code(&e), &e["extensions"]["type"]), ("CONFLICT", &json!(problem_type("already-allocated"))));
}

/// The mirror of the REST isolation test: another tenant's number is
/// NOT_FOUND exactly like a number that does not exist, and nothing changes.
#[tokio::test]
async fn another_tenants_number_is_not_found_and_unchanged() {
    let app = spawn_app().await;
    let a = app.tenant("owner").await;
    let b = app.tenant("intruder").await;
    app.import("15550072000-15550072001", "US").await;
    let n = "+15550072000";
    let missing = "+15550072999";
    let (s, _) = app.allocate(&a, n, "psap").await;
    assert_eq!(s, StatusCode::CREATED);
    let before = rest_get(&app, &a.key, &format!("/v1/numbers/{n}")).await;

    for q in [
        "query($n: String!) { number(number: $n) { number } }",
        "query($n: String!) { number(number: $n) { number history { action } } }",
        r#"mutation($n: String!) { remap(number: $n, customerLabel: "mine now") { seq } }"#,
        r#"mutation($n: String!) { release(number: $n, reason: "stolen") { seq } }"#,
        "mutation($n: String!) { reclaim(number: $n) { seq } }",
        "mutation($n: String!) { cancelReservation(number: $n) { seq } }",
    ] {
        let theirs = err(&app, &b.key, q, json!({ "n": n })).await;
        assert_eq!(code(&theirs), "NOT_FOUND", "{q}: {theirs}");
        assert_eq!(theirs["extensions"]["status"], 404);
        let absent = err(&app, &b.key, q, json!({ "n": missing })).await;
        assert_eq!(theirs["extensions"]["type"], absent["extensions"]["type"], "{q}");
        assert_eq!(theirs["message"].as_str().unwrap().replace(n, missing), absent["message"], "{q}");
    }
    let d = ok(&app, &b.key, "{ numbers { numbers { number } } }", json!({})).await;
    assert!(numbers_of(&d["numbers"]["numbers"]).is_empty());
    let d =
        ok(&app, &b.key, r#"{ availableNumbers(filter: { prefix: "1555007200" }) { numbers { number } } }"#, json!({}))
            .await;
    assert_eq!(numbers_of(&d["availableNumbers"]["numbers"]), ["+15550072001"]);

    // nothing changed: the route, the version and a's audit trail
    let after = rest_get(&app, &a.key, &format!("/v1/numbers/{n}")).await;
    assert_eq!(before, after);
    let hist = rest_get(&app, &a.key, &format!("/v1/numbers/{n}/history")).await;
    let actions: Vec<&str> =
        hist["history"].as_array().unwrap().iter().map(|h| h["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["number.allocate"]);
}

#[tokio::test]
async fn a_bad_number_is_bad_request_with_the_parse_reason() {
    let app = spawn_app().await;
    let a = app.tenant("a").await;
    let (s, rest) = app.call(Method::GET, "/v1/numbers/12ab", Some(&a.key), None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    for q in [
        r#"{ number(number: "12ab") { number } }"#,
        r#"mutation { remap(number: "12ab", customerLabel: "x") { seq } }"#,
        r#"mutation { release(number: "12ab", reason: "x") { seq } }"#,
    ] {
        let e = err(&app, &a.key, q, json!({})).await;
        assert_eq!(code(&e), "BAD_REQUEST", "{q}: {e}");
        assert_eq!(e["extensions"]["status"], 400);
        assert_eq!(e["extensions"]["type"], problem_type("invalid-number"));
        assert_eq!(e["extensions"]["title"], rest["title"]);
        assert_eq!(e["message"], rest["detail"], "the same reason as REST");
        assert!(e["message"].as_str().unwrap().starts_with("\"12ab\" is not a valid number"), "{e}");
    }
    // service-level validation of filters, too
    let e = err(&app, &a.key, r#"{ numbers(filter: { status: "sold" }) { numbers { number } } }"#, json!({})).await;
    assert_eq!(code(&e), "BAD_REQUEST");
    assert_eq!(e["message"], "status must be one of reserved, allocated, cooldown, aging");
    let e = err(&app, &a.key, "{ numbers(limit: 0) { numbers { number } } }", json!({})).await;
    assert_eq!(e["message"], "limit must be between 1 and 1000");
}

#[tokio::test]
async fn operator_fields_need_the_operator_and_tenant_fields_need_a_tenant() {
    let app = spawn_app().await;
    let a = app.tenant("a").await;
    app.import("15550073000-15550073001", "US").await;
    let (s, _) = app.allocate(&a, "+15550073000", "psap").await;
    assert_eq!(s, StatusCode::CREATED);

    for q in ["{ tenants { id } }", "{ inventory { numbers { number } } }"] {
        let e = err(&app, &a.key, q, json!({})).await;
        assert_eq!(code(&e), "FORBIDDEN", "{q}: {e}");
        assert_eq!(e["extensions"]["status"], 403);
        assert_eq!(e["extensions"]["type"], problem_type("forbidden"));
    }
    for q in [
        "{ numbers { numbers { number } } }".to_owned(),
        r#"{ number(number: "+15550073000") { number } }"#.to_owned(),
        "{ availableNumbers { numbers { number } } }".to_owned(),
        format!(r#"mutation {{ allocate(number: "+15550073001", route: {ROUTE}) {{ seq }} }}"#),
        r#"mutation { release(number: "+15550073000", reason: "operator") { seq } }"#.to_owned(),
    ] {
        let e = err(&app, OPERATOR_TOKEN, &q, json!({})).await;
        assert_eq!(code(&e), "FORBIDDEN", "{q}: {e}");
    }
    // nothing was taken or released by the refused mutations
    let d = ok(
        &app,
        OPERATOR_TOKEN,
        r#"{ inventory(filter: { prefix: "1555007300" }) { numbers { number status tenantId poolTenantId provider } } }"#,
        json!({}),
    )
    .await;
    let inv = &d["inventory"]["numbers"];
    assert_eq!((&inv[0]["status"], &inv[0]["tenantId"]), (&json!("allocated"), &json!(a.id.to_string())));
    assert_eq!((&inv[1]["status"], &inv[1]["tenantId"]), (&json!("available"), &Value::Null));
    let rest = rest_get(&app, OPERATOR_TOKEN, "/v1/inventory?prefix=1555007300").await;
    assert_eq!(numbers_of(inv), numbers_of(&rest["numbers"]));

    // the operator's tenant list is REST's
    let d = ok(&app, OPERATOR_TOKEN, "{ tenants { id name createdAt } }", json!({})).await;
    let rest = rest_get(&app, OPERATOR_TOKEN, "/v1/tenants").await;
    assert_eq!(d["tenants"][0]["id"], rest["tenants"][0]["id"]);
    assert_eq!(d["tenants"][0]["name"], "a");
    assert_eq!(d["tenants"][0]["createdAt"], rest["tenants"][0]["created_at"]);
    // a forbidden root field (non-null) nulls the whole answer, even beside an allowed one
    let r = gql(&app, Some(&a.key), "{ numbers { numbers { number } } tenants { id } }", json!({})).await;
    assert_eq!(code(&r["errors"][0]), "FORBIDDEN");
    assert_eq!(r["errors"][0]["path"], json!(["tenants"]));
}

#[tokio::test]
async fn a_missing_or_bad_token_is_refused_with_401_before_anything_runs() {
    let app = spawn_app().await;
    let a = app.tenant("a").await;
    app.import("15550074000", "US").await;
    let allocate = format!(r#"mutation {{ allocate(number: "+15550074000", route: {ROUTE}) {{ seq }} }}"#);
    for token in [None, Some("drk_not-a-key"), Some("wrong-operator-token")] {
        let mut req = app.http.post(format!("{}/graphql", app.base)).json(&json!({ "query": allocate }));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{token:?}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        assert_eq!(res.headers()["www-authenticate"], "Bearer");
        let p: Value = res.json().await.unwrap();
        assert_eq!(p["type"], problem_type("unauthorized"));
    }
    // nothing was allocated
    let d = ok(&app, &a.key, "{ availableNumbers { numbers { number } } }", json!({})).await;
    assert_eq!(numbers_of(&d["availableNumbers"]["numbers"]), ["+15550074000"]);
}

#[tokio::test]
async fn too_deep_or_too_complex_requests_are_refused_before_anything_runs() {
    let app = spawn_app().await;
    let a = app.tenant("a").await;
    app.import("15550075000-15550075009", "US").await;

    // depth: only introspection nests this far in this schema
    let deep = format!(
        "{{ __schema {{ types {{ fields {{ type {{ {} name {} }} }} }} }} }}",
        "ofType {".repeat(12),
        "}".repeat(12)
    );
    let e = err(&app, &a.key, &deep, json!({})).await;
    assert_eq!(e["message"], "Query is nested too deep.");
    assert_eq!(code(&e), "GRAPHQL_VALIDATION_FAILED");
    assert_eq!(e["extensions"]["status"], 400);

    // complexity: a page of 1,000 numbers with history per number
    let e = err(
        &app,
        &a.key,
        &format!("{{ numbers(limit: 1000) {{ numbers {{ ...N history {{ action }} }} }} }} {NUMBER_FIELDS}"),
        json!({}),
    )
    .await;
    assert_eq!(e["message"], "Query is too complex.");
    assert_eq!(code(&e), "GRAPHQL_VALIDATION_FAILED");
    // many aliased database reads add up
    let aliases: String = (0..2000).map(|i| format!(r#"n{i}: number(number: "+15550075000") {{ number }} "#)).collect();
    let e = err(&app, &a.key, &format!("{{ {aliases} }}"), json!({})).await;
    assert_eq!(e["message"], "Query is too complex.");
    // a refused mutation changes nothing
    let e = err(
        &app,
        &a.key,
        &format!(
            r#"mutation {{ allocate(criteria: {{ country: "US" }}, quantity: 1000, route: {ROUTE}) {{ numbers {{ ...N history {{ action }} }} }} }} {NUMBER_FIELDS}"#
        ),
        json!({}),
    )
    .await;
    assert_eq!(e["message"], "Query is too complex.");
    let d = ok(&app, &a.key, "{ availableNumbers { numbers { number } } }", json!({})).await;
    assert_eq!(numbers_of(&d["availableNumbers"]["numbers"]).len(), 10);

    // within the limits: a full page of 100 numbers with every field, and a client's introspection query
    ok(&app, &a.key, &format!("{{ numbers(limit: 100) {{ numbers {{ ...N }} }} }} {NUMBER_FIELDS}"), json!({})).await;
    let d = ok(&app, &a.key, INTROSPECTION, json!({})).await;
    let types: Vec<&str> =
        d["__schema"]["types"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    for t in ["Number", "Route", "Greeting", "GreetingKind", "Subsystem", "HistoryEntry", "Tenant", "Claimed"] {
        assert!(types.contains(&t), "{t} in {types:?}");
    }
}

#[tokio::test]
async fn malformed_requests_get_problems_or_graphql_errors() {
    let app = spawn_app().await;
    let a = app.tenant("a").await;
    // not a GraphQL-over-HTTP body: 400 problem+json, like any REST body
    for body in [json!({ "variables": {} }), json!({ "query": "{ tenants { id } }", "variables": [1] }), json!([1])] {
        let (s, ct, p) = post(&app, Some(&a.key), body.clone()).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {p}");
        assert_eq!(ct, "application/problem+json");
    }
    let res = app
        .http
        .post(format!("{}/graphql", app.base))
        .bearer_auth(&a.key)
        .header("content-type", "application/json")
        .body("{ not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let (s, _) = app.call(Method::GET, "/graphql", Some(&a.key), None).await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);

    // a GraphQL document that does not parse or validate: a GraphQL error
    for q in ["{ numbers {", "{ numbers { numbers { nope } } }", "{ number { number } }"] {
        let e = err(&app, &a.key, q, json!({})).await;
        assert_eq!(code(&e), "GRAPHQL_VALIDATION_FAILED", "{q}: {e}");
        assert_eq!(e["extensions"]["status"], 400);
    }
    // operationName picks one of several operations
    let (s, _, r) = post(
        &app,
        Some(&a.key),
        json!({
            "query": "query Mine { numbers { numbers { number } } } query Theirs { tenants { id } }",
            "operationName": "Mine",
        }),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(r.get("errors").is_none(), "{r}");
    assert!(r["data"]["numbers"]["numbers"].is_array());
}

/// What GraphQL tools send (graphql-js `getIntrospectionQuery`, seven levels of `ofType`).
const INTROSPECTION: &str = "
query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }
}";
