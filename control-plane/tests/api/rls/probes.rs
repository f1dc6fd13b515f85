//! The per-table statement catalogue: one statement of each kind aimed at a
//! tenant's rows, its positive controls, and the attack that runs it all.

use didroute_control_plane::db::APP_ROLE;
use uuid::Uuid;

use super::as_app::{assert_denied, assert_expect, assert_no_effect, exec, rows, Ctx, End, Expect};
use super::world::{Tenant, World};

/// For one tenant table, one statement of each kind aimed at `target`'s rows,
/// with what `target` itself gets when it runs them (the positive control).
pub(super) struct Probe {
    pub(super) table: &'static str,
    /// one text column (the row as text), `target`'s rows only
    pub(super) select: String,
    pub(super) select_rows: usize,
    /// a valid row that claims `target`
    pub(super) insert: String,
    pub(super) insert_expect: Expect,
    pub(super) update: String,
    pub(super) update_expect: Expect,
    pub(super) delete: String,
    pub(super) delete_expect: Expect,
}

/// [`probe_list`] with each expectation reconciled with the app role's
/// actual table privileges: an operation the role has no grant for is denied
/// to every tenant (the schema may take a grant away, e.g. INSERT on outbox
/// once events are only written through a function); an operation the probe
/// expects to be denied but that is granted is a new privilege to review.
pub(super) async fn probes(w: &World, a: &Tenant) -> Vec<Probe> {
    let mut list = probe_list(a);
    for p in &mut list {
        for (op, expect) in
            [("INSERT", &mut p.insert_expect), ("UPDATE", &mut p.update_expect), ("DELETE", &mut p.delete_expect)]
        {
            // column-level grants count (numbers has UPDATE on some columns only)
            let granted: bool = sqlx::query_scalar(
                "SELECT CASE WHEN $3 = 'DELETE' THEN has_table_privilege($1::name, $2::regclass, $3)
                             ELSE has_any_column_privilege($1::name, $2::regclass, $3) END",
            )
            .bind(APP_ROLE)
            .bind(p.table)
            .bind(op)
            .fetch_one(&w.owner)
            .await
            .unwrap();
            match (granted, *expect) {
                (false, _) => *expect = Expect::Denied,
                (true, Expect::Rows(_)) => {}
                (true, Expect::Denied) => {
                    panic!(
                        "{APP_ROLE} has {op} on {}, which this test expects it not to have: review the grant",
                        p.table
                    )
                }
            }
        }
    }
    list
}

