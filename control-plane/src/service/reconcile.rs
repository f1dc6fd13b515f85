//! Reconciliation: each carrier's list of owned numbers (paged) against the
//! inventory numbers it provides (`provider` = the carrier's name, carrier
//! module `inventory` or `managed`).
//!
//! - A number gone or disconnected at the carrier (absent from the list, or
//!   listed as deleted or purchase-failed) becomes `provisioning_status:
//!   purchase_failed` (the schema's failed state) and `disabled`: its route
//!   is withdrawn in the same transaction, with an audit row and a delete
//!   event, so lookup nodes stop routing it. Pending numbers are left to
//!   their order's job: a carrier may not list a number it is still buying.
//! - A pending number the carrier lists as active becomes active.
//! - Numbers the carrier lists that the inventory does not hold are counted
//!   as orphans.
//!
//! Runs every `DIDROUTE_RECONCILE_INTERVAL_S` and when asked
//! (`POST /v1/reconciliations` writes a request the runner picks up), one
//! run at a time across instances (a transaction-level advisory lock held
//! for the run: a runner that dies releases it). Reports are stored in
//! `reconciliations`.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use didroute_shared::problem::ProblemType;
use didroute_shared::wire::{CarrierReconciliation, OrphanCost, ReconciliationAccepted, ReconciliationView};
use didroute_shared::E164;
use sqlx::Row;
use uuid::Uuid;

use super::idempotency::{self, Answer, Key};
use crate::carriers::{Carrier, CarrierError, NumberStatus, OwnedNumber, PageRequest, SearchQuery};
use crate::error::{ApiError, ApiResult};
use crate::lease::Lease;
use crate::outbox::{self, Change};
use crate::state::AppState;

/// The advisory lock one reconciliation run holds.
const LOCK: i64 = 7_046_332;
/// Numbers changed per transaction.
const BATCH: usize = 1000;
/// Numbers of each kind a report lists by name.
const LISTED: usize = 100;
/// Owned numbers asked per page (Telnyx's largest page).
const PAGE: u32 = 250;

/// `POST /v1/reconciliations`: a request the runner starts within one job interval.
pub async fn request(state: &AppState, key: Option<&Key>) -> ApiResult<Answer<ReconciliationAccepted>> {
    let mut tx = state.db.operator.begin().await?;
    if let Some(first) = idempotency::repeat_stored(&mut tx, None, key).await? {
        return Ok(first);
    }
    let id: i64 = sqlx::query_scalar("INSERT INTO reconciliations (trigger) VALUES ('request') RETURNING id")
        .fetch_one(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO audit_log (actor, action, detail) VALUES ('operator', 'reconciliation.request', $1)")
        .bind(serde_json::json!({ "reconciliation_id": id }))
        .execute(&mut *tx)
        .await?;
    let answer = ReconciliationAccepted { reconciliation_id: id, status: "requested".into() };
    idempotency::keep(&mut tx, None, key, 202, &answer, None).await?;
    tx.commit().await?;
    Ok(Answer::Fresh(answer))
}

const TS: &str = r#"'YYYY-MM-DD"T"HH24:MI:SS"Z"'"#;

/// `GET /v1/reconciliations/latest`: the newest run, requested, running or ended.
pub async fn latest(state: &AppState) -> ApiResult<ReconciliationView> {
    let sql = format!(
        "SELECT id, status, trigger, report,
                to_char(requested_at AT TIME ZONE 'UTC', {TS}) AS requested_at,
                to_char(started_at AT TIME ZONE 'UTC', {TS}) AS started_at,
                to_char(finished_at AT TIME ZONE 'UTC', {TS}) AS finished_at
         FROM reconciliations ORDER BY id DESC LIMIT 1"
    );
    let row = sqlx::query(&sql)
        .fetch_optional(&state.db.operator)
        .await?
        .ok_or_else(|| ApiError::new(ProblemType::NotFound, "no reconciliation has run yet"))?;
    let report: Option<serde_json::Value> = row.get("report");
    Ok(ReconciliationView {
        reconciliation_id: row.get("id"),
        status: row.get("status"),
        trigger: row.get("trigger"),
        requested_at: row.get("requested_at"),
        started_at: row.get("started_at"),
        finished_at: row.get("finished_at"),
        carriers: report.and_then(|r| serde_json::from_value(r).ok()).unwrap_or_default(),
    })
}

/// The job lease the instances' reconciliation loops compete for.
pub const LEASE: &str = "reconcile";

/// Looks every `tick` for a requested run, or a scheduled one due after
/// `every`, while this instance (`holder`) holds the reconciliation lease,
/// until the task is dropped.
pub async fn run_forever(state: AppState, tick: Duration, every: Option<Duration>, holder: String) {
    if state.carriers.is_empty() {
        // nothing to compare with; requests are answered by an instance with carriers
        return;
    }
    let lease = Lease::new(state.db.operator.clone(), LEASE, holder, Lease::ttl_for(tick));
    let mut timer = tokio::time::interval(tick);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        timer.tick().await;
        let run = match lease.begin().await {
            Ok(Some(run)) => run,
            Ok(None) => {
                state.metrics.lease_held(LEASE, false);
                continue;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot take the reconciliation lease; retrying next tick");
                continue;
            }
        };
        state.metrics.lease_held(LEASE, true);
        match run_due(&state, every, Some(&lease)).await {
            Ok(None) => {}
            Ok(Some(_)) => {
                if let Err(e) = lease.finish(run, true).await {
                    tracing::warn!(error = %e, "cannot record the reconciliation run");
                }
            }
            Err(e) => {
                let _ = lease.finish(run, false).await;
                tracing::warn!(error = %e, "reconciliation failed; retrying next tick");
            }
        }
    }
}

