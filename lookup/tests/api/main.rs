//! The lookup node over real HTTP on 127.0.0.1, fed by a scripted fake of
//! the control plane's event feed.

mod support;

mod bootstrap;
mod caller_id;
mod delivery;
mod fold;
mod head;
mod integrity;
mod nasty;
mod node;
mod openapi;
mod read_your_writes;
mod readiness;
mod routes;
mod usage;
