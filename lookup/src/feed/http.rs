//! The control plane's event feed: `GET /v1/events?after=&limit=&wait_ms=`
//! with the node's feed token (or the deprecated operator token), answering `{events, last_seq, head_seq}`.

use std::time::Duration;

use didroute_shared::wire::FeedPage;
use didroute_shared::{ChangeEvent, Problem};
use reqwest::{StatusCode, Url};

use super::{EventSource, Page};

/// How long beyond `wait_ms` a long poll may take before it is abandoned as
/// a dead connection.
const REQUEST_SLACK: Duration = Duration::from_secs(15);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error("invalid feed url {url:?}: {reason}")]
    Url { url: String, reason: String },
    #[error("cannot build the feed http client: {0}")]
    Client(#[source] reqwest::Error),
    #[error("{0}")]
    CaFile(String),
    #[error("feed request failed: {0}")]
    Request(#[source] reqwest::Error),
    #[error("feed answered {status}: {detail}")]
    Status { status: StatusCode, detail: String },
    #[error("feed page is not the expected json: {0}")]
    Decode(#[source] serde_json::Error),
}

/// Tails one control plane.
#[derive(Clone)]
pub struct HttpFeed {
    client: reqwest::Client,
    events_url: Url,
    token: String,
    limit: u32,
    wait_ms: u64,
}

/// The page as sent; events stay raw so that one bad event is rejected on
/// its own instead of failing the page.
type WirePage = FeedPage<serde_json::Value>;

impl HttpFeed {
    /// `base` is the control plane's address (`http://127.0.0.1:8080`);
    /// `limit` events per page; long polls wait up to `wait_ms`.
    pub fn new(base: &Url, token: &str, limit: u32, wait_ms: u64) -> Result<HttpFeed, FeedError> {
        HttpFeed::with_ca_file(base, token, limit, wait_ms, None)
    }

    /// [`HttpFeed::new`] trusting the CA certificates in `ca_file` too (an
    /// `https://` control plane with an operator's own CA).
    pub fn with_ca_file(
        base: &Url,
        token: &str,
        limit: u32,
        wait_ms: u64,
        ca_file: Option<&std::path::Path>,
    ) -> Result<HttpFeed, FeedError> {
        let events_url = events_url(base)?;
        let builder = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("didroute-lookup/", env!("CARGO_PKG_VERSION")));
        let client = didroute_net::tls_client::with_ca_file(builder, ca_file)
            .map_err(|e| FeedError::CaFile(format!("DIDROUTE_CA_FILE: {e:#}")))?
            .build()
            .map_err(FeedError::Client)?;
        Ok(HttpFeed { client, events_url, token: token.to_owned(), limit: limit.max(1), wait_ms })
    }

    pub fn events_url(&self) -> &Url {
        &self.events_url
    }

    async fn get(&self, after: u64, wait: bool) -> Result<Page, FeedError> {
        let wait_ms = if wait { self.wait_ms } else { 0 };
        let response = self
            .client
            .get(self.events_url.clone())
            .query(&[("after", after), ("limit", u64::from(self.limit)), ("wait_ms", wait_ms)])
            .bearer_auth(&self.token)
            .timeout(Duration::from_millis(wait_ms) + REQUEST_SLACK)
            .send()
            .await
            .map_err(FeedError::Request)?;
        let status = response.status();
        let body = response.bytes().await.map_err(FeedError::Request)?;
        if !status.is_success() {
            return Err(FeedError::Status { status, detail: problem_detail(&body) });
        }
        let wire: WirePage = serde_json::from_slice(&body).map_err(FeedError::Decode)?;
        Ok(decode(wire, after))
    }
}

/// Never prints the token.
impl std::fmt::Debug for HttpFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpFeed")
            .field("events_url", &self.events_url.as_str())
            .field("limit", &self.limit)
            .field("wait_ms", &self.wait_ms)
            .finish_non_exhaustive()
    }
}

impl EventSource for HttpFeed {
    type Error = FeedError;

    fn name(&self) -> &'static str {
        "feed"
    }

    async fn fetch(&mut self, after: u64, wait: bool) -> Result<Page, FeedError> {
        self.get(after, wait).await
    }
}

