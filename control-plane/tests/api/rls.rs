//! Row-level security, asserted AS THE APPLICATION ROLE (GOALS R1, R2, R3).
//!
//! Superusers bypass RLS, so a test that asserts as `postgres` proves nothing.
//! Here data is seeded through the owner (superuser) connection, its existence
//! is checked through the operator role, and every assertion about what a
//! tenant can see or change runs on the `didroute_app` pool of [`Db`] (each
//! test first checks that the pool really is that role). Every "reveals
//! nothing / changes nothing" assertion has a positive control: the owning
//! tenant runs the same statement and does see or change the rows, so a broken
//! query or a lost tenant context cannot pass vacuously. Attacks are committed
//! (not rolled back), and a byte-for-byte snapshot of every tenant table taken
//! through the owner connection must be unchanged afterwards.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use didroute_control_plane::db::{Db, APP_ROLE, OPERATOR_ROLE};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::helpers::{db_args, fresh_database};

/// The tables holding tenant data that the matrices below exercise; these
/// (and every other table but [`NON_TENANT_TABLES`]) must have forced RLS.
const TENANT_TABLES: [&str; 8] =
    ["api_keys", "audit_log", "idempotency_keys", "numbers", "outbox", "pool_ranges", "routes", "tenants"];
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
/// Tables in `public` that are not tenant data (and that the app role must not touch).
const NON_TENANT_TABLES: [&str; 1] = ["_sqlx_migrations"];
/// SECURITY DEFINER functions reviewed as safe, with their owner. Such a
/// function runs with its owner's rights, RLS included, so every one must be
/// reviewed and listed here by exact signature; R1 also checks that each is
/// owned by a role without BYPASSRLS, pins its search_path, and is not
/// executable by PUBLIC. The owner may be a service role only through this
/// list (the one exception to "service roles own nothing").
///
/// - `didroute_emit(text)`, owned by the operator: writes a number's change
///   event derived from the number's current state (the caller supplies only
///   the number), so a tenant can publish nothing but the truth, and the app
///   role needs no INSERT on outbox.
const REVIEWED_SECURITY_DEFINER: [(&str, &str); 1] = [("didroute_emit(text)", OPERATOR_ROLE)];

/// insufficient_privilege: "permission denied", "must be owner", and "new row
/// violates row-level security policy" all carry it.
const INSUFFICIENT_PRIVILEGE: &str = "42501";
/// invalid_text_representation: a tenant setting that is not a uuid.
const INVALID_TEXT_REPRESENTATION: &str = "22P02";

// ---------------------------------------------------------------------------
// the seeded world

/// One seeded tenant: every kind of row a tenant can hold.
#[derive(Clone, Debug)]
struct Tenant {
    id: Uuid,
    /// allocated, inventory module, with a `psap` route
    alloc: String,
    /// allocated, `local` module (the tenant may delete it), with a route
    local: String,
    /// reserved, no route yet
    reserved: String,
    /// released, in cooldown (still held by the tenant)
    cooldown: String,
    /// available, in this tenant's private pool
    pool: String,
    /// the tenant's one private-pool range: exactly `pool`
    pool_range: i64,
    /// the tenant's one stored Idempotency-Key
    idempotency_key: String,
}

impl Tenant {
    /// Every number this tenant holds (tenant_id set).
    fn held(&self) -> [&str; 4] {
        [&self.alloc, &self.local, &self.reserved, &self.cooldown]
    }
}

struct World {
    /// superuser, bypasses RLS: seeding and snapshots only
    owner: PgPool,
    /// `app` (didroute_app) for every assertion, `operator` for sanity checks
    db: Db,
    tenants: Vec<Tenant>,
    /// public inventory: available, no pool
    public: Vec<String>,
}

fn number(k: usize, i: usize) -> String {
    format!("+1555{k:02}{i:05}")
}

/// The digits of an E.164 number as an integer: what `pool_ranges` bounds are.
fn digits(e164: &str) -> i64 {
    e164.trim_start_matches('+').parse().expect("E.164 digits")
}

/// A fresh database with `tenant_count` fully seeded tenants and two public
/// numbers, and a [`Db`] whose pools have `pool_size` connections each.
async fn world(pool_size: u32, tenant_count: usize) -> World {
    let owner_url = fresh_database().await;
    let owner = PgPool::connect(&owner_url).await.expect("connect as the owner");
    let mut tenants = Vec::new();
    for k in 1..=tenant_count {
        tenants.push(seed_tenant(&owner, k).await);
    }
    let public = vec![number(0, 1), number(0, 2)];
    for n in &public {
        sqlx::query("INSERT INTO numbers (e164, country, monthly_cost) VALUES ($1, 'US', 0.75)")
            .bind(n)
            .execute(&owner)
            .await
            .expect("seed public number");
    }
    let db = Db::connect(&db_args(pool_size), &owner_url).await.expect("connect as didroute_app and didroute_operator");
    World { owner, db, tenants, public }
}

