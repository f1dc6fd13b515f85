//! `GET /v1/routes/{number}` and `GET /v1/caller-id/{tenant_id}/{number}`:
//! the answers callers wait on before a call connects.

use didroute_shared::problem::Problem;
use didroute_shared::problem::ProblemType;
use didroute_shared::wire::lookup::{CallerIdAnswer, RouteAnswer};
use didroute_shared::E164;
use hyper::StatusCode;
use uuid::Uuid;

use super::query::{self, WaitQuery};
use super::reply::{self, problem, retry_after, shorten, with_seq, Reply};
use crate::app::App;

fn invalid_number(input: &str, error: &didroute_shared::NumberError) -> Reply {
    problem(ProblemType::InvalidNumber, format!("{} is not an E.164 number: {error}", shorten(input)))
}

fn invalid_query(detail: String) -> Reply {
    problem(ProblemType::InvalidQuery, detail)
}

/// Waits until the snapshot reaches `min_seq`; `Err` after `wait` without.
/// A snapshot loaded after `Ok` is at `min_seq` or later (the store moves
/// the position only after publishing).
async fn reach(app: &App, q: WaitQuery) -> Result<(), ()> {
    let Some(min_seq) = q.min_seq else { return Ok(()) };
    if app.store().load().seq() >= min_seq {
        return Ok(());
    }
    let mut applied = app.store().subscribe();
    let reached = matches!(tokio::time::timeout(q.wait, applied.wait_for(|seq| *seq >= min_seq)).await, Ok(Ok(_)));
    if reached {
        Ok(())
    } else {
        Err(())
    }
}

/// Before the initial catch-up the node holds no complete snapshot: "not
/// allocated" would be a wrong answer, so it says "not yet" instead.
fn not_ready(app: &App) -> Reply {
    let seq = app.store().load().seq();
    let detail = format!(
        "this node is still loading its initial snapshot from the {}: retry shortly or ask another node",
        app.source()
    );
    with_seq(retry_after(problem(ProblemType::NotReady, detail), 1), seq)
}

fn behind(app: &App, min_seq: Option<u64>) -> Reply {
    let seq = app.store().load().seq();
    let detail = format!(
        "this node has applied position {seq}, not yet {}: retry shortly or ask another node",
        min_seq.unwrap_or_default()
    );
    with_seq(retry_after(problem(ProblemType::NotCaughtUp, detail), 1), seq)
}

/// The route of one number.
#[utoipa::path(
    method(get, head),
    path = "/v1/routes/{number}",
    tag = "lookup",
    params(
        ("number" = String, Path, description = "E.164 number: +15551234567, %2B15551234567 or 15551234567", example = "+15551234567"),
        ("min_seq" = Option<u64>, Query, description = "answer only from a snapshot at this position or later (read your writes)"),
        ("wait_ms" = Option<u64>, Query, description = "how long to wait for `min_seq` before answering 503 (default 1000, larger values are capped at 30000)"),
    ),
    responses(
        (status = 200, description = "the number's route and greeting", body = RouteAnswer, headers(("didroute-seq" = u64, description = "the snapshot position the answer was made from"))),
        (status = 400, description = "not an E.164 number (`invalid-number`), or a bad `min_seq`/`wait_ms` (`invalid-query`)", body = Problem, content_type = "application/problem+json", headers(("didroute-seq" = u64))),
        (status = 401, description = "the node requires a bearer token (`DIDROUTE_LOOKUP_TOKENS`) and the request had none of them (`unauthorized`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "the number is not allocated to any tenant, or is disabled (`number-not-routed`)", body = Problem, content_type = "application/problem+json", headers(("didroute-seq" = u64))),
        (status = 503, description = "the node is still loading (`not-ready`) or has not reached `min_seq` within `wait_ms` (`not-caught-up`): retry, or ask another node", body = Problem, content_type = "application/problem+json", headers(("didroute-seq" = u64), ("retry-after" = u32, description = "seconds"))),
    )
)]
pub async fn route(app: &App, input: &str, query: Option<&str>) -> Reply {
    let counters = &app.metrics().lookups;
    let q = match query::parse(query) {
        Ok(q) => q,
        Err(detail) => {
            counters.invalid.inc();
            return with_seq(invalid_query(detail), app.store().load().seq());
        }
    };
    let number = match E164::parse(input) {
        Ok(n) => n,
        Err(error) => {
            counters.invalid.inc();
            return with_seq(invalid_number(input, &error), app.store().load().seq());
        }
    };
    if !app.is_ready() {
        counters.not_ready.inc();
        return not_ready(app);
    }
    if reach(app, q).await.is_err() {
        counters.behind.inc();
        return behind(app, q.min_seq);
    }
    let snapshot = app.store().load();
    let response = match snapshot.route_of(number) {
        Some(hit) => {
            counters.found.inc();
            if let Some(usage) = app.usage() {
                usage.count(number);
            }
            reply::json_bytes(StatusCode::OK, hit.to_json())
        }
        None => {
            counters.not_found.inc();
            // (a second probe on the miss path only: an answer found never pays it)
            let detail = if snapshot.is_blocked(number) {
                format!("{number} is disabled or not provisioned: it routes nowhere, not even through a range route")
            } else {
                format!("{number} is not allocated to any tenant (or is disabled) nor in a range route")
            };
            problem(ProblemType::NumberNotRouted, detail)
        }
    };
    with_seq(response, snapshot.seq())
}

