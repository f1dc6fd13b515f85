//! Configuration from flags and `DIDROUTE_…` environment variables,
//! validated at start so a bad setting fails with a message, not later.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use didroute_net::{KafkaProperties, ServerTls, TlsFiles};
use reqwest::Url;

/// didroute lookup node: answers where a phone number routes, from an
/// in-memory snapshot kept current by tailing the control plane's events.
#[derive(Clone, Parser)]
#[command(name = "didroute-lookup", version)]
pub struct Config {
    /// Address to serve lookups on.
    #[arg(long, env = "DIDROUTE_LOOKUP_LISTEN", default_value = "127.0.0.1:8081")]
    pub listen: SocketAddr,

    /// The control plane whose event feed (`/v1/events`) this node tails.
    #[arg(long, env = "DIDROUTE_FEED_URL", default_value = "http://127.0.0.1:8080")]
    pub feed_url: String,

    /// Feed token (`drf_…`, from `POST /v1/feed-tokens`) sent to the event
    /// feed: it may read `GET /v1/events` and nothing else.
    #[arg(long, env = "DIDROUTE_FEED_TOKEN", hide_env_values = true)]
    pub feed_token: Option<String>,

    /// Deprecated: the operator token, sent to the event feed when no feed
    /// token is set. Kept so existing deployments keep working; a node's
    /// host should not hold the operator token.
    #[arg(long, env = "DIDROUTE_OPERATOR_TOKEN", hide_env_values = true)]
    pub operator_token: Option<String>,

    /// Events asked for per feed request.
    #[arg(long, env = "DIDROUTE_LOOKUP_FEED_PAGE_LIMIT", default_value_t = 10_000)]
    pub feed_page_limit: u32,

    /// How long the feed may hold a request open when there is nothing new.
    #[arg(long, env = "DIDROUTE_LOOKUP_FEED_WAIT_MS", default_value_t = 25_000)]
    pub feed_wait_ms: u64,

    /// Fold the overlay into a new base once it holds this many changes.
    #[arg(long, env = "DIDROUTE_LOOKUP_FOLD_THRESHOLD", default_value_t = 50_000)]
    pub fold_threshold: usize,

    /// Also fold a non-empty overlay at this interval.
    #[arg(long, env = "DIDROUTE_LOOKUP_FOLD_INTERVAL_MS", default_value_t = 5_000)]
    pub fold_interval_ms: u64,

    /// Kafka bootstrap servers (`host:port[,host:port…]`): when set, the node
    /// consumes the routes topic instead of tailing the control plane's feed
    /// (and needs no feed token).
    #[arg(long, env = "DIDROUTE_KAFKA_BROKERS")]
    pub kafka_brokers: Option<String>,

    /// The routes topic.
    #[arg(long, env = "DIDROUTE_KAFKA_TOPIC", default_value = DEFAULT_KAFKA_TOPIC)]
    pub kafka_topic: String,

    /// A snapshot file to start from and keep current: when it exists and
    /// verifies, the node loads it and reads only the events after it (on
    /// Kafka, from the offsets recorded beside it) before it is ready; while
    /// it runs, it rewrites the file every snapshot interval.
    #[arg(long, env = "DIDROUTE_LOOKUP_SNAPSHOT_PATH")]
    pub snapshot_path: Option<std::path::PathBuf>,

    /// How often the snapshot file is rewritten (when the position moved).
    #[arg(long, env = "DIDROUTE_LOOKUP_SNAPSHOT_INTERVAL_MS", default_value_t = 60_000)]
    pub snapshot_interval_ms: u64,

    /// When the event source diverges from the history the node holds
    /// (another lineage: the database was restored or replaced): `stop`
    /// applying and wait for an operator (readiness 503, lookups from the
    /// last good snapshot), or `rebuild` from the source under its lineage.
    #[arg(long, env = "DIDROUTE_LOOKUP_ON_DIVERGENCE", default_value = "stop", value_parser = ["stop", "rebuild"])]
    pub on_divergence: String,

    /// Bearer tokens `/v1/*` requires, comma-separated (each at least 16
    /// characters), where who owns a number must not be open to the
    /// network; `/healthz`, `/readyz`, `/metrics` stay open. Unset: open.
    #[arg(long, env = "DIDROUTE_LOOKUP_TOKENS", hide_env_values = true)]
    pub lookup_tokens: Option<String>,

