//! `redress check-config` and `redress classify`: checking the config, the servers and the rules
//! without changing anything on record.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use crate::app::Rules;
use crate::clock::Clock;
use crate::deliver::outbox::{EmailSender, SmtpSender, build_letter};
use crate::intake::mailbox::MailboxClient;
use crate::store::{OutboxRow, Store};

pub(super) async fn classify(mut rules: Rules, file: &PathBuf) -> Result<()> {
    let raw = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    // What `redress train` fitted, read without changing the database; its reasons name the
    // words behind a learned decision.
    let url = rules.settings.database.connect_url()?;
    if let Some(learned) = crate::store::Store::peek_model(&url)
        .await?
        .and_then(|json| crate::intake::learned::Learned::from_stored(&json))
    {
        rules.classifier.learn(learned);
    }
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

/// `redress check-config [--send-test ADDRESS]`: checks everything redress needs and changes
/// nothing (no database is created or migrated, no folder made): the config, templates and rules
/// (checked as they load), the holidays' coverage, the mailbox and its folders, SMTP, the
/// database, and with `send_test` one real letter.
pub(super) async fn check_config(
    rules: Rules,
    clock: &Clock,
    send_test: Option<&str>,
) -> Result<()> {
    println!(
        "config: ok (templates, rules and routing addresses checked; templates in {}, holidays from {})",
        rules.settings.templates_dir.display(),
        rules.settings.calendar.holidays_file.display()
    );
    holidays(&rules, clock);
    let mut problems = 0;
    for check in [
        mailbox(&rules).await,
        smtp(&rules, send_test).await,
        database(&rules).await,
    ] {
        match check {
            Ok(line) => println!("{line}"),
            Err(line) => {
                problems += 1;
                println!("{line}");
            }
        }
    }
    if problems > 0 {
        bail!("{problems} check(s) failed");
    }
    Ok(())
}

fn holidays(rules: &Rules, clock: &Clock) {
    let horizon = rules
        .calendar
        .local_date(clock.now() + chrono::Duration::days(365));
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
}

/// Logs in and looks at the folders: the watched one must exist; the others are made at start.
async fn mailbox(rules: &Rules) -> Result<String, String> {
    let settings = &rules.settings.mailbox;
    let mut client = MailboxClient::connect(settings)
        .await
        .map_err(|e| format!("imap: FAILED: {e}"))?;
    let mut notes = Vec::new();
    for (folder, must) in [
        (&settings.folder, true),
        (&settings.processed_folder, false),
        (&settings.quarantine_folder, false),
    ] {
        match client.folder_exists(folder).await {
            Ok(true) => {}
            Ok(false) if must => {
                let _ = client.logout().await;
                return Err(format!(
                    "imap: FAILED: the watched folder `{folder}` does not exist on {}:{} (mailbox.folder)",
                    settings.host, settings.port
                ));
            }
            Ok(false) => notes.push(format!("`{folder}` is created at the first start")),
            Err(e) => return Err(format!("imap: FAILED: {e}")),
        }
    }
    let idle = if client.has_idle() {
        "offered"
    } else {
        "not offered: polling"
    };
    let _ = client.logout().await;
    let notes = if notes.is_empty() {
        String::new()
    } else {
        format!("; {}", notes.join("; "))
    };
    Ok(format!(
        "imap: ok ({}:{}, IDLE {idle}, folder `{}`{notes})",
        settings.host, settings.port, settings.folder
    ))
}

/// Connects to the SMTP server and, when asked, sends one real letter.
async fn smtp(rules: &Rules, send_test: Option<&str>) -> Result<String, String> {
    let settings = &rules.settings.smtp;
    let failed = |e: &dyn std::fmt::Display| format!("smtp: FAILED: {e}");
    let sender = SmtpSender::new(settings).map_err(|e| failed(&e))?;
    sender.test_connection().await.map_err(|e| failed(&e))?;
    let Some(to) = send_test else {
        return Ok(format!("smtp: ok ({}:{})", settings.host, settings.port));
    };
    let org = &rules.settings.organisation;
    let letter = test_letter(rules, to);
    let raw =
        build_letter(&letter, &settings.from, org, chrono::Utc::now()).map_err(|e| failed(&e))?;
    sender
        .send(&org.complaints_address, to, &raw)
        .await
        .map_err(|e| failed(&e))?;
    Ok(format!(
        "smtp: ok ({}:{}); a test letter went to {to}",
        settings.host, settings.port
    ))
}

fn test_letter(rules: &Rules, to: &str) -> OutboxRow {
    OutboxRow {
        id: 0,
        case_id: None,
        kind: "test".into(),
        message_id: rules.new_message_id("check", "test"),
        to_address: to.to_string(),
        subject: "redress check-config: a test letter".into(),
        body: "This letter was sent by `redress check-config --send-test`. No action is needed.\n"
            .into(),
        html: None,
        in_reply_to: None,
        references: None,
        status: "pending".into(),
        attempts: 0,
    }
}

/// Looks at the database without creating or migrating it.
async fn database(rules: &Rules) -> Result<String, String> {
    let url = rules
        .settings
        .database
        .connect_url()
        .map_err(|e| format!("database: FAILED: {e}"))?;
    Store::inspect(&url)
        .await
        .map(|state| format!("database: ok ({state})"))
        .map_err(|e| format!("database: FAILED: {e}"))
}
