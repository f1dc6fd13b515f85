//! OpenAPI: the document served at `/openapi.json`, generated from the code.
//!
//! Routes are registered through `utoipa_axum::OpenApiRouter` with
//! `routes!(handler)`, so a route cannot exist without its documentation.
//! The schemas here mirror the shared crate's wire types (which stay free of
//! documentation dependencies).

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToResponse, ToSchema};

use crate::service::numbers::NumberView;

/// An error: `application/problem+json` (RFC 9457).
#[derive(ToSchema, ToResponse)]
#[schema(as = Problem)]
#[response(
    description = "problem details: what was wrong and how to fix it",
    content_type = "application/problem+json"
)]
#[allow(dead_code)]
pub struct ProblemDoc {
    /// URI naming the kind of problem, e.g. `https://didroute.dev/problems/invalid-number`.
    #[schema(rename = "type")]
    kind: String,
    title: String,
    status: u16,
    /// What was wrong and how to fix it.
    detail: String,
}

/// The problem answers of every authenticated route: 400 (a malformed path,
/// query or header), 401 (no or a wrong token), 403 (the wrong kind of
/// principal), 500, and 503 (the database is unreachable). Listed once so the
/// routes' documentation cannot drift apart.
pub struct AuthErrors;

/// The problem answers of every route that reads a JSON body: 413 (too
/// large) and 415 (not `application/json`).
pub struct BodyErrors;

fn problems(codes: &[u16]) -> std::collections::BTreeMap<String, utoipa::openapi::RefOr<utoipa::openapi::Response>> {
    codes
        .iter()
        .map(|c| (c.to_string(), utoipa::openapi::RefOr::Ref(utoipa::openapi::Ref::from_response_name("ProblemDoc"))))
        .collect()
}

impl utoipa::IntoResponses for AuthErrors {
    fn responses() -> std::collections::BTreeMap<String, utoipa::openapi::RefOr<utoipa::openapi::Response>> {
        problems(&[400, 401, 403, 500, 503])
    }
}

impl utoipa::IntoResponses for BodyErrors {
    fn responses() -> std::collections::BTreeMap<String, utoipa::openapi::RefOr<utoipa::openapi::Response>> {
        problems(&[413, 415])
    }
}

/// Which call-handling surface receives calls to a number.
#[derive(ToSchema)]
#[schema(as = Subsystem, rename_all = "snake_case")]
#[allow(dead_code)]
pub enum SubsystemDoc {
    Psap,
    Utilities,
    DocumentTelephony,
    Mdoc,
}

/// Where calls to an allocated number go.
#[derive(ToSchema)]
#[schema(as = Route)]
#[allow(dead_code)]
pub struct RouteDoc {
    tenant_id: uuid::Uuid,
    subsystem: SubsystemDoc,
    dashboard_id: String,
    customer_label: String,
    /// ISO 3166-1 alpha-2.
    #[schema(example = "US")]
    country: String,
    friendly_name: Option<String>,
    organisation_id: Option<String>,
    auto_provisioned: bool,
}

/// One change to one number's routing.
#[derive(ToSchema)]
#[schema(as = ChangeEvent)]
#[allow(dead_code)]
pub struct ChangeEventDoc {
    seq: u64,
    #[schema(example = "+15551234567")]
    number: String,
    version: u64,
    /// `upsert` or `delete`.
    op: String,
    route: Option<RouteDoc>,
    at: time::OffsetDateTime,
}

/// Numbers just taken (allocated or reserved) and the position of the change.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Claimed {
    numbers: Vec<NumberView>,
    /// Outbox position: read your write with `min_seq` on a lookup node.
    seq: u64,
}

/// One number after a change, and the position of the change.
#[derive(ToSchema, serde::Serialize)]
#[allow(dead_code)]
pub struct NumberChanged {
    #[schema(inline)]
    #[serde(flatten)]
    number: NumberView,
    seq: u64,
}

/// A released number (absent for the tenant's own local/mdn numbers, which
/// release deletes) and the position of the change.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Released {
    number: Option<NumberView>,
    seq: u64,
}

/// A cancelled reservation.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Cancelled {
    #[schema(example = "+15551234567")]
    number: String,
    #[schema(example = "available")]
    status: String,
    seq: u64,
}

/// The audit trail of one number, oldest first.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct History {
    history: Vec<crate::service::numbers::HistoryEntry>,
}

/// Every tenant.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Tenants {
    tenants: Vec<crate::service::tenants::Tenant>,
}

/// A page of the change feed.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct FeedPage {
    events: Vec<ChangeEventDoc>,
    /// The seq of the last event returned, or `after` when none.
    last_seq: u64,
    /// The highest position that exists.
    head_seq: u64,
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "didroute control plane",
        description = "DID allocation, lifecycle and routing for tenants and operators. Every error is application/problem+json.",
        license(name = "Apache-2.0")
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    components(
        schemas(
            ProblemDoc,
            RouteDoc,
            SubsystemDoc,
            ChangeEventDoc,
            crate::service::inventory::InventoryItem,
            crate::service::inventory::AvailableNumber
        ),
        responses(ProblemDoc)
    ),
    tags(
        (name = "tenants", description = "operator: tenants and their API keys"),
        (name = "inventory", description = "operator: import, search, provisioning, delete; tenants: available numbers"),
        (name = "numbers", description = "tenant: allocate, remap, release, reclaim, history"),
        (name = "reservations", description = "tenant: hold numbers before allocating them"),
        (name = "events", description = "operator: the change feed lookup nodes tail"),
        (name = "graphql", description = "the same operations as GraphQL, for operators and tenants"),
        (name = "service", description = "health, readiness, metrics, this document")
    )
)]
pub struct ApiDoc;

/// Adds `/openapi.json` itself, which is served outside the documented router.
pub fn document_self(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem};
    use utoipa::openapi::response::ResponseBuilder;
    use utoipa::openapi::{ContentBuilder, ObjectBuilder};
    let op = OperationBuilder::new()
        .tag("service")
        .summary(Some("this document"))
        .security(utoipa::openapi::security::SecurityRequirement::default())
        .response(
            "200",
            ResponseBuilder::new()
                .description("the OpenAPI 3.1 document of this API")
                .content("application/json", ContentBuilder::new().schema(Some(ObjectBuilder::new())).build())
                .build(),
        )
        .build();
    openapi.paths.paths.insert("/openapi.json".to_owned(), PathItem::new(HttpMethod::Get, op));
}
