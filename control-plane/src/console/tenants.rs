//! Operator pages: tenants (list, create) and one tenant's API keys
//! (create, shown once; revoke) and range routes, through `service::tenants`
//! and `service::ranges`.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;
use uuid::Uuid;

use super::form;
use super::numbers::time;
use super::page::{self, done, field, problem};
use super::session::Signed;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::service::{ranges, tenants};
use crate::state::AppState;
use didroute_shared::problem::ProblemType;
use didroute_shared::wire::{NewKey, NewKeyRequest, Scope};

/// The session is the operator's, or a page saying these pages are.
pub fn operator_only(who: &Signed) -> Result<(), Response> {
    match who.principal {
        Principal::Operator => Ok(()),
        _ => Err(page::error_page(&ApiError::new(
            ProblemType::Forbidden,
            "these pages are the operator's: sign in with the operator token",
        ))),
    }
}

/// A tenant or key id from the path; a malformed one is a page like any
/// other refusal (axum's own rejection would be plain text).
fn id_of(text: &str) -> Result<Uuid, Response> {
    text.parse().map_err(|_| page::error_page(&ApiError::not_found(format!("no tenant or key {text}"))))
}

fn failed(e: &ApiError) -> StatusCode {
    StatusCode::from_u16(e.problem().status).unwrap_or(StatusCode::BAD_REQUEST)
}

#[derive(Deserialize, Default)]
pub struct DoneQuery {
    done: Option<String>,
}

pub async fn list(who: Signed, State(s): State<AppState>, Query(q): Query<DoneQuery>) -> Response {
    render_list(&who, &s, q.done.as_deref(), None).await
}

async fn render_list(who: &Signed, s: &AppState, done_code: Option<&str>, err: Option<(ApiError, String)>) -> Response {
    if let Err(r) = operator_only(who) {
        return r;
    }
    let all = match tenants::list(&s.db).await {
        Ok(t) => t,
        Err(e) => return page::error_page(&e),
    };
    let status = err.as_ref().map(|(e, _)| failed(e));
    let markup = html! {
        (done(done_code))
        section.card {
            h2 { "New tenant" }
            form.inline method="post" action="/console/tenants" {
                (page::csrf(who))
                (field("name", "Name", "text", err.as_ref().map(|(_, n)| n.as_str()), true))
                button type="submit" { "Create tenant" }
            }
            (problem(err.as_ref().map(|(e, _)| e)))
        }
        div.table-wrap {
            table {
                thead { tr { th scope="col" { "Name" } th scope="col" { "Id" } th scope="col" { "Locale" } th scope="col" { "Created" } } }
                tbody {
                    @for t in &all {
                        tr {
                            td { a href={ "/console/tenants/" (t.id) } { (t.name) } }
                            td.num { (t.id) }
                            td { (t.locale) }
                            td { (time(Some(t.created_at))) }
                        }
                    }
                    @if all.is_empty() { tr { td colspan="4" .muted { "No tenants yet." } } }
                }
            }
        }
    };
    let mut res = page::page(who, "Tenants", markup);
    if let Some(status) = status {
        *res.status_mut() = status;
    }
    res
}

#[derive(Deserialize)]
pub struct NewTenant {
    #[serde(default)]
    name: String,
}

