//! HTTP to the control plane and the lookup node, and the failures that map
//! to didctl's exit codes.

use std::fmt;
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode, Url};
use serde_json::Value;

/// Why a command failed; [`Failure::exit_code`] is what scripts see.
#[derive(Debug)]
pub enum Failure {
    /// Bad flags, configuration or input file: exit 1.
    Usage(String),
    /// The server answered with an error status (problem+json when it could).
    Problem { status: u16, title: String, detail: String },
    /// The server could not be reached or its answer could not be read: exit 6.
    Unreachable(String),
    /// `import` finished but the server rejected some inputs: exit 5.
    Partial(String),
}

impl Failure {
    pub fn usage(msg: impl Into<String>) -> Failure {
        Failure::Usage(msg.into())
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Usage(_) => 1,
            Failure::Problem { status, .. } => match status {
                404 => 3,
                409 => 4,
                422 => 5,
                400..=499 => 2,
                _ => 6,
            },
            Failure::Unreachable(_) => 6,
            Failure::Partial(_) => 5,
        }
    }

    /// Status of a server refusal, if this is one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Failure::Problem { status, .. } => Some(*status),
            _ => None,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Usage(m) | Failure::Unreachable(m) | Failure::Partial(m) => f.write_str(m),
            Failure::Problem { title, detail, .. } => write!(f, "{title}: {detail}"),
        }
    }
}

pub type Result<T, E = Failure> = std::result::Result<T, E>;

/// An http:// or https:// base URL, checked, without a trailing slash.
pub fn base_url(flag: &str, var: &str, value: &str) -> Result<String> {
    let url = Url::parse(value).map_err(|e| {
        Failure::usage(format!("{var} / {flag} {value:?} is not a URL ({e}); e.g. http://127.0.0.1:8080"))
    })?;
    match url.scheme() {
        "http" | "https" => {}
        other => {
            return Err(Failure::usage(format!(
                "{var} / {flag} {value:?} has scheme {other:?}; use an http:// or https:// URL"
            )))
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Failure::usage(format!("{var} / {flag} {value:?} has no host")));
    }
    Ok(value.trim_end_matches('/').to_owned())
}

/// Percent-encodes one path segment (a number such as `+15551234567`
/// becomes `%2B15551234567`, which both services accept).
pub fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One answer: status, headers and JSON (Null for an empty body).
pub struct Answer {
    pub headers: HeaderMap,
    pub body: Value,
}

pub struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
    timeout: Duration,
}

/// Query parameters; `None` values are left out.
pub type Query<'a> = Vec<(&'a str, Option<String>)>;

impl Client {
    pub fn new(base: String, token: Option<String>, timeout: Duration) -> Result<Client> {
        if let Some(t) = &token {
            if t.is_empty() || t.chars().any(|c| c.is_control() || c.is_whitespace()) {
                return Err(Failure::usage(
                    "DIDROUTE_TOKEN / --token is empty or contains spaces or control characters",
                ));
            }
        }
        let builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("didctl/", env!("CARGO_PKG_VERSION")));
        // https:// URLs signed by an operator's own CA
        let ca_file = didroute_net::tls_client::ca_file_from_env();
        let http = didroute_net::tls_client::with_ca_file(builder, ca_file.as_deref())
            .map_err(|e| Failure::usage(format!("DIDROUTE_CA_FILE: {e:#}")))?
            .build()
            .map_err(|e| Failure::usage(format!("cannot set up the HTTP client: {e}")))?;
        Ok(Client { http, base, token, timeout })
    }

    /// The token, or a usage error saying how to give one.
    fn token(&self) -> Result<&str> {
        self.token.as_deref().ok_or_else(|| {
            Failure::usage(
                "no token: set DIDROUTE_TOKEN or pass --token (the operator token, or a tenant API key for tenant commands)",
            )
        })
    }

    /// Sends a request and returns the answer of a 2xx, or the failure.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        query: &Query<'_>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Result<Answer> {
        self.call_with(method, path, query, body, headers, self.timeout, true).await
    }

    /// Like [`Client::call`], with its own timeout and optionally without a token.
    #[allow(clippy::too_many_arguments)]
    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        query: &Query<'_>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
        timeout: Duration,
        auth: bool,
    ) -> Result<Answer> {
        let url = format!("{}{}", self.base, path);
        let mut req = self.http.request(method, &url).timeout(timeout);
        if auth {
            req = req.bearer_auth(self.token()?);
        }
        let present: Vec<(&str, &str)> = query.iter().filter_map(|(k, v)| v.as_deref().map(|v| (*k, v))).collect();
        if !present.is_empty() {
            req = req.query(&present);
        }
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let res = req.send().await.map_err(|e| unreachable(&self.base, e))?;
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.map_err(|e| unreachable(&self.base, e))?;
        if !status.is_success() {
            return Err(problem(status, &text));
        }
        let body = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).map_err(|e| {
                Failure::Unreachable(format!("{url} answered {status} with a body that is not JSON ({e})"))
            })?
        };
        Ok(Answer { headers, body })
    }
}

