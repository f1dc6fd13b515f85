//! `GET /openapi.json`: the node's HTTP contract as an OpenAPI 3.1 document,
//! generated from the handlers' annotations and the shared wire types.
//!
//! The document is built and encoded once, on the first request for it, and
//! served as bytes: utoipa never runs on the lookup path.

use std::sync::OnceLock;

use bytes::Bytes;
use hyper::StatusCode;
use utoipa::OpenApi;

use super::reply::{self, Reply};

/// Every route the node serves; the router's tests check it against the
/// router, the API tests against a running node.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "didroute lookup node",
        description = "Answers route and caller-id lookups from an in-memory snapshot of the control plane's \
                       routing. Every lookup answer carries the `didroute-seq` header: the snapshot position it \
                       was made from. Every route answers `HEAD` like `GET`, without the body. Errors are \
                       `application/problem+json` (RFC 9457)."
    ),
    paths(
        super::lookup::route,
        super::lookup::caller_id,
        super::info::snapshot,
        super::info::healthz,
        super::info::readyz,
        super::info::metrics,
        openapi_json,
    ),
    components(schemas(didroute_shared::Problem)),
    tags(
        (name = "lookup", description = "The answers callers wait on before a call connects"),
        (name = "node", description = "The node's own state")
    )
)]
struct LookupApi;

/// The document, built afresh (tests inspect it; the server serves [`bytes()`]).
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = LookupApi::openapi();
    // `method(get, head)` gives both operations one id; ids must be unique.
    for item in doc.paths.paths.values_mut() {
        if let Some(head) = item.head.as_mut() {
            head.operation_id = head.operation_id.take().map(|id| format!("{id}_head"));
        }
    }
    doc
}

/// The document as served: encoded once.
pub fn bytes() -> Bytes {
    static JSON: OnceLock<Bytes> = OnceLock::new();
    JSON.get_or_init(|| Bytes::from(document().to_json().expect("the OpenAPI document always serialises"))).clone()
}

/// This document.
#[utoipa::path(
    method(get, head),
    path = "/openapi.json",
    tag = "node",
    responses((status = 200, description = "this OpenAPI 3.1 document", content_type = "application/json"))
)]
pub fn openapi_json() -> Reply {
    reply::json_bytes(StatusCode::OK, bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_openapi_3_1_and_served_as_built() {
        let served: serde_json::Value = serde_json::from_slice(&bytes()).unwrap();
        assert_eq!(served, serde_json::to_value(document()).unwrap());
        assert!(served["openapi"].as_str().unwrap().starts_with("3.1"), "{}", served["openapi"]);
        let ids: Vec<&str> = served["paths"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|item| item.as_object().unwrap().values())
            .map(|operation| operation["operationId"].as_str().expect("an operation id"))
            .collect();
        assert_eq!(ids.len(), 14, "GET and HEAD of seven paths: {ids:?}");
        assert_eq!(ids.iter().collect::<std::collections::BTreeSet<_>>().len(), ids.len(), "{ids:?}");
        for schema in ["Problem", "RouteAnswer", "CallerIdAnswer", "SnapshotAnswer", "HealthAnswer", "ReadyAnswer"] {
            assert!(served["components"]["schemas"].get(schema).is_some(), "{schema} is not in the document");
        }
    }
}
