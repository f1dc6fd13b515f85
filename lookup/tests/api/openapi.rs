//! `GET /openapi.json`: the document lists exactly what the node serves, and
//! every answer the node gives is one the document describes.

use std::collections::BTreeSet;

use didroute_lookup::Config;
use serde_json::{Map, Value};

use crate::support::*;

const ROUTED: &str = "+15554440001";

/// A concrete path for a documented template.
fn fill(template: &str, number: &str) -> String {
    template.replace("{number}", number).replace("{tenant_id}", &TENANT_A.to_string())
}

/// Requests meant to draw each documented answer of `template` from a node.
fn requests(template: &str) -> Vec<String> {
    let mut paths = vec![fill(template, ROUTED)];
    if template.contains("{number}") {
        paths.push(fill(template, "+1"));
        paths.push(fill(template, "+15554449999"));
        paths.push(format!("{}?min_seq=1000000&wait_ms=5", fill(template, ROUTED)));
        paths.push(format!("{}?min_seq=x", fill(template, ROUTED)));
    }
    if template.contains("{tenant_id}") {
        paths.push(template.replace("{tenant_id}", "not-a-uuid").replace("{number}", ROUTED));
    }
    paths
}

/// Follows a local `$ref`.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(path) => {
            let name = path.strip_prefix("#/components/schemas/").expect("a local schema reference");
            &doc["components"]["schemas"][name]
        }
        None => schema,
    }
}

fn type_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_u64() || n.is_i64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Checks `value` against a schema of the document: types, enums, and for
/// objects the required fields and that no field is undocumented.
fn conforms(doc: &Value, schema: &Value, value: &Value, at: &str) {
    let schema = resolve(doc, schema);
    if let Some(alternatives) = schema.get("oneOf").or_else(|| schema.get("anyOf")).and_then(Value::as_array) {
        // only `Option<T>` produces these here: T or null
        if value.is_null() {
            return;
        }
        let inner = alternatives.iter().find(|s| s.get("type") != Some(&Value::from("null"))).expect("a non-null arm");
        return conforms(doc, inner, value, at);
    }
    let found = type_of(value);
    let allowed: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let fits = allowed.is_empty() || allowed.contains(&found) || (found == "integer" && allowed.contains(&"number"));
    assert!(fits, "{at}: a {found} where the document says {allowed:?}");
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        assert!(values.contains(value), "{at}: {value} is not one of {values:?}");
    }
    if let Value::Object(fields) = value {
        let empty = Map::new();
        let properties = schema.get("properties").and_then(Value::as_object).unwrap_or(&empty);
        for name in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
            let name = name.as_str().unwrap();
            assert!(fields.contains_key(name), "{at}: required field {name} is missing");
        }
        for (name, field) in fields {
            let property = properties.get(name).unwrap_or_else(|| panic!("{at}: field {name} is not documented"));
            conforms(doc, property, field, &format!("{at}.{name}"));
        }
    }
}

/// Checks one answer against the response the document gives for its status.
fn as_documented(doc: &Value, operation: &Value, path: &str, answer: &Answer) {
    let response = &operation["responses"][answer.status.to_string()];
    assert!(response.is_object(), "GET {path} answered {}, which the document does not list", answer.status);
    let content = response["content"].as_object().unwrap_or_else(|| panic!("{path}: no documented content"));
    assert_eq!(content.len(), 1, "{path}: one content type an answer");
    let (content_type, media) = content.iter().next().unwrap();
    let served = answer.header("content-type").unwrap_or_default();
    assert!(served.starts_with(content_type.as_str()), "{path}: served {served}, documented {content_type}");
    if content_type.ends_with("json") {
        let body = answer.json();
        if let Some(schema) = media.get("schema") {
            conforms(doc, schema, &body, path);
        }
    }
    for header in response.get("headers").and_then(Value::as_object).into_iter().flatten().map(|(h, _)| h) {
        assert!(answer.header(header).is_some(), "{path} answered {} without its documented {header}", answer.status);
    }
}

