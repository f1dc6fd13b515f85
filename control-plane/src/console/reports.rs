//! Operator pages that only read: carriers and an order, orphans, the
//! latest reconciliation (`service::orders`, `orphans`, `reconcile`).

use axum::extract::{Query, State};
use axum::response::Response;
use maud::html;
use serde::Deserialize;

use super::form::opt;
use super::page::{self, badge, field, problem};
use super::session::Signed;
use super::tenants::operator_only;
use crate::error::ApiError;
use crate::service::{orders, orphans, reconcile};
use crate::state::AppState;
use didroute_shared::problem::ProblemType;

#[derive(Deserialize, Default)]
pub struct OrderQuery {
    order: Option<String>,
}

pub async fn carriers(who: Signed, State(s): State<AppState>, Query(q): Query<OrderQuery>) -> Response {
    if let Err(r) = operator_only(&who) {
        return r;
    }
    let carriers = orders::carriers(&s);
    let order = match opt(&q.order) {
        None => None,
        Some(id) => Some(match id.parse() {
            Ok(id) => orders::get(&s, id).await,
            Err(_) => Err(ApiError::new(ProblemType::InvalidQuery, "an order id is a UUID")),
        }),
    };
    let markup = html! {
        div.table-wrap {
            table {
                thead { tr { th scope="col" { "Carrier" } th scope="col" { "Kind" } th scope="col" { "API" } th scope="col" { "Health" } th scope="col" { "Breaker" } th scope="col" { "Last error" } } }
                tbody {
                    @for c in &carriers.carriers {
                        tr {
                            td { (c.name) }
                            td { (c.kind) }
                            td { (c.base_url) }
                            td { (badge(if c.healthy { "active" } else { "failed" })) }
                            td { (badge(&c.breaker)) }
                            td { (c.last_error.as_deref().unwrap_or("")) }
                        }
                    }
                    @if carriers.carriers.is_empty() { tr { td colspan="6" .muted { "No carrier is configured (DIDROUTE_CARRIERS)." } } }
                }
            }
        }
        section.card {
            h2 { "Order" }
            form.inline method="get" action="/console/carriers" role="search" {
                (field("order", "Order id", "text", q.order.as_deref(), true))
                button type="submit" { "Show order" }
            }
            @match &order {
                None => {},
                Some(Err(e)) => (problem(Some(e))),
                Some(Ok(o)) => {
                    dl.facts {
                        dt { "Order" } dd { (o.order_id) }
                        dt { "Carrier" } dd { (o.carrier) }
                        dt { "Status" } dd { (badge(&o.status)) }
                        dt { "Module" } dd { (o.carrier_module) }
                        dt { "Carrier's id" } dd { (o.carrier_order_id.as_deref().unwrap_or("")) }
                        dt { "Attempts" } dd { (o.attempts) }
                        dt { "Last error" } dd { (o.last_error.as_deref().unwrap_or("")) }
                        dt { "Created" } dd { (o.created_at) }
                        dt { "Completed" } dd { (o.completed_at.as_deref().unwrap_or("")) }
                    }
                    ul { @for n in &o.numbers { li { (n.number) " " (badge(n.provisioning_status.as_deref().unwrap_or("gone"))) } } }
                }
            }
        }
    };
    page::page(&who, "Carriers & orders", markup)
}

pub async fn orphans(who: Signed, State(s): State<AppState>) -> Response {
    if let Err(r) = operator_only(&who) {
        return r;
    }
    let found = match orphans::list(&s).await {
        Ok(o) => o,
        Err(e) => return page::error_page(&e),
    };
    let markup = html! {
        p {
            "Numbers carriers bill for that the inventory does not hold. Monthly total: "
            @for c in &found.monthly_cost_total { strong { (c.monthly_cost) " " (c.currency) } " " }
            @if found.monthly_cost_total.is_empty() { "none" }
        }
        div.table-wrap {
            table {
                thead { tr { th scope="col" { "Number" } th scope="col" { "Carrier" } th scope="col" { "Country" } th scope="col" { "Type" } th scope="col" { "At the carrier" } th scope="col" { "Monthly cost" } th scope="col" { "Found" } } }
                tbody {
                    @for o in &found.orphans {
                        tr {
                            td.num { (o.number) }
                            td { (o.carrier) }
                            td { (o.country.as_deref().unwrap_or("")) }
                            td { (o.number_type.as_deref().unwrap_or("")) }
                            td { (badge(&o.carrier_status)) }
                            td.num { (o.monthly_cost.as_deref().unwrap_or("")) " " (o.currency.as_deref().unwrap_or("")) }
                            td { (o.found_at) }
                        }
                    }
                    @if found.orphans.is_empty() { tr { td colspan="7" .muted { "No orphans." } } }
                }
            }
        }
    };
    page::page(&who, "Orphans", markup)
}