    /// PEM certificate chain: with DIDROUTE_LOOKUP_TLS_KEY, lookups are served
    /// over HTTPS only (reloaded on SIGHUP or when the files change).
    #[arg(long, env = "DIDROUTE_LOOKUP_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key of DIDROUTE_LOOKUP_TLS_CERT.
    #[arg(long, env = "DIDROUTE_LOOKUP_TLS_KEY")]
    pub tls_key: Option<PathBuf>,

    /// PEM file of CA certificates trusted beside the public roots when the
    /// feed URL is `https://` (an operator's own CA).
    #[arg(long, env = "DIDROUTE_CA_FILE")]
    pub ca_file: Option<PathBuf>,

    /// Connections served at once. At the limit the node stops accepting
    /// until one ends (new ones wait in the kernel's accept queue), so the
    /// connections served keep a bounded latency when more clients come than
    /// the node can take (BENCHMARKS.md, O2). The kernel still completes
    /// their handshake, so a load balancer needs a request timeout, not only
    /// a connect timeout, to move them elsewhere; its health checks queue too,
    /// which marks a saturated node unhealthy.
    #[arg(long, env = "DIDROUTE_LOOKUP_MAX_CONNECTIONS", default_value_t = crate::app::DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: usize,

    /// How often the node ships its per-number lookup counts to the control
    /// plane (`POST /v1/usage/batches` with the feed token, or the usage
    /// topic when the node reads Kafka). A node that dies loses at most
    /// this much of its counts.
    #[arg(long, env = "DIDROUTE_USAGE_FLUSH_MS", default_value_t = crate::usage::ship::DEFAULT_FLUSH_MS)]
    pub usage_flush_ms: u64,

    /// Distinct numbers counted per flush window at most (bounded memory,
    /// about 32 bytes each); lookups of further numbers are counted only as
    /// overflow. 0: no usage counting.
    #[arg(long, env = "DIDROUTE_USAGE_MAX_NUMBERS", default_value_t = crate::usage::DEFAULT_MAX_NUMBERS)]
    pub usage_max_numbers: usize,

    /// The topic usage batches go to when the node reads Kafka.
    #[arg(long, env = "DIDROUTE_USAGE_TOPIC", default_value = didroute_shared::wire::USAGE_TOPIC)]
    pub usage_topic: String,

    /// How this node names itself in its usage batches (default: host name
    /// and listen port).
    #[arg(long, env = "DIDROUTE_USAGE_NODE_ID")]
    pub usage_node_id: Option<String>,

    /// librdkafka properties for the consumer (TLS, SASL…): read by the
    /// binary from DIDROUTE_KAFKA_PROPERTIES_FILE and
    /// DIDROUTE_KAFKA_PROPERTY_<NAME> variables; set directly in-process.
    #[arg(skip)]
    pub kafka_properties: KafkaProperties,
}

/// The topic the control plane's relay publishes to by default.
pub const DEFAULT_KAFKA_TOPIC: &str = "didroute.routes.v1";

