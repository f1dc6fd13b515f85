//! The console's one seam to usage analytics: what the numbers table's
//! sparklines, a number's chart and the busiest-numbers page are drawn
//! from. [`ServiceUsage`] reads `service::usage` as the session's principal
//! (a tenant its own numbers, the operator any); [`NoUsage`] answers
//! nothing, so the pages say "no usage data".

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use serde::Deserialize;
use uuid::Uuid;

use super::page::{self, problem};
use super::session::Signed;
use crate::error::ApiError;
use crate::service::tenants;
use crate::state::AppState;
use didroute_shared::problem::ProblemType;

use crate::auth::Principal;
use crate::db::Db;
use crate::error::ApiResult;
use crate::service::usage as svc;
use didroute_shared::wire::{BucketSize, TopNumber, UsageBucket};
use didroute_shared::E164;

/// One bucket of lookups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    /// Start of the bucket, as people read it (UTC).
    pub start: String,
    pub lookups: u64,
}

impl Bucket {
    fn of(b: &UsageBucket, bucket: BucketSize) -> Bucket {
        let start = match bucket {
            BucketSize::Hour => super::numbers::time(Some(b.start)).chars().take(16).collect::<String>() + " UTC",
            BucketSize::Day => super::numbers::time(Some(b.start)).chars().take(10).collect(),
        };
        Bucket { start, lookups: b.lookups }
    }
}

/// A read of usage, boxed so the source can be chosen at run time.
pub type Read<'a, T> = Pin<Box<dyn Future<Output = ApiResult<T>> + Send + 'a>>;

/// Where the console reads usage from, as `who` (the session's principal).
pub trait UsageSource: Send + Sync {
    /// The last 24 hourly buckets of each of `numbers` (one read for a
    /// page of them), oldest first; numbers without lookups left out.
    fn last_day<'a>(&'a self, db: &'a Db, who: Principal, numbers: &'a [E164]) -> Read<'a, HashMap<E164, Vec<Bucket>>>;
    /// `number`'s buckets of `bucket` size: the last 24 hours or 30 days.
    fn series<'a>(&'a self, db: &'a Db, who: Principal, number: E164, bucket: BucketSize) -> Read<'a, Vec<Bucket>>;
    /// The busiest numbers of the last `hours`, busiest first: the
    /// tenant's, or for the operator `tenant`'s or every tenant's.
    fn busiest<'a>(
        &'a self,
        db: &'a Db,
        who: Principal,
        tenant: Option<Uuid>,
        hours: i64,
        limit: i64,
    ) -> Read<'a, Vec<TopNumber>>;
}

/// No usage data.
pub struct NoUsage;

impl UsageSource for NoUsage {
    fn last_day<'a>(&'a self, _: &'a Db, _: Principal, _: &'a [E164]) -> Read<'a, HashMap<E164, Vec<Bucket>>> {
        Box::pin(async { Ok(HashMap::new()) })
    }
    fn series<'a>(&'a self, _: &'a Db, _: Principal, _: E164, _: BucketSize) -> Read<'a, Vec<Bucket>> {
        Box::pin(async { Ok(Vec::new()) })
    }
    fn busiest<'a>(&'a self, _: &'a Db, _: Principal, _: Option<Uuid>, _: i64, _: i64) -> Read<'a, Vec<TopNumber>> {
        Box::pin(async { Ok(Vec::new()) })
    }
}

/// Usage as `service::usage` stores it from the lookup nodes' batches.
pub struct ServiceUsage;

impl UsageSource for ServiceUsage {
    fn last_day<'a>(&'a self, db: &'a Db, who: Principal, numbers: &'a [E164]) -> Read<'a, HashMap<E164, Vec<Bucket>>> {
        Box::pin(async move {
            let many = svc::last_day_many(db, who, numbers).await?;
            Ok(many
                .into_iter()
                .map(|(n, series)| (n, series.iter().map(|b| Bucket::of(b, BucketSize::Hour)).collect()))
                .collect())
        })
    }
    fn series<'a>(&'a self, db: &'a Db, who: Principal, number: E164, bucket: BucketSize) -> Read<'a, Vec<Bucket>> {
        Box::pin(async move {
            let usage = svc::number_usage(db, who, number, bucket, svc::Span::default()).await?;
            Ok(usage.buckets.iter().map(|b| Bucket::of(b, bucket)).collect())
        })
    }
    fn busiest<'a>(
        &'a self,
        db: &'a Db,
        who: Principal,
        tenant: Option<Uuid>,
        hours: i64,
        limit: i64,
    ) -> Read<'a, Vec<TopNumber>> {
        Box::pin(async move {
            let from = time::OffsetDateTime::now_utc() - time::Duration::hours(hours);
            let span = svc::Span { from: Some(from), to: None };
            Ok(svc::top(db, who, tenant, span, Some(limit)).await?.numbers)
        })
    }
}

/// The busy bucket (the first of the largest), when any has lookups.
pub fn busy(buckets: &[Bucket]) -> Option<&Bucket> {
    let max = buckets.iter().map(|b| b.lookups).max().filter(|m| *m > 0)?;
    buckets.iter().find(|b| b.lookups == max)
}

/// Buckets as bars with the first and last bucket's start beneath; the
/// busiest one marked (the busy hour or day).
pub fn chart(buckets: &[Bucket], label: &str) -> Markup {
    html! {
        (bars(buckets, label, "chart"))
        @if let (Some(first), Some(last), Some(_)) = (buckets.first(), buckets.last(), busy(buckets)) {
            div.chart-axis.muted aria-hidden="true" { span { (first.start) } span { (last.start) } }
        }
    }
}

