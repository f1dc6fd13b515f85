//! Usage from lookups: lookup nodes' batches stored per tenant in hourly
//! buckets (`usage_hourly`), rolled up to days after [`ROLLUP_AFTER`]
//! (`usage_daily`), and read back per number or as the busiest numbers.
//!
//! Ingestion is telemetry, not a change of any number: it writes no audit
//! row and no outbox event (nothing a lookup node routes by changes). Its
//! record is the batch's row in `usage_batches`, written in the same
//! transaction as the counts: a batch id seen before adds nothing, so a
//! node's retry or a Kafka redelivery never counts twice. A bucket belongs
//! to the tenant that holds the number at ingest (else the tenant whose
//! range covers it); lookups of numbers with neither are not stored, only
//! counted in the batch row (`unattributed`): usage is shown to tenants, and
//! a number between tenants has nobody to show it to.

use std::time::Duration;

use didroute_shared::problem::ProblemType;
use didroute_shared::wire::{
    BucketSize, NumberUsage, TopNumber, UsageBatch, UsageBatchAccepted, UsageBucket, UsageTop, MAX_BATCH_COUNTS,
};
use didroute_shared::E164;
use sqlx::{PgConnection, Row};
use time::OffsetDateTime;
use uuid::Uuid;

use super::idempotency::{self, Answer, Key};
use crate::auth::Principal;
use crate::db::Db;
use crate::error::{ApiError, ApiResult};

/// Hourly buckets older than this become daily ones (the lifecycle job).
pub const ROLLUP_AFTER: Duration = Duration::from_secs(30 * 24 * 3600);
/// Applied batch ids are kept this long; a batch whose window started
/// earlier is refused, since its id may have been forgotten.
pub const BATCH_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);
/// Longest window one batch covers (nodes flush at least hourly and cut at
/// the hour), with a minute of slack for clocks.
const MAX_WINDOW: time::Duration = time::Duration::minutes(61);
/// How far ahead of this clock a window may end.
const CLOCK_SKEW: time::Duration = time::Duration::minutes(5);
/// Largest count of one number in one batch.
const MAX_LOOKUPS: u64 = 1_000_000_000_000;
/// Most buckets one answer holds: 31 days of hours, 400 days.
pub const MAX_HOURS: i64 = 31 * 24;
pub const MAX_DAYS: i64 = 400;
pub const DEFAULT_TOP: i64 = 10;
pub const MAX_TOP: i64 = 1000;

fn bad(detail: impl Into<String>) -> ApiError {
    ApiError::new(ProblemType::InvalidField, detail)
}

fn bad_query(detail: impl Into<String>) -> ApiError {
    ApiError::new(ProblemType::InvalidQuery, detail)
}

fn visible(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= didroute_shared::wire::usage::MAX_BATCH_ID_LEN
        && text.bytes().all(|b| b.is_ascii_graphic())
}

/// The start of the UTC hour `t` falls in.
fn hour_of(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(time::UtcOffset::UTC);
    t - time::Duration::seconds(i64::from(t.minute()) * 60 + i64::from(t.second()))
        - time::Duration::nanoseconds(i64::from(t.nanosecond()))
}

fn check(batch: &UsageBatch, now: OffsetDateTime) -> ApiResult<()> {
    if !visible(&batch.batch_id) {
        return Err(bad("batch_id must be 1 to 200 visible ASCII characters"));
    }
    if !visible(&batch.node_id) {
        return Err(bad("node_id must be 1 to 200 visible ASCII characters"));
    }
    if batch.window_end < batch.window_start {
        return Err(bad("window_end must not be before window_start"));
    }
    if batch.window_end - batch.window_start > MAX_WINDOW {
        return Err(bad("a window covers at most an hour"));
    }
    if batch.window_end > now + CLOCK_SKEW {
        return Err(bad("window_end is in the future"));
    }
    if batch.window_start < now - BATCH_RETENTION {
        return Err(bad("window_start is more than 7 days ago: the batch is too old to be applied exactly once"));
    }
    if batch.counts.len() > MAX_BATCH_COUNTS {
        return Err(bad(format!("counts holds at most {MAX_BATCH_COUNTS} numbers")));
    }
    if let Some(c) = batch.counts.iter().find(|c| c.lookups == 0 || c.lookups > MAX_LOOKUPS) {
        return Err(bad(format!("counts: lookups of {} must be between 1 and {MAX_LOOKUPS}", c.number)));
    }
    if batch.overflow > MAX_LOOKUPS {
        return Err(bad(format!("overflow must be at most {MAX_LOOKUPS}")));
    }
    Ok(())
}