/// Largest page the control plane serves.
pub const MAX_PAGE_LIMIT: u32 = 10_000;
/// Longest long poll the control plane accepts.
pub const MAX_FEED_WAIT_MS: u64 = 60_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("DIDROUTE_FEED_TOKEN (or --feed-token) is required: the lookup node sends it to the control plane's event feed (create one with POST /v1/feed-tokens; DIDROUTE_OPERATOR_TOKEN is still read as a deprecated fallback)")]
    MissingToken,
    #[error("DIDROUTE_FEED_TOKEN must not be empty or contain whitespace or control characters")]
    BadToken,
    #[error("DIDROUTE_FEED_URL {url:?} is not usable: {reason}")]
    FeedUrl { url: String, reason: String },
    #[error("DIDROUTE_LOOKUP_FEED_PAGE_LIMIT must be between 1 and {MAX_PAGE_LIMIT}, got {0}")]
    PageLimit(u32),
    #[error("DIDROUTE_LOOKUP_FEED_WAIT_MS must be at most {MAX_FEED_WAIT_MS}, got {0}")]
    FeedWait(u64),
    #[error("DIDROUTE_LOOKUP_FOLD_THRESHOLD must be at least 1")]
    FoldThreshold,
    #[error("DIDROUTE_LOOKUP_FOLD_INTERVAL_MS must be between 10 and 3600000, got {0}")]
    FoldInterval(u64),
    #[error("DIDROUTE_KAFKA_BROKERS {0:?} is not a list of host:port")]
    KafkaBrokers(String),
    #[error("DIDROUTE_KAFKA_TOPIC {0:?} is not a valid topic name (1-249 of a-z A-Z 0-9 . _ -)")]
    KafkaTopic(String),
    #[error("DIDROUTE_KAFKA_BROKERS is set but this build has no Kafka support (build with the `kafka` feature)")]
    KafkaUnsupported,
    #[error("DIDROUTE_LOOKUP_SNAPSHOT_INTERVAL_MS must be between 1000 and 86400000, got {0}")]
    SnapshotInterval(u64),
    #[error("DIDROUTE_LOOKUP_SNAPSHOT_PATH {0:?} is not a file path in an existing directory")]
    SnapshotPath(std::path::PathBuf),
    /// The certificate or key could not be used; says which file and why.
    #[error("{0}")]
    Tls(String),
    #[error("DIDROUTE_LOOKUP_ON_DIVERGENCE must be stop or rebuild, got {0:?}")]
    OnDivergence(String),
    /// By position, never by value: this message reaches logs.
    #[error("DIDROUTE_LOOKUP_TOKENS: token {0} is shorter than 16 characters or holds whitespace")]
    LookupToken(usize),
    #[error("DIDROUTE_LOOKUP_MAX_CONNECTIONS must be at least 1")]
    MaxConnections,
    #[error("DIDROUTE_USAGE_FLUSH_MS must be between 100 and 3600000, got {0}")]
    UsageFlush(u64),
    #[error("DIDROUTE_USAGE_MAX_NUMBERS must be at most 10000000, got {0}")]
    UsageMaxNumbers(usize),
    #[error("DIDROUTE_USAGE_TOPIC must be a Kafka topic name, got {0:?}")]
    UsageTopic(String),
    #[error("DIDROUTE_USAGE_NODE_ID must be 1 to 100 visible ASCII characters")]
    UsageNodeId,
}

/// Usage counting and shipping, when on.
#[derive(Debug, Clone)]
pub struct UsageSettings {
    pub flush: Duration,
    pub max_numbers: usize,
    pub topic: String,
    /// None: host name and listen port.
    pub node_id: Option<String>,
}

/// A configuration that passed [`Config::validate`].
#[derive(Debug, Clone)]
pub struct Validated {
    pub feed_url: Url,
    /// The bearer token sent to the feed: the feed token, else the
    /// deprecated operator token.
    pub feed_token: String,
    pub feed_page_limit: u32,
    pub feed_wait_ms: u64,
    pub fold_threshold: usize,
    pub fold_interval: Duration,
    /// Consume Kafka (brokers, topic) instead of the feed.
    pub kafka: Option<(String, String)>,
    /// The snapshot file to start from and keep current.
    pub snapshots: Option<crate::snapshot_files::SnapshotFiles>,
    /// HTTPS for lookups; None: plain HTTP.
    pub tls: Option<ServerTls>,
    /// Extra CAs the feed client trusts.
    pub ca_file: Option<PathBuf>,
    /// Tokens `/v1/*` requires; empty: open.
    pub lookup_tokens: Vec<String>,
    pub max_connections: usize,
    pub on_divergence: crate::feed::lineage::OnDivergence,
    pub kafka_properties: KafkaProperties,
    /// None: the node counts no usage (`DIDROUTE_USAGE_MAX_NUMBERS=0`).
    pub usage: Option<UsageSettings>,
}

impl Config {
    /// Defaults for everything but where the feed is and the token, for
    /// starting a node in-process.
    pub fn new(feed_url: impl Into<String>, feed_token: impl Into<String>) -> Config {
        Config { feed_url: feed_url.into(), feed_token: Some(feed_token.into()), ..Config::default() }
    }

