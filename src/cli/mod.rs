//! The command line: what operations and handlers type, and what each command prints.

mod case;
mod letters;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, NaiveDate, Utc};
use clap::{Parser, Subcommand};

use crate::app::{App, Rules};
use crate::case::model::{CaseKind, Channel, HazardStep, Triage};
use crate::clock::Clock;
use crate::daemon;
use crate::deliver::outbox::SmtpSender;
use crate::intake::mailbox::MailboxClient;
use crate::store::CaseDetail;

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

fn parse_channel(text: &str) -> Result<Channel, String> {
    Channel::parse(text).ok_or_else(|| format!("`{text}`: use phone, letter, in-person or email"))
}

fn parse_triage(text: &str) -> Result<Triage, String> {
    Triage::parse(text).ok_or_else(|| format!("`{text}`: use emergency, significant or none"))
}

fn parse_hazard_step(text: &str) -> Result<HazardStep, String> {
    HazardStep::parse(text).ok_or_else(|| {
        format!("`{text}`: use investigated, summary-sent, made-safe or works-started")
    })
}

fn parse_kind(text: &str) -> Result<CaseKind, String> {
    CaseKind::parse(&text.trim().to_ascii_lowercase().replace('-', "_"))
        .ok_or_else(|| format!("`{text}`: use complaint, service_request, feedback or compliment"))
}

fn parse_instant(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("`{text}` is not an RFC 3339 time such as 2026-11-23T10:00:00Z: {e}"))
}

