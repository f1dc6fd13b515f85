//! The carrier job worker: the only code that changes anything at a carrier.
//!
//! Jobs are rows of `carrier_jobs`, written by a request in the same
//! transaction as its state change (an order and its pending numbers, a
//! hard delete). A worker claims one due job with `FOR UPDATE SKIP LOCKED`,
//! calls the carrier while holding it, and commits the outcome (numbers
//! active or failed, the order's state, the job's next attempt) in that same
//! transaction. A worker that dies mid-call holds nothing: its connection
//! closes, the row lock goes, and the next worker takes the job up.
//!
//! Every instance runs a worker and needs no job lease: `SKIP LOCKED` hands
//! each job to one of them at a time.
//!
//! Placing an order is the one call that is not idempotent, so it is made
//! idempotent here: the order carries our order id as `customer_reference`,
//! and before placing it a worker asks the carrier for orders with that
//! reference. An earlier attempt whose answer (or whose commit) was lost is
//! found and followed instead of being placed twice. Should the earlier
//! attempt's call still be in flight (its database session died, not its
//! request), the reference finds nothing yet: so a worker commits a placing
//! marker before it calls, and one that finds a fresh marker waits
//! [`PLACING_QUIET`] before placing.

use std::collections::HashMap;
use std::time::Duration;

use didroute_shared::wire::OrderCriteria;
use didroute_shared::{Country, E164};
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use super::orders::{insert_pending, query_of, Incoming};
use crate::carriers::{Carrier, CarrierError, Order, OrderRequest, OrderStatus, SearchQuery};
use crate::outbox::{self, Change};
use crate::state::AppState;

/// Longest wait between two attempts of a failing job.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Longest wait between two polls of an order pending at its carrier.
pub const MAX_POLL: Duration = Duration::from_secs(60);

/// Failed attempts after which a job is given up (dead, kept with its last
/// error for the operator): at the capped backoff, about a day and a half.
pub const MAX_ATTEMPTS: i32 = 500;

/// What became of one attempt at a job.
#[derive(Debug)]
enum Outcome {
    /// Nothing more to do.
    Done,
    /// Ended without success; kept for the operator with its error.
    Dead(String),
    /// Not finished (an order still pending at the carrier): look again
    /// after one interval, no failure counted.
    Wait,
    /// The carrier failed; try again after a backoff.
    Retry { error: String, at_least: Option<Duration> },
}

impl Outcome {
    fn retry(e: &CarrierError) -> Self {
        let at_least = match e {
            CarrierError::RateLimited { retry_after } => *retry_after,
            CarrierError::CircuitOpen { retry_in, .. } => Some(*retry_in),
            _ => None,
        };
        Outcome::Retry { error: e.to_string(), at_least }
    }
}

/// The wait before the next attempt after `attempts` failures: doubling from
/// `base`, capped, jittered so instances do not retry in step.
fn backoff(base: Duration, attempts: i32, at_least: Option<Duration>) -> Duration {
    let exp = base.saturating_mul(1u32 << attempts.clamp(0, 16)).min(MAX_BACKOFF);
    let jittered = exp.mul_f64(rand::Rng::gen_range(&mut rand::thread_rng(), 0.5..=1.0));
    jittered.max(at_least.unwrap_or_default())
}

/// Runs due jobs every `interval` until the task is dropped.
pub async fn run_forever(state: AppState, interval: Duration) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        loop {
            match run_one(&state, interval).await {
                Ok(true) => continue,
                Ok(false) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "carrier job failed; retrying next tick");
                    break;
                }
            }
        }
    }
}

