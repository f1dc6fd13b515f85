//! `/openapi.json` describes every route, and every route is described.

use std::collections::BTreeSet;

/// The detail of the answer to a path no route serves.
const NO_ROUTE: &str = "no such route; the API is described at /openapi.json";

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{spawn_app, OPERATOR_TOKEN};

/// The paths of the HTTP contract (docs/api.md), control plane side.
const CONTRACT: [(&str, &str); 53] = [
    ("post", "/v1/tenants"),
    ("get", "/v1/tenants"),
    ("patch", "/v1/tenants/{id}"),
    ("post", "/v1/tenants/{id}/api-keys"),
    ("get", "/v1/tenants/{id}/api-keys"),
    ("delete", "/v1/tenants/{id}/api-keys/{key_id}"),
    ("post", "/v1/feed-tokens"),
    ("get", "/v1/feed-tokens"),
    ("delete", "/v1/feed-tokens/{id}"),
    ("post", "/v1/tenants/{id}/ranges"),
    ("get", "/v1/tenants/{id}/ranges"),
    ("delete", "/v1/ranges/{id}"),
    ("post", "/v1/usage/batches"),
    ("get", "/v1/numbers/{number}/usage"),
    ("get", "/v1/usage/top"),
    ("get", "/v1/carriers"),
    ("get", "/v1/carriers/{carrier}/available-numbers"),
    ("post", "/v1/orders"),
    ("get", "/v1/orders/{id}"),
    ("post", "/v1/reconciliations"),
    ("get", "/v1/reconciliations/latest"),
    ("get", "/v1/orphans"),
    ("post", "/v1/orphans/{number}/adopt"),
    ("post", "/v1/orphans/{number}/disconnect"),
    ("post", "/v1/inventory"),
    ("get", "/v1/inventory"),
    ("patch", "/v1/inventory/{number}"),
    ("delete", "/v1/inventory/{number}"),
    ("get", "/v1/available-numbers"),
    ("post", "/v1/reservations"),
    ("delete", "/v1/reservations/{number}"),
    ("post", "/v1/numbers"),
    ("get", "/v1/numbers"),
    ("get", "/v1/numbers/{number}"),
    ("patch", "/v1/numbers/{number}"),
    ("post", "/v1/numbers/{number}/release"),
    ("post", "/v1/numbers/{number}/reclaim"),
    ("get", "/v1/numbers/{number}/history"),
    ("post", "/v1/tracking-pools"),
    ("get", "/v1/tracking-pools"),
    ("get", "/v1/tracking-pools/{id}"),
    ("patch", "/v1/tracking-pools/{id}"),
    ("delete", "/v1/tracking-pools/{id}"),
    ("post", "/v1/tracking-pools/{id}/sessions"),
    ("get", "/v1/tracking-sessions/{id}"),
    ("delete", "/v1/tracking-sessions/{id}"),
    ("post", "/v1/tracking-sessions/{id}/renew"),
    ("get", "/v1/events"),
    ("post", "/graphql"),
    ("get", "/openapi.json"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
];

fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                ops.insert((method.to_owned(), path.clone()));
            }
        }
    }
    ops
}

#[tokio::test]
async fn every_route_is_documented_and_every_documented_route_exists() {
    let app = spawn_app().await;
    let (s, doc) = app.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{}", doc["openapi"]);
    let ops = documented(&doc);
    let contract: BTreeSet<(String, String)> = CONTRACT.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    assert_eq!(ops, contract, "documented operations = the contract");

    // each documented operation is routed: never the fallback, never 405
    for (method, path) in &ops {
        let concrete = path.replace("{number}", "+15550000000").replace("{id}", &uuid::Uuid::new_v4().to_string());
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let res = app
            .http
            .request(method.clone(), format!("{}{concrete}", app.base))
            .bearer_auth(OPERATOR_TOKEN)
            .send()
            .await
            .unwrap();
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path} is documented but not routed");
        // an unrouted path is a not-found like any other; the fallback's
        // detail is what tells it apart from a route's own 404
        assert_ne!(body["detail"], NO_ROUTE, "{method} {path} is documented but not routed");
    }
    // and an unknown route really hits the fallback, so the check above can fail
    let (s, body) = app.op(Method::GET, "/v1/nothing-here", None).await;
    assert_eq!(
        (s, &body["type"], &body["detail"]),
        (
            StatusCode::NOT_FOUND,
            &serde_json::json!("https://didroute.dev/problems/not-found"),
            &serde_json::json!(NO_ROUTE)
        )
    );

    // every error answer is documented as problem+json
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for (code, response) in op["responses"].as_object().unwrap() {
                if code.starts_with('4') || code.starts_with('5') {
                    let r = response.get("$ref").and_then(Value::as_str).map(|r| {
                        let name = r.rsplit('/').next().unwrap();
                        doc["components"]["responses"][name].clone()
                    });
                    let r = r.unwrap_or_else(|| response.clone());
                    assert!(r["content"].get("application/problem+json").is_some(), "{method} {path} {code}: {r}");
                }
            }
        }
    }
}

