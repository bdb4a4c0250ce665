//! The `redress` binary: logs, then the command line (everything else is the library).

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    redress::logs::init();
    let cli = redress::cli::Cli::parse();
    match redress::cli::execute(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("redress: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