pub(super) fn probe_list(a: &Tenant) -> Vec<Probe> {
    let id = a.id;
    let fresh = Uuid::new_v4();
    vec![
        Probe {
            table: "tenants",
            select: format!("SELECT t::text FROM tenants t WHERE id = '{id}'"),
            select_rows: 1,
            insert: format!("INSERT INTO tenants (id, name) VALUES ('{fresh}', 'impostor-{fresh}')"),
            insert_expect: Expect::Denied,
            update: format!("UPDATE tenants SET name = 'pwned' WHERE id = '{id}'"),
            update_expect: Expect::Denied,
            delete: format!("DELETE FROM tenants WHERE id = '{id}'"),
            delete_expect: Expect::Denied,
        },
        Probe {
            table: "api_keys",
            select: format!("SELECT t::text FROM api_keys t WHERE tenant_id = '{id}'"),
            select_rows: 1,
            insert: format!(
                "INSERT INTO api_keys (id, tenant_id, key_hash, key_prefix)
                 VALUES ('{fresh}', '{id}', sha256('{fresh}'::bytea), 'drk_evil')"
            ),
            insert_expect: Expect::Denied,
            update: format!("UPDATE api_keys SET revoked_at = now() WHERE tenant_id = '{id}'"),
            update_expect: Expect::Denied,
            delete: format!("DELETE FROM api_keys WHERE tenant_id = '{id}'"),
            delete_expect: Expect::Denied,
        },
        Probe {
            table: "numbers",
            select: format!("SELECT t::text FROM numbers t WHERE tenant_id = '{id}' OR pool_tenant_id = '{id}'"),
            select_rows: 5,
            insert: format!(
                "INSERT INTO numbers (e164, country, status, tenant_id) VALUES ('+15559999001', 'US', 'allocated', '{id}')"
            ),
            insert_expect: Expect::Denied,
            // lifecycle columns only: these the app role may update
            update: format!(
                "UPDATE numbers SET release_notes = 'pwned', updated_at = now()
                 WHERE tenant_id = '{id}' OR pool_tenant_id = '{id}'"
            ),
            update_expect: Expect::Rows(5),
            // the policy lets a tenant delete only its own local/mdn numbers
            delete: format!("DELETE FROM numbers WHERE tenant_id = '{id}' OR pool_tenant_id = '{id}'"),
            delete_expect: Expect::Rows(1),
        },
        Probe {
            table: "routes",
            select: format!("SELECT t::text FROM routes t WHERE tenant_id = '{id}'"),
            select_rows: 2,
            insert: format!(
                "INSERT INTO routes (e164, tenant_id, subsystem, dashboard_id, customer_label)
                 VALUES ('{}', '{id}', 'mdoc', 'evil', 'impostor')",
                a.reserved
            ),
            insert_expect: Expect::Rows(1),
            update: format!("UPDATE routes SET customer_label = 'pwned', dashboard_id = 'evil' WHERE tenant_id = '{id}'"),
            update_expect: Expect::Rows(2),
            delete: format!("DELETE FROM routes WHERE tenant_id = '{id}'"),
            delete_expect: Expect::Rows(2),
        },
        Probe {
            table: "audit_log",
            select: format!("SELECT t::text FROM audit_log t WHERE tenant_id = '{id}'"),
            select_rows: 1,
            insert: format!(
                "INSERT INTO audit_log (e164, tenant_id, actor, action) VALUES ('{}', '{id}', 'impostor', 'number.release')",
                a.alloc
            ),
            insert_expect: Expect::Rows(1),
            // append-only for the app role, even for its own rows
            update: format!("UPDATE audit_log SET action = 'pwned' WHERE tenant_id = '{id}'"),
            update_expect: Expect::Denied,
            delete: format!("DELETE FROM audit_log WHERE tenant_id = '{id}'"),
            delete_expect: Expect::Denied,
        },
        Probe {
            table: "outbox",
            select: format!("SELECT t::text FROM outbox t WHERE tenant_id = '{id}'"),
            select_rows: 1,
            insert: format!("INSERT INTO outbox (tenant_id, e164, version, op) VALUES ('{id}', '{}', 99, 'delete')", a.alloc),
            insert_expect: Expect::Rows(1),
            update: format!("UPDATE outbox SET published_at = now(), version = 99 WHERE tenant_id = '{id}'"),
            update_expect: Expect::Denied,
            delete: format!("DELETE FROM outbox WHERE tenant_id = '{id}'"),
            delete_expect: Expect::Denied,
        },
        Probe {
            table: "pool_ranges",
            select: format!("SELECT t::text FROM pool_ranges t WHERE tenant_id = '{id}'"),
            select_rows: 1,
            // a range no seeded tenant's overlaps, so only the grant or the policy can refuse it
            insert: format!(
                "INSERT INTO pool_ranges (tenant_id, numbers) VALUES ('{id}', int8range(15559998001, 15559998999, '[]'))"
            ),
            // the operator assigns ranges; a tenant only reads its own
            insert_expect: Expect::Denied,
            // widened within the tenant's own numbering, so no other tenant's range is overlapped
            update: format!(
                "UPDATE pool_ranges SET numbers = int8range(lower(numbers), upper(numbers) + 1000) WHERE tenant_id = '{id}'"
            ),
            update_expect: Expect::Denied,
            delete: format!("DELETE FROM pool_ranges WHERE tenant_id = '{id}'"),
            delete_expect: Expect::Denied,
        },
        Probe {
            table: "idempotency_keys",
            select: format!("SELECT t::text FROM idempotency_keys t WHERE tenant_id = '{id}'"),
            select_rows: 1,
            insert: format!(
                "INSERT INTO idempotency_keys (tenant_id, key, request_hash, status, response)
                 VALUES ('{id}', 'impostor-{fresh}', sha256('impostor'::bytea), 201, '{{\"numbers\": []}}')"
            ),
            insert_expect: Expect::Rows(1),
            // a replay would answer with this instead of the stored response
            update: format!(
                "UPDATE idempotency_keys SET status = 200, response = '{{\"pwned\": true}}', outbox_ids = '{{}}'
                 WHERE tenant_id = '{id}'"
            ),
            update_expect: Expect::Rows(1),
            // keys are never deleted by the app role
            delete: format!("DELETE FROM idempotency_keys WHERE tenant_id = '{id}'"),
            delete_expect: Expect::Denied,
        },
        // usage buckets: written only by ingestion and the rollup (operator)
        Probe {
            table: "usage_hourly",
            select: format!("SELECT t::text FROM usage_hourly t WHERE tenant_id = '{id}'"),
            select_rows: 1,
            insert: format!(
                "INSERT INTO usage_hourly (tenant_id, e164, hour, lookups)
                 VALUES ('{id}', '{}', date_trunc('hour', now() - interval '1 hour', 'UTC'), 1000000)",
                a.alloc
            ),
            insert_expect: Expect::Denied,
            update: format!("UPDATE usage_hourly SET lookups = 1000000 WHERE tenant_id = '{id}'"),
            update_expect: Expect::Denied,
            delete: format!("DELETE FROM usage_hourly WHERE tenant_id = '{id}'"),
            delete_expect: Expect::Denied,
        },
        Probe {
            table: "usage_daily",
            select: format!("SELECT t::text FROM usage_daily t WHERE tenant_id = '{id}'"),
            select_rows: 1,
            insert: format!(
                "INSERT INTO usage_daily (tenant_id, e164, day, lookups)
                 VALUES ('{id}', '{}', date_trunc('day', now() - interval '50 days', 'UTC'), 1000000)",
                a.alloc
            ),
            insert_expect: Expect::Denied,
            update: format!("UPDATE usage_daily SET lookups = 1000000 WHERE tenant_id = '{id}'"),
            update_expect: Expect::Denied,
            delete: format!("DELETE FROM usage_daily WHERE tenant_id = '{id}'"),
            delete_expect: Expect::Denied,
        },
    ]
}

