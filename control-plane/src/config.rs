//! Configuration: flags and `DIDROUTE_…` environment variables, validated at start.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

/// Settings every control-plane command shares.
#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    /// PostgreSQL URL of a role that owns the schema (runs migrations). Unset:
    /// `standalone` starts a private cluster under DIDROUTE_DATA_DIR.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,

    /// URL the service uses for tenant work; defaults to DATABASE_URL with the
    /// user `didroute_app`.
    #[arg(long, env = "DIDROUTE_APP_DATABASE_URL")]
    pub app_database_url: Option<String>,

    /// URL the service uses for operator work; defaults to DATABASE_URL with
    /// the user `didroute_operator`.
    #[arg(long, env = "DIDROUTE_OPERATOR_DATABASE_URL")]
    pub operator_database_url: Option<String>,

    /// Password set on (and used for) the didroute_app and didroute_operator
    /// roles when their URLs are derived from DATABASE_URL.
    #[arg(long, env = "DIDROUTE_DB_ROLE_PASSWORD", hide_env_values = true)]
    pub db_role_password: Option<String>,

    /// Connections per pool.
    #[arg(long, env = "DIDROUTE_DB_POOL_SIZE", default_value_t = 16)]
    pub db_pool_size: u32,

    /// How long a request waits for a free connection before it is answered
    /// 503 `overloaded` with Retry-After: under more load than PostgreSQL
    /// takes, callers learn it at once instead of queueing without bound.
    #[arg(long, env = "DIDROUTE_DB_ACQUIRE_TIMEOUT_MS", default_value_t = 2_000)]
    pub db_acquire_timeout_ms: u64,
}

/// Settings of the HTTP API.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Control-plane listen address.
    #[arg(long, env = "DIDROUTE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// PEM certificate chain: with DIDROUTE_TLS_KEY, the API speaks HTTPS
    /// only (reloaded on SIGHUP or when the files change). Unset: plain HTTP.
    #[arg(long, env = "DIDROUTE_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key of DIDROUTE_TLS_CERT.
    #[arg(long, env = "DIDROUTE_TLS_KEY")]
    pub tls_key: Option<PathBuf>,

    /// Operator bearer token (at least 16 characters).
    #[arg(long, env = "DIDROUTE_OPERATOR_TOKEN", hide_env_values = true)]
    pub operator_token: Option<String>,

    /// More operator tokens accepted at once, comma-separated, so a token
    /// can be rotated without downtime: add the new one, move clients, drop
    /// the old one. Without DIDROUTE_OPERATOR_TOKEN the first is the primary.
    #[arg(long, env = "DIDROUTE_OPERATOR_TOKENS", hide_env_values = true)]
    pub operator_tokens: Option<String>,

    /// How long a released number stays in cooldown, in seconds.
    #[arg(long, env = "DIDROUTE_COOLDOWN_SECONDS", default_value_t = 300)]
    pub cooldown_seconds: u64,

    /// How long after release the releasing tenant may reclaim, in seconds.
    #[arg(long, env = "DIDROUTE_RECLAIM_WINDOW_SECONDS", default_value_t = 10 * 24 * 3600)]
    pub reclaim_window_seconds: u64,

    /// Longest a request may run before it is answered 503 `overloaded`
    /// (its transaction rolls back whole). Exempt: the feed's long poll (its
    /// own bound, `wait_ms`) and inventory imports.
    #[arg(long, env = "DIDROUTE_REQUEST_TIMEOUT_MS", default_value_t = 10_000)]
    pub request_timeout_ms: u64,

    /// Requests served at once; past it a request is answered 503
    /// `overloaded` at once (load shedding). `/healthz` and `/metrics` are
    /// never shed.
    #[arg(long, env = "DIDROUTE_MAX_IN_FLIGHT", default_value_t = 1_024)]
    pub max_in_flight: usize,

    /// How often lifecycle jobs run (expired reservations, cooldown, reclaim
    /// window), in milliseconds; 0 turns them off in this instance.
    #[arg(long, env = "DIDROUTE_LIFECYCLE_INTERVAL_MS", default_value_t = 5000)]
    pub lifecycle_interval_ms: u64,

    /// How often the carrier job worker looks for due jobs (orders to place
    /// or follow, numbers to disconnect) and for requested reconciliations,
    /// in milliseconds; also the first retry's backoff. 0 turns the worker
    /// off in this instance.
    #[arg(long, env = "DIDROUTE_CARRIER_JOB_INTERVAL_MS", default_value_t = 1000)]
    pub carrier_job_interval_ms: u64,

    /// How often each carrier's owned numbers are reconciled with the
    /// inventory, in seconds; 0 turns the schedule off (a run asked for with
    /// `POST /v1/reconciliations` still runs).
    #[arg(long, env = "DIDROUTE_RECONCILE_INTERVAL_S", default_value_t = 300)]
    pub reconcile_interval_s: u64,
}

