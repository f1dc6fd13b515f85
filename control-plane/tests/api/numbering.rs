//! A number's country comes from the numbering plan: a Jamaican number
//! declared US is refused naming JM, and imported as JM its PSAP line greets
//! with Jamaica's emergency number through the whole system.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{spawn_app, start_lookup};

#[tokio::test]
async fn a_jamaican_number_is_jamaican_from_import_to_greeting() {
    let app = spawn_app().await;
    let t = app.tenant("Kingston PSAP").await;

    let as_us = app.import("+18765230123", "US").await;
    assert_eq!(as_us["imported"], 0, "{as_us}");
    let reason = as_us["rejected"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("JM") && reason.contains("not US"), "{reason}");
    // a number no NANP region claims (555) is left to the declaration
    assert_eq!(app.import("+15550009000", "US").await["imported"], 1);

    assert_eq!(app.import("+18765230123", "JM").await["imported"], 1);
    let (s, claimed) = app.allocate(&t, "+18765230123", "psap").await;
    assert_eq!(s, StatusCode::CREATED, "{claimed}");
    let seq = claimed["seq"].as_u64().unwrap();

    let node = start_lookup(&app).await;
    let res = app
        .http
        .request(Method::GET, format!("http://{}/v1/routes/+18765230123?min_seq={seq}", node.local_addr()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let route: serde_json::Value = res.json().await.unwrap();
    assert_eq!(route["country"], "JM", "{route}");
    assert_eq!(route["greeting"]["kind"], json!("emergency"), "{route}");
    assert_eq!(route["greeting"]["emergency_number"], "119", "{route}");
}

/// What import reads from the numbering plan: the country when none is
/// given, possible lengths, a trunk prefix kept by mistake, the national
/// format of the declared country; PortSIP's own forms keep working.
#[tokio::test]
async fn import_reads_numbers_as_their_numbering_plan_says() {
    let app = spawn_app().await;
    let import = |numbers: &'static str, country: Option<&'static str>| {
        let mut body = json!({ "numbers": numbers });
        if let Some(c) = country {
            body["country"] = json!(c);
        }
        let app = &app;
        async move {
            let (s, answer) = app.op(Method::POST, "/v1/inventory", Some(body)).await;
            assert_eq!(s, StatusCode::OK, "{answer}");
            answer
        }
    };
    let country_of = |number: &'static str| {
        let app = &app;
        async move {
            let (_, page) = app.op(Method::GET, &format!("/v1/inventory?prefix={}", &number[1..]), None).await;
            page["numbers"].as_array().and_then(|n| n.first()).map(|n| n["country"].as_str().unwrap().to_owned())
        }
    };

    // no country given: the plan names it, per range
    let derived = import("+18765230123;+442079460000-+442079460009;+15550009000", None).await;
    assert_eq!(derived["imported"], 11, "{derived}");
    assert_eq!(country_of("+18765230123").await.as_deref(), Some("JM"));
    assert_eq!(country_of("+442079460005").await.as_deref(), Some("GB"));
    let reason = derived["rejected"][0]["reason"].as_str().unwrap();
    assert!(derived["rejected"][0]["input"] == "+15550009000" && reason.contains("give country"), "{derived}");

    // a trunk prefix kept inside an international number: what was meant
    let kept = import("+4402079460100", Some("GB")).await;
    assert_eq!(kept["imported"], 0);
    let reason = kept["rejected"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("+442079460100"), "{reason}");

    // a length the plan does not have
    let short = import("+44207946", Some("GB")).await;
    assert_eq!(short["imported"], 0, "{short}");
    assert!(short["rejected"][0]["reason"].as_str().unwrap().contains("7, 9 or 10"), "{short}");

    // national format of the declared country, ranges too
    let national = import("02079460201;02079460300-02079460301", Some("GB")).await;
    assert_eq!(national["imported"], 3, "{national}");
    assert_eq!(country_of("+442079460201").await.as_deref(), Some("GB"));
    assert_eq!(country_of("+442079460301").await.as_deref(), Some("GB"));

    // PortSIP's forms: bare digits, 00 and + prefixes
    let portsip = import("15550001000-15550001001;0015550001002;+15550001003", Some("US")).await;
    assert_eq!(portsip["imported"], 4, "{portsip}");
}
