//! What handlers record or correct about what a case is: a complaint taken by phone, letter or
//! in person (Code 3.2: a complaint may be made by any channel), and corrections of a case's
//! kind or service area (Code 1.2–1.6: a service request that turns into dissatisfaction is a
//! complaint; what the classifier decided is a person's to correct).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::from_mail::{ReceiptFacts, emergency_attention, hazard_name, new_deadlines, receipt};
use super::plan::{Notice, Plan, Step, Target, Thread};
use super::{ActionReport, CaseError, act};
use crate::app::{App, Rules};
use crate::case::deadlines::DeadlineKind;
use crate::case::model::{CaseKind, CaseStatus, Channel, Event, Stage};
use crate::config::address_of;
use crate::store::deadlines::DeadlineEnd;
use crate::store::{CaseState, NewCase, Recipient};

/// A complaint as a handler takes it down.
#[derive(Debug, Clone)]
pub struct TakenComplaint {
    pub channel: Channel,
    pub name: String,
    /// Where letters go by e-mail.
    pub email: Option<String>,
    /// Where letters are posted when there is no e-mail address.
    pub postal_address: Option<String>,
    pub subject: String,
    /// The complaint in the resident's words, as taken down.
    pub text: String,
    /// When the resident made it: the Code's clock starts here.
    pub received_at: DateTime<Utc>,
    /// The service area, when the handler knows it; else it is read from the text.
    pub service_area: Option<String>,
    /// When the matter happened, when the resident says.
    pub happened_on: Option<chrono::NaiveDate>,
}

/// A title for a complaint taken down without one: its first line, up to 60 characters.
pub fn title_from(text: &str) -> String {
    let line = text.lines().next().unwrap_or("").trim();
    let mut title: String = line.chars().take(60).collect();
    if line.chars().count() > 60 {
        title.push('…');
    }
    title
}

/// Opens a stage 1 complaint a handler took by phone, letter or in person: the same deadlines,
/// receipt and notice as a mailed one.
pub async fn open(
    app: &App,
    handler: &str,
    taken: &TakenComplaint,
    now: DateTime<Utc>,
) -> Result<ActionReport, CaseError> {
    for (value, what) in [
        (&taken.name, "--name (who made the complaint)"),
        (&taken.subject, "--subject"),
        (&taken.text, "--text (the complaint as taken down)"),
    ] {
        if value.trim().is_empty() {
            return Err(CaseError::Empty(what));
        }
    }
    let email = match &taken.email {
        Some(email) => Some(address_of(email).ok_or(CaseError::Empty("--email (an address)"))?),
        None => None,
    };
    let plan = open_plan(&app.rules, handler, taken, email);
    let mut tx = app.store.begin().await?;
    let applied = super::apply::apply(&mut tx, &app.rules, &plan, now).await?;
    tx.commit().await?;
    Ok(ActionReport {
        reference: applied.reference,
        action: "opened",
        response_due: plan.due(DeadlineKind::Stage1Response),
        letter_queued: applied.letters_queued > 0,
    })
}

fn open_plan(rules: &Rules, handler: &str, taken: &TakenComplaint, email: Option<String>) -> Plan {
    let decision = rules.classifier.describe_complaint(&taken.text);
    let service_area = taken.service_area.clone().or(decision.service_area.clone());
    let owner = rules
        .settings
        .routing
        .owner_for(service_area.as_deref(), Some("stage1"));
    let no_address = (email.is_none() && taken.postal_address.is_none())
        .then(|| "no e-mail or postal address: find out how to write to the resident".to_string());
    let attention: Vec<String> = no_address
        .into_iter()
        .chain(emergency_attention(&decision))
        .collect();
    let attention = (!attention.is_empty()).then(|| attention.join("; "));
    let case = NewCase {
        kind: CaseKind::Complaint,
        stage: Some(Stage::Stage1),
        customer_address: email.clone(),
        customer_name: Some(taken.name.clone()),
        subject: taken.subject.clone(),
        received_at: taken.received_at,
        attention_reason: attention.clone(),
        service_area: service_area.clone(),
        owner: owner.clone(),
        themes: decision.themes.clone(),
        hazard: decision.hazard.map(hazard_name).map(str::to_string),
        representative: decision.representative,
        postal_address: taken.postal_address.clone(),
    };
    let mut plan = Plan {
        target: Target::New(Box::new(case)),
        steps: Vec::new(),
    };
    plan.record(
        handler,
        Event::OpenedByHand {
            channel: taken.channel,
            received_at: taken.received_at,
            text: taken.text.clone(),
        },
    );
    if let Some(reason) = attention {
        plan.record("redress", Event::NeedsAttention { reason });
    }
    if let Some(day) = taken.happened_on {
        super::actions::dated(&mut plan, rules, handler, day, taken.received_at);
    }
    let deadlines = new_deadlines(rules, &decision, taken.received_at);
    let to = match (email, &taken.postal_address) {
        (Some(email), _) => Some(Recipient::Email(email)),
        (None, Some(postal)) => Some(Recipient::Post(postal.clone())),
        (None, None) => None,
    };
    let letter = to.map(|to| {
        let facts = ReceiptFacts {
            key_suffix: String::new(),
            customer_name: &taken.name,
            received_at: taken.received_at,
            subject: &taken.subject,
            service_area: service_area.as_deref(),
        };
        receipt(rules, "receipt", to, &facts, &deadlines, Thread::default())
    });
    let details = format!(
        "Taken by {handler} ({:?}), received {}.",
        taken.channel,
        rules.calendar_time(taken.received_at)
    );
    let notice = stage1_notice(details, owner, "new:{case}".into());
    stage1_opened(&mut plan, deadlines, letter, notice);
    plan
}

