//! `didctl`: the didroute command line for operators and tenant admins.
//!
//! Every command is one or a few REST calls; the server holds every rule.
//! Exit codes are in [`cli::EXIT_CODES`] (and `didctl --help`).
#![forbid(unsafe_code)]

mod cli;
mod client;
mod commands;
mod import;
mod output;
mod progress;

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use crate::cli::Cli;
use crate::client::{Client, Failure};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version print to stdout and succeed; any other
            // parse error is a usage error: exit 1 (clap's own would be 2,
            // which didctl keeps for "the server refused the request")
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 1 } else { 0 });
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("didctl: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            match &f {
                Failure::Problem { .. } => eprintln!("{f}"),
                _ => eprintln!("didctl: {f}"),
            }
            ExitCode::from(f.exit_code())
        }
    }
}

async fn run(cli: Cli) -> client::Result<()> {
    let base = client::base_url("--url", "DIDROUTE_URL", &cli.url)?;
    let client = Client::new(base, cli.token.clone(), Duration::from_secs(cli.timeout))?;
    commands::run(&cli, &client).await
}
