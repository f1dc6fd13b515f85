//! Cluster-wide job leases: the lifecycle jobs run on one instance at a
//! time, a dead holder's lease is taken over, and work under a lost lease
//! stops (fencing).

use std::time::Duration;

use didroute_control_plane::lease::Lease;
use didroute_control_plane::service::lifecycle;

use crate::helpers::{eventually, spawn_app};

async fn runs_by(app: &didroute_test_support::TestApp) -> Vec<(String, i64)> {
    sqlx::query_as("SELECT holder, count(*) FROM job_runs WHERE job = 'lifecycle' GROUP BY holder ORDER BY holder")
        .fetch_all(&app.state.db.operator)
        .await
        .unwrap()
}

async fn overlapping_runs(app: &didroute_test_support::TestApp) -> i64 {
    // two runs of the job whose [started, finished] intervals intersect
    sqlx::query_scalar(
        "SELECT count(*) FROM job_runs a JOIN job_runs b
           ON a.job = b.job AND a.id < b.id
          AND tstzrange(a.started_at, a.finished_at, '[]') && tstzrange(b.started_at, b.finished_at, '[]')",
    )
    .fetch_one(&app.state.db.operator)
    .await
    .unwrap()
}

#[tokio::test]
async fn lifecycle_runs_on_one_instance_and_moves_when_it_dies() {
    let app = spawn_app().await;
    let every = Duration::from_millis(100);
    let first =
        tokio::spawn(lifecycle::run_forever(app.state.db.clone(), app.state.metrics.clone(), every, "a".into()));
    eventually("instance a holds the lease and runs", || async { !runs_by(&app).await.is_empty() }).await;
    let second =
        tokio::spawn(lifecycle::run_forever(app.state.db.clone(), app.state.metrics.clone(), every, "b".into()));
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let runs = runs_by(&app).await;
    assert_eq!(runs.len(), 1, "only one holder ran while both were alive: {runs:?}");
    assert_eq!(runs[0].0, "a");
    assert!(runs[0].1 >= 5, "a kept running every tick: {runs:?}");

    // a dies without giving the lease up: b takes over once it expires
    first.abort();
    eventually("instance b takes the lease over", || async { runs_by(&app).await.iter().any(|(h, _)| h == "b") }).await;
    let holder: String = sqlx::query_scalar("SELECT holder FROM job_leases WHERE job = 'lifecycle'")
        .fetch_one(&app.state.db.operator)
        .await
        .unwrap();
    assert_eq!(holder, "b");
    second.abort();
    assert_eq!(overlapping_runs(&app).await, 0, "runs of two holders never overlap");
}

#[tokio::test]
async fn a_lease_taken_over_fences_its_old_holder() {
    let app = spawn_app().await;
    let pool = app.state.db.operator.clone();
    let ttl = Duration::from_secs(30);
    let a = Lease::new(pool.clone(), "fence-test", "a".into(), ttl);
    let b = Lease::new(pool.clone(), "fence-test", "b".into(), ttl);
    let run = a.begin().await.unwrap().expect("a free lease is taken");
    assert!(b.begin().await.unwrap().is_none(), "a live lease is not taken over");
    assert!(a.begin().await.unwrap().is_some(), "the holder renews its own lease");

    // a stalls past its lease; b takes over; a's next transaction must find
    // it gone and do nothing
    sqlx::query("UPDATE job_leases SET expires_at = now() - interval '1 second' WHERE job = 'fence-test'")
        .execute(&pool)
        .await
        .unwrap();
    assert!(b.begin().await.unwrap().is_some(), "an expired lease is taken over");
    let mut tx = pool.begin().await.unwrap();
    assert!(!a.fence(&mut tx).await.unwrap(), "the old holder is fenced off");
    tx.rollback().await.unwrap();
    a.finish(run, false).await.unwrap();

    // while b works under its fence, a takeover waits for b's transaction
    let mut tx = pool.begin().await.unwrap();
    assert!(b.fence(&mut tx).await.unwrap());
    let takeover = tokio::spawn({
        let pool = pool.clone();
        async move {
            sqlx::query("UPDATE job_leases SET holder = 'c' WHERE job = 'fence-test'").execute(&pool).await.unwrap();
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!takeover.is_finished(), "a takeover waits for the fenced transaction");
    tx.commit().await.unwrap();
    takeover.await.unwrap();
    let mut tx = pool.begin().await.unwrap();
    assert!(!b.fence(&mut tx).await.unwrap(), "after the takeover b is fenced off");
    tx.rollback().await.unwrap();
    sqlx::query("UPDATE job_leases SET holder = 'b' WHERE job = 'fence-test'").execute(&pool).await.unwrap();
    b.release().await.unwrap();
    let left: i64 =
        sqlx::query_scalar("SELECT count(*) FROM job_leases WHERE job = 'fence-test'").fetch_one(&pool).await.unwrap();
    assert_eq!(left, 0, "a released lease is gone at once");
}
