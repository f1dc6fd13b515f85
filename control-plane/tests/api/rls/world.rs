//! The seeded world: tenants holding every kind of row, public inventory,
//! and the owner's (superuser, no RLS) snapshots of it.

use std::collections::BTreeMap;

use didroute_control_plane::db::Db;
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{db_args, fresh_database};

/// The tables holding tenant data that the matrices below exercise; these
/// (and every other table but the non-tenant ones `roles` lists) must have forced RLS.
pub(super) const TENANT_TABLES: [&str; 10] = [
    "api_keys",
    "audit_log",
    "idempotency_keys",
    "numbers",
    "outbox",
    "pool_ranges",
    "routes",
    "tenants",
    "usage_daily",
    "usage_hourly",
];

/// One seeded tenant: every kind of row a tenant can hold.
#[derive(Clone, Debug)]
pub(super) struct Tenant {
    pub(super) id: Uuid,
    /// allocated, inventory module, with a `psap` route
    pub(super) alloc: String,
    /// allocated, `local` module (the tenant may delete it), with a route
    pub(super) local: String,
    /// reserved, no route yet
    pub(super) reserved: String,
    /// released, in cooldown (still held by the tenant)
    pub(super) cooldown: String,
    /// available, in this tenant's private pool
    pub(super) pool: String,
    /// the tenant's one private-pool range: exactly `pool`
    pub(super) pool_range: i64,
    /// the tenant's one stored Idempotency-Key
    pub(super) idempotency_key: String,
}

impl Tenant {
    /// Every number this tenant holds (tenant_id set).
    pub(super) fn held(&self) -> [&str; 4] {
        [&self.alloc, &self.local, &self.reserved, &self.cooldown]
    }
}

pub(super) struct World {
    /// superuser, bypasses RLS: seeding and snapshots only
    pub(super) owner: PgPool,
    /// `app` (didroute_app) for every assertion, `operator` for sanity checks
    pub(super) db: Db,
    pub(super) tenants: Vec<Tenant>,
    /// public inventory: available, no pool
    pub(super) public: Vec<String>,
}

pub(super) fn number(k: usize, i: usize) -> String {
    format!("+1555{k:02}{i:05}")
}

/// The digits of an E.164 number as an integer: what `pool_ranges` bounds are.
pub(super) fn digits(e164: &str) -> i64 {
    e164.trim_start_matches('+').parse().expect("E.164 digits")
}

/// A fresh database with `tenant_count` fully seeded tenants and two public
/// numbers, and a [`Db`] whose pools have `pool_size` connections each.
pub(super) async fn world(pool_size: u32, tenant_count: usize) -> World {
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

pub(super) async fn seed_tenant(owner: &PgPool, k: usize) -> Tenant {
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
        // usage of its allocated number: an hour and a rolled-up day
        (
            "INSERT INTO usage_hourly (tenant_id, e164, hour, lookups)
             VALUES ($1::uuid, $2, date_trunc('hour', now(), 'UTC'), 5)",
            vec![t.id.to_string(), t.alloc.clone()],
        ),
        (
            "INSERT INTO usage_daily (tenant_id, e164, day, lookups)
             VALUES ($1::uuid, $2, date_trunc('day', now() - interval '40 days', 'UTC'), 50)",
            vec![t.id.to_string(), t.alloc.clone()],
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

/// Every row of every tenant table, as text, seen by the superuser owner (no RLS).
pub(super) async fn snapshot(owner: &PgPool) -> BTreeMap<&'static str, String> {
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
pub(super) fn assert_unchanged(
    before: &BTreeMap<&'static str, String>,
    after: &BTreeMap<&'static str, String>,
    what: &str,
) {
    for t in TENANT_TABLES {
        assert_eq!(before[t], after[t], "{what}: table {t} changed");
    }
}