/// Runs one reconciliation when one is requested or due and no other
/// instance is running one; returns its id. Under `lease`, every change
/// transaction is fenced by it (renewed between batches), so a run that
/// lost its lease changes nothing more.
pub async fn run_due(state: &AppState, every: Option<Duration>, lease: Option<&Lease>) -> anyhow::Result<Option<i64>> {
    if state.carriers.is_empty() {
        return Ok(None);
    }
    // one run at a time even without a lease (tests, a lease that expired
    // mid-run): held until the run ends, released if the runner dies
    let mut lock = state.db.operator.begin().await?;
    let held: bool =
        sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)").bind(LOCK).fetch_one(&mut *lock).await?;
    if !held {
        return Ok(None);
    }
    let requested: Option<i64> =
        sqlx::query_scalar("SELECT id FROM reconciliations WHERE status = 'requested' ORDER BY id LIMIT 1")
            .fetch_optional(&mut *lock)
            .await?;
    let id = match (requested, every) {
        (Some(id), _) => id,
        (None, None) => return Ok(None),
        (None, Some(every)) => {
            let due: bool = sqlx::query_scalar(
                "SELECT coalesce(max(started_at) <= now() - make_interval(secs => $1), true)
                 FROM reconciliations WHERE trigger = 'schedule'",
            )
            .bind(every.as_secs_f64())
            .fetch_one(&mut *lock)
            .await?;
            if !due {
                return Ok(None);
            }
            sqlx::query_scalar("INSERT INTO reconciliations (trigger) VALUES ('schedule') RETURNING id")
                .fetch_one(&state.db.operator)
                .await?
        }
    };
    sqlx::query("UPDATE reconciliations SET status = 'running', started_at = now() WHERE id = $1")
        .bind(id)
        .execute(&state.db.operator)
        .await?;
    let mut reports = Vec::new();
    for carrier in state.carriers.iter() {
        let report = match reconcile_carrier(state, carrier.as_ref(), lease).await {
            Ok(r) => r,
            Err(e) => CarrierReconciliation {
                carrier: carrier.name().to_owned(),
                error: Some(e.to_string()),
                ..CarrierReconciliation::default()
            },
        };
        tracing::info!(
            reconciliation = id,
            carrier = %report.carrier,
            owned_at_carrier = report.owned_at_carrier,
            checked = report.checked,
            gone = report.gone,
            activated = report.activated,
            orphans = report.orphans,
            error = report.error.as_deref().unwrap_or(""),
            "carrier reconciled"
        );
        if report.gone > 0 {
            tracing::warn!(carrier = %report.carrier, gone = report.gone, numbers = ?report.gone_numbers,
                "numbers gone at the carrier: disabled and their routes withdrawn");
        }
        state.metrics.reconciled(&report);
        reports.push(report);
    }
    let status = if reports.iter().all(|r| r.error.is_some()) { "failed" } else { "finished" };
    sqlx::query("UPDATE reconciliations SET status = $2, finished_at = now(), report = $3 WHERE id = $1")
        .bind(id)
        .bind(status)
        .bind(serde_json::to_value(&reports)?)
        .execute(&state.db.operator)
        .await?;
    lock.commit().await?;
    Ok(Some(id))
}

