//! A tenant's tracking pools: the list (size, leased, cooling, free) with
//! the create form, and one pool (its numbers with their state, live
//! sessions to end, grow, shrink, timings, delete keeping or releasing the
//! numbers). Every read and change is a call into `service::tracking` with
//! the session's tenant and the form's nonce as the idempotency key.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use uuid::Uuid;

use super::form::{self, opt};
use super::numbers::{tenant_of, time, writable, DoneQuery};
use super::page::{self, badge, done, field, problem};
use super::session::Signed;
use crate::error::ApiError;
use crate::service::tracking as svc;
use crate::state::AppState;
use didroute_shared::problem::ProblemType;
use didroute_shared::wire::{
    LeavingNumbers, MatchingNumbers, NewTrackingPool, PoolNumbers, ShrinkBy, ShrinkQuantity, TrackingPoolPatch,
    TrackingPoolView,
};

const DISPOSITIONS: [&str; 2] = ["keep", "release"];

fn status_of(e: &ApiError) -> StatusCode {
    StatusCode::from_u16(e.problem().status).unwrap_or(StatusCode::BAD_REQUEST)
}

fn tenant_writer(who: &Signed) -> Result<Uuid, ApiError> {
    let (tenant, write) = tenant_of(who).map_err(|_| ApiError::new(ProblemType::Forbidden, "tenant only"))?;
    writable(write)?;
    Ok(tenant)
}

fn seconds(field: &str, v: &Option<String>) -> Result<Option<u32>, ApiError> {
    opt(v)
        .map(|t| {
            t.parse::<u32>().map_err(|_| {
                ApiError::new(ProblemType::InvalidField, format!("{field} must be a whole number of seconds"))
            })
        })
        .transpose()
}

fn whole(field: &str, v: &Option<String>) -> Result<Option<u32>, ApiError> {
    opt(v)
        .map(|t| {
            t.parse::<u32>()
                .map_err(|_| ApiError::new(ProblemType::InvalidField, format!("{field} must be a whole number")))
        })
        .transpose()
}

