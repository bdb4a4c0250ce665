//! `redress check-config` and `redress classify`: checking the config, the servers and the rules
//! without changing anything on record.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use crate::app::{App, Rules};
use crate::clock::Clock;
use crate::deliver::outbox::SmtpSender;
use crate::intake::mailbox::MailboxClient;

pub(super) async fn classify(rules: &Rules, file: &PathBuf) -> Result<()> {
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

pub(super) async fn check_config(rules: Rules, clock: &Clock) -> Result<()> {
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
