use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use didroute_control_plane::config::{DataDirArgs, DbArgs, KafkaArgs, ServeArgs};
use didroute_control_plane::db::{self, embedded::EmbeddedPg, Db};
use didroute_control_plane::AppState;
use didroute_shared::wire::NewFeedTokenRequest;
use tokio::net::TcpListener;

/// The name of the feed token `standalone` mints for its own lookup node.
const STANDALONE_FEED_TOKEN: &str = "standalone lookup node";

#[derive(Parser)]
#[command(
    name = "didroute-control-plane",
    version,
    about = "didroute control plane: DID allocation API, outbox and event feed"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the control-plane API (needs DATABASE_URL); with
    /// DIDROUTE_KAFKA_BROKERS, also the outbox relay.
    Serve {
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        serve: ServeArgs,
        #[command(flatten)]
        kafka: KafkaArgs,
    },
    /// Run only the outbox relay to Kafka (needs DATABASE_URL and
    /// DIDROUTE_KAFKA_BROKERS); one relay is active at a time, others wait.
    Relay {
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        kafka: KafkaArgs,
    },
    /// Apply database migrations (needs DATABASE_URL of the schema owner).
    Migrate {
        #[command(flatten)]
        db: DbArgs,
    },
    /// The database's event lineage: `show` it, or `rotate` it after a
    /// restore to an earlier point (a new lineage, every number's state
    /// emitted again under it; lookup nodes on the old one stop or rebuild).
    Lineage {
        #[command(flatten)]
        db: DbArgs,
        #[arg(value_parser = ["show", "rotate"])]
        action: String,
    },
    /// Control plane and a lookup node in one process; with no DATABASE_URL,
    /// on a private PostgreSQL under DIDROUTE_DATA_DIR.
    Standalone {
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        serve: ServeArgs,
        #[command(flatten)]
        data: DataDirArgs,
        #[command(flatten)]
        kafka: KafkaArgs,
        /// Lookup-node listen address.
        #[arg(long, env = "DIDROUTE_LOOKUP_LISTEN", default_value = "127.0.0.1:8081")]
        lookup_listen: std::net::SocketAddr,
        /// Also start `didroute-carrier-sim` (the binary next to this one) on
        /// a free loopback port and configure it as carrier `sim`, to try the
        /// carrier features on one machine.
        #[arg(long)]
        with_carrier_sim: bool,
    },
}

fn init_tracing() {
    didroute_control_plane::logging::init();
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("signal handler");
    tokio::select! {
        _ = ctrl_c => {},
        _ = term.recv() => {},
    }
    tracing::info!("shutting down");
}

/// A failure to start is one line on stderr (`{:#}` joins the causes), so
/// that an operator sees the cause without a backtrace-like block.
#[tokio::main]
async fn main() -> std::process::ExitCode {
    init_tracing();
    match run(Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", one_line(&error));
            std::process::ExitCode::FAILURE
        }
    }
}