/// Every number `carrier`'s account lists, with what it says of it. Under
/// `lease`, renewed a page at a time: a long listing must not outlive it.
/// A listing shorter than the total the carrier announced is an error, not
/// a list of gone numbers (pages shift when numbers go during the listing;
/// an empty page can be a carrier's hiccup).
async fn owned(carrier: &dyn Carrier, lease: Option<&Lease>) -> anyhow::Result<HashMap<String, OwnedNumber>> {
    let mut owned = HashMap::new();
    let mut page = 1;
    loop {
        if let Some(lease) = lease {
            anyhow::ensure!(
                lease.begin().await?.is_some(),
                "another instance took the reconciliation lease over; this run stops"
            );
        }
        let p = carrier.owned_numbers(PageRequest { page, size: PAGE }).await?;
        let last = p.is_last();
        let total = p.total_results;
        owned.extend(p.numbers.into_iter().map(|n| (n.number.clone(), n)));
        if last {
            if let Some(total) = total {
                anyhow::ensure!(
                    owned.len() as u64 >= total,
                    "the carrier listed {} numbers of the {total} it announced; nothing is withdrawn on an incomplete listing",
                    owned.len()
                );
            }
            return Ok(owned);
        }
        page += 1;
    }
}

/// Whether a number missing from the listing is really gone: asked one by
/// one, so a number the listing skipped keeps its route. A number the
/// carrier cannot answer for now is left for the next run.
async fn confirmed_gone(carrier: &dyn Carrier, number: &str) -> bool {
    match carrier.number_status(number).await {
        Err(CarrierError::NotFound(_)) => true,
        Ok(NumberStatus::Deleted | NumberStatus::PurchaseFailed) => true,
        Ok(_) => false,
        Err(error) => {
            tracing::warn!(carrier = carrier.name(), number, %error, "cannot confirm a number gone; left for the next run");
            false
        }
    }
}

async fn reconcile_carrier(
    state: &AppState,
    carrier: &dyn Carrier,
    lease: Option<&Lease>,
) -> anyhow::Result<CarrierReconciliation> {
    let name = carrier.name();
    // read before the listing: a number that enters the inventory while the
    // carrier is listed (an order completing, an import) is not judged on a
    // listing older than it
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT e164, provisioning_status FROM numbers
         WHERE provider = $1 AND carrier_module IN ('inventory', 'managed')",
    )
    .bind(name)
    .fetch_all(&state.db.operator)
    .await?;
    let owned = owned(carrier, lease).await?;
    let mut gone = Vec::new();
    let mut activate = Vec::new();
    let mut ours = HashSet::with_capacity(rows.len());
    for (e164, provisioning) in &rows {
        let at_carrier = owned.get(e164).map(|o| &o.status);
        let missing = matches!(at_carrier, None | Some(NumberStatus::Deleted) | Some(NumberStatus::PurchaseFailed));
        if missing && matches!(provisioning.as_str(), "active" | "unknown" | "port_pending") {
            gone.push(e164.clone());
        } else if at_carrier == Some(&NumberStatus::Active) && provisioning == "pending" {
            activate.push(e164.clone());
        }
        ours.insert(e164.as_str());
    }
    let candidates: Vec<String> = owned
        .iter()
        .filter(|(n, s)| {
            !ours.contains(n.as_str()) && !matches!(s.status, NumberStatus::Deleted | NumberStatus::PurchaseFailed)
        })
        .map(|(n, _)| n.clone())
        .collect();
    let mut orphans = Vec::new();
    for chunk in candidates.chunks(10_000) {
        let held: HashSet<String> = sqlx::query_scalar("SELECT e164 FROM numbers WHERE e164 = ANY($1)")
            .bind(chunk)
            .fetch_all(&state.db.operator)
            .await?
            .into_iter()
            .collect();
        orphans.extend(chunk.iter().filter(|n| !held.contains(*n)).cloned());
    }
    orphans.sort_unstable();
    let mut confirmed = Vec::with_capacity(gone.len());
    for number in gone {
        if confirmed_gone(carrier, &number).await {
            confirmed.push(number);
        }
    }
    // routes first: orphan bookkeeping (carrier prices into the database)
    // must not be able to keep a gone number routing
    let mut gone_done = Vec::new();
    for chunk in confirmed.chunks(BATCH) {
        gone_done.extend(withdraw(state, name, chunk, lease).await?);
    }
    let mut activated = Vec::new();
    for chunk in activate.chunks(BATCH) {
        activated.extend(activate_numbers(state, name, chunk, lease).await?);
    }
    let cost = record_orphans(state, carrier, &owned, &orphans).await?;
    gone_done.sort_unstable();
    activated.sort_unstable();
    Ok(CarrierReconciliation {
        carrier: name.to_owned(),
        owned_at_carrier: owned.len() as u64,
        checked: rows.len() as u64,
        gone: gone_done.len() as u64,
        activated: activated.len() as u64,
        orphans: orphans.len() as u64,
        orphans_monthly_cost: cost,
        gone_numbers: gone_done.into_iter().take(LISTED).collect(),
        activated_numbers: activated.into_iter().take(LISTED).collect(),
        orphan_numbers: orphans.into_iter().take(LISTED).collect(),
        error: None,
    })
}

