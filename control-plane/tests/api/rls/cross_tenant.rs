//! R3: tenant isolation per table; tenant B against tenant A's rows.

use std::collections::{BTreeSet, HashMap};

use didroute_control_plane::db::APP_ROLE;
use sqlx::PgPool;
use uuid::Uuid;

use super::as_app::{assert_app_role, assert_denied, assert_expect, assert_no_effect, exec, rows, Ctx, End, Expect};
use super::probes::{attack, probes, run_controls};
use super::world::{assert_unchanged, snapshot, world, Tenant, World, TENANT_TABLES};

/// R3 at the SQL level: tenant B against tenant A's rows, every tenant table ×
/// SELECT / INSERT / UPDATE / DELETE, reveals and changes nothing; A's data
/// (and everything else) is byte-for-byte unchanged afterwards. Public
/// inventory is visible to B, A's private pool is not.
#[tokio::test]
async fn rls_r3_cross_tenant_matrix_reveals_and_changes_nothing() {
    let w = world(2, 2).await;
    assert_app_role(&w.db).await;
    let (a, b) = (&w.tenants[0], &w.tenants[1]);
    run_controls(&w, a).await;
    let before = snapshot(&w.owner).await;
    assert!(before.values().all(|rows| rows.contains(&a.id.to_string())), "sanity: every table holds tenant A's data");

    let mut matrix = attack(&w, a, Ctx::Tenant(b.id), "tenant B").await;
    // which writes the app role may make at all, per table (see [`probes`])
    let granted: HashMap<(&str, &str), bool> = probes(&w, a)
        .await
        .iter()
        .flat_map(|p| {
            [
                ((p.table, "INSERT"), p.insert_expect != Expect::Denied),
                ((p.table, "UPDATE"), p.update_expect != Expect::Denied),
                ((p.table, "DELETE"), p.delete_expect != Expect::Denied),
            ]
        })
        .collect();

    // targeted takeovers of A's numbers and routes, each of which A itself could do
    let takeovers = [
        format!(
            "UPDATE numbers SET status = 'reserved', tenant_id = '{}', reserved_until = now() + interval '30 minutes'
             WHERE e164 = '{}'",
            b.id, a.pool
        ),
        format!("UPDATE numbers SET tenant_id = '{}' WHERE e164 = '{}'", b.id, a.alloc),
        format!("UPDATE numbers SET status = 'aging' WHERE e164 = '{}'", a.cooldown),
        format!(
            "UPDATE numbers SET status = 'available', tenant_id = NULL, reserved_until = NULL WHERE e164 = '{}'",
            a.reserved
        ),
        format!("UPDATE numbers SET status = 'cooldown', cooldown_until = now() WHERE e164 = '{}'", a.alloc),
        format!("DELETE FROM numbers WHERE e164 = '{}'", a.local),
        format!("UPDATE routes SET subsystem = 'mdoc' WHERE e164 = '{}'", a.alloc),
        format!("DELETE FROM routes WHERE e164 = '{}'", a.local),
    ];
    for sql in &takeovers {
        let r = assert_no_effect(&format!("tenant B: {sql}"), exec(&w.db, Ctx::Tenant(b.id), sql, End::Commit).await);
        matrix.push(format!("      tenant B | {} -> {r}", sql.split_whitespace().collect::<Vec<_>>().join(" ")));
    }
    // B cannot write operator-wide rows either
    for sql in [
        "INSERT INTO audit_log (tenant_id, actor, action) VALUES (NULL, 'tenant-b', 'x')",
        "INSERT INTO outbox (tenant_id, e164, version, op) VALUES (NULL, '+15550000001', 1, 'delete')",
        "INSERT INTO pool_ranges (tenant_id, numbers) VALUES (NULL, int8range(15559998001, 15559998999))",
        "INSERT INTO idempotency_keys (tenant_id, key, request_hash, status, response)
         VALUES (NULL, 'tenant-b', sha256('tenant-b'::bytea), 201, 'null')",
    ] {
        assert_denied(&format!("tenant B: {sql}"), exec(&w.db, Ctx::Tenant(b.id), sql, End::Commit).await);
    }

    // Idempotency keys as the service uses them. B's statements must be
    // refused outright, never answer 0 or 1 rows: with A's key, whether the
    // row exists would show in the row count (the controls show it does for A).
    let key_row = |t: &Tenant, key: &str| {
        format!(
            "INSERT INTO idempotency_keys (tenant_id, key, request_hash, status, response)
             VALUES ('{}', '{key}', sha256('{key}'::bytea), 0, 'null')",
            t.id
        )
    };
    let fresh_key = format!("fresh-{}", Uuid::new_v4());
    let claim_a = format!("{} ON CONFLICT DO NOTHING", key_row(a, &a.idempotency_key));
    let claim_fresh = format!("{} ON CONFLICT DO NOTHING", key_row(a, &fresh_key));
    let overwrite_a = format!(
        // the arbiter is the tenants' partial unique index (operator keys have their own)
        "{} ON CONFLICT (tenant_id, key) WHERE tenant_id IS NOT NULL DO UPDATE SET status = 200, response = '{{\"pwned\": true}}'",
        key_row(a, &a.idempotency_key)
    );
    let rehome = |to: &Tenant| {
        format!("UPDATE idempotency_keys SET tenant_id = '{}' WHERE key = '{}'", to.id, b.idempotency_key)
    };
    // (B's statement, the privileges it needs, and the control: who runs
    // what, affecting how many rows when the app role holds those privileges)
    // privileges are (operation, column): a column-level UPDATE grant on
    // status and response does not let anyone rewrite tenant_id
    type Needs = &'static [(&'static str, Option<&'static str>)];
    let strict: [(String, Needs, Ctx, String, u64); 4] = [
        // claiming A's existing key, and a key A never used, as the service does
        (claim_a.clone(), &[("INSERT", None)], Ctx::Tenant(a.id), claim_a, 0),
        (claim_fresh.clone(), &[("INSERT", None)], Ctx::Tenant(a.id), claim_fresh, 1),
        // overwriting A's stored answer through the conflict path
        (
            overwrite_a.clone(),
            &[("INSERT", None), ("UPDATE", Some("status")), ("UPDATE", Some("response"))],
            Ctx::Tenant(a.id),
            overwrite_a,
            1,
        ),
        // moving B's own key under A (control: B may rewrite the row as its own)
        (rehome(a), &[("UPDATE", Some("tenant_id"))], Ctx::Tenant(b.id), rehome(b), 1),
    ];
    for (sql, needs, control_ctx, control_sql, n) in &strict {
        let mut allowed = true;
        for (op, column) in needs.iter() {
            allowed &= match column {
                None => granted[&("idempotency_keys", *op)],
                Some(c) => app_has_column_privilege(&w.owner, "idempotency_keys", c, op).await,
            };
        }
        let control = if allowed { Expect::Rows(*n) } else { Expect::Denied };
        assert_expect(
            &format!("control: {control_sql}"),
            control,
            exec(&w.db, *control_ctx, control_sql, End::Rollback).await,
        );
        let r = assert_denied(&format!("tenant B: {sql}"), exec(&w.db, Ctx::Tenant(b.id), sql, End::Commit).await);
        matrix.push(format!("      tenant B | {} -> {r}", sql.split_whitespace().collect::<Vec<_>>().join(" ")));
    }
    // looked up by key, as the service does: A's key is not there for B
    let by_key = format!("SELECT t::text FROM idempotency_keys t WHERE key = '{}'", a.idempotency_key);
    assert_eq!(rows(&w.db, Ctx::Tenant(a.id), &by_key).await.unwrap().len(), 1, "control: A finds its key");
    let r = rows(&w.db, Ctx::Tenant(b.id), &by_key).await.unwrap();
    assert!(r.is_empty(), "tenant B finds A's Idempotency-Key: {r:?}");

    // private-pool ranges: B sees its own range only, and it holds B's pool number
    let ranges = "SELECT t.tenant_id || ' ' || t.numbers FROM pool_ranges t ORDER BY 1";
    let in_ranges =
        "SELECT n.e164 FROM numbers n JOIN pool_ranges r ON r.numbers @> ltrim(n.e164, '+')::int8 ORDER BY 1";
    for (t, other) in [(a, b), (b, a)] {
        let r = rows(&w.db, Ctx::Tenant(t.id), ranges).await.unwrap();
        assert_eq!(
            r,
            [format!("{} [{},{})", t.id, t.pool_range, t.pool_range + 1)],
            "tenant {} sees exactly its own pool range, not {}'s",
            t.id,
            other.id
        );
        let r = rows(&w.db, Ctx::Tenant(t.id), in_ranges).await.unwrap();
        assert_eq!(r, std::slice::from_ref(&t.pool), "tenant {}: numbers in the pool ranges it sees", t.id);
    }

    // visibility of inventory: public yes, A's private pool no, B's own pool yes
    let visible: BTreeSet<String> =
        rows(&w.db, Ctx::Tenant(b.id), "SELECT e164 FROM numbers").await.unwrap().into_iter().collect();
    let mut expected: BTreeSet<String> = b.held().iter().map(|s| s.to_string()).collect();
    expected.insert(b.pool.clone());
    expected.extend(w.public.iter().cloned());
    assert_eq!(visible, expected, "tenant B sees exactly its own numbers, its private pool and public inventory");
    for p in &w.public {
        let r = rows(&w.db, Ctx::Tenant(b.id), &format!("SELECT e164 FROM numbers WHERE e164 = '{p}'")).await.unwrap();
        assert_eq!(r, std::slice::from_ref(p), "public inventory {p} is visible to tenant B");
    }
    let r =
        rows(&w.db, Ctx::Tenant(b.id), &format!("SELECT e164 FROM numbers WHERE e164 = '{}'", a.pool)).await.unwrap();
    assert!(r.is_empty(), "A's private-pool number {} is hidden from tenant B: {r:?}", a.pool);
    let r =
        rows(&w.db, Ctx::Tenant(a.id), &format!("SELECT e164 FROM numbers WHERE e164 = '{}'", a.pool)).await.unwrap();
    assert_eq!(r, std::slice::from_ref(&a.pool), "control: A sees its private-pool number");
    for n in a.held() {
        let r = rows(&w.db, Ctx::Tenant(b.id), &format!("SELECT e164 FROM numbers WHERE e164 = '{n}'")).await.unwrap();
        assert!(r.is_empty(), "A's held number {n} is hidden from tenant B");
    }

    eprintln!("{}", matrix.join("\n"));
    assert_unchanged(&before, &snapshot(&w.owner).await, "after tenant B's attempts on A's rows");

    // Blanket writes: no WHERE and constant SET values read no column, so
    // PostgreSQL does not add the SELECT policy to them; only the UPDATE and
    // DELETE policies stand between them and A's rows. They must touch
    // exactly the rows B may write (its own, and public inventory's lifecycle
    // columns), and leave A's rows byte-for-byte as they were.
    // Where the app role lacks the privilege (see [`probes`]), the statement
    // is denied instead. Every UPDATE runs before every DELETE, routes before
    // numbers (deleting a number deletes its route).
    let a_rows = a_snapshot(&w, a).await;
    let blanket: [(&str, &str, u64, &str, u64); 10] = [
        // read-only for the app role: denied whoever's rows
        ("usage_hourly", "UPDATE usage_hourly SET lookups = 0", 0, "DELETE FROM usage_hourly", 0),
        ("usage_daily", "UPDATE usage_daily SET lookups = 0", 0, "DELETE FROM usage_daily", 0),
        ("tenants", "UPDATE tenants SET name = 'B was here'", 1, "DELETE FROM tenants", 1),
        ("api_keys", "UPDATE api_keys SET revoked_at = now()", 1, "DELETE FROM api_keys", 1),
        ("audit_log", "UPDATE audit_log SET action = 'B was here'", 1, "DELETE FROM audit_log", 1),
        ("outbox", "UPDATE outbox SET published_at = now()", 1, "DELETE FROM outbox", 1),
        ("pool_ranges", "UPDATE pool_ranges SET created_at = now()", 1, "DELETE FROM pool_ranges", 1),
        (
            "idempotency_keys",
            "UPDATE idempotency_keys SET status = 200, response = '{\"B was here\": true}'",
            1,
            "DELETE FROM idempotency_keys",
            1,
        ),
        ("routes", "UPDATE routes SET customer_label = 'B was here'", 2, "DELETE FROM routes", 2),
        // UPDATE: B's 4 held + B's private pool + 2 public; DELETE: B's local number only
        ("numbers", "UPDATE numbers SET release_notes = 'B was here', updated_at = now()", 7, "DELETE FROM numbers", 1),
    ];
    assert_eq!(
        blanket.iter().map(|b| b.0).collect::<BTreeSet<_>>(),
        TENANT_TABLES.into_iter().collect::<BTreeSet<_>>(),
        "blanket writes cover every tenant table"
    );
    let statements = blanket
        .iter()
        .map(|(t, upd, n, _, _)| (*t, "UPDATE", *upd, *n))
        .chain(blanket.iter().map(|(t, _, _, del, n)| (*t, "DELETE", *del, *n)));
    for (t, op, sql, expected) in statements {
        let res = exec(&w.db, Ctx::Tenant(b.id), sql, End::Commit).await;
        if granted[&(t, op)] {
            let n = res.unwrap_or_else(|e| panic!("tenant B: {sql}: {e}"));
            assert_eq!(n, expected, "tenant B: {sql} touched {n} row(s), expected only B's writable {expected}");
        } else {
            assert_denied(&format!("tenant B: {sql} (no {op} grant on {t})"), res);
        }
    }
    assert_eq!(a_snapshot(&w, a).await, a_rows, "tenant A's rows after tenant B's blanket writes");
}

/// Whether the app role may run `op` on `table.column` (column-level grants count).
async fn app_has_column_privilege(owner: &PgPool, table: &str, column: &str, op: &str) -> bool {
    sqlx::query_scalar("SELECT has_column_privilege($1::name, $2::regclass, $3::text, $4)")
        .bind(APP_ROLE)
        .bind(table)
        .bind(column)
        .bind(op)
        .fetch_one(owner)
        .await
        .unwrap()
}

/// Tenant A's rows in every tenant table, as text, seen by the owner (no RLS).
async fn a_snapshot(w: &World, a: &Tenant) -> Vec<(&'static str, Vec<String>)> {
    let mut snap = Vec::new();
    for p in probes(w, a).await {
        let mut rows = sqlx::query_scalar::<_, String>(&p.select).fetch_all(&w.owner).await.unwrap();
        assert_eq!(rows.len(), p.select_rows, "sanity: A's {} rows exist", p.table);
        rows.sort();
        snap.push((p.table, rows));
    }
    snap
}