pub async fn create(who: Signed, State(s): State<AppState>, body: Bytes) -> Response {
    let posted = match form::read::<NewTenant>(&who, &body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    if let Err(r) = operator_only(&who) {
        return r;
    }
    let name = posted.fields.name.clone();
    let result = async {
        let key = posted.key("POST /v1/tenants", &serde_json::json!({ "name": name }))?;
        tenants::create(&s.db, &name, key.as_ref()).await?.typed()
    }
    .await;
    match result {
        Ok(t) => Redirect::to(&format!("/console/tenants/{}?done=tenant", t.id)).into_response(),
        Err(e) => render_list(&who, &s, None, Some((e, name))).await,
    }
}

pub async fn show(
    who: Signed,
    State(s): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Response {
    let id = match id_of(&id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    render_tenant(&who, &s, id, q.done.as_deref(), None, None).await
}

async fn render_tenant(
    who: &Signed,
    s: &AppState,
    id: Uuid,
    done_code: Option<&str>,
    new_key: Option<&NewKey>,
    err: Option<&ApiError>,
) -> Response {
    if let Err(r) = operator_only(who) {
        return r;
    }
    let tenant = match tenants::list(&s.db).await {
        Ok(all) => all.into_iter().find(|t| t.id == id),
        Err(e) => return page::error_page(&e),
    };
    let Some(tenant) = tenant else {
        return page::error_page(&ApiError::not_found(format!("no tenant {id}")));
    };
    let (keys, ranges) = match (tenants::list_keys(&s.db, id).await, ranges::list(&s.db, id).await) {
        (Ok(k), Ok(r)) => (k, r),
        (Err(e), _) | (_, Err(e)) => return page::error_page(&e),
    };
    let markup = html! {
        (done(done_code))
        @if let Some(k) = new_key {
            section.card role="status" {
                h2 { "New API key" }
                p { "Copy it now: it is shown once and stored only as a hash." }
                p.secret id="new-key" { (k.key) }
            }
        }
        section.card {
            h2 { "API keys" }
            form.inline method="post" action={ "/console/tenants/" (id) "/keys" } {
                (page::csrf(who))
                (page::select("scopes", "Scopes", &["read-write", "read"], Some("read-write"), None))
                button type="submit" { "Create key" }
            }
            (problem(err))
            div.table-wrap {
                table {
                    thead { tr {
                        th scope="col" { "Prefix" } th scope="col" { "Scopes" } th scope="col" { "Created" }
                        th scope="col" { "Last used" } th scope="col" { "Expires" } th scope="col" { "Revoked" }
                        th scope="col" { span.muted { "Action" } }
                    } }
                    tbody {
                        @for k in &keys {
                            tr {
                                td.num { (k.key_prefix) "…" }
                                td { (k.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")) }
                                td { (time(Some(k.created_at))) }
                                td { (time(k.last_used_at)) }
                                td { (time(k.expires_at)) }
                                td { (time(k.revoked_at)) }
                                td {
                                    @if k.revoked_at.is_none() {
                                        (revoke_form(who, id, k.id, &k.key_prefix))
                                    }
                                }
                            }
                        }
                        @if keys.is_empty() { tr { td colspan="7" .muted { "No keys yet." } } }
                    }
                }
            }
        }
        section.card {
            h2 { "Range routes" }
            div.table-wrap {
                table {
                    thead { tr { th scope="col" { "Range" } th scope="col" { "Numbers" } th scope="col" { "Subsystem" } th scope="col" { "Dashboard" } th scope="col" { "Label" } } }
                    tbody {
                        @for r in &ranges {
                            tr {
                                td.num { (r.range) }
                                td.num { (r.numbers) }
                                td { (r.subsystem.map(|s| s.as_str()).unwrap_or("utilities")) }
                                td { (r.dashboard_id.as_deref().unwrap_or("")) }
                                td { (r.customer_label.as_deref().unwrap_or("")) }
                            }
                        }
                        @if ranges.is_empty() { tr { td colspan="5" .muted { "No range routes." } } }
                    }
                }
            }
        }
    };
    let mut res = page::page(who, &format!("Tenant {}", tenant.name), markup);
    if let Some(e) = err {
        *res.status_mut() = failed(e);
    }
    res
}

fn revoke_form(who: &Signed, tenant: Uuid, key: Uuid, prefix: &str) -> Markup {
    html! {
        form method="post" action={ "/console/tenants/" (tenant) "/keys/" (key) "/revoke" } {
            (page::csrf(who))
            button.danger type="submit" aria-label={ "Revoke key " (prefix) } { "Revoke" }
        }
    }
}

#[derive(Deserialize)]
pub struct NewKeyForm {
    scopes: Option<String>,
}

pub async fn create_key(who: Signed, State(s): State<AppState>, Path(id): Path<String>, body: Bytes) -> Response {
    let id = match id_of(&id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let posted = match form::read::<NewKeyForm>(&who, &body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    if let Err(r) = operator_only(&who) {
        return r;
    }
    let scopes = match posted.fields.scopes.as_deref() {
        Some("read") => vec![Scope::Read],
        _ => vec![Scope::Read, Scope::Write],
    };
    let req = NewKeyRequest { scopes: Some(scopes), expires_at: None };
    let result = async {
        let body = serde_json::to_value(&req).map_err(anyhow::Error::from)?;
        let key = posted.key(&format!("POST /v1/tenants/{id}/api-keys"), &body)?;
        tenants::create_key(&s.db, id, &req, key.as_ref()).await
    }
    .await;
    match result {
        // the key is in this answer only (no-store), never in a URL
        Ok(k) => render_tenant(&who, &s, id, None, Some(&k), None).await,
        Err(e) => render_tenant(&who, &s, id, None, None, Some(&e)).await,
    }
}

pub async fn revoke_key(
    who: Signed,
    State(s): State<AppState>,
    Path((id, key_id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let (id, key_id) = match (id_of(&id), id_of(&key_id)) {
        (Ok(id), Ok(key_id)) => (id, key_id),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    #[derive(Deserialize)]
    struct Empty {}
    let posted = match form::read::<Empty>(&who, &body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    if let Err(r) = operator_only(&who) {
        return r;
    }
    let result = async {
        let route = format!("DELETE /v1/tenants/{id}/api-keys/{key_id}");
        let key = posted.key(&route, &serde_json::Value::Null)?;
        tenants::revoke_key(&s.db, id, key_id, key.as_ref()).await
    }
    .await;
    match result {
        Ok(()) => Redirect::to(&format!("/console/tenants/{id}?done=revoked")).into_response(),
        Err(e) => render_tenant(&who, &s, id, None, None, Some(&e)).await,
    }
}

/// Every tenant's range routes on one page, each with its tenant.
pub async fn ranges_overview(who: Signed, State(s): State<AppState>) -> Response {
    if let Err(r) = operator_only(&who) {
        return r;
    }
    let found = match (ranges::list_all(&s.db).await, tenants::list(&s.db).await) {
        (Ok(r), Ok(t)) => Ok((r, t)),
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    let markup = html! {
        @match &found {
            Err(e) => section.card { (problem(Some(e))) },
            Ok((ranges, all)) => {
                p.muted { (ranges.len()) " range routes, " (ranges.iter().map(|r| r.numbers).sum::<i64>()) " numbers" }
                div.table-wrap {
                    table.ranges {
                        thead { tr {
                            th scope="col" { "Tenant" } th scope="col" { "Range" } th scope="col" { "Numbers" }
                            th scope="col" { "Subsystem" } th scope="col" { "Dashboard" } th scope="col" { "Label" }
                        } }
                        tbody {
                            @for r in ranges {
                                tr {
                                    td { a href={ "/console/tenants/" (r.tenant_id) } {
                                        (all.iter().find(|t| t.id == r.tenant_id).map(|t| t.name.as_str()).unwrap_or("?"))
                                    } }
                                    td.num { (r.range) }
                                    td.num { (r.numbers) }
                                    td { (r.subsystem.map(|s| s.as_str()).unwrap_or("utilities")) }
                                    td { (r.dashboard_id.as_deref().unwrap_or("")) }
                                    td { (r.customer_label.as_deref().unwrap_or("")) }
                                }
                            }
                            @if ranges.is_empty() { tr { td colspan="6" .muted { "No range routes." } } }
                        }
                    }
                }
            }
        }
    };
    let mut res = page::page(&who, "Range routes", markup);
    if let Err(e) = &found {
        *res.status_mut() = StatusCode::from_u16(e.problem().status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    }
    res
}
