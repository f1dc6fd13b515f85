//! The change events a tenant may emit: only for numbers it holds.

use super::as_app::{assert_app_role, assert_denied, exec, Ctx, End};
use super::world::world;

/// Regression (was a gap). The outbox policy checks only the row's tenant_id,
/// not that the tenant holds the number: tenant B can append an `upsert` for
/// A's number with B's route and a high version. The feed and relay publish
/// it, lookup nodes route A's number to B, and drop A's later events as
/// stale. Fix: have the outbox written by a trigger on numbers/routes (or a
/// WITH CHECK that the number is held by the current tenant, with a path for
/// deletes of released numbers).
#[tokio::test]
async fn rls_tenant_cannot_write_events_for_another_tenants_number() {
    let w = world(2, 2).await;
    assert_app_role(&w.db).await;
    let (a, b) = (&w.tenants[0], &w.tenants[1]);
    let sql = format!(
        "INSERT INTO outbox (tenant_id, e164, version, op, route)
         VALUES ('{}', '{}', 1000000, 'upsert', jsonb_build_object('tenant_id', '{}', 'subsystem', 'psap'))",
        b.id, a.alloc, b.id
    );
    assert_denied("tenant B appends an event for A's number", exec(&w.db, Ctx::Tenant(b.id), &sql, End::Commit).await);
}
