//! `spawn_app()`: a control plane on port 0 over its own fresh database.
//!
//! The server is `DATABASE_URL` (an owner/superuser URL; the README's test
//! command starts a private cluster and sets it), or the machine's
//! PostgreSQL at 127.0.0.1:5432 when unset.

use std::time::Duration;

use didroute_control_plane::config::{DbArgs, Settings};
use didroute_control_plane::db::{self, Db};
use didroute_control_plane::AppState;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, Mutex};
use uuid::Uuid;

pub const OPERATOR_TOKEN: &str = "test-operator-token-0123456789";

/// Migrations create cluster-wide roles: one at a time per test process.
static MIGRATE: Mutex<()> = Mutex::const_new(());

pub fn admin_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A fresh, migrated database; returns its owner URL.
pub async fn fresh_database() -> String {
    let admin = admin_url();
    let name = format!("didroute_t_{}", Uuid::new_v4().simple());
    let pool = PgPool::connect(&admin).await.expect("connect to DATABASE_URL (is PostgreSQL running?)");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&pool).await.expect("create test database");
    pool.close().await;
    let url = db::with_database(&admin, &name).unwrap();
    let _guard = MIGRATE.lock().await;
    db::migrate(&url, None).await.expect("migrate");
    url
}

pub fn db_args(pool_size: u32) -> DbArgs {
    DbArgs {
        database_url: None,
        app_database_url: None,
        operator_database_url: None,
        db_role_password: None,
        db_pool_size: pool_size,
    }
}

pub fn settings() -> Settings {
    Settings {
        operator_token: OPERATOR_TOKEN.to_owned(),
        cooldown: Duration::from_secs(300),
        reclaim_window: Duration::from_secs(10 * 24 * 3600),
        lifecycle_interval: None,
    }
}

pub struct TestApp {
    pub base: String,
    pub state: AppState,
    pub http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(settings()).await
}

pub async fn spawn_app_with(settings: Settings) -> TestApp {
    let owner_url = fresh_database().await;
    let db = Db::connect(&db_args(8), &owner_url).await.expect("connect pools");
    let state = AppState::new(db, settings);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, rx) = oneshot::channel::<()>();
    tokio::spawn(didroute_control_plane::run(listener, state.clone(), async {
        let _ = rx.await;
    }));
    TestApp { base, state, http: reqwest::Client::new(), stop: Some(stop) }
}

/// A tenant with one API key.
pub struct TestTenant {
    pub id: Uuid,
    pub key: String,
}

impl TestApp {
    /// Sends a request with `token` and an optional JSON body; returns status and JSON (or Null).
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

    pub async fn op(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.call(method, path, Some(OPERATOR_TOKEN), body).await
    }

    pub async fn tenant(&self, name: &str) -> TestTenant {
        let (s, t) = self.op(Method::POST, "/v1/tenants", Some(json!({ "name": name }))).await;
        assert_eq!(s, StatusCode::CREATED, "{t}");
        let id: Uuid = t["id"].as_str().unwrap().parse().unwrap();
        let (s, k) = self.op(Method::POST, &format!("/v1/tenants/{id}/api-keys"), None).await;
        assert_eq!(s, StatusCode::CREATED, "{k}");
        TestTenant { id, key: k["key"].as_str().unwrap().to_owned() }
    }

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
}
