//! A tenant's pages: the numbers table with its filters, one number (remap,
//! release, reclaim, history, usage). Every read and change is a call into
//! `service::numbers` with the session's tenant, exactly as REST makes it.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;
use uuid::Uuid;

use super::form::{self, opt};
use super::page::{self, badge, done, field, problem, select};
use super::session::Signed;
use super::usage;
use crate::auth::{Principal, NEEDS_WRITE};
use crate::error::ApiError;
use crate::service::filter::parse_number;
use crate::service::numbers::{self as svc, ListFilter, ReleaseInput, RemapInput};
use crate::state::AppState;
use didroute_shared::problem::ProblemType;
use didroute_shared::wire::{BucketSize, HistoryEntry, NumberView};
use didroute_shared::{Subsystem, E164};

pub const STATUSES: [&str; 4] = ["reserved", "allocated", "cooldown", "aging"];

pub fn subsystems() -> Vec<&'static str> {
    Subsystem::ALL.iter().map(|s| s.as_str()).collect()
}

/// The session's tenant, or a page saying these pages are a tenant's.
pub fn tenant_of(who: &Signed) -> Result<(Uuid, bool), Response> {
    match who.principal {
        Principal::Tenant { id, write } => Ok((id, write)),
        _ => Err(page::error_page(&ApiError::new(
            ProblemType::Forbidden,
            "these pages act for a tenant: sign in with one of the tenant's api keys",
        ))),
    }
}

/// A change needs a key with the `write` scope, as on REST.
pub fn writable(write: bool) -> Result<(), ApiError> {
    if write {
        Ok(())
    } else {
        Err(ApiError::new(ProblemType::Forbidden, NEEDS_WRITE))
    }
}

/// A time as people read it, to the second, in UTC.
pub fn time(t: Option<time::OffsetDateTime>) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    t.and_then(|t| t.to_offset(time::UtcOffset::UTC).format(&format).ok()).unwrap_or_default()
}

fn status_of(e: &ApiError) -> StatusCode {
    StatusCode::from_u16(e.problem().status).unwrap_or(StatusCode::BAD_REQUEST)
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    q: Option<String>,
    status: Option<String>,
    subsystem: Option<String>,
    cursor: Option<String>,
    done: Option<String>,
}

