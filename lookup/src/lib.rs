//! didroute lookup node: answers "where does this number route" from an
//! immutable in-memory snapshot kept current by tailing change events.
#![forbid(unsafe_code)]

pub mod snapshot;
