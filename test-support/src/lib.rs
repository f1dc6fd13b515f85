//! The one test harness of didroute's integration tests: a control plane on
//! port 0 over its own fresh database ([`spawn_app`]), HTTP helpers on it,
//! a lookup node tailing it, and bounded waits.
//!
//! A dev-dependency only (of the control plane's api and kafka tests and of
//! didctl's tests); no binary links it.
//!
//! The database server is `DATABASE_URL` (an owner/superuser URL;
//! `scripts/test` starts a private cluster and sets it), or the machine's
//! PostgreSQL at 127.0.0.1:5432 when unset.

#![forbid(unsafe_code)]

mod app;
pub mod carrier_sim;
mod client;
mod database;
mod lookup;
mod tls;
mod wait;

pub use app::{settings, spawn_app, spawn_app_with, spawn_app_with_pools, TestApp, OPERATOR_TOKEN};
pub use client::TestTenant;
pub use database::{admin_url, db_args, fresh_database};
pub use lookup::start_lookup;
pub use tls::TestCa;
pub use wait::{eventually, within, PATIENCE};
