//! The command line: what operations and handlers type, and what each command prints. A file
//! per command group (`case` for a handler's actions, `cases`, `letters`, `outbox`, `calendar`,
//! `check` for check-config and classify); this file parses, dispatches and runs the daemon.

mod assets;
mod calendar;
mod case;
mod cases;
mod check;
mod learning;
mod letters;
mod outbox;
mod records;
mod user;

pub use calendar::CalendarCommand;
pub use case::CaseCommand;
pub use cases::CasesCommand;
pub use letters::LettersCommand;
pub use outbox::OutboxCommand;
pub use records::RecordsCommand;
pub use user::UserCommand;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, NaiveDate, Utc};
use clap::{Parser, Subcommand};

use crate::app::{App, Rules};
use crate::clock::Clock;
use crate::daemon;
use crate::deliver::outbox::SmtpSender;

/// redress: runs a social housing landlord's complaints mailbox.
#[derive(Debug, Parser)]
#[command(name = "redress", version, about)]
pub struct Cli {
    /// The config file.
    #[arg(long, global = true, default_value = "/etc/redress/redress.toml")]
    pub config: PathBuf,
    /// Run as if it were this time now (RFC 3339, e.g. 2026-11-23T10:00:00Z); time moves on from there.
    #[arg(long, global = true, value_parser = parse_instant)]
    pub now: Option<DateTime<Utc>>,
    #[command(subcommand)]
    pub command: Command,
}

pub(crate) fn parse_instant(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("`{text}` is not an RFC 3339 time such as 2026-11-23T10:00:00Z: {e}"))
}

pub(crate) fn parse_date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("`{text}` is not a date (YYYY-MM-DD)"))
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Watch the mailbox and send letters until SIGTERM (or one pass with --once).
    Run {
        /// Ingest everything waiting, send what is queued, and exit.
        #[arg(long)]
        once: bool,
    },
    /// The published figures for a period (Markdown or JSON), computed from the record's events.
    Report {
        #[arg(long, value_parser = parse_date)]
        from: NaiveDate,
        #[arg(long, value_parser = parse_date)]
        to: NaiveDate,
        /// md, html (with inline SVG charts), pdf (the html printed by headless Chromium, pages numbered), json (figures and one row per case) or csv (one row per case).
        #[arg(long, default_value = "md")]
        format: String,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// The managers' dashboard: open cases by stage and owner, due this week, overdue, on-time rates.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Is redress well? The last mailbox read and letter sent, and the outbox; exits 0 (ok),
    /// 1 (warning) or 2 (critical), as Nagios expects, against the `[health]` thresholds.
    Health {
        #[arg(long)]
        json: bool,
    },
    /// Check the config, templates and holidays, and connect to IMAP, SMTP and the database.
    CheckConfig {
        /// Also send one real test letter to this address.
        #[arg(long)]
        send_test: Option<String>,
    },
    /// Apply database migrations.
    Migrate,
    /// List or show cases.
    Cases {
        #[command(subcommand)]
        command: CasesCommand,
    },
    /// Act on one case (each action is an event on the case).
    Case {
        #[command(subcommand)]
        command: CaseCommand,
    },
    /// The letters not yet sent: list them, put one back in the queue, or cancel one.
    Outbox {
        #[command(subcommand)]
        command: OutboxCommand,
    },
    /// Letters to residents without e-mail: print them, and record them posted.
    Letters {
        #[command(subcommand)]
        command: LettersCommand,
    },
    /// Personal data: purge past retention, subject access export, erasure, backup, legal hold.
    #[command(flatten)]
    Records(RecordsCommand),
    /// The accounts that sign in to the web app.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Working-day arithmetic, to check a date by hand.
    Calendar {
        #[command(subcommand)]
        command: CalendarCommand,
    },
    /// Write the man pages and shell completions (for packaging) to a folder.
    #[command(hide = true)]
    Assets {
        #[arg(long)]
        out: PathBuf,
    },
    /// Classify a mail file and explain why (with the words behind a learned decision), without
    /// changing the database.
    Classify {
        /// An .eml file (RFC 5322 message).
        file: PathBuf,
    },
    /// Keep a landlord's earlier cases to learn from: a CSV with `text`, `kind` and `area` columns.
    ImportHistory {
        /// The CSV file (RFC 4180, first line the column names).
        file: PathBuf,
    },
    /// Fit the classifier's learned model on imported examples and the cases people corrected.
    Train,
}