/// Claims one due job, runs it and commits its outcome; false when none is due.
pub async fn run_one(state: &AppState, interval: Duration) -> anyhow::Result<bool> {
    let mut tx = state.db.operator.begin().await?;
    let Some(job) = sqlx::query(
        "SELECT id, kind, carrier, order_id, e164, attempts FROM carrier_jobs
         WHERE state = 'queued' AND next_attempt_at <= now()
         ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED",
    )
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(false);
    };
    let id: i64 = job.get("id");
    let kind: String = job.get("kind");
    let name: String = job.get("carrier");
    let attempts: i32 = job.get("attempts");
    let carrier = super::orders::carrier(state, &name).cloned();
    let mut outbox_id = None;
    let outcome = match (&carrier, kind.as_str()) {
        (None, _) => {
            Outcome::Retry { error: format!("carrier {name} is not configured in this instance"), at_least: None }
        }
        (Some(c), "order") => {
            let order: Uuid = job.get("order_id");
            // A step that fails (a database error, a carrier answer that
            // breaks a rule) is undone alone, and the job is retried after a
            // backoff like a carrier failure: left as it was, it would stay
            // first in line and block every other job on every instance.
            let mut step = sqlx::Acquire::begin(&mut *tx).await?;
            match order_step(&mut step, &state.db.operator, c.as_ref(), order).await {
                Ok((outcome, written)) => {
                    step.commit().await?;
                    outbox_id = written;
                    outcome
                }
                Err(error) => {
                    step.rollback().await?;
                    Outcome::Retry { error: format!("{error:#}"), at_least: None }
                }
            }
        }
        (Some(c), _) => {
            let number: String = job.get("e164");
            // A number back in the inventory since the job was written (re-
            // imported, adopted, ordered again) is in use: releasing it at the
            // carrier would cut it off. Locked so it cannot come back while
            // the carrier is called.
            let back: Option<String> = sqlx::query_scalar("SELECT status FROM numbers WHERE e164 = $1 FOR SHARE")
                .bind(&number)
                .fetch_optional(&mut *tx)
                .await?;
            match back {
                Some(status) => Outcome::Dead(format!(
                    "{number} is in the inventory again ({status}); not disconnected at the carrier"
                )),
                None => disconnect_step(c.as_ref(), &number).await,
            }
        }
    };
    let outcome = match outcome {
        Outcome::Retry { error, .. } if attempts + 1 >= MAX_ATTEMPTS => {
            Outcome::Dead(format!("gave up after {MAX_ATTEMPTS} attempts: {error}"))
        }
        other => other,
    };
    match &outcome {
        Outcome::Done => {
            sqlx::query("UPDATE carrier_jobs SET state = 'done', updated_at = now() WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        Outcome::Dead(error) => {
            tracing::warn!(job = id, %kind, carrier = %name, %error, "carrier job gave up");
            sqlx::query("UPDATE carrier_jobs SET state = 'dead', last_error = $2, updated_at = now() WHERE id = $1")
                .bind(id)
                .bind(error)
                .execute(&mut *tx)
                .await?;
        }
        Outcome::Wait => {
            // polls thin out as the order ages: a quarter of its age, from
            // one interval up to MAX_POLL, so a day-long toll-free order is
            // not asked about every few seconds
            sqlx::query(
                "UPDATE carrier_jobs
                 SET next_attempt_at = now() + least(greatest((now() - created_at) / 4,
                                                              make_interval(secs => $2)),
                                                     make_interval(secs => $3)),
                     updated_at = now()
                 WHERE id = $1",
            )
            .bind(id)
            .bind(interval.as_secs_f64())
            .bind(MAX_POLL.as_secs_f64().max(interval.as_secs_f64()))
            .execute(&mut *tx)
            .await?;
        }
        Outcome::Retry { error, at_least } => {
            let wait = backoff(interval, attempts, *at_least);
            tracing::info!(job = id, %kind, carrier = %name, attempts = attempts + 1, ?wait, %error, "carrier job will retry");
            sqlx::query(
                "UPDATE carrier_jobs SET attempts = attempts + 1, last_error = $2,
                        next_attempt_at = now() + make_interval(secs => $3), updated_at = now()
                 WHERE id = $1",
            )
            .bind(id)
            .bind(error)
            .bind(wait.as_secs_f64())
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    if let Some(o) = outbox_id {
        state.advance_head(outbox::sequence(&state.db.operator, o).await?);
    }
    Ok(true)
}

async fn disconnect_step(carrier: &dyn Carrier, number: &str) -> Outcome {
    match carrier.disconnect(number).await {
        // not owned any more: what a disconnect wants
        Ok(()) | Err(CarrierError::NotFound(_)) => {
            tracing::info!(carrier = carrier.name(), number, "number disconnected at the carrier");
            Outcome::Done
        }
        Err(e @ CarrierError::Rejected { .. }) => Outcome::Dead(e.to_string()),
        Err(e) => Outcome::retry(&e),
    }
}

/// One step of an order: place it (once), or follow it to its end.
async fn order_step(
    tx: &mut PgConnection,
    pool: &sqlx::PgPool,
    carrier: &dyn Carrier,
    id: Uuid,
) -> anyhow::Result<(Outcome, Option<i64>)> {
    let row = sqlx::query(
        "SELECT status, carrier_order_id, numbers, criteria, quantity, carrier_module, tenant_id
         FROM carrier_orders WHERE id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    let status: String = row.get("status");
    if status == "completed" || status == "failed" {
        return Ok((Outcome::Done, None));
    }
    let reference = id.to_string();
    let carrier_order: Option<String> = row.get("carrier_order_id");
    let order = match carrier_order {
        Some(carrier_id) => match carrier.order_status(&carrier_id).await {
            Ok(o) => o,
            Err(CarrierError::NotFound(_)) => {
                // the carrier lost the order: forget it, so the next attempt
                // looks it up by reference and places it again if it is gone
                sqlx::query("UPDATE carrier_orders SET carrier_order_id = NULL, updated_at = now() WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                let error = format!("the carrier does not know order {carrier_id} any more");
                return Ok((Outcome::Retry { error, at_least: None }, None));
            }
            Err(e) => return Ok((Outcome::retry(&e), None)),
        },
        None => {
            // an earlier attempt may have reached the carrier and lost its answer
            let earlier = match carrier.find_orders(&reference).await {
                Ok(found) => found.into_iter().next(),
                Err(e) => return Ok((Outcome::retry(&e), None)),
            };
            let mut priced = HashMap::new();
            let placed = match earlier {
                Some(o) => {
                    tracing::info!(order = %id, carrier_order = %o.id, "found the order an earlier attempt placed");
                    o
                }
                None => {
                    // an earlier attempt whose session died may still be in
                    // flight: give it the longest a call can take to land
                    // before this one places the order again
                    if let Some(since) = placing_since(pool, id).await? {
                        if since < PLACING_QUIET {
                            return Ok((Outcome::Wait, None));
                        }
                    }
                    let numbers = match choose(tx, carrier, &row, &mut priced).await? {
                        Ok(n) => n,
                        Err(outcome) => {
                            if let Outcome::Dead(error) = &outcome {
                                return Ok((fail_order(tx, id, error).await?, None));
                            }
                            return Ok((outcome, None));
                        }
                    };
                    let req = OrderRequest { numbers, customer_reference: Some(reference.clone()) };
                    mark_placing(pool, id).await?;
                    match carrier.order(&req).await {
                        Ok(o) => o,
                        Err(e @ (CarrierError::Rejected { .. } | CarrierError::NotFound(_))) => {
                            let named: Vec<String> = row.get("numbers");
                            let error = e.to_string();
                            let written = fail_numbers(tx, id, &named).await?;
                            return Ok((fail_order(tx, id, &error).await?, written));
                        }
                        // maybe placed: the next attempt looks it up first
                        Err(e) => {
                            // an answer, even an error, means the call is over;
                            // a timeout or a broken connection may still land
                            if !matches!(e, CarrierError::Timeout(_) | CarrierError::Transport(_)) {
                                clear_placing(tx, id).await?;
                            }
                            return Ok((Outcome::retry(&e), None));
                        }
                    }
                }
            };
            let written = record_placed(tx, id, &row, &placed, &priced).await?;
            if placed.status == OrderStatus::Pending {
                return Ok((Outcome::Wait, written));
            }
            let (outcome, more) = complete(tx, id, &placed).await?;
            return Ok((outcome, more.or(written)));
        }
    };
    if order.status == OrderStatus::Pending {
        return Ok((Outcome::Wait, None));
    }
    complete(tx, id, &order).await
}

/// How long a placing call may still land after its worker's session died:
/// more than the longest call the default retry policy allows (a test
/// checks it against `RetryPolicy::worst_case`).
pub const PLACING_QUIET: Duration = Duration::from_secs(300);

/// Commits, on a connection of its own, that order `id` is being placed
/// now: it must outlive the job's transaction should that one die.
async fn mark_placing(pool: &sqlx::PgPool, id: Uuid) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO carrier_order_attempts (order_id, placed_at) VALUES ($1, now())
         ON CONFLICT (order_id) DO UPDATE SET placed_at = now()",
    )
    .bind(id)
    .execute(pool)
    .await?;
    Ok(())
}

/// Removes order `id`'s placing marker, with the transaction that records
/// the call's outcome.
async fn clear_placing(tx: &mut PgConnection, id: Uuid) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM carrier_order_attempts WHERE order_id = $1").bind(id).execute(&mut *tx).await?;
    Ok(())
}

/// How long ago an attempt whose outcome never committed started placing
/// order `id`, if one did.
async fn placing_since(pool: &sqlx::PgPool, id: Uuid) -> anyhow::Result<Option<Duration>> {
    let secs: Option<f64> = sqlx::query_scalar(
        "SELECT extract(epoch FROM now() - placed_at)::float8 FROM carrier_order_attempts WHERE order_id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(secs.map(|s| Duration::from_secs_f64(s.max(0.0))))
}

/// The numbers to order: those named, or as many of the carrier's stock
/// matching the criteria as asked for (none already in the inventory).
async fn choose(
    tx: &mut PgConnection,
    carrier: &dyn Carrier,
    row: &sqlx::postgres::PgRow,
    priced: &mut HashMap<String, Incoming>,
) -> anyhow::Result<Result<Vec<String>, Outcome>> {
    let criteria: Option<serde_json::Value> = row.get("criteria");
    let numbers: Vec<String> = row.get("numbers");
    let Some(criteria) = criteria else {
        price_named(tx, carrier, &numbers).await?;
        return Ok(Ok(numbers));
    };
    if !numbers.is_empty() {
        // placed once and lost by the carrier: the numbers it chose then are
        // in the inventory as pending, so they are what is ordered again
        // (new ones would leave those pending for ever)
        return Ok(Ok(numbers));
    }
    let criteria: OrderCriteria = serde_json::from_value(criteria)?;
    let quantity = row.get::<Option<i32>, _>("quantity").unwrap_or(1) as usize;
    // a few more than asked, in case some are in the inventory already
    let query = query_of(&criteria, (quantity as u32 * 2 + 10).min(super::orders::MAX_SEARCH))
        .map_err(|e| anyhow::anyhow!("stored criteria: {e}"))?;
    let found = match carrier.search(&query).await {
        Ok(f) => f,
        Err(e) => return Ok(Err(Outcome::retry(&e))),
    };
    let candidates: Vec<String> = found.iter().map(|n| n.number.clone()).collect();
    let held: Vec<String> = sqlx::query_scalar("SELECT e164 FROM numbers WHERE e164 = ANY($1)")
        .bind(&candidates)
        .fetch_all(&mut *tx)
        .await?;
    let country = Country::parse(&criteria.country).map_err(|e| anyhow::anyhow!("stored criteria: {e}"))?;
    for n in found.into_iter().filter(|n| !held.contains(&n.number)).take(quantity) {
        let Ok(number) = E164::parse(&n.number) else { continue };
        priced.insert(
            n.number.clone(),
            Incoming {
                number,
                country,
                number_type: n.number_type.or(query.number_type).map_or("local", |t| t.as_str()),
                monthly_cost: n.monthly_cost.map(|d| d.to_string()),
                currency: n.currency,
            },
        );
    }
    if priced.len() < quantity {
        return Ok(Err(Outcome::Dead(format!(
            "the carrier has {} numbers matching the criteria that are not in the inventory; {quantity} were asked for",
            priced.len()
        ))));
    }
    Ok(Ok(priced.keys().cloned().collect()))
}

/// Named numbers entered the inventory unpriced (0): each is looked up in
/// the carrier's stock before it is ordered (one search per number, its
/// digits as `contains`) and takes the monthly price found, in the job's
/// transaction with an audit row. A number the search does not show, or a
/// failed search, leaves the price as it was: pricing never holds an order
/// back (the operator can PATCH it).
async fn price_named(tx: &mut PgConnection, carrier: &dyn Carrier, numbers: &[String]) -> anyhow::Result<()> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT e164, country FROM numbers WHERE e164 = ANY($1) AND provisioning_status = 'pending' ORDER BY e164",
    )
    .bind(numbers)
    .fetch_all(&mut *tx)
    .await?;
    let (mut priced, mut costs, mut currencies) = (Vec::new(), Vec::new(), Vec::new());
    for (e164, country) in rows {
        let q = SearchQuery {
            country,
            contains: Some(e164.trim_start_matches('+').to_owned()),
            limit: 1,
            ..SearchQuery::default()
        };
        let Ok(found) = carrier.search(&q).await else { continue };
        let Some(hit) = found.into_iter().find(|n| n.number == e164) else { continue };
        if let (Some(cost), Some(currency)) = (hit.monthly_cost, hit.currency) {
            priced.push(e164);
            costs.push(cost.to_string());
            currencies.push(currency);
        }
    }
    if priced.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE numbers n SET monthly_cost = x.cost::numeric, currency = x.currency
         FROM unnest($1::text[], $2::text[], $3::text[]) AS x(e164, cost, currency)
         WHERE n.e164 = x.e164 AND n.provisioning_status = 'pending'",
    )
    .bind(&priced)
    .bind(&costs)
    .bind(&currencies)
    .execute(&mut *tx)
    .await?;
    // pricing changes no route: audit rows, no outbox event
    sqlx::query(
        "INSERT INTO audit_log (e164, actor, action, detail)
         SELECT e, 'carrier', 'order.priced', jsonb_build_object('monthly_cost', c, 'currency', cur)
         FROM unnest($1::text[], $2::text[], $3::text[]) AS x(e, c, cur)",
    )
    .bind(&priced)
    .bind(&costs)
    .bind(&currencies)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// The carrier took the order: remember its id, and put the numbers of an
