//! `GET /v1/events`: the feed lookup nodes tail when no Kafka is configured.

use didroute_shared::problem::ProblemType;
use std::time::Duration;

use axum::extract::State;
use axum::response::IntoResponse;
use serde::Deserialize;

#[allow(unused_imports)]
use super::docs::{AuthErrors, BodyErrors, ProblemDoc};
use crate::auth::FeedReader;
use crate::error::{ApiError, ApiResult};
use crate::extract::Query;
use crate::outbox;
use crate::state::AppState;
use didroute_shared::wire::FeedPage;

const MAX_LIMIT: i64 = 10_000;
const MAX_WAIT_MS: u64 = 60_000;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// Events after this position (default 0: from the start).
    #[serde(default)]
    after: u64,
    /// At most this many events (default 1000).
    #[param(minimum = 1, maximum = 10000)]
    limit: Option<i64>,
    /// How long to hold the request, in milliseconds, while no event is
    /// newer than `after` (default 0: answer at once).
    #[serde(default)]
    #[param(maximum = 60000)]
    wait_ms: u64,
}

#[utoipa::path(get, path = "/v1/events", tag = "events", params(FeedQuery),
    responses((status = 200, description = "events after `after`, oldest first", body = FeedPage),
        AuthErrors))]
/// Events after `after`; with `wait_ms`, holds the request until there is
/// one (long poll). Answers `{events, last_seq, head_seq}`.
pub async fn feed(
    _: FeedReader,
    State(s): State<AppState>,
    Query(q): Query<FeedQuery>,
) -> ApiResult<impl IntoResponse> {
    let limit = q.limit.unwrap_or(1000);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::new(ProblemType::InvalidQuery, format!("limit must be between 1 and {MAX_LIMIT}")));
    }
    if q.wait_ms > MAX_WAIT_MS {
        return Err(ApiError::new(ProblemType::InvalidQuery, format!("wait_ms must be at most {MAX_WAIT_MS}")));
    }
    let mut head = s.head.subscribe();
    let mut events = outbox::read(&s.db.operator, q.after, limit).await?;
    // A reader past this instance's head: another instance may have written
    // the newer positions (then the database's head says so at once), or the
    // database went back in time (a restore); the reader is told the real
    // head at once, which is how a lookup node notices the latter.
    let mut behind = None;
    if events.is_empty() && *head.borrow() < q.after {
        let db_head = outbox::head(&s.db.operator).await?;
        s.advance_head(db_head);
        if db_head < q.after {
            behind = Some(db_head);
        }
    }
    if events.is_empty() && q.wait_ms > 0 && behind.is_none() {
        let woke = tokio::time::timeout(Duration::from_millis(q.wait_ms), head.wait_for(|h| *h > q.after))
            .await
            .is_ok_and(|r| r.is_ok());
        if woke {
            events = outbox::read(&s.db.operator, q.after, limit).await?;
        }
    }
    let last_seq = events.last().map_or(q.after, |e| e.seq);
    let head_seq = behind.unwrap_or_else(|| (*head.borrow()).max(last_seq));
    // every event carries the lineage; only a page without one asks for it
    let lineage = match events.last().and_then(|e| e.lineage) {
        Some(lineage) => Some(lineage),
        None => Some(outbox::lineage::current(&s.db.operator).await?.id),
    };
    Ok(axum::Json(FeedPage { events, last_seq, head_seq, lineage }))
}

#[cfg(test)]
mod tests {
    use utoipa::IntoParams;

    use super::{FeedQuery, MAX_LIMIT, MAX_WAIT_MS};

    /// The documented bounds are the ones `feed` enforces.
    #[test]
    fn the_documented_bounds_are_the_enforced_ones() {
        let params = serde_json::to_value(FeedQuery::into_params(|| None)).unwrap();
        let bound = |name: &str, key: &str| {
            let p = params.as_array().unwrap().iter().find(|p| p["name"] == name).unwrap();
            p["schema"][key].as_f64().unwrap_or_else(|| panic!("{name}.{key}: {p}"))
        };
        assert_eq!(bound("limit", "minimum"), 1.0);
        assert_eq!(bound("limit", "maximum"), MAX_LIMIT as f64);
        assert_eq!(bound("wait_ms", "maximum"), MAX_WAIT_MS as f64);
    }
}
