//! What a tenant may write on numbers, even its own: lifecycle columns
//! only, and never an operator-only status.

use didroute_control_plane::db::APP_ROLE;

use super::as_app::{assert_app_role, assert_denied, assert_no_effect, exec, Ctx, End};
use super::world::{assert_unchanged, snapshot, world};

/// The only columns of `numbers` the app role may update.
const NUMBERS_LIFECYCLE_COLUMNS: [&str; 8] = [
    "cooldown_until",
    "reclaim_until",
    "release_notes",
    "release_reason",
    "reserved_until",
    "status",
    "tenant_id",
    "updated_at",
];

/// Column grants: the app role updates only lifecycle columns of numbers,
/// even on its own row.
#[tokio::test]
async fn rls_r3_app_updates_only_lifecycle_columns_of_numbers() {
    let w = world(2, 1).await;
    assert_app_role(&w.db).await;
    let t = &w.tenants[0];
    let updatable: Vec<String> = sqlx::query_scalar(
        "SELECT attname::text FROM pg_attribute
         WHERE attrelid = 'numbers'::regclass AND attnum > 0 AND NOT attisdropped
           AND has_column_privilege($1::name, attrelid, attnum, 'UPDATE')
         ORDER BY 1",
    )
    .bind(APP_ROLE)
    .fetch_all(&w.owner)
    .await
    .unwrap();
    assert_eq!(updatable, NUMBERS_LIFECYCLE_COLUMNS, "the columns of numbers didroute_app may update");
    let (insert, truncate): (bool, bool) =
        sqlx::query_as("SELECT has_table_privilege($1::name, 'numbers'::regclass, 'INSERT'), has_table_privilege($1::name, 'numbers'::regclass, 'TRUNCATE')")
            .bind(APP_ROLE)
            .fetch_one(&w.owner)
            .await
            .unwrap();
    assert!(!insert && !truncate, "didroute_app must not insert or truncate numbers");

    let before = snapshot(&w.owner).await;
    // control: the row is the tenant's and a lifecycle column can be changed
    let ok = exec(
        &w.db,
        Ctx::Tenant(t.id),
        &format!("UPDATE numbers SET release_notes = 'ok' WHERE e164 = '{}'", t.alloc),
        End::Rollback,
    )
    .await;
    assert_eq!(ok.unwrap(), 1, "control: tenant updates a lifecycle column of its own number");
    for (col, value) in [
        ("monthly_cost", "0"),
        ("currency", "'EUR'"),
        ("pool_tenant_id", "NULL"),
        ("country", "'GB'"),
        ("provisioning_status", "'pending'"),
        ("allow_unknown_provisioning", "true"),
        ("carrier_module", "'local'"),
        ("provider", "'elsewhere'"),
        ("number_type", "'mobile'"),
        ("version", "version + 100"),
        ("created_at", "now()"),
        ("e164", "'+15559999002'"),
    ] {
        for target in [&t.alloc, &t.pool] {
            let sql = format!("UPDATE numbers SET {col} = {value} WHERE e164 = '{target}'");
            let res = exec(&w.db, Ctx::Tenant(t.id), &sql, End::Commit).await;
            let msg = assert_denied(&format!("own number: {sql}"), res);
            assert!(msg.contains("permission denied"), "{sql}: expected permission denied, got {msg}");
        }
    }
    assert_unchanged(&before, &snapshot(&w.owner).await, "after column updates the app role may not make");
}

/// Regression (was a gap). `disabled` is operator-only, but tenant_update's WITH CHECK
/// accepts any status once tenant_id is the tenant's: a tenant can move a
/// public number available → disabled (taking it out of everyone's
/// inventory), and its own allocated number to disabled.
#[tokio::test]
async fn rls_tenant_cannot_disable_public_inventory() {
    let w = world(2, 1).await;
    assert_app_role(&w.db).await;
    let t = &w.tenants[0];
    let before = snapshot(&w.owner).await;
    let sql = format!("UPDATE numbers SET status = 'disabled', tenant_id = '{}' WHERE e164 = '{}'", t.id, w.public[0]);
    assert_no_effect(&sql, exec(&w.db, Ctx::Tenant(t.id), &sql, End::Commit).await);
    assert_unchanged(&before, &snapshot(&w.owner).await, "after a tenant tried to disable public inventory");
}