/// Why `base` cannot be the feed's address, if it cannot: http or https,
/// with a host, without query or fragment.
pub(crate) fn check_base(base: &Url) -> Result<(), &'static str> {
    if !matches!(base.scheme(), "http" | "https") {
        return Err("expected an http(s) url such as http://127.0.0.1:8080");
    }
    if base.host_str().unwrap_or_default().is_empty() {
        return Err("the url has no host");
    }
    if base.query().is_some() || base.fragment().is_some() {
        return Err("the url must not carry a query or fragment");
    }
    Ok(())
}

/// `{base}/v1/events`, keeping any path prefix the base carries.
fn events_url(base: &Url) -> Result<Url, FeedError> {
    check_base(base).map_err(|reason| FeedError::Url { url: base.to_string(), reason: reason.to_owned() })?;
    let mut url = base.clone();
    let path = format!("{}/v1/events", base.path().trim_end_matches('/'));
    url.set_path(&path);
    Ok(url)
}

/// Validates each event on its own: a bad one is logged and counted, the
/// rest of the page still applies.
fn decode(wire: WirePage, after: u64) -> Page {
    let mut events = Vec::with_capacity(wire.events.len());
    let mut rejected = 0;
    for raw in wire.events {
        let seq = raw.get("seq").and_then(serde_json::Value::as_u64);
        let event = serde_json::from_value::<ChangeEvent>(raw).map_err(|e| e.to_string()).and_then(|event| {
            event.validate().map_err(|e| e.to_string())?;
            Ok(event)
        });
        match event {
            Ok(event) => events.push(event),
            Err(error) => {
                rejected += 1;
                tracing::warn!(seq, %error, "rejecting an invalid change event from the feed");
            }
        }
    }
    let last_seq = wire.last_seq.max(after);
    // a head behind `after` is left as the source said it: the tailer's
    // lineage check reads it as a database restored to an earlier point
    Page { events, rejected, last_seq, head_seq: wire.head_seq, lineage: wire.lineage }
}

/// The `detail` of a problem+json answer, else the start of the body.
fn problem_detail(body: &[u8]) -> String {
    match serde_json::from_slice::<Problem>(body) {
        Ok(problem) => problem.detail,
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            match text.char_indices().nth(200) {
                Some((cut, _)) => format!("{}…", &text[..cut]),
                None if text.is_empty() => "(empty body)".to_owned(),
                None => text.to_owned(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_url_keeps_the_prefix() {
        let u = |s: &str| events_url(&Url::parse(s).unwrap()).map(|u| u.to_string());
        assert_eq!(u("http://127.0.0.1:8080").unwrap(), "http://127.0.0.1:8080/v1/events");
        assert_eq!(u("http://cp.internal/didroute/").unwrap(), "http://cp.internal/didroute/v1/events");
        assert_eq!(u("https://cp.internal").unwrap(), "https://cp.internal/v1/events");
        assert!(u("ftp://cp.internal").is_err());
        assert!(u("http://cp.internal/?x=1").is_err());
    }

    #[test]
    fn a_bad_event_is_rejected_alone() {
        let good = serde_json::json!({
            "seq": 2, "number": "+15551234567", "version": 1, "op": "delete", "route": null,
            "at": "2024-01-01T00:00:00Z"
        });
        let wire = WirePage {
            events: vec![
                serde_json::json!({"seq": 1, "number": "not a number"}),
                good,
                serde_json::json!({"seq": 3, "number": "+15551234567", "version": 2, "op": "upsert", "route": null, "at": "2024-01-01T00:00:00Z"}),
                serde_json::json!("garbage"),
            ],
            last_seq: 4,
            head_seq: 9,
            lineage: None,
        };
        let page = decode(wire, 0);
        assert_eq!(page.events.len(), 1);
        assert_eq!(page.events[0].seq, 2);
        assert_eq!(page.rejected, 3);
        assert_eq!((page.last_seq, page.head_seq), (4, 9));
        assert!(!page.caught_up());
    }

    #[test]
    fn problem_detail_prefers_the_problem() {
        let p = Problem::new(401, "unauthorized", "Unauthorized", "missing bearer token");
        assert_eq!(problem_detail(&p.to_json()), "missing bearer token");
        assert_eq!(problem_detail(b"  "), "(empty body)");
        assert_eq!(problem_detail("é".repeat(300).as_bytes()).chars().count(), 201);
    }
}
