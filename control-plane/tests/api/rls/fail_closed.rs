//! Without a tenant the app role sees and changes nothing; a malformed
//! tenant setting is an error, never a disclosure.

use super::as_app::{
    assert_app_role, assert_denied, assert_no_effect, exec, rows, sqlstate, Ctx, End, INSUFFICIENT_PRIVILEGE,
    INVALID_TEXT_REPRESENTATION,
};
use super::probes::{attack, probes, run_controls};
use super::world::{assert_unchanged, snapshot, world, TENANT_TABLES};

/// Without a tenant (plain transaction, or the setting set to ''), the app
/// role sees no tenant's row in any table and can change none; a malformed
/// setting is an error, never a disclosure.
#[tokio::test]
async fn rls_fails_closed_without_a_tenant() {
    let w = world(2, 2).await;
    assert_app_role(&w.db).await;
    let a = &w.tenants[0];
    run_controls(&w, a).await;
    for t in TENANT_TABLES {
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {t}")).fetch_one(&w.db.operator).await.unwrap();
        assert!(n > 0, "sanity: {t} holds rows (seen by the operator role)");
    }
    let before = snapshot(&w.owner).await;
    assert!(before.values().all(|rows| rows.contains(&a.id.to_string())), "sanity: every table holds tenant A's data");

    // every row, public inventory included: without a tenant nothing is visible
    let whole_table = |t: &str| format!("SELECT t::text FROM {t} t");
    let mut matrix = Vec::new();
    for (label, ctx) in [("no tenant", Ctx::Unset), ("tenant ''", Ctx::Raw(""))] {
        let current: Vec<String> =
            rows(&w.db, ctx, "SELECT coalesce(didroute_current_tenant()::text, 'NULL')").await.unwrap();
        assert_eq!(current, ["NULL"], "{label}: the current tenant must be NULL");
        for t in TENANT_TABLES {
            let seen = rows(&w.db, ctx, &whole_table(t)).await.unwrap();
            assert!(seen.is_empty(), "{label}: {t} reveals tenant rows: {seen:?}");
            let control = rows(&w.db, Ctx::Tenant(a.id), &whole_table(t)).await.unwrap();
            assert!(!control.is_empty(), "control: tenant A sees rows of {t} through the same query");
        }
        matrix.extend(attack(&w, a, ctx, label).await);
        // operator-wide rows (tenant_id NULL) cannot be written without a tenant either
        for t in ["audit_log", "outbox", "pool_ranges", "idempotency_keys"] {
            let sql = match t {
                "audit_log" => "INSERT INTO audit_log (tenant_id, actor, action) VALUES (NULL, 'nobody', 'x')",
                "outbox" => {
                    "INSERT INTO outbox (tenant_id, e164, version, op) VALUES (NULL, '+15550000001', 1, 'delete')"
                }
                "pool_ranges" => {
                    "INSERT INTO pool_ranges (tenant_id, numbers) VALUES (NULL, int8range(15559998001, 15559998999))"
                }
                // tenant_id is NOT NULL, but the policy refuses the row before the constraint sees it
                "idempotency_keys" => {
                    "INSERT INTO idempotency_keys (tenant_id, key, request_hash, status, response)
                     VALUES (NULL, 'nobody', sha256('nobody'::bytea), 201, 'null')"
                }
                _ => unreachable!("no operator-wide INSERT for {t}"),
            };
            assert_denied(
                &format!("{label}: INSERT into {t} with tenant_id NULL"),
                exec(&w.db, ctx, sql, End::Commit).await,
            );
        }
        // blanket writes with no WHERE at all (numbers: minus public inventory)
        for t in TENANT_TABLES {
            let (upd, del) = match t {
                "tenants" => ("UPDATE tenants SET name = name || '!'".to_owned(), "DELETE FROM tenants".to_owned()),
                "api_keys" => ("UPDATE api_keys SET revoked_at = now()".to_owned(), "DELETE FROM api_keys".to_owned()),
                "numbers" => (
                    "UPDATE numbers SET release_notes = 'pwned' WHERE tenant_id IS NOT NULL OR pool_tenant_id IS NOT NULL".to_owned(),
                    "DELETE FROM numbers".to_owned(),
                ),
                "routes" => ("UPDATE routes SET customer_label = 'pwned'".to_owned(), "DELETE FROM routes".to_owned()),
                "audit_log" => ("UPDATE audit_log SET action = 'pwned'".to_owned(), "DELETE FROM audit_log".to_owned()),
                "outbox" => ("UPDATE outbox SET published_at = now()".to_owned(), "DELETE FROM outbox".to_owned()),
                "pool_ranges" => (
                    "UPDATE pool_ranges SET numbers = int8range(lower(numbers), upper(numbers) + 1000)".to_owned(),
                    "DELETE FROM pool_ranges".to_owned(),
                ),
                "idempotency_keys" => (
                    "UPDATE idempotency_keys SET status = 200, response = '{\"pwned\": true}'".to_owned(),
                    "DELETE FROM idempotency_keys".to_owned(),
                ),
                "usage_hourly" | "usage_daily" => {
                    (format!("UPDATE {t} SET lookups = lookups + 1"), format!("DELETE FROM {t}"))
                }
                _ => panic!("no blanket writes for tenant table {t}: add them here"),
            };
            assert_no_effect(&format!("{label}: {upd}"), exec(&w.db, ctx, &upd, End::Commit).await);
            assert_no_effect(&format!("{label}: {del}"), exec(&w.db, ctx, &del, End::Commit).await);
        }
    }

    // a single statement outside any explicit transaction, on a fresh connection
    for t in TENANT_TABLES {
        let seen = sqlx::query_scalar::<_, String>(&whole_table(t)).fetch_all(&w.db.app).await.unwrap();
        assert!(seen.is_empty(), "autocommit without a tenant: {t} reveals {seen:?}");
    }

    // malformed setting: an error, not rows and not a silent success
    for t in TENANT_TABLES {
        let res = rows(&w.db, Ctx::Raw("not-a-uuid"), &format!("SELECT t::text FROM {t} t")).await;
        match res {
            Err(e) => assert_eq!(
                sqlstate(&e).as_deref(),
                Some(INVALID_TEXT_REPRESENTATION),
                "tenant 'not-a-uuid': SELECT {t} must fail on the uuid cast, got {e}"
            ),
            Ok(r) => panic!("tenant 'not-a-uuid': SELECT {t} must fail, returned {r:?}"),
        }
    }
    for p in probes(&w, a).await {
        for sql in [&p.insert, &p.update, &p.delete] {
            match exec(&w.db, Ctx::Raw("not-a-uuid"), sql, End::Commit).await {
                Err(e) => assert!(
                    [Some(INVALID_TEXT_REPRESENTATION), Some(INSUFFICIENT_PRIVILEGE)]
                        .contains(&sqlstate(&e).as_deref()),
                    "tenant 'not-a-uuid': {sql}: unexpected error {e}"
                ),
                Ok(n) => panic!("tenant 'not-a-uuid': {sql} must fail, succeeded with {n} row(s)"),
            }
        }
    }

    eprintln!("{}", matrix.join("\n"));
    assert_unchanged(&before, &snapshot(&w.owner).await, "after the tenant-less attempts");
}

/// Regression (was a gap). "Policies fail closed when it is unset": the numbers policies
/// admit public inventory (status available, no pool) when no tenant is set,
/// so a tenant-less transaction sees it and can write its lifecycle columns
/// (release_notes, reserved_until, …, bumping version). Fix: require
/// `didroute_current_tenant() IS NOT NULL` in tenant_read and tenant_update.
#[tokio::test]
async fn rls_no_tenant_sees_and_writes_no_public_inventory() {
    let w = world(2, 1).await;
    assert_app_role(&w.db).await;
    let before = snapshot(&w.owner).await;
    for (label, ctx) in [("no tenant", Ctx::Unset), ("tenant ''", Ctx::Raw(""))] {
        let seen = rows(&w.db, ctx, "SELECT e164 FROM numbers").await.unwrap();
        assert!(seen.is_empty(), "{label}: numbers reveals {seen:?}");
        let res = exec(&w.db, ctx, "UPDATE numbers SET release_notes = 'written without a tenant'", End::Commit).await;
        assert_no_effect(&format!("{label}: UPDATE numbers"), res);
    }
    assert_unchanged(&before, &snapshot(&w.owner).await, "after tenant-less writes");
}