/// Runs the parsed command.
pub async fn execute(cli: Cli) -> Result<()> {
    let clock = cli
        .now
        .map(Clock::starting_at)
        .unwrap_or_else(Clock::system);
    if let Command::Assets { out } = &cli.command {
        return assets::write_assets(out);
    }
    let rules =
        Rules::load(&cli.config).with_context(|| format!("config {}", cli.config.display()))?;
    match cli.command {
        Command::Assets { out } => assets::write_assets(&out),
        Command::Calendar { command } => calendar::calendar(&rules, command),
        Command::Classify { file } => check::classify(rules, &file).await,
        Command::ImportHistory { file } => {
            let app = App::start(rules).await?;
            let done = learning::import_history(&app, &file, &clock).await;
            app.store.close().await;
            done
        }
        Command::Train => {
            let app = App::start(rules).await?;
            let done = learning::train(&app, &clock).await;
            app.store.close().await;
            done
        }
        Command::CheckConfig { send_test } => {
            check::check_config(rules, &clock, send_test.as_deref()).await
        }
        Command::Migrate => {
            App::start(rules).await?;
            println!("database is up to date");
            Ok(())
        }
        Command::Run { once } => {
            let app = App::start(rules).await?;
            let sender = SmtpSender::new(&app.rules.settings.smtp)?;
            if once {
                let report = daemon::run_once(&app, &sender, &clock).await?;
                println!("{}", serde_json::to_string(&report)?);
                app.store.close().await;
                let (failed, quarantined) = (report.pass.failed, report.pass.quarantined);
                if failed > 0 {
                    bail!(
                        "{failed} mail(s) could not be recorded ({quarantined} moved to the quarantine folder after {} passes; the rest stay in the mailbox and are tried again)",
                        daemon::QUARANTINE_AFTER
                    );
                }
                Ok(())
            } else {
                run_daemon(&cli.config, app, sender, clock).await
            }
        }
        Command::Report {
            from,
            to,
            format,
            out,
        } => report(rules, from, to, &format, out, &clock).await,
        Command::Health { json } => {
            let app = App::start(rules).await?;
            let verdict = crate::health::assess(&app, clock.now()).await;
            app.store.close().await;
            let verdict = verdict?;
            if json {
                println!("{}", serde_json::to_string_pretty(&verdict)?);
            } else {
                println!("{}", verdict.summary());
                for (level, finding) in &verdict.findings {
                    println!("  {level:?}: {finding}");
                }
            }
            std::process::exit(verdict.level as i32);
        }
        Command::Status { json } => {
            let app = App::start(rules).await?;
            let dashboard = crate::report::dashboard::build(&app, clock.now()).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&dashboard)?);
            } else {
                print!("{}", crate::report::dashboard::render(&app, &dashboard));
            }
            app.store.close().await;
            Ok(())
        }
        command @ (Command::Case { .. }
        | Command::Cases { .. }
        | Command::Letters { .. }
        | Command::Outbox { .. }
        | Command::User { .. }
        | Command::Records(_)) => {
            let app = App::start(rules).await?;
            let result = match command {
                Command::Case { command } => case::case_action(&app, command, &clock).await,
                Command::Cases { command } => cases::cases(&app, command, &clock).await,
                Command::Letters { command } => letters::letters(&app, command, &clock).await,
                Command::Outbox { command } => outbox::outbox(&app, command, &clock).await,
                Command::User { command } => user::user(&app, command, &clock).await,
                Command::Records(command) => records::records(&app, command, &clock).await,
                _ => Ok(()),
            };
            app.store.close().await;
            result
        }
    }
}

