//! Control-plane integration tests: real PostgreSQL, real HTTP on loopback.

mod csv_import;
mod e2e;
mod errors;
mod graphql;
mod helpers;
mod isolation;
mod lifecycle;
mod numbers;
mod observability;
mod openapi;
mod rls;