    pub fn validate(&self) -> Result<Validated, ConfigError> {
        let kafka = self.validate_kafka()?;
        // A node on Kafka never calls the control plane: no token needed.
        let token = match (self.feed_token.as_deref().or(self.operator_token.as_deref()), &kafka) {
            (Some(token), _) => token,
            (None, Some(_)) => "",
            (None, None) => return Err(ConfigError::MissingToken),
        };
        if (kafka.is_none() || !token.is_empty())
            && (token.is_empty() || token.chars().any(|c| c.is_whitespace() || c.is_control()))
        {
            return Err(ConfigError::BadToken);
        }
        let bad_url = |reason: &str| ConfigError::FeedUrl { url: self.feed_url.clone(), reason: reason.to_owned() };
        let feed_url = Url::parse(&self.feed_url).map_err(|e| bad_url(&e.to_string()))?;
        crate::feed::check_base(&feed_url).map_err(bad_url)?;
        if !(1..=MAX_PAGE_LIMIT).contains(&self.feed_page_limit) {
            return Err(ConfigError::PageLimit(self.feed_page_limit));
        }
        if self.feed_wait_ms > MAX_FEED_WAIT_MS {
            return Err(ConfigError::FeedWait(self.feed_wait_ms));
        }
        if self.fold_threshold == 0 {
            return Err(ConfigError::FoldThreshold);
        }
        if !(10..=3_600_000).contains(&self.fold_interval_ms) {
            return Err(ConfigError::FoldInterval(self.fold_interval_ms));
        }
        if !(1_000..=86_400_000).contains(&self.snapshot_interval_ms) {
            return Err(ConfigError::SnapshotInterval(self.snapshot_interval_ms));
        }
        let snapshots = match &self.snapshot_path {
            None => None,
            Some(path) => {
                let dir_ok =
                    path.file_name().is_some() && path.parent().is_none_or(|d| d.as_os_str().is_empty() || d.is_dir());
                if !dir_ok || path.is_dir() {
                    return Err(ConfigError::SnapshotPath(path.clone()));
                }
                Some(crate::snapshot_files::SnapshotFiles {
                    path: path.clone(),
                    interval: Duration::from_millis(self.snapshot_interval_ms),
                })
            }
        };
        let tls = TlsFiles::from_pair(
            self.tls_cert.clone(),
            self.tls_key.clone(),
            "DIDROUTE_LOOKUP_TLS_CERT and DIDROUTE_LOOKUP_TLS_KEY",
        )
        .and_then(|files| files.map(|f| ServerTls::load(&f)).transpose())
        .map_err(|e| ConfigError::Tls(format!("{e:#}")))?;
        let lookup_tokens: Vec<String> = self
            .lookup_tokens
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect();
        if let Some(i) = lookup_tokens.iter().position(|t| t.len() < 16 || t.chars().any(char::is_whitespace)) {
            return Err(ConfigError::LookupToken(i + 1));
        }
        let on_divergence = match self.on_divergence.as_str() {
            "stop" => crate::feed::lineage::OnDivergence::Stop,
            "rebuild" => crate::feed::lineage::OnDivergence::Rebuild,
            other => return Err(ConfigError::OnDivergence(other.to_owned())),
        };
        if self.max_connections == 0 {
            return Err(ConfigError::MaxConnections);
        }
        let usage = self.validate_usage()?;
        Ok(Validated {
            usage,
            max_connections: self.max_connections,
            on_divergence,
            lookup_tokens,
            tls,
            ca_file: self.ca_file.clone(),
            kafka_properties: self.kafka_properties.clone(),
            feed_url,
            feed_token: token.to_owned(),
            feed_page_limit: self.feed_page_limit,
            feed_wait_ms: self.feed_wait_ms,
            fold_threshold: self.fold_threshold,
            fold_interval: Duration::from_millis(self.fold_interval_ms),
            kafka,
            snapshots,
        })
    }

