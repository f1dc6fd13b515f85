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
