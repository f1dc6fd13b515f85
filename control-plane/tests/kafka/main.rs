//! Kafka: the outbox relay and lookup nodes consuming the routes topic,
//! against a real broker (tansu, started by ./scripts/test) and, for
//! faults that need precise timing, rdkafka's in-process mock cluster.

mod helpers;

mod bootstrap;
mod e2e;
mod faults;
mod lineage;
mod ranges;
mod readiness;
mod relay;
mod repeats;
mod tls;
mod tracking;
mod usage;
