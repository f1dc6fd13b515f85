//! `GET /v1/carriers`: the control plane lists the carriers it is configured
//! with and their health, as the operator sees them over HTTP.

use didroute_control_plane::carriers::{CarrierConfig, CarrierKind};
use didroute_control_plane::config::Settings;
use didroute_test_support::{settings, spawn_app_with};
use reqwest::{Method, StatusCode};

use crate::sim::{Sim, TOKEN};

#[tokio::test]
async fn the_operator_sees_every_configured_carrier_with_its_health() {
    let sim = Sim::start();
    let carriers = vec![
        CarrierConfig { name: "sim".into(), kind: CarrierKind::Telnyx, base_url: sim.url(), token: TOKEN.into() },
        // a carrier nobody answers for: listed all the same
        CarrierConfig {
            name: "backup".into(),
            kind: CarrierKind::Telnyx,
            base_url: "http://127.0.0.1:9".into(),
            token: "other-token".into(),
        },
    ];
    let app = spawn_app_with(Settings { carriers, ..settings() }).await;
    let (status, body) = app.op(Method::GET, "/v1/carriers", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let listed = body["carriers"].as_array().unwrap();
    assert_eq!(listed.len(), 2, "{body}");
    assert_eq!(listed[0]["name"], "sim");
    assert_eq!(listed[0]["kind"], "telnyx");
    assert_eq!(listed[0]["base_url"], sim.url());
    assert_eq!((listed[0]["healthy"].as_bool(), listed[0]["breaker"].as_str()), (Some(true), Some("closed")));
    assert_eq!(listed[1]["name"], "backup");
    assert!(!body.to_string().contains(TOKEN), "no carrier token in the answer");

    let tenant = app.tenant("Metro").await;
    let (status, _) = app.call(Method::GET, "/v1/carriers", Some(&tenant.key), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "operators only");
}
