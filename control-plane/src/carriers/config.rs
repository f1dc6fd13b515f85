//! Carriers from the environment: `DIDROUTE_CARRIERS` lists them as
//! comma-separated `name=kind+url` (`sim=telnyx+http://127.0.0.1:9090`) and
//! each one's API key is `DIDROUTE_CARRIER_TOKEN_<NAME>` (the name upper-cased,
//! `-` as `_`).

use std::collections::HashMap;
use std::fmt;

use serde::Serialize;

pub const CARRIERS_VAR: &str = "DIDROUTE_CARRIERS";
pub const TOKEN_VAR_PREFIX: &str = "DIDROUTE_CARRIER_TOKEN_";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CarrierKind {
    /// Telnyx API v2 (and `didroute-carrier-sim`, which speaks it).
    Telnyx,
}

impl CarrierKind {
    pub const ALL: [CarrierKind; 1] = [CarrierKind::Telnyx];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Telnyx => "telnyx",
        }
    }
}

impl fmt::Display for CarrierKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, PartialEq, Eq)]
pub struct CarrierConfig {
    pub name: String,
    pub kind: CarrierKind,
    /// The API root without the version path (`https://api.telnyx.com`).
    pub base_url: String,
    pub token: String,
}

impl fmt::Debug for CarrierConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CarrierConfig")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("base_url", &self.base_url)
            .field("token", &"<redacted>")
            .finish()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{CARRIERS_VAR}: entry {0:?} is not name=kind+url")]
    Syntax(String),
    #[error("{CARRIERS_VAR}: carrier name {0:?} must be 1 to 32 of a-z, 0-9, - and _, starting with a letter")]
    BadName(String),
    #[error("{CARRIERS_VAR}: carrier {0:?} is listed twice")]
    Duplicate(String),
    #[error("{CARRIERS_VAR}: carrier {name:?} has unknown kind {kind:?} (known: {known})", known = known_kinds())]
    UnknownKind { name: String, kind: String },
    #[error("{CARRIERS_VAR}: carrier {name:?} has url {url:?}, which is not an http or https url")]
    BadUrl { name: String, url: String },
    #[error("carrier {name:?} has no API key: set {var}")]
    MissingToken { name: String, var: String },
    #[error("carrier {name:?}: cannot build its http client: {detail}")]
    Client { name: String, detail: String },
}

fn known_kinds() -> String {
    CarrierKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
}

/// The variable holding a carrier's API key.
pub fn token_var(name: &str) -> String {
    format!("{TOKEN_VAR_PREFIX}{}", name.to_ascii_uppercase().replace('-', "_"))
}

/// Reads the carriers from an environment (`std::env::vars()` in production);
/// none when `DIDROUTE_CARRIERS` is unset or blank.
pub fn from_env(env: impl IntoIterator<Item = (String, String)>) -> Result<Vec<CarrierConfig>, ConfigError> {
    let env: HashMap<String, String> = env.into_iter().collect();
    let Some(spec) = env.get(CARRIERS_VAR) else { return Ok(Vec::new()) };
    let mut out: Vec<CarrierConfig> = Vec::new();
    for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (name, rest) = entry.split_once('=').ok_or_else(|| ConfigError::Syntax(entry.to_string()))?;
        let (kind, url) = rest.split_once('+').ok_or_else(|| ConfigError::Syntax(entry.to_string()))?;
        let (name, kind, url) = (name.trim(), kind.trim(), url.trim().trim_end_matches('/'));
        if !valid_name(name) {
            return Err(ConfigError::BadName(name.to_string()));
        }
        if out.iter().any(|c| c.name == name) {
            return Err(ConfigError::Duplicate(name.to_string()));
        }
        let kind = CarrierKind::ALL
            .into_iter()
            .find(|k| k.as_str() == kind)
            .ok_or_else(|| ConfigError::UnknownKind { name: name.to_string(), kind: kind.to_string() })?;
        if !valid_url(url) {
            return Err(ConfigError::BadUrl { name: name.to_string(), url: url.to_string() });
        }
        let var = token_var(name);
        let token = env.get(&var).map(|t| t.trim()).filter(|t| !t.is_empty());
        let token = token.ok_or_else(|| ConfigError::MissingToken { name: name.to_string(), var: var.clone() })?;
        out.push(CarrierConfig { name: name.to_string(), kind, base_url: url.to_string(), token: token.to_string() });
    }
    Ok(out)
}

fn valid_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

fn valid_url(url: &str) -> bool {
    match reqwest::Url::parse(url) {
        Ok(u) => matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty()),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn parses_carriers_and_their_tokens() {
        let got = from_env(env(&[
            ("DIDROUTE_CARRIERS", " sim=telnyx+http://127.0.0.1:9090/ , prod-1=telnyx+https://api.telnyx.com"),
            ("DIDROUTE_CARRIER_TOKEN_SIM", "t1"),
            ("DIDROUTE_CARRIER_TOKEN_PROD_1", "t2"),
        ]))
        .unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].name, "sim");
        assert_eq!(got[0].kind, CarrierKind::Telnyx);
        assert_eq!(got[0].base_url, "http://127.0.0.1:9090");
        assert_eq!(got[0].token, "t1");
        assert_eq!(got[1].name, "prod-1");
        assert_eq!(got[1].base_url, "https://api.telnyx.com");
        assert_eq!(got[1].token, "t2");
        assert!(!format!("{:?}", got[1]).contains("t2"), "tokens stay out of debug output");
    }

    #[test]
    fn no_variable_means_no_carriers() {
        assert_eq!(from_env(env(&[])).unwrap(), vec![]);
        assert_eq!(from_env(env(&[("DIDROUTE_CARRIERS", " ")])).unwrap(), vec![]);
    }

    #[test]
    fn reports_each_mistake_clearly() {
        let with = |spec: &str| from_env(env(&[("DIDROUTE_CARRIERS", spec), ("DIDROUTE_CARRIER_TOKEN_A", "t")]));
        assert_eq!(with("a"), Err(ConfigError::Syntax("a".into())));
        assert_eq!(with("a=telnyx"), Err(ConfigError::Syntax("a=telnyx".into())));
        assert_eq!(with("A=telnyx+http://x"), Err(ConfigError::BadName("A".into())));
        assert_eq!(with("=telnyx+http://x"), Err(ConfigError::BadName("".into())));
        assert_eq!(with("a=telnyx+http://x,a=telnyx+http://y"), Err(ConfigError::Duplicate("a".into())));
        assert_eq!(
            with("a=bandwidth+http://x"),
            Err(ConfigError::UnknownKind { name: "a".into(), kind: "bandwidth".into() })
        );
        assert_eq!(with("a=telnyx+ftp://x"), Err(ConfigError::BadUrl { name: "a".into(), url: "ftp://x".into() }));
        assert_eq!(with("a=telnyx+nonsense"), Err(ConfigError::BadUrl { name: "a".into(), url: "nonsense".into() }));
        let err = with("b=telnyx+http://x").unwrap_err();
        assert_eq!(err, ConfigError::MissingToken { name: "b".into(), var: "DIDROUTE_CARRIER_TOKEN_B".into() });
        assert_eq!(err.to_string(), "carrier \"b\" has no API key: set DIDROUTE_CARRIER_TOKEN_B");
        let err = with("a=bandwidth+http://x").unwrap_err().to_string();
        assert!(err.contains("known: telnyx"), "{err}");
    }
}
