//! The REST calls tests make on a [`TestApp`].

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::app::{TestApp, OPERATOR_TOKEN};

/// A tenant with one API key.
pub struct TestTenant {
    pub id: Uuid,
    pub key: String,
}

/// A number in a path segment (`+` would read as a space).
fn path_number(number: &str) -> String {
    number.replace('+', "%2B")
}

impl TestApp {
    /// Sends a request with `token` and an optional JSON body; returns status
    /// and JSON (or Null). Every error answer must be problem+json.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        let ct = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        let text = res.text().await.unwrap();
        if status.is_client_error() || status.is_server_error() {
            assert_eq!(ct, "application/problem+json", "errors are problem+json: {status} {text}");
        }
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        (status, json)
    }

    /// [`TestApp::call`] with the operator token.
    pub async fn op(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.call(method, path, Some(OPERATOR_TOKEN), body).await
    }

    /// Creates a tenant named `name` and one key for it.
    pub async fn tenant(&self, name: &str) -> TestTenant {
        let (s, t) = self.op(Method::POST, "/v1/tenants", Some(json!({ "name": name }))).await;
        assert_eq!(s, StatusCode::CREATED, "{t}");
        let id: Uuid = t["id"].as_str().unwrap().parse().unwrap();
        let (s, k) = self.op(Method::POST, &format!("/v1/tenants/{id}/api-keys"), None).await;
        assert_eq!(s, StatusCode::CREATED, "{k}");
        TestTenant { id, key: k["key"].as_str().unwrap().to_owned() }
    }

    /// Creates a key for tenant `id` with `body` (e.g. `{"scopes": ["read"]}`);
    /// returns the key.
    pub async fn key_for(&self, id: Uuid, body: Value) -> String {
        let (s, k) = self.op(Method::POST, &format!("/v1/tenants/{id}/api-keys"), Some(body)).await;
        assert_eq!(s, StatusCode::CREATED, "{k}");
        k["key"].as_str().unwrap().to_owned()
    }

    /// Creates a feed token named `name`; returns the token.
    pub async fn feed_token(&self, name: &str) -> String {
        let (s, t) = self.op(Method::POST, "/v1/feed-tokens", Some(json!({ "name": name }))).await;
        assert_eq!(s, StatusCode::CREATED, "{t}");
        t["token"].as_str().unwrap().to_owned()
    }

    /// Imports `numbers` (PortSIP text) into public inventory; returns the summary.
    pub async fn import(&self, numbers: &str, country: &str) -> Value {
        let (s, body) = self
            .op(
                Method::POST,
                "/v1/inventory",
                Some(json!({ "numbers": numbers, "country": country, "monthly_cost": 1.25 })),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        body
    }

    /// Asks to allocate `number` for `subsystem`; returns the answer unchecked.
    pub async fn allocate(&self, t: &TestTenant, number: &str, subsystem: &str) -> (StatusCode, Value) {
        self.call(
            Method::POST,
            "/v1/numbers",
            Some(&t.key),
            Some(json!({
                "number": number, "subsystem": subsystem, "dashboard_id": "dispatch-east",
                "customer_label": "Metro 911", "friendly_name": "Main line"
            })),
        )
        .await
    }

    /// Allocates `number` with a utilities route labelled `label`; returns
    /// the position of the change.
    pub async fn allocate_seq(&self, t: &TestTenant, number: &str, label: &str) -> u64 {
        let body = json!({
            "number": number, "subsystem": "utilities", "dashboard_id": "dash-1", "customer_label": label
        });
        let (s, body) = self.call(Method::POST, "/v1/numbers", Some(&t.key), Some(body)).await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
        body["seq"].as_u64().unwrap()
    }

    /// Relabels `number`'s route; returns the position of the change.
    pub async fn remap(&self, t: &TestTenant, number: &str, label: &str) -> u64 {
        let path = format!("/v1/numbers/{}", path_number(number));
        let (s, body) = self.call(Method::PATCH, &path, Some(&t.key), Some(json!({ "customer_label": label }))).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        body["seq"].as_u64().unwrap()
    }

    /// Releases `number`; returns the position of the change.
    pub async fn release(&self, t: &TestTenant, number: &str) -> u64 {
        let path = format!("/v1/numbers/{}/release", path_number(number));
        let (s, body) = self.call(Method::POST, &path, Some(&t.key), Some(json!({ "reason": "test" }))).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        body["seq"].as_u64().unwrap()
    }

    /// Outbox rows sequenced but not yet marked published.
    pub async fn unpublished(&self) -> i64 {
        didroute_control_plane::outbox::relay::backlog(&self.state.db.operator).await.unwrap()
    }
}
