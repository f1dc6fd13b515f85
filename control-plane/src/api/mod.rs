//! The REST API: routes, and the fallbacks that keep every error problem+json.

mod carriers;
pub mod docs;
mod events;
mod feed_tokens;
mod health;
mod inventory;
mod numbers;
mod observe;
mod orders;
mod ranges;
mod tenants;
pub mod tls;
mod tracking;
mod usage;

use didroute_shared::problem::ProblemType;
use std::future::Future;

use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::service::idempotency::Key;
use crate::state::AppState;

/// The request's `Idempotency-Key`, bound to what was asked: `route` (method
/// and concrete path) and `body`.
pub(crate) fn idempotency_key(
    headers: &axum::http::HeaderMap,
    route: &str,
    body: &serde_json::Value,
) -> Result<Option<Key>, ApiError> {
    header_key(headers)?.map(|k| Key::new(k, route, body)).transpose()
}

/// [`idempotency_key`] over a body as it was sent (imports).
pub(crate) fn idempotency_key_of(
    headers: &axum::http::HeaderMap,
    route: &str,
    body: &[u8],
) -> Result<Option<Key>, ApiError> {
    header_key(headers)?.map(|k| Key::of_bytes(k, route, body)).transpose()
}

/// The typed body, read from the raw JSON the idempotency hash was taken of;
/// an error names the field, as axum's `Json` rejection does.
pub(crate) fn typed<T: serde::de::DeserializeOwned>(raw: &serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(raw.clone()).map_err(|e| ApiError::new(ProblemType::InvalidBody, e.to_string()))
}

fn header_key(headers: &axum::http::HeaderMap) -> Result<Option<&str>, ApiError> {
    headers
        .get("idempotency-key")
        .map(|v| {
            v.to_str()
                .map_err(|_| ApiError::new(ProblemType::InvalidIdempotencyKey, "Idempotency-Key must be visible ASCII"))
        })
        .transpose()
}

/// Largest inventory import body: a list of a million numbers fits.
pub const INVENTORY_BODY_LIMIT: usize = 64 * 1024 * 1024;

/// The API and its OpenAPI document, built together: every route is
/// registered with `routes!`, which also records its documentation.
pub fn router_with_docs(state: AppState) -> (Router, utoipa::openapi::OpenApi) {
    let (router, openapi) = OpenApiRouter::with_openapi(docs::ApiDoc::openapi())
        .routes(routes!(tenants::create, tenants::list))
        .routes(routes!(tenants::update))
        .routes(routes!(tenants::create_key, tenants::list_keys))
        .routes(routes!(tenants::revoke_key))
        .routes(routes!(ranges::create, ranges::list))
        .routes(routes!(ranges::delete))
        .routes(routes!(feed_tokens::create, feed_tokens::list))
        .routes(routes!(feed_tokens::revoke))
        .routes(routes!(carriers::list))
        .routes(routes!(orders::search))
        .routes(routes!(orders::create))
        .routes(routes!(orders::get))
        .routes(routes!(orders::reconcile))
        .routes(routes!(orders::latest))
        .routes(routes!(orders::list_orphans))
        .routes(routes!(orders::adopt))
        .routes(routes!(orders::disconnect_orphan))
        .routes(routes!(inventory::import, inventory::search))
        .routes(routes!(inventory::patch, inventory::delete))
        .routes(routes!(inventory::available))
        .routes(routes!(numbers::allocate, numbers::list))
        .routes(routes!(numbers::get, numbers::remap))
        .routes(routes!(numbers::release))
        .routes(routes!(numbers::reclaim))
        .routes(routes!(numbers::history))
        .routes(routes!(numbers::reserve))
        .routes(routes!(numbers::cancel_reservation))
        .routes(routes!(tracking::create, tracking::list))
        .routes(routes!(tracking::get, tracking::update, tracking::delete))
        .routes(routes!(tracking::start))
        .routes(routes!(tracking::session, tracking::end))
        .routes(routes!(tracking::renew))
        .routes(routes!(events::feed))
        .routes(routes!(usage::ingest))
        .routes(routes!(usage::number_usage))
        .routes(routes!(usage::top))
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(health::metrics))
        .routes(routes!(crate::graphql::handler::handler))
        .split_for_parts();
    let mut openapi = openapi;
    docs::document_self(&mut openapi);
    let served = Arc::new(openapi.clone());
    let router = router
        .route("/openapi.json", get(move || async move { axum::Json(served.as_ref().clone()) }))
        // HTML pages for people, not API operations: outside the document
        // (ARCHITECTURE.md, the console invariant)
        .nest("/console", crate::console::router())
        .fallback(|| async {
            ApiError::new(ProblemType::NotFound, "no such route; the API is described at /openapi.json")
        })
        .method_not_allowed_fallback(|| async {
            ApiError::new(ProblemType::MethodNotAllowed, "this route does not take that method")
        })
        .layer(axum::middleware::from_fn_with_state(state.clone(), observe::observe))
        .with_state(state);
    (router, openapi)
}

pub fn router(state: AppState) -> Router {
    router_with_docs(state).0
}

/// Serves the API on `listener` until `shutdown` completes (tests bind port
/// 0); over TLS when the settings carry a certificate.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    match state.settings.tls.clone() {
        None => axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await,
        Some(tls) => {
            axum::serve(tls::TlsListener::new(listener, tls)?, router(state)).with_graceful_shutdown(shutdown).await
        }
    }
}