fn parse_date(text: &str) -> Result<NaiveDate, String> {
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
        /// md, html (with inline SVG charts), json (figures and one row per case) or csv (one row per case).
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
    /// Check the config, templates and holidays, and connect to IMAP, SMTP and the database.
    CheckConfig,
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
    /// Letters to residents without e-mail: print them, and record them posted.
    Letters {
        #[command(subcommand)]
        command: LettersCommand,
    },
    /// Working-day arithmetic, to check a date by hand.
    Calendar {
        #[command(subcommand)]
        command: CalendarCommand,
    },
    /// Classify a mail file and explain why, without touching the database.
    Classify {
        /// An .eml file (RFC 5322 message).
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum CasesCommand {
    /// The most recent cases.
    List {
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// Everything on record about one case.
    Show {
        reference: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum CaseCommand {
    /// Send the Code's acknowledgement: our understanding of the complaint and the outcome sought.
    Acknowledge {
        reference: String,
        /// Our understanding of the complaint.
        #[arg(long)]
        understanding: String,
        /// The outcome the customer is looking for.
        #[arg(long)]
        outcome: String,
        /// Who is acting (signs the letter and is recorded on the event).
        #[arg(long, default_value = "Complaints Team")]
        by: String,
    },
    /// Send the stage response; refused unless it has every element the Code requires.
    Respond {
        reference: String,
        /// upheld, partly-upheld or not-upheld.
        #[arg(long)]
        outcome: Option<String>,
        /// The reasons for the decisions made.
        #[arg(long, default_value = "")]
        reasons: String,
        /// The remedy offered to put things right (or "none" and why).
        #[arg(long, default_value = "")]
        remedy: String,
        /// An outstanding action, "WHAT|OWNER|YYYY-MM-DD" (repeat for several); each is tracked like a deadline.
        #[arg(long = "action")]
        actions: Vec<String>,
        /// State that nothing is outstanding.
        #[arg(long)]
        no_outstanding_actions: bool,
        /// The complaint definition (Code 6.9 b), where the acknowledgement did not record one.
        #[arg(long)]
        definition: Option<String>,
        #[arg(long, default_value = "Complaints Team")]
        by: String,
    },
    /// Mark an outstanding action from a response done (its id is listed by `cases show`).
    ActionDone {
        reference: String,
        deadline_id: i64,
        #[arg(long, default_value = "Complaints Team")]
        by: String,
    },
    /// Record who complained: a customer, or a neighbour / the wider community (for the published figures).
    Source {
        reference: String,
        /// customer or community.
        source: String,
        #[arg(long, default_value = "Complaints Team")]
        by: String,
    },
    /// Record that the case went to the Housing Ombudsman, or (with --finding) a determination.
    Ombudsman {
        reference: String,
        /// no-maladministration, service-failure, maladministration or severe-maladministration.
        #[arg(long, requires = "area")]
        finding: Option<String>,
        /// What the finding is about: service-delivery or complaint-handling.
        #[arg(long, requires = "finding")]
        area: Option<String>,
        #[arg(long, default_value = "")]
        notes: String,
        #[arg(long, default_value = "Complaints Team")]
        by: String,
    },
    /// Record a complaint made by phone, letter or in person: the same deadlines and letters as a mailed one.
    Open {
        /// phone, letter, in-person or email.
        #[arg(long, value_parser = parse_channel)]
        channel: Channel,
        /// Who made the complaint.
        #[arg(long)]
        name: String,
        /// Their e-mail address.
        #[arg(long)]
        email: Option<String>,
        /// Their postal address, for a resident without e-mail: letters are printed and posted.
        #[arg(long)]
        postal_address: Option<String>,
        /// A short title (default: the start of the text).
        #[arg(long)]
        subject: Option<String>,
        /// The complaint as taken down.
        #[arg(long)]
        text: String,
        /// When it was made (RFC 3339): the Code's clock starts here.
        #[arg(long, value_parser = parse_instant)]
        received: DateTime<Utc>,
        /// The service area, when known (otherwise read from the text).
        #[arg(long)]
        area: Option<String>,
        /// When the matter happened (YYYY-MM-DD); over 12 months before is flagged for a decision.
        #[arg(long, value_parser = parse_date)]
        happened: Option<NaiveDate>,
        #[arg(long, default_value = "Complaints Team")]
        by: String,
    },
    /// Correct what a case is (complaint, service_request, feedback, compliment) or its service area.
    Correct {
        reference: String,
        /// complaint, service_request, feedback, compliment, reply, review_request or unreadable.
        #[arg(long, value_parser = parse_kind)]
        kind: Option<CaseKind>,
        #[arg(long)]
        area: Option<String>,
        /// Why (kept on the record).
        #[arg(long)]
        reason: String,
        #[arg(long, default_value = "Complaints Team")]
        by: String,
    },
    /// Awaab's Law: triage a possible hazard (emergency: 24 hours; significant: 10 working days to investigate; none).
    Triage {
        reference: String,
        /// emergency, significant or none.
        #[arg(value_parser = parse_triage)]
        triage: Triage,
        #[arg(long)]
        reason: String,
        #[arg(long, default_value = "Complaints Team")]
        by: String,
    },
    /// Awaab's Law: record a step (investigated starts the summary and safety-work clocks).
    Hazard {
        reference: String,
        /// investigated, summary-sent, made-safe or works-started.
        #[arg(value_parser = parse_hazard_step)]
        step: HazardStep,
        #[arg(long, default_value = "")]
        notes: String,
        #[arg(long, default_value = "Complaints Team")]
        by: String,
    },
    /// Record when the matter happened; over 12 months before the complaint is flagged for a decision.
    Happened {
        reference: String,
        #[arg(value_parser = parse_date)]
        date: NaiveDate,
        #[arg(long, default_value = "Complaints Team")]
        by: String,
    },
    /// Record the reasonable adjustments the resident needs (shown on every notice and reminder).
    Adjust {
        reference: String,
        #[arg(long)]
        needs: String,
        #[arg(long, default_value = "Complaints Team")]
        by: String,
    },
    /// Record the authority held for a representative acting for the resident.
    Authority {
        reference: String,
        #[arg(long)]
        authority: String,
        #[arg(long, default_value = "Complaints Team")]
        by: String,
    },
    /// Hand the case to another owner, who is told.
    Assign {
        reference: String,
        address: String,
        #[arg(long, default_value = "Complaints Team")]
        by: String,
    },
    /// Add a note to the case's record.
    Note {
        reference: String,
        text: String,
        #[arg(long, default_value = "Complaints Team")]
        by: String,
    },
    /// Escalate to stage 2 at the customer's request made another way (phone, letter, in person).
    Escalate {
        reference: String,
        #[arg(long)]
        reason: String,
        /// Escalate although no stage 1 response was issued yet (the reason says why).
        #[arg(long)]
        force: bool,
        #[arg(long, default_value = "Complaints Team")]
        by: String,
    },
    /// Close the case (its deadlines and reminders stop).
    Close {
        reference: String,
        #[arg(long)]
        reason: String,
        #[arg(long, default_value = "Complaints Team")]
        by: String,
    },
    /// Refuse the complaint: the customer gets the detailed reason and the right to go to the Ombudsman.
    Refuse {
        reference: String,
        #[arg(long)]
        reason: String,
        #[arg(long, default_value = "Complaints Team")]
        by: String,
    },
    /// Unacceptable behaviour: the sender's mail is still recorded and goes to one contact, without automatic replies.
    Restrict {
        /// The sender's address (the REFERENCE argument of the other actions).
        address: String,
        #[arg(long, value_parser = parse_date)]
        until: NaiveDate,
        /// The single point of contact.
        #[arg(long)]
        contact: String,
        #[arg(long, default_value = "unacceptable behaviour policy")]
        reason: String,
        #[arg(long, default_value = "Complaints Team")]
        by: String,
    },
    /// Extend the response deadline, telling the customer why (within the configured maximum).
    Extend {
        reference: String,
        /// Working days to add.
        #[arg(long)]
        days: u32,
        /// Why more time is needed (sent to the customer).
        #[arg(long)]
        reason: String,
        #[arg(long, default_value = "Complaints Team")]
        by: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum LettersCommand {
    /// List the letters waiting to be posted; with --out, write each as a printable HTML document.
    ToPost {
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Record that a letter was printed and posted.
    Posted {
        id: i64,
        #[arg(long, default_value = "Complaints Team")]
        by: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum CalendarCommand {
    /// The date N working days after DATE, and the days skipped.
    Add {
        #[arg(value_parser = parse_date)]
        date: NaiveDate,
        n: u32,
    },
    /// Working days after A up to and including B, and the days skipped.
    Between {
        #[arg(value_parser = parse_date)]
        from: NaiveDate,
        #[arg(value_parser = parse_date)]
        to: NaiveDate,
    },
}

/// Runs the parsed command.
pub async fn execute(cli: Cli) -> Result<()> {
    let clock = cli
        .now
        .map(Clock::starting_at)
        .unwrap_or_else(Clock::system);
    let rules =
        Rules::load(&cli.config).with_context(|| format!("config {}", cli.config.display()))?;
    match cli.command {
        Command::Calendar { command } => calendar(&rules, command),
        Command::Classify { file } => classify(&rules, &file).await,
        Command::CheckConfig => check_config(rules, &clock).await,
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
                Ok(())
            } else {
                run_daemon(app, sender, clock).await
            }
        }
        Command::Report {
            from,
            to,
            format,
            out,
        } => report(rules, from, to, &format, out, &clock).await,
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
        command @ (Command::Case { .. } | Command::Cases { .. } | Command::Letters { .. }) => {
            let app = App::start(rules).await?;
            let result = match command {
                Command::Case { command } => case::case_action(&app, command, &clock).await,
                Command::Cases { command } => cases(&app, command, &clock).await,
                Command::Letters { command } => letters::letters(&app, command, &clock).await,
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
    let app = App::start(rules).await?;
    let report = crate::report::build(&app, from, to, clock.now()).await?;
    app.store.close().await;
    let text = match format {
        "md" => crate::report::markdown(&report),
        "html" => crate::report::html(&report),
        "json" => serde_json::to_string_pretty(&report)?,
        "csv" => crate::report::csv(&report),
        other => bail!("--format `{other}`: use md, html, json or csv"),
    };
    match out {
        Some(path) => std::fs::write(&path, text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => print!("{text}"),
    }
    Ok(())
}

async fn run_daemon(app: App, sender: SmtpSender, clock: Clock) -> Result<()> {
    let (shutdown, _) = tokio::sync::broadcast::channel(1);
    let signal_sender = shutdown.clone();
    tokio::spawn(async move {
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut sig) => {
                    sig.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate => {}
        }
        tracing::info!("shutdown requested");
        let _ = signal_sender.send(());
    });
    tracing::info!("redress started");
    let app = Arc::new(app);
    daemon::run(app.clone(), Arc::new(sender), clock, shutdown).await?;
    app.store.close().await;
    Ok(())
}

fn calendar(rules: &Rules, command: CalendarCommand) -> Result<()> {
    let cal = &rules.calendar;
    let (from, to, answer) = match command {
        CalendarCommand::Add { date, n } => {
            let end = cal.add_working_days(date, n);
            (
                date,
                end,
                format!(
                    "{n} working days after {} is {}",
                    date.format("%a %Y-%m-%d"),
                    end.format("%a %Y-%m-%d")
                ),
            )
        }
        CalendarCommand::Between { from, to } => {
            let n = cal.working_days_between(from, to);
            (
                from.min(to),
                from.max(to),
                format!(
                    "{n} working days after {} up to and including {}",
                    from.format("%a %Y-%m-%d"),
                    to.format("%a %Y-%m-%d")
                ),
            )
        }
    };
    println!("{answer}");
    let skipped = cal.skipped_days(from, to);
    if skipped.is_empty() {
        println!("no days skipped");
    } else {
        println!("days skipped:");
        for (day, reason) in skipped {
            println!("  {}  {reason}", day.format("%a %Y-%m-%d"));
        }
    }
    Ok(())
}

async fn classify(rules: &Rules, file: &PathBuf) -> Result<()> {
    let raw = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let mail = crate::intake::mail::parse(&raw);
    let known =
        rules
            .references
            .find(&mail.subject)
            .map(|reference| crate::intake::classify::KnownCase {
                reference,
                found_by: "case reference in the subject (not checked against the database)".into(),
                stage: None,
                response_sent: false,
            });
    let decision = rules.classifier.classify(&mail, known.as_ref());
    println!("{}", serde_json::to_string_pretty(&decision)?);
    Ok(())
}

async fn check_config(rules: Rules, clock: &Clock) -> Result<()> {
    let mut problems = 0;
    println!(
        "config: ok (templates in {}, holidays from {})",
        rules.settings.templates_dir.display(),
        rules.settings.calendar.holidays_file.display()
    );
    let now = clock.now();
    let horizon = rules.calendar.local_date(now + chrono::Duration::days(365));
    match rules.calendar.holidays_known_until() {
        Some(last) if last >= horizon => println!("bank holidays: ok (known until {last})"),
        Some(last) => println!(
            "bank holidays: WARNING: known only until {last}; download https://www.gov.uk/bank-holidays.json to {} to cover the next twelve months",
            rules.settings.calendar.holidays_file.display()
        ),
        None => println!(
            "bank holidays: WARNING: none known for {}",
            rules.settings.calendar.division
        ),
    }
    match MailboxClient::connect(&rules.settings.mailbox).await {
        Ok(client) => {
            println!(
                "imap: ok ({}:{}, IDLE {})",
                rules.settings.mailbox.host,
                rules.settings.mailbox.port,
                if client.has_idle() {
                    "offered"
                } else {
                    "not offered: polling"
                }
            );
            let _ = client.logout().await;
        }
        Err(e) => {
            problems += 1;
            println!("imap: FAILED: {e}");
        }
    }
    match SmtpSender::new(&rules.settings.smtp) {
        Ok(sender) => match sender.test_connection().await {
            Ok(()) => println!(
                "smtp: ok ({}:{})",
                rules.settings.smtp.host, rules.settings.smtp.port
            ),
            Err(e) => {
                problems += 1;
                println!("smtp: FAILED: {e}");
            }
        },
        Err(e) => {
            problems += 1;
            println!("smtp: FAILED: {e}");
        }
    }
    match App::start(rules).await {
        Ok(app) => {
            println!("database: ok");
            app.store.close().await;
        }
        Err(e) => {
            problems += 1;
            println!("database: FAILED: {e}");
        }
    }
    if problems > 0 {
        bail!("{problems} check(s) failed");
    }
    Ok(())
}

async fn cases(app: &App, command: CasesCommand, clock: &Clock) -> Result<()> {
    match command {
        CasesCommand::List { json, limit } => {
            let cases = app.store.list_cases(limit).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&cases)?);
            } else {
                println!(
                    "REFERENCE          KIND        STAGE   STATUS  RECEIVED          ATTENTION"
                );
                for case in cases {
                    println!(
                        "{:<18} {:<11} {:<7} {:<7} {:<17} {}",
                        case.reference,
                        case.kind,
                        case.stage.map_or("-", |s| s.as_str()),
                        case.status,
                        app.rules.calendar_time(case.received_at),
                        case.attention_reason.as_deref().unwrap_or("")
                    );
                }
            }
        }
        CasesCommand::Show { reference, json } => {
            let detail = app
                .store
                .case_detail(&reference.to_ascii_uppercase())
                .await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&detail)?);
            } else {
                print_case(app, &detail, clock);
            }
        }
    }
    Ok(())
}

fn print_case(app: &App, detail: &CaseDetail, clock: &Clock) {
    let case = &detail.case;
    let rules = &app.rules;
    println!(
        "{}  {} {}  ({})",
        case.reference,
        case.kind,
        case.stage.map_or("", |s| s.as_str()),
        case.status
    );
    println!(
        "customer: {} <{}>",
        case.customer_name.as_deref().unwrap_or("-"),
        case.customer_address.as_deref().unwrap_or("-")
    );
    println!("subject:  {}", case.subject);
    println!("received: {}", rules.calendar_time(case.received_at));
    if let Some(reason) = &case.attention_reason {
        println!("NEEDS ATTENTION: {reason}");
    }
    println!("\ndeadlines:");
    for d in &detail.deadlines {
        let left = rules.calendar.working_days_left(clock.now(), d.due_at);
        println!(
            "  #{:<5} {:<24} due {}  ({} working days left) [{}]  {}",
            d.id,
            d.kind,
            rules.calendar_time(d.due_at),
            left,
            d.status,
            d.rule
        );
    }
    println!("\nmessages:");
    for m in &detail.messages {
        println!(
            "  {} {}  {}  {} bytes, {} attachment(s)  <{}>",
            m.direction,
            rules.calendar_time(m.received_at),
            m.subject,
            m.size,
            m.attachments.len(),
            m.message_id
        );
    }
    println!("\nletters:");
    for l in &detail.letters {
        println!(
            "  {:<10} {:<8} to {}  {}",
            l.kind, l.status, l.to_address, l.subject
        );
    }
    println!("\nevents:");
    for e in &detail.events {
        // A replayed action (`--now`) shows when and by which account it was really recorded.
        let replayed = match (e.recorded_at, &e.recorded_by) {
            (Some(real), by) if (real - e.at).num_minutes().abs() > 1 => format!(
                "  [recorded {} by {}]",
                rules.calendar_time(real),
                by.as_deref().unwrap_or("?")
            ),
            _ => String::new(),
        };
        println!(
            "  {}  {:<24} by {:<9} {}{replayed}",
            rules.calendar_time(e.at),
            e.kind,
            e.actor,
            e.detail
        );
    }
}
