//! The case core: everything that can happen to a case, decided in one place and written by one
//! [`apply`](apply::apply) in one transaction.
//!
//! Every change — from a mail ([`from_mail`]), a handler at the CLI or the web app ([`actions`]),
//! the outbox or the scheduler ([`delivery`]) — is a function that reads the case as it stands
//! ([`CaseState`]) and returns a [`Plan`]: the events, deadlines, letters and notices
//! that must follow. Those functions do no I/O; [`apply`] writes a plan; [`act`] runs a handler's
//! action end to end. Beside them sit the pure rules they use: the working-day [`calendar`], the
//! Code's [`deadlines`], [`letters`], case references (`reference`) and the typed record ([`model`]).

pub mod actions;
pub mod apply;
pub mod by_hand;
pub mod calendar;
pub mod deadlines;
pub mod delivery;
pub mod from_mail;
pub mod hazard;
pub mod letters;
pub mod model;
pub mod plan;
pub mod reference;
pub mod retention;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::app::{App, Rules};
use crate::case::deadlines::ExtensionError;
use crate::case::model::{CaseStatus, Stage};
use crate::case::plan::Plan;
use crate::store::{CaseRow, CaseState, StoreError};

/// Why a change to a case was refused.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no case with reference {0}")]
    NoSuchCase(String),
    #[error("case {reference} is {status}: {action} needs an open complaint")]
    NotOpen {
        reference: String,
        status: CaseStatus,
        action: &'static str,
    },
    #[error("case {reference} is a {kind}, not a complaint at a stage")]
    NoStage { reference: String, kind: String },
    #[error(
        "case {0} has no stage 1 response yet: stage 2 reviews a stage 1 response; answer stage 1 first, or escalate with --force and the reason"
    )]
    NotYetAnswered(String),
    #[error(
        "case {reference}: {name} answered stage 1; the stage 2 response must come from a different person (Code 6.13)"
    )]
    SamePerson { reference: String, name: String },
    #[error("no unsent letter {0} (see `redress outbox list` or `redress letters to-post`)")]
    NoSuchLetter(i64),
    #[error("case {0} has no hazard on record (triage it first)")]
    NoHazard(String),
    #[error("case {0} has already been acknowledged at this stage")]
    AlreadyAcknowledged(String),
    #[error("case {0} has no open response deadline to extend")]
    NothingToExtend(String),
    #[error("extension refused: {0}")]
    Extension(#[from] ExtensionError),
    #[error("{0} must not be empty")]
    Empty(&'static str),
    #[error("case {0} has no customer address to write to")]
    NoAddress(String),
    #[error(transparent)]
    Incomplete(actions::IncompleteResponse),
    #[error("`{0}`: the source is customer or community")]
    BadSource(String),
    #[error(
        "case {reference} has no open outstanding action {deadline_id} (see `redress cases show {reference}`)"
    )]
    NoSuchAction { reference: String, deadline_id: i64 },
    #[error("letter {name} could not be written: {message}")]
    Letter { name: &'static str, message: String },
}

/// What a handler's action changed, for the CLI and the web app to show.
#[derive(Debug, Clone, Serialize)]
pub struct ActionReport {
    pub reference: String,
    pub action: &'static str,
    /// The response date after the action, where the case has one.
    pub response_due: Option<DateTime<Utc>>,
    pub letter_queued: bool,
}

/// Runs a handler's action on the case with this reference (however it was typed): reads the
/// case in a write transaction, lets `decide` say what must happen, applies it and commits.
pub async fn act(
    app: &App,
    reference: &str,
    action: &'static str,
    now: DateTime<Utc>,
    decide: impl FnOnce(&CaseState, &Rules) -> Result<Plan, CaseError>,
) -> Result<ActionReport, CaseError> {
    let reference = reference.trim().to_ascii_uppercase();
    let mut tx = app.store.begin().await?;
    let state = tx
        .case_state_by_reference(&reference)
        .await?
        .ok_or(CaseError::NoSuchCase(reference))?;
    let plan = decide(&state, &app.rules)?;
    let applied = apply::apply(&mut tx, &app.rules, &plan, now).await?;
    tx.commit().await?;
    let response_due = stage_after(&plan, state.case.stage)
        .filter(|_| still_owed(&plan))
        .and_then(|stage| {
            let kind = stage.deadline_kinds().1;
            plan.due(kind).or_else(|| open_due(&state, kind))
        });
    Ok(ActionReport {
        reference: applied.reference,
        action,
        response_due,
        letter_queued: applied.letters_queued > 0,
    })
}

/// Whether a response is still owed once `plan` is applied: not after a response or a closure.
fn still_owed(plan: &Plan) -> bool {
    !plan.steps.iter().any(|step| {
        matches!(
            step,
            plan::Step::SetStatus(CaseStatus::Closed | CaseStatus::Refused)
                | plan::Step::CloseCaseDeadlines
                | plan::Step::Record {
                    event: model::Event::Responded { .. },
                    ..
                }
        )
    })
}

/// The stage a case is at once `plan` is applied.
fn stage_after(plan: &Plan, stage: Option<Stage>) -> Option<Stage> {
    plan.steps
        .iter()
        .rev()
        .find_map(|step| match step {
            plan::Step::SetStage(stage) => Some(Some(*stage)),
            plan::Step::ClearStage => Some(None),
            _ => None,
        })
        .unwrap_or(stage)
}

/// The due time of the case's open deadline of `kind`.
fn open_due(state: &CaseState, kind: deadlines::DeadlineKind) -> Option<DateTime<Utc>> {
    state
        .deadlines
        .iter()
        .rev()
        .find(|d| d.kind == kind && d.status == "open")
        .map(|d| d.due_at)
}

/// The variables every letter to a customer carries (the reference is added when queued).
fn letter_base(rules: &Rules, case: &CaseRow) -> Map<String, Value> {
    let org = &rules.settings.organisation;
    let mut ctx = Map::new();
    ctx.insert(
        "customer_name".into(),
        json!(case.customer_name.as_deref().unwrap_or("customer")),
    );
    ctx.insert("organisation_name".into(), json!(org.name));
    ctx.insert("complaints_address".into(), json!(org.complaints_address));
    ctx.insert("ombudsman_contact".into(), json!(org.ombudsman_contact));
    ctx
}
