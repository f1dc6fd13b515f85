//! Running statements as the application role (`didroute_app`, subject to
//! RLS) under a chosen tenant context, and what their outcomes must be.

use didroute_control_plane::db::{Db, APP_ROLE};
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

/// insufficient_privilege: "permission denied", "must be owner", and "new row
/// violates row-level security policy" all carry it.
pub(super) const INSUFFICIENT_PRIVILEGE: &str = "42501";
/// invalid_text_representation: a tenant setting that is not a uuid.
pub(super) const INVALID_TEXT_REPRESENTATION: &str = "22P02";

/// The tenant context a transaction on the app pool runs under.
#[derive(Clone, Copy, Debug)]
pub(super) enum Ctx {
    /// [`Db::tenant_tx`]: the production path.
    Tenant(Uuid),
    /// A plain transaction: the setting is never touched.
    Unset,
    /// `set_config('didroute.tenant_id', <raw>, true)` with an arbitrary value.
    Raw(&'static str),
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum End {
    Commit,
    Rollback,
}

pub(super) async fn begin(db: &Db, ctx: Ctx) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    match ctx {
        Ctx::Tenant(t) => db.tenant_tx(t).await,
        Ctx::Unset => db.app.begin().await,
        Ctx::Raw(v) => {
            let mut tx = db.app.begin().await?;
            sqlx::query("SELECT set_config('didroute.tenant_id', $1, true)").bind(v).execute(&mut *tx).await?;
            Ok(tx)
        }
    }
}

/// Runs one statement in its own app-role transaction under `ctx`; commits it
/// when it succeeded and `end` says so. Returns the rows affected.
pub(super) async fn exec(db: &Db, ctx: Ctx, sql: &str, end: End) -> Result<u64, sqlx::Error> {
    let mut tx = begin(db, ctx).await?;
    let res = sqlx::query(sql).execute(&mut *tx).await.map(|r| r.rows_affected());
    if res.is_ok() && end == End::Commit {
        tx.commit().await?;
    } else {
        tx.rollback().await?;
    }
    res
}

/// Runs a query returning one text column as the app role under `ctx`
/// (rolled back); returns its rows.
pub(super) async fn rows(db: &Db, ctx: Ctx, sql: &str) -> Result<Vec<String>, sqlx::Error> {
    let mut tx = begin(db, ctx).await?;
    let res = sqlx::query_scalar::<_, String>(sql).fetch_all(&mut *tx).await;
    tx.rollback().await?;
    res
}

pub(super) fn sqlstate(e: &sqlx::Error) -> Option<String> {
    e.as_database_error().and_then(|d| d.code()).map(|c| c.into_owned())
}

/// The statement must fail with insufficient_privilege (permission denied or
/// an RLS policy violation). Any other outcome, including a different error
/// (which could hide a vacuous test), fails.
#[track_caller]
pub(super) fn assert_denied(what: &str, res: Result<u64, sqlx::Error>) -> String {
    match res {
        Err(e) if sqlstate(&e).as_deref() == Some(INSUFFICIENT_PRIVILEGE) => format!("denied: {e}"),
        Err(e) => panic!("{what}: expected permission denied / RLS violation (42501), got another error: {e}"),
        Ok(n) => panic!("{what}: expected permission denied / RLS violation, but it succeeded ({n} row(s))"),
    }
}

/// The statement must change nothing: 0 rows affected, or denied (42501).
#[track_caller]
pub(super) fn assert_no_effect(what: &str, res: Result<u64, sqlx::Error>) -> String {
    match res {
        Ok(0) => "0 rows".to_owned(),
        Ok(n) => panic!("{what}: expected to affect 0 rows, but it affected {n}"),
        Err(e) if sqlstate(&e).as_deref() == Some(INSUFFICIENT_PRIVILEGE) => format!("denied: {e}"),
        Err(e) => panic!("{what}: expected 0 rows or permission denied, got another error: {e}"),
    }
}

/// Outcome of a positive control (the owning tenant running the statement).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Expect {
    Rows(u64),
    /// the app role lacks the privilege altogether (for every tenant)
    Denied,
}

#[track_caller]
pub(super) fn assert_expect(what: &str, expect: Expect, res: Result<u64, sqlx::Error>) {
    match expect {
        Expect::Rows(n) => match res {
            Ok(got) => assert_eq!(got, n, "{what}: positive control affected {got} row(s), expected {n}"),
            Err(e) => panic!("{what}: positive control failed: {e}"),
        },
        Expect::Denied => {
            assert_denied(what, res);
        }
    }
}

/// Checks that the pool really logs in as `didroute_app`, and that this role
/// is subject to RLS: otherwise nothing these tests assert would mean anything.
pub(super) async fn assert_app_role(db: &Db) {
    let (user, session, sup, bypass): (String, String, bool, bool) = sqlx::query_as(
        "SELECT current_user::text, session_user::text, r.rolsuper, r.rolbypassrls
         FROM pg_roles r WHERE r.rolname = current_user",
    )
    .fetch_one(&db.app)
    .await
    .expect("query the app pool's role");
    assert_eq!((user.as_str(), session.as_str()), (APP_ROLE, APP_ROLE), "the app pool must log in as {APP_ROLE}");
    assert!(!sup && !bypass, "{APP_ROLE} must be subject to RLS (rolsuper={sup}, rolbypassrls={bypass})");
}
