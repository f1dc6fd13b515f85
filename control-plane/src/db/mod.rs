//! PostgreSQL access: the two pools, migrations, and tenant transactions.
//!
//! Architecture invariant: tenant-scoped work only ever runs on the app pool
//! inside [`Db::tenant_tx`], which sets the tenant for that transaction alone.

pub mod embedded;

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::config::DbArgs;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// The role tenant-scoped transactions run as (RLS applies).
pub const APP_ROLE: &str = "didroute_app";
/// The role operator work runs as.
pub const OPERATOR_ROLE: &str = "didroute_operator";

/// The service's connections.
#[derive(Clone, Debug)]
pub struct Db {
    /// As `didroute_app`: every query is filtered by row-level security.
    pub app: PgPool,
    /// As `didroute_operator`: inventory, tenants, feed, jobs.
    pub operator: PgPool,
}

impl Db {
    /// Connects both pools. URLs not given explicitly are derived from the
    /// owner URL with the role swapped in.
    pub async fn connect(args: &DbArgs, owner_url: &str) -> anyhow::Result<Db> {
        let app_url = match &args.app_database_url {
            Some(u) => u.clone(),
            None => role_url(owner_url, APP_ROLE, args.db_role_password.as_deref())?,
        };
        let op_url = match &args.operator_database_url {
            Some(u) => u.clone(),
            None => role_url(owner_url, OPERATOR_ROLE, args.db_role_password.as_deref())?,
        };
        let wait = Duration::from_millis(args.db_acquire_timeout_ms);
        let app = pool(&app_url, args.db_pool_size, wait)
            .await
            .with_context(|| format!("cannot connect to PostgreSQL as {APP_ROLE} (DIDROUTE_APP_DATABASE_URL)"))?;
        let operator = pool(&op_url, args.db_pool_size, wait).await.with_context(|| {
            format!("cannot connect to PostgreSQL as {OPERATOR_ROLE} (DIDROUTE_OPERATOR_DATABASE_URL)")
        })?;
        Ok(Db { app, operator })
    }

    /// Begins a transaction on the app pool scoped to `tenant`. The setting is
    /// transaction-local (`set_config(…, true)`): it ends with the transaction.
    pub async fn tenant_tx(&self, tenant: Uuid) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        // one round trip: BEGIN and the tenant setting travel together (a
        // UUID's text is hex and hyphens, safe to inline)
        self.app.begin_with(format!("BEGIN; SELECT set_config('didroute.tenant_id', '{tenant}', true)")).await
    }
}

/// Runs migrations as the owner and, when given, sets the service roles' password.
pub async fn migrate(owner_url: &str, role_password: Option<&str>) -> anyhow::Result<()> {
    let opts = connect_options(owner_url).context("DATABASE_URL is not a postgres url")?;
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(opts)
        .await
        .context("cannot connect to PostgreSQL at DATABASE_URL")?;
    MIGRATOR.run(&pool).await?;
    if let Some(pw) = role_password {
        for role in [APP_ROLE, OPERATOR_ROLE] {
            // ALTER ROLE takes no bind parameters; quote_literal does the quoting.
            let sql: String = sqlx::query_scalar("SELECT format('ALTER ROLE %I PASSWORD %L', $1::text, $2::text)")
                .bind(role)
                .bind(pw)
                .fetch_one(&pool)
                .await?;
            sqlx::query(&sql).execute(&pool).await?;
        }
    }
    pool.close().await;
    Ok(())
}

/// A URL's options: `sslmode` (`disable` … `verify-full`) and
/// `sslrootcert` are sqlx's own, over rustls.
fn connect_options(url: &str) -> anyhow::Result<PgConnectOptions> {
    let opts = PgConnectOptions::from_str(url)?;
    if matches!(opts.get_ssl_mode(), sqlx::postgres::PgSslMode::VerifyCa) {
        tracing::warn!(
            "sslmode=verify-ca also checks the server's host name in this build (sqlx 0.8 over rustls, \
             launchbadge/sqlx#3793): the certificate must name the host connected to, as with verify-full"
        );
    }
    Ok(opts)
}