/// A change transaction, fenced by `lease` (renewed first: a long run must
/// not outlive it); fails when another instance took the lease over.
async fn fenced(state: &AppState, lease: Option<&Lease>) -> anyhow::Result<sqlx::Transaction<'static, sqlx::Postgres>> {
    let mut tx = state.db.operator.begin().await?;
    if let Some(lease) = lease {
        anyhow::ensure!(
            lease.begin().await?.is_some() && lease.fence(&mut tx).await?,
            "another instance took the reconciliation lease over; this run stops"
        );
    }
    Ok(tx)
}

/// Numbers gone at the carrier: failed and disabled, routes withdrawn, one
/// transaction with their audit and outbox rows. Rows whose state changed
/// since they were read (re-checked under their lock) are left alone.
async fn withdraw(
    state: &AppState,
    carrier: &str,
    numbers: &[String],
    lease: Option<&Lease>,
) -> anyhow::Result<Vec<String>> {
    let mut tx = fenced(state, lease).await?;
    let locked = sqlx::query(
        "SELECT e164, status, tenant_id FROM numbers
         WHERE e164 = ANY($1) AND provider = $2 AND provisioning_status IN ('active', 'unknown', 'port_pending')
         ORDER BY e164 FOR UPDATE",
    )
    .bind(numbers)
    .bind(carrier)
    .fetch_all(&mut *tx)
    .await?;
    let which: Vec<String> = locked.iter().map(|r| r.get("e164")).collect();
    sqlx::query("DELETE FROM routes WHERE e164 = ANY($1)").bind(&which).execute(&mut *tx).await?;
    sqlx::query(
        "UPDATE numbers SET provisioning_status = 'purchase_failed', status = 'disabled', tenant_id = NULL,
                reserved_until = NULL, cooldown_until = NULL, reclaim_until = NULL
         WHERE e164 = ANY($1)",
    )
    .bind(&which)
    .execute(&mut *tx)
    .await?;
    let changes: Vec<Change> = locked
        .iter()
        .filter_map(|r| {
            let e164: String = r.get("e164");
            Some(Change {
                number: E164::parse(&e164).ok()?,
                tenant: r.get::<Option<Uuid>, _>("tenant_id"),
                detail: serde_json::json!({
                    "carrier": carrier, "from_status": r.get::<String, _>("status"),
                    "to_status": "disabled", "provisioning_status": "purchase_failed",
                    "reason": "gone or disconnected at the carrier",
                }),
            })
        })
        .collect();
    let id = outbox::record(&mut tx, "reconciliation", "carrier.gone", &changes).await?;
    tx.commit().await?;
    if let Some(id) = id {
        state.advance_head(outbox::sequence(&state.db.operator, id).await?);
    }
    Ok(which)
}