async fn seed_tenant(owner: &PgPool, k: usize) -> Tenant {
    let t = Tenant {
        id: Uuid::new_v4(),
        alloc: number(k, 1),
        local: number(k, 2),
        reserved: number(k, 3),
        cooldown: number(k, 4),
        pool: number(k, 5),
        pool_range: digits(&number(k, 5)),
        idempotency_key: format!("idem-key-of-tenant-{k}"),
    };
    let mut tx = owner.begin().await.unwrap();
    let statements: Vec<(&str, Vec<String>)> = vec![
        ("INSERT INTO tenants (id, name) VALUES ($1::uuid, $2)", vec![t.id.to_string(), format!("tenant-{k}")]),
        (
            "INSERT INTO api_keys (id, tenant_id, key_hash, key_prefix) VALUES ($1::uuid, $2::uuid, sha256($3::bytea), $4)",
            vec![Uuid::new_v4().to_string(), t.id.to_string(), format!("key-of-tenant-{k}"), format!("drk_{k:04}")],
        ),
        (
            "INSERT INTO numbers (e164, country, monthly_cost, status, tenant_id) VALUES ($1, 'US', 1.25, 'allocated', $2::uuid)",
            vec![t.alloc.clone(), t.id.to_string()],
        ),
        (
            "INSERT INTO numbers (e164, country, carrier_module, status, tenant_id) VALUES ($1, 'US', 'local', 'allocated', $2::uuid)",
            vec![t.local.clone(), t.id.to_string()],
        ),
        (
            "INSERT INTO numbers (e164, country, status, tenant_id, reserved_until)
             VALUES ($1, 'US', 'reserved', $2::uuid, now() + interval '30 minutes')",
            vec![t.reserved.clone(), t.id.to_string()],
        ),
        (
            "INSERT INTO numbers (e164, country, status, tenant_id, cooldown_until, reclaim_until, release_reason)
             VALUES ($1, 'US', 'cooldown', $2::uuid, now() + interval '1 day', now() + interval '10 days', 'project ended')",
            vec![t.cooldown.clone(), t.id.to_string()],
        ),
        (
            "INSERT INTO numbers (e164, country, carrier_module, pool_tenant_id) VALUES ($1, 'US', 'managed', $2::uuid)",
            vec![t.pool.clone(), t.id.to_string()],
        ),
        (
            "INSERT INTO routes (e164, tenant_id, subsystem, dashboard_id, customer_label, friendly_name)
             VALUES ($1, $2::uuid, 'psap', 'dispatch-east', 'Metro 911', 'Main line')",
            vec![t.alloc.clone(), t.id.to_string()],
        ),
        (
            "INSERT INTO routes (e164, tenant_id, subsystem, dashboard_id, customer_label)
             VALUES ($1, $2::uuid, 'utilities', 'water', 'City Water')",
            vec![t.local.clone(), t.id.to_string()],
        ),
        (
            "INSERT INTO audit_log (e164, tenant_id, actor, action, detail)
             VALUES ($1, $2::uuid, 'tenant:' || $2, 'number.allocate', '{\"subsystem\": \"psap\"}')",
            vec![t.alloc.clone(), t.id.to_string()],
        ),
        (
            "INSERT INTO outbox (tenant_id, e164, version, op, route)
             VALUES ($2::uuid, $1, 1, 'upsert', jsonb_build_object('tenant_id', $2, 'subsystem', 'psap'))",
            vec![t.alloc.clone(), t.id.to_string()],
        ),
        // one number wide, so the ranges of different tenants never overlap
        // (the exclusion constraint would refuse it)
        (
            "INSERT INTO pool_ranges (tenant_id, numbers) VALUES ($1::uuid, int8range($2::int8, $2::int8, '[]'))",
            vec![t.id.to_string(), t.pool_range.to_string()],
        ),
        // a finished request: its answer and the outbox row it wrote
        (
            "INSERT INTO idempotency_keys (tenant_id, key, request_hash, status, response, outbox_ids)
             VALUES ($1::uuid, $2, sha256($2::bytea), 201, jsonb_build_object('numbers', jsonb_build_array($3)),
                     ARRAY(SELECT id FROM outbox WHERE tenant_id = $1::uuid))",
            vec![t.id.to_string(), t.idempotency_key.clone(), t.alloc.clone()],
        ),
    ];
    for (sql, args) in statements {
        let mut q = sqlx::query(sql);
        for a in args {
            q = q.bind(a);
        }
        q.execute(&mut *tx).await.unwrap_or_else(|e| panic!("seed tenant {k}: {sql}: {e}"));
    }
    tx.commit().await.unwrap();
    t
}

