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