pub async fn list(who: Signed, State(s): State<AppState>, Query(q): Query<ListQuery>) -> Response {
    let (tenant, _) = match tenant_of(&who) {
        Ok(t) => t,
        Err(r) => return r,
    };
    // a whole number searched for: straight to its page
    if let Some(number) = opt(&q.q).filter(|n| n.starts_with('+')).and_then(|n| parse_number(&n).ok()) {
        return Redirect::to(&format!("/console/numbers/{number}")).into_response();
    }
    let subsystem = match opt(&q.subsystem).map(|v| v.parse::<Subsystem>()).transpose() {
        Ok(v) => Ok(v),
        Err(e) => Err(ApiError::new(ProblemType::InvalidQuery, e.to_string())),
    };
    let filter = subsystem.map(|subsystem| ListFilter {
        subsystem,
        status: opt(&q.status),
        limit: Some(200),
        cursor: opt(&q.cursor),
    });
    let page = match filter {
        Ok(f) => svc::list(&s, tenant, f).await,
        Err(e) => Err(e),
    };
    let needle = opt(&q.q).map(|n| n.to_lowercase());
    let who_p = who.principal;
    // one usage read for the whole page's sparklines; usage that cannot be
    // read leaves the cells empty rather than the table
    let shown: Vec<E164> = page.as_ref().map(|p| p.numbers.iter().map(|n| n.number).collect()).unwrap_or_default();
    let lines = s.console.usage.last_day(&s.db, who_p, &shown).await;
    let busiest = s.console.usage.busiest(&s.db, who_p, None, 24, 5).await.unwrap_or_default();
    let lines = lines.unwrap_or_default();
    let (status, body) = match &page {
        Ok(_) => (StatusCode::OK, None),
        Err(e) => (status_of(e), Some(e)),
    };
    let markup = html! {
        (done(q.done.as_deref()))
        section.card {
            form.inline method="get" action="/console/numbers" role="search" {
                div.field {
                    label for="q" { "Search number, dashboard or label" }
                    input id="q" name="q" type="search" value=[q.q.as_deref()];
                }
                (select("status", "Status", &STATUSES, q.status.as_deref(), Some("any status")))
                (select("subsystem", "Subsystem", &subsystems(), q.subsystem.as_deref(), Some("any subsystem")))
                button type="submit" { "Filter" }
            }
            (problem(body))
        }
        @if let Ok(p) = &page {
            @let rows: Vec<&NumberView> = p.numbers.iter().filter(|n| matches(n, needle.as_deref())).collect();
            p.muted {
                (rows.len()) " numbers shown"
                @if needle.is_some() && p.next_cursor.is_some() {
                    " (the search looks at this page of " (p.numbers.len()) "; narrow it with status and subsystem, or search a whole number as +…)"
                }
            }
            div.table-wrap {
                table {
                    thead { tr {
                        th scope="col" { "Number" } th scope="col" { "Status" } th scope="col" { "Provisioning" }
                        th scope="col" { "Subsystem" } th scope="col" { "Dashboard" } th scope="col" { "Label" }
                        th scope="col" { "Monthly cost" } th scope="col" { "Usage (24 h)" }
                    } }
                    tbody {
                        @for n in &rows {
                            @let route = n.route.as_ref().or(n.last_route.as_ref());
                            tr {
                                td.num { a href={ "/console/numbers/" (n.number) } { (n.number) } }
                                td { (badge(&n.status)) }
                                td { (badge(&n.provisioning_status)) }
                                td { (route.map(|r| r.subsystem.as_str()).unwrap_or("")) }
                                td { (route.map(|r| r.dashboard_id.as_str()).unwrap_or("")) }
                                td { (route.map(|r| r.customer_label.as_str()).unwrap_or("")) }
                                td.num { (n.monthly_cost) " " (n.currency) }
                                td { (sparkline(lines.get(&n.number), n.number)) }
                            }
                        }
                        @if rows.is_empty() {
                            tr { td colspan="8" .muted { "No numbers match." } }
                        }
                    }
                }
            }
            @if let Some(next) = &p.next_cursor {
                (page::next_page("/console/numbers", &[("q", q.q.as_deref()), ("status", q.status.as_deref()), ("subsystem", q.subsystem.as_deref())], next))
            }
        }
        section.card {
            h2 { "Busiest numbers (24 h)" }
            @if busiest.is_empty() {
                p.usage-empty { "No usage data" }
            } @else {
                ol.busiest { @for t in &busiest { li { a href={ "/console/numbers/" (t.number) } { (t.number) } " — " (t.lookups) " lookups" } } }
            }
            p { a href="/console/usage" { "All busiest numbers" } }
        }
    };
    let mut res = page::page(&who, "Numbers", markup);
    *res.status_mut() = status;
    res
}

fn sparkline(buckets: Option<&Vec<usage::Bucket>>, number: E164) -> Markup {
    match buckets {
        Some(b) if b.iter().any(|b| b.lookups > 0) => {
            let total: u64 = b.iter().map(|b| b.lookups).sum();
            html! {
                span.spark-cell {
                    (usage::sparkline(b, &format!("lookups of {number} per hour over the last 24 hours: {total} in all")))
                    " " span.num { (total) }
                }
            }
        }
        _ => html! { span.usage-empty { "—" } },
    }
}

