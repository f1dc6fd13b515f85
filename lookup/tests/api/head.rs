//! `HEAD` is answered like `GET` (RFC 9110): the same status and headers,
//! including `content-length` and `didroute-seq`, and no body.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::*;

/// Sends one request on a fresh connection; the answer's head lines
/// (status line and headers, without `date`) and the bytes after the head.
async fn exchange(addr: &str, method: &str, path: &str) -> (Vec<String>, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!("{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut out)).await.unwrap().unwrap();
    let end = out.windows(4).position(|w| w == b"\r\n\r\n").expect("a complete head") + 4;
    let head = String::from_utf8(out[..end].to_vec()).unwrap();
    let lines =
        head.lines().filter(|l| !l.is_empty() && !l.to_ascii_lowercase().starts_with("date:")).map(str::to_owned);
    (lines.collect(), out[end..].to_vec())
}

#[tokio::test]
async fn head_answers_like_get_without_the_body() {
    let feed = FakeFeed::start().await;
    feed.upsert(num("+15557770001"), 1, psap(TENANT_A, "Heads"));
    let t = TestNode::ready(feed).await;
    let addr = t.base.trim_start_matches("http://").to_owned();
    let paths = [
        "/v1/routes/+15557770001".to_owned(),
        "/v1/routes/+15557779999".to_owned(),
        "/v1/routes/+1".to_owned(),
        "/v1/routes/+15557770001?min_seq=99&wait_ms=1".to_owned(),
        format!("/v1/caller-id/{TENANT_A}/+15557770001"),
        "/v1/snapshot".to_owned(),
        "/healthz".to_owned(),
        "/readyz".to_owned(),
        "/openapi.json".to_owned(),
        "/nope".to_owned(),
    ];
    for path in &paths {
        let (get, body) = exchange(&addr, "GET", path).await;
        let (head, nothing) = exchange(&addr, "HEAD", path).await;
        assert_eq!(head, get, "HEAD {path}");
        assert!(nothing.is_empty(), "HEAD {path} sent a body: {:?}", String::from_utf8_lossy(&nothing));
        let length =
            get.iter().find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length: ").map(str::to_owned));
        assert_eq!(length, Some(body.len().to_string()), "GET {path}");
        if path.starts_with("/v1/") {
            assert!(head.iter().any(|l| l.starts_with("didroute-seq: ")), "HEAD {path}: {head:?}");
        }
    }
    let (status_line, _) = exchange(&addr, "HEAD", "/v1/routes/+15557770001").await;
    assert_eq!(status_line[0], "HTTP/1.1 200 OK");
    // metrics change between two reads: compare the status and type only
    let (get, _) = exchange(&addr, "GET", "/metrics").await;
    let (head, nothing) = exchange(&addr, "HEAD", "/metrics").await;
    assert_eq!((&head[0], nothing.len()), (&get[0], 0));
    assert!(head.iter().any(|l| l.starts_with("content-type: text/plain")), "{head:?}");
    t.stop().await;
}
