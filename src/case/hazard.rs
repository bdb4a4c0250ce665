//! Awaab's Law (Hazards in Social Housing (Prescribed Requirements) (England) Regulations 2025,
//! in force 27 October 2025): a person triages each possible hazard and records each step; the
//! statutory clocks follow what is recorded. They belong to the hazard, not the complaint: closing,
//! refusing or answering the complaint leaves them running until a person records them done.

use chrono::{DateTime, Utc};

use super::plan::{Plan, Step};
use super::{ActionReport, CaseError, act};
use crate::app::{App, Rules};
use crate::case::deadlines::{DeadlineKind, HazardSeverity};
use crate::case::model::{Event, HazardStep, Triage};
use crate::store::CaseState;
use crate::store::deadlines::DeadlineEnd;

/// When the hazard was reported: the latest report in a later mail, else the case's receipt.
fn reported_at(state: &CaseState) -> DateTime<Utc> {
    state
        .history
        .iter()
        .rev()
        .find(|r| matches!(r.event, Event::HazardReported { .. }))
        .map_or(state.case.received_at, |r| r.at)
}

fn open(state: &CaseState, kind: DeadlineKind) -> bool {
    state
        .deadlines
        .iter()
        .any(|d| d.kind == kind && d.status == "open")
}

fn no_hazard(state: &CaseState) -> CaseError {
    CaseError::NoHazard(state.case.reference.clone())
}

/// Records a person's triage of the case's possible hazard, with the reason, and sets the clock
/// it calls for (from when the hazard was reported).
pub async fn triage(
    app: &App,
    reference: &str,
    handler: &str,
    triage: Triage,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<ActionReport, CaseError> {
    if reason.trim().is_empty() {
        return Err(CaseError::Empty("--reason (why it is triaged so)"));
    }
    act(app, reference, "triaged", now, |state, rules| {
        Ok(triage_plan(state, rules, handler, triage, reason))
    })
    .await
}

fn triage_plan(
    state: &CaseState,
    rules: &Rules,
    handler: &str,
    triage: Triage,
    reason: &str,
) -> Plan {
    let mut plan = Plan::on(state.case.id);
    plan.then(Step::SetHazard(triage.as_str().into())).record(
        handler,
        Event::HazardTriaged {
            triage,
            reason: reason.to_string(),
        },
    );
    let (keep, severity) = match triage {
        Triage::Emergency => (
            DeadlineKind::AwaabEmergencyMakeSafe,
            Some(HazardSeverity::Emergency),
        ),
        Triage::Significant => (
            DeadlineKind::AwaabInvestigation,
            Some(HazardSeverity::Significant),
        ),
        Triage::NotAHazard => (DeadlineKind::AwaabEmergencyMakeSafe, None),
    };
    for kind in [
        DeadlineKind::AwaabEmergencyMakeSafe,
        DeadlineKind::AwaabInvestigation,
    ] {
        if open(state, kind) && (severity.is_none() || kind != keep) {
            plan.then(Step::CloseDeadline {
                kind,
                end: DeadlineEnd::Superseded,
            });
        }
    }
    if let Some(severity) = severity.filter(|_| !open(state, keep)) {
        let policy = &rules.settings.deadlines;
        let deadlines = policy.awaab(&rules.calendar, severity, reported_at(state));
        plan.steps
            .extend(deadlines.into_iter().map(Step::SetDeadline));
    }
    plan
}

/// Records a step in dealing with the hazard: its deadline is met, and a concluded
/// investigation starts the summary and safety-work clocks from now.
pub async fn progress(
    app: &App,
    reference: &str,
    handler: &str,
    step: HazardStep,
    notes: &str,
    now: DateTime<Utc>,
) -> Result<ActionReport, CaseError> {
    act(app, reference, "recorded", now, |state, rules| {
        progress_plan(state, rules, handler, step, notes, now)
    })
    .await
}

fn progress_plan(
    state: &CaseState,
    rules: &Rules,
    handler: &str,
    step: HazardStep,
    notes: &str,
    now: DateTime<Utc>,
) -> Result<Plan, CaseError> {
    let hazard = state.case.hazard.as_deref().unwrap_or("none");
    if hazard == "none" {
        return Err(no_hazard(state));
    }
    let kind = match step {
        HazardStep::Investigated => DeadlineKind::AwaabInvestigation,
        HazardStep::SummarySent => DeadlineKind::AwaabWrittenSummary,
        HazardStep::MadeSafe => DeadlineKind::AwaabEmergencyMakeSafe,
        HazardStep::WorksStarted => DeadlineKind::AwaabSafetyWork,
    };
    let mut plan = Plan::on(state.case.id);
    plan.then(Step::CloseDeadline {
        kind,
        end: DeadlineEnd::Met,
    })
    .record(
        handler,
        Event::HazardProgress {
            step,
            notes: notes.to_string(),
        },
    );
    let significant = !hazard.contains("emergency");
    let policy = &rules.settings.deadlines;
    let in_force = rules.calendar.local_date(reported_at(state)) >= policy.awaab_start;
    if step == HazardStep::Investigated && significant && in_force {
        let deadlines = policy.after_investigation(&rules.calendar, now);
        plan.steps
            .extend(deadlines.into_iter().map(Step::SetDeadline));
    }
    Ok(plan)
}
