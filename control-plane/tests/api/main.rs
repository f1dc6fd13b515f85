//! Control-plane integration tests: real PostgreSQL, real HTTP on loopback.

/// The shared harness (`spawn_app()` and friends), under the name the tests use.
use didroute_test_support as helpers;

mod csv_import;
mod deploy;
mod e2e;
mod errors;
mod graphql;
mod greetings;
mod idempotency;
mod isolation;
mod keys;
mod leases;
mod lifecycle;
mod lineage;
mod numbering;
mod numbers;
mod observability;
mod openapi;
mod overload;
mod ranges;
mod retries;
mod rls;
mod security;
mod tls;
mod tracking;
mod usage;
