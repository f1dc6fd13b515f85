//! The change-event wire format: one JSON object per event, keyed by number.
//!
//! `{seq, number, version, op: "upsert"|"delete", route: {...}|null, at}`

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{Route, E164};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// The number is allocated and routes as `route` says.
    Upsert,
    /// The number no longer routes (released, disabled, deleted).
    Delete,
}

/// One change to one number's routing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeEvent {
    /// Outbox position: gap-free, in commit order, across all numbers.
    pub seq: u64,
    pub number: E164,
    /// The number's own change counter: a consumer ignores an event whose
    /// version is not newer than the one it holds, so replays are harmless.
    pub version: u64,
    pub op: Op,
    pub route: Option<Route>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("malformed change event: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error("an upsert event must carry a route")]
    UpsertWithoutRoute,
    #[error("a delete event must not carry a route")]
    DeleteWithRoute,
    #[error("route country {country} does not match number {number}")]
    CountryMismatch { country: String, number: E164 },
}

impl ChangeEvent {
    /// Decodes and validates one event.
    pub fn decode(bytes: &[u8]) -> Result<Self, EventError> {
        let ev: ChangeEvent = serde_json::from_slice(bytes)?;
        ev.validate()?;
        Ok(ev)
    }

    pub fn validate(&self) -> Result<(), EventError> {
        match (self.op, &self.route) {
            (Op::Upsert, None) => Err(EventError::UpsertWithoutRoute),
            (Op::Delete, Some(_)) => Err(EventError::DeleteWithRoute),
            (Op::Upsert, Some(r)) if !r.country.matches(&self.number) => Err(EventError::CountryMismatch {
                country: r.country.to_string(),
                number: self.number,
            }),
            _ => Ok(()),
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a change event always serialises")
    }
}