/// Whether `tenant` may present `number` as its outbound caller id: when the
/// number is allocated to that tenant, or has no allocation and is in one of its range routes
/// (and is not blocked: disabled or not provisioned).
#[utoipa::path(
    method(get, head),
    path = "/v1/caller-id/{tenant_id}/{number}",
    tag = "lookup",
    params(
        ("tenant_id" = uuid::Uuid, Path, description = "the tenant that wants to present the number"),
        ("number" = String, Path, description = "E.164 number: +15551234567, %2B15551234567 or 15551234567", example = "+15551234567"),
        ("min_seq" = Option<u64>, Query, description = "answer only from a snapshot at this position or later (read your writes)"),
        ("wait_ms" = Option<u64>, Query, description = "how long to wait for `min_seq` before answering 503 (default 1000, larger values are capped at 30000)"),
    ),
    responses(
        (status = 200, description = "whether the number is allocated to the tenant", body = CallerIdAnswer, headers(("didroute-seq" = u64, description = "the snapshot position the answer was made from"))),
        (status = 400, description = "not a tenant id (`invalid-tenant-id`), not an E.164 number (`invalid-number`), or a bad `min_seq`/`wait_ms` (`invalid-query`)", body = Problem, content_type = "application/problem+json", headers(("didroute-seq" = u64))),
        (status = 401, description = "the node requires a bearer token (`DIDROUTE_LOOKUP_TOKENS`) and the request had none of them (`unauthorized`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "the node is still loading (`not-ready`) or has not reached `min_seq` within `wait_ms` (`not-caught-up`): retry, or ask another node", body = Problem, content_type = "application/problem+json", headers(("didroute-seq" = u64), ("retry-after" = u32, description = "seconds"))),
    )
)]
pub async fn caller_id(app: &App, tenant: &str, input: &str, query: Option<&str>) -> Reply {
    let counters = &app.metrics().caller_id;
    let seq = || app.store().load().seq();
    let q = match query::parse(query) {
        Ok(q) => q,
        Err(detail) => {
            counters.invalid.inc();
            return with_seq(invalid_query(detail), seq());
        }
    };
    let tenant_id = match Uuid::try_parse(tenant) {
        Ok(id) => id,
        Err(error) => {
            counters.invalid.inc();
            let detail = format!(
                "{} is not a tenant id (a UUID such as 67e55044-10b1-426f-9247-bb680e5fe0c8): {error}",
                shorten(tenant)
            );
            return with_seq(problem(ProblemType::InvalidTenantId, detail), seq());
        }
    };
    let number = match E164::parse(input) {
        Ok(n) => n,
        Err(error) => {
            counters.invalid.inc();
            return with_seq(invalid_number(input, &error), seq());
        }
    };
    if !app.is_ready() {
        counters.not_ready.inc();
        return not_ready(app);
    }
    if reach(app, q).await.is_err() {
        counters.behind.inc();
        return behind(app, q.min_seq);
    }
    let snapshot = app.store().load();
    // a number allocated to someone decides by its holder; one without an
    // allocation of its own, by the range it is in (PortSIP: a tenant may
    // present any number of its DID ranges), unless it is blocked (disabled,
    // provisioning pending or failed: route_of answers nothing for it)
    let allowed = snapshot.route_of(number).is_some_and(|hit| hit.route().tenant_id == tenant_id);
    if allowed {
        counters.allowed.inc()
    } else {
        counters.denied.inc()
    }
    with_seq(reply::json(StatusCode::OK, &CallerIdAnswer { number, tenant_id, allowed }), snapshot.seq())
}
