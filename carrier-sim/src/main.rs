#![forbid(unsafe_code)]

use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use didroute_carrier_sim::state::Sim;
use didroute_carrier_sim::stock::parse_stock;
use didroute_carrier_sim::{api, persist, Shared};
use tokio::net::TcpListener;

/// A carrier simulator speaking Telnyx API v2, for development and tests.
#[derive(Parser)]
#[command(name = "didroute-carrier-sim", version)]
struct Args {
    /// Address to listen on; port 0 picks a free one. The first line on
    /// stdout is `listening on ADDR`.
    #[arg(long, default_value = "127.0.0.1:9090")]
    listen: String,
    /// The bearer token `/v2` requests must carry; none accepts any request.
    #[arg(long, env = "DIDROUTE_CARRIER_SIM_TOKEN")]
    token: Option<String>,
    /// Numbers in stock per country and area code, generated deterministically.
    #[arg(long, default_value = "US:555=1000,US:800=50,GB:20=200")]
    stock: String,
    /// How long a number order stays pending before it completes.
    #[arg(long, default_value_t = 500)]
    order_delay_ms: u64,
    /// Keep the state (stock, owned numbers, orders, counters; not the fault
    /// knobs) in this file: loaded at start when present, saved after
    /// changes and at shutdown, so a restarted simulator remembers its orders.
    #[arg(long)]
    state_file: Option<std::path::PathBuf>,
    /// Longest time between a change and its save to `--state-file`.
    #[arg(long, default_value_t = 100)]
    state_save_ms: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let blocks = parse_stock(&args.stock).context("--stock")?;
    let mut sim = Sim::new(blocks, args.order_delay_ms);
    let pending = match &args.state_file {
        Some(path) => match persist::load(path)? {
            Some(saved) => {
                let pending = sim.restore(saved);
                tracing::info!(path = %path.display(), owned = sim.owned_count(), pending = pending.len(),
                    "state loaded");
                pending
            }
            None => Vec::new(),
        },
        None => Vec::new(),
    };
    let listener =
        TcpListener::bind(&args.listen).await.with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on {addr}")?;
    out.flush()?;
    drop(out);
    tracing::info!(%addr, stock = sim.stock_count(), "carrier simulator ready");
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let shared = Shared::new(sim, args.token);
    let writer = args.state_file.as_ref().map(|path| {
        persist::spawn_writer(shared.clone(), path.clone(), Duration::from_millis(args.state_save_ms.max(1)))
    });
    for id in pending {
        api::complete_later(shared.clone(), id, args.order_delay_ms);
    }
    didroute_carrier_sim::serve(listener, shared.clone(), shutdown).await?;
    if let (Some(writer), Some(path)) = (writer, &args.state_file) {
        writer.abort();
        persist::save_now(&shared, path)?;
    }
    Ok(())
}
