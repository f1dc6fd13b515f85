//! Carrier adapter tests: `didroute-carrier-sim` runs as its own process and
//! the Telnyx adapter talks to it over TCP on loopback.

mod api;
mod faults;
mod flows;
mod jobs;
mod orders;
mod reconcile;
mod release;
mod scale;
mod sim;
mod standalone;