/// Named numbers typed one per line or separated by commas or spaces.
fn named(v: &Option<String>) -> Vec<String> {
    v.as_deref()
        .unwrap_or("")
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Named numbers, or a quantity matching a country and area code.
fn numbers_of(f: &NumbersForm) -> Result<PoolNumbers, ApiError> {
    let list = named(&f.named);
    if !list.is_empty() {
        return Ok(PoolNumbers::Named(list));
    }
    let quantity = whole("quantity", &f.quantity)?
        .ok_or_else(|| ApiError::new(ProblemType::InvalidField, "give a quantity or named numbers"))?;
    let mut criteria = serde_json::json!({ "country": opt(&f.country).unwrap_or_default() });
    if let Some(area) = opt(&f.area_code) {
        criteria["area_code"] = serde_json::Value::String(area);
    }
    Ok(PoolNumbers::Matching(MatchingNumbers { criteria, quantity }))
}

#[derive(Deserialize, Default, Clone)]
pub struct NumbersForm {
    quantity: Option<String>,
    country: Option<String>,
    area_code: Option<String>,
    named: Option<String>,
}

#[derive(Deserialize, Default, Clone)]
pub struct CreateForm {
    name: Option<String>,
    #[serde(flatten)]
    numbers: NumbersForm,
    lease_seconds: Option<String>,
    cooldown_seconds: Option<String>,
    fallback_number: Option<String>,
}

pub async fn list(who: Signed, State(s): State<AppState>, Query(q): Query<DoneQuery>) -> Response {
    render_list(&who, &s, q.done.as_deref(), None, CreateForm::default()).await
}

async fn render_list(
    who: &Signed,
    s: &AppState,
    done_code: Option<&str>,
    err: Option<ApiError>,
    sent: CreateForm,
) -> Response {
    let (tenant, _) = match tenant_of(who) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let pools = svc::list(s, tenant).await;
    let status = err.as_ref().or(pools.as_ref().err()).map(status_of);
    let markup = html! {
        (done(done_code))
        section.card {
            @match &pools {
                Err(e) => (problem(Some(e))),
                Ok(pools) => {
                    div.table-wrap {
                        table.pools {
                            thead { tr {
                                th scope="col" { "Pool" } th scope="col" { "Size" } th scope="col" { "Leased" }
                                th scope="col" { "Cooling" } th scope="col" { "Free" } th scope="col" { "Lease / cooldown" }
                                th scope="col" { "Fallback" }
                            } }
                            tbody {
                                @for p in pools {
                                    tr {
                                        td { a href={ "/console/tracking/" (p.id) } { (p.name) } }
                                        td.num { (p.size) } td.num { (p.leased) } td.num { (p.cooling) } td.num { (p.free) }
                                        td.num { (p.lease_seconds) " s / " (p.cooldown_seconds) " s" }
                                        td.num { (p.fallback_number.as_deref().unwrap_or("—")) }
                                    }
                                }
                                @if pools.is_empty() { tr { td colspan="7" .muted { "No tracking pools yet." } } }
                            }
                        }
                    }
                }
            }
        }
        section.card {
            h2 { "New pool" }
            form method="post" action="/console/tracking" {
                (page::csrf(who))
                (field("name", "Name", "text", sent.name.as_deref(), true))
                div.grid {
                    div {
                        (field("quantity", "Quantity", "number", sent.numbers.quantity.as_deref(), false))
                        (field("country", "Country (ISO code)", "text", sent.numbers.country.as_deref(), false))
                        (field("area_code", "Area code", "text", sent.numbers.area_code.as_deref(), false))
                    }
                    div.field {
                        label for="named" { "Or named numbers (one per line)" }
                        textarea id="named" name="named" { (sent.numbers.named.as_deref().unwrap_or("")) }
                    }
                }
                (field("lease_seconds", "Lease seconds", "number", Some(sent.lease_seconds.as_deref().unwrap_or("1800")), true))
                (field("cooldown_seconds", "Cooldown seconds", "number", Some(sent.cooldown_seconds.as_deref().unwrap_or("600")), true))
                (field("fallback_number", "Fallback number", "text", sent.fallback_number.as_deref(), false))
                (problem(err.as_ref()))
                button type="submit" { "Create pool" }
            }
        }
    };
    let mut res = page::page(who, "Tracking pools", markup);
    if let Some(status) = status {
        *res.status_mut() = status;
    }
    res
}

pub async fn create(who: Signed, State(s): State<AppState>, body: Bytes) -> Response {
    let posted = match form::read::<CreateForm>(&who, &body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let f = posted.fields.clone();
    let result = async {
        let tenant = tenant_writer(&who)?;
        let req = NewTrackingPool {
            name: f.name.clone().unwrap_or_default().trim().to_owned(),
            numbers: numbers_of(&f.numbers)?,
            lease_seconds: seconds("lease_seconds", &f.lease_seconds)?.unwrap_or(0),
            cooldown_seconds: seconds("cooldown_seconds", &f.cooldown_seconds)?.unwrap_or(0),
            fallback_number: opt(&f.fallback_number),
            dashboard_id: None,
            customer_label: None,
        };
        let body = serde_json::to_value(&req).map_err(anyhow::Error::from)?;
        let key = posted.key("POST /v1/tracking-pools", &body)?;
        let answer = svc::create(&s, tenant, &req, key.as_ref()).await?;
        Ok::<_, ApiError>(answer.typed()?.id)
    }
    .await;
    match result {
        Ok(id) => Redirect::to(&format!("/console/tracking/{id}?done=pool-created")).into_response(),
        Err(e) => render_list(&who, &s, None, Some(e), f).await,
    }
}

/// Errors of the forms on a pool's page, each shown by its own form.
#[derive(Default)]
struct Forms {
    settings: Option<ApiError>,
    grow: Option<ApiError>,
    shrink: Option<ApiError>,
    delete: Option<ApiError>,
    end: Option<ApiError>,
}

pub async fn show(
    who: Signed,
    State(s): State<AppState>,
    Path(id): Path<Uuid>,
    Query(q): Query<DoneQuery>,
) -> Response {
    render(&who, &s, id, Forms::default(), q.done.as_deref()).await
}

async fn render(who: &Signed, s: &AppState, id: Uuid, forms: Forms, done_code: Option<&str>) -> Response {
    let (tenant, _) = match tenant_of(who) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let pool = match svc::get(s, tenant, id).await {
        Ok(p) => p,
        Err(e) => return page::error_page(&e),
    };
    let failed = [&forms.settings, &forms.grow, &forms.shrink, &forms.delete, &forms.end]
        .into_iter()
        .flatten()
        .next()
        .map(status_of);
    let markup = pool_page(who, &pool, &forms, done_code);
    let mut res = page::page(who, &format!("Pool {}", pool.name), markup);
    if let Some(status) = failed {
        *res.status_mut() = status;
    }
    res
}

fn pool_page(who: &Signed, p: &TrackingPoolView, forms: &Forms, done_code: Option<&str>) -> maud::Markup {
    let base = format!("/console/tracking/{}", p.id);
    let numbers = p.numbers.as_deref().unwrap_or(&[]);
    let live: Vec<_> = numbers.iter().filter(|n| n.session_id.is_some()).collect();
    html! {
        (done(done_code))
        div.grid {
            section.card {
                h2 { "Details" }
                dl.facts {
                    dt { "Size" } dd { (p.size) }
                    dt { "Leased" } dd { (p.leased) }
                    dt { "Cooling" } dd { (p.cooling) }
                    dt { "Free" } dd { (p.free) }
                    dt { "Unavailable" } dd { (p.unavailable) }
                    dt { "Sessions" } dd { (p.sessions) " (" (p.exhausted) " found it exhausted)" }
                    dt { "Lease" } dd { (p.lease_seconds) " s" }
                    dt { "Cooldown" } dd { (p.cooldown_seconds) " s" }
                    dt { "Fallback" } dd { (p.fallback_number.as_deref().unwrap_or("—")) }
                    dt { "Dashboard" } dd { (p.dashboard_id) }
                    dt { "Label" } dd { (p.customer_label) }
                }
            }
            section.card {
                h2 { "Live sessions" }
                @if live.is_empty() {
                    p.muted { "No live sessions." }
                } @else {
                    ul.sessions {
                        @for n in &live {
                            @let sid = n.session_id.unwrap_or_default();
                            li {
                                span.num { (n.number) } " · session " code { (sid) }
                                form.inline method="post" action={ (base) "/sessions/" (sid) "/end" } {
                                    (page::csrf(who))
                                    button type="submit" { "End session " span.muted { (n.number) } }
                                }
                            }
                        }
                    }
                }
                (problem(forms.end.as_ref()))
            }
        }
        section.card {
            h2 { "Numbers" }
            div.table-wrap {
                table.pool-numbers {
                    thead { tr { th scope="col" { "Number" } th scope="col" { "State" } th scope="col" { "Available at" } } }
                    tbody {
                        @for n in numbers {
                            tr {
                                td.num { a href={ "/console/numbers/" (n.number) } { (n.number) } }
                                td { (badge(&n.state)) }
                                td { (time(n.available_at)) }
                            }
                        }
                        @if numbers.is_empty() { tr { td colspan="3" .muted { "The pool holds no numbers." } } }
                    }
                }
            }
        }
        div.grid {
            section.card {
                h2 { "Timings and fallback" }
                form method="post" action={ (base) "/settings" } {
                    (page::csrf(who))
                    (field("name", "Name", "text", Some(&p.name), true))
                    (field("lease_seconds", "Lease seconds", "number", Some(&p.lease_seconds.to_string()), true))
                    (field("cooldown_seconds", "Cooldown seconds", "number", Some(&p.cooldown_seconds.to_string()), true))
                    (field("fallback_number", "Fallback number (blank: none)", "text", p.fallback_number.as_deref(), false))
                    (problem(forms.settings.as_ref()))
                    button type="submit" { "Save" }
                }
            }
            section.card {
                h2 { "Grow" }
                form method="post" action={ (base) "/grow" } {
                    (page::csrf(who))
                    (field("grow_quantity", "Quantity", "number", None, false))
                    (field("grow_country", "Country (ISO code)", "text", None, false))
                    (field("grow_area_code", "Area code", "text", None, false))
                    div.field {
                        label for="grow_named" { "Or named numbers (one per line)" }
                        textarea id="grow_named" name="grow_named" {}
                    }
                    (problem(forms.grow.as_ref()))
                    button type="submit" { "Add numbers" }
                }
            }
            section.card {
                h2 { "Shrink" }
                form method="post" action={ (base) "/shrink" } {
                    (page::csrf(who))
                    (field("shrink_quantity", "Quantity (unleased numbers, cooling first)", "number", None, true))
                    (page::select("removed", "The removed numbers", &DISPOSITIONS, Some("keep"), None))
                    (problem(forms.shrink.as_ref()))
                    button type="submit" { "Remove numbers" }
                }
            }
            section.card {
                h2 { "Delete" }
                p.muted { "Ends the pool's live sessions; its numbers stay allocated to you (keep) or are released." }
                form method="post" action={ (base) "/delete" } {
                    (page::csrf(who))
                    (page::select("numbers", "The pool's numbers", &DISPOSITIONS, Some("keep"), None))
                    (problem(forms.delete.as_ref()))
                    button.danger type="submit" { "Delete pool" }
                }
            }
        }
    }
}

#[derive(Deserialize, Clone)]
pub struct SettingsForm {
    name: Option<String>,
    lease_seconds: Option<String>,
    cooldown_seconds: Option<String>,
    fallback_number: Option<String>,
}

pub async fn settings(who: Signed, State(s): State<AppState>, Path(id): Path<Uuid>, body: Bytes) -> Response {
    let posted = match form::read::<SettingsForm>(&who, &body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let f = &posted.fields;
    let patch = async {
        Ok::<_, ApiError>(TrackingPoolPatch {
            name: opt(&f.name),
            lease_seconds: seconds("lease_seconds", &f.lease_seconds)?,
            cooldown_seconds: seconds("cooldown_seconds", &f.cooldown_seconds)?,
            // blank removes the fallback
            fallback_number: Some(opt(&f.fallback_number)),
            ..TrackingPoolPatch::default()
        })
    }
    .await;
    patch_and_show(&who, &s, id, &posted, patch, "pool-updated", |e| Forms { settings: Some(e), ..Forms::default() })
        .await
}

#[derive(Deserialize, Clone)]
pub struct GrowForm {
    grow_quantity: Option<String>,
    grow_country: Option<String>,
    grow_area_code: Option<String>,
    grow_named: Option<String>,
}

pub async fn grow(who: Signed, State(s): State<AppState>, Path(id): Path<Uuid>, body: Bytes) -> Response {
    let posted = match form::read::<GrowForm>(&who, &body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let f = &posted.fields;
    let wanted = NumbersForm {
        quantity: f.grow_quantity.clone(),
        country: f.grow_country.clone(),
        area_code: f.grow_area_code.clone(),
        named: f.grow_named.clone(),
    };
    let patch = numbers_of(&wanted).map(|n| TrackingPoolPatch { grow: Some(n), ..TrackingPoolPatch::default() });
    patch_and_show(&who, &s, id, &posted, patch, "pool-grown", |e| Forms { grow: Some(e), ..Forms::default() }).await
}

#[derive(Deserialize, Clone)]
pub struct ShrinkForm {
    shrink_quantity: Option<String>,
    removed: Option<String>,
}

fn disposition(v: &Option<String>) -> Result<LeavingNumbers, ApiError> {
    match opt(v).as_deref() {
        None | Some("keep") => Ok(LeavingNumbers::Keep),
        Some("release") => Ok(LeavingNumbers::Release),
        Some(_) => Err(ApiError::new(ProblemType::InvalidField, "the numbers must be kept or released")),
    }
}

pub async fn shrink(who: Signed, State(s): State<AppState>, Path(id): Path<Uuid>, body: Bytes) -> Response {
    let posted = match form::read::<ShrinkForm>(&who, &body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let f = &posted.fields;
    let patch = (|| {
        let quantity = whole("quantity", &f.shrink_quantity)?
            .ok_or_else(|| ApiError::new(ProblemType::InvalidField, "give the quantity of numbers to remove"))?;
        Ok(TrackingPoolPatch {
            shrink: Some(ShrinkBy::Quantity(ShrinkQuantity { quantity })),
            removed: Some(disposition(&f.removed)?),
            ..TrackingPoolPatch::default()
        })
    })();
    patch_and_show(&who, &s, id, &posted, patch, "pool-shrunk", |e| Forms { shrink: Some(e), ..Forms::default() }).await
}

/// One `PATCH` of the pool, then its page again (303) or the page with the
/// problem by the form that sent it.
async fn patch_and_show<T>(
    who: &Signed,
    s: &AppState,
    id: Uuid,
    posted: &form::Posted<T>,
    patch: Result<TrackingPoolPatch, ApiError>,
    done_code: &str,
    forms: impl FnOnce(ApiError) -> Forms,
) -> Response {
    let result = async {
        let tenant = tenant_writer(who)?;
        let patch = patch?;
        let body = serde_json::to_value(&patch).map_err(anyhow::Error::from)?;
        let key = posted.key(&format!("PATCH /v1/tracking-pools/{id}"), &body)?;
        svc::update(s, tenant, id, &patch, key.as_ref()).await.map(drop)
    }
    .await;
    match result {
        Ok(()) => Redirect::to(&format!("/console/tracking/{id}?done={done_code}")).into_response(),
        Err(e) => render(who, s, id, forms(e), None).await,
    }
}

#[derive(Deserialize)]
pub struct DeleteForm {
    numbers: Option<String>,
}

pub async fn delete(who: Signed, State(s): State<AppState>, Path(id): Path<Uuid>, body: Bytes) -> Response {
    let posted = match form::read::<DeleteForm>(&who, &body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let result = async {
        let tenant = tenant_writer(&who)?;
        let disposition = disposition(&posted.fields.numbers)?;
        let body = serde_json::json!({ "numbers": disposition });
        let key = posted.key(&format!("DELETE /v1/tracking-pools/{id}"), &body)?;
        svc::delete(&s, tenant, id, disposition, key.as_ref()).await.map(drop)
    }
    .await;
    match result {
        Ok(()) => Redirect::to("/console/tracking?done=pool-deleted").into_response(),
        Err(e) => render(&who, &s, id, Forms { delete: Some(e), ..Forms::default() }, None).await,
    }
}

pub async fn end_session(
    who: Signed,
    State(s): State<AppState>,
    Path((id, session)): Path<(Uuid, Uuid)>,
    body: Bytes,
) -> Response {
    #[derive(Deserialize)]
    struct Empty {}
    let posted = match form::read::<Empty>(&who, &body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let result = async {
        let tenant = tenant_writer(&who)?;
        let key = posted.key(&format!("DELETE /v1/tracking-sessions/{session}"), &serde_json::Value::Null)?;
        svc::end(&s, tenant, session, key.as_ref()).await.map(drop)
    }
    .await;
    match result {
        Ok(()) => Redirect::to(&format!("/console/tracking/{id}?done=session-ended")).into_response(),
        Err(e) => render(&who, &s, id, Forms { end: Some(e), ..Forms::default() }, None).await,
    }
}
