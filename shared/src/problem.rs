//! The one error shape both services answer with: RFC 9457 problem details,
//! and the one list of the kinds of problem they answer with.

use serde::{Deserialize, Serialize};

pub const CONTENT_TYPE: &str = "application/problem+json";

/// `{"type", "title", "status", "detail"}`, sent as `application/problem+json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
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

/// Declares [`ProblemType`] from one table, so a kind's slug, title and
/// status are written exactly once.
macro_rules! problem_types {
    ($($(#[$doc:meta])* $variant:ident => $status:literal, $slug:literal, $title:literal;)+) => {
        /// Every kind of problem either service answers with. Each has one
        /// slug (the last segment of its `type`), one title and one status,
        /// whichever service and route answers with it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ProblemType {
            $($(#[$doc])* $variant,)+
        }

        impl ProblemType {
            /// Every kind, in declaration order.
            pub const ALL: &'static [ProblemType] = &[$(ProblemType::$variant,)+];

            /// The last segment of the problem `type`: a small, fixed set
            /// (metrics label their outcomes with it).
            pub const fn slug(self) -> &'static str {
                match self {
                    $(ProblemType::$variant => $slug,)+
                }
            }

            /// The fixed short summary of the kind.
            pub const fn title(self) -> &'static str {
                match self {
                    $(ProblemType::$variant => $title,)+
                }
            }

            /// The HTTP status every answer of this kind carries.
            pub const fn status(self) -> u16 {
                match self {
                    $(ProblemType::$variant => $status,)+
                }
            }
        }
    };
}

problem_types! {
    // 400: the request itself is wrong
    /// A request the server cannot take, with no more specific kind.
    InvalidRequest => 400, "invalid-request", "Invalid request";
    /// A phone number that is not E.164.
    InvalidNumber => 400, "invalid-number", "Invalid number";
    /// A field of a request body with a wrong value.
    InvalidField => 400, "invalid-field", "Invalid field";
    /// A query parameter with a wrong value.
    InvalidQuery => 400, "invalid-query", "Invalid query";
    /// A path segment with a wrong value.
    InvalidPath => 400, "invalid-path", "Invalid path";
    /// A JSON body that does not have the request's shape.
    InvalidBody => 400, "invalid-body", "Invalid body";
    /// A body that is not JSON at all.
    MalformedJson => 400, "malformed-json", "Malformed JSON";
    /// An import's CSV that cannot be read.
    InvalidCsv => 400, "invalid-csv", "Invalid CSV";
    /// A country that is not ISO 3166-1 alpha-2, or not served.
    InvalidCountry => 400, "invalid-country", "Invalid country";
    /// A tenant id that is not a UUID.
    InvalidTenantId => 400, "invalid-tenant-id", "Invalid tenant id";
    /// An `Idempotency-Key` header that cannot be one.
    InvalidIdempotencyKey => 400, "invalid-idempotency-key", "Invalid idempotency key";
    /// A greeting template, greeting text or locale that cannot be used
    /// (an unknown placeholder, unbalanced braces, too long).
    InvalidGreeting => 400, "invalid-greeting", "Invalid greeting";
    /// Route attributes that are not a JSON object of at most 1 KiB.
    InvalidAttributes => 400, "invalid-attributes", "Invalid attributes";
    /// Text that cannot be stored (a NUL character).
    InvalidText => 400, "invalid-text", "Invalid text";
    /// A GraphQL document that does not validate.
    InvalidGraphql => 400, "invalid-graphql", "Invalid GraphQL request";
    // 401, 403, 404, 405
    /// No bearer token, or one that is not valid.
    Unauthorized => 401, "unauthorized", "Unauthorized";
    /// A valid token of the wrong kind of principal.
    Forbidden => 403, "forbidden", "Forbidden";
    /// Nothing at this path, or nothing this caller may see there.
    NotFound => 404, "not-found", "Not found";
    /// A number the lookup node holds no route for.
    NumberNotRouted => 404, "number-not-routed", "Number not routed";
    /// A method the path does not serve.
    MethodNotAllowed => 405, "method-not-allowed", "Method not allowed";
    // 409: the request conflicts with the current state
    /// Something with the same identity exists already.
    AlreadyExists => 409, "already-exists", "Already exists";
    /// A tenant with that name or id exists already.
    TenantExists => 409, "tenant-exists", "Tenant exists";
    /// A range route overlaps another range (another tenant's, or one of the
    /// same tenant's) or a number another tenant holds.
    RangeOverlap => 409, "range-overlap", "Range overlaps";
    /// A credential was already created with this `Idempotency-Key`: its
    /// secret is stored only as a hash, so it can be listed, not shown again.
    IdempotencySecretNotReplayable => 409, "idempotency-secret-not-replayable", "Idempotency secret not replayable";
    /// A lifecycle transition the number's state does not allow.
    InvalidTransition => 409, "invalid-transition", "Invalid transition";
    /// The number is allocated already.
    AlreadyAllocated => 409, "already-allocated", "Already allocated";
    /// The number is reserved already.
    AlreadyReserved => 409, "already-reserved", "Already reserved";
    /// The number is not allocated.
    NotAllocated => 409, "not-allocated", "Not allocated";
    /// The number is not reserved.
    NotReserved => 409, "not-reserved", "Not reserved";
    /// The number is not released.
    NotReleased => 409, "not-released", "Not released";
    /// The number cannot be taken now.
    NumberUnavailable => 409, "number-unavailable", "Number unavailable";
    /// The number is in use and cannot be changed that way.
    NumberInUse => 409, "number-in-use", "Number in use";
    /// A number the caller released itself: reclaim it rather than take it.
    Released => 409, "released", "Released by you";
    /// A released number still in its cooldown.
    InCooldown => 409, "in-cooldown", "In cooldown";
    /// A released number whose reclaim window has passed.
    ReclaimWindowClosed => 409, "reclaim-window-closed", "Reclaim window closed";
    /// A released number its tenant may still reclaim (aging).
    ReclaimWindowOpen => 409, "reclaim-window-open", "Reclaim window open";
    /// A tracking session that ended (or expired): start a new one.
    TrackingSessionEnded => 409, "tracking-session-ended", "Tracking session ended";
    /// A number whose carrier order has not completed.
    OrderPending => 409, "order-pending", "Carrier order pending";
    // 413, 415
    /// A body larger than the route takes.
    PayloadTooLarge => 413, "payload-too-large", "Payload too large";
    /// A body that is not `application/json`.
    UnsupportedMediaType => 415, "unsupported-media-type", "Unsupported media type";
    // 422: well-formed, but against the rules
    /// A number that cannot be allocated.
    NotAllocatable => 422, "not-allocatable", "Not allocatable";
    /// No free number left in the pool asked for.
    PoolExhausted => 422, "pool-exhausted", "Pool exhausted";
    /// A tenant that does not exist.
    UnknownTenant => 422, "unknown-tenant", "Unknown tenant";
    /// A carrier that is not configured (`DIDROUTE_CARRIERS`).
    UnknownCarrier => 422, "unknown-carrier", "Unknown carrier";
    /// An import with more rows than one request may carry.
    ImportTooLarge => 422, "import-too-large", "Import too large";
    /// An `Idempotency-Key` reused with a different request.
    IdempotencyKeyReused => 422, "idempotency-key-reused", "Idempotency key reused";
    /// A value the stored rules refuse.
    ConstraintViolated => 422, "constraint-violated", "Constraint violated";
    // 5xx
    /// The server failed; the error is logged.
    Internal => 500, "internal", "Internal server error";
    /// A carrier did not answer, or answered with an error (a search).
    CarrierUnavailable => 502, "carrier-unavailable", "Carrier unavailable";
    /// The change conflicted with another; retrying it may succeed.
    Retry => 503, "retry", "Retry";
    /// No capacity (a database connection) was free in time.
    Overloaded => 503, "overloaded", "Overloaded";
    /// A lookup node still loading its initial snapshot.
    NotReady => 503, "not-ready", "Not ready";
    /// A lookup node that has not reached the position asked for.
    NotCaughtUp => 503, "not-caught-up", "Not caught up";
}

impl ProblemType {
    /// The kind whose slug is `slug`.
    pub fn from_slug(slug: &str) -> Option<ProblemType> {
        ProblemType::ALL.iter().copied().find(|kind| kind.slug() == slug)
    }

    /// The full `type` URI.
    pub fn uri(self) -> String {
        format!("{PROBLEM_BASE}{}", self.slug())
    }
}

impl std::fmt::Display for ProblemType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.slug())
    }
}

