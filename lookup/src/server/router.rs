//! Maps a request to its handler. Paths are matched on the raw (still
//! percent-encoded) path, so `%2B15551234567` reaches the number parser as
//! sent.

use hyper::{Method, Request};

use didroute_shared::problem::ProblemType;

use super::reply::{method_not_allowed, not_found_path, problem, Reply};
use super::{info, lookup, openapi};
use crate::app::App;

#[derive(Debug, PartialEq, Eq)]
enum Endpoint<'a> {
    Route(&'a str),
    CallerId { tenant: &'a str, number: &'a str },
    Snapshot,
    Healthz,
    Readyz,
    Metrics,
    OpenApi,
}

impl Endpoint<'_> {
    /// The path template the OpenAPI document lists the endpoint under.
    #[cfg(test)]
    fn template(&self) -> &'static str {
        match self {
            Endpoint::Route(_) => "/v1/routes/{number}",
            Endpoint::CallerId { .. } => "/v1/caller-id/{tenant_id}/{number}",
            Endpoint::Snapshot => "/v1/snapshot",
            Endpoint::Healthz => "/healthz",
            Endpoint::Readyz => "/readyz",
            Endpoint::Metrics => "/metrics",
            Endpoint::OpenApi => "/openapi.json",
        }
    }
}

fn endpoint(path: &str) -> Option<Endpoint<'_>> {
    if let Some(number) = path.strip_prefix("/v1/routes/") {
        return (!number.contains('/')).then_some(Endpoint::Route(number));
    }
    if let Some(rest) = path.strip_prefix("/v1/caller-id/") {
        let (tenant, number) = rest.split_once('/')?;
        return (!number.contains('/')).then_some(Endpoint::CallerId { tenant, number });
    }
    match path {
        "/v1/snapshot" => Some(Endpoint::Snapshot),
        "/healthz" => Some(Endpoint::Healthz),
        "/readyz" => Some(Endpoint::Readyz),
        "/metrics" => Some(Endpoint::Metrics),
        "/openapi.json" => Some(Endpoint::OpenApi),
        _ => None,
    }
}

pub async fn handle<B>(app: &App, request: Request<B>) -> Reply {
    let uri = request.uri();
    let Some(endpoint) = endpoint(uri.path()) else {
        return not_found_path(uri.path());
    };
    // HEAD is answered like GET: the same status and headers (hyper sends
    // the body's length as content-length and leaves the body out).
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return method_not_allowed(request.method());
    }
    let reads_routes = matches!(endpoint, Endpoint::Route(_) | Endpoint::CallerId { .. } | Endpoint::Snapshot);
    if reads_routes && !app.may_read(request.headers()) {
        return problem(
            ProblemType::Unauthorized,
            "this node answers /v1/* only with a bearer token it is configured with (DIDROUTE_LOOKUP_TOKENS)",
        );
    }
    let query = uri.query();
    match endpoint {
        Endpoint::Route(number) => lookup::route(app, number, query).await,
        Endpoint::CallerId { tenant, number } => lookup::caller_id(app, tenant, number, query).await,
        Endpoint::Snapshot => info::snapshot(app),
        Endpoint::Healthz => info::healthz(),
        Endpoint::Readyz => info::readyz(app),
        Endpoint::Metrics => info::metrics(app),
        Endpoint::OpenApi => openapi::openapi_json(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_only_exact_shapes() {
        assert_eq!(endpoint("/v1/routes/%2B1555"), Some(Endpoint::Route("%2B1555")));
        assert_eq!(endpoint("/v1/routes/"), Some(Endpoint::Route("")));
        assert_eq!(endpoint("/v1/routes/1/2"), None);
        assert_eq!(endpoint("/v1/routes"), None);
        assert_eq!(endpoint("/v1/caller-id/t/n"), Some(Endpoint::CallerId { tenant: "t", number: "n" }));
        assert_eq!(endpoint("/v1/caller-id/t"), None);
        assert_eq!(endpoint("/v1/caller-id/t/n/x"), None);
        assert_eq!(endpoint("/healthz/"), None);
        assert_eq!(endpoint("/metrics"), Some(Endpoint::Metrics));
        assert_eq!(endpoint(""), None);
        assert_eq!(endpoint("/openapi.json"), Some(Endpoint::OpenApi));
    }

    /// Every endpoint the router serves, one example each (an endpoint
    /// added to [`Endpoint`] must name its template, an exhaustive match).
    const SERVED: [&str; 7] = [
        "/v1/routes/+15551234567",
        "/v1/caller-id/67e55044-10b1-426f-9247-bb680e5fe0c8/+15551234567",
        "/v1/snapshot",
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
    ];

    #[test]
    fn every_served_route_is_documented_and_every_documented_one_served() {
        let doc = super::super::openapi::document();
        let documented: std::collections::BTreeSet<&str> = doc.paths.paths.keys().map(String::as_str).collect();
        let served: std::collections::BTreeSet<&str> =
            SERVED.iter().map(|p| endpoint(p).expect("served").template()).collect();
        assert_eq!(served.len(), SERVED.len(), "two examples of one endpoint");
        assert_eq!(served, documented);
        for (template, item) in &doc.paths.paths {
            assert!(item.get.is_some() && item.head.is_some(), "{template}: GET and HEAD");
            assert!(item.post.is_none() && item.put.is_none() && item.delete.is_none() && item.patch.is_none());
        }
    }
}