/// order by criteria into the inventory as pending.
async fn record_placed(
    tx: &mut PgConnection,
    id: Uuid,
    row: &sqlx::postgres::PgRow,
    placed: &Order,
    priced: &HashMap<String, Incoming>,
) -> anyhow::Result<Option<i64>> {
    let criteria: Option<serde_json::Value> = row.get("criteria");
    // a criteria order placed again (see `choose`) has its numbers already
    let recorded: Vec<String> = row.get("numbers");
    let mut written = None;
    let numbers: Vec<String> = placed.numbers.iter().map(|n| n.number.clone()).collect();
    if let (Some(criteria), true) = (criteria, recorded.is_empty()) {
        let criteria: OrderCriteria = serde_json::from_value(criteria)?;
        let country = Country::parse(&criteria.country).map_err(|e| anyhow::anyhow!("stored criteria: {e}"))?;
        let mut incoming = Vec::new();
        for n in &numbers {
            let number = E164::parse(n).map_err(|e| anyhow::anyhow!("carrier number {n}: {e}"))?;
            incoming.push(match priced.get(n) {
                Some(p) => Incoming {
                    number,
                    country: p.country,
                    number_type: p.number_type,
                    monthly_cost: p.monthly_cost.clone(),
                    currency: p.currency.clone(),
                },
                None => Incoming {
                    number,
                    country,
                    number_type: criteria
                        .number_type
                        .as_deref()
                        .and_then(crate::carriers::NumberType::parse)
                        .map_or("local", |t| t.as_str()),
                    monthly_cost: None,
                    currency: None,
                },
            });
        }
        let carrier: String =
            sqlx::query_scalar("SELECT carrier FROM carrier_orders WHERE id = $1").bind(id).fetch_one(&mut *tx).await?;
        let module: String = row.get("carrier_module");
        let tenant: Option<Uuid> = row.get("tenant_id");
        written = insert_pending(tx, id, &carrier, &module, tenant, &incoming)
            .await
            .map_err(|e| anyhow::anyhow!("recording the numbers of order {id}: {e}"))?;
    }
    sqlx::query(
        "UPDATE carrier_orders SET carrier_order_id = $2, status = 'placed',
                numbers = CASE WHEN criteria IS NULL THEN numbers ELSE $3 END, updated_at = now()
         WHERE id = $1",
    )
    .bind(id)
    .bind(&placed.id)
    .bind(&numbers)
    .execute(&mut *tx)
    .await?;
    // the call's outcome is known and commits with this transaction: a
    // later attempt need not wait for it
    clear_placing(tx, id).await?;
    tracing::info!(order = %id, carrier_order = %placed.id, numbers = numbers.len(), "order placed at the carrier");
    Ok(written)
}

