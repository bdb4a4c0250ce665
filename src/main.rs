//! The `redress` binary: memory settings, logs, then the command line (everything else is the
//! library).

use clap::Parser;

fn main() -> std::process::ExitCode {
    return_large_blocks_to_the_system();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("redress: cannot start the async runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        redress::logs::init();
        let cli = redress::cli::Cli::parse();
        match redress::cli::execute(cli).await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("redress: {error:#}");
                std::process::ExitCode::FAILURE
            }
        }
    })
}

/// A large mail (tens of MB) is allocated and freed whole, on whichever worker thread handles
/// it. glibc's adaptive threshold soon rises to 32 MB, after which such blocks come from, and
/// stay in, per-thread arenas, so the resident size only grows with each large mail. A fixed
/// threshold of 1 MiB makes every large block its own mapping, returned when freed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn return_large_blocks_to_the_system() {
    // SAFETY: mallopt only changes allocator tuning; it is called once, before any other thread
    // exists, with a documented parameter and a valid value.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn return_large_blocks_to_the_system() {}
