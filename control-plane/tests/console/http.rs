//! The console over plain HTTP, no browser: what a forged or replayed form
//! gets (CSRF), the cookie's flags, sessions ending on sign-out and on key
//! revocation, tenants kept off operator pages, and the console kept out of
//! `/openapi.json`.

use didroute_test_support::{spawn_app, TestApp, TestTenant};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode};

fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

fn hidden(html: &str, name: &str) -> String {
    let at = html.find(&format!("name=\"{name}\" value=\"")).unwrap_or_else(|| panic!("{name} in {html}"));
    let rest = &html[at + name.len() + 15..];
    rest[..rest.find('"').unwrap()].to_owned()
}

fn form(fields: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(fields).unwrap()
}

/// Signs in with `credential`: the sign-in answer's `Set-Cookie`, and the session cookie.
async fn sign_in(app: &TestApp, credential: &str, headers: &[(&str, &str)]) -> (String, String) {
    let http = client();
    let page = http.get(format!("{}/console/sign-in", app.base)).send().await.unwrap();
    let pre = page.headers()[SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned();
    let token = hidden(&page.text().await.unwrap(), "_csrf");
    let mut req = http
        .post(format!("{}/console/sign-in", app.base))
        .header(COOKIE, pre)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("_csrf", &token), ("credential", credential)]));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "signed in");
    let set = res
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("didroute_console="))
        .expect("a session cookie");
    let cookie = set.split(';').next().unwrap().to_owned();
    (set, cookie)
}

async fn get(app: &TestApp, cookie: &str, path: &str) -> (StatusCode, String, String) {
    let res = client().get(format!("{}{path}", app.base)).header(COOKIE, cookie).send().await.unwrap();
    let status = res.status();
    let location = res.headers().get(LOCATION).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, location, res.text().await.unwrap())
}