/// Stores `batch` once: its counts into the hour its window starts in, under
/// each number's tenant, with the batch id, in one transaction.
pub async fn ingest(db: &Db, batch: &UsageBatch, key: Option<&Key>) -> ApiResult<Answer<UsageBatchAccepted>> {
    check(batch, OffsetDateTime::now_utc())?;
    let mut tx = db.operator.begin().await?;
    // feed tokens and the operator share the operator's key space
    if let Some(first) = idempotency::repeat_stored(&mut tx, None, key).await? {
        return Ok(first);
    }
    let answer = apply(&mut tx, batch).await?;
    idempotency::keep(&mut tx, None, key, 200, &answer, None).await?;
    tx.commit().await?;
    Ok(Answer::Fresh(answer))
}

async fn apply(tx: &mut PgConnection, batch: &UsageBatch) -> ApiResult<UsageBatchAccepted> {
    // a concurrent apply of the same id waits here on the key, then finds it
    let claimed = sqlx::query(
        "INSERT INTO usage_batches (batch_id, node_id, window_start, window_end, numbers, stored, unattributed, overflow)
         VALUES ($1, $2, $3, $4, $5, 0, 0, $6) ON CONFLICT (batch_id) DO NOTHING",
    )
    .bind(&batch.batch_id)
    .bind(&batch.node_id)
    .bind(batch.window_start)
    .bind(batch.window_end)
    .bind(batch.counts.len() as i32)
    .bind(batch.overflow as i64)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if claimed == 0 {
        return Ok(UsageBatchAccepted { batch_id: batch.batch_id.clone(), applied: false, stored: 0, unattributed: 0 });
    }
    let numbers: Vec<String> = batch.counts.iter().map(|c| c.number.to_string()).collect();
    let lookups: Vec<i64> = batch.counts.iter().map(|c| c.lookups as i64).collect();
    let row = sqlx::query(
        "WITH u AS (
             SELECT e164, sum(lookups)::bigint AS lookups FROM unnest($1::text[], $2::bigint[]) AS u(e164, lookups)
             GROUP BY e164),
         owned AS (
             SELECT u.e164, u.lookups, COALESCE(n.tenant_id,
                 (SELECT r.tenant_id FROM pool_ranges r WHERE r.numbers @> substr(u.e164, 2)::bigint LIMIT 1)) AS tenant_id
             FROM u LEFT JOIN numbers n ON n.e164 = u.e164),
         stored AS (
             INSERT INTO usage_hourly (tenant_id, e164, hour, lookups)
             SELECT tenant_id, e164, $3, lookups FROM owned WHERE tenant_id IS NOT NULL
             -- one order for every batch: concurrent batches lock their
             -- common rows in the same order and never deadlock
             ORDER BY tenant_id, e164
             ON CONFLICT (tenant_id, e164, hour) DO UPDATE SET lookups = usage_hourly.lookups + EXCLUDED.lookups
             RETURNING 1)
         SELECT COALESCE(sum(lookups) FILTER (WHERE tenant_id IS NOT NULL), 0)::bigint AS stored,
                COALESCE(sum(lookups) FILTER (WHERE tenant_id IS NULL), 0)::bigint AS unattributed,
                (SELECT count(*) FROM stored) AS rows
         FROM owned",
    )
    .bind(&numbers)
    .bind(&lookups)
    .bind(hour_of(batch.window_start))
    .fetch_one(&mut *tx)
    .await?;
    let (stored, unattributed): (i64, i64) = (row.try_get("stored")?, row.try_get("unattributed")?);
    sqlx::query("UPDATE usage_batches SET stored = $2, unattributed = $3 WHERE batch_id = $1")
        .bind(&batch.batch_id)
        .bind(stored)
        .bind(unattributed)
        .execute(&mut *tx)
        .await?;
    Ok(UsageBatchAccepted {
        batch_id: batch.batch_id.clone(),
        applied: true,
        stored: stored as u64,
        unattributed: unattributed as u64,
    })
}

