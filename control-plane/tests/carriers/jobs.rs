//! Carrier jobs: the lifecycle job removes done jobs 7 days after they
//! finished, keeps recent ones and dead ones (an operator has yet to look at
//! those), and the scrape's job-metrics read uses the partial index on
//! unfinished jobs; old orders and reports go too. The worker's placing
//! marker, its polls of a pending order, a lost criteria order.

use std::time::Duration;

use didroute_control_plane::config::Settings;
use didroute_control_plane::service::{carrier_jobs, lifecycle};
use didroute_test_support::{spawn_app, spawn_app_with};
use serde_json::json;

use crate::orders::{order, order_reaches, order_view, with_sim};
use crate::sim::Sim;

/// The interval the tests run jobs with.
const TICK: Duration = Duration::from_millis(100);

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

/// A worker whose database session died while its order call was in
/// flight left a placing marker: the next worker waits the quiet period
/// out instead of placing the order a second time, then places it once.
#[tokio::test]
async fn a_fresh_placing_marker_holds_off_a_second_placement() {
    let sim = Sim::start();
    // no background worker: the test runs the jobs one at a time
    let app = spawn_app_with(Settings { carrier_job_interval: None, ..with_sim(&sim) }).await;
    let db = &app.state.db.operator;
    let id = order(&app, json!({ "carrier": "sim", "numbers": ["+15552000150"] })).await;
    sqlx::query("INSERT INTO carrier_order_attempts (order_id, placed_at) VALUES ($1::uuid, now())")
        .bind(&id)
        .execute(db)
        .await
        .unwrap();
    assert!(carrier_jobs::run_one(&app.state, TICK).await.unwrap(), "the job was due");
    assert_eq!(sim.state().await["counters"]["orders_placed"], 0, "placed while another call may land");
    assert_eq!(order_view(&app, &id).await["status"], "pending");

    // past the quiet period, with nothing at the carrier under our
    // reference, the order is placed, once, and the marker goes with it
    sqlx::query("UPDATE carrier_order_attempts SET placed_at = now() - make_interval(secs => $1)")
        .bind(carrier_jobs::PLACING_QUIET.as_secs_f64() + 1.0)
        .execute(db)
        .await
        .unwrap();
    sqlx::query("UPDATE carrier_jobs SET next_attempt_at = now()").execute(db).await.unwrap();
    assert!(carrier_jobs::run_one(&app.state, TICK).await.unwrap());
    assert_eq!(sim.state().await["counters"]["orders_placed"], 1);
    let markers: i64 = sqlx::query_scalar("SELECT count(*) FROM carrier_order_attempts").fetch_one(db).await.unwrap();
    assert_eq!(markers, 0, "the placement's commit removes its marker");
}

/// An order pending at the carrier is polled less often as it ages: one
/// interval at first, at most a minute apart once it is old.
#[tokio::test]
async fn polls_of_a_pending_order_thin_out_with_its_age() {
    let sim = Sim::start();
    let app = spawn_app_with(Settings { carrier_job_interval: None, ..with_sim(&sim) }).await;
    let db = &app.state.db.operator;
    sim.admin("faults", json!({ "order_delay_ms": 600_000 })).await;
    let id = order(&app, json!({ "carrier": "sim", "numbers": ["+15552000160"] })).await;
    let wait = || async {
        sqlx::query_scalar::<_, f64>(
            "SELECT extract(epoch FROM next_attempt_at - now())::float8 FROM carrier_jobs WHERE order_id = $1::uuid",
        )
        .bind(&id)
        .fetch_one(db)
        .await
        .unwrap()
    };
    assert!(carrier_jobs::run_one(&app.state, TICK).await.unwrap());
    assert_eq!(order_view(&app, &id).await["status"], "placed");
    let fresh = wait().await;
    assert!(fresh <= TICK.as_secs_f64() + 0.5, "a fresh order is polled after one interval, not {fresh} s");

    sqlx::query("UPDATE carrier_jobs SET created_at = now() - interval '1 hour', next_attempt_at = now()")
        .execute(db)
        .await
        .unwrap();
    assert!(carrier_jobs::run_one(&app.state, TICK).await.unwrap());
    let old = wait().await;
    let cap = carrier_jobs::MAX_POLL.as_secs_f64();
    assert!(old > cap - 5.0 && old <= cap + 0.5, "an hour-old order is polled every {cap} s, not {old} s");
}

