//! carrier_jobs housekeeping: the lifecycle job removes done jobs 7 days
//! after they finished, keeps recent ones and dead ones (an operator has yet
//! to look at those), and the scrape's job-metrics read uses the partial
//! index on unfinished jobs.

use didroute_control_plane::service::lifecycle;
use didroute_test_support::spawn_app;

#[tokio::test]
async fn done_jobs_older_than_seven_days_are_removed_by_the_lifecycle_job() {
    let app = spawn_app().await;
    let db = &app.state.db.operator;
    sqlx::query(
        "INSERT INTO carrier_jobs (kind, carrier, e164, state, updated_at) VALUES
           ('disconnect', 'sim', '+15552000001', 'done', now() - interval '8 days'),
           ('disconnect', 'sim', '+15552000002', 'done', now() - interval '6 days'),
           ('disconnect', 'sim', '+15552000003', 'dead', now() - interval '30 days'),
           ('disconnect', 'sim', '+15552000004', 'queued', now() - interval '30 days')",
    )
    .execute(db)
    .await
    .unwrap();
    let report = lifecycle::run_once(&app.state.db).await.unwrap();
    assert_eq!(report.carrier_jobs_expired, 1, "{report:?}");
    let left: Vec<String> =
        sqlx::query_scalar("SELECT e164 FROM carrier_jobs ORDER BY e164").fetch_all(db).await.unwrap();
    assert_eq!(left, ["+15552000002", "+15552000003", "+15552000004"]);

    // the scrape's read, on a table mostly of done jobs, takes the partial index
    sqlx::query(
        "INSERT INTO carrier_jobs (kind, carrier, e164, state)
         SELECT 'disconnect', 'sim', '+1555' || (3000000 + g)::text, 'done' FROM generate_series(1, 20000) g",
    )
    .execute(db)
    .await
    .unwrap();
    // statistics as autovacuum would gather them (the owner may analyze)
    let owner = sqlx::PgPool::connect(&app.owner_url).await.unwrap();
    sqlx::query("ANALYZE carrier_jobs").execute(&owner).await.unwrap();
    let plan: Vec<String> = sqlx::query_scalar(
        "EXPLAIN SELECT carrier, count(*) FILTER (WHERE state = 'queued'),
                coalesce(extract(epoch FROM now() - min(created_at) FILTER (WHERE state = 'queued')), 0)::float8,
                count(*) FILTER (WHERE state = 'dead')
         FROM carrier_jobs WHERE state <> 'done' GROUP BY carrier",
    )
    .fetch_all(db)
    .await
    .unwrap();
    assert!(plan.iter().any(|l| l.contains("carrier_jobs_unfinished")), "{plan:#?}");
}