/// A span as asked: `from` and `to` (RFC 3339, either may be left out).
#[derive(Debug, Clone, Copy, Default)]
pub struct Span {
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
}

impl Span {
    /// `from` and `to` as a query gives them (RFC 3339 text).
    pub fn parse(from: Option<&str>, to: Option<&str>) -> ApiResult<Span> {
        let instant = |name: &str, text: Option<&str>| {
            text.map(|t| {
                OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                    .map_err(|_| bad_query(format!("{name} must be an RFC 3339 time such as 2026-12-25T10:00:00Z")))
            })
            .transpose()
        };
        Ok(Span { from: instant("from", from)?, to: instant("to", to)? })
    }
}

/// `span` widened to whole buckets of `step`: `to` defaults to now,
/// `from` to `default_len` buckets before `to`. Refuses `to` not after
/// `from` and spans of more than `max` buckets.
fn buckets(
    span: Span,
    step: time::Duration,
    default_len: i64,
    max: i64,
    now: OffsetDateTime,
) -> ApiResult<(OffsetDateTime, i64)> {
    // time's dates end at the years -9999 and 9999: a step past them is a
    // bad span, never a panic
    let out_of_range = || bad_query("from and to must lie between the years 0001 and 9998");
    let floor = |t: OffsetDateTime| {
        let secs = t.unix_timestamp().div_euclid(step.whole_seconds()) * step.whole_seconds();
        OffsetDateTime::from_unix_timestamp(secs).map_err(|_| out_of_range())
    };
    let ceil = |t: OffsetDateTime| -> ApiResult<OffsetDateTime> {
        let f = floor(t)?;
        if f == t {
            Ok(f)
        } else {
            f.checked_add(step).ok_or_else(out_of_range)
        }
    };
    let to = ceil(span.to.unwrap_or(now))?;
    let from = match span.from {
        Some(from) => floor(from)?,
        None => to.checked_sub(step * default_len as i32).ok_or_else(out_of_range)?,
    };
    if to <= from || span.to.zip(span.from).is_some_and(|(t, f)| t <= f) {
        return Err(bad_query("to (default: now) must be after from"));
    }
    let n = (to - from).whole_seconds() / step.whole_seconds();
    if n > max {
        return Err(bad_query(format!("the span holds {n} buckets; at most {max} are answered: narrow from and to")));
    }
    Ok((from, n))
}