/// A small chart for a table cell.
pub fn sparkline(buckets: &[Bucket], label: &str) -> Markup {
    bars(buckets, label, "chart spark")
}

fn bars(buckets: &[Bucket], label: &str, class: &str) -> Markup {
    let max = buckets.iter().map(|b| b.lookups).max().unwrap_or(0);
    let busy_at = buckets.iter().position(|b| b.lookups == max);
    html! {
        @if max == 0 {
            p.usage-empty { "No usage data" }
        } @else {
            div class=(class) role="img" aria-label=(label) {
                @for (i, b) in buckets.iter().enumerate() {
                    @let pct = b.lookups * 100 / max;
                    span class=[(Some(i) == busy_at).then_some("busy")] style={ "height:" (pct.max(1)) "%" }
                        title={ (b.start) ": " (b.lookups) " lookups" } {}
                }
            }
        }
    }
}

/// The spans the busiest-numbers page offers, in hours.
const SPANS: [(&str, i64, &str); 3] =
    [("24", 24, "last 24 hours"), ("168", 168, "last 7 days"), ("720", 720, "last 30 days")];

#[derive(Deserialize, Default)]
pub struct BusiestQuery {
    hours: Option<String>,
    tenant: Option<String>,
}

/// The busiest numbers: a tenant's own; for the operator every tenant's or
/// one tenant's.
pub async fn busiest_page(who: Signed, State(s): State<AppState>, Query(q): Query<BusiestQuery>) -> Response {
    let operator = who.principal == Principal::Operator;
    let hours = q.hours.as_deref().unwrap_or("24");
    let result = async {
        let span = SPANS
            .iter()
            .find(|(v, _, _)| *v == hours)
            .map(|(_, h, _)| *h)
            .ok_or_else(|| ApiError::new(ProblemType::InvalidQuery, "hours must be one of 24, 168 and 720"))?;
        let tenant = match super::form::opt(&q.tenant) {
            Some(t) if operator => Some(
                t.parse::<Uuid>()
                    .map_err(|_| ApiError::new(ProblemType::InvalidQuery, "tenant must be a tenant id (a uuid)"))?,
            ),
            _ => None,
        };
        let tenants = if operator { tenants::list(&s.db).await? } else { Vec::new() };
        let top = s.console.usage.busiest(&s.db, who.principal, tenant, span, 50).await?;
        Ok::<_, ApiError>((tenants, top))
    }
    .await;
    let names: HashMap<Uuid, String> = match &result {
        Ok((tenants, _)) => tenants.iter().map(|t| (t.id, t.name.clone())).collect(),
        Err(_) => HashMap::new(),
    };
    let choices: Vec<(String, &str)> = match &result {
        Ok((tenants, _)) => tenants.iter().map(|t| (t.id.to_string(), t.name.as_str())).collect(),
        Err(_) => Vec::new(),
    };
    let markup = html! {
        section.card {
            form.inline method="get" action="/console/usage" {
                div.field {
                    label for="hours" { "Span" }
                    select id="hours" name="hours" {
                        @for (v, _, text) in &SPANS {
                            option value=(v) selected[*v == hours] { (text) }
                        }
                    }
                }
                @if operator {
                    div.field {
                        label for="tenant" { "Tenant" }
                        select id="tenant" name="tenant" {
                            option value="" { "every tenant" }
                            @for (id, name) in &choices {
                                option value=(id) selected[q.tenant.as_deref() == Some(id.as_str())] { (name) }
                            }
                        }
                    }
                }
                button type="submit" { "Show" }
            }
            @if let Err(e) = &result { (problem(Some(e))) }
        }
        @if let Ok((_, top)) = &result {
            section.card {
                @if top.is_empty() {
                    p.usage-empty { "No usage data" }
                } @else {
                    div.table-wrap {
                        table.busiest {
                            thead { tr {
                                th scope="col" { "#" } th scope="col" { "Number" }
                                @if operator { th scope="col" { "Tenant" } }
                                th scope="col" { "Lookups" }
                            } }
                            tbody {
                                @for (i, t) in top.iter().enumerate() {
                                    tr {
                                        td.num { (i + 1) }
                                        td.num {
                                            @if operator { (t.number) }
                                            @else { a href={ "/console/numbers/" (t.number) } { (t.number) } }
                                        }
                                        @if operator {
                                            td { a href={ "/console/tenants/" (t.tenant_id) } {
                                                (names.get(&t.tenant_id).cloned().unwrap_or_else(|| t.tenant_id.to_string()))
                                            } }
                                        }
                                        td.num { (t.lookups) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    let mut res = page::page(&who, "Busiest numbers", markup);
    if let Err(e) = &result {
        *res.status_mut() = StatusCode::from_u16(e.problem().status).unwrap_or(StatusCode::BAD_REQUEST);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_data_says_so_and_the_busy_hour_is_marked() {
        assert!(chart(&[], "x").into_string().contains("No usage data"));
        let b = |l| Bucket { start: "t".into(), lookups: l };
        let html = chart(&[b(1), b(4), b(2)], "usage").into_string();
        assert_eq!(html.matches("class=\"busy\"").count(), 1, "{html}");
        assert!(html.contains("height:100%"), "{html}");
    }
}