/// A pool whose callers wait at most `wait` for a connection (then
/// `PoolTimedOut`, answered 503 `overloaded`).
async fn pool(url: &str, size: u32, wait: Duration) -> anyhow::Result<PgPool> {
    let opts = connect_options(url)?.application_name("didroute-control-plane");
    Ok(PgPoolOptions::new().max_connections(size).acquire_timeout(wait).connect_with(opts).await?)
}

/// `owner_url` with the user replaced by `role` (and the password by `password`).
pub fn role_url(owner_url: &str, role: &str, password: Option<&str>) -> anyhow::Result<String> {
    let mut url = url_parts(owner_url)?;
    url.user = role.to_owned();
    url.password = password.map(str::to_owned);
    Ok(url.to_string())
}

/// A minimal postgres URL splitter: enough to swap credentials without a URL crate.
struct PgUrl {
    scheme: String,
    user: String,
    password: Option<String>,
    rest: String,
}

fn url_parts(url: &str) -> anyhow::Result<PgUrl> {
    let (scheme, after) = url
        .split_once("://")
        .ok_or_else(|| anyhow::anyhow!("DATABASE_URL must look like postgres://user@host:port/database"))?;
    let (cred, rest) = match after.split_once('@') {
        Some((c, r)) if !c.contains('/') => (Some(c), r),
        _ => (None, after),
    };
    let (user, password) = match cred {
        Some(c) => match c.split_once(':') {
            Some((u, p)) => (u.to_owned(), Some(p.to_owned())),
            None => (c.to_owned(), None),
        },
        None => (String::new(), None),
    };
    Ok(PgUrl { scheme: scheme.to_owned(), user, password, rest: rest.to_owned() })
}

impl std::fmt::Display for PgUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}", self.scheme, self.user)?;
        if let Some(p) = &self.password {
            write!(f, ":{p}")?;
        }
        write!(f, "@{}", self.rest)
    }
}

/// `owner_url` pointing at another database of the same server.
pub fn with_database(owner_url: &str, database: &str) -> anyhow::Result<String> {
    let mut url = url_parts(owner_url)?;
    let (hostport, query) = match url.rest.split_once('?') {
        Some((h, q)) => (h.to_owned(), Some(q.to_owned())),
        None => (url.rest.clone(), None),
    };
    let host = hostport.split('/').next().unwrap_or_default();
    url.rest = match query {
        Some(q) => format!("{host}/{database}?{q}"),
        None => format!("{host}/{database}"),
    };
    Ok(url.to_string())
}

/// Runs `delete` (a DELETE whose `$1` is an age in seconds and `$2` a row
/// limit) until it removes fewer than `batch` rows; returns how many went.
/// Housekeeping jobs delete in batches so no one statement holds many locks.
pub async fn delete_in_batches(pool: &PgPool, delete: &str, age: Duration, batch: i64) -> Result<u64, sqlx::Error> {
    let mut removed = 0;
    loop {
        let n = sqlx::query(delete).bind(age.as_secs_f64()).bind(batch).execute(pool).await?.rows_affected();
        removed += n;
        if n < batch as u64 {
            return Ok(removed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swaps_the_role() {
        assert_eq!(
            role_url("postgres://postgres@127.0.0.1:5432/db", APP_ROLE, None).unwrap(),
            "postgres://didroute_app@127.0.0.1:5432/db"
        );
        assert_eq!(
            role_url("postgresql://o:secret@h/db?sslmode=disable", OPERATOR_ROLE, Some("pw")).unwrap(),
            "postgresql://didroute_operator:pw@h/db?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h:1/old?x=1", "new").unwrap(), "postgres://u@h:1/new?x=1");
        assert!(role_url("not a url", APP_ROLE, None).is_err());
    }
}
