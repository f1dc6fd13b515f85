//! Operator pages: inventory search with every filter
//! (`service::inventory::search`), and imports from a pasted PortSIP range
//! or an uploaded CSV file (`service::inventory::import`, `import_csv`) with
//! the import's summary.

use axum::body::Bytes;
use axum::extract::{Multipart, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use serde::Deserialize;

use super::form::{self, opt};
use super::numbers::time;
use super::page::{self, badge, field, problem, select};
use super::session::Signed;
use super::tenants::operator_only;
use crate::error::ApiError;
use crate::service::idempotency::Key;
use crate::service::inventory::{self, SearchQuery};
use crate::state::AppState;
use didroute_shared::problem::ProblemType;
use didroute_shared::wire::{ImportRequest, ImportResult, NumbersInput};

const STATUSES: [&str; 6] = ["available", "reserved", "allocated", "cooldown", "aging", "disabled"];
const PROVISIONING: [&str; 5] = ["unknown", "pending", "active", "purchase_failed", "port_pending"];
const NUMBER_TYPES: [&str; 5] = ["local", "mobile", "toll_free", "national", "shared_cost"];
const MODULES: [&str; 4] = ["inventory", "managed", "local", "mdn"];

#[derive(Deserialize, Default)]
pub struct Filters {
    country: Option<String>,
    region: Option<String>,
    area_code: Option<String>,
    prefix: Option<String>,
    contains: Option<String>,
    number_type: Option<String>,
    status: Option<String>,
    provisioning_status: Option<String>,
    tenant_id: Option<String>,
    cursor: Option<String>,
}

pub async fn search(who: Signed, State(s): State<AppState>, Query(f): Query<Filters>) -> Response {
    if let Err(r) = operator_only(&who) {
        return r;
    }
    let tenant_id = match opt(&f.tenant_id).map(|t| t.parse::<uuid::Uuid>()).transpose() {
        Ok(t) => Ok(t),
        Err(_) => Err(ApiError::new(ProblemType::InvalidQuery, "tenant_id must be a tenant's id (a UUID)")),
    };
    let found = match tenant_id {
        Ok(tenant_id) => {
            let q = SearchQuery {
                country: opt(&f.country),
                region: opt(&f.region),
                area_code: opt(&f.area_code),
                prefix: opt(&f.prefix),
                contains: opt(&f.contains),
                number_type: opt(&f.number_type),
                status: opt(&f.status),
                provisioning_status: opt(&f.provisioning_status),
                tenant_id,
                limit: Some(100),
                cursor: opt(&f.cursor),
            };
            inventory::search(&s.db, q).await
        }
        Err(e) => Err(e),
    };
    let markup = html! {
        section.card {
            form.inline method="get" action="/console/inventory" role="search" {
                (field("country", "Country", "text", f.country.as_deref(), false))
                (field("region", "Region", "text", f.region.as_deref(), false))
                (field("area_code", "Area code", "text", f.area_code.as_deref(), false))
                (field("prefix", "Starts with", "text", f.prefix.as_deref(), false))
                (field("contains", "Contains digits", "text", f.contains.as_deref(), false))
                (select("number_type", "Type", &NUMBER_TYPES, f.number_type.as_deref(), Some("any type")))
                (select("status", "Status", &STATUSES, f.status.as_deref(), Some("any status")))
                (select("provisioning_status", "Provisioning", &PROVISIONING, f.provisioning_status.as_deref(), Some("any")))
                (field("tenant_id", "Tenant id", "text", f.tenant_id.as_deref(), false))
                button type="submit" { "Search" }
            }
            @if let Err(e) = &found { (problem(Some(e))) }
        }
        @if let Ok(p) = &found {
            div.table-wrap {
                table {
                    thead { tr {
                        th scope="col" { "Number" } th scope="col" { "Status" } th scope="col" { "Provisioning" }
                        th scope="col" { "Country" } th scope="col" { "Type" } th scope="col" { "Module" }
                        th scope="col" { "Provider" } th scope="col" { "Monthly cost" } th scope="col" { "Tenant" }
                        th scope="col" { "Updated" }
                    } }
                    tbody {
                        @for n in &p.numbers {
                            tr {
                                td.num { (n.number) }
                                td { (badge(&n.status)) }
                                td { (badge(&n.provisioning_status)) }
                                td { (n.country) " " (n.region.as_deref().unwrap_or("")) }
                                td { (n.number_type) }
                                td { (n.carrier_module) }
                                td { (n.provider) }
                                td.num { (n.monthly_cost) " " (n.currency) }
                                td.num { (n.tenant_id.or(n.pool_tenant_id).map(|t| t.to_string()).unwrap_or_default()) }
                                td { (time(Some(n.updated_at))) }
                            }
                        }
                        @if p.numbers.is_empty() { tr { td colspan="10" .muted { "Nothing matches." } } }
                    }
                }
            }
            @if let Some(next) = &p.next_cursor {
                (page::next_page("/console/inventory", &[
                    ("country", f.country.as_deref()), ("region", f.region.as_deref()),
                    ("area_code", f.area_code.as_deref()), ("prefix", f.prefix.as_deref()),
                    ("contains", f.contains.as_deref()), ("number_type", f.number_type.as_deref()),
                    ("status", f.status.as_deref()), ("provisioning_status", f.provisioning_status.as_deref()),
                    ("tenant_id", f.tenant_id.as_deref()),
                ], next))
            }
        }
    };
    let mut res = page::page(&who, "Inventory", markup);
    if let Err(e) = &found {
        *res.status_mut() = StatusCode::from_u16(e.problem().status).unwrap_or(StatusCode::BAD_REQUEST);
    }
    res
}

/// What the paste form was sent with, shown again after a failure.
#[derive(Deserialize, Default, Clone)]
pub struct PasteForm {
    #[serde(default)]
    numbers: String,
    country: Option<String>,
    region: Option<String>,
    area_code: Option<String>,
    provider: Option<String>,
    carrier_module: Option<String>,
    number_type: Option<String>,
    monthly_cost: Option<String>,
    currency: Option<String>,
    tenant_id: Option<String>,
}

/// Which form a result or problem belongs to.
enum Outcome {
    None,
    Pasted(Result<ImportResult, ApiError>),
    Uploaded(Result<ImportResult, ApiError>),
}

pub async fn show(who: Signed) -> Response {
    render(&who, &PasteForm::default(), Outcome::None)
}

fn render(who: &Signed, sent: &PasteForm, outcome: Outcome) -> Response {
    if let Err(r) = operator_only(who) {
        return r;
    }
    let failed = match &outcome {
        Outcome::Pasted(Err(e)) | Outcome::Uploaded(Err(e)) => Some(e.problem().status),
        _ => None,
    };
    let markup = html! {
        div.grid {
            section.card {
                h2 { "Paste PortSIP ranges" }
                form method="post" action="/console/import" {
                    (page::csrf(who))
                    div.field {
                        label for="numbers" { "Numbers (e.g. 15550001000-15550001999, 15550002000)" }
                        textarea id="numbers" name="numbers" required { (sent.numbers) }
                    }
                    (field("country", "Country (ISO code; blank: from the numbering plan)", "text", sent.country.as_deref(), false))
                    (field("region", "Region", "text", sent.region.as_deref(), false))
                    (field("area_code", "Area code", "text", sent.area_code.as_deref(), false))
                    (field("provider", "Provider", "text", sent.provider.as_deref(), false))
                    (select("carrier_module", "Carrier module", &MODULES, sent.carrier_module.as_deref(), Some("default")))
                    (select("number_type", "Type", &NUMBER_TYPES, sent.number_type.as_deref(), Some("default")))
                    (field("monthly_cost", "Monthly cost", "text", sent.monthly_cost.as_deref(), false))
                    (field("currency", "Currency", "text", sent.currency.as_deref(), false))
                    (field("tenant_id", "Private pool of tenant (id)", "text", sent.tenant_id.as_deref(), false))
                    @if let Outcome::Pasted(r) = &outcome { (summary(r)) }
                    button type="submit" { "Import" }
                }
            }
            section.card {
                h2 { "Upload a CSV file" }
                p.muted { "A header row naming the columns: " code { (didroute_shared::wire::CSV_COLUMNS.join(",")) } }
                form method="post" action="/console/import/csv" enctype="multipart/form-data" {
                    (page::csrf(who))
                    div.field {
                        label for="file" { "CSV file" }
                        input id="file" name="file" type="file" accept=".csv,text/csv" required;
                    }
                    @if let Outcome::Uploaded(r) = &outcome { (summary(r)) }
                    button type="submit" { "Upload and import" }
                }
            }
        }
    };
    let mut res = page::page(who, "Import inventory", markup);
    if let Some(status) = failed {
        *res.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    }
    res
}

/// An import's result: counts, and each rejected input with its reason.
fn summary(r: &Result<ImportResult, ApiError>) -> Markup {
    html! {
        @match r {
            Err(e) => (problem(Some(e))),
            Ok(r) => {
                div.done role="status" {
                    strong { "Imported " (r.imported) } ", already present " (r.already_present) ", rejected " (r.rejected.len())
                }
                @if !r.rejected.is_empty() {
                    ul { @for x in &r.rejected { li { code { (x.input) } " — " (x.reason) } } }
                }
            }
        }
    }
}

pub async fn paste(who: Signed, State(s): State<AppState>, body: Bytes) -> Response {
    let posted = match form::read::<PasteForm>(&who, &body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    if let Err(r) = operator_only(&who) {
        return r;
    }
    let f = posted.fields.clone();
    let result = async {
        let req = ImportRequest {
            numbers: NumbersInput::Text(f.numbers.clone()),
            country: opt(&f.country).unwrap_or_default(),
            region: opt(&f.region),
            area_code: opt(&f.area_code),
            provider: opt(&f.provider),
            carrier_module: opt(&f.carrier_module),
            number_type: opt(&f.number_type),
            monthly_cost: opt(&f.monthly_cost)
                .map(|c| c.parse())
                .transpose()
                .map_err(|e| ApiError::new(ProblemType::InvalidField, format!("monthly_cost: {e}")))?,
            currency: opt(&f.currency),
            tenant_id: opt(&f.tenant_id)
                .map(|t| t.parse())
                .transpose()
                .map_err(|_| ApiError::new(ProblemType::InvalidField, "tenant_id must be a tenant's id (a UUID)"))?,
        };
        let body = serde_json::to_value(&req).map_err(anyhow::Error::from)?;
        let key = posted.key("POST /v1/inventory application/json", &body)?;
        inventory::import(&s.db, req, key.as_ref()).await?.typed()
    }
    .await;
    render(&who, &f, Outcome::Pasted(result))
}

pub async fn upload(who: Signed, State(s): State<AppState>, mut parts: Multipart) -> Response {
    if let Err(r) = operator_only(&who) {
        return r;
    }
    let (mut csrf, mut nonce, mut file) = (None, None, None);
    loop {
        match parts.next_field().await {
            Ok(Some(part)) => {
                let name = part.name().unwrap_or_default().to_owned();
                let Ok(bytes) = part.bytes().await else { break };
                match name.as_str() {
                    "_csrf" => csrf = Some(String::from_utf8_lossy(&bytes).into_owned()),
                    "_nonce" => nonce = Some(String::from_utf8_lossy(&bytes).into_owned()),
                    "file" => file = Some(bytes),
                    _ => {}
                }
            }
            Ok(None) => break,
            Err(_) => break,
        }
    }
    // checked before anything of the body is used
    if !form::csrf_ok(&who, csrf.as_deref()) {
        return page::csrf_refused();
    }
    let result = async {
        let file = file.filter(|f| !f.is_empty()).ok_or_else(|| {
            ApiError::new(ProblemType::InvalidCsv, "choose a CSV file: the upload had no file or an empty one")
        })?;
        let text =
            std::str::from_utf8(&file).map_err(|_| ApiError::new(ProblemType::InvalidCsv, "the CSV is not UTF-8"))?;
        let key = nonce
            .filter(|n| !n.is_empty())
            .map(|n| Key::of_bytes(&format!("console-{n}"), "POST /v1/inventory text/csv", &file))
            .transpose()?;
        inventory::import_csv(&s.db, text, key.as_ref()).await?.typed()
    }
    .await;
    render(&who, &PasteForm::default(), Outcome::Uploaded(result))
}
