//! The control plane's one error type, mapped to problem+json exactly once.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use didroute_shared::problem::{Problem, ProblemType, CONTENT_TYPE};

/// Everything a request can fail with: a problem of one of the shared
/// [`ProblemType`]s (its status and title come from the kind, so no route can
/// give a kind another title), or a database or internal failure mapped to
/// one below.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{1}")]
    Problem(ProblemType, String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("internal error: {0}")]
    Internal(#[from] anyhow::Error),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// A problem of `kind`; `detail` says what was wrong and how to fix it.
    pub fn new(kind: ProblemType, detail: impl Into<String>) -> Self {
        ApiError::Problem(kind, detail.into())
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        ApiError::new(ProblemType::InvalidRequest, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        ApiError::new(ProblemType::NotFound, detail)
    }

    /// The kind of problem this error answers with.
    pub fn kind(&self) -> ProblemType {
        match self {
            ApiError::Problem(kind, _) => *kind,
            ApiError::Database(e) => database_kind(e).0,
            ApiError::Internal(_) => ProblemType::Internal,
        }
    }

    /// The last segment of the problem `type`: a small, fixed set (metrics
    /// label their outcomes with it).
    pub fn slug(&self) -> &'static str {
        self.kind().slug()
    }

    /// The problem document this error answers with.
    pub fn problem(&self) -> Problem {
        match self {
            ApiError::Problem(kind, detail) => Problem::of(*kind, detail.clone()),
            ApiError::Database(e) => {
                let (kind, fixed) = database_kind(e);
                match (fixed, e) {
                    // our own triggers' messages (numbers_guard): written for
                    // the caller, naming the number and its states
                    (None, sqlx::Error::Database(db)) => Problem::of(kind, db.message()),
                    (fixed, _) => Problem::of(kind, fixed.unwrap_or(INTERNAL_DETAIL)),
                }
            }
            ApiError::Internal(_) => Problem::of(ProblemType::Internal, INTERNAL_DETAIL),
        }
    }
}

const INTERNAL_DETAIL: &str = "the server failed; the error is logged";

/// The kind and the detail a database error answers with. Constraint and
/// trigger errors that reach here are the caller's doing (the SQL enforces
/// the rules). PostgreSQL's own messages name tables and constraints, so
/// the client gets a fixed sentence per kind and the message goes to the
/// log only (see `IntoResponse`); `None` marks our triggers' messages, which
/// are written for the caller. Anything else is ours.
fn database_kind(e: &sqlx::Error) -> (ProblemType, Option<&'static str>) {
    if let sqlx::Error::Database(db) = e {
        match db.code().as_deref() {
            // numbers_guard: a lifecycle transition that is not allowed
            Some("DR001") => return (ProblemType::InvalidTransition, None),
            Some("DR002") => return (ProblemType::NotAllocatable, None),
            Some("23505") => {
                return (ProblemType::AlreadyExists, Some("something with the same identity exists already"))
            }
            Some("23514") | Some("23502") => {
                return (
                    ProblemType::ConstraintViolated,
                    Some("a value breaks one of the stored rules: check the request"),
                )
            }
            // a NUL (U+0000) in a text value (character_not_in_repertoire)
            // or in a jsonb one (untranslatable_character, e.g. an audit
            // detail quoting the caller): JSON and query strings can carry
            // one, PostgreSQL cannot. Every string the server sends is Rust
            // UTF-8, so only a caller's NUL raises these.
            Some("22021") | Some("22P05") => {
                return (
                    ProblemType::InvalidText,
                    Some("a text value contains the NUL character (U+0000), which cannot be stored: remove it"),
                )
            }
            Some("40001") | Some("40P01") => {
                return (ProblemType::Retry, Some("the change conflicted with another; retry it"))
            }
            _ => {}
        }
    }
    if matches!(e, sqlx::Error::PoolTimedOut) {
        return (ProblemType::Overloaded, Some("no database connection was free in time; retry"));
    }
    (ProblemType::Internal, Some(INTERNAL_DETAIL))
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = self.problem();
        if problem.status >= 500 {
            tracing::error!(error = %self, status = problem.status, "request failed");
        } else if matches!(problem.status, 401 | 403) {
            // who was refused is the request span's id; the presented token is
            // never in `detail`, so it never reaches the log
            tracing::warn!(status = problem.status, kind = problem_kind(&problem), detail = %problem.detail, "refused");
        } else if let ApiError::Database(_) = self {
            // the database refused the caller's input: kept, in case it ever
            // refuses something that was ours
            tracing::info!(error = %self, status = problem.status, "request refused by the database");
        }
        problem_response(&problem)
    }
}

fn problem_kind(problem: &Problem) -> &'static str {
    problem.problem_type().map_or("unknown", ProblemType::slug)
}

/// A problem document as an HTTP response.
pub fn problem_response(problem: &Problem) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut res = (status, problem.to_json()).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    if status == StatusCode::SERVICE_UNAVAILABLE {
        res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    res
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;

    /// A database error as PostgreSQL raises it: a SQLSTATE and a message
    /// that may name tables and constraints.
    #[derive(Debug)]
    struct Raised(&'static str, &'static str);

    impl std::fmt::Display for Raised {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.1)
        }
    }

    impl std::error::Error for Raised {}

    impl sqlx::error::DatabaseError for Raised {
        fn message(&self) -> &str {
            self.1
        }
        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.0))
        }
        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> sqlx::error::ErrorKind {
            sqlx::error::ErrorKind::Other
        }
    }

    fn answer(code: &'static str, message: &'static str) -> Problem {
        ApiError::Database(sqlx::Error::Database(Box::new(Raised(code, message)))).problem()
    }

    #[test]
    fn database_messages_naming_tables_or_constraints_never_reach_the_client() {
        for (code, message, kind) in [
            ("23505", "duplicate key value violates unique constraint \"numbers_pkey\"", ProblemType::AlreadyExists),
            (
                "23514",
                "new row for relation \"numbers\" violates check constraint \"cost_ok\"",
                ProblemType::ConstraintViolated,
            ),
            ("23502", "null value in column \"tenant_id\" of relation \"api_keys\"", ProblemType::ConstraintViolated),
            ("40001", "could not serialize access due to concurrent update on \"outbox\"", ProblemType::Retry),
            ("22021", "invalid byte sequence for encoding \"UTF8\": 0x00", ProblemType::InvalidText),
            ("XX000", "relation \"numbers\" is broken", ProblemType::Internal),
        ] {
            let p = answer(code, message);
            assert_eq!(p.problem_type(), Some(kind), "{code}");
            assert_eq!(p.status, kind.status(), "{code}");
            for leaked in ["numbers", "outbox", "api_keys", "constraint", "relation", "column"] {
                assert!(!p.detail.contains(leaked), "{code} answered {:?}", p.detail);
            }
        }
    }

    #[test]
    fn our_own_trigger_messages_are_written_for_the_caller_and_kept() {
        let p = answer("DR001", "number +15550001000 cannot go from cooldown to allocated");
        assert_eq!(p.problem_type(), Some(ProblemType::InvalidTransition));
        assert_eq!(p.detail, "number +15550001000 cannot go from cooldown to allocated");
    }

    #[test]
    fn each_kind_keeps_its_one_title_and_status() {
        let e = ApiError::new(ProblemType::PoolExhausted, "only 9 of 50 numbers match");
        let p = e.problem();
        assert_eq!((p.status, p.title.as_str()), (422, ProblemType::PoolExhausted.title()));
        assert_eq!(e.slug(), "pool-exhausted");
    }
}