/// The search box: digits of the number, or text of the dashboard, label or
/// friendly name (this page of the tenant's numbers).
fn matches(n: &NumberView, needle: Option<&str>) -> bool {
    let Some(needle) = needle else { return true };
    let digits: String = needle.chars().filter(char::is_ascii_digit).collect();
    if !digits.is_empty() && digits.len() == needle.trim_start_matches('+').len() {
        return n.number.to_string().contains(&digits);
    }
    n.route.as_ref().or(n.last_route.as_ref()).is_some_and(|r| {
        [Some(&r.dashboard_id), Some(&r.customer_label), r.friendly_name.as_ref()]
            .into_iter()
            .flatten()
            .any(|t| t.to_lowercase().contains(needle))
    })
}

/// Errors of the forms on a number's page, each shown by its own form.
#[derive(Default)]
struct Forms {
    remap: Option<ApiError>,
    /// What the failed remap asked, shown again in its form.
    remap_sent: Option<RemapForm>,
    release: Option<ApiError>,
    reclaim: Option<ApiError>,
}

#[derive(Deserialize, Default)]
pub struct DoneQuery {
    pub done: Option<String>,
    bucket: Option<String>,
}

pub async fn show(
    who: Signed,
    State(s): State<AppState>,
    Path(n): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Response {
    let bucket = if q.bucket.as_deref() == Some("day") { BucketSize::Day } else { BucketSize::Hour };
    render_in(&who, &s, &n, Forms::default(), q.done.as_deref(), bucket).await
}

async fn render(who: &Signed, s: &AppState, n: &str, forms: Forms, done_code: Option<&str>) -> Response {
    render_in(who, s, n, forms, done_code, BucketSize::Hour).await
}

async fn render_in(
    who: &Signed,
    s: &AppState,
    n: &str,
    forms: Forms,
    done_code: Option<&str>,
    bucket: BucketSize,
) -> Response {
    let (tenant, _) = match tenant_of(who) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let number = match parse_number(n) {
        Ok(n) => n,
        Err(e) => return page::error_page(&e),
    };
    let view = match svc::get(s, tenant, number).await {
        Ok(v) => v,
        Err(e) => return page::error_page(&e),
    };
    let history = match svc::history(s, tenant, number).await {
        Ok(h) => h,
        Err(e) => return page::error_page(&e),
    };
    let failed = [&forms.remap, &forms.release, &forms.reclaim].into_iter().flatten().next().map(status_of);
    let buckets = s.console.usage.series(&s.db, who.principal, number, bucket).await;
    let markup = number_page(who, &view, &history, &forms, done_code, (bucket, &buckets));
    let mut res = page::page(who, &format!("Number {number}"), markup);
    if let Some(status) = failed {
        *res.status_mut() = status;
    }
    res
}

fn number_page<'a>(
    who: &Signed,
    v: &'a NumberView,
    history: &[HistoryEntry],
    forms: &'a Forms,
    done_code: Option<&str>,
    (bucket, buckets): (BucketSize, &Result<Vec<usage::Bucket>, ApiError>),
) -> Markup {
    let route = v.route.as_ref();
    let base = format!("/console/numbers/{}", v.number);
    html! {
        (done(done_code))
        div.grid {
            section.card {
                h2 { "Details" }
                dl.facts {
                    dt { "Status" } dd { (badge(&v.status)) }
                    dt { "Provisioning" } dd { (badge(&v.provisioning_status)) }
                    dt { "Country" } dd { (v.country) " " (v.region.as_deref().unwrap_or("")) }
                    dt { "Type" } dd { (v.number_type) " (" (v.carrier_module) ")" }
                    dt { "Monthly cost" } dd { (v.monthly_cost) " " (v.currency) }
                    @if let Some(r) = route.or(v.last_route.as_ref()) {
                        dt { "Subsystem" } dd { (r.subsystem.as_str()) }
                        dt { "Dashboard" } dd { (r.dashboard_id) }
                        dt { "Label" } dd { (r.customer_label) }
                        dt { "Friendly name" } dd { (r.friendly_name.as_deref().unwrap_or("")) }
                    }
                    @if let Some(reason) = &v.release_reason {
                        dt { "Release reason" } dd { (reason) }
                        dt { "Release notes" } dd { (v.release_notes.as_deref().unwrap_or("")) }
                    }
                    @if v.cooldown_until.is_some() { dt { "Cooldown until" } dd { (time(v.cooldown_until)) } }
                    @if v.reclaim_until.is_some() { dt { "Reclaim until" } dd { (time(v.reclaim_until)) } }
                }
            }
            section.card.usage {
                @let (unit, span) = match bucket { BucketSize::Hour => ("hour", "24 hours"), BucketSize::Day => ("day", "30 days") };
                h2 { "Usage (last " (span) ")" }
                nav.bucket-switch aria-label="usage buckets" {
                    "Buckets: "
                    a href={ (base) "?bucket=hour" } aria-current=[(bucket == BucketSize::Hour).then_some("true")] { "hours" }
                    " · "
                    a href={ (base) "?bucket=day" } aria-current=[(bucket == BucketSize::Day).then_some("true")] { "days" }
                }
                @match buckets {
                    Ok(buckets) => {
                        (usage::chart(buckets, &format!("lookups of {} per {unit}; the busy {unit} is marked", v.number)))
                        @if let Some(b) = usage::busy(buckets) {
                            p.busy-note {
                                "Busy " (unit) ": " strong { (b.start) } " with " (b.lookups) " lookups; "
                                (buckets.iter().map(|b| b.lookups).sum::<u64>()) " lookups in all."
                            }
                        }
                    }
                    Err(e) => (problem(Some(e))),
                }
            }
        }
        @if let Some(r) = route {
            div.grid {
            section.card {
                h2 { "Remap" }
                form method="post" action={ (base) "/remap" } {
                    (page::csrf(who))
                    @let sent = forms.remap_sent.as_ref();
                    @let or = |f: fn(&RemapForm) -> &Option<String>, now: Option<&'a str>| sent.map_or(now, |s| f(s).as_deref());
                    (select("subsystem", "Subsystem", &subsystems(), or(|s| &s.subsystem, Some(r.subsystem.as_str())), None))
                    (field("dashboard_id", "Dashboard id", "text", or(|s| &s.dashboard_id, Some(&r.dashboard_id)), true))
                    (field("customer_label", "Customer label", "text", or(|s| &s.customer_label, Some(&r.customer_label)), true))
                    (field("friendly_name", "Friendly name", "text", or(|s| &s.friendly_name, r.friendly_name.as_deref()), false))
                    (problem(forms.remap.as_ref()))
                    button type="submit" { "Remap" }
                }
            }
            section.card {
                h2 { "Release" }
                form method="post" action={ (base) "/release" } {
                    (page::csrf(who))
                    (field("reason", "Reason", "text", None, true))
                    div.field {
                        label for="notes" { "Notes" }
                        textarea id="notes" name="notes" {}
                    }
                    (problem(forms.release.as_ref()))
                    button.danger type="submit" { "Release" }
                }
            }
            }
        }
        @if v.status == "aging" || forms.reclaim.is_some() {
            section.card {
                h2 { "Reclaim" }
                p.muted { "Take the number back with its last route while its reclaim window is open." }
                form method="post" action={ (base) "/reclaim" } {
                    (page::csrf(who))
                    (problem(forms.reclaim.as_ref()))
                    button type="submit" { "Reclaim" }
                }
            }
        }
        section.card {
            h2 { "History" }
            ol.timeline aria-label="history" {
                @for h in history.iter().rev() {
                    li {
                        strong { (h.action) } " "
                        span.muted { (time(Some(h.at))) " · " (h.actor) }
                        code { (h.detail) }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize, Clone)]
pub struct RemapForm {
    subsystem: Option<String>,
    dashboard_id: Option<String>,
    customer_label: Option<String>,
    friendly_name: Option<String>,
}

pub async fn remap(who: Signed, State(s): State<AppState>, Path(n): Path<String>, body: Bytes) -> Response {
    let posted = match form::read::<RemapForm>(&who, &body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let result = async {
        let (tenant, write) = tenant_of(&who).map_err(|_| ApiError::new(ProblemType::Forbidden, "tenant only"))?;
        writable(write)?;
        let number = parse_number(&n)?;
        let f = &posted.fields;
        let subsystem = opt(&f.subsystem)
            .map(|v| v.parse::<Subsystem>())
            .transpose()
            .map_err(|e| ApiError::new(ProblemType::InvalidField, e.to_string()))?;
        // a blank required field is sent as given, so the service names it
        let input = RemapInput {
            subsystem,
            dashboard_id: f.dashboard_id.clone(),
            customer_label: f.customer_label.clone(),
            friendly_name: opt(&f.friendly_name),
            ..RemapInput::default()
        };
        let body = serde_json::to_value(&input).map_err(anyhow::Error::from)?;
        let key = posted.key(&format!("PATCH /v1/numbers/{number}"), &body)?;
        svc::remap(&s, tenant, number, &input, key.as_ref()).await.map(drop)
    }
    .await;
    let sent = posted.fields.clone();
    after(&who, &s, &n, result, "remapped", |e| Forms { remap: Some(e), remap_sent: Some(sent), ..Forms::default() })
        .await
}

#[derive(Deserialize)]
pub struct ReleaseForm {
    #[serde(default)]
    reason: String,
    notes: Option<String>,
}

pub async fn release(who: Signed, State(s): State<AppState>, Path(n): Path<String>, body: Bytes) -> Response {
    let posted = match form::read::<ReleaseForm>(&who, &body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let result = async {
        let (tenant, write) = tenant_of(&who).map_err(|_| ApiError::new(ProblemType::Forbidden, "tenant only"))?;
        writable(write)?;
        let number = parse_number(&n)?;
        let input = ReleaseInput { reason: posted.fields.reason.clone(), notes: opt(&posted.fields.notes) };
        let body = serde_json::json!({ "reason": input.reason, "notes": input.notes });
        let key = posted.key(&format!("POST /v1/numbers/{number}/release"), &body)?;
        svc::release(&s, tenant, number, &input, key.as_ref()).await.map(drop)
    }
    .await;
    // to the table: a released local or mdn number is gone, its page with it
    match result {
        Ok(()) => Redirect::to("/console/numbers?done=released").into_response(),
        Err(e) => render(&who, &s, &n, Forms { release: Some(e), ..Forms::default() }, None).await,
    }
}

pub async fn reclaim(who: Signed, State(s): State<AppState>, Path(n): Path<String>, body: Bytes) -> Response {
    #[derive(Deserialize)]
    struct Empty {}
    let posted = match form::read::<Empty>(&who, &body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let result = async {
        let (tenant, write) = tenant_of(&who).map_err(|_| ApiError::new(ProblemType::Forbidden, "tenant only"))?;
        writable(write)?;
        let number = parse_number(&n)?;
        let key = posted.key(&format!("POST /v1/numbers/{number}/reclaim"), &serde_json::Value::Null)?;
        svc::reclaim(&s, tenant, number, key.as_ref()).await.map(drop)
    }
    .await;
    after(&who, &s, &n, result, "reclaimed", |e| Forms { reclaim: Some(e), ..Forms::default() }).await
}

/// After a change: back to the number's page (303, so a reload does not
/// post again), or the page again with the problem by the form.
async fn after(
    who: &Signed,
    s: &AppState,
    n: &str,
    result: Result<(), ApiError>,
    done_code: &str,
    forms: impl FnOnce(ApiError) -> Forms,
) -> Response {
    match (result, parse_number(n)) {
        (Ok(()), Ok(number)) => Redirect::to(&format!("/console/numbers/{number}?done={done_code}")).into_response(),
        (Err(e), Ok(_)) => render(who, s, n, forms(e), None).await,
        (_, Err(e)) => page::error_page(&e),
    }
}
