//! Fresh, migrated databases on the test server.

use didroute_control_plane::config::DbArgs;
use didroute_control_plane::db;
use sqlx::PgPool;
use tokio::sync::Mutex;
use uuid::Uuid;

/// Migrations create cluster-wide roles: one at a time per test process.
static MIGRATE: Mutex<()> = Mutex::const_new(());

/// The server's owner (superuser) URL: `DATABASE_URL`, or the local default.
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

/// Pool arguments that derive the service roles' URLs from the owner URL.
pub fn db_args(pool_size: u32) -> DbArgs {
    DbArgs {
        database_url: None,
        app_database_url: None,
        operator_database_url: None,
        db_role_password: None,
        db_pool_size: pool_size,
        db_acquire_timeout_ms: 10_000,
    }
}