fn unreachable(base: &str, e: reqwest::Error) -> Failure {
    let what = if e.is_timeout() {
        "no answer in time".to_owned()
    } else if e.is_connect() {
        "cannot connect".to_owned()
    } else {
        "request failed".to_owned()
    };
    // the error chain says why (connection refused, DNS, ...)
    let mut cause = String::new();
    let mut src: Option<&dyn std::error::Error> = Some(&e);
    while let Some(s) = src {
        cause = s.to_string();
        src = s.source();
    }
    Failure::Unreachable(format!("{what}: {base}: {cause}"))
}

/// The failure an error answer means: its problem document when it has one.
fn problem(status: StatusCode, text: &str) -> Failure {
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        let title = v.get("title").and_then(Value::as_str);
        let detail = v.get("detail").and_then(Value::as_str);
        if let (Some(title), Some(detail)) = (title, detail) {
            return Failure::Problem { status: status.as_u16(), title: title.to_owned(), detail: detail.to_owned() };
        }
    }
    let snippet: String = text.trim().chars().take(300).collect();
    Failure::Problem {
        status: status.as_u16(),
        title: status.canonical_reason().unwrap_or("HTTP error").to_owned(),
        detail: if snippet.is_empty() { format!("HTTP {status} without a problem document") } else { snippet },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes() {
        let p = |status| Failure::Problem { status, title: "t".into(), detail: "d".into() }.exit_code();
        assert_eq!(
            [p(400), p(401), p(403), p(404), p(409), p(413), p(422), p(500), p(503)],
            [2, 2, 2, 3, 4, 2, 5, 6, 6]
        );
        assert_eq!(Failure::usage("x").exit_code(), 1);
        assert_eq!(Failure::Unreachable("x".into()).exit_code(), 6);
        assert_eq!(Failure::Partial("x".into()).exit_code(), 5);
    }

    #[test]
    fn problem_text() {
        let f = problem(
            StatusCode::NOT_FOUND,
            r#"{"type":"https://didroute.dev/problems/not-found","title":"Not found","status":404,"detail":"no such"}"#,
        );
        assert_eq!(f.to_string(), "Not found: no such");
        assert_eq!(problem(StatusCode::BAD_GATEWAY, "<html>oops</html>").to_string(), "Bad Gateway: <html>oops</html>");
        assert_eq!(problem(StatusCode::BAD_GATEWAY, "").exit_code(), 6);
    }

    #[test]
    fn urls() {
        assert_eq!(base_url("--url", "DIDROUTE_URL", "http://127.0.0.1:8080/").unwrap(), "http://127.0.0.1:8080");
        assert_eq!(base_url("--url", "DIDROUTE_URL", "http://h/api").unwrap(), "http://h/api");
        assert_eq!(base_url("--url", "DIDROUTE_URL", "https://example.com/").unwrap(), "https://example.com");
        let ftp = base_url("--url", "DIDROUTE_URL", "ftp://example.com").unwrap_err();
        assert!(ftp.to_string().contains("use an http:// or https:// URL"), "{ftp}");
        assert_eq!(ftp.exit_code(), 1);
        assert!(base_url("--url", "DIDROUTE_URL", "localhost:8080").is_err());
        assert!(base_url("--url", "DIDROUTE_URL", "not a url").is_err());
    }

    #[test]
    fn segments() {
        assert_eq!(segment("+15551234567"), "%2B15551234567");
        assert_eq!(segment("a b/c"), "a%20b%2Fc");
        assert_eq!(segment("abc-1._~"), "abc-1._~");
    }
}
