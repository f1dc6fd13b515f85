//! Hostile input never panics the server and always gets a proper answer.

use crate::support::*;

#[tokio::test]
async fn nasty_paths_get_4xx_and_the_server_survives() {
    let feed = FakeFeed::start().await;
    feed.upsert(num("+15558880001"), 1, utility(TENANT_A, "Alive"));
    let t = TestNode::ready(feed).await;
    let addr = t.base.trim_start_matches("http://").to_owned();

    let long_digits = format!("/v1/routes/{}", "9".repeat(10_000));
    let long_junk = format!("/v1/routes/{}", "%".repeat(20_000));
    let long_tenant = format!("/v1/caller-id/{}/+15558880001", "a".repeat(5_000));
    let mut paths: Vec<Vec<u8>> = vec![
        long_digits.into_bytes(),
        long_junk.into_bytes(),
        long_tenant.into_bytes(),
        "/v1/routes/＋１５５５８８８０００１".as_bytes().to_vec(),
        "/v1/routes/١٥٥٥٨٨٨٠٠٠١".as_bytes().to_vec(),
        b"/v1/routes/\xff\xfe".to_vec(),
    ];
    for p in [
        "/v1/routes/%",
        "/v1/routes/%2",
        "/v1/routes/%2B",
        "/v1/routes/%00",
        "/v1/routes/%2B%00",
        "/v1/routes/+",
        "/v1/routes/++15558880001",
        "/v1/routes/",
        "/v1/routes//",
        "/v1/routes/%2F15558880001",
        "/v1/routes/-1",
        "/v1/routes/18446744073709551616",
        "/v1/routes/999999999999999",
        "/v1/routes/0",
        "/v1/routes/1555888000%31",
        "/v1/routes/15558880001?min_seq=%FF",
        "/v1/routes/15558880001?min_seq=1&min_seq=x",
        "/v1/routes/15558880001?=&&=",
        "/v1/routes/15558880001?wait_ms=99999999999999999999999",
        "/v1/routes/15558880001?%",
        "/v1/caller-id//",
        "/v1/caller-id/%/%",
        "/v1/caller-id/{}/{}",
        "/v1/snapshot?x",
        "/v1/routes/../healthz",
        "/",
        "//",
        "*",
        "/v1",
        "/v1/",
        "/metrics/..",
        "/healthz?%00",
    ] {
        paths.push(p.as_bytes().to_vec());
    }
    for path in &paths {
        for method in ["GET", "POST", "DELETE", "FOO"] {
            let status = raw_status(&addr, path, method).await;
            let shown = String::from_utf8_lossy(&path[..path.len().min(60)]).into_owned();
            let status = status.unwrap_or_else(|| panic!("no answer to {method} {shown}"));
            assert!(matches!(status, 200 | 400 | 404 | 405 | 414), "{method} {shown} answered {status}");
            if method != "GET" && status != 400 && status != 414 {
                assert!(status == 404 || status == 405, "{method} {shown} answered {status}");
            }
        }
    }
    // Still serving.
    assert_eq!(t.get("/healthz").await.status, 200);
    assert_eq!(t.get("/v1/routes/+15558880001").await.json()["customer_label"], "Alive");
    t.stop().await;
}

#[tokio::test]
async fn unknown_paths_are_404_and_wrong_methods_405() {
    let t = TestNode::ready(FakeFeed::start().await).await;
    for path in ["/nope", "/v1/routes", "/v1/routes/1/2", "/healthz/", "/v1/caller-id/x"] {
        t.get(path).await.problem(404);
    }
    for (method, path) in [
        (reqwest::Method::POST, "/v1/routes/+15558880001"),
        (reqwest::Method::DELETE, "/healthz"),
        (reqwest::Method::PUT, "/v1/snapshot"),
        (reqwest::Method::PATCH, "/metrics"),
    ] {
        let response = t.http.request(method.clone(), format!("{}{path}", t.base)).send().await.unwrap();
        assert_eq!(response.status(), 405, "{method} {path}");
        assert_eq!(response.headers()["allow"], "GET, HEAD");
        assert_eq!(response.headers()["content-type"], "application/problem+json");
        let p: serde_json::Value = response.json().await.unwrap();
        assert_eq!(p["status"], 405);
    }
    t.stop().await;
}
