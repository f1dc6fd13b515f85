//! What running didroute across machines needs beyond loopback: TLS on the
//! HTTP listeners (certificates reloaded without a restart), TLS for the HTTP
//! clients (an operator's own CA), and client properties for managed Kafka.
//!
//! One crate so the control plane, the lookup node and didctl agree on the
//! variables and on the crypto provider: rustls with `ring` everywhere (no
//! aws-lc-rs C build, and no process-wide provider to pick at start).
#![forbid(unsafe_code)]

pub mod kafka;
pub mod tls_client;
pub mod tls_server;

pub use kafka::KafkaProperties;
pub use tls_server::{ServerTls, TlsFiles};
