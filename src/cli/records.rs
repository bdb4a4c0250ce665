//! `redress purge | export | erase | backup | hold | release`: personal data through its life.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Result;
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};

use crate::app::{App, operator};
use crate::clock::Clock;
use crate::records;

#[derive(Debug, Subcommand)]
pub enum RecordsCommand {
    /// Purge closed cases past `[retention] years`: mails, attachments and letters removed,
    /// personal fields blanked, an anonymised skeleton kept so past figures stay the same.
    Purge {
        /// List what would be purged, and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// A subject access export: every case of this address, as a zip with an index.html.
    Export {
        #[arg(long)]
        address: String,
        /// Also cases whose customer's name is exactly this (residents without e-mail).
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        out: PathBuf,
    },
    /// Erase what is held about this address where the law allows (refused for open or held cases).
    Erase {
        #[arg(long)]
        address: String,
        /// The request and why erasure applies (kept in the purge log, which holds no personal data).
        #[arg(long)]
        reason: String,
    },
    /// Back the database up to a new file (SQLite; PostgreSQL uses pg_dump).
    Backup {
        #[arg(long)]
        out: PathBuf,
    },
}

/// A progress bar on a terminal; nothing when output goes elsewhere.
pub(super) fn progress(len: u64, what: &str) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() || len == 0 {
        return None;
    }
    let bar = ProgressBar::new(len).with_message(what.to_string());
    if let Ok(style) = ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} ({eta})") {
        bar.set_style(style);
    }
    Some(bar)
}

/// Runs one of the records commands and prints what it did.
pub(super) async fn records(app: &App, command: RecordsCommand, clock: &Clock) -> Result<()> {
    let now = clock.now();
    match command {
        RecordsCommand::Purge { dry_run } => {
            let mut bar: Option<ProgressBar> = None;
            let report = records::purge_due(app, now, dry_run, &operator(), |done, total| {
                let bar = bar.get_or_insert_with(|| {
                    progress(total as u64, "purging").unwrap_or_else(ProgressBar::hidden)
                });
                bar.set_position(done as u64);
            })
            .await?;
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            if dry_run {
                println!(
                    "{} case(s) past retention would be purged:",
                    report.cases.len()
                );
                for reference in &report.cases {
                    println!("  {reference}");
                }
            } else {
                println!(
                    "purged {} case(s): {} mail(s) and {} letter(s) removed, {} copies expunged from the processed folder",
                    report.purged, report.messages, report.letters, report.expunged
                );
            }
        }
        RecordsCommand::Export { address, name, out } => {
            let references = records::export(app, &address, name.as_deref(), &out).await?;
            println!(
                "{} case(s) exported to {} (staff notes are marked for review before release)",
                references.len(),
                out.display()
            );
        }
        RecordsCommand::Erase { address, reason } => {
            let report = records::erase(app, &address, &reason, &operator(), now).await?;
            println!(
                "erased {} case(s): {} mail(s) and {} letter(s) removed",
                report.purged, report.messages, report.letters
            );
        }
        RecordsCommand::Backup { out } => {
            records::backup(app, &out).await?;
            println!("backed up to {}", out.display());
        }
    }
    Ok(())
}