/// Sanity and positive controls for [`probes`]: the operator role sees A's
/// rows, and A itself (app role, A's context) sees them and gets the expected
/// outcome from every statement (rolled back).
pub(super) async fn run_controls(w: &World, a: &Tenant) {
    for p in probes(w, a).await {
        let t = p.table;
        let op_rows = sqlx::query_scalar::<_, String>(&p.select).fetch_all(&w.db.operator).await.unwrap();
        assert_eq!(op_rows.len(), p.select_rows, "sanity: the operator role sees A's {t} rows: {op_rows:?}");
        let own = rows(&w.db, Ctx::Tenant(a.id), &p.select).await.unwrap();
        assert_eq!(own.len(), p.select_rows, "control: tenant A sees its own {t} rows: {own:?}");
        assert_expect(
            &format!("control: A INSERT into {t}"),
            p.insert_expect,
            exec(&w.db, Ctx::Tenant(a.id), &p.insert, End::Rollback).await,
        );
        assert_expect(
            &format!("control: A UPDATE {t}"),
            p.update_expect,
            exec(&w.db, Ctx::Tenant(a.id), &p.update, End::Rollback).await,
        );
        assert_expect(
            &format!("control: A DELETE {t}"),
            p.delete_expect,
            exec(&w.db, Ctx::Tenant(a.id), &p.delete, End::Rollback).await,
        );
    }
}

/// Runs every probe against A's rows under `ctx` (committing what succeeds),
/// asserting it reveals and changes nothing. Returns a printable matrix.
pub(super) async fn attack(w: &World, a: &Tenant, ctx: Ctx, label: &str) -> Vec<String> {
    let mut matrix = Vec::new();
    for p in probes(w, a).await {
        let t = p.table;
        let seen = rows(&w.db, ctx, &p.select).await.unwrap_or_else(|e| panic!("{label}: SELECT {t} failed: {e}"));
        assert!(seen.is_empty(), "{label}: SELECT on {t} reveals tenant A's rows: {seen:?}");
        let ins = assert_denied(
            &format!("{label}: INSERT into {t} claiming tenant A"),
            exec(&w.db, ctx, &p.insert, End::Commit).await,
        );
        let upd = assert_no_effect(
            &format!("{label}: UPDATE of A's {t} rows"),
            exec(&w.db, ctx, &p.update, End::Commit).await,
        );
        let del = assert_no_effect(
            &format!("{label}: DELETE of A's {t} rows"),
            exec(&w.db, ctx, &p.delete, End::Commit).await,
        );
        // where A itself lacks the privilege, the attacker must too
        if p.update_expect == Expect::Denied {
            assert!(upd.starts_with("denied"), "{label}: UPDATE {t} must be denied like for its owner, got {upd}");
        }
        if p.delete_expect == Expect::Denied {
            assert!(del.starts_with("denied"), "{label}: DELETE {t} must be denied like for its owner, got {del}");
        }
        matrix.push(format!("{label:>14} | {t:<16} | SELECT 0 rows | INSERT {ins} | UPDATE {upd} | DELETE {del}"));
    }
    matrix
}
