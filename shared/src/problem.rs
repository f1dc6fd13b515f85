//! The one error shape both services answer with: RFC 9457 problem details.

use serde::{Deserialize, Serialize};

pub const CONTENT_TYPE: &str = "application/problem+json";

/// `{"type", "title", "status", "detail"}`, sent as `application/problem+json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// A stable URI-reference naming the kind of problem, e.g.
    /// `https://didroute.dev/problems/invalid-number`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// What was wrong and how to fix it.
    pub detail: String,
}

/// Base of every problem `type`.
pub const PROBLEM_BASE: &str = "https://didroute.dev/problems/";

impl Problem {
    /// `slug` names the kind (`invalid-number`), `title` is its fixed summary.
    pub fn new(status: u16, slug: &str, title: &str, detail: impl Into<String>) -> Self {
        Problem { kind: format!("{PROBLEM_BASE}{slug}"), title: title.to_owned(), status, detail: detail.into() }
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a problem always serialises")
    }
}