/// A correction of what a case is.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Correction {
    pub kind: Option<CaseKind>,
    pub service_area: Option<String>,
    /// What the complaint is about, replacing what the classifier found.
    pub themes: Option<Vec<String>>,
    /// The stage: a stage 1 complaint that was really a request for a review moves to stage 2
    /// (as an escalation, with its clocks and letter); a stage 2 review cannot go back.
    pub stage: Option<Stage>,
}

/// Corrects a case's kind and/or service area, with the reason on record. A case that becomes
/// a complaint starts stage 1 from now (the receipt, deadlines and owner follow); a stage 1
/// complaint with no response yet can stop being one.
pub async fn correct(
    app: &App,
    reference: &str,
    handler: &str,
    correction: &Correction,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<ActionReport, CaseError> {
    if reason.trim().is_empty() {
        return Err(CaseError::Empty("--reason (why the case is corrected)"));
    }
    if correction.kind.is_none()
        && correction.service_area.is_none()
        && correction.themes.is_none()
        && correction.stage.is_none()
    {
        return Err(CaseError::Empty(
            "--kind, --area, --theme or --stage (what to correct)",
        ));
    }
    act(app, reference, "corrected", now, |state, rules| {
        if state.case.status != CaseStatus::Open {
            return Err(CaseError::NotOpen {
                reference: state.case.reference.clone(),
                status: state.case.status,
                action: "correct",
            });
        }
        let mut plan = Plan::on(state.case.id);
        if let Some(area) = &correction.service_area {
            correct_area(&mut plan, state, rules, handler, area, reason);
        }
        if let Some(themes) = correction
            .themes
            .as_ref()
            .filter(|t| **t != state.case.themes)
        {
            plan.then(Step::SetThemes(themes.clone())).record(
                handler,
                Event::Corrected {
                    what: "themes".into(),
                    from: Some(state.case.themes.join(", ")),
                    to: Some(themes.join(", ")),
                    reason: reason.to_string(),
                },
            );
        }
        if let Some(kind) = correction.kind.filter(|k| *k != state.case.kind) {
            correct_kind(&mut plan, state, rules, handler, kind, reason, now)?;
        }
        if let Some(stage) = correction.stage.filter(|s| Some(*s) != state.case.stage) {
            correct_stage(&mut plan, state, rules, handler, stage, reason, now)?;
        }
        Ok(plan)
    })
    .await
}

/// A stage 1 complaint that was a request for a review goes to stage 2 as an escalation would
/// (its clocks, owner and letter); a stage 2 review cannot go back to stage 1.
fn correct_stage(
    plan: &mut Plan,
    state: &CaseState,
    rules: &Rules,
    handler: &str,
    stage: Stage,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), CaseError> {
    if stage != Stage::Stage2 {
        return Err(CaseError::NoStage {
            reference: state.case.reference.clone(),
            kind: "stage 2 review, which cannot go back to stage 1 (close it and open a new complaint if it was one)".into(),
        });
    }
    plan.record(
        handler,
        Event::Corrected {
            what: "stage".into(),
            from: state.case.stage.map(|s| s.as_str().to_string()),
            to: Some(stage.as_str().to_string()),
            reason: reason.to_string(),
        },
    );
    let escalation = crate::case::actions::escalate_plan(state, rules, handler, reason, true, now)?;
    plan.steps.extend(escalation.steps);
    Ok(())
}

fn correct_area(
    plan: &mut Plan,
    state: &CaseState,
    rules: &Rules,
    handler: &str,
    area: &str,
    reason: &str,
) {
    plan.then(Step::SetArea(area.to_string())).record(
        handler,
        Event::Corrected {
            what: "service_area".into(),
            from: state.case.service_area.clone(),
            to: Some(area.to_string()),
            reason: reason.to_string(),
        },
    );
    // A stage 2 review stays with its manager (6.13); anything else follows the area.
    if state.case.stage == Some(Stage::Stage2) {
        return;
    }
    let stage = state.case.stage.map(|_| "stage1");
    let owner = rules.settings.routing.owner_for(Some(area), stage);
    if let Some(owner) = owner.filter(|o| Some(o) != state.case.owner.as_ref()) {
        plan.then(Step::SetOwner(owner.clone()))
            .then(Step::Notice(Notice {
                headline: "A case has been assigned to you".into(),
                details: format!("{handler} corrected its service area to {area}."),
                key: format!("area:{owner}:{area}"),
                to: vec![owner],
            }));
    }
}

fn correct_kind(
    plan: &mut Plan,
    state: &CaseState,
    rules: &Rules,
    handler: &str,
    kind: CaseKind,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), CaseError> {
    let was = state.case.kind;
    if was == CaseKind::Complaint {
        stop_being_a_complaint(plan, state)?;
    }
    plan.then(Step::SetKind(kind)).record(
        handler,
        Event::Corrected {
            what: "kind".into(),
            from: Some(was.to_string()),
            to: Some(kind.to_string()),
            reason: reason.to_string(),
        },
    );
    if kind == CaseKind::Complaint {
        become_a_complaint(plan, state, rules, handler, now);
    }
    Ok(())
}

/// Only a stage 1 complaint not yet answered can stop being a complaint; its stage 1 clocks stop.
fn stop_being_a_complaint(plan: &mut Plan, state: &CaseState) -> Result<(), CaseError> {
    let answered = state.events().any(|e| matches!(e, Event::Responded { .. }));
    if state.case.stage != Some(Stage::Stage1) || answered {
        return Err(CaseError::NoStage {
            reference: state.case.reference.clone(),
            kind: "complaint already answered or at stage 2: it stays a complaint".into(),
        });
    }
    plan.then(Step::ClearStage);
    let (ack, response) = Stage::Stage1.deadline_kinds();
    for kind in [ack, response] {
        plan.then(Step::CloseDeadline {
            kind,
            end: DeadlineEnd::Superseded,
        });
    }
    Ok(())
}

/// Stage 1 from now: the Code's clock starts when the dissatisfaction is expressed (1.2).
pub(crate) fn become_a_complaint(
    plan: &mut Plan,
    state: &CaseState,
    rules: &Rules,
    handler: &str,
    now: DateTime<Utc>,
) {
    let case = &state.case;
    plan.then(Step::SetStage(Stage::Stage1))
        .then(Step::CloseDeadline {
            kind: DeadlineKind::FeedbackResponse,
            end: DeadlineEnd::Superseded,
        });
    let owner = rules
        .settings
        .routing
        .owner_for(case.service_area.as_deref(), Some("stage1"));
    if let Some(owner) = owner.clone().filter(|o| Some(o) != case.owner.as_ref()) {
        plan.then(Step::SetOwner(owner));
    }
    let deadlines = rules.settings.deadlines.new_complaint(&rules.calendar, now);
    let letter = case.recipient().map(|to| {
        let facts = ReceiptFacts {
            key_suffix: format!(":complaint-from:{}", now.timestamp()),
            customer_name: case.customer_name.as_deref().unwrap_or("customer"),
            received_at: now,
            subject: &case.subject,
            service_area: case.service_area.as_deref(),
        };
        let thread = Thread {
            in_reply_to: state.first_message_id.clone(),
            references: state.first_message_id.iter().cloned().collect(),
        };
        receipt(rules, "receipt", to, &facts, &deadlines, thread)
    });
    let details = format!(
        "{handler} made this {} a complaint on {}.",
        case.kind,
        rules.calendar_time(now)
    );
    let key = format!("became-complaint:{{case}}:{}", now.timestamp());
    let notice = stage1_notice(details, owner.or_else(|| case.owner.clone()), key);
    stage1_opened(plan, deadlines, letter, notice);
}

/// Stage 1 begins: its deadlines, the receipt (when there is somewhere to send it), and the owner told.
fn stage1_opened(
    plan: &mut Plan,
    deadlines: Vec<crate::case::deadlines::Deadline>,
    receipt: Option<Step>,
    notice: Notice,
) {
    plan.steps
        .extend(deadlines.into_iter().map(Step::SetDeadline));
    plan.steps.extend(receipt);
    plan.then(Step::Notice(notice));
}

/// The notice telling the owner a stage 1 complaint is theirs.
fn stage1_notice(details: String, owner: Option<String>, key: String) -> Notice {
    Notice {
        headline: "New stage 1 complaint assigned to you".into(),
        details,
        to: owner.into_iter().collect(),
        key,
    }
}