/// The carrier ended the order: each number active or failed.
async fn complete(tx: &mut PgConnection, id: Uuid, order: &Order) -> anyhow::Result<(Outcome, Option<i64>)> {
    let named: Vec<String> =
        sqlx::query_scalar("SELECT numbers FROM carrier_orders WHERE id = $1").bind(id).fetch_one(&mut *tx).await?;
    let succeeded: Vec<String> = order
        .numbers
        .iter()
        .filter(|n| n.status == OrderStatus::Success && named.contains(&n.number))
        .map(|n| n.number.clone())
        .collect();
    let failed: Vec<String> = named.iter().filter(|n| !succeeded.contains(n)).cloned().collect();
    let activated: Vec<String> = sqlx::query_scalar(
        "UPDATE numbers SET provisioning_status = 'active'
         WHERE e164 = ANY($1) AND provisioning_status = 'pending' RETURNING e164",
    )
    .bind(&succeeded)
    .fetch_all(&mut *tx)
    .await?;
    let changes: Vec<Change> = activated
        .iter()
        .filter_map(|n| E164::parse(n).ok())
        .map(|number| Change {
            number,
            tenant: None,
            detail: serde_json::json!({ "order_id": id, "provisioning_status": "active" }),
        })
        .collect();
    let mut written = outbox::record(tx, "carrier", "order.active", &changes).await?;
    if let Some(w) = fail_numbers(tx, id, &failed).await? {
        written = Some(w);
    }
    let status = if failed.is_empty() { "completed" } else { "failed" };
    let error = (!failed.is_empty()).then(|| format!("the carrier did not provide {}", failed.join(", ")));
    sqlx::query(
        "UPDATE carrier_orders SET status = $2, last_error = $3, completed_at = now(), updated_at = now()
         WHERE id = $1",
    )
    .bind(id)
    .bind(status)
    .bind(&error)
    .execute(&mut *tx)
    .await?;
    tracing::info!(order = %id, carrier_order = %order.id, active = activated.len(), failed = failed.len(), "order complete");
    Ok((Outcome::Done, written))
}

