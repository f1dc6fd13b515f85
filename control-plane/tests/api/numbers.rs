use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn import_allocate_remap_release_history() {
    let app = spawn_app().await;
    let t = app.tenant("metro").await;
    let imported = app.import("15550001000-15550001009;4420790000;12", "US").await;
    assert_eq!(imported["imported"], 10, "{imported}");
    assert_eq!(imported["rejected"].as_array().unwrap().len(), 2, "{imported}");
    let again = app.import("15550001000-15550001009", "US").await;
    assert_eq!((again["imported"].as_u64(), again["already_present"].as_u64()), (Some(0), Some(10)));

    let (s, body) = app.allocate(&t, "+15550001001", "psap").await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let seq1 = body["seq"].as_u64().unwrap();
    assert!(seq1 >= 1);
    assert_eq!(body["numbers"][0]["status"], "allocated");
    assert_eq!(body["numbers"][0]["route"]["subsystem"], "psap");

    let (s, body) = app.allocate(&t, "+15550001001", "psap").await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");

    let (s, body) = app
        .call(
            Method::PATCH,
            "/v1/numbers/+15550001001",
            Some(&t.key),
            Some(json!({ "subsystem": "utilities", "customer_label": "City Water" })),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["route"]["subsystem"], "utilities");
    assert!(body["seq"].as_u64().unwrap() > seq1);

    let (s, body) = app
        .call(
            Method::POST,
            "/v1/numbers/%2B15550001001/release",
            Some(&t.key),
            Some(json!({ "reason": "project ended" })),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["number"]["status"], "cooldown");

    let (s, body) = app.call(Method::GET, "/v1/numbers/15550001001/history", Some(&t.key), None).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let actions: Vec<&str> =
        body["history"].as_array().unwrap().iter().map(|h| h["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["number.allocate", "number.remap", "number.release"]);

    // the feed shows all three changes in order
    let (s, feed) = app.op(Method::GET, "/v1/events?after=0", None).await;
    assert_eq!(s, StatusCode::OK, "{feed}");
    let ops: Vec<&str> = feed["events"].as_array().unwrap().iter().map(|e| e["op"].as_str().unwrap()).collect();
    assert_eq!(ops, ["upsert", "upsert", "delete"]);
}

#[tokio::test]
async fn csv_import_groups_rows_and_rejects_bad_ones() {
    let app = spawn_app().await;
    let t = app.tenant("pool owner").await;
    let csv = format!(
        "number,country,region,monthly_cost,tenant_id\n\
         15550010000-15550010004,US,NY,1.5,\n\
         \"15550011000\",US,NY,1.5,\n\
         442079460100,GB,London,2,{}\n\
         1555abc,US,NY,1.5,\n\
         15550012000,XX,NY,1,\n\
         too,many,fields,here,x,y\n",
        t.id
    );
    let res = app
        .http
        .post(format!("{}/v1/inventory", app.base))
        .bearer_auth(crate::helpers::OPERATOR_TOKEN)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["imported"], 7, "{body}");
    let rejected: Vec<&str> =
        body["rejected"].as_array().unwrap().iter().map(|r| r["input"].as_str().unwrap()).collect();
    assert_eq!(rejected.len(), 3, "{body}");
    assert!(rejected.iter().any(|r| r.contains("1555abc")), "{body}");
    assert!(rejected.iter().any(|r| r.contains("XX")), "{body}");
    assert!(rejected.iter().any(|r| r.starts_with("too")), "{body}");
    let (_, inv) = app.op(Method::GET, "/v1/inventory?region=London", None).await;
    assert_eq!(inv["numbers"][0]["pool_tenant_id"], t.id.to_string(), "{inv}");
    assert_eq!(inv["numbers"][0]["carrier_module"], "managed");
    let (_, inv) = app.op(Method::GET, "/v1/inventory?region=NY", None).await;
    assert_eq!(inv["numbers"].as_array().unwrap().len(), 6);
    assert_eq!(inv["numbers"][0]["monthly_cost"], "1.50");
    // a file without the required columns says so
    let res = app
        .http
        .post(format!("{}/v1/inventory", app.base))
        .bearer_auth(crate::helpers::OPERATOR_TOKEN)
        .header("content-type", "text/csv")
        .body("number\n15550010000\n")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let p: serde_json::Value = res.json().await.unwrap();
    assert!(p["detail"].as_str().unwrap().contains("country"), "{p}");
}
