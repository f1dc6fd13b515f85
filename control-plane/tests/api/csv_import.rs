//! `text/csv` imports read as RFC 4180 (byte-order mark, quoted fields with
//! commas and line breaks, CRLF line ends), and prices as exact decimals.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp, OPERATOR_TOKEN};

async fn import_csv(app: &TestApp, body: &str) -> (StatusCode, Value) {
    let res = app
        .http
        .post(format!("{}/v1/inventory", app.base))
        .bearer_auth(OPERATOR_TOKEN)
        .header("content-type", "text/csv")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap())
}

async fn inventory(app: &TestApp, query: &str) -> Vec<Value> {
    let (s, body) = app.op(Method::GET, &format!("/v1/inventory?{query}"), None).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body["numbers"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_byte_order_mark_before_the_header_is_ignored() {
    let app = spawn_app().await;
    let (s, body) = import_csv(&app, "\u{feff}number,country,monthly_cost\n15550090000,US,1.25\n").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["imported"], 1, "{body}");
    assert_eq!(body["rejected"], json!([]), "{body}");
    let rows = inventory(&app, "prefix=15550090000").await;
    assert_eq!(rows[0]["monthly_cost"], "1.25");
}

#[tokio::test]
async fn quoted_fields_keep_their_commas_quotes_and_line_breaks() {
    let app = spawn_app().await;
    // a line break inside quotes belongs to the field: the row is one record
    // (refused whole by the region check, not split into two broken rows),
    // and the row after it reads normally
    let csv = "number,country,region,provider\n\
               \"15550091000\",US,\"Albany, NY\",\"Acme \"\"Tel\"\"\"\n\
               15550091001,US,\"Albany, NY\",\"Acme \"\"Tel\"\"\"\n\
               15550091002,US,\"Upstate\nNew York\",plain\n\
               15550091003,US,Upstate,\"multi\nline\"\n\
               15550091004,US,Upstate,plain\n";
    let (s, body) = import_csv(&app, csv).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["imported"], 3, "{body}");
    let rejected = body["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 2, "{body}");
    let reason_of = |input: &str| rejected.iter().find(|r| r["input"] == input).map(|r| r["reason"].clone());
    assert_eq!(
        reason_of("15550091002,US,\"Upstate\nNew York\",plain"),
        Some(json!("region must not contain control characters")),
        "{body}"
    );
    assert_eq!(
        reason_of("15550091003,US,Upstate,\"multi\nline\""),
        Some(json!("provider must not contain control characters")),
        "{body}"
    );
    let albany = inventory(&app, "region=Albany%2C%20NY").await;
    assert_eq!(albany.len(), 2, "{albany:?}");
    assert_eq!(albany[0]["provider"], "Acme \"Tel\"");
    let upstate = inventory(&app, "region=Upstate").await;
    assert_eq!(upstate.len(), 1, "{upstate:?}");
    assert_eq!(upstate[0]["number"], "+15550091004");
}

#[tokio::test]
async fn crlf_line_ends_import_like_lf() {
    let app = spawn_app().await;
    let csv = "number,country,region,monthly_cost\r\n15550092000-15550092002,US,NY,0.5\r\n15550092010,US,NY,0.5\r\n";
    let (s, body) = import_csv(&app, csv).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["imported"], 4, "{body}");
    assert_eq!(body["rejected"], json!([]), "{body}");
    let rows = inventory(&app, "prefix=155500920").await;
    assert_eq!(rows.len(), 4);
    for r in &rows {
        assert_eq!(r["region"], "NY", "no carriage return left in the last field: {r}");
        assert_eq!(r["monthly_cost"], "0.50");
    }
}

#[tokio::test]
async fn a_bad_price_rejects_its_row_alone() {
    let app = spawn_app().await;
    let csv = "number,country,monthly_cost\n15550093000,US,abc\n15550093001,US,-1\n15550093002,US,1.23456\n15550093003,US,2\n";
    let (s, body) = import_csv(&app, csv).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["imported"], 1, "{body}");
    let rejected = body["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 3, "{body}");
    assert_eq!(rejected[0]["input"], "15550093000,US,abc");
    assert!(rejected[1]["reason"].as_str().unwrap().contains("negative"), "{body}");
    assert!(rejected[2]["reason"].as_str().unwrap().contains("more than 4 decimal places"), "{body}");
}

#[tokio::test]
async fn prices_are_exact_decimals_in_and_out() {
    let app = spawn_app().await;
    // a decimal string and a JSON number both read exactly, never through a float
    for (numbers, cost) in [("15550094000", json!("0.1")), ("15550094001", json!(0.1)), ("15550094002", json!(7))] {
        let (s, body) = app
            .op(
                Method::POST,
                "/v1/inventory",
                Some(json!({ "numbers": numbers, "country": "US", "monthly_cost": cost })),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert_eq!(body["imported"], 1, "{body}");
    }
    let rows = inventory(&app, "prefix=1555009400").await;
    let costs: Vec<&str> = rows.iter().map(|r| r["monthly_cost"].as_str().unwrap()).collect();
    assert_eq!(costs, ["0.10", "0.10", "7.00"]);
    assert!(rows.iter().all(|r| r["currency"] == "USD"));

    let (s, body) =
        app.op(Method::PATCH, "/v1/inventory/+15550094000", Some(json!({ "monthly_cost": "1234.5678" }))).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["number"]["monthly_cost"], "1234.5678");

    for bad in [json!("-0.01"), json!(-1), json!("1.00001"), json!("100000000"), json!(1e9), json!("1e2"), json!(true)]
    {
        let (s, body) = app.op(Method::PATCH, "/v1/inventory/+15550094000", Some(json!({ "monthly_cost": bad }))).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert!(body["detail"].as_str().unwrap().contains("monthly_cost"), "{bad}: {body}");
        let (s, body) = app
            .op(
                Method::POST,
                "/v1/inventory",
                Some(json!({ "numbers": "15550094009", "country": "US", "monthly_cost": bad })),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    let rows = inventory(&app, "prefix=15550094000").await;
    assert_eq!(rows[0]["monthly_cost"], "1234.5678", "refused changes left the price alone");
}