/// Buckets of `number` in `span`, every one of them (empty ones as 0): the
/// tenant's own, or every tenant's summed for the operator.
pub async fn number_usage(
    db: &Db,
    who: Principal,
    number: E164,
    bucket: BucketSize,
    span: Span,
) -> ApiResult<NumberUsage> {
    let (step, default_len, max) = match bucket {
        BucketSize::Hour => (time::Duration::HOUR, 24, MAX_HOURS),
        BucketSize::Day => (time::Duration::DAY, 30, MAX_DAYS),
    };
    let (from, n) = buckets(span, step, default_len, max, OffsetDateTime::now_utc())?;
    let to = from + step * n as i32;
    // series in fixed 1-hour or 24-hour steps from UTC boundaries: no
    // session time zone takes part
    let sql = match bucket {
        BucketSize::Hour => {
            "SELECT g.start, COALESCE(sum(h.lookups), 0)::bigint AS lookups
             FROM (SELECT $2::timestamptz + i * interval '1 hour' AS start FROM generate_series(0, $3 - 1) i) g
             LEFT JOIN usage_hourly h ON h.e164 = $1 AND h.hour = g.start
             GROUP BY g.start ORDER BY g.start"
        }
        BucketSize::Day => {
            "WITH d AS (
                 SELECT date_trunc('day', hour, 'UTC') AS day, lookups FROM usage_hourly
                 WHERE e164 = $1 AND hour >= $2 AND hour < $2 + $3 * interval '24 hours'
                 UNION ALL
                 SELECT day, lookups FROM usage_daily
                 WHERE e164 = $1 AND day >= $2 AND day < $2 + $3 * interval '24 hours')
             SELECT g.start, COALESCE(sum(d.lookups), 0)::bigint AS lookups
             FROM (SELECT $2::timestamptz + i * interval '24 hours' AS start FROM generate_series(0, $3 - 1) i) g
             LEFT JOIN d ON d.day = g.start
             GROUP BY g.start ORDER BY g.start"
        }
    };
    let query = sqlx::query(sql).bind(number.to_string()).bind(from).bind(n);
    let rows = match who {
        Principal::Tenant { id, .. } => {
            let mut tx = db.tenant_tx(id).await?;
            let rows = query.fetch_all(&mut *tx).await?;
            tx.commit().await?;
            rows
        }
        Principal::Operator => query.fetch_all(&db.operator).await?,
        Principal::Feed => return Err(ApiError::new(ProblemType::Forbidden, crate::auth::FEED_ONLY)),
    };
    let buckets = rows
        .iter()
        .map(|r| Ok(UsageBucket { start: r.try_get("start")?, lookups: r.try_get::<i64, _>("lookups")? as u64 }))
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(NumberUsage { number, bucket, from, to, total: buckets.iter().map(|b| b.lookups).sum(), buckets })
}

/// At most this many numbers in one [`last_day_many`] read (a console page
/// shows 200).
pub const MAX_SPARKLINES: usize = 500;

/// The last 24 hourly buckets (the current hour last, empty ones as 0) of
/// each of `numbers`, in one query for a whole page of them (the numbers
/// table's sparklines): the tenant's own, or every tenant's summed for the
/// operator. Numbers with no lookups at all are left out of the answer.
pub async fn last_day_many(db: &Db, who: Principal, numbers: &[E164]) -> ApiResult<Vec<(E164, Vec<UsageBucket>)>> {
    if numbers.len() > MAX_SPARKLINES {
        return Err(bad_query(format!("at most {MAX_SPARKLINES} numbers at once")));
    }
    if numbers.is_empty() {
        return Ok(Vec::new());
    }
    let (from, n) = buckets(Span::default(), time::Duration::HOUR, 24, MAX_HOURS, OffsetDateTime::now_utc())?;
    let texts: Vec<String> = numbers.iter().map(E164::to_string).collect();
    // only numbers with some lookups in the span get their series: the
    // others need no row each
    let sql = "WITH seen AS (
                   SELECT DISTINCT e164 FROM usage_hourly
                   WHERE e164 = ANY($1) AND hour >= $2 AND hour < $2 + $3 * interval '1 hour')
               SELECT s.e164, g.start, COALESCE(sum(h.lookups), 0)::bigint AS lookups
               FROM seen s
               CROSS JOIN (SELECT $2::timestamptz + i * interval '1 hour' AS start FROM generate_series(0, $3 - 1) i) g
               LEFT JOIN usage_hourly h ON h.e164 = s.e164 AND h.hour = g.start
               GROUP BY s.e164, g.start ORDER BY s.e164, g.start";
    let query = sqlx::query(sql).bind(&texts).bind(from).bind(n);
    let rows = match who {
        Principal::Tenant { id, .. } => {
            let mut tx = db.tenant_tx(id).await?;
            let rows = query.fetch_all(&mut *tx).await?;
            tx.commit().await?;
            rows
        }
        Principal::Operator => query.fetch_all(&db.operator).await?,
        Principal::Feed => return Err(ApiError::new(ProblemType::Forbidden, crate::auth::FEED_ONLY)),
    };
    let mut out: Vec<(E164, Vec<UsageBucket>)> = Vec::new();
    for r in &rows {
        let text: String = r.try_get("e164")?;
        let number = E164::parse(&text).map_err(|e| anyhow::anyhow!("stored usage number {text}: {e}"))?;
        let bucket = UsageBucket { start: r.try_get("start")?, lookups: r.try_get::<i64, _>("lookups")? as u64 };
        match out.last_mut() {
            Some((last, series)) if *last == number => series.push(bucket),
            _ => out.push((number, vec![bucket])),
        }
    }
    Ok(out)
}

