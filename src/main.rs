//! The `redress` binary: parses the command line and hands over to the library.

use std::io::IsTerminal;

use clap::Parser;
use tracing_subscriber::EnvFilter;

/// Logs to standard error: plain lines (colour only on a terminal: under systemd they go to the
/// journal), or one JSON object a line with `REDRESS_LOG_FORMAT=json`; `REDRESS_LOG` filters.
fn init_logs() {
    let filter =
        || EnvFilter::try_from_env("REDRESS_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("REDRESS_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_writer(std::io::stderr);
    if json {
        logs.json().init();
    } else {
        logs.with_ansi(std::io::stderr().is_terminal()).init();
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    init_logs();
    let cli = redress::cli::Cli::parse();
    match redress::cli::execute(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("redress: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
