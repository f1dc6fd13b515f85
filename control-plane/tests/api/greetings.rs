//! Greetings that are right and can be set, and route attributes for voice
//! AI, through the whole system: import → allocate → a lookup node on the
//! HTTP feed. The lookup node renders each route's answer once, so what is
//! checked here is what it serves from its pre-rendered bytes.

use didroute_lookup::Node;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, start_lookup, TestApp, TestTenant, OPERATOR_TOKEN};

const JM: &str = "+18765230123";

/// The lookup node's answer for `number` once it applied position `seq`.
async fn lookup(app: &TestApp, node: &Node, number: &str, seq: u64) -> Value {
    let url = format!("http://{}/v1/routes/{number}?min_seq={seq}", node.local_addr());
    let res = app.http.get(url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

async fn patch_tenant(app: &TestApp, t: &TestTenant, body: Value) -> (StatusCode, Value) {
    app.op(Method::PATCH, &format!("/v1/tenants/{}", t.id), Some(body)).await
}

fn problem_type(slug: &str) -> String {
    format!("https://didroute.dev/problems/{slug}")
}

/// A 400 whose problem is `slug` and whose detail says `says`.
fn assert_refused(status: StatusCode, body: &Value, slug: &str, says: &str) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["type"].as_str().unwrap(), problem_type(slug), "{body}");
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains(says), "{detail:?} does not say {says:?}");
}

async fn import_without_country(app: &TestApp, numbers: &str) {
    let (s, body) =
        app.op(Method::POST, "/v1/inventory", Some(json!({ "numbers": numbers, "monthly_cost": 1.25 }))).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["rejected"], json!([]), "{body}");
}

async fn allocate(app: &TestApp, t: &TestTenant, body: Value) -> (StatusCode, Value) {
    app.call(Method::POST, "/v1/numbers", Some(&t.key), Some(body)).await
}

async fn remap(app: &TestApp, t: &TestTenant, number: &str, body: Value) -> (StatusCode, Value) {
    app.call(Method::PATCH, &format!("/v1/numbers/{}", number.replace('+', "%2B")), Some(&t.key), Some(body)).await
}

