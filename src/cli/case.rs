//! `redress case …`: a handler's actions on a case, each a thin call into the case core.

use anyhow::Result;

use super::CaseCommand;
use crate::app::App;
use crate::case::actions::{self, Response};
use crate::case::model::{Finding, FindingArea, Outcome, OutstandingAction};
use crate::clock::Clock;

pub(super) async fn case_action(app: &App, command: CaseCommand, clock: &Clock) -> Result<()> {
    let now = clock.now();
    let report = match command {
        CaseCommand::Assign {
            reference,
            address,
            by,
        } => {
            let case = actions::assign(app, &reference, &by, &address, now).await?;
            println!(
                "{} assigned to {address}; they have been told",
                case.reference
            );
            return Ok(());
        }
        CaseCommand::ActionDone {
            reference,
            deadline_id,
            by,
        } => {
            let case = actions::action_done(app, &reference, &by, deadline_id, now).await?;
            println!(
                "action {deadline_id} on {} done; its reminders stop",
                case.reference
            );
            return Ok(());
        }
        CaseCommand::Ombudsman {
            reference,
            finding,
            area,
            notes,
            by,
        } => {
            let finding = match (finding, area) {
                (Some(finding), Some(area)) => Some((
                    Finding::parse(&finding).ok_or_else(|| {
                        anyhow::anyhow!("--finding `{finding}`: use no-maladministration, service-failure, maladministration or severe-maladministration")
                    })?,
                    FindingArea::parse(&area)
                        .ok_or_else(|| anyhow::anyhow!("--area `{area}`: use service-delivery or complaint-handling"))?,
                )),
                _ => None,
            };
            let case = actions::ombudsman(app, &reference, &by, finding, &notes, now).await?;
            println!("recorded on {}", case.reference);
            return Ok(());
        }
        CaseCommand::Source {
            reference,
            source,
            by,
        } => {
            let case = actions::set_source(app, &reference, &by, &source, now).await?;
            println!("{} recorded as from a {source}", case.reference);
            return Ok(());
        }
        CaseCommand::Note {
            reference,
            text,
            by,
        } => {
            let case = actions::note(app, &reference, &by, &text, now).await?;
            println!("note added to {}", case.reference);
            return Ok(());
        }
        CaseCommand::Close {
            reference,
            reason,
            by,
        } => {
            let case = actions::close(app, &reference, &by, &reason, now).await?;
            println!("{} closed", case.reference);
            return Ok(());
        }
        CaseCommand::Restrict {
            address,
            until,
            contact,
            reason,
            by,
        } => {
            actions::restrict(app, &address, until, &contact, &reason, &by, now).await?;
            println!(
                "{address} restricted until {until}: mail is recorded and goes to {contact}, with no automatic reply"
            );
            return Ok(());
        }
        CaseCommand::Refuse {
            reference,
            reason,
            by,
        } => actions::refuse(app, &reference, &by, &reason, now).await?,
        CaseCommand::Escalate {
            reference,
            reason,
            by,
        } => actions::escalate(app, &reference, &by, &reason, now).await?,
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
            by,
        } => {
            let outcome = match outcome {
                Some(text) => Some(Outcome::parse(&text).ok_or_else(|| {
                    anyhow::anyhow!("--outcome `{text}`: use upheld, partly-upheld or not-upheld")
                })?),
                None => None,
            };
            let actions = actions
                .iter()
                .map(|a| OutstandingAction::parse(a))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| anyhow::anyhow!("--action {e}"))?;
            let response = Response {
                outcome,
                reasons,
                remedy,
                actions,
                no_outstanding_actions,
            };
            actions::respond(app, &reference, &by, &response, now).await?
        }
    };
    let due = report
        .response_due
        .map(|due| format!(": response now due {}", app.rules.calendar_time(due)))
        .unwrap_or_default();
    println!(
        "{} {}{due}{}",
        report.reference,
        report.action,
        if report.letter_queued {
            "; letter to the customer queued (sent by the daemon or `run --once`)"
        } else {
            ""
        }
    );
    Ok(())
}