impl Problem {
    /// The document of one problem of kind `kind`; only `detail` varies.
    pub fn of(kind: ProblemType, detail: impl Into<String>) -> Self {
        Problem { kind: kind.uri(), title: kind.title().to_owned(), status: kind.status(), detail: detail.into() }
    }

    /// `slug` names the kind (`invalid-number`), `title` is its fixed summary.
    /// Prefer [`Problem::of`], which takes both from [`ProblemType`].
    pub fn new(status: u16, slug: &str, title: &str, detail: impl Into<String>) -> Self {
        Problem { kind: format!("{PROBLEM_BASE}{slug}"), title: title.to_owned(), status, detail: detail.into() }
    }

    /// The kind this document names, if it is one of [`ProblemType`].
    pub fn problem_type(&self) -> Option<ProblemType> {
        ProblemType::from_slug(self.kind.strip_prefix(PROBLEM_BASE)?)
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a problem always serialises")
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn every_slug_and_title_is_unique() {
        let slugs: HashSet<_> = ProblemType::ALL.iter().map(|k| k.slug()).collect();
        assert_eq!(slugs.len(), ProblemType::ALL.len());
        let titles: HashSet<_> = ProblemType::ALL.iter().map(|k| k.title()).collect();
        assert_eq!(titles.len(), ProblemType::ALL.len(), "two kinds share a title");
    }

    #[test]
    fn slugs_and_titles_are_well_formed() {
        for kind in ProblemType::ALL {
            let slug = kind.slug();
            assert!(!slug.is_empty() && !slug.starts_with('-') && !slug.ends_with('-'), "{slug}");
            assert!(slug.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'), "{slug}");
            let title = kind.title();
            assert!(title.starts_with(|c: char| c.is_ascii_uppercase()), "{title}");
            assert!(!title.ends_with('.'), "{title}");
            assert!((400..600).contains(&kind.status()), "{kind}: {}", kind.status());
        }
    }

    #[test]
    fn the_title_is_fixed_whatever_the_detail() {
        for &kind in ProblemType::ALL {
            let a = Problem::of(kind, "one");
            let b = Problem::of(kind, "two");
            assert_eq!((a.title.as_str(), a.status, &a.kind), (kind.title(), kind.status(), &b.kind));
            assert_eq!(a.title, b.title);
        }
    }

    #[test]
    fn the_slug_round_trips() {
        for &kind in ProblemType::ALL {
            assert_eq!(ProblemType::from_slug(kind.slug()), Some(kind));
            assert_eq!(Problem::of(kind, "x").problem_type(), Some(kind));
        }
        assert_eq!(ProblemType::from_slug("no-such-route"), None);
        assert_eq!(Problem::new(404, "no-such-route", "Not found", "x").problem_type(), None);
    }

    #[test]
    fn unknown_paths_are_not_found() {
        let kind = ProblemType::NotFound;
        assert_eq!((kind.slug(), kind.title(), kind.status()), ("not-found", "Not found", 404));
    }

    #[test]
    fn the_serde_shape_is_unchanged() {
        let p = Problem::of(ProblemType::InvalidNumber, "+1 is not an E.164 number");
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "type": "https://didroute.dev/problems/invalid-number",
                "title": "Invalid number",
                "status": 400,
                "detail": "+1 is not an E.164 number"
            })
        );
        assert_eq!(serde_json::from_slice::<Problem>(&p.to_json()).unwrap(), p);
        assert_eq!(Problem::new(400, "invalid-number", "Invalid number", "+1 is not an E.164 number"), p);
    }
}
