//! Sign-in with the operator token or a tenant key, and sign-out. The
//! credential arrives in a POST body and is never put in a page, a URL or
//! the cookie: the session keeps its hash. The sign-in form has no session
//! yet, so its CSRF token is a double submit: a short-lived cookie and the
//! same value in a hidden field.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::page;
use super::session::{self, random_token, Credential, Signed};
use crate::auth::{self, Principal};
use crate::error::ApiError;
use crate::state::AppState;
use didroute_shared::problem::ProblemType;

const PRE_COOKIE: &str = "didroute_console_signin";

/// `/console`: the signed-in home, or the sign-in page.
pub async fn home(who: Result<Signed, Response>) -> Response {
    match who {
        Ok(Signed { principal: Principal::Operator, .. }) => Redirect::to("/console/tenants").into_response(),
        Ok(_) => Redirect::to("/console/numbers").into_response(),
        Err(to_sign_in) => to_sign_in,
    }
}

fn form(state: &AppState, headers: &HeaderMap, status: StatusCode, err: Option<&ApiError>) -> Response {
    let token = random_token();
    let secure = if session::over_https(state, headers) { "; Secure" } else { "" };
    let body = html! {
        section.card {
            p.muted { "Sign in with the operator token or one of your tenant's API keys." }
            form method="post" action="/console/sign-in" {
                input type="hidden" name="_csrf" value=(token);
                div.field {
                    label for="credential" { "Operator token or API key" }
                    input id="credential" name="credential" type="password" autocomplete="current-password" required autofocus;
                }
                (page::problem(err))
                button type="submit" { "Sign in" }
            }
        }
    };
    let mut res = page::html(status, page::frame(None, "Sign in", body));
    let cookie = format!("{PRE_COOKIE}={token}; Path=/console/sign-in; HttpOnly; SameSite=Strict; Max-Age=600{secure}");
    if let Ok(v) = cookie.parse() {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

pub async fn show(State(s): State<AppState>, headers: HeaderMap) -> Response {
    form(&s, &headers, StatusCode::OK, None)
}

#[derive(Deserialize)]
pub struct SignIn {
    #[serde(default)]
    credential: String,
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

fn pre_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|p| p.trim().split_once('='))
        .find(|(n, _)| *n == PRE_COOKIE)
        .map(|(_, v)| v.to_owned())
}

pub async fn submit(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Ok(f) = serde_urlencoded::from_bytes::<SignIn>(&body) else { return page::csrf_refused() };
    let expected = pre_cookie(&headers).unwrap_or_default();
    if expected.is_empty() || !bool::from(expected.as_bytes().ct_eq(f.csrf.as_bytes())) {
        return page::csrf_refused();
    }
    let token = f.credential.trim();
    let refused = |err: ApiError| form(&s, &headers, StatusCode::UNAUTHORIZED, Some(&err));
    if token.is_empty() {
        return refused(ApiError::new(ProblemType::Unauthorized, "enter the operator token or an api key"));
    }
    let credential = match auth::principal_of(&s, token).await {
        Ok(Principal::Operator) => Credential::Operator(auth::hash_key(token)),
        Ok(Principal::Tenant { .. }) => Credential::Key(auth::hash_key(token)),
        Ok(Principal::Feed) => {
            return refused(ApiError::new(ProblemType::Forbidden, "a feed token cannot sign in to the console"))
        }
        Err(e) if e.kind() == ProblemType::Unauthorized => {
            return refused(ApiError::new(ProblemType::Unauthorized, "the token or key is not valid"))
        }
        Err(e) => return page::error_page(&e),
    };
    let id = s.console.sessions.create(credential);
    let secure = session::over_https(&s, &headers);
    let clear_pre = format!("{PRE_COOKIE}=; Path=/console/sign-in; HttpOnly; SameSite=Strict; Max-Age=0");
    let mut res = Redirect::to("/console").into_response();
    let (name, value) = session::set_cookie(&id, secure);
    for v in [value, clear_pre] {
        if let Ok(v) = v.parse() {
            res.headers_mut().append(&name, v);
        }
    }
    res
}

pub async fn sign_out(State(s): State<AppState>, headers: HeaderMap, who: Signed, body: Bytes) -> Response {
    #[derive(Deserialize)]
    struct Empty {}
    if let Err(refused) = super::form::read::<Empty>(&who, &body) {
        return refused;
    }
    s.console.sessions.remove(&who.id);
    let (name, value) = session::clear_cookie(session::over_https(&s, &headers));
    ([(name, value)], Redirect::to("/console/sign-in")).into_response()
}
