//! `redress case …`: a handler's actions on a case, each a thin call into the case core.

use anyhow::Result;

use chrono::NaiveDate;
use clap::Subcommand;

use super::{parse_date, parse_instant};
use crate::app::App;
use crate::case::model::{CaseKind, Channel, HazardStep, Triage};
use chrono::{DateTime, Utc};

use crate::case::ActionReport;
use crate::case::actions::{self, Response};
use crate::case::by_hand::{self, Correction, TakenComplaint};
use crate::case::hazard;
use crate::case::model::{Finding, FindingArea, Outcome, OutstandingAction};
use crate::clock::Clock;

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
        #[arg(long)]
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
        /// What the complaint is about (repeat for several), replacing what was found.
        #[arg(long = "theme")]
        themes: Vec<String>,
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
    /// Keep the case from purge (Ombudsman or legal proceedings); --release lets it go again.
    Hold {
        reference: String,
        /// Why it must be kept.
        #[arg(long, required_unless_present = "release")]
        reason: Option<String>,
        #[arg(long, conflicts_with = "reason")]
        release: bool,
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
        CaseCommand::Hold {
            reference,
            reason,
            release: _,
            by,
        } => {
            let report = actions::hold(app, &reference, &by, reason.as_deref(), now).await?;
            match reason {
                Some(reason) => format!("{} is held from purge: {reason}", report.reference),
                None => format!("{} is no longer held from purge", report.reference),
            }
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
                subject: subject.unwrap_or_else(|| by_hand::title_from(&text)),
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
            themes,
            reason,
            by,
        } => {
            let correction = Correction {
                kind,
                service_area: area,
                themes: (!themes.is_empty()).then_some(themes),
                stage: None,
            };
            by_hand::correct(app, &reference, &by, &correction, &reason, now).await?
        }
        other => anyhow::bail!("{other:?} is not a case action"),
    })
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
    let Some(finding) = finding else {
        return Ok(None);
    };
    let finding = Finding::parse(&finding).ok_or_else(|| {
        anyhow::anyhow!("--finding `{finding}`: use no-maladministration, service-failure, maladministration or severe-maladministration")
    })?;
    // A whole-case "no maladministration" names no area; any other finding must.
    let area = match (area, finding) {
        (Some(area), _) => FindingArea::parse(&area).ok_or_else(|| {
            anyhow::anyhow!(
                "--area `{area}`: use service-delivery, complaint-handling or whole-case"
            )
        })?,
        (None, Finding::NoMaladministration) => FindingArea::WholeCase,
        (None, _) => anyhow::bail!(
            "--area: say what the finding is about (service-delivery or complaint-handling)"
        ),
    };
    Ok(Some((finding, area)))
}