/// What the API layer needs at run time, after validation.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The primary operator token (`standalone`'s lookup node reads the
    /// feed with it).
    pub operator_token: String,
    /// Operator tokens accepted beside the primary one (rotation).
    pub more_operator_tokens: Vec<String>,
    pub cooldown: Duration,
    pub reclaim_window: Duration,
    /// None: this instance runs no lifecycle jobs.
    pub lifecycle_interval: Option<Duration>,
    /// HTTPS listener certificate; None: plain HTTP.
    pub tls: Option<didroute_net::ServerTls>,
    /// Longest a request runs (the feed's long poll excepted).
    pub request_timeout: Duration,
    /// Requests served at once before new ones are shed.
    pub max_in_flight: usize,
    /// Carriers from `DIDROUTE_CARRIERS` and their tokens.
    pub carriers: Vec<crate::carriers::CarrierConfig>,
    /// How often the carrier job worker runs; None: not in this instance.
    pub carrier_job_interval: Option<Duration>,
    /// How often reconciliation runs on its own; None: only when asked.
    pub reconcile_interval: Option<Duration>,
}

impl ServeArgs {
    /// Every operator token configured, the primary one first: the
    /// explicit `operator_token`, else the first of `operator_tokens`.
    pub fn operator_tokens(&self) -> anyhow::Result<Vec<String>> {
        let listed = self.operator_tokens.as_deref().unwrap_or("").split(',').map(str::trim).filter(|t| !t.is_empty());
        let mut tokens: Vec<String> = Vec::new();
        for t in self.operator_token.iter().map(String::as_str).chain(listed) {
            if !tokens.iter().any(|seen| seen == t) {
                tokens.push(t.to_owned());
            }
        }
        for (i, t) in tokens.iter().enumerate() {
            // the position, never the value: this message reaches logs
            anyhow::ensure!(
                t.len() >= 16,
                "operator token {} of {} is shorter than 16 characters",
                i + 1,
                tokens.len()
            );
        }
        Ok(tokens)
    }

    pub fn settings(&self, operator_token: String) -> anyhow::Result<Settings> {
        anyhow::ensure!(operator_token.len() >= 16, "DIDROUTE_OPERATOR_TOKEN must be at least 16 characters");
        let more_operator_tokens = self.operator_tokens()?.into_iter().filter(|t| *t != operator_token).collect();
        anyhow::ensure!(
            self.reclaim_window_seconds >= self.cooldown_seconds,
            "DIDROUTE_RECLAIM_WINDOW_SECONDS ({}) must not be shorter than DIDROUTE_COOLDOWN_SECONDS ({})",
            self.reclaim_window_seconds,
            self.cooldown_seconds
        );
        let tls = didroute_net::TlsFiles::from_pair(
            self.tls_cert.clone(),
            self.tls_key.clone(),
            "DIDROUTE_TLS_CERT and DIDROUTE_TLS_KEY",
        )?
        .map(|files| didroute_net::ServerTls::load(&files))
        .transpose()?;
        anyhow::ensure!(self.request_timeout_ms >= 100, "DIDROUTE_REQUEST_TIMEOUT_MS must be at least 100");
        anyhow::ensure!(self.max_in_flight >= 1, "DIDROUTE_MAX_IN_FLIGHT must be at least 1");
        let carriers = crate::carriers::config::from_env(std::env::vars())?;
        // an adapter that cannot be built fails the start, not a request
        crate::carriers::connect_all(&carriers)?;
        Ok(Settings {
            carriers,
            request_timeout: Duration::from_millis(self.request_timeout_ms),
            max_in_flight: self.max_in_flight,
            tls,
            operator_token,
            more_operator_tokens,
            cooldown: Duration::from_secs(self.cooldown_seconds),
            reclaim_window: Duration::from_secs(self.reclaim_window_seconds),
            lifecycle_interval: (self.lifecycle_interval_ms > 0)
                .then(|| Duration::from_millis(self.lifecycle_interval_ms)),
            carrier_job_interval: (self.carrier_job_interval_ms > 0)
                .then(|| Duration::from_millis(self.carrier_job_interval_ms)),
            reconcile_interval: (self.reconcile_interval_s > 0).then(|| Duration::from_secs(self.reconcile_interval_s)),
        })
    }
}

/// Where `standalone` keeps its private database.
#[derive(Debug, Clone, Args)]
pub struct DataDirArgs {
    #[arg(long, env = "DIDROUTE_DATA_DIR", default_value = "./.didroute")]
    pub data_dir: PathBuf,
}