/// The error and its causes joined by `: `, leaving out a cause whose text
/// the line already holds (sqlx's errors repeat their source).
fn one_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string().replace('\n', " ");
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Migrate { db } => {
            let url = db.database_url.as_deref().context("DATABASE_URL is required for migrate")?;
            db::migrate(url, db.db_role_password.as_deref()).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Lineage { db, action } => {
            let url = db.database_url.clone().context("DATABASE_URL is required for lineage")?;
            db::migrate(&url, db.db_role_password.as_deref()).await?;
            let operator = Db::connect(&db, &url).await?.operator;
            use didroute_control_plane::outbox::lineage;
            if action == "rotate" {
                let r = lineage::rotate(&operator).await?;
                println!(
                    "lineage {} from position {}: {} numbers emitted again, head {}",
                    r.id, r.since_seq, r.emitted, r.head_seq
                );
            } else {
                let c = lineage::current(&operator).await?;
                println!("lineage {} from position {} (since {})", c.id, c.since_seq, c.started_at);
            }
            Ok(())
        }
        Command::Serve { db, serve, kafka } => {
            let url = db.database_url.clone().context("DATABASE_URL is required for serve (or use standalone)")?;
            let token = serve
                .operator_tokens()?
                .into_iter()
                .next()
                .context("DIDROUTE_OPERATOR_TOKEN (or DIDROUTE_OPERATOR_TOKENS) is required for serve")?;
            let settings = serve.settings(token)?;
            let relay = kafka.relay_settings()?;
            let usage = kafka.usage_settings()?;
            db::migrate(&url, db.db_role_password.as_deref()).await?;
            let state = AppState::new(Db::connect(&db, &url).await?, settings);
            let listener =
                TcpListener::bind(serve.listen).await.with_context(|| format!("cannot listen on {}", serve.listen))?;
            tracing::info!(addr = %listener.local_addr()?, "control plane listening");
            let (tx, rx) = tokio::sync::watch::channel(false);
            let relay = didroute_control_plane::spawn_relay(&state, relay, stop(rx.clone()));
            let usage = didroute_control_plane::spawn_usage_consumer(&state, usage, stop(rx));
            let served = didroute_control_plane::run(listener, state, shutdown_signal()).await;
            let _ = tx.send(true);
            if let Some(relay) = relay {
                if let Ok(Err(e)) = relay.await {
                    tracing::error!(error = %e, "outbox relay stopped with an error");
                }
            }
            if let Some(usage) = usage {
                if let Ok(Err(e)) = usage.await {
                    tracing::error!(error = %e, "usage consumer stopped with an error");
                }
            }
            served
        }
        Command::Relay { db, kafka } => {
            let url = db.database_url.clone().context("DATABASE_URL is required for relay")?;
            let settings = kafka.relay_settings()?.context("DIDROUTE_KAFKA_BROKERS is required for relay")?;
            db::migrate(&url, db.db_role_password.as_deref()).await?;
            let db = Db::connect(&db, &url).await?;
            didroute_control_plane::outbox::relay::Relay::new(db.operator, settings).run(shutdown_signal()).await
        }
        Command::Standalone { db, serve, data, kafka, lookup_listen, with_carrier_sim } => {
            standalone(db, serve, data.data_dir, kafka, lookup_listen, with_carrier_sim).await
        }
    }
}

