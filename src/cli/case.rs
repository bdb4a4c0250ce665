//! `redress case …`: a handler's actions on a case, each a thin call into the case core.

use anyhow::Result;

use super::CaseCommand;
use crate::app::App;
use chrono::{DateTime, Utc};

use crate::case::ActionReport;
use crate::case::actions::{self, Response};
use crate::case::by_hand::{self, Correction, TakenComplaint};
use crate::case::hazard;
use crate::case::model::{Finding, FindingArea, Outcome, OutstandingAction};
use crate::clock::Clock;

/// Runs `redress case …` and prints what changed.
pub(super) async fn case_action(app: &App, command: CaseCommand, clock: &Clock) -> Result<()> {
    let now = clock.now();
    let message = match record_only(app, command, now).await? {
        Recorded::Done(message) => message,
        Recorded::WithLetter(command) => {
            let report = with_letter(app, command, now).await?;
            let due = report
                .response_due
                .map(|due| format!(": response now due {}", app.rules.calendar_time(due)))
                .unwrap_or_default();
            let letter = if report.letter_queued {
                "; letter to the customer queued (sent by the daemon or `run --once`)"
            } else {
                ""
            };
            format!("{} {}{due}{letter}", report.reference, report.action)
        }
    };
    println!("{message}");
    Ok(())
}

/// What an action that writes no letter to the customer said, or the command to run with one.
enum Recorded {
    Done(String),
    WithLetter(CaseCommand),
}

/// The actions that only change the record (and may tell staff).
async fn record_only(app: &App, command: CaseCommand, now: DateTime<Utc>) -> Result<Recorded> {
    let message = match command {
        CaseCommand::Assign {
            reference,
            address,
            by,
        } => {
            let report = actions::assign(app, &reference, &by, &address, now).await?;
            format!(
                "{} assigned to {address}; they have been told",
                report.reference
            )
        }
        CaseCommand::ActionDone {
            reference,
            deadline_id,
            by,
        } => {
            let report = actions::action_done(app, &reference, &by, deadline_id, now).await?;
            format!(
                "action {deadline_id} on {} done; its reminders stop",
                report.reference
            )
        }
        CaseCommand::Ombudsman {
            reference,
            finding,
            area,
            notes,
            by,
        } => {
            let finding = parse_finding(finding, area)?;
            let report = actions::ombudsman(app, &reference, &by, finding, &notes, now).await?;
            format!("recorded on {}", report.reference)
        }
        CaseCommand::Source {
            reference,
            source,
            by,
        } => {
            let report = actions::set_source(app, &reference, &by, &source, now).await?;
            format!("{} recorded as from a {source}", report.reference)
        }
        CaseCommand::Note {
            reference,
            text,
            by,
        } => {
            let report = actions::note(app, &reference, &by, &text, now).await?;
            format!("note added to {}", report.reference)
        }
        CaseCommand::Happened {
            reference,
            date,
            by,
        } => {
            let report = actions::matter_date(app, &reference, &by, date, now).await?;
            format!("{}: the matter happened on {date}", report.reference)
        }
        other => return ends_and_hazards(app, other, now).await,
    };
    Ok(Recorded::Done(message))
}

/// Closing a case, restricting a sender, and Awaab's Law's hazard records.
async fn ends_and_hazards(app: &App, command: CaseCommand, now: DateTime<Utc>) -> Result<Recorded> {
    let message = match command {
        CaseCommand::Close {
            reference,
            reason,
            by,
        } => {
            let report = actions::close(app, &reference, &by, &reason, now).await?;
            format!("{} closed", report.reference)
        }
        CaseCommand::Restrict {
            address,
            until,
            contact,
            reason,
            by,
        } => {
            actions::restrict(app, &address, until, &contact, &reason, &by, now).await?;
            format!(
                "{address} restricted until {until}: mail is recorded and goes to {contact}, with no automatic reply"
            )
        }
        CaseCommand::Triage {
            reference,
            triage,
            reason,
            by,
        } => {
            let report = hazard::triage(app, &reference, &by, triage, &reason, now).await?;
            format!(
                "{}: hazard triaged as {}",
                report.reference,
                triage.as_str()
            )
        }
        CaseCommand::Hazard {
            reference,
            step,
            notes,
            by,
        } => {
            let report = hazard::progress(app, &reference, &by, step, &notes, now).await?;
            format!("{}: {step:?} recorded", report.reference)
        }
        other => return needs(app, other, now).await,
    };
    Ok(Recorded::Done(message))
}

