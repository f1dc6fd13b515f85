//! Domain types shared by the control plane and the lookup node.
//!
//! Architecture invariant: this crate does no IO (no sockets, no files, no
//! database, no clock reads except where a caller passes a time in). Both
//! services and the benchmarks depend on it, so it stays small and cheap to
//! compile.
#![forbid(unsafe_code)]

pub mod country;
pub mod e164;
pub mod event;
pub mod greeting;
pub mod numbering;
pub mod problem;
pub mod range;
pub mod route;
pub mod subsystem;
pub mod wire;

pub use country::Country;
pub use e164::{NumberError, E164};
pub use event::{ChangeEvent, EventError, Op, RangeRef};
pub use greeting::{Greeting, GreetingKind};
pub use problem::Problem;
pub use range::{parse_ranges, parse_ranges_in, NumberRange, RangeError, RangeParse, SpanError};
pub use route::{Route, Tracking};
pub use subsystem::Subsystem;
