//! The read-your-writes query: `min_seq=N[&wait_ms=M]`.

use std::time::Duration;

use super::reply::shorten;

/// Default wait for `min_seq`, in milliseconds.
pub const DEFAULT_WAIT_MS: u64 = 1_000;
/// Longest wait a request may ask for; larger values are capped.
pub const MAX_WAIT_MS: u64 = 30_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitQuery {
    /// Answer only from a snapshot at this position or later.
    pub min_seq: Option<u64>,
    /// How long to wait for `min_seq` before answering 503.
    pub wait: Duration,
}

/// Parses the query string. Unknown parameters are ignored; a known one
/// with a bad value is an error naming it.
pub fn parse(query: Option<&str>) -> Result<WaitQuery, String> {
    let mut min_seq = None;
    let mut wait_ms = DEFAULT_WAIT_MS;
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        match name {
            "min_seq" => min_seq = Some(whole(name, value)?),
            "wait_ms" => wait_ms = whole(name, value)?.min(MAX_WAIT_MS),
            _ => {}
        }
    }
    Ok(WaitQuery { min_seq, wait: Duration::from_millis(wait_ms) })
}

fn whole(name: &str, value: &str) -> Result<u64, String> {
    // u64::from_str takes a leading '+': only plain digits are a position.
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(n) = value.parse() {
            return Ok(n);
        }
    }
    Err(format!("{name} must be a whole number from 0 to {}, got {}", u64::MAX, shorten(value)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_caps() {
        assert_eq!(parse(None).unwrap(), WaitQuery { min_seq: None, wait: Duration::from_millis(1000) });
        let q = parse(Some("min_seq=42&wait_ms=99999999&other=x")).unwrap();
        assert_eq!(q, WaitQuery { min_seq: Some(42), wait: Duration::from_millis(MAX_WAIT_MS) });
        assert_eq!(parse(Some("&&wait_ms=5")).unwrap().wait, Duration::from_millis(5));
    }

    #[test]
    fn rejects_bad_values_by_name() {
        for bad in [
            "min_seq=",
            "min_seq",
            "min_seq=-1",
            "min_seq=+1",
            "min_seq=1.5",
            "min_seq=99999999999999999999",
            "wait_ms=abc",
        ] {
            let err = parse(Some(bad)).unwrap_err();
            assert!(err.starts_with(bad.split('=').next().unwrap()), "{bad}: {err}");
        }
    }
}
