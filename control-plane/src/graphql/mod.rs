//! GraphQL at `POST /graphql` (async-graphql): the tenant's numbers, one
//! number with its route and history, available numbers, and for the
//! operator tenants and inventory; mutations allocate, reserve,
//! cancelReservation, remap, release and reclaim.
//!
//! Same rules as REST, because it is the same code: the handler
//! authenticates with the REST `Principal` extractor (401 problem+json for a
//! missing or bad token), every resolver calls the service layer (tenant
//! transactions, row-level security, lifecycle checks), and every
//! `ApiError` becomes a GraphQL error whose `extensions` carry the REST
//! problem document plus a `code` (BAD_REQUEST, FORBIDDEN, NOT_FOUND,
//! CONFLICT, UNPROCESSABLE, INTERNAL, …). Tenant fields with the operator
//! token, operator fields with a tenant key, and every mutation with a
//! read-only key are FORBIDDEN; a feed token is refused before any of it. Each
//! mutation is its own transaction, as its REST twin is; several mutations
//! in one request run in order and are not atomic together.
//!
//! Depth and complexity are limited ([`schema::MAX_DEPTH`],
//! [`schema::MAX_COMPLEXITY`]); a request over either is refused before
//! anything runs, with `GRAPHQL_VALIDATION_FAILED`.

mod error;
pub(crate) mod handler;
mod schema;
mod types;

pub use handler::handler;
pub use schema::{schema, DidrouteSchema, MAX_COMPLEXITY, MAX_DEPTH};

/// The schema in SDL, for clients and code generators.
pub fn sdl() -> String {
    schema().sdl()
}