/// Pending numbers of an order that will not be provided: `purchase_failed`
/// and disabled (never allocatable; the operator may delete them).
async fn fail_numbers(tx: &mut PgConnection, id: Uuid, numbers: &[String]) -> anyhow::Result<Option<i64>> {
    let failed: Vec<String> = sqlx::query_scalar(
        "UPDATE numbers SET provisioning_status = 'purchase_failed', status = 'disabled'
         WHERE e164 = ANY($1) AND provisioning_status = 'pending' AND status = 'available' RETURNING e164",
    )
    .bind(numbers)
    .fetch_all(&mut *tx)
    .await?;
    let changes: Vec<Change> = failed
        .iter()
        .filter_map(|n| E164::parse(n).ok())
        .map(|number| Change {
            number,
            tenant: None,
            detail: serde_json::json!({ "order_id": id, "provisioning_status": "purchase_failed" }),
        })
        .collect();
    Ok(outbox::record(tx, "carrier", "order.failed", &changes).await?)
}

async fn fail_order(tx: &mut PgConnection, id: Uuid, error: &str) -> anyhow::Result<Outcome> {
    clear_placing(tx, id).await?;
    sqlx::query(
        "UPDATE carrier_orders SET status = 'failed', last_error = $2, completed_at = now(), updated_at = now()
         WHERE id = $1",
    )
    .bind(id)
    .bind(error)
    .execute(&mut *tx)
    .await?;
    tracing::warn!(order = %id, %error, "order failed");
    Ok(Outcome::Dead(error.to_owned()))
}