/// Asks `t` for every documented path; returns the (template, status) pairs
/// seen.
async fn walk(t: &TestNode, doc: &Value) -> BTreeSet<(String, u16)> {
    let mut seen = BTreeSet::new();
    for (template, item) in doc["paths"].as_object().unwrap() {
        assert!(item["head"].is_object(), "{template}: HEAD is not documented");
        for path in requests(template) {
            let answer = t.get(&path).await;
            as_documented(doc, &item["get"], &path, &answer);
            let head = t.http.head(format!("{}{path}", t.base)).send().await.unwrap();
            assert_eq!(head.status().as_u16(), answer.status, "HEAD {path}");
            assert!(item["head"]["responses"][answer.status.to_string()].is_object(), "HEAD {path}");
            seen.insert((template.clone(), answer.status));
        }
    }
    seen
}

fn documented(doc: &Value) -> BTreeSet<(String, u16)> {
    let mut all = BTreeSet::new();
    for (template, item) in doc["paths"].as_object().unwrap() {
        for status in item["get"]["responses"].as_object().unwrap().keys() {
            all.insert((template.clone(), status.parse().unwrap()));
        }
    }
    all
}

#[tokio::test]
async fn the_document_describes_every_answer_the_node_gives() {
    let feed = FakeFeed::start().await;
    feed.upsert(num(ROUTED), 1, psap(TENANT_A, "Documented"));
    let t = TestNode::ready(feed).await;
    let answer = t.get("/openapi.json").await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("content-type"), Some("application/json"));
    let doc = answer.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
    let listed: BTreeSet<&str> = doc["paths"].as_object().unwrap().keys().map(String::as_str).collect();
    let expected = [
        "/v1/routes/{number}",
        "/v1/caller-id/{tenant_id}/{number}",
        "/v1/snapshot",
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
    ];
    assert_eq!(listed, expected.into_iter().collect());
    let route = &doc["paths"]["/v1/routes/{number}"]["get"];
    let params: BTreeSet<&str> =
        route["parameters"].as_array().unwrap().iter().filter_map(|p| p["name"].as_str()).collect();
    assert_eq!(params, ["number", "min_seq", "wait_ms"].into_iter().collect());

    let mut seen = walk(&t, &doc).await;
    t.stop().await;

    // The answers of a node still loading its first snapshot.
    let feed = FakeFeed::start().await;
    feed.set_down(true);
    let cfg = config(&feed);
    let loading = TestNode::start_with(feed, cfg).await;
    seen.extend(walk(&loading, &doc).await);
    loading.stop().await;

    // The answers of a node that requires a token, asked without one.
    let feed = FakeFeed::start().await;
    let cfg = Config { lookup_tokens: Some("a-reader-token-of-16-plus".into()), ..config(&feed) };
    let guarded = TestNode::start_with(feed, cfg).await;
    seen.extend(walk(&guarded, &doc).await);
    guarded.stop().await;

    let unseen: Vec<_> = documented(&doc).difference(&seen).cloned().collect();
    assert!(unseen.is_empty(), "documented answers never served: {unseen:?}");
}

#[tokio::test]
async fn no_undocumented_path_answers() {
    let t = TestNode::ready(FakeFeed::start().await).await;
    let doc = t.get("/openapi.json").await.json();
    let listed: Vec<String> = doc["paths"].as_object().unwrap().keys().cloned().collect();
    for path in ["/openapi", "/openapi.yaml", "/v1/openapi.json", "/docs", "/v1/routes", "/v1/caller-id/x", "/"] {
        assert!(!listed.iter().any(|l| l == path));
        let p = t.get(path).await.problem(404);
        assert_eq!(p["type"], "https://didroute.dev/problems/not-found");
        assert_eq!(p["title"], "Not found");
    }
    t.stop().await;
}
