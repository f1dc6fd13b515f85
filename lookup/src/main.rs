//! `didroute-lookup`: parse configuration, set up logging, bind, serve until
//! ctrl-c or SIGTERM.
#![forbid(unsafe_code)]

use anyhow::Context;
use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};
use didroute_lookup::Config;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut config = Config::parse();
    init_tracing();
    match didroute_net::KafkaProperties::from_env() {
        Ok(properties) => config.kafka_properties = properties,
        Err(error) => Config::command().error(ErrorKind::ValueValidation, format!("{error:#}")).exit(),
    }
    // Fail on bad settings before binding anything, the way clap reports
    // a bad flag (message, usage hint, exit code 2).
    if let Err(error) = config.validate() {
        Config::command().error(ErrorKind::ValueValidation, error).exit();
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {} (DIDROUTE_LOOKUP_LISTEN)", config.listen))?;
    didroute_lookup::run(config, listener, shutdown_signal()).await
}

/// JSON lines when `DIDROUTE_LOG_FORMAT=json`, readable text otherwise;
/// `RUST_LOG` filters (default `info`).
fn init_tracing() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if std::env::var("DIDROUTE_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        builder.json().flatten_event(true).init();
    } else {
        builder.init();
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
    tracing::info!("shutting down");
}