/// How long a done job is kept after it finished (for `GET /v1/orders/{id}`
/// and an operator's questions); dead jobs are kept until someone acts.
pub const DONE_KEPT: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

/// Removes done jobs finished more than [`DONE_KEPT`] ago, `batch` rows per
/// statement so no delete holds many locks; returns how many went. Run by
/// the lifecycle job under its lease.
pub async fn expire_done(pool: &sqlx::PgPool, batch: i64) -> Result<u64, sqlx::Error> {
    crate::db::delete_in_batches(
        pool,
        "DELETE FROM carrier_jobs WHERE id = ANY (ARRAY(
             SELECT id FROM carrier_jobs
             WHERE state = 'done' AND updated_at < now() - make_interval(secs => $1)
             ORDER BY updated_at LIMIT $2))",
        DONE_KEPT,
        batch,
    )
    .await
}

/// How long an ended order is kept (with its numbers' audit rows, the
/// story outlives it).
pub const ORDERS_KEPT: Duration = Duration::from_secs(90 * 24 * 3600);

/// How long a reconciliation report is kept; the latest always is.
pub const REPORTS_KEPT: Duration = Duration::from_secs(30 * 24 * 3600);

/// Removes orders ended more than [`ORDERS_KEPT`] ago whose job is gone
/// (done jobs go after a week; a dead one keeps its order for the
/// operator), placing markers of orders no longer being placed, and
/// reconciliation reports past [`REPORTS_KEPT`] but the latest. Run by the
/// lifecycle job under its lease; returns how many rows went.
pub async fn expire_history(pool: &sqlx::PgPool, batch: i64) -> Result<u64, sqlx::Error> {
    let orders = crate::db::delete_in_batches(
        pool,
        "DELETE FROM carrier_orders WHERE id = ANY (ARRAY(
             SELECT o.id FROM carrier_orders o
             WHERE o.status IN ('completed', 'failed')
               AND o.completed_at < now() - make_interval(secs => $1)
               -- a job row points at its order
               AND NOT EXISTS (SELECT 1 FROM carrier_jobs j WHERE j.order_id = o.id)
             ORDER BY o.completed_at LIMIT $2))",
        ORDERS_KEPT,
        batch,
    )
    .await?;
    // a marker outlives its order only when the attempt's commit was lost
    let markers = sqlx::query(
        "DELETE FROM carrier_order_attempts a
         WHERE NOT EXISTS (SELECT 1 FROM carrier_orders o WHERE o.id = a.order_id AND o.status IN ('pending', 'placed'))",
    )
    .execute(pool)
    .await?
    .rows_affected();
    let reports = crate::db::delete_in_batches(
        pool,
        "DELETE FROM reconciliations WHERE id = ANY (ARRAY(
             SELECT id FROM reconciliations
             WHERE status IN ('finished', 'failed') AND finished_at < now() - make_interval(secs => $1)
               -- GET /v1/reconciliations/latest always has one to show
               AND id <> (SELECT max(id) FROM reconciliations WHERE status = 'finished')
             ORDER BY finished_at LIMIT $2))",
        REPORTS_KEPT,
        batch,
    )
    .await?;
    Ok(orders + markers + reports)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_placing_call_lands_within_the_quiet_period() {
        assert!(crate::carriers::resilience::RetryPolicy::default().worst_case() < PLACING_QUIET);
    }

    #[test]
    fn backoff_doubles_is_capped_and_honours_the_carrier() {
        let base = Duration::from_millis(100);
        assert!(backoff(base, 0, None) <= base);
        assert!(backoff(base, 3, None) >= Duration::from_millis(400));
        assert!(backoff(base, 40, None) <= MAX_BACKOFF);
        assert!(backoff(base, 0, Some(Duration::from_secs(2))) >= Duration::from_secs(2));
    }
}