/// What everyone dealing with the case must know: adjustments and a representative's authority.
async fn needs(app: &App, command: CaseCommand, now: DateTime<Utc>) -> Result<Recorded> {
    let message = match command {
        CaseCommand::Adjust {
            reference,
            needs,
            by,
        } => {
            let report = actions::adjust(app, &reference, &by, &needs, now).await?;
            format!("{}: adjustments recorded", report.reference)
        }
        CaseCommand::Authority {
            reference,
            authority,
            by,
        } => {
            let report = actions::authority(app, &reference, &by, &authority, now).await?;
            format!("{}: representative's authority recorded", report.reference)
        }
        other => return Ok(Recorded::WithLetter(other)),
    };
    Ok(Recorded::Done(message))
}

/// The actions that write to the customer, each refused unless the Code's content is there.
async fn with_letter(app: &App, command: CaseCommand, now: DateTime<Utc>) -> Result<ActionReport> {
    Ok(match command {
        CaseCommand::Refuse {
            reference,
            reason,
            by,
        } => actions::refuse(app, &reference, &by, &reason, now).await?,
        CaseCommand::Escalate {
            reference,
            reason,
            force,
            by,
        } => actions::escalate(app, &reference, &by, &reason, force, now).await?,
        CaseCommand::Acknowledge {
            reference,
            understanding,
            outcome,
            by,
        } => actions::acknowledge(app, &reference, &by, &understanding, &outcome, now).await?,
        CaseCommand::Extend {
            reference,
            days,
            reason,
            by,
        } => actions::extend(app, &reference, &by, days, &reason, now).await?,
        CaseCommand::Respond {
            reference,
            outcome,
            reasons,
            remedy,
            actions,
            no_outstanding_actions,
            definition,
            by,
        } => {
            let response = Response {
                definition,
                outcome: outcome.as_deref().map(parse_outcome).transpose()?,
                reasons,
                remedy,
                actions: parse_actions(&actions)?,
                no_outstanding_actions,
            };
            actions::respond(app, &reference, &by, &response, now).await?
        }
        other => open_or_correct(app, other, now).await?,
    })
}

/// A complaint taken by phone, letter or in person, and corrections of what a case is.
async fn open_or_correct(
    app: &App,
    command: CaseCommand,
    now: DateTime<Utc>,
) -> Result<ActionReport> {
    Ok(match command {
        CaseCommand::Open {
            channel,
            name,
            email,
            postal_address,
            subject,
            text,
            received,
            area,
            happened,
            by,
        } => {
            let taken = TakenComplaint {
                happened_on: happened,
                postal_address,
                channel,
                name,
                email,
                subject: subject.unwrap_or_else(|| title_from(&text)),
                text,
                received_at: received,
                service_area: area,
            };
            by_hand::open(app, &by, &taken, now).await?
        }
        CaseCommand::Correct {
            reference,
            kind,
            area,
            reason,
            by,
        } => {
            let correction = Correction {
                kind,
                service_area: area,
            };
            by_hand::correct(app, &reference, &by, &correction, &reason, now).await?
        }
        other => anyhow::bail!("{other:?} is not a case action"),
    })
}

/// A title for a complaint taken down without one: its first line, up to 60 characters.
fn title_from(text: &str) -> String {
    let line = text.lines().next().unwrap_or("").trim();
    let mut title: String = line.chars().take(60).collect();
    if line.chars().count() > 60 {
        title.push('…');
    }
    title
}

fn parse_outcome(text: &str) -> Result<Outcome> {
    Outcome::parse(text).ok_or_else(|| {
        anyhow::anyhow!("--outcome `{text}`: use upheld, partly-upheld or not-upheld")
    })
}

fn parse_actions(actions: &[String]) -> Result<Vec<OutstandingAction>> {
    actions
        .iter()
        .map(|a| OutstandingAction::parse(a))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("--action {e}"))
}

fn parse_finding(
    finding: Option<String>,
    area: Option<String>,
) -> Result<Option<(Finding, FindingArea)>> {
    let (Some(finding), Some(area)) = (finding, area) else {
        return Ok(None);
    };
    let finding = Finding::parse(&finding).ok_or_else(|| {
        anyhow::anyhow!("--finding `{finding}`: use no-maladministration, service-failure, maladministration or severe-maladministration")
    })?;
    let area = FindingArea::parse(&area).ok_or_else(|| {
        anyhow::anyhow!("--area `{area}`: use service-delivery or complaint-handling")
    })?;
    Ok(Some((finding, area)))
}
