//! The `redress` binary: parses the command line and hands over to the library.

use std::io::IsTerminal;

use clap::Parser;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // Colour only on a terminal: under systemd standard error goes to the journal as plain text.
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("REDRESS_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
    let cli = redress::cli::Cli::parse();
    match redress::cli::execute(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("redress: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
