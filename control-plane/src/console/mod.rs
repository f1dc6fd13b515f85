//! The admin console at `/console`: server-rendered HTML (maud), no
//! JavaScript, one stylesheet. It is a client of `service/` like REST and
//! GraphQL: every page reads and every form changes through the same
//! service functions, so each change keeps its transaction, audit row,
//! outbox row and idempotency (the form's nonce is the key). No SQL here.
//!
//! These routes are HTML pages, not API operations: they are a plain axum
//! router nested under `/console`, outside the documenting router and out of
//! `/openapi.json` (its own test checks that nothing else bypasses it).

// A refusal here is the page to answer with, returned at once by the
// handler: a `Result<_, Response>` is the plain way to say so, and a page
// is built once per request, so its size on the stack costs nothing.
#![allow(clippy::result_large_err)]

pub mod allocate;
pub mod assets;
pub mod form;
pub mod inventory;
pub mod numbers;
pub mod page;
pub mod reports;
pub mod session;
pub mod signin;
pub mod tenants;
pub mod tracking;
pub mod usage;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use maud::html;

use crate::state::AppState;

/// What the console keeps in the process: sessions, and where usage comes from.
pub struct Console {
    pub sessions: session::Sessions,
    pub usage: Box<dyn usage::UsageSource>,
}

impl Default for Console {
    fn default() -> Self {
        Console { sessions: session::Sessions::default(), usage: Box::new(usage::ServiceUsage) }
    }
}

/// The console's routes, relative to `/console`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(signin::home))
        .route(assets::STYLE_PATH.trim_start_matches("/console"), get(assets::style))
        .route("/sign-in", get(signin::show).post(signin::submit))
        .route("/sign-out", post(signin::sign_out))
        .route("/numbers", get(numbers::list))
        .route("/numbers/{number}", get(numbers::show))
        .route("/numbers/{number}/remap", post(numbers::remap))
        .route("/numbers/{number}/release", post(numbers::release))
        .route("/numbers/{number}/reclaim", post(numbers::reclaim))
        .route("/usage", get(usage::busiest_page))
        .route("/tracking", get(tracking::list).post(tracking::create))
        .route("/tracking/{id}", get(tracking::show))
        .route("/tracking/{id}/settings", post(tracking::settings))
        .route("/tracking/{id}/grow", post(tracking::grow))
        .route("/tracking/{id}/shrink", post(tracking::shrink))
        .route("/tracking/{id}/delete", post(tracking::delete))
        .route("/tracking/{id}/sessions/{session}/end", post(tracking::end_session))
        .route("/allocate", get(allocate::show).post(allocate::submit))
        .route("/tenants", get(tenants::list).post(tenants::create))
        .route("/tenants/{id}", get(tenants::show))
        .route("/tenants/{id}/keys", post(tenants::create_key))
        .route("/tenants/{id}/keys/{key}/revoke", post(tenants::revoke_key))
        .route("/inventory", get(inventory::search))
        .route("/import", get(inventory::show).post(inventory::paste))
        .route("/import/csv", post(inventory::upload).layer(DefaultBodyLimit::max(crate::api::INVENTORY_BODY_LIMIT)))
        .route("/carriers", get(reports::carriers))
        .route("/orders", get(reports::orders_list))
        .route("/ranges", get(tenants::ranges_overview))
        .route("/orphans", get(reports::orphans))
        .route("/reconciliation", get(reports::reconciliation))
        .fallback(|| async {
            page::html(
                StatusCode::NOT_FOUND,
                page::frame(
                    None,
                    "Not found",
                    html! { p { "No such page. " a href="/console" { "Back to the console" } } },
                ),
            )
        })
        .method_not_allowed_fallback(|| async {
            page::html(
                StatusCode::METHOD_NOT_ALLOWED,
                page::frame(
                    None,
                    "Not here",
                    html! { p { "This page does not take that method. " a href="/console" { "Back to the console" } } },
                ),
            )
        })
}
