//! Credentials an operator manages: several operator tokens at once, so one
//! can be rotated without downtime.

use reqwest::StatusCode;

use crate::helpers::{settings, spawn_app_with, OPERATOR_TOKEN};

const NEXT_TOKEN: &str = "rotation-next-operator-token-42";

#[tokio::test]
async fn every_configured_operator_token_is_accepted_and_no_other() {
    let app = spawn_app_with(didroute_control_plane::config::Settings {
        more_operator_tokens: vec![NEXT_TOKEN.to_owned()],
        ..settings()
    })
    .await;
    let tenants = |token: &'static str| {
        let req = app.http.get(format!("{}/v1/tenants", app.base)).bearer_auth(token);
        async move { req.send().await.unwrap().status() }
    };
    assert_eq!(tenants(OPERATOR_TOKEN).await, StatusCode::OK);
    assert_eq!(tenants(NEXT_TOKEN).await, StatusCode::OK);
    // neither a prefix of one nor a token that was never configured
    assert_eq!(tenants("rotation-next-operator-token-4").await, StatusCode::UNAUTHORIZED);
    assert_eq!(tenants("rotation-next-operator-token-43").await, StatusCode::UNAUTHORIZED);
}