    fn validate_usage(&self) -> Result<Option<UsageSettings>, ConfigError> {
        if !(100..=3_600_000).contains(&self.usage_flush_ms) {
            return Err(ConfigError::UsageFlush(self.usage_flush_ms));
        }
        if self.usage_max_numbers > 10_000_000 {
            return Err(ConfigError::UsageMaxNumbers(self.usage_max_numbers));
        }
        if !valid_topic(&self.usage_topic) {
            return Err(ConfigError::UsageTopic(self.usage_topic.clone()));
        }
        if let Some(id) = &self.usage_node_id {
            if id.is_empty() || id.len() > 100 || !id.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(ConfigError::UsageNodeId);
            }
        }
        Ok((self.usage_max_numbers > 0).then(|| UsageSettings {
            flush: Duration::from_millis(self.usage_flush_ms),
            max_numbers: self.usage_max_numbers,
            topic: self.usage_topic.clone(),
            node_id: self.usage_node_id.clone(),
        }))
    }

    fn validate_kafka(&self) -> Result<Option<(String, String)>, ConfigError> {
        let Some(brokers) = self.kafka_brokers.as_deref().map(str::trim).filter(|b| !b.is_empty()) else {
            return Ok(None);
        };
        let host_port = |b: &str| {
            let b = b.trim();
            let b = b.split_once("://").map_or(b, |(_, rest)| rest);
            matches!(b.rsplit_once(':'), Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok())
        };
        if !brokers.split(',').all(host_port) {
            return Err(ConfigError::KafkaBrokers(brokers.to_owned()));
        }
        let topic = &self.kafka_topic;
        if !valid_topic(topic) {
            return Err(ConfigError::KafkaTopic(topic.clone()));
        }
        if !cfg!(feature = "kafka") {
            return Err(ConfigError::KafkaUnsupported);
        }
        Ok(Some((brokers.to_owned(), topic.clone())))
    }
}

/// Kafka's rule for topic names.
fn valid_topic(topic: &str) -> bool {
    !(topic.is_empty()
        || topic.len() > 249
        || topic == "."
        || topic == ".."
        || !topic.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
}

impl Default for Config {
    /// The documented defaults, with no token.
    fn default() -> Config {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8081)),
            feed_url: "http://127.0.0.1:8080".to_owned(),
            feed_token: None,
            operator_token: None,
            feed_page_limit: MAX_PAGE_LIMIT,
            feed_wait_ms: 25_000,
            fold_threshold: 50_000,
            fold_interval_ms: 5_000,
            kafka_brokers: None,
            kafka_topic: DEFAULT_KAFKA_TOPIC.to_owned(),
            snapshot_path: None,
            snapshot_interval_ms: 60_000,
            lookup_tokens: None,
            on_divergence: "stop".to_owned(),
            tls_cert: None,
            tls_key: None,
            ca_file: None,
            max_connections: crate::app::DEFAULT_MAX_CONNECTIONS,
            usage_flush_ms: crate::usage::ship::DEFAULT_FLUSH_MS,
            usage_max_numbers: crate::usage::DEFAULT_MAX_NUMBERS,
            usage_topic: didroute_shared::wire::USAGE_TOPIC.to_owned(),
            usage_node_id: None,
            kafka_properties: KafkaProperties::default(),
        }
    }
}