// ---------------------------------------------------------------------------
// running statements as the app role

/// The tenant context a transaction on the app pool runs under.
#[derive(Clone, Copy, Debug)]
enum Ctx {
    /// [`Db::tenant_tx`]: the production path.
    Tenant(Uuid),
    /// A plain transaction: the setting is never touched.
    Unset,
    /// `set_config('didroute.tenant_id', <raw>, true)` with an arbitrary value.
    Raw(&'static str),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum End {
    Commit,
    Rollback,
}

async fn begin(db: &Db, ctx: Ctx) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
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
async fn exec(db: &Db, ctx: Ctx, sql: &str, end: End) -> Result<u64, sqlx::Error> {
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
async fn rows(db: &Db, ctx: Ctx, sql: &str) -> Result<Vec<String>, sqlx::Error> {
    let mut tx = begin(db, ctx).await?;
    let res = sqlx::query_scalar::<_, String>(sql).fetch_all(&mut *tx).await;
    tx.rollback().await?;
    res
}

fn sqlstate(e: &sqlx::Error) -> Option<String> {
    e.as_database_error().and_then(|d| d.code()).map(|c| c.into_owned())
}

/// The statement must fail with insufficient_privilege (permission denied or
/// an RLS policy violation). Any other outcome, including a different error
/// (which could hide a vacuous test), fails.
#[track_caller]
fn assert_denied(what: &str, res: Result<u64, sqlx::Error>) -> String {
    match res {
        Err(e) if sqlstate(&e).as_deref() == Some(INSUFFICIENT_PRIVILEGE) => format!("denied: {e}"),
        Err(e) => panic!("{what}: expected permission denied / RLS violation (42501), got another error: {e}"),
        Ok(n) => panic!("{what}: expected permission denied / RLS violation, but it succeeded ({n} row(s))"),
    }
}

/// The statement must change nothing: 0 rows affected, or denied (42501).
#[track_caller]
fn assert_no_effect(what: &str, res: Result<u64, sqlx::Error>) -> String {
    match res {
        Ok(0) => "0 rows".to_owned(),
        Ok(n) => panic!("{what}: expected to affect 0 rows, but it affected {n}"),
        Err(e) if sqlstate(&e).as_deref() == Some(INSUFFICIENT_PRIVILEGE) => format!("denied: {e}"),
        Err(e) => panic!("{what}: expected 0 rows or permission denied, got another error: {e}"),
    }
}

/// Outcome of a positive control (the owning tenant running the statement).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    Rows(u64),
    /// the app role lacks the privilege altogether (for every tenant)
    Denied,
}

#[track_caller]
fn assert_expect(what: &str, expect: Expect, res: Result<u64, sqlx::Error>) {
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
async fn assert_app_role(db: &Db) {
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

/// Every row of every tenant table, as text, seen by the superuser owner (no RLS).
async fn snapshot(owner: &PgPool) -> BTreeMap<&'static str, String> {
    let mut snap = BTreeMap::new();
    for t in TENANT_TABLES {
        let text: String = sqlx::query_scalar(&format!(
            "SELECT coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '') FROM {t} t"
        ))
        .fetch_one(owner)
        .await
        .unwrap();
        snap.insert(t, text);
    }
    snap
}

#[track_caller]
fn assert_unchanged(before: &BTreeMap<&'static str, String>, after: &BTreeMap<&'static str, String>, what: &str) {
    for t in TENANT_TABLES {
        assert_eq!(before[t], after[t], "{what}: table {t} changed");
    }
}

// ---------------------------------------------------------------------------
// the per-table statement catalogue

/// For one tenant table, one statement of each kind aimed at `target`'s rows,
/// with what `target` itself gets when it runs them (the positive control).
struct Probe {
    table: &'static str,
    /// one text column (the row as text), `target`'s rows only
    select: String,
    select_rows: usize,
    /// a valid row that claims `target`
    insert: String,
    insert_expect: Expect,
    update: String,
    update_expect: Expect,
    delete: String,
    delete_expect: Expect,
}

/// [`probe_list`] with each expectation reconciled with the app role's
/// actual table privileges: an operation the role has no grant for is denied
/// to every tenant (the schema may take a grant away, e.g. INSERT on outbox
/// once events are only written through a function); an operation the probe
/// expects to be denied but that is granted is a new privilege to review.
async fn probes(w: &World, a: &Tenant) -> Vec<Probe> {
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

fn probe_list(a: &Tenant) -> Vec<Probe> {
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
    ]
}

/// Sanity and positive controls for [`probes`]: the operator role sees A's
/// rows, and A itself (app role, A's context) sees them and gets the expected
/// outcome from every statement (rolled back).
async fn run_controls(w: &World, a: &Tenant) {
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
async fn attack(w: &World, a: &Tenant, ctx: Ctx, label: &str) -> Vec<String> {
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

// ---------------------------------------------------------------------------
// R1

/// Objects in this database owned by `role`, as readable strings.
async fn owned_by(owner: &PgPool, role: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT format('relation %s (relkind %s)', c.oid::regclass, c.relkind)
           FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname = $1
         UNION ALL
         SELECT format('function %s', p.oid::regprocedure)
           FROM pg_proc p JOIN pg_roles r ON r.oid = p.proowner WHERE r.rolname = $1
         UNION ALL
         SELECT format('schema %s', n.nspname)
           FROM pg_namespace n JOIN pg_roles r ON r.oid = n.nspowner WHERE r.rolname = $1
         UNION ALL
         SELECT format('type %s', t.oid::regtype)
           FROM pg_type t JOIN pg_roles r ON r.oid = t.typowner WHERE r.rolname = $1
         UNION ALL
         SELECT format('database %s', d.datname)
           FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba
          WHERE r.rolname = $1 AND d.datname = current_database()
         ORDER BY 1",
    )
    .bind(role)
    .fetch_all(owner)
    .await
    .unwrap()
}

/// R1: the service roles are neither superuser nor BYPASSRLS, own nothing,
/// cannot become anything else, and every tenant table has RLS enabled and
/// forced; the app role cannot switch RLS off.
#[tokio::test]
async fn rls_r1_service_roles_are_unprivileged_and_every_tenant_table_forces_rls() {
    let w = world(2, 1).await;
    assert_app_role(&w.db).await;
    let table_owner: String = sqlx::query_scalar("SELECT tableowner::text FROM pg_tables WHERE tablename = 'numbers'")
        .fetch_one(&w.owner)
        .await
        .unwrap();
    assert!(
        ![APP_ROLE, OPERATOR_ROLE].contains(&table_owner.as_str()),
        "numbers is owned by a service role: {table_owner}"
    );
    // the ownership query finds what the real owner owns (so an empty answer means something)
    let owners_objects = owned_by(&w.owner, &table_owner).await;
    for t in TENANT_TABLES {
        assert!(
            owners_objects.iter().any(|o| o.starts_with(&format!("relation {t} "))),
            "sanity: the ownership query lists {t} for its owner {table_owner}: {owners_objects:?}"
        );
    }

    for role in [APP_ROLE, OPERATOR_ROLE] {
        let (sup, bypass, createrole, createdb, replication): (bool, bool, bool, bool, bool) = sqlx::query_as(
            "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb, rolreplication FROM pg_roles WHERE rolname = $1",
        )
        .bind(role)
        .fetch_optional(&w.owner)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("role {role} exists"));
        assert!(!sup, "{role} must not be superuser");
        assert!(!bypass, "{role} must not have BYPASSRLS");
        assert!(
            !createrole && !createdb && !replication,
            "{role}: createrole={createrole} createdb={createdb} replication={replication}"
        );

        let mut owned = owned_by(&w.owner, role).await;
        owned.retain(|o| !REVIEWED_SECURITY_DEFINER.iter().any(|(f, r)| *r == role && *o == format!("function {f}")));
        assert!(owned.is_empty(), "{role} must own nothing in the database, owns: {owned:?}");

        // not a member (directly or not) of a role that bypasses RLS, owns
        // tables here, or is the other service role
        let lifts: Vec<String> = sqlx::query_scalar(
            "SELECT b.rolname::text FROM pg_roles b
             WHERE b.rolname <> $1 AND pg_has_role($1::name, b.oid, 'MEMBER')
               AND (b.rolsuper OR b.rolbypassrls OR b.rolname IN ('didroute_app', 'didroute_operator')
                    OR EXISTS (SELECT 1 FROM pg_class c WHERE c.relowner = b.oid))",
        )
        .bind(role)
        .fetch_all(&w.owner)
        .await
        .unwrap();
        assert!(lifts.is_empty(), "{role} is a member of privileged roles: {lifts:?}");

        let (schema_create, db_create): (bool, bool) = sqlx::query_as(
            "SELECT has_schema_privilege($1::name, 'public', 'CREATE'), has_database_privilege($1::name, current_database(), 'CREATE')",
        )
        .bind(role)
        .fetch_one(&w.owner)
        .await
        .unwrap();
        assert!(!schema_create, "{role} must not be able to create objects in schema public (it would own them)");
        assert!(!db_create, "{role} must not be able to create schemas in the database");
    }

    // RLS flags. The tables with RLS (from pg_class) are exactly every table
    // in the schema except the known non-tenant ones (so a table added
    // without RLS fails here), they include every one of TENANT_TABLES, and every
    // one of them also forces it.
    let flags: Vec<(String, bool, bool)> = sqlx::query_as(
        "SELECT c.relname::text, c.relrowsecurity, c.relforcerowsecurity
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1",
    )
    .fetch_all(&w.owner)
    .await
    .unwrap();
    let with_rls: BTreeSet<&str> = flags.iter().filter(|f| f.1).map(|f| f.0.as_str()).collect();
    let tenant_data: BTreeSet<&str> =
        flags.iter().map(|f| f.0.as_str()).filter(|t| !NON_TENANT_TABLES.contains(t)).collect();
    assert_eq!(with_rls, tenant_data, "tables with row-level security = every table except {NON_TENANT_TABLES:?}");
    for t in TENANT_TABLES {
        assert!(with_rls.contains(t), "tenant table {t} has no row-level security (tables with RLS: {with_rls:?})");
    }
    for (t, rls, force) in &flags {
        if *rls {
            assert!(force, "{t} has RLS enabled but not FORCE ROW LEVEL SECURITY");
        }
    }

    // privileges that sidestep RLS altogether: TRUNCATE ignores policies,
    // TRIGGER and REFERENCES are not the app's business; no access at all to
    // non-tenant tables
    for role in [APP_ROLE, OPERATOR_ROLE] {
        let grants: Vec<String> = sqlx::query_scalar(
            "SELECT format('%s on %s', p, c.relname)
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,
                  unnest(ARRAY['TRUNCATE', 'TRIGGER', 'REFERENCES']) AS p
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND has_table_privilege($1::name, c.oid, p)
             UNION ALL
             SELECT format('%s on %s', p, c.relname)
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,
                  unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE']) AS p
             WHERE n.nspname = 'public' AND c.relname = ANY($2) AND has_table_privilege($1::name, c.oid, p)",
        )
        .bind(role)
        .bind(NON_TENANT_TABLES.to_vec())
        .fetch_all(&w.owner)
        .await
        .unwrap();
        assert!(grants.is_empty(), "{role} holds privileges that bypass or sit outside RLS: {grants:?}");
    }

    // policies: only for the service roles, never a blanket `true` for the app
    /// A policy row: table, name, roles, USING and WITH CHECK expressions.
    type Policy = (String, String, Vec<String>, Option<String>, Option<String>);
    let policies: Vec<Policy> = sqlx::query_as(
        "SELECT tablename::text, policyname::text, roles::text[], qual, with_check
         FROM pg_policies WHERE schemaname = 'public' ORDER BY 1, 2",
    )
    .fetch_all(&w.owner)
    .await
    .unwrap();
    for t in &with_rls {
        for role in [APP_ROLE, OPERATOR_ROLE] {
            assert!(
                policies.iter().any(|p| p.0 == *t && p.2.iter().any(|r| r == role)),
                "{t} has no policy for {role}: {policies:?}"
            );
        }
    }
    for (t, name, roles, qual, check) in &policies {
        assert!(
            roles.iter().all(|r| r == APP_ROLE || r == OPERATOR_ROLE),
            "policy {name} on {t} applies to {roles:?}; policies must name the service roles"
        );
        if roles.iter().any(|r| r == APP_ROLE) {
            for expr in [qual, check].into_iter().flatten() {
                assert!(
                    expr.contains("didroute_current_tenant()"),
                    "app policy {name} on {t} does not depend on the tenant: {expr}"
                );
            }
        }
    }
    // SECURITY DEFINER functions: reviewed, owned by a role subject to RLS,
    // search_path pinned, not executable by PUBLIC
    let secdef: Vec<(String, String, bool, String, bool)> = sqlx::query_as(
        "SELECT p.oid::regprocedure::text, r.rolname::text, r.rolsuper OR r.rolbypassrls,
                coalesce(array_to_string(p.proconfig, ','), ''),
                p.proacl IS NULL OR EXISTS (SELECT 1 FROM aclexplode(p.proacl) a
                                            WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE')
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_roles r ON r.oid = p.proowner
         WHERE n.nspname = 'public' AND p.prosecdef ORDER BY 1",
    )
    .fetch_all(&w.owner)
    .await
    .unwrap();
    for (f, owner, privileged, config, public_exec) in &secdef {
        assert!(
            REVIEWED_SECURITY_DEFINER.contains(&(f.as_str(), owner.as_str())),
            "SECURITY DEFINER function {f} (owner {owner}) runs with its owner's rights and is not reviewed"
        );
        assert!(!privileged, "SECURITY DEFINER function {f} is owned by {owner}, which bypasses RLS");
        assert!(
            config.contains("search_path="),
            "SECURITY DEFINER function {f} must pin its search_path (has {config:?})"
        );
        assert!(!public_exec, "SECURITY DEFINER function {f} must not be executable by PUBLIC");
    }

    // setval on a sequence could move number versions backwards, making
    // consumers drop every later event as stale: no service role may update one
    for role in [APP_ROLE, OPERATOR_ROLE] {
        let seqs: Vec<String> = sqlx::query_scalar(
            "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public'
               AND CASE WHEN c.relkind = 'S' THEN has_sequence_privilege($1::name, c.oid, 'UPDATE') ELSE false END",
        )
        .bind(role)
        .fetch_all(&w.owner)
        .await
        .unwrap();
        assert!(seqs.is_empty(), "{role} may setval sequences: {seqs:?}");
    }

    // as the app role: every way out of RLS is refused
    let escapes = [
        format!("SET ROLE {table_owner}"),
        format!("SET ROLE {OPERATOR_ROLE}"),
        format!("SET SESSION AUTHORIZATION {table_owner}"),
        format!("ALTER ROLE {APP_ROLE} BYPASSRLS"),
        "DROP POLICY tenant_read ON numbers".to_owned(),
        "CREATE POLICY open ON numbers TO didroute_app USING (true)".to_owned(),
        "CREATE TABLE public.didroute_app_owned (i int)".to_owned(),
        "TRUNCATE numbers CASCADE".to_owned(),
    ]
    .into_iter()
    .chain(with_rls.iter().flat_map(|t| {
        [format!("ALTER TABLE {t} DISABLE ROW LEVEL SECURITY"), format!("ALTER TABLE {t} NO FORCE ROW LEVEL SECURITY")]
    }));
    for sql in escapes {
        let res = sqlx::query(&sql).execute(&w.db.app).await.map(|r| r.rows_affected());
        assert_denied(&format!("as {APP_ROLE}: {sql}"), res);
    }
    // `row_security = off` does not switch policies off for this role: a
    // query they would filter errors instead
    let a = w.tenants[0].id;
    let mut tx = w.db.tenant_tx(a).await.unwrap();
    sqlx::query("SET LOCAL row_security = off").execute(&mut *tx).await.unwrap();
    let res = sqlx::query("SELECT e164 FROM numbers").fetch_all(&mut *tx).await.map(|r| r.len() as u64);
    assert_denied("as didroute_app with row_security = off: SELECT FROM numbers", res);
    drop(tx);

    // still the app role, still fully RLS-bound, and nothing changed
    assert_app_role(&w.db).await;
    let still: Vec<(String, bool, bool)> = sqlx::query_as(
        "SELECT relname::text, relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = ANY($1) ORDER BY 1",
    )
    .bind(with_rls.iter().copied().collect::<Vec<&str>>())
    .fetch_all(&w.owner)
    .await
    .unwrap();
    assert!(
        still.len() == with_rls.len() && still.iter().all(|r| r.1 && r.2),
        "RLS flags after the attempts: {still:?}"
    );
}

// ---------------------------------------------------------------------------
// fail closed

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

// ---------------------------------------------------------------------------
// R2

/// What one app-role transaction sees.
#[derive(Debug)]
struct Seen {
    pid: i32,
    numbers: Vec<Uuid>,
    routes: Vec<Uuid>,
    audit: Vec<Uuid>,
    tenants: Vec<Uuid>,
    /// tenants seen in pool_ranges
    pools: Vec<Uuid>,
    /// tenants seen in idempotency_keys
    idempotency: Vec<Uuid>,
    held: i64,
    current: Option<Uuid>,
}

async fn look(conn: &mut PgConnection, rng: Option<&mut StdRng>) -> Seen {
    let mut yields =
        rng.map(|r| (0..5).map(|_| r.gen_range(0..3u8)).collect::<Vec<_>>()).unwrap_or_default().into_iter();
    let mut pause = || {
        let n = yields.next().unwrap_or(0);
        async move {
            for _ in 0..n {
                tokio::task::yield_now().await;
            }
        }
    };
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(&mut *conn).await.unwrap();
    pause().await;
    let numbers: Vec<Uuid> =
        sqlx::query_scalar("SELECT DISTINCT tenant_id FROM numbers WHERE tenant_id IS NOT NULL ORDER BY 1")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
    pause().await;
    let routes: Vec<Uuid> =
        sqlx::query_scalar("SELECT DISTINCT tenant_id FROM routes ORDER BY 1").fetch_all(&mut *conn).await.unwrap();
    pause().await;
    let audit: Vec<Uuid> =
        sqlx::query_scalar("SELECT DISTINCT tenant_id FROM audit_log WHERE tenant_id IS NOT NULL ORDER BY 1")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
    pause().await;
    let (tenants, pools, idempotency, held, current): (Vec<Uuid>, Vec<Uuid>, Vec<Uuid>, i64, Option<Uuid>) =
        sqlx::query_as(
            "SELECT ARRAY(SELECT id FROM tenants ORDER BY 1),
                    ARRAY(SELECT DISTINCT tenant_id FROM pool_ranges ORDER BY 1),
                    ARRAY(SELECT DISTINCT tenant_id FROM idempotency_keys ORDER BY 1),
                    (SELECT count(*) FROM numbers WHERE tenant_id IS NOT NULL OR pool_tenant_id IS NOT NULL),
                    didroute_current_tenant()",
        )
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    Seen { pid, numbers, routes, audit, tenants, pools, idempotency, held, current }
}

#[track_caller]
fn assert_sees_only(seen: &Seen, tenant: Option<Uuid>, what: &str) {
    let expect: Vec<Uuid> = tenant.into_iter().collect();
    assert_eq!(seen.current, tenant, "{what}: current tenant");
    assert_eq!(seen.numbers, expect, "{what}: tenants seen in numbers");
    assert_eq!(seen.routes, expect, "{what}: tenants seen in routes");
    assert_eq!(seen.audit, expect, "{what}: tenants seen in audit_log");
    assert_eq!(seen.tenants, expect, "{what}: tenant rows seen");
    assert_eq!(seen.pools, expect, "{what}: tenants seen in pool_ranges");
    assert_eq!(seen.idempotency, expect, "{what}: tenants seen in idempotency_keys");
    // 4 held + 1 private pool: the context is neither leaked nor lost
    assert_eq!(seen.held, if tenant.is_some() { 5 } else { 0 }, "{what}: held or private-pool numbers seen");
}

/// R2, pool of 1: the only connection goes from tenant A to no tenant to
/// tenant B (and back, through commit, rollback, drop and a failed statement)
/// without ever carrying a context over.
#[tokio::test]
async fn rls_r2_pool_of_one_never_carries_tenant_context() {
    let w = world(1, 2).await;
    assert_app_role(&w.db).await;
    let (a, b) = (w.tenants[0].id, w.tenants[1].id);
    let mut pids = BTreeSet::new();

    let mut tx = w.db.tenant_tx(a).await.unwrap();
    let seen = look(&mut tx, None).await;
    assert_sees_only(&seen, Some(a), "tenant A");
    pids.insert(seen.pid);
    tx.commit().await.unwrap();

    let mut tx = w.db.app.begin().await.unwrap();
    let seen = look(&mut tx, None).await;
    assert_sees_only(&seen, None, "no tenant, right after A committed");
    pids.insert(seen.pid);
    tx.commit().await.unwrap();

    let mut tx = w.db.tenant_tx(b).await.unwrap();
    let seen = look(&mut tx, None).await;
    assert_sees_only(&seen, Some(b), "tenant B, after A and no tenant");
    pids.insert(seen.pid);
    tx.commit().await.unwrap();

    // every way a tenant transaction can end, each followed by a tenant-less one
    for ending in ["commit", "rollback", "drop", "error then drop", "error then rollback"] {
        let mut tx = w.db.tenant_tx(a).await.unwrap();
        let seen = look(&mut tx, None).await;
        assert_sees_only(&seen, Some(a), &format!("tenant A before {ending}"));
        pids.insert(seen.pid);
        if ending.starts_with("error") {
            assert!(sqlx::query("SELECT 1 / 0").execute(&mut *tx).await.is_err());
        }
        match ending {
            "commit" => tx.commit().await.unwrap(),
            "rollback" | "error then rollback" => tx.rollback().await.unwrap(),
            _ => drop(tx),
        }
        let mut tx = w.db.app.begin().await.unwrap();
        let seen = look(&mut tx, None).await;
        assert_sees_only(&seen, None, &format!("no tenant, after A's transaction ended by {ending}"));
        pids.insert(seen.pid);
        drop(tx);
        // and an autocommit statement on the pool
        let held: i64 = sqlx::query_scalar("SELECT count(*) FROM numbers WHERE tenant_id IS NOT NULL")
            .fetch_one(&w.db.app)
            .await
            .unwrap();
        assert_eq!(held, 0, "autocommit without a tenant after A's transaction ended by {ending}");
        let mut tx = w.db.tenant_tx(b).await.unwrap();
        let seen = look(&mut tx, None).await;
        assert_sees_only(&seen, Some(b), &format!("tenant B after A's transaction ended by {ending}"));
        pids.insert(seen.pid);
        tx.commit().await.unwrap();
    }
    assert_eq!(pids.len(), 1, "every transaction ran on the pool's single connection: {pids:?}");
}

#[derive(Clone, Copy, Debug)]
enum Ending {
    Commit,
    Rollback,
    Drop,
    ErrorThenDrop,
}

/// R2, 1,000 random interleavings on a pool of 4: concurrent transactions for
/// random tenants (or none), ended in random ways, each sees only its own
/// tenant's rows (and all of them), or none without a tenant.
#[tokio::test]
async fn rls_r2_random_interleavings_on_pool_of_four() {
    const TASKS: usize = 1000;
    const TENANTS: usize = 5;
    let w = world(4, TENANTS).await;
    assert_app_role(&w.db).await;
    let ids: Arc<Vec<Uuid>> = Arc::new(w.tenants.iter().map(|t| t.id).collect());
    let mut rng = StdRng::seed_from_u64(0xD1D_2026);
    let limit = Arc::new(tokio::sync::Semaphore::new(24));
    let mut tasks = tokio::task::JoinSet::new();
    let start = std::time::Instant::now();
    for n in 0..TASKS {
        // one tenant-less transaction in five
        let ctx: Option<usize> = if rng.gen_ratio(1, 5) { None } else { Some(rng.gen_range(0..TENANTS)) };
        let ending = [Ending::Commit, Ending::Rollback, Ending::Drop, Ending::ErrorThenDrop][rng.gen_range(0..4)];
        let mut task_rng = StdRng::seed_from_u64(rng.gen());
        let (db, ids, limit) = (w.db.clone(), ids.clone(), limit.clone());
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await.unwrap();
            for _ in 0..task_rng.gen_range(0..3) {
                tokio::task::yield_now().await;
            }
            let tenant = ctx.map(|i| ids[i]);
            let mut tx = match tenant {
                Some(t) => db.tenant_tx(t).await.unwrap(),
                None => db.app.begin().await.unwrap(),
            };
            let seen = look(&mut tx, Some(&mut task_rng)).await;
            assert_sees_only(&seen, tenant, &format!("task {n} ({ctx:?}, {ending:?})"));
            match ending {
                Ending::Commit => tx.commit().await.unwrap(),
                Ending::Rollback => tx.rollback().await.unwrap(),
                Ending::Drop => drop(tx),
                Ending::ErrorThenDrop => {
                    assert!(sqlx::query("SELECT 1 / 0").execute(&mut *tx).await.is_err());
                    drop(tx);
                }
            }
            (seen.pid, ctx)
        });
    }
    let mut per_connection: HashMap<i32, BTreeSet<Option<usize>>> = HashMap::new();
    let mut done = 0;
    while let Some(res) = tasks.join_next().await {
        match res {
            Ok((pid, ctx)) => {
                per_connection.entry(pid).or_default().insert(ctx);
                done += 1;
            }
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => panic!("task failed: {e}"),
        }
    }
    assert_eq!(done, TASKS);
    assert!(per_connection.len() <= 4, "more backends than the pool allows: {}", per_connection.len());
    // the test exercised what it claims: connections were reused across contexts
    for (pid, ctxs) in &per_connection {
        assert!(ctxs.len() >= 2, "connection {pid} only ever served {ctxs:?}: no context switch was exercised");
    }
    assert!(
        per_connection.values().any(|c| c.contains(&None)),
        "no tenant-less transaction ran on a reused connection"
    );
    eprintln!(
        "R2: {TASKS} interleaved transactions over {} connections in {:?}",
        per_connection.len(),
        start.elapsed()
    );
}

// ---------------------------------------------------------------------------
// R3

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
        "{} ON CONFLICT (tenant_id, key) DO UPDATE SET status = 200, response = '{{\"pwned\": true}}'",
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
    let blanket: [(&str, &str, u64, &str, u64); 8] = [
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

// ---------------------------------------------------------------------------
// known gaps: what the design promises and the current policies do not do

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