/// Resolves when `rx` turns true.
async fn stop(mut rx: tokio::sync::watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

async fn standalone(
    db: DbArgs,
    serve: ServeArgs,
    data_dir: PathBuf,
    kafka: KafkaArgs,
    lookup_listen: std::net::SocketAddr,
    with_carrier_sim: bool,
) -> anyhow::Result<()> {
    // started first: a missing binary fails before anything else runs
    let carrier_sim = if with_carrier_sim { Some(CarrierSim::start().await?) } else { None };
    let relay_settings = kafka.relay_settings()?;
    let (url, embedded) = match db.database_url.clone() {
        Some(u) => (u, None),
        None => {
            let pg = tokio::task::spawn_blocking(move || EmbeddedPg::start(&data_dir)).await??;
            db::embedded::wait_ready(&pg.admin_url()).await?;
            let admin = sqlx::PgPool::connect(&pg.admin_url()).await?;
            let exists: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'didroute')")
                    .fetch_one(&admin)
                    .await?;
            if !exists {
                sqlx::query("CREATE DATABASE didroute").execute(&admin).await?;
            }
            admin.close().await;
            (pg.url("didroute"), Some(pg))
        }
    };
    let token = serve.operator_tokens()?.into_iter().next().unwrap_or_else(|| {
        let (key, _) = didroute_control_plane::auth::new_secret(didroute_control_plane::auth::KEY_PREFIX);
        format!("op_{}", &key[4..])
    });
    let mut settings = serve.settings(token.clone())?;
    if let Some(sim) = &carrier_sim {
        settings.carriers.push(sim.config());
    }
    db::migrate(&url, db.db_role_password.as_deref()).await?;
    let state = AppState::new(Db::connect(&db, &url).await?, settings);
    let cp_listener =
        TcpListener::bind(serve.listen).await.with_context(|| format!("cannot listen on {}", serve.listen))?;
    let cp_addr = cp_listener.local_addr()?;
    let lookup_listener =
        TcpListener::bind(lookup_listen).await.with_context(|| format!("cannot listen on {lookup_listen}"))?;
    let lookup_addr = lookup_listener.local_addr()?;
    println!("didroute standalone");
    let scheme = if state.settings.tls.is_some() { "https" } else { "http" };
    let lookup_properties = relay_settings.as_ref().map(|r| r.properties.clone()).unwrap_or_default();
    println!("  control plane:   {scheme}://{cp_addr}");
    println!("  lookup node:     http://{lookup_addr}");
    println!("  operator token:  {token}");
    if embedded.is_some() {
        println!("  database:        private PostgreSQL at {url}");
    }
    if let Some(sim) = &carrier_sim {
        println!("  carrier sim:     {} (carrier \"sim\", Telnyx API v2)", sim.url);
    }
    let (tx, rx) = tokio::sync::watch::channel(false);
    let stop = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    if let Some(relay) = &relay_settings {
        println!("  kafka:           {} topic {} (relay and lookup node)", relay.brokers, relay.topic);
    }
    let usage = didroute_control_plane::spawn_usage_consumer(&state, kafka.usage_settings()?, stop(rx.clone()));
    let relay = didroute_control_plane::spawn_relay(&state, relay_settings, stop(rx.clone()));
    // The node reads the feed with a feed token of its own, not the operator
    // token: least privilege, as a node on another host would run.
    let db_handle = state.db.clone();
    let feed_token = didroute_control_plane::service::feed_tokens::create(
        &db_handle,
        &NewFeedTokenRequest { name: Some(STANDALONE_FEED_TOKEN.to_owned()) },
        None,
    )
    .await
    .map_err(|e| anyhow::anyhow!("cannot mint the lookup node's feed token: {e}"))?;
    let cp = tokio::spawn(didroute_control_plane::run(cp_listener, state, stop(rx.clone())));
    // over TLS the node's feed client must trust the certificate: name it
    // for 127.0.0.1 or give its CA in DIDROUTE_CA_FILE
    let mut lookup_config = didroute_lookup::Config::new(format!("{scheme}://{cp_addr}"), feed_token.token.clone());
    lookup_config.ca_file = didroute_net::tls_client::ca_file_from_env();
    lookup_config.listen = lookup_addr;
    lookup_config.kafka_brokers = kafka.kafka_brokers.clone().filter(|b| !b.trim().is_empty());
    lookup_config.kafka_topic = kafka.kafka_topic.clone();
    lookup_config.usage_topic = kafka.usage_topic.clone();
    lookup_config.kafka_properties = lookup_properties;
    let lookup = tokio::spawn(didroute_lookup::run(lookup_config, lookup_listener, stop(rx.clone())));
    shutdown_signal().await;
    let _ = tx.send(true);
    if let Ok(Err(e)) = cp.await {
        tracing::error!(error = %e, "control plane stopped with an error");
    }
    if let Ok(Err(e)) = lookup.await {
        tracing::error!(error = %e, "lookup node stopped with an error");
    }
    if let Some(relay) = relay {
        if let Ok(Err(e)) = relay.await {
            tracing::error!(error = %e, "outbox relay stopped with an error");
        }
    }
    if let Some(usage) = usage {
        if let Ok(Err(e)) = usage.await {
            tracing::error!(error = %e, "usage consumer stopped with an error");
        }
    }
    // the next start mints a fresh one: this one would only linger unused
    if let Err(e) = didroute_control_plane::service::feed_tokens::revoke(&db_handle, feed_token.id, None).await {
        tracing::warn!(error = %e, "could not revoke the lookup node's feed token");
    }
    if let Some(pg) = embedded {
        tokio::task::spawn_blocking(move || pg.stop()).await??;
    }
    Ok(())
}

/// `didroute-carrier-sim` beside `standalone`, stopped when dropped.
struct CarrierSim {
    url: String,
    token: String,
    _child: tokio::process::Child,
}

impl CarrierSim {
    async fn start() -> anyhow::Result<CarrierSim> {
        use tokio::io::AsyncBufReadExt;
        let bin = std::env::current_exe()?.with_file_name("didroute-carrier-sim");
        anyhow::ensure!(
            bin.exists(),
            "--with-carrier-sim needs {}: build it with `cargo build --release -p didroute-carrier-sim`",
            bin.display()
        );
        let (token, _) = didroute_control_plane::auth::new_secret("sim_");
        let mut child = tokio::process::Command::new(&bin)
            .args(["--listen", "127.0.0.1:0", "--token", &token])
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let stdout = child.stdout.take().context("the carrier simulator's stdout")?;
        let mut line = String::new();
        tokio::io::BufReader::new(stdout).read_line(&mut line).await?;
        let addr = line.trim().strip_prefix("listening on ").context("the carrier simulator did not start")?;
        Ok(CarrierSim { url: format!("http://{addr}"), token, _child: child })
    }

    fn config(&self) -> didroute_control_plane::carriers::CarrierConfig {
        didroute_control_plane::carriers::CarrierConfig {
            name: "sim".to_owned(),
            kind: didroute_control_plane::carriers::CarrierKind::Telnyx,
            base_url: self.url.clone(),
            token: self.token.clone(),
        }
    }
}
