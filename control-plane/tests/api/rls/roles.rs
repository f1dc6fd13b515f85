//! R1: the service roles are unprivileged, own nothing, and every tenant
//! table forces RLS under policies that depend on the tenant.

use std::collections::BTreeSet;

use didroute_control_plane::db::{APP_ROLE, OPERATOR_ROLE};
use sqlx::PgPool;

use super::as_app::{assert_app_role, assert_denied};
use super::world::{world, TENANT_TABLES};

/// Tables in `public` that are not tenant data (and that the app role must not touch).
const NON_TENANT_TABLES: [&str; 1] = ["_sqlx_migrations"];
/// Tables with row-level security that only the operator uses (no tenant
/// owns a row): the app role has no privilege and no policy on them.
const OPERATOR_ONLY_TABLES: [&str; 10] = [
    "carrier_jobs",
    "carrier_order_attempts",
    "carrier_orders",
    "carrier_orphans",
    "didroute_lineage",
    "feed_tokens",
    "job_leases",
    "job_runs",
    "reconciliations",
    "usage_batches",
];
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
    let app_on_operator_tables: Vec<String> = sqlx::query_scalar(
        "SELECT format('%s on %s', p, c.relname)
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,
              unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE']) AS p
         WHERE n.nspname = 'public' AND c.relname = ANY($2) AND has_table_privilege($1::name, c.oid, p)",
    )
    .bind(APP_ROLE)
    .bind(OPERATOR_ONLY_TABLES.to_vec())
    .fetch_all(&w.owner)
    .await
    .unwrap();
    assert!(app_on_operator_tables.is_empty(), "the app role reaches operator-only tables: {app_on_operator_tables:?}");

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
            if role == APP_ROLE && OPERATOR_ONLY_TABLES.contains(t) {
                assert!(
                    !policies.iter().any(|p| p.0 == *t && p.2.iter().any(|r| r == role)),
                    "{t} is operator-only but has a policy for {role}"
                );
                continue;
            }
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