/// A criteria order the carrier lost after it was placed is placed again
/// with the numbers it chose the first time, which are in the inventory as
/// pending: new ones would leave those pending for ever.
#[tokio::test]
async fn a_lost_criteria_order_is_placed_again_with_its_numbers() {
    // the carrier keeps no state: restarted, it has forgotten the order
    let sim = Sim::start();
    let addr = sim.addr.to_string();
    let app = spawn_app_with(with_sim(&sim)).await;
    sim.admin("faults", json!({ "order_delay_ms": 600_000 })).await;
    let id =
        order(&app, json!({ "carrier": "sim", "criteria": { "country": "US", "area_code": "555" }, "quantity": 2 }))
            .await;
    let placed = order_reaches(&app, &id, &["placed"], Duration::from_secs(20)).await;
    let chosen: Vec<String> =
        placed["numbers"].as_array().unwrap().iter().map(|n| n["number"].as_str().unwrap().to_owned()).collect();
    assert_eq!(chosen.len(), 2, "{placed}");
    drop(sim);
    let sim = Sim::start_at(&addr);
    let v = order_reaches(&app, &id, &["completed", "failed"], Duration::from_secs(30)).await;
    assert_eq!(v["status"], "completed", "{v}");
    let mut again: Vec<String> =
        v["numbers"].as_array().unwrap().iter().map(|n| n["number"].as_str().unwrap().to_owned()).collect();
    again.sort();
    let mut chosen = chosen;
    chosen.sort();
    assert_eq!(again, chosen, "the same numbers were ordered again");
    assert_eq!(sim.state().await["counters"]["orders_placed"], 1);
    let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM numbers WHERE provisioning_status = 'pending'")
        .fetch_one(&app.state.db.operator)
        .await
        .unwrap();
    assert_eq!(pending, 0, "no number is left pending");
}

/// Ended orders go 90 days after they ended unless a job still points at
/// them; reconciliation reports go after 30 days, except the latest;
/// placing markers of orders no longer being placed go.
#[tokio::test]
async fn old_orders_and_reports_are_removed_by_the_lifecycle_job() {
    let app = spawn_app().await;
    let db = &app.state.db.operator;
    sqlx::query(
        "INSERT INTO carrier_orders (id, carrier, carrier_module, status, completed_at) VALUES
           ('00000000-0000-4000-8000-000000000001', 'sim', 'inventory', 'completed', now() - interval '100 days'),
           ('00000000-0000-4000-8000-000000000002', 'sim', 'inventory', 'failed', now() - interval '100 days'),
           ('00000000-0000-4000-8000-000000000003', 'sim', 'inventory', 'failed', now() - interval '10 days'),
           ('00000000-0000-4000-8000-000000000004', 'sim', 'inventory', 'placed', NULL)",
    )
    .execute(db)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO carrier_jobs (kind, carrier, order_id, state) VALUES
           ('order', 'sim', '00000000-0000-4000-8000-000000000002', 'dead')",
    )
    .execute(db)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO carrier_order_attempts (order_id, placed_at) VALUES
           ('00000000-0000-4000-8000-000000000003', now()), ('00000000-0000-4000-8000-000000000004', now())",
    )
    .execute(db)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO reconciliations (id, status, trigger, finished_at) VALUES
           (1, 'finished', 'schedule', now() - interval '60 days'),
           (2, 'failed', 'schedule', now() - interval '50 days'),
           (3, 'finished', 'schedule', now() - interval '40 days')",
    )
    .execute(db)
    .await
    .unwrap();
    let report = lifecycle::run_once(&app.state.db).await.unwrap();
    // order 1, the marker of ended order 3, reports 1 and 2
    assert_eq!(report.carrier_history_expired, 4, "{report:?}");
    let orders: Vec<String> =
        sqlx::query_scalar("SELECT id::text FROM carrier_orders ORDER BY id").fetch_all(db).await.unwrap();
    assert_eq!(
        orders,
        [
            "00000000-0000-4000-8000-000000000002",
            "00000000-0000-4000-8000-000000000003",
            "00000000-0000-4000-8000-000000000004"
        ],
        "a dead job keeps its order; a recent one stays"
    );
    let markers: Vec<String> =
        sqlx::query_scalar("SELECT order_id::text FROM carrier_order_attempts").fetch_all(db).await.unwrap();
    assert_eq!(markers, ["00000000-0000-4000-8000-000000000004"]);
    let reports: Vec<i64> = sqlx::query_scalar("SELECT id FROM reconciliations").fetch_all(db).await.unwrap();
    assert_eq!(reports, [3], "the latest report stays however old");
}
