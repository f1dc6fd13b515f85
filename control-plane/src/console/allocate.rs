//! A tenant's allocate page: the numbers it may take (`service::inventory::
//! available`, filtered), and the allocate form (`service::claim`, one named
//! number with its route).

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

use super::form::{self, opt};
use super::numbers::{subsystems, tenant_of, writable};
use super::page::{self, field, problem, select};
use super::session::Signed;
use crate::error::ApiError;
use crate::service::claim::{self, Action, Target};
use crate::service::filter::parse_number;
use crate::service::inventory::{self, SearchQuery};
use crate::service::numbers::RouteInput;
use crate::state::AppState;
use didroute_shared::problem::ProblemType;
use didroute_shared::Subsystem;

const NUMBER_TYPES: [&str; 5] = ["local", "mobile", "toll_free", "national", "shared_cost"];

#[derive(Deserialize, Default, Clone)]
pub struct Filters {
    country: Option<String>,
    area_code: Option<String>,
    prefix: Option<String>,
    contains: Option<String>,
    number_type: Option<String>,
    cursor: Option<String>,
    /// The number chosen from the table, put in the form.
    number: Option<String>,
}

/// What the allocate form was sent with.
#[derive(Deserialize, Default, Clone)]
pub struct AllocateForm {
    #[serde(default)]
    number: String,
    subsystem: Option<String>,
    #[serde(default)]
    dashboard_id: String,
    #[serde(default)]
    customer_label: String,
    friendly_name: Option<String>,
}

pub async fn show(who: Signed, State(s): State<AppState>, Query(f): Query<Filters>) -> Response {
    let sent = AllocateForm { number: f.number.clone().unwrap_or_default(), ..AllocateForm::default() };
    render(&who, &s, f, sent, None).await
}

async fn render(who: &Signed, s: &AppState, f: Filters, sent: AllocateForm, err: Option<ApiError>) -> Response {
    let (tenant, _) = match tenant_of(who) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let q = SearchQuery {
        country: opt(&f.country),
        area_code: opt(&f.area_code),
        prefix: opt(&f.prefix),
        contains: opt(&f.contains),
        number_type: opt(&f.number_type),
        cursor: opt(&f.cursor),
        limit: Some(50),
        ..SearchQuery::default()
    };
    let found = inventory::available(&s.db, tenant, q).await;
    let status = err.as_ref().map(|e| StatusCode::from_u16(e.problem().status).unwrap_or(StatusCode::BAD_REQUEST));
    let markup = html! {
        section.card {
            h2 { "Allocate a number" }
            form method="post" action="/console/allocate" {
                (page::csrf(who))
                div.grid {
                    (field("number", "Number", "text", Some(&sent.number), true))
                    (select("subsystem", "Subsystem", &subsystems(), sent.subsystem.as_deref().or(Some("utilities")), None))
                    (field("dashboard_id", "Dashboard id", "text", Some(&sent.dashboard_id), true))
                    (field("customer_label", "Customer label", "text", Some(&sent.customer_label), true))
                    (field("friendly_name", "Friendly name", "text", sent.friendly_name.as_deref(), false))
                }
                (problem(err.as_ref()))
                button type="submit" { "Allocate" }
            }
        }
        section.card {
            h2 { "Available numbers" }
            form.inline method="get" action="/console/allocate" role="search" {
                (field("country", "Country", "text", f.country.as_deref(), false))
                (field("area_code", "Area code", "text", f.area_code.as_deref(), false))
                (field("prefix", "Starts with", "text", f.prefix.as_deref(), false))
                (field("contains", "Contains digits", "text", f.contains.as_deref(), false))
                (select("number_type", "Type", &NUMBER_TYPES, f.number_type.as_deref(), Some("any type")))
                button.secondary type="submit" { "Search" }
            }
            @match &found {
                Err(e) => (problem(Some(e))),
                Ok(p) => {
                    div.table-wrap {
                        table {
                            thead { tr {
                                th scope="col" { "Number" } th scope="col" { "Country" } th scope="col" { "Region" }
                                th scope="col" { "Type" } th scope="col" { "Monthly cost" } th scope="col" { "Pool" }
                                th scope="col" { span.muted { "Action" } }
                            } }
                            tbody {
                                @for n in &p.numbers {
                                    tr {
                                        td.num { (n.number) }
                                        td { (n.country) }
                                        td { (n.region.as_deref().unwrap_or("")) }
                                        td { (n.number_type) }
                                        td.num { (n.monthly_cost) " " (n.currency) }
                                        td { @if n.private_pool { "private" } @else { "public" } }
                                        td { a href={ "/console/allocate?number=" (n.number.to_string().replace('+', "%2B")) } { "Choose " span.muted { (n.number) } } }
                                    }
                                }
                                @if p.numbers.is_empty() { tr { td colspan="7" .muted { "Nothing available matches." } } }
                            }
                        }
                    }
                    @if let Some(next) = &p.next_cursor {
                        (page::next_page("/console/allocate", &[
                            ("country", f.country.as_deref()), ("area_code", f.area_code.as_deref()),
                            ("prefix", f.prefix.as_deref()), ("contains", f.contains.as_deref()),
                            ("number_type", f.number_type.as_deref()),
                        ], next))
                    }
                }
            }
        }
    };
    let mut res = page::page(who, "Allocate", markup);
    if let Some(status) = status {
        *res.status_mut() = status;
    }
    res
}

pub async fn submit(who: Signed, State(s): State<AppState>, body: Bytes) -> Response {
    let posted = match form::read::<AllocateForm>(&who, &body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let f = posted.fields.clone();
    let result = async {
        let (tenant, write) = tenant_of(&who).map_err(|_| ApiError::new(ProblemType::Forbidden, "tenant only"))?;
        writable(write)?;
        let subsystem = opt(&f.subsystem)
            .unwrap_or_else(|| "utilities".into())
            .parse::<Subsystem>()
            .map_err(|e| ApiError::new(ProblemType::InvalidField, e.to_string()))?;
        let route = RouteInput {
            subsystem,
            dashboard_id: f.dashboard_id.clone(),
            customer_label: f.customer_label.clone(),
            friendly_name: opt(&f.friendly_name),
            organisation_id: None,
            auto_provisioned: false,
            greeting_text: None,
            attributes: None,
        };
        let number = parse_number(f.number.trim())?;
        let mut body = serde_json::to_value(&route).map_err(anyhow::Error::from)?;
        body["number"] = serde_json::Value::String(number.to_string());
        let key = posted.key("POST /v1/numbers", &body)?;
        claim::claim(&s, tenant, Target::One(number), Action::Allocate(route), key).await?;
        Ok::<_, ApiError>(number)
    }
    .await;
    match result {
        Ok(number) => Redirect::to(&format!("/console/numbers/{number}?done=allocated")).into_response(),
        Err(e) => render(&who, &s, Filters::default(), f, Some(e)).await,
    }
}