/// Kafka: where the outbox relay publishes (`serve` and `standalone` run a
/// relay when the brokers are set; `relay` runs one on its own).
#[derive(Debug, Clone, Args)]
pub struct KafkaArgs {
    /// Kafka bootstrap servers, `host:port[,host:port…]`. Unset: no Kafka;
    /// lookup nodes tail the control plane's event feed. TLS, SASL and any
    /// other librdkafka property: DIDROUTE_KAFKA_PROPERTIES_FILE (Java
    /// `.properties`) and DIDROUTE_KAFKA_PROPERTY_<NAME> variables
    /// (`SECURITY_PROTOCOL` is `security.protocol`).
    #[arg(long, env = "DIDROUTE_KAFKA_BROKERS")]
    pub kafka_brokers: Option<String>,

    /// The routes topic (create it first: see the README for its settings).
    #[arg(long, env = "DIDROUTE_KAFKA_TOPIC", default_value = crate::outbox::relay::DEFAULT_TOPIC)]
    pub kafka_topic: String,

    /// The topic lookup nodes on Kafka publish their usage batches to; the
    /// control plane consumes it (group `didroute-control-plane-usage`).
    #[arg(long, env = "DIDROUTE_USAGE_TOPIC", default_value = didroute_shared::wire::USAGE_TOPIC)]
    pub usage_topic: String,
}

impl KafkaArgs {
    /// The relay's settings, when Kafka is configured.
    pub fn relay_settings(&self) -> anyhow::Result<Option<crate::outbox::relay::RelaySettings>> {
        let Some(brokers) = self.kafka_brokers.as_deref().map(str::trim).filter(|b| !b.is_empty()) else {
            return Ok(None);
        };
        anyhow::ensure!(
            brokers
                .split(',')
                .all(|b| b.trim().rsplit_once(':').is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok())),
            "DIDROUTE_KAFKA_BROKERS {brokers:?} is not a list of host:port"
        );
        let topic = &self.kafka_topic;
        anyhow::ensure!(
            !topic.is_empty()
                && topic.len() <= 249
                && topic.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')),
            "DIDROUTE_KAFKA_TOPIC {topic:?} is not a valid topic name (1-249 of a-z A-Z 0-9 . _ -)"
        );
        let mut settings = crate::outbox::relay::RelaySettings::new(brokers, topic.clone());
        settings.properties = didroute_net::KafkaProperties::from_env()?;
        Ok(Some(settings))
    }

    /// The usage consumer's settings, when Kafka is configured.
    pub fn usage_settings(&self) -> anyhow::Result<Option<crate::usage_consumer::UsageConsumerSettings>> {
        let Some(relay) = self.relay_settings()? else { return Ok(None) };
        let topic = &self.usage_topic;
        anyhow::ensure!(
            !topic.is_empty()
                && topic.len() <= 249
                && topic.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')),
            "DIDROUTE_USAGE_TOPIC {topic:?} is not a valid topic name (1-249 of a-z A-Z 0-9 . _ -)"
        );
        Ok(Some(crate::usage_consumer::UsageConsumerSettings {
            brokers: relay.brokers,
            topic: topic.clone(),
            group: crate::usage_consumer::GROUP.to_owned(),
            properties: relay.properties,
        }))
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeArgs,
    }

    fn serve(args: &[&str]) -> ServeArgs {
        Cli::try_parse_from(std::iter::once("x").chain(args.iter().copied())).unwrap().serve
    }

    #[test]
    fn operator_tokens_list_the_primary_first_and_skip_blanks_and_repeats() {
        let one = "primary-operator-token-000";
        let two = "rotated-operator-token-111";
        let s = serve(&["--operator-token", one, "--operator-tokens", &format!(" {two}, ,{one},")]);
        assert_eq!(s.operator_tokens().unwrap(), vec![one.to_owned(), two.to_owned()]);
        let settings = s.settings(one.to_owned()).unwrap();
        assert_eq!(settings.more_operator_tokens, vec![two.to_owned()]);
        // without an explicit primary, the first listed one is
        let s = serve(&["--operator-tokens", &format!("{two},{one}")]);
        assert_eq!(s.operator_tokens().unwrap()[0], two);
    }

    #[test]
    fn a_short_operator_token_is_refused_by_position_not_by_value() {
        let s = serve(&["--operator-tokens", "long-enough-operator-token-1,short"]);
        let e = s.operator_tokens().unwrap_err().to_string();
        assert_eq!(e, "operator token 2 of 2 is shorter than 16 characters");
        assert!(!e.contains("short\""));
    }
}