#[tokio::test]
async fn a_jamaican_psap_line_greets_with_119_in_the_tenants_language() {
    let app = spawn_app().await;
    let t = app.tenant("Kingston PSAP").await;
    // no country given: the numbering plan says JM
    import_without_country(&app, JM).await;
    let (s, claimed) = app.allocate(&t, JM, "psap").await;
    assert_eq!(s, StatusCode::CREATED, "{claimed}");
    assert_eq!(claimed["numbers"][0]["country"], "JM", "{claimed}");
    let node = start_lookup(&app).await;

    let route = lookup(&app, &node, JM, claimed["seq"].as_u64().unwrap()).await;
    assert_eq!(route["country"], "JM", "{route}");
    assert_eq!(route["locale"], "en", "{route}");
    assert_eq!(route["greeting"]["emergency_number"], "119", "{route}");
    assert_eq!(route["greeting"]["text"], "119, what is the address of your emergency?", "{route}");

    // Spanish: the default template of es, re-published to the node
    let (s, patched) = patch_tenant(&app, &t, json!({ "locale": "es" })).await;
    assert_eq!(s, StatusCode::OK, "{patched}");
    assert_eq!(patched["tenant"]["locale"], "es");
    let seq = patched["seq"].as_u64().expect("an allocated number was re-published");
    let route = lookup(&app, &node, JM, seq).await;
    assert_eq!(route["locale"], "es", "{route}");
    assert_eq!(route["greeting"]["text"], "119, ¿cuál es la dirección de su emergencia?", "{route}");

    // the tenant's own templates, placeholders filled in
    let (s, patched) = patch_tenant(
        &app,
        &t,
        json!({ "greeting_templates": {
            "emergency": "Emergencias {emergency_number}, {label}. ¿Dónde está?",
            "label": "Hola, {label} {{24h}}"
        }}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{patched}");
    assert_eq!(patched["tenant"]["greeting_templates"]["label"], "Hola, {label} {{24h}}");
    let route = lookup(&app, &node, JM, patched["seq"].as_u64().unwrap()).await;
    assert_eq!(route["greeting"]["text"], "Emergencias 119, Metro 911. ¿Dónde está?", "{route}");
    // the control plane's own view says the same
    let (_, number) =
        app.call(Method::GET, &format!("/v1/numbers/{}", JM.replace('+', "%2B")), Some(&t.key), None).await;
    assert_eq!(number["route"]["locale"], "es", "{number}");
    assert_eq!(number["route"]["greeting_template"], "Emergencias {emergency_number}, {label}. ¿Dónde está?");

    // a non-PSAP line takes the label template
    let (s, remapped) = remap(&app, &t, JM, json!({ "subsystem": "utilities", "customer_label": "Agua" })).await;
    assert_eq!(s, StatusCode::OK, "{remapped}");
    let route = lookup(&app, &node, JM, remapped["seq"].as_u64().unwrap()).await;
    assert_eq!(route["greeting"]["text"], "Hola, Agua {24h}", "{route}");
    assert!(route["greeting"].get("emergency_number").is_none(), "{route}");

    // null goes back to the locale's default; the listing shows it
    let (s, patched) = patch_tenant(&app, &t, json!({ "greeting_templates": { "label": null } })).await;
    assert_eq!(s, StatusCode::OK, "{patched}");
    assert!(patched["tenant"]["greeting_templates"].get("label").is_none(), "{patched}");
    let route = lookup(&app, &node, JM, patched["seq"].as_u64().unwrap()).await;
    assert_eq!(route["greeting"]["text"], "Gracias por llamar a Agua.", "{route}");
    let (_, tenants) = app.op(Method::GET, "/v1/tenants", None).await;
    let listed = tenants["tenants"].as_array().unwrap().iter().find(|x| x["id"] == json!(t.id)).unwrap().clone();
    assert_eq!(listed["locale"], "es");
    assert_eq!(
        listed["greeting_templates"],
        json!({ "emergency": "Emergencias {emergency_number}, {label}. ¿Dónde está?" })
    );

    // a repeat with the same Idempotency-Key answers as the first did and changes nothing
    let send = |body: Value| {
        app.http
            .patch(format!("{}/v1/tenants/{}", app.base, t.id))
            .bearer_auth(OPERATOR_TOKEN)
            .header("idempotency-key", "greet-1")
            .json(&body)
            .send()
    };
    let first: Value = send(json!({ "locale": "pt-BR" })).await.unwrap().json().await.unwrap();
    let again: Value = send(json!({ "locale": "pt-BR" })).await.unwrap().json().await.unwrap();
    assert_eq!(first, again);
    let route = lookup(&app, &node, JM, first["seq"].as_u64().unwrap()).await;
    assert_eq!(route["greeting"]["text"], "Obrigado por ligar para Agua.", "{route}");
    assert_eq!(route["locale"], "pt-BR");
    node.shutdown().await.unwrap();
}

#[tokio::test]
async fn templates_and_locales_that_cannot_be_used_are_refused_with_the_reason() {
    let app = spawn_app().await;
    let t = app.tenant("Careful").await;
    let cases = [
        (json!({ "greeting_templates": { "label": "Hi {name}" } }), "invalid-greeting", "unknown placeholder {name}"),
        (
            json!({ "greeting_templates": { "emergency": "Call {emergency_number" } }),
            "invalid-greeting",
            "greeting_templates.emergency: unbalanced braces: the { at character 6 is not closed",
        ),
        (json!({ "greeting_templates": { "label": "a } b" } }), "invalid-greeting", "unbalanced braces"),
        (json!({ "greeting_templates": { "label": "x".repeat(501) } }), "invalid-greeting", "longer than 500"),
        (json!({ "greeting_templates": { "label": "a\u{0}b" } }), "invalid-greeting", "NUL"),
        (json!({ "greeting_templates": { "label": "  " } }), "invalid-greeting", "must not be empty"),
        (json!({ "locale": "Spanish" }), "invalid-greeting", "lowercase language code"),
        (json!({ "locale": "zh" }), "invalid-greeting", "locale zh has no default greetings"),
        (json!({}), "invalid-body", "give at least one of locale"),
        (json!({ "locale": 7 }), "invalid-body", "locale"),
        (json!({ "greeting_templates": { "labels": "x" } }), "invalid-body", "labels"),
    ];
    for (body, slug, says) in cases {
        let (s, p) = patch_tenant(&app, &t, body.clone()).await;
        assert_refused(s, &p, slug, says);
    }
    // nothing of it was stored
    let (_, tenants) = app.op(Method::GET, "/v1/tenants", None).await;
    assert_eq!(tenants["tenants"][0]["locale"], "en");
    assert_eq!(tenants["tenants"][0]["greeting_templates"], json!({}));
    // a language without defaults is fine with both templates of its own
    let (s, p) = patch_tenant(
        &app,
        &t,
        json!({ "locale": "zh", "greeting_templates": { "emergency": "{emergency_number}", "label": "{label}" } }),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(p["seq"], Value::Null, "no allocated number to re-publish");
    // and then cannot drop one of them
    let (s, p) = patch_tenant(&app, &t, json!({ "greeting_templates": { "label": null } })).await;
    assert_refused(s, &p, "invalid-greeting", "set greeting_templates.label too");
    // the operator's route: a tenant key is refused, an unknown tenant is 404
    let (s, _) =
        app.call(Method::PATCH, &format!("/v1/tenants/{}", t.id), Some(&t.key), Some(json!({ "locale": "es" }))).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, p) =
        app.op(Method::PATCH, &format!("/v1/tenants/{}", uuid::Uuid::new_v4()), Some(json!({ "locale": "es" }))).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{p}");
}

#[tokio::test]
async fn a_numbers_own_greeting_text_is_set_replaced_and_cleared() {
    let app = spawn_app().await;
    let t = app.tenant("Own words").await;
    app.import("+15550007000-15550007001", "US").await;
    let node = start_lookup(&app).await;
    let route_body = |extra: Value| {
        let mut b =
            json!({ "number": "+15550007000", "subsystem": "psap", "dashboard_id": "d", "customer_label": "L" });
        b.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        b
    };

    let (s, p) = allocate(&app, &t, route_body(json!({ "greeting_text": "x".repeat(501) }))).await;
    assert_refused(s, &p, "invalid-greeting", "greeting_text: is longer than 500 characters");
    let (s, p) = allocate(&app, &t, route_body(json!({ "greeting_text": "a\u{0}" }))).await;
    assert_refused(s, &p, "invalid-greeting", "greeting_text: must not contain the NUL character");

    let (s, claimed) =
        allocate(&app, &t, route_body(json!({ "greeting_text": "County dispatch {not a placeholder}" }))).await;
    assert_eq!(s, StatusCode::CREATED, "{claimed}");
    assert_eq!(claimed["numbers"][0]["route"]["greeting_text"], "County dispatch {not a placeholder}");
    let route = lookup(&app, &node, "+15550007000", claimed["seq"].as_u64().unwrap()).await;
    assert_eq!(route["greeting"]["text"], "County dispatch {not a placeholder}", "{route}");
    assert_eq!(route["greeting"]["emergency_number"], "911", "still a PSAP line: {route}");
    // the text is the number's own, not the route's neighbours'
    app.allocate_seq(&t, "+15550007001", "Water").await;

    let (s, p) = remap(&app, &t, "+15550007000", json!({ "greeting_text": "" })).await;
    assert_refused(s, &p, "invalid-greeting", "greeting_text: must not be empty");
    let (s, changed) = remap(&app, &t, "+15550007000", json!({ "greeting_text": "Replaced" })).await;
    assert_eq!(s, StatusCode::OK, "{changed}");
    let route = lookup(&app, &node, "+15550007000", changed["seq"].as_u64().unwrap()).await;
    assert_eq!(route["greeting"]["text"], "Replaced", "{route}");
    // a remap that does not name it leaves it
    let (_, changed) = remap(&app, &t, "+15550007000", json!({ "dashboard_id": "d2" })).await;
    let route = lookup(&app, &node, "+15550007000", changed["seq"].as_u64().unwrap()).await;
    assert_eq!((route["greeting"]["text"].as_str(), route["dashboard_id"].as_str()), (Some("Replaced"), Some("d2")));
    // null clears it: back to the template
    let (s, changed) = remap(&app, &t, "+15550007000", json!({ "greeting_text": null })).await;
    assert_eq!(s, StatusCode::OK, "{changed}");
    assert!(changed["route"].get("greeting_text").is_none(), "{changed}");
    let route = lookup(&app, &node, "+15550007000", changed["seq"].as_u64().unwrap()).await;
    assert_eq!(route["greeting"]["text"], "911, what is the address of your emergency?", "{route}");
    let other = lookup(&app, &node, "+15550007001", 0).await;
    assert_eq!(other["greeting"]["text"], "Thank you for calling Water.", "{other}");
    node.shutdown().await.unwrap();
}

#[tokio::test]
async fn attributes_reach_the_lookup_node_and_are_checked() {
    let app = spawn_app().await;
    let t = app.tenant("Voice AI").await;
    app.import("+15550008000-15550008001", "US").await;
    let node = start_lookup(&app).await;
    let body = |attributes: Value| {
        json!({ "number": "+15550008000", "subsystem": "utilities", "dashboard_id": "d", "customer_label": "L",
                "attributes": attributes })
    };

    let (s, p) = allocate(&app, &t, body(json!(["voice", "alloy"]))).await;
    assert_refused(s, &p, "invalid-attributes", "attributes must be a JSON object, not an array");
    let (s, p) = allocate(&app, &t, body(json!("alloy"))).await;
    assert_refused(s, &p, "invalid-attributes", "not a string");
    // {"k":"…"} is 8 bytes around the string
    let (s, p) = allocate(&app, &t, body(json!({ "k": "x".repeat(1017) }))).await;
    assert_refused(s, &p, "invalid-attributes", "1025 bytes serialized, more than the 1024 allowed");
    let (s, p) = allocate(&app, &t, body(json!({ "k": "a\u{0}" }))).await;
    assert_refused(s, &p, "invalid-attributes", "NUL");

    let attrs = json!({ "voice": "alloy", "model": { "name": "m-1", "temperature": 0.25 }, "scripts": ["a", "b"],
                        "k": "x".repeat(900) });
    let (s, claimed) = allocate(&app, &t, body(attrs.clone())).await;
    assert_eq!(s, StatusCode::CREATED, "{claimed}");
    assert_eq!(claimed["numbers"][0]["route"]["attributes"], attrs);
    let route = lookup(&app, &node, "+15550008000", claimed["seq"].as_u64().unwrap()).await;
    assert_eq!(route["attributes"], attrs, "{route}");
    // a route without attributes has none in its answer
    let seq = app.allocate_seq(&t, "+15550008001", "L").await;
    assert!(lookup(&app, &node, "+15550008001", seq).await.get("attributes").is_none());

    let (s, p) = remap(&app, &t, "+15550008000", json!({ "attributes": 5 })).await;
    assert_refused(s, &p, "invalid-attributes", "not a number");
    let (s, p) = remap(&app, &t, "+15550008000", json!({ "attributes": { "k": "x".repeat(2000) } })).await;
    assert_refused(s, &p, "invalid-attributes", "more than the 1024 allowed");
    // under 1 KiB as sent, though jsonb writes each 1e300 out in 301 digits
    let big_numbers: Value = serde_json::from_str(&format!("{{\"w\":[{}]}}", vec!["1e300"; 20].join(","))).unwrap();
    let (s, changed) = remap(&app, &t, "+15550008000", json!({ "attributes": big_numbers })).await;
    assert_eq!(s, StatusCode::OK, "attributes the service accepts are stored: {changed}");
    let (s, changed) = remap(&app, &t, "+15550008000", json!({ "attributes": { "voice": "verse" } })).await;
    assert_eq!(s, StatusCode::OK, "{changed}");
    let route = lookup(&app, &node, "+15550008000", changed["seq"].as_u64().unwrap()).await;
    assert_eq!(route["attributes"], json!({ "voice": "verse" }), "replaced whole: {route}");
    let (s, changed) = remap(&app, &t, "+15550008000", json!({ "attributes": null })).await;
    assert_eq!(s, StatusCode::OK, "{changed}");
    let route = lookup(&app, &node, "+15550008000", changed["seq"].as_u64().unwrap()).await;
    assert!(route.get("attributes").is_none(), "cleared: {route}");
    node.shutdown().await.unwrap();
}

/// GraphQL reaches the same fields: allocate and remap with greeting text
/// and attributes, the operator's updateTenant, and the route's greeting,
/// locale and attributes read back.
#[tokio::test]
async fn graphql_sets_and_reads_greetings_and_attributes() {
    let app = spawn_app().await;
    let t = app.tenant("GraphQL voice").await;
    import_without_country(&app, JM).await;
    let node = start_lookup(&app).await;
    let gql = |token: String, query: &'static str, variables: Value| {
        let req = app.http.post(format!("{}/graphql", app.base)).bearer_auth(token);
        async move {
            let r: Value = req
                .json(&json!({ "query": query, "variables": variables }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            r
        }
    };

    let r = gql(
        t.key.clone(),
        "mutation($a: JSON) { allocate(number: \"+18765230123\", route: { subsystem: PSAP, dashboardId: \"d\",
            customerLabel: \"Kingston\", greetingText: \"Own {words}\", attributes: $a }) {
            seq numbers { route { locale greetingText attributes greeting { emergencyNumber text } } } } }",
        json!({ "a": { "voice": "alloy" } }),
    )
    .await;
    assert!(r.get("errors").is_none(), "{r}");
    let route = &r["data"]["allocate"]["numbers"][0]["route"];
    assert_eq!(route["greeting"]["text"], "Own {words}", "{r}");
    assert_eq!(route["greeting"]["emergencyNumber"], "119", "{r}");
    assert_eq!(route["attributes"], json!({ "voice": "alloy" }), "{r}");
    assert_eq!(route["locale"], "en", "{r}");
    let answer = lookup(&app, &node, JM, r["data"]["allocate"]["seq"].as_u64().unwrap()).await;
    assert_eq!(
        (answer["greeting"]["text"].as_str(), &answer["attributes"]),
        (Some("Own {words}"), &json!({ "voice": "alloy" }))
    );

    // null clears both; an attributes value that is no object is refused
    let r =
        gql(t.key.clone(), "mutation { remap(number: \"+18765230123\", attributes: [1]) { seq } }", json!({})).await;
    assert_eq!(r["errors"][0]["extensions"]["type"], problem_type("invalid-attributes"), "{r}");
    let r = gql(
        t.key.clone(),
        "mutation { remap(number: \"+18765230123\", greetingText: null, attributes: null) {
            seq number { route { greetingText attributes greeting { text } } } } }",
        json!({}),
    )
    .await;
    assert!(r.get("errors").is_none(), "{r}");
    let route = &r["data"]["remap"]["number"]["route"];
    assert_eq!((&route["greetingText"], &route["attributes"]), (&Value::Null, &Value::Null), "{r}");
    assert_eq!(route["greeting"]["text"], "119, what is the address of your emergency?", "{r}");

    // the operator sets the tenant's locale and template
    let r = gql(
        OPERATOR_TOKEN.to_owned(),
        "mutation($id: UUID!) { updateTenant(id: $id, locale: \"fr\", emergencyTemplate: \"Urgence {emergency_number}\") {
            seq tenant { locale greetingTemplates { emergency label } } } }",
        json!({ "id": t.id }),
    )
    .await;
    assert!(r.get("errors").is_none(), "{r}");
    assert_eq!(r["data"]["updateTenant"]["tenant"]["locale"], "fr");
    assert_eq!(r["data"]["updateTenant"]["tenant"]["greetingTemplates"]["emergency"], "Urgence {emergency_number}");
    let answer = lookup(&app, &node, JM, r["data"]["updateTenant"]["seq"].as_u64().unwrap()).await;
    assert_eq!((answer["locale"].as_str(), answer["greeting"]["text"].as_str()), (Some("fr"), Some("Urgence 119")));
    let r = gql(
        OPERATOR_TOKEN.to_owned(),
        "mutation($id: UUID!) { updateTenant(id: $id, labelTemplate: \"{oops}\") { seq } }",
        json!({ "id": t.id }),
    )
    .await;
    assert_eq!(r["errors"][0]["extensions"]["type"], problem_type("invalid-greeting"), "{r}");
    assert!(r["errors"][0]["message"].as_str().unwrap().contains("unknown placeholder {oops}"), "{r}");
    // a tenant key may not
    let r = gql(
        t.key.clone(),
        "mutation($id: UUID!) { updateTenant(id: $id, locale: \"de\") { seq } }",
        json!({ "id": t.id }),
    )
    .await;
    assert_eq!(r["errors"][0]["extensions"]["status"], 403, "{r}");
    node.shutdown().await.unwrap();
}
