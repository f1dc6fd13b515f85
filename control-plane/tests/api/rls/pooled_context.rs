//! R2: a pooled connection never carries a tenant context from one
//! transaction to the next.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::PgConnection;
use uuid::Uuid;

use super::as_app::assert_app_role;
use super::world::world;

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
