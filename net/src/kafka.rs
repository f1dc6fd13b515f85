//! librdkafka properties an operator gives for managed Kafka (TLS, SASL,
//! timeouts…), applied to the relay's producer and the lookup node's
//! consumer alike: `DIDROUTE_KAFKA_PROPERTIES_FILE` (a Java-style
//! `.properties` file, what Kafka users already have) and
//! `DIDROUTE_KAFKA_PROPERTY_<NAME>` variables, which win over the file.
//!
//! Variable names map as in Confluent's images: `_` is `.`, `__` is `_`,
//! `___` is `-`, lowercased (`DIDROUTE_KAFKA_PROPERTY_SASL_MECHANISMS` →
//! `sasl.mechanisms`).

use std::fmt;
use std::path::Path;

use anyhow::Context;

pub const FILE_VAR: &str = "DIDROUTE_KAFKA_PROPERTIES_FILE";
pub const VAR_PREFIX: &str = "DIDROUTE_KAFKA_PROPERTY_";

/// Properties in the order they apply; a later one with the same name wins.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct KafkaProperties {
    entries: Vec<(String, String)>,
}

impl KafkaProperties {
    /// From this process's environment.
    pub fn from_env() -> anyhow::Result<KafkaProperties> {
        let file = std::env::var_os(FILE_VAR).filter(|v| !v.is_empty()).map(std::path::PathBuf::from);
        KafkaProperties::from_sources(file.as_deref(), std::env::vars())
    }

    /// The file's properties, then every `DIDROUTE_KAFKA_PROPERTY_…` variable.
    pub fn from_sources(
        file: Option<&Path>,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<KafkaProperties> {
        let mut props = KafkaProperties::default();
        if let Some(path) = file {
            let text =
                std::fs::read_to_string(path).with_context(|| format!("cannot read {FILE_VAR} {}", path.display()))?;
            for (key, value) in parse(&text).with_context(|| format!("{FILE_VAR} {}", path.display()))? {
                props.set(key, value);
            }
        }
        let mut vars: Vec<(String, String)> =
            vars.into_iter().filter(|(k, _)| k.starts_with(VAR_PREFIX) && k.len() > VAR_PREFIX.len()).collect();
        // the environment has no order; a fixed one keeps runs alike
        vars.sort();
        for (name, value) in vars {
            props.set(property_name(&name[VAR_PREFIX.len()..]), value);
        }
        Ok(props)
    }

    /// Sets `key`; Java's `sasl.jaas.config` for PLAIN or SCRAM becomes
    /// librdkafka's `sasl.username` and `sasl.password`.
    pub fn set(&mut self, key: String, value: String) {
        if key == "sasl.jaas.config" {
            if let Some((user, password)) = jaas_credentials(&value) {
                self.set("sasl.username".to_owned(), user);
                self.set("sasl.password".to_owned(), password);
                return;
            }
        }
        self.entries.retain(|(k, _)| *k != key);
        self.entries.push((key, value));
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every property, to hand to librdkafka; never log the values.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The names alone, for a start-up log line.
    pub fn names(&self) -> Vec<&str> {
        self.entries.iter().map(|(k, _)| k.as_str()).collect()
    }
}

/// Values are shown for harmless settings only, so that a `{:?}` in a log
/// line or an error cannot leak a password.
impl fmt::Debug for KafkaProperties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (k, v) in &self.entries {
            if is_secret(k) {
                map.entry(k, &"<redacted>");
            } else {
                map.entry(k, v);
            }
        }
        map.finish()
    }
}

/// Whether a property's value is a secret (passwords, keys, tokens).
pub fn is_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["password", "secret", "jaas", "oauthbearer.config", "key.pem", "token"].iter().any(|s| key.contains(s))
}