async fn post(app: &TestApp, cookie: &str, path: &str, body: String) -> (StatusCode, String) {
    let res = client()
        .post(format!("{}{path}", app.base))
        .header(COOKIE, cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    (res.status(), res.text().await.unwrap())
}

async fn allocated(app: &TestApp, t: &TestTenant, number: &str) -> String {
    let (_, n) =
        app.call(Method::GET, &format!("/v1/numbers/{}", number.replace('+', "%2B")), Some(&t.key), None).await;
    n["status"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn forms_without_the_session_token_are_refused_and_sessions_end() {
    let app = spawn_app().await;
    let acme = app.tenant("acme").await;
    app.import("15550003000-15550003009", "US").await;
    let (s, _) = app.allocate(&acme, "+15550003001", "utilities").await;
    assert_eq!(s, StatusCode::CREATED);

    // sign-in itself needs its token (a double submit: cookie and field)
    let res = client()
        .post(format!("{}/console/sign-in", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("credential", &acme.key)]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "a sign-in without its token");
    assert!(res.headers().get(SET_COOKIE).is_none());

    let (set, cookie) = sign_in(&app, &acme.key, &[]).await;
    assert!(
        set.contains("; HttpOnly") && set.contains("; SameSite=Strict") && set.contains("; Path=/console"),
        "{set}"
    );
    assert!(!set.contains("Secure"), "plain http: {set}");
    assert!(!set.contains(&acme.key[4..]), "the cookie is not the key: {set}");

    let (s, _, page) = get(&app, &cookie, "/console/numbers").await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("+15550003001") && !page.contains(&acme.key[4..]));
    let csrf = hidden(&page, "_csrf");

    // a change without the token, or with another, is refused and changes nothing
    let release = "/console/numbers/+15550003001/release";
    for body in [form(&[("reason", "forged")]), form(&[("_csrf", "0".repeat(64).as_str()), ("reason", "forged")])] {
        let (s, page) = post(&app, &cookie, release, body).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{page}");
        assert!(page.contains("security token"), "{page}");
    }
    assert_eq!(allocated(&app, &acme, "+15550003001").await, "allocated");
    // with it, the change is made
    let (s, _) = post(&app, &cookie, release, form(&[("_csrf", &csrf), ("reason", "moved"), ("notes", "")])).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(allocated(&app, &acme, "+15550003001").await, "cooldown");

    // a refused change is the form again, with the problem and its status
    let (s, page) = post(&app, &cookie, "/console/numbers/+15550003001/reclaim", form(&[("_csrf", &csrf)])).await;
    assert_eq!(s, StatusCode::CONFLICT, "{page}");
    assert!(page.contains("class=\"problem\""), "{page}");

    // the same form sent twice (its nonce repeated) changes things once
    let nonce = "n-1";
    let allocate = |n: &'static str| {
        form(&[
            ("_csrf", &csrf),
            ("_nonce", nonce),
            ("number", n),
            ("subsystem", "utilities"),
            ("dashboard_id", "d"),
            ("customer_label", "twice"),
        ])
    };
    let (s, _) = post(&app, &cookie, "/console/allocate", allocate("+15550003002")).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, _) = post(&app, &cookie, "/console/allocate", allocate("+15550003002")).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "a repeat answers as the first did");
    let (_, history) = app.call(Method::GET, "/v1/numbers/%2B15550003002/history", Some(&acme.key), None).await;
    assert_eq!(history["history"].as_array().unwrap().len(), 1, "{history}");

    // a whole number searched for opens its page
    let (s, location, _) = get(&app, &cookie, "/console/numbers?q=%2B15550003002").await;
    assert_eq!((s, location.as_str()), (StatusCode::SEE_OTHER, "/console/numbers/+15550003002"));

    // a tenant is kept off operator pages
    let (s, _, page) = get(&app, &cookie, "/console/tenants").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{page}");

    // sign out: the cookie is cleared and the session is gone
    let res = client()
        .post(format!("{}/console/sign-out", app.base))
        .header(COOKIE, &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("_csrf", &csrf)]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let cleared = res.headers()[SET_COOKIE].to_str().unwrap();
    assert!(cleared.starts_with("didroute_console=;") && cleared.contains("Max-Age=0"), "{cleared}");
    let (s, location, _) = get(&app, &cookie, "/console/numbers").await;
    assert_eq!((s, location.as_str()), (StatusCode::SEE_OTHER, "/console/sign-in"), "the old cookie is worthless");

    // revoking the key ends its sessions at their next request
    let key2 = app.key_for(acme.id, serde_json::json!({})).await;
    let (_, cookie2) = sign_in(&app, &key2, &[]).await;
    assert_eq!(get(&app, &cookie2, "/console/numbers").await.0, StatusCode::OK);
    let (_, keys) = app.op(Method::GET, &format!("/v1/tenants/{}/api-keys", acme.id), None).await;
    let id = keys["api_keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| key2.starts_with(k["key_prefix"].as_str().unwrap()))
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, _) = app.op(Method::DELETE, &format!("/v1/tenants/{}/api-keys/{id}", acme.id), None).await;
    assert!(s.is_success(), "{s}");
    let (s, location, _) = get(&app, &cookie2, "/console/numbers").await;
    assert_eq!((s, location.as_str()), (StatusCode::SEE_OTHER, "/console/sign-in"), "revoked: signed out");

    // a read-only key reads, and its changes are refused by the form, as on REST
    let reader = app.key_for(acme.id, serde_json::json!({ "scopes": ["read"] })).await;
    let (_, cookie3) = sign_in(&app, &reader, &[]).await;
    let (s, _, page) = get(&app, &cookie3, "/console/numbers/+15550003002").await;
    assert_eq!(s, StatusCode::OK);
    let csrf3 = hidden(&page, "_csrf");
    let body = form(&[("_csrf", &csrf3), ("reason", "read only")]);
    let (s, page) = post(&app, &cookie3, "/console/numbers/+15550003002/release", body).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{page}");
    assert!(page.contains("lacks the &quot;write&quot; scope"), "{page}");
    assert_eq!(allocated(&app, &acme, "+15550003002").await, "allocated");

    // a feed token cannot sign in
    let feed = app.feed_token("node-1").await;
    let http = client();
    let page = http.get(format!("{}/console/sign-in", app.base)).send().await.unwrap();
    let pre = page.headers()[SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned();
    let token = hidden(&page.text().await.unwrap(), "_csrf");
    let res = http
        .post(format!("{}/console/sign-in", app.base))
        .header(COOKIE, pre)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("_csrf", &token), ("credential", &feed)]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.text().await.unwrap().contains("a feed token cannot sign in to the console"));

    // the operator's pages answer a malformed id with a page too
    let (_, op) = sign_in(&app, didroute_test_support::OPERATOR_TOKEN, &[]).await;
    let (s, _, page) = get(&app, &op, "/console/tenants/not-an-id").await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{page}");
    assert!(page.contains("no tenant or key not-an-id"), "{page}");

    // a cookie is Secure when the request came over HTTPS (a proxy said so)
    let (set, _) = sign_in(&app, &acme.key, &[("x-forwarded-proto", "https")]).await;
    assert!(set.ends_with("; Secure"), "{set}");

    // a wrong key is told apart from nothing at all, and never echoed
    let http = client();
    let page = http.get(format!("{}/console/sign-in", app.base)).send().await.unwrap();
    let pre = page.headers()[SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned();
    let token = hidden(&page.text().await.unwrap(), "_csrf");
    let res = http
        .post(format!("{}/console/sign-in", app.base))
        .header(COOKIE, pre)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("_csrf", &token), ("credential", "drk_wrong-key-123")]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let page = res.text().await.unwrap();
    assert!(page.contains("the token or key is not valid") && !page.contains("wrong-key-123"), "{page}");
}

#[tokio::test]
async fn the_console_is_html_outside_the_api_document() {
    let app = spawn_app().await;
    let (_, doc) = app.op(Method::GET, "/openapi.json", None).await;
    let paths: Vec<&String> = doc["paths"].as_object().unwrap().keys().collect();
    assert!(!paths.iter().any(|p| p.starts_with("/console")), "{paths:?}");

    let res = client().get(format!("{}/console/numbers", app.base)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[LOCATION], "/console/sign-in");
    let res = client().get(format!("{}/console/sign-in", app.base)).send().await.unwrap();
    assert_eq!(res.headers()["content-type"], "text/html; charset=utf-8");
    assert_eq!(res.headers()["cache-control"], "no-store");
    let css = client().get(format!("{}/console/assets/style-1.css", app.base)).send().await.unwrap();
    assert_eq!(css.status(), StatusCode::OK);
    assert!(css.headers()["cache-control"].to_str().unwrap().contains("max-age=31536000"));
    let res = client().get(format!("{}/console/nothing-here", app.base)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(res.headers()["content-type"], "text/html; charset=utf-8");
    let res = client().get(format!("{}/console/sign-out", app.base)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(res.headers()["content-type"], "text/html; charset=utf-8");
    // and the API's own answers stay problem+json
    let (s, _) = app.op(Method::GET, "/v1/nothing-here", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
