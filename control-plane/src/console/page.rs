//! The console's page frame and the pieces every page uses: navigation,
//! badges, the problem box, the hidden CSRF and form-nonce fields. maud
//! escapes every interpolation, so nothing a caller typed becomes markup.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};

use super::session::{random_token, Signed};
use crate::auth::Principal;
use crate::error::ApiError;

/// An HTML answer that no cache keeps (pages show tenants' data, a new key).
pub fn html(status: StatusCode, markup: Markup) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::REFERRER_POLICY, "same-origin"),
        ],
        [(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'",
        )],
        markup.into_string(),
    )
        .into_response()
}

/// A signed-in page.
pub fn page(who: &Signed, title: &str, body: Markup) -> Response {
    html(StatusCode::OK, frame(Some(who), title, body))
}

/// The document around `body`, with the navigation of whoever is signed in.
pub fn frame(who: Option<&Signed>, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · didroute console" }
                link rel="stylesheet" href=(super::assets::STYLE_PATH);
            }
            body {
                header.top {
                    a.brand href="/console" { "didroute" }
                    @if let Some(who) = who {
                        nav aria-label="main" {
                            @match who.principal {
                                Principal::Operator => {
                                    a href="/console/tenants" { "Tenants" }
                                    a href="/console/ranges" { "Ranges" }
                                    a href="/console/inventory" { "Inventory" }
                                    a href="/console/import" { "Import" }
                                    a href="/console/carriers" { "Carriers & orders" }
                                    a href="/console/orders" { "Orders" }
                                    a href="/console/orphans" { "Orphans" }
                                    a href="/console/reconciliation" { "Reconciliation" }
                                    a href="/console/usage" { "Busiest numbers" }
                                }
                                _ => {
                                    a href="/console/numbers" { "Numbers" }
                                    a href="/console/allocate" { "Allocate" }
                                    a href="/console/tracking" { "Tracking pools" }
                                    a href="/console/usage" { "Busiest numbers" }
                                }
                            }
                        }
                        form.signout method="post" action="/console/sign-out" {
                            (csrf(who))
                            span.who { (who_label(who.principal)) }
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

fn who_label(p: Principal) -> String {
    match p {
        Principal::Operator => "operator".to_owned(),
        Principal::Tenant { id, write: true } => format!("tenant {id}"),
        Principal::Tenant { id, write: false } => format!("tenant {id} (read only)"),
        Principal::Feed => "feed".to_owned(),
    }
}

/// The session's CSRF token and a fresh form nonce (the request's
/// idempotency key, so a double-submitted form changes things once).
pub fn csrf(who: &Signed) -> Markup {
    html! {
        input type="hidden" name="_csrf" value=(who.csrf);
        input type="hidden" name="_nonce" value=(random_token());
    }
}

/// A problem next to what caused it: its title and detail.
pub fn problem(err: Option<&ApiError>) -> Markup {
    html! {
        @if let Some(err) = err {
            @let p = err.problem();
            div.problem role="alert" {
                strong { (p.title) } ": " (p.detail)
            }
        }
    }
}

/// A confirmation after a change (`?done=` of a redirect): fixed texts, so
/// a link cannot make the page say anything else.
pub fn done(code: Option<&str>) -> Markup {
    let text = match code {
        Some("allocated") => "Allocated.",
        Some("remapped") => "Remapped.",
        Some("released") => "Released.",
        Some("reclaimed") => "Reclaimed.",
        Some("tenant") => "Tenant created.",
        Some("revoked") => "Key revoked.",
        Some("pool-created") => "Pool created.",
        Some("pool-updated") => "Pool saved.",
        Some("pool-grown") => "Numbers added.",
        Some("pool-shrunk") => "Numbers removed.",
        Some("pool-deleted") => "Pool deleted.",
        Some("session-ended") => "Session ended.",
        _ => return html! {},
    };
    html! { p.done role="status" { (text) } }
}

/// A status or provisioning state as a badge.
pub fn badge(value: &str) -> Markup {
    let class = match value {
        "allocated" | "active" | "available" | "finished" | "completed" | "closed" | "free" => "ok",
        "reserved" | "pending" | "port_pending" | "placed" | "requested" | "running" | "half_open" | "leased" => "wait",
        "cooldown" | "aging" | "unknown" | "cooling" => "idle",
        _ => "bad",
    };
    html! { span class={ "badge " (class) } { (value) } }
}

/// A whole page for an error that has no form to sit next to.
pub fn error_page(err: &ApiError) -> Response {
    let p = err.problem();
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    html(
        status,
        frame(None, &p.title, html! { (problem(Some(err))) p { a href="/console" { "Back to the console" } } }),
    )
}

/// The answer to a POST without the session's CSRF token.
pub fn csrf_refused() -> Response {
    html(
        StatusCode::FORBIDDEN,
        frame(
            None,
            "Refused",
            html! {
                div.problem role="alert" {
                    strong { "Forbidden" } ": the form's security token is missing or out of date; reload the page and try again"
                }
                p { a href="/console" { "Back to the console" } }
            },
        ),
    )
}

/// An `<input>` with its `<label>`, the way every form field is written.
pub fn field(id: &str, label: &str, kind: &str, value: Option<&str>, required: bool) -> Markup {
    html! {
        div.field {
            label for=(id) { (label) }
            input id=(id) name=(id) type=(kind) value=[value] required[required];
        }
    }
}

/// A `<select>` with its `<label>`; `""` is the "any" choice when given.
pub fn select(id: &str, label: &str, options: &[&str], chosen: Option<&str>, any: Option<&str>) -> Markup {
    html! {
        div.field {
            label for=(id) { (label) }
            select id=(id) name=(id) {
                @if let Some(any) = any {
                    option value="" selected[chosen.is_none_or(str::is_empty)] { (any) }
                }
                @for o in options {
                    option value=(o) selected[chosen == Some(*o)] { (o) }
                }
            }
        }
    }
}

/// A link to the next page of a list: the same filters, the next cursor.
pub fn next_page(path: &str, filters: &[(&str, Option<&str>)], cursor: &str) -> Markup {
    let mut pairs: Vec<(&str, &str)> =
        filters.iter().filter_map(|(k, v)| v.filter(|v| !v.is_empty()).map(|v| (*k, v))).collect();
    pairs.push(("cursor", cursor));
    let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    html! { p { a href={ (path) "?" (query) } { "Next page" } } }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_page_keeps_the_filters_and_encodes_the_cursor() {
        let html = next_page(
            "/console/inventory",
            &[("prefix", Some("1555")), ("status", None), ("q", Some(""))],
            "+15550001",
        );
        assert!(html.into_string().contains("href=\"/console/inventory?prefix=1555&amp;cursor=%2B15550001\""));
    }

    #[test]
    fn what_a_caller_typed_is_escaped() {
        let html = field("name", "Name", "text", Some("\"><script>x</script>"), false).into_string();
        assert!(!html.contains("<script>") && html.contains("&quot;&gt;&lt;script&gt;"), "{html}");
    }
}
