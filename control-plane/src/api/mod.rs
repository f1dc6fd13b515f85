//! The REST API: routes, and the fallbacks that keep every error problem+json.

mod events;
mod health;
mod inventory;
mod numbers;
mod tenants;

use std::future::Future;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;

use crate::error::ApiError;
use crate::state::AppState;

/// Largest inventory import body: a list of a million numbers fits.
pub const INVENTORY_BODY_LIMIT: usize = 64 * 1024 * 1024;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/tenants", post(tenants::create).get(tenants::list))
        .route("/v1/tenants/{id}/api-keys", post(tenants::create_key))
        // imports carry long number lists; everything else stays at axum's 2 MB default
        .route(
            "/v1/inventory",
            post(inventory::import).get(inventory::search).layer(DefaultBodyLimit::max(INVENTORY_BODY_LIMIT)),
        )
        .route("/v1/inventory/{number}", axum::routing::patch(inventory::patch).delete(inventory::delete))
        .route("/v1/available-numbers", get(inventory::available))
        .route("/v1/numbers", post(numbers::allocate).get(numbers::list))
        .route("/v1/numbers/{number}", get(numbers::get).patch(numbers::remap))
        .route("/v1/numbers/{number}/release", post(numbers::release))
        .route("/v1/numbers/{number}/reclaim", post(numbers::reclaim))
        .route("/v1/numbers/{number}/history", get(numbers::history))
        .route("/v1/reservations", post(numbers::reserve))
        .route("/v1/reservations/{number}", axum::routing::delete(numbers::cancel_reservation))
        .route("/v1/events", get(events::feed))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .fallback(|| async { ApiError::not_found("no such route; see /openapi.json") })
        .method_not_allowed_fallback(|| async {
            ApiError::MethodNotAllowed("this route does not take that method".into())
        })
        .with_state(state)
}

/// Serves the API on `listener` until `shutdown` completes (tests bind port 0).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await
}