/// `SASL_MECHANISMS` → `sasl.mechanisms`; `__` → `_`, `___` → `-`.
pub fn property_name(var: &str) -> String {
    let mut out = String::with_capacity(var.len());
    let mut rest = var;
    while !rest.is_empty() {
        let run = rest.len() - rest.trim_start_matches('_').len();
        if run > 0 {
            match run {
                1 => out.push('.'),
                2 => out.push('_'),
                3 => out.push('-'),
                // an odd run: keep every underscore rather than guess
                _ => out.push_str(&"_".repeat(run)),
            }
            rest = &rest[run..];
        } else {
            let c = rest.chars().next().unwrap_or_default();
            out.extend(c.to_lowercase());
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// Parses Java's `.properties` format: `key=value`, `key: value` or
/// `key value`; `#` and `!` comments; a trailing `\` continues a line;
/// `\t \n \r \f \uXXXX` and `\<any>` escapes.
pub fn parse(text: &str) -> anyhow::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        let mut logical = line.trim_start().to_owned();
        if logical.is_empty() || logical.starts_with('#') || logical.starts_with('!') {
            continue;
        }
        while ends_with_continuation(&logical) {
            logical.pop();
            match lines.next() {
                Some((_, next)) => logical.push_str(next.trim_start()),
                None => break,
            }
        }
        let (key, value) = split_entry(&logical);
        let key = unescape(key).with_context(|| format!("line {}", n + 1))?;
        let value = unescape(value).with_context(|| format!("line {}", n + 1))?;
        anyhow::ensure!(!key.is_empty(), "line {}: a value without a property name", n + 1);
        out.push((key, value));
    }
    Ok(out)
}

/// An odd number of trailing backslashes: the last one is a continuation.
fn ends_with_continuation(line: &str) -> bool {
    let run = line.len() - line.trim_end_matches('\\').len();
    run % 2 == 1
}

/// The key ends at the first unescaped `=`, `:` or whitespace; one
/// separator and the whitespace around it are dropped.
fn split_entry(line: &str) -> (&str, &str) {
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'=' | b':' | b' ' | b'\t' | b'\x0c' => break,
            _ => i += 1,
        }
    }
    let i = i.min(bytes.len());
    let key = &line[..i];
    let mut rest = line[i..].trim_start_matches([' ', '\t', '\x0c']);
    if let Some(r) = rest.strip_prefix(['=', ':']) {
        rest = r.trim_start_matches([' ', '\t', '\x0c']);
    }
    (key, rest)
}

fn unescape(s: &str) -> anyhow::Result<String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\x0c'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                let code = u32::from_str_radix(&hex, 16)
                    .ok()
                    .filter(|_| hex.len() == 4)
                    .and_then(char::from_u32)
                    .with_context(|| format!("\\u{hex} is not a unicode escape"))?;
                out.push(code);
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    Ok(out)
}

/// `username="…" password="…"` out of a PLAIN or SCRAM JAAS line.
fn jaas_credentials(jaas: &str) -> Option<(String, String)> {
    if !(jaas.contains("PlainLoginModule") || jaas.contains("ScramLoginModule")) {
        return None;
    }
    let field = |name: &str| {
        let start = jaas.find(&format!("{name}=\""))? + name.len() + 2;
        let len = jaas[start..].find('"')?;
        Some(jaas[start..start + len].to_owned())
    };
    Some((field("username")?, field("password")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variable_names_map_like_confluents_images() {
        assert_eq!(property_name("SECURITY_PROTOCOL"), "security.protocol");
        assert_eq!(property_name("SSL_CA_LOCATION"), "ssl.ca.location");
        assert_eq!(property_name("SASL_OAUTHBEARER_CLIENT_ID"), "sasl.oauthbearer.client.id");
        assert_eq!(property_name("A__B"), "a_b");
        assert_eq!(property_name("A___B"), "a-b");
    }

    #[test]
    fn java_properties_files_parse() {
        let text = "# Confluent Cloud\n! another comment\n\
                    bootstrap.servers=pkc-1.example.com:9092\n\
                    security.protocol = SASL_SSL\n\
                    sasl.mechanisms: PLAIN\n\
                    client.id   my\\ client\n\
                    long.value=a,\\\n    b\n\
                    escaped\\=key=x\\u0041y\n\
                    empty=\n";
        let got = parse(text).unwrap();
        let want: Vec<(String, String)> = [
            ("bootstrap.servers", "pkc-1.example.com:9092"),
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanisms", "PLAIN"),
            ("client.id", "my client"),
            ("long.value", "a,b"),
            ("escaped=key", "xAy"),
            ("empty", ""),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(got, want);
        assert!(parse("=value").is_err());
        assert!(parse("k=\\u12").is_err());
    }

    #[test]
    fn variables_override_the_file_and_jaas_becomes_username_and_password() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("client.properties");
        std::fs::write(
            &file,
            "security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-256\n\
             sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \
             username=\"svc\" password=\"s3cret\";\n",
        )
        .unwrap();
        let vars = vec![
            ("DIDROUTE_KAFKA_PROPERTY_SECURITY_PROTOCOL".to_owned(), "SSL".to_owned()),
            ("DIDROUTE_KAFKA_PROPERTY_".to_owned(), "ignored".to_owned()),
            ("OTHER".to_owned(), "ignored".to_owned()),
        ];
        let props = KafkaProperties::from_sources(Some(&file), vars).unwrap();
        assert_eq!(props.get("security.protocol"), Some("SSL"));
        assert_eq!(props.get("sasl.username"), Some("svc"));
        assert_eq!(props.get("sasl.password"), Some("s3cret"));
        assert_eq!(props.get("sasl.jaas.config"), None);
        assert_eq!(props.names(), vec!["sasl.mechanism", "sasl.username", "sasl.password", "security.protocol"]);
        let shown = format!("{props:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("SCRAM-SHA-256"), "{shown}");
        let missing = KafkaProperties::from_sources(Some(&dir.path().join("none")), vec![]).unwrap_err();
        assert!(format!("{missing:#}").contains("cannot read DIDROUTE_KAFKA_PROPERTIES_FILE"), "{missing:#}");
    }
}
