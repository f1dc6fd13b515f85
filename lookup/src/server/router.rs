//! Maps a request to its handler. Paths are matched on the raw (still
//! percent-encoded) path, so `%2B15551234567` reaches the number parser as
//! sent.

use hyper::{Method, Request};

use super::reply::{method_not_allowed, not_found_path, Reply};
use super::{info, lookup};
use crate::app::App;

#[derive(Debug, PartialEq, Eq)]
enum Endpoint<'a> {
    Route(&'a str),
    CallerId { tenant: &'a str, number: &'a str },
    Snapshot,
    Healthz,
    Readyz,
    Metrics,
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
        _ => None,
    }
}

pub async fn handle<B>(app: &App, request: Request<B>) -> Reply {
    let uri = request.uri();
    let Some(endpoint) = endpoint(uri.path()) else {
        return not_found_path(uri.path());
    };
    if request.method() != Method::GET {
        return method_not_allowed(request.method());
    }
    let query = uri.query();
    match endpoint {
        Endpoint::Route(number) => lookup::route(app, number, query).await,
        Endpoint::CallerId { tenant, number } => lookup::caller_id(app, tenant, number, query).await,
        Endpoint::Snapshot => info::snapshot(app),
        Endpoint::Healthz => info::healthz(),
        Endpoint::Readyz => info::readyz(app),
        Endpoint::Metrics => info::metrics(app),
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
    }
}
