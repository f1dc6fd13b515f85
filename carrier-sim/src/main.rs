#![forbid(unsafe_code)]

use std::io::Write;

use anyhow::Context;
use clap::Parser;
use didroute_carrier_sim::state::Sim;
use didroute_carrier_sim::stock::parse_stock;
use didroute_carrier_sim::Shared;
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
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let blocks = parse_stock(&args.stock).context("--stock")?;
    let sim = Sim::new(blocks, args.order_delay_ms);
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
    didroute_carrier_sim::serve(listener, Shared::new(sim, args.token), shutdown).await?;
    Ok(())
}