/// The busiest numbers of `span` (hours; days rolled up count whole when
/// they start in it): the tenant's, or for the operator every tenant's or
/// `tenant`'s.
pub async fn top(db: &Db, who: Principal, tenant: Option<Uuid>, span: Span, limit: Option<i64>) -> ApiResult<UsageTop> {
    let limit = limit.unwrap_or(DEFAULT_TOP);
    if !(1..=MAX_TOP).contains(&limit) {
        return Err(bad_query(format!("limit must be between 1 and {MAX_TOP}")));
    }
    let (from, n) = buckets(span, time::Duration::HOUR, 24, MAX_DAYS * 24, OffsetDateTime::now_utc())?;
    let to = from + time::Duration::HOUR * n as i32;
    let sql = "WITH t AS (
                   SELECT tenant_id, e164, lookups FROM usage_hourly
                   WHERE hour >= $1 AND hour < $2 AND ($4::uuid IS NULL OR tenant_id = $4)
                   UNION ALL
                   SELECT tenant_id, e164, lookups FROM usage_daily
                   WHERE day >= $1 AND day < $2 AND ($4::uuid IS NULL OR tenant_id = $4))
               SELECT e164, tenant_id, sum(lookups)::bigint AS lookups FROM t
               GROUP BY tenant_id, e164 ORDER BY lookups DESC, e164, tenant_id LIMIT $3";
    let rows = match who {
        Principal::Tenant { id, .. } => {
            if tenant.is_some_and(|t| t != id) {
                return Err(ApiError::new(
                    ProblemType::Forbidden,
                    "tenant_id names another tenant: a tenant key sees its own usage",
                ));
            }
            let mut tx = db.tenant_tx(id).await?;
            let rows = sqlx::query(sql).bind(from).bind(to).bind(limit).bind(Some(id)).fetch_all(&mut *tx).await?;
            tx.commit().await?;
            rows
        }
        Principal::Operator => {
            sqlx::query(sql).bind(from).bind(to).bind(limit).bind(tenant).fetch_all(&db.operator).await?
        }
        Principal::Feed => return Err(ApiError::new(ProblemType::Forbidden, crate::auth::FEED_ONLY)),
    };
    let numbers = rows
        .iter()
        .map(|r| {
            let text: String = r.try_get("e164")?;
            let number = E164::parse(&text).map_err(|e| anyhow::anyhow!("stored usage number {text}: {e}"))?;
            Ok(TopNumber {
                number,
                tenant_id: r.try_get("tenant_id")?,
                lookups: r.try_get::<i64, _>("lookups")? as u64,
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(UsageTop { from, to, numbers })
}

/// Moves hourly buckets older than [`ROLLUP_AFTER`] (whole UTC days) into
/// daily ones, `batch` rows per statement; each statement deletes the hours
/// and adds them to their days at once, so a crash or a second instance
/// never counts an hour twice. Returns the hours rolled up.
pub async fn roll_up(pool: &sqlx::PgPool, batch: i64) -> Result<u64, sqlx::Error> {
    let mut moved = 0;
    loop {
        let n: i64 = sqlx::query_scalar(
            "WITH moved AS (
                 DELETE FROM usage_hourly WHERE ctid = ANY (ARRAY(
                     SELECT ctid FROM usage_hourly
                     WHERE hour < date_trunc('day', now() - make_interval(secs => $1), 'UTC')
                     ORDER BY hour LIMIT $2))
                 RETURNING tenant_id, e164, hour, lookups),
             added AS (
                 INSERT INTO usage_daily (tenant_id, e164, day, lookups)
                 SELECT tenant_id, e164, date_trunc('day', hour, 'UTC'), sum(lookups) FROM moved GROUP BY 1, 2, 3
                 ORDER BY 1, 2, 3
                 ON CONFLICT (tenant_id, e164, day) DO UPDATE SET lookups = usage_daily.lookups + EXCLUDED.lookups
                 RETURNING 1)
             SELECT count(*) FROM moved",
        )
        .bind(ROLLUP_AFTER.as_secs_f64())
        .bind(batch)
        .fetch_one(pool)
        .await?;
        moved += n as u64;
        if n < batch {
            return Ok(moved);
        }
    }
}

/// Removes applied batch ids older than [`BATCH_RETENTION`].
pub async fn expire_batches(pool: &sqlx::PgPool, batch: i64) -> Result<u64, sqlx::Error> {
    crate::db::delete_in_batches(
        pool,
        "DELETE FROM usage_batches WHERE ctid = ANY (ARRAY(
             SELECT ctid FROM usage_batches WHERE received_at < now() - make_interval(secs => $1)
             ORDER BY received_at LIMIT $2))",
        BATCH_RETENTION,
        batch,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn spans_widen_to_whole_buckets_and_are_bounded() {
        let now = datetime!(2026-12-25 10:20:00 UTC);
        let span = |from, to| Span { from, to };
        let (from, n) = buckets(span(None, None), time::Duration::HOUR, 24, MAX_HOURS, now).unwrap();
        assert_eq!((from, n), (datetime!(2026-12-24 11:00 UTC), 24));
        let (from, n) = buckets(
            span(Some(datetime!(2026-12-25 08:30 UTC)), Some(datetime!(2026-12-25 09:10 UTC))),
            time::Duration::HOUR,
            24,
            MAX_HOURS,
            now,
        )
        .unwrap();
        assert_eq!((from, n), (datetime!(2026-12-25 08:00 UTC), 2));
        let backwards = span(Some(datetime!(2026-12-25 09:00 UTC)), Some(datetime!(2026-12-25 08:00 UTC)));
        assert!(buckets(backwards, time::Duration::HOUR, 24, MAX_HOURS, now).is_err());
        let future = span(Some(datetime!(2027-01-01 00:00 UTC)), None);
        assert!(buckets(future, time::Duration::HOUR, 24, MAX_HOURS, now).is_err(), "to defaults to now");
        let edge = span(Some(datetime!(-9999-01-01 00:00 UTC)), Some(datetime!(9999-12-31 23:59:59 UTC)));
        assert!(buckets(edge, time::Duration::DAY, 30, MAX_DAYS, now).is_err(), "an error, not a panic");
        let early = span(None, Some(datetime!(-9999-01-01 00:00:01 UTC)));
        assert!(buckets(early, time::Duration::DAY, 30, MAX_DAYS, now).is_err(), "an error, not a panic");
        let long = span(Some(datetime!(2026-01-01 00:00 UTC)), None);
        assert!(buckets(long, time::Duration::HOUR, 24, MAX_HOURS, now).is_err());
        assert!(buckets(long, time::Duration::DAY, 30, MAX_DAYS, now).is_ok());
        assert_eq!(hour_of(datetime!(2026-12-25 10:59:59.9 +02:00)), datetime!(2026-12-25 08:00 UTC));
    }
}