/// Pending numbers the carrier reports active: active.
async fn activate_numbers(
    state: &AppState,
    carrier: &str,
    numbers: &[String],
    lease: Option<&Lease>,
) -> anyhow::Result<Vec<String>> {
    let mut tx = fenced(state, lease).await?;
    let done: Vec<String> = sqlx::query_scalar(
        "UPDATE numbers SET provisioning_status = 'active'
         WHERE e164 = ANY($1) AND provider = $2 AND provisioning_status = 'pending' RETURNING e164",
    )
    .bind(numbers)
    .bind(carrier)
    .fetch_all(&mut *tx)
    .await?;
    let changes: Vec<Change> = done
        .iter()
        .filter_map(|n| E164::parse(n).ok())
        .map(|number| Change {
            number,
            tenant: None,
            detail: serde_json::json!({ "carrier": carrier, "provisioning_status": "active" }),
        })
        .collect();
    let id = outbox::record(&mut tx, "reconciliation", "carrier.active", &changes).await?;
    tx.commit().await?;
    if let Some(id) = id {
        state.advance_head(outbox::sequence(&state.db.operator, id).await?);
    }
    Ok(done)
}

/// An orphan's country and number type, which its price depends on.
type Kind = (Option<String>, Option<&'static str>);
/// A monthly price and its currency, as the carrier writes them.
type MonthlyPrice = (String, String);

/// Replaces `carrier`'s orphans with those this run found, each priced at
/// the carrier's current monthly price for its country and type (one search
/// per kind: carriers do not price numbers already owned). Returns what they
/// cost a month per currency.
async fn record_orphans(
    state: &AppState,
    carrier: &dyn Carrier,
    owned: &HashMap<String, OwnedNumber>,
    orphans: &[String],
) -> anyhow::Result<Vec<OrphanCost>> {
    let mut prices: HashMap<Kind, Option<MonthlyPrice>> = HashMap::new();
    let (mut numbers, mut countries, mut types, mut statuses, mut costs, mut currencies) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for n in orphans {
        let Some(o) = owned.get(n) else { continue };
        let kind = (o.country.clone(), o.number_type.map(|t| t.as_str()));
        if !prices.contains_key(&kind) {
            let price = match &o.country {
                Some(country) => {
                    let q = SearchQuery {
                        country: country.clone(),
                        number_type: o.number_type,
                        limit: 1,
                        ..SearchQuery::default()
                    };
                    carrier.search(&q).await.ok().and_then(|found| {
                        let first = found.into_iter().next()?;
                        Some((first.monthly_cost?.to_string(), first.currency?))
                    })
                }
                None => None,
            };
            prices.insert(kind.clone(), price);
        }
        let price = prices.get(&kind).cloned().flatten();
        numbers.push(n.clone());
        countries.push(o.country.clone());
        types.push(kind.1.map(str::to_owned));
        statuses.push(
            serde_json::to_value(&o.status)?.as_str().map(str::to_owned).unwrap_or_else(|| format!("{:?}", o.status)),
        );
        costs.push(price.as_ref().map(|p| p.0.clone()));
        currencies.push(price.map(|p| p.1));
    }
    let mut tx = state.db.operator.begin().await?;
    sqlx::query("DELETE FROM carrier_orphans WHERE carrier = $1").bind(carrier.name()).execute(&mut *tx).await?;
    sqlx::query(
        "INSERT INTO carrier_orphans (carrier, e164, country, number_type, carrier_status, monthly_cost, currency)
         SELECT $1, e, c, t, s, m::numeric, cur
         FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) AS x(e, c, t, s, m, cur)",
    )
    .bind(carrier.name())
    .bind(&numbers)
    .bind(&countries)
    .bind(&types)
    .bind(&statuses)
    .bind(&costs)
    .bind(&currencies)
    .execute(&mut *tx)
    .await?;
    let totals: Vec<(String, String)> = sqlx::query_as(
        "SELECT currency, sum(monthly_cost)::text FROM carrier_orphans
         WHERE carrier = $1 AND currency IS NOT NULL GROUP BY currency ORDER BY currency",
    )
    .bind(carrier.name())
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(totals
        .into_iter()
        .map(|(currency, monthly_cost)| OrphanCost {
            currency: currency.trim().to_owned(),
            monthly_cost: super::orphans::decimal(&monthly_cost),
        })
        .collect())
}