/// `redress report`: the published figures for a period, in the format asked for.
async fn report(
    rules: Rules,
    from: NaiveDate,
    to: NaiveDate,
    format: &str,
    out: Option<PathBuf>,
    clock: &Clock,
) -> Result<()> {
    if to < from {
        bail!("--to {to} is before --from {from}");
    }
    if !["md", "html", "pdf", "json", "csv"].contains(&format) {
        bail!("--format `{format}`: use md, html, pdf, json or csv");
    }
    let mut sink: Box<dyn std::io::Write + Send> = match &out {
        Some(path) => Box::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot write {}", path.display()))?,
        ),
        None => Box::new(std::io::stdout()),
    };
    let mut sink = std::io::BufWriter::new(&mut sink);
    let app = App::start(rules).await?;
    let now = clock.now();
    let written = write_report(&app, from, to, now, format, &mut sink).await;
    app.store.close().await;
    written?;
    std::io::Write::flush(&mut sink)?;
    Ok(())
}

/// The report for `from..=to` in `format`, written to `out`. The per-case rows (csv, and json
/// after the figures) are written as they are read.
async fn write_report(
    app: &App,
    from: NaiveDate,
    to: NaiveDate,
    now: chrono::DateTime<chrono::Utc>,
    format: &str,
    out: &mut (dyn std::io::Write + Send),
) -> Result<()> {
    if format == "csv" {
        return Ok(crate::report::write_csv(app, from, to, now, out).await?);
    }
    let report = crate::report::build(app, from, to, now).await?;
    match format {
        "json" => crate::report::write_json(app, &report, now, out).await?,
        "pdf" => out.write_all(&crate::report::pdf::print(&crate::report::html(&report))?)?,
        "html" => out.write_all(crate::report::html(&report).as_bytes())?,
        _ => out.write_all(crate::report::markdown(&report).as_bytes())?,
    }
    Ok(())
}

/// What a signal asks of the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signal {
    /// SIGTERM or Ctrl-C: finish what is in hand and stop.
    Stop,
    /// SIGHUP: reload the config, templates, rules and holidays.
    Reload,
}

/// SIGTERM, Ctrl-C and SIGHUP, listened for once for the daemon's whole life: a signal that
/// arrives while a reload is under way waits here instead of being lost.
struct Signals {
    terminate: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
    hangup: tokio::signal::unix::Signal,
}

impl Signals {
    fn listen() -> std::io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
            hangup: signal(SignalKind::hangup())?,
        })
    }

    /// The next signal.
    async fn next(&mut self) -> Signal {
        tokio::select! {
            _ = self.terminate.recv() => Signal::Stop,
            _ = self.interrupt.recv() => Signal::Stop,
            _ = self.hangup.recv() => Signal::Reload,
        }
    }
}

/// The daemon until SIGTERM. SIGHUP reloads the config file, templates, rules and holidays in
/// the same process: the new ones are checked first, and a bad file is logged and the running
/// ones kept.
async fn run_daemon(config: &Path, app: App, sender: SmtpSender, clock: Clock) -> Result<()> {
    let (mut app, mut sender) = (Arc::new(app), Arc::new(sender));
    let mut signals = Signals::listen().context("cannot listen for signals")?;
    tracing::info!("redress started");
    loop {
        let (shutdown, _) = tokio::sync::broadcast::channel(1);
        let running = daemon::run(app.clone(), sender.clone(), clock, shutdown.clone());
        tokio::pin!(running);
        let signal = tokio::select! {
            ended = &mut running => {
                // The daemon stopped by itself: only an error does that.
                ended?;
                app.store.close().await;
                return Ok(());
            }
            signal = signals.next() => signal,
        };
        match signal {
            Signal::Stop => crate::service::stopping(),
            Signal::Reload => crate::service::reloading(),
        }
        tracing::info!(?signal, "signal received: finishing what is in hand");
        let _ = shutdown.send(());
        running.await?;
        if signal == Signal::Stop {
            app.store.close().await;
            return Ok(());
        }
        match reload(config).await {
            Ok((new_app, new_sender)) => {
                app.store.close().await;
                (app, sender) = (Arc::new(new_app), Arc::new(new_sender));
                tracing::info!("configuration reloaded");
            }
            Err(error) => {
                tracing::error!(error = %format!("{error:#}"), "reload refused: the running configuration is kept");
            }
        }
    }
}

/// The application built afresh from the config file, checked before it replaces the running one.
async fn reload(config: &Path) -> Result<(App, SmtpSender)> {
    let rules = Rules::load(config).with_context(|| format!("config {}", config.display()))?;
    let sender = SmtpSender::new(&rules.settings.smtp)?;
    Ok((App::start(rules).await?, sender))
}