/// Routes are registered only through the documenting router: a plain
/// `.route(` in the API module would add an undocumented route. The one
/// router nested beside it is the console's HTML pages under `/console`,
/// which are not API operations and stay out of the document
/// (`tests/console/http.rs` checks that no `/console` path is in it).
#[test]
fn no_route_bypasses_the_documenting_router() {
    let source = include_str!("../../src/api/mod.rs");
    let plain: Vec<&str> = source.lines().filter(|l| l.contains(".route(")).map(str::trim).collect();
    for line in &plain {
        assert!(line.contains("\"/openapi.json\""), "a route added outside routes!(): {line}");
    }
    let nested: Vec<&str> = source
        .lines()
        .filter(|l| l.contains(".nest(") || l.contains(".nest_service(") || l.contains(".merge("))
        .map(str::trim)
        .collect();
    assert_eq!(nested, [".nest(\"/console\", crate::console::router())"], "only the console is nested");
}

/// Clients validate against the document, and the contract test generates
/// from it: every `{number}` in a path, and every number or text field a
/// body takes, is served as exactly the schema `api::docs` builds (those are
/// checked against the server's parsers and limits there).
#[tokio::test]
async fn numbers_and_text_fields_document_what_the_server_accepts() {
    use didroute_control_plane::api::docs::{E164Doc, LabelText, NotesText, ReasonText};
    use utoipa::PartialSchema;
    fn built<T: PartialSchema>() -> Value {
        serde_json::to_value(T::schema()).unwrap()
    }

    let app = spawn_app().await;
    let (_, doc) = app.call(Method::GET, "/openapi.json", None, None).await;
    let mut number_params = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for p in op["parameters"].as_array().into_iter().flatten() {
                if p["name"] == "number" && p["in"] == "path" {
                    number_params += 1;
                    assert_eq!(p["schema"], built::<E164Doc>(), "{method} {path}: {{number}}");
                }
            }
        }
    }
    assert_eq!(number_params, 11, "routes with a {{number}}");
    let schemas = &doc["components"]["schemas"];
    // a field of the schema or of a part of it (`allOf`, from a flattened
    // struct); an optional field is `oneOf: [null, schema]`
    let field_of = |schema: &str, field: &str| -> Value {
        let s = &schemas[schema];
        let parts = std::iter::once(s).chain(s["allOf"].as_array().into_iter().flatten());
        let f = parts.map(|part| &part["properties"][field]).find(|f| !f.is_null());
        let f = f.unwrap_or_else(|| panic!("{schema}.{field} is not documented: {s}"));
        let not_null = f["oneOf"].as_array().into_iter().flatten().find(|o| o["type"] != "null");
        not_null.unwrap_or(f).clone()
    };
    for (schema, field, expected) in [
        ("AllocateRequest", "number", built::<E164Doc>()),
        ("ReserveRequest", "number", built::<E164Doc>()),
        ("CreateTenant", "name", built::<LabelText>()),
        ("RouteInput", "dashboard_id", built::<LabelText>()),
        ("RouteInput", "customer_label", built::<LabelText>()),
        ("RouteInput", "friendly_name", built::<LabelText>()),
        ("RouteInput", "organisation_id", built::<LabelText>()),
        ("RemapInput", "dashboard_id", built::<LabelText>()),
        ("RemapInput", "customer_label", built::<LabelText>()),
        ("RemapInput", "friendly_name", built::<LabelText>()),
        ("ReleaseInput", "reason", built::<ReasonText>()),
        ("ReleaseInput", "notes", built::<NotesText>()),
    ] {
        assert_eq!(field_of(schema, field), expected, "{schema}.{field}");
    }
    // (not `minProperties: 1` for RemapInput: utoipa 5.5's `min_properties`
    // writes `maxProperties`, which would forbid changing two fields at once)
    assert!(schemas["RemapInput"].get("maxProperties").is_none(), "{}", schemas["RemapInput"]);
}