pub async fn reconciliation(who: Signed, State(s): State<AppState>) -> Response {
    if let Err(r) = operator_only(&who) {
        return r;
    }
    let latest = reconcile::latest(&s).await;
    let markup = html! {
        @match &latest {
            Err(e) if e.kind() == ProblemType::NotFound => p.muted { "No reconciliation has run yet." },
            Err(e) => (problem(Some(e))),
            Ok(r) => {
                section.card {
                    dl.facts {
                        dt { "Run" } dd { (r.reconciliation_id) }
                        dt { "Status" } dd { (badge(&r.status)) }
                        dt { "Trigger" } dd { (r.trigger) }
                        dt { "Requested" } dd { (r.requested_at) }
                        dt { "Started" } dd { (r.started_at.as_deref().unwrap_or("")) }
                        dt { "Finished" } dd { (r.finished_at.as_deref().unwrap_or("")) }
                    }
                }
                div.table-wrap {
                    table {
                        thead { tr { th scope="col" { "Carrier" } th scope="col" { "Owned there" } th scope="col" { "Checked" } th scope="col" { "Gone" } th scope="col" { "Activated" } th scope="col" { "Orphans" } th scope="col" { "Error" } } }
                        tbody {
                            @for c in &r.carriers {
                                tr {
                                    td { (c.carrier) }
                                    td.num { (c.owned_at_carrier) }
                                    td.num { (c.checked) }
                                    td.num { (c.gone) }
                                    td.num { (c.activated) }
                                    td.num { (c.orphans) }
                                    td { (c.error.as_deref().unwrap_or("")) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    page::page(&who, "Reconciliation", markup)
}

#[derive(Deserialize, Default)]
pub struct OrdersQuery {
    after: Option<String>,
}

/// Recent carrier orders, newest first, with their status; each links to
/// its page on the carriers page.
pub async fn orders_list(who: Signed, State(s): State<AppState>, Query(q): Query<OrdersQuery>) -> Response {
    if let Err(r) = operator_only(&who) {
        return r;
    }
    let page = match opt(&q.after).map(|a| a.parse::<uuid::Uuid>()).transpose() {
        Ok(after) => orders::list(&s, after, 50).await,
        Err(_) => Err(ApiError::new(ProblemType::InvalidQuery, "after is an order id (a uuid)")),
    };
    let markup = html! {
        @match &page {
            Err(e) => section.card { (problem(Some(e))) p { a href="/console/orders" { "The newest orders" } } },
            Ok(p) => {
                div.table-wrap {
                    table.orders {
                        thead { tr {
                            th scope="col" { "Order" } th scope="col" { "Status" } th scope="col" { "Carrier" }
                            th scope="col" { "Numbers" } th scope="col" { "Tenant" } th scope="col" { "Attempts" }
                            th scope="col" { "Last error" } th scope="col" { "Created" } th scope="col" { "Completed" }
                        } }
                        tbody {
                            @for o in &p.orders {
                                tr {
                                    td.num { a href={ "/console/carriers?order=" (o.order_id) } { (o.order_id.to_string()[..8]) "…" } }
                                    td { (badge(&o.status)) }
                                    td { (o.carrier) }
                                    td.num {
                                        @if o.numbers.is_empty() { (o.quantity.unwrap_or(0)) " by criteria" }
                                        @else { (o.numbers.len()) ": " (o.numbers.iter().map(|n| n.number.as_str()).collect::<Vec<_>>().join(", ")) }
                                    }
                                    td { @if let Some(t) = o.tenant_id { a href={ "/console/tenants/" (t) } { "tenant" } } @else { "inventory" } }
                                    td.num { (o.attempts) }
                                    td { (o.last_error.as_deref().unwrap_or("")) }
                                    td { (o.created_at) }
                                    td { (o.completed_at.as_deref().unwrap_or("")) }
                                }
                            }
                            @if p.orders.is_empty() { tr { td colspan="9" .muted { "No orders yet." } } }
                        }
                    }
                }
                @if let Some(next) = p.next {
                    p { a href={ "/console/orders?after=" (next) } { "Older orders" } }
                }
            }
        }
    };
    let mut res = page::page(&who, "Orders", markup);
    if let Err(e) = &page {
        *res.status_mut() =
            axum::http::StatusCode::from_u16(e.problem().status).unwrap_or(axum::http::StatusCode::BAD_REQUEST);
    }
    res
}