/// Never prints the token.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("feed_url", &self.feed_url)
            .field("feed_token", &self.feed_token.as_ref().map(|_| "<redacted>"))
            .field("operator_token", &self.operator_token.as_ref().map(|_| "<redacted>"))
            .field("feed_page_limit", &self.feed_page_limit)
            .field("feed_wait_ms", &self.feed_wait_ms)
            .field("fold_threshold", &self.fold_threshold)
            .field("fold_interval_ms", &self.fold_interval_ms)
            .field("snapshot_path", &self.snapshot_path)
            .field("snapshot_interval_ms", &self.snapshot_interval_ms)
            .field("kafka_brokers", &self.kafka_brokers)
            .field("kafka_topic", &self.kafka_topic)
            .field("kafka_properties", &self.kafka_properties)
            .field("on_divergence", &self.on_divergence)
            .field("lookup_tokens", &self.lookup_tokens.as_ref().map(|_| "<redacted>"))
            .field("tls_cert", &self.tls_cert)
            .field("tls_key", &self.tls_key)
            .field("ca_file", &self.ca_file)
            .field("usage_flush_ms", &self.usage_flush_ms)
            .field("usage_max_numbers", &self.usage_max_numbers)
            .field("usage_topic", &self.usage_topic)
            .field("usage_node_id", &self.usage_node_id)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_documented_ones() {
        let parsed = Config::try_parse_from(["didroute-lookup", "--feed-token", "t0k"]).unwrap();
        let default = Config { feed_token: Some("t0k".into()), ..Config::default() };
        assert_eq!(format!("{parsed:?}"), format!("{default:?}"));
        assert_eq!(parsed.listen.to_string(), "127.0.0.1:8081");
        assert!(parsed.validate().is_ok());
        assert!(!format!("{parsed:?}").contains("t0k"), "the token never shows in logs");
    }

    #[test]
    fn validation_names_the_setting() {
        let ok = Config::new("http://127.0.0.1:8080", "tok");
        assert_eq!(Config { feed_token: None, ..ok.clone() }.validate().unwrap_err(), ConfigError::MissingToken);
        assert_eq!(
            Config { feed_token: Some(" ".into()), ..ok.clone() }.validate().unwrap_err(),
            ConfigError::BadToken
        );
        for url in ["", "127.0.0.1:8080", "ftp://cp", "http://cp/?a=b", "file:///tmp"] {
            let err = Config { feed_url: url.into(), ..ok.clone() }.validate().unwrap_err();
            assert!(err.to_string().starts_with("DIDROUTE_FEED_URL"), "{url}: {err}");
        }
        assert_eq!(Config { feed_page_limit: 0, ..ok.clone() }.validate().unwrap_err(), ConfigError::PageLimit(0));
        assert_eq!(
            Config { feed_wait_ms: 60_001, ..ok.clone() }.validate().unwrap_err(),
            ConfigError::FeedWait(60_001)
        );
        assert_eq!(Config { fold_threshold: 0, ..ok.clone() }.validate().unwrap_err(), ConfigError::FoldThreshold);
        assert_eq!(Config { usage_flush_ms: 99, ..ok.clone() }.validate().unwrap_err(), ConfigError::UsageFlush(99));
        assert_eq!(
            Config { usage_max_numbers: 10_000_001, ..ok.clone() }.validate().unwrap_err(),
            ConfigError::UsageMaxNumbers(10_000_001)
        );
        assert_eq!(
            Config { usage_node_id: Some("a b".into()), ..ok.clone() }.validate().unwrap_err(),
            ConfigError::UsageNodeId
        );
        assert!(Config { usage_max_numbers: 0, ..ok.clone() }.validate().unwrap().usage.is_none(), "0: off");
        let usage = ok.validate().unwrap().usage.unwrap();
        assert_eq!((usage.flush.as_millis(), usage.max_numbers), (60_000, 100_000));
        assert!(ok.validate().is_ok());
    }

    #[test]
    fn the_feed_token_wins_and_the_operator_token_is_still_read() {
        let both = Config {
            feed_token: Some("drf_feed".into()),
            operator_token: Some("operator".into()),
            ..Config::default()
        };
        assert_eq!(both.validate().unwrap().feed_token, "drf_feed");
        let old = Config { feed_token: None, ..both.clone() };
        assert_eq!(old.validate().unwrap().feed_token, "operator", "deprecated, but still works");
        let parsed = Config::try_parse_from(["didroute-lookup", "--operator-token", "op"]).unwrap();
        assert_eq!(parsed.validate().unwrap().feed_token, "op");
        assert!(!format!("{both:?}").contains("drf_feed") && !format!("{both:?}").contains("operator\""));
    }

    #[test]
    fn kafka_needs_no_token_and_checks_its_settings() {
        let kafka = Config { kafka_brokers: Some("127.0.0.1:9092,kafka-2:9092".into()), ..Config::default() };
        if cfg!(feature = "kafka") {
            let valid = kafka.validate().unwrap();
            assert_eq!(valid.kafka, Some(("127.0.0.1:9092,kafka-2:9092".into(), DEFAULT_KAFKA_TOPIC.into())));
        } else {
            assert_eq!(kafka.validate().unwrap_err(), ConfigError::KafkaUnsupported);
        }
        for bad in ["kafka", "host:port", ":9092"] {
            let err = Config { kafka_brokers: Some(bad.into()), ..kafka.clone() }.validate().unwrap_err();
            assert_eq!(err, ConfigError::KafkaBrokers(bad.into()));
        }
        for bad in ["", "a b", "x/y"] {
            let err = Config { kafka_topic: bad.into(), ..kafka.clone() }.validate().unwrap_err();
            assert_eq!(err, ConfigError::KafkaTopic(bad.into()));
        }
        let blank = Config { kafka_brokers: Some(" ".into()), ..Config::default() };
        assert_eq!(blank.validate().unwrap_err(), ConfigError::MissingToken, "blank means no Kafka");
    }
}
