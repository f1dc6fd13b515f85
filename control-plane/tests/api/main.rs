//! Control-plane integration tests: real PostgreSQL, real HTTP on loopback.

mod helpers;
mod numbers;
