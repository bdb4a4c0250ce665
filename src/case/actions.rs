//! What handlers do to a case, from the CLI or the web app. Each action is a pure `*_plan`
//! function over the case as it stands, run end to end by [`act`]; the Code's provisions each
//! one enforces are named on it (Complaint Handling Code 2024, section 6).

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;

use super::plan::{IfUnwritten, Notice, Outgoing, Plan, Step, Thread};
use super::{ActionReport, CaseError, act, letter_base, open_due};
use crate::app::{App, Rules};
use crate::case::deadlines::{Deadline, DeadlineKind, PriorExtensions};
use crate::case::model::{
    CaseStatus, EscalationRequest, Event, Finding, FindingArea, Outcome, OutstandingAction, Source,
    Stage,
};
use crate::config::address_of;
use crate::store::deadlines::DeadlineEnd;
use crate::store::{CaseState, Recipient};

/// A stage response as the handler gives it; checked against the Code's required content
/// (6.9 at stage 1, 6.19 at stage 2) before anything is sent.
#[derive(Debug, Clone)]
pub struct Response {
    pub outcome: Option<Outcome>,
    pub reasons: String,
    pub remedy: String,
    pub actions: Vec<OutstandingAction>,
    /// The handler states there is nothing outstanding (so an empty list is a decision, not an omission).
    pub no_outstanding_actions: bool,
    /// The complaint definition, where none was recorded at acknowledgement.
    pub definition: Option<String>,
}

/// Why a response was refused.
#[derive(Debug, thiserror::Error)]
#[error("the response lacks what the Code requires: {}", .missing.join("; "))]
pub struct IncompleteResponse {
    pub missing: Vec<&'static str>,
}

impl Response {
    /// Every element the Code requires, or what is missing.
    pub fn check(&self) -> Result<Outcome, IncompleteResponse> {
        let mut missing = Vec::new();
        if self.outcome.is_none() {
            missing.push("the outcome (--outcome upheld|partly-upheld|not-upheld)");
        }
        if self.reasons.trim().is_empty() {
            missing.push("the reasons for the decisions (--reasons)");
        }
        if self.remedy.trim().is_empty() {
            missing.push("the remedy offered, or \"none\" with why (--remedy)");
        }
        if self.actions.is_empty() && !self.no_outstanding_actions {
            missing.push("the outstanding actions (--action \"WHAT|OWNER|YYYY-MM-DD\", or --no-outstanding-actions)");
        }
        match (self.outcome, missing.is_empty()) {
            (Some(outcome), true) => Ok(outcome),
            _ => Err(IncompleteResponse { missing }),
        }
    }
}

fn non_empty(text: &str, what: &'static str) -> Result<(), CaseError> {
    if text.trim().is_empty() {
        return Err(CaseError::Empty(what));
    }
    Ok(())
}

/// The case, if it is open.
fn require_open(state: &CaseState, action: &'static str) -> Result<(), CaseError> {
    if state.case.status != CaseStatus::Open {
        return Err(CaseError::NotOpen {
            reference: state.case.reference.clone(),
            status: state.case.status,
            action,
        });
    }
    Ok(())
}

/// The stage of an open complaint.
fn require_stage(state: &CaseState) -> Result<Stage, CaseError> {
    state.case.stage.ok_or_else(|| CaseError::NoStage {
        reference: state.case.reference.clone(),
        kind: state.case.kind.to_string(),
    })
}

/// A letter to the customer about a handler's action, threaded to their first mail on the case.
fn handler_letter(
    state: &CaseState,
    rules: &Rules,
    template: &'static str,
    stage: Stage,
    handler: &str,
    extra: serde_json::Value,
    key_suffix: &str,
) -> Result<Step, CaseError> {
    let to = state
        .case
        .recipient()
        .ok_or_else(|| CaseError::NoAddress(state.case.reference.clone()))?;
    let mut context = letter_base(rules, &state.case);
    context.insert("stage_name".into(), json!(stage.words()));
    context.insert("handler_name".into(), json!(handler));
    context.extend(super::apply::object(extra));
    let thread = Thread {
        in_reply_to: state.first_message_id.clone(),
        references: state.first_message_id.iter().cloned().collect(),
    };
    Ok(Step::Letter(Outgoing::to_customer(
        template,
        to,
        context,
        key_suffix,
        thread,
        IfUnwritten::Refuse,
    )))
}

/// Code 6.13: the person who answers stage 2 is not the one who answered stage 1.
fn not_the_stage1_responder(state: &CaseState, handler: &str) -> Result<(), CaseError> {
    let stage1 = state.history.iter().find(|r| {
        matches!(
            r.event,
            Event::Responded {
                stage: Stage::Stage1,
                ..
            }
        )
    });
    match stage1 {
        Some(r) if r.actor.trim().eq_ignore_ascii_case(handler.trim()) => {
            Err(CaseError::SamePerson {
                reference: state.case.reference.clone(),
                name: r.actor.clone(),
            })
        }
        _ => Ok(()),
    }
}

/// A response meets the stage's response deadline; an acknowledgement never sent is never
/// recorded as met (6.2 / 6.11): it counts as late.
fn close_stage_deadlines(plan: &mut Plan, state: &CaseState, stage: Stage) {
    let (ack_kind, response_kind) = stage.deadline_kinds();
    if !acknowledged(state, stage) {
        plan.then(Step::CloseDeadline {
            kind: ack_kind,
            end: DeadlineEnd::Missed,
        });
    }
    plan.then(Step::CloseDeadline {
        kind: response_kind,
        end: DeadlineEnd::Met,
    });
}

/// The actions promised in a response, as the letter lists them.
fn promised_actions(rules: &Rules, actions: &[OutstandingAction]) -> Vec<serde_json::Value> {
    let calendar = &rules.calendar;
    actions
        .iter()
        .map(|a| {
            json!({
                "what": a.what, "owner": a.owner,
                "due": rules.letter_date(calendar.close_of_business(a.due)),
            })
        })
        .collect()
}

/// Code 6.9 b / 6.19 b: the response restates the complaint as defined at acknowledgement
/// (our understanding and the outcome sought), or as the handler defines it now.
fn complaint_definition(
    state: &CaseState,
    stage: Stage,
    response: &Response,
) -> Result<String, CaseError> {
    // This stage's definition first; at stage 2 without one, the complaint as defined at stage 1.
    let defined = |at: Stage| {
        state.events().rev().find_map(move |e| match e {
            Event::Acknowledged {
                stage: s,
                understanding: Some(understanding),
                outcome_sought,
                ..
            } if *s == at => Some(match outcome_sought {
                Some(sought) => {
                    format!("{understanding} The outcome you are looking for: {sought}")
                }
                None => understanding.clone(),
            }),
            _ => None,
        })
    };
    let acknowledged = defined(stage).or_else(|| defined(Stage::Stage1));
    let given = response
        .definition
        .as_ref()
        .filter(|d| !d.trim().is_empty())
        .cloned();
    acknowledged
        .or(given)
        .ok_or(CaseError::Incomplete(IncompleteResponse {
            missing: vec![
                "the complaint definition (send the acknowledgement first, or give --definition)",
            ],
        }))
}

/// Whether the case was acknowledged at `stage`.
fn acknowledged(state: &CaseState, stage: Stage) -> bool {
    state
        .events()
        .any(|e| matches!(e, Event::Acknowledged { stage: s, .. } if *s == stage))
}

/// Code 6.2 / 6.11: the acknowledgement (our understanding of the complaint and the outcome
/// sought), sent by a handler; the response deadline (6.3 / 6.14) is recomputed from now.
pub async fn acknowledge(
    app: &App,
    reference: &str,
    handler: &str,
    understanding: &str,
    outcome_sought: &str,
    now: DateTime<Utc>,
) -> Result<ActionReport, CaseError> {
    non_empty(
        understanding,
        "--understanding (our understanding of the complaint)",
    )?;
    non_empty(outcome_sought, "--outcome (the outcome the customer seeks)")?;
    act(app, reference, "acknowledged", now, |state, rules| {
        acknowledge_plan(state, rules, handler, understanding, outcome_sought, now)
    })
    .await
}

fn acknowledge_plan(
    state: &CaseState,
    rules: &Rules,
    handler: &str,
    understanding: &str,
    outcome_sought: &str,
    now: DateTime<Utc>,
) -> Result<Plan, CaseError> {
    require_open(state, "acknowledge")?;
    let stage = require_stage(state)?;
    let (ack_kind, response_kind) = stage.deadline_kinds();
    if acknowledged(state, stage) {
        return Err(CaseError::AlreadyAcknowledged(state.case.reference.clone()));
    }
    let ack_due = open_due(state, ack_kind);
    let deadline = rules
        .settings
        .deadlines
        .after_acknowledgement(&rules.calendar, stage, now);
    let letter = handler_letter(
        state,
        rules,
        "acknowledgement",
        stage,
        handler,
        json!({
            "understanding": understanding, "outcome_sought": outcome_sought,
            "respond_by": rules.letter_date(deadline.due_at),
        }),
        &format!(":{}", stage.as_str()),
    )?;
    let mut plan = Plan::on(state.case.id);
    plan.then(Step::CloseDeadline {
        kind: ack_kind,
        end: DeadlineEnd::Met,
    })
    .record(
        handler,
        Event::Acknowledged {
            stage,
            understanding: Some(understanding.to_string()),
            outcome_sought: Some(outcome_sought.to_string()),
            due_at: ack_due,
            on_time: ack_due.map(|due| now <= due),
            deadline_met: Some(ack_due.is_some()),
            automatic: false,
        },
    )
    .then(Step::ReplaceDeadline {
        previous: open_due(state, response_kind),
        deadline,
    })
    .then(letter);
    Ok(plan)
}

/// Code 6.4 / 6.15: extends the response deadline by `days` working days within the configured
/// maximum; the customer is told why, with the Ombudsman's details (6.5).
pub async fn extend(
    app: &App,
    reference: &str,
    handler: &str,
    days: u32,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<ActionReport, CaseError> {
    non_empty(reason, "--reason (the customer is told why)")?;
    act(app, reference, "extended", now, |state, rules| {
        extend_plan(state, rules, handler, days, reason)
    })
    .await
}

fn extend_plan(
    state: &CaseState,
    rules: &Rules,
    handler: &str,
    days: u32,
    reason: &str,
) -> Result<Plan, CaseError> {
    require_open(state, "extend")?;
    let stage = require_stage(state)?;
    let current = open_due(state, stage.deadline_kinds().1)
        .ok_or_else(|| CaseError::NothingToExtend(state.case.reference.clone()))?;
    let mut prior = PriorExtensions::default();
    for event in state.events() {
        if let Event::Extended { stage: s, days, .. } = event
            && *s == stage
        {
            prior.count += 1;
            prior.days += days;
        }
    }
    let deadline =
        rules
            .settings
            .deadlines
            .extension(&rules.calendar, stage, current, days, prior, reason)?;
    let letter = handler_letter(
        state,
        rules,
        "extension",
        stage,
        handler,
        json!({
            "reason": reason, "previous_due": rules.letter_date(current),
            "respond_by": rules.letter_date(deadline.due_at),
        }),
        &format!(":{}:{}", stage.as_str(), prior.count + 1),
    )?;
    let mut plan = Plan::on(state.case.id);
    plan.record(
        handler,
        Event::Extended {
            stage,
            days,
            reason: reason.to_string(),
            previous_due_at: current,
            due_at: deadline.due_at,
        },
    )
    .then(Step::ReplaceDeadline {
        deadline,
        previous: Some(current),
    })
    .then(letter);
    Ok(plan)
}

/// Code 6.9 / 6.19: the stage response, refused unless it has every element the Code requires;
/// marks the response deadline met, tracks each outstanding action, and closes the case after
/// stage 2.
pub async fn respond(
    app: &App,
    reference: &str,
    handler: &str,
    response: &Response,
    now: DateTime<Utc>,
) -> Result<ActionReport, CaseError> {
    let outcome = response.check().map_err(CaseError::Incomplete)?;
    act(app, reference, "responded", now, |state, rules| {
        respond_plan(state, rules, handler, response, outcome, now)
    })
    .await
}

fn respond_plan(
    state: &CaseState,
    rules: &Rules,
    handler: &str,
    response: &Response,
    outcome: Outcome,
    now: DateTime<Utc>,
) -> Result<Plan, CaseError> {
    require_open(state, "respond")?;
    let stage = require_stage(state)?;
    if stage == Stage::Stage2 {
        not_the_stage1_responder(state, handler)?;
    }
    let due = open_due(state, stage.deadline_kinds().1);
    let definition = complaint_definition(state, stage, response)?;
    let calendar = &rules.calendar;
    let final_stage = stage == Stage::Stage2;
    let actions = promised_actions(rules, &response.actions);
    let letter = handler_letter(
        state,
        rules,
        "response",
        stage,
        handler,
        json!({
            "outcome": outcome.words(), "reasons": response.reasons, "remedy": response.remedy,
            "final_stage": final_stage, "actions": actions, "complaint_definition": definition,
        }),
        &format!(":{}", stage.as_str()),
    )?;
    let mut plan = Plan::on(state.case.id);
    close_stage_deadlines(&mut plan, state, stage);
    plan.record(
        handler,
        Event::Responded {
            stage,
            outcome,
            reasons: response.reasons.clone(),
            remedy: response.remedy.clone(),
            actions: response.actions.clone(),
            due_at: due,
            on_time: due.map(|d| now <= d),
        },
    );
    for action in &response.actions {
        plan.then(Step::TrackAction(Deadline {
            kind: DeadlineKind::OutstandingAction,
            due_at: calendar.close_of_business(action.due),
            rule: format!(
                "promised in the {} response: {} (owner: {})",
                stage.words(),
                action.what,
                action.owner
            ),
        }));
    }
    if final_stage {
        plan.then(Step::SetStatus(CaseStatus::Closed)).record(
            handler,
            Event::Closed {
                reason: "stage 2 response sent: procedure complete".into(),
            },
        );
    }
    plan.then(letter);
    Ok(plan)
}

/// Hands a case to another owner, who is told.
pub async fn assign(
    app: &App,
    reference: &str,
    handler: &str,
    address: &str,
    now: DateTime<Utc>,
) -> Result<ActionReport, CaseError> {
    let address = address_of(address).ok_or(CaseError::Empty("ADDRESS (an e-mail address)"))?;
    act(app, reference, "assigned", now, |state, _| {
        require_open(state, "assign")?;
        let mut plan = Plan::on(state.case.id);
        plan.then(Step::SetOwner(address.clone()))
            .record(
                handler,
                Event::Assigned {
                    from: state.case.owner.clone(),
                    to: address.clone(),
                },
            )
            .then(Step::Notice(Notice {
                headline: "A case has been assigned to you".into(),
                details: format!("{handler} assigned this case to you."),
                key: format!("assigned:{address}:{}", now.timestamp()),
                to: vec![address.clone()],
            }));
        Ok(plan)
    })
    .await
}

/// Records an event on any case, open or not, after the change it records (if any).
async fn record(
    app: &App,
    reference: &str,
    action: &'static str,
    handler: &str,
    (change, event): (Option<Step>, Event),
    now: DateTime<Utc>,
) -> Result<ActionReport, CaseError> {
    act(app, reference, action, now, |state, _| {
        let mut plan = Plan::on(state.case.id);
        plan.steps.extend(change);
        plan.record(handler, event);
        Ok(plan)
    })
    .await
}

/// Adds a note to the case's record.
pub async fn note(
    app: &App,
    reference: &str,
    handler: &str,
    text: &str,
    now: DateTime<Utc>,
) -> Result<ActionReport, CaseError> {
    non_empty(text, "the note")?;
    let event = Event::Note {
        text: text.to_string(),
    };
    record(app, reference, "noted", handler, (None, event), now).await
}

/// Records that a case went to the Housing Ombudsman, and each determination when it comes.
pub async fn ombudsman(
    app: &App,
    reference: &str,
    handler: &str,
    finding: Option<(Finding, FindingArea)>,
    notes: &str,
    now: DateTime<Utc>,
) -> Result<ActionReport, CaseError> {
    let notes = notes.to_string();
    let event = match finding {
        Some((finding, area)) => Event::OmbudsmanFinding {
            finding,
            area,
            notes,
        },
        None => Event::OmbudsmanReferral { notes },
    };
    record(app, reference, "recorded", handler, (None, event), now).await
}

/// Records who complained: a customer, or a neighbour / the wider community.
pub async fn set_source(
    app: &App,
    reference: &str,
    handler: &str,
    source: &str,
    now: DateTime<Utc>,
) -> Result<ActionReport, CaseError> {
    let source = Source::parse(source).ok_or_else(|| CaseError::BadSource(source.to_string()))?;
    let event = Event::SourceSet { source };
    record(
        app,
        reference,
        "source recorded",
        handler,
        (None, event),
        now,
    )
    .await
}

/// Closes a case with the reason: its open deadlines stop (and with them every reminder).
pub async fn close(
    app: &App,
    reference: &str,
    handler: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<ActionReport, CaseError> {
    non_empty(reason, "--reason")?;
    act(app, reference, "closed", now, |state, _| {
        require_open(state, "close")?;
        let event = Event::Closed {
            reason: reason.to_string(),
        };
        Ok(finish(state, CaseStatus::Closed, handler, event))
    })
    .await
}

/// Ends a case with `status`: the promised actions stay tracked, every other deadline stops.
fn finish(state: &CaseState, status: CaseStatus, handler: &str, event: Event) -> Plan {
    let mut plan = Plan::on(state.case.id);
    plan.then(Step::SetStatus(status))
        .then(Step::CloseCaseDeadlines)
        .record(handler, event);
    plan
}

/// The grounds on which a complaint may be refused, offered on the web form. Code 2024 2.2
/// lists these as acceptable exclusions (a policy may set out others that are fair and
/// reasonable, hence "another reason"); 2.4 requires the explanation and the right to take the
/// decision to the Ombudsman, which the refusal letter carries.
pub const REFUSAL_REASONS: [&str; 4] = [
    "The issue giving rise to the complaint occurred over twelve months ago",
    "Legal proceedings have started (the claim has been filed at court)",
    "The matter has previously been considered under our complaints policy",
    "Another reason set out in our complaints policy",
];

/// The Code 2.2 ground a refusal's recorded reason falls under, for the published summary: the
/// web form's own wording first, then the words a handler typing at the CLI would use.
pub fn refusal_ground(reason: &str) -> &'static str {
    if let Some(ground) = REFUSAL_REASONS.iter().find(|g| reason.starts_with(*g)) {
        return ground;
    }
    let text = reason.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| text.contains(w));
    if has(&[
        "twelve months",
        "12 months",
        "over a year",
        "more than a year",
    ]) {
        REFUSAL_REASONS[0]
    } else if has(&["legal", "court", "proceedings", "solicitor", "claim"]) {
        REFUSAL_REASONS[1]
    } else if has(&[
        "previously",
        "already",
        "considered before",
        "investigated before",
    ]) {
        REFUSAL_REASONS[2]
    } else {
        REFUSAL_REASONS[3]
    }
}

/// Refuses a complaint with a detailed explanation and the right to go to the Ombudsman
/// (procedure §4.4–4.5; the Code's section 4 on exclusions).
pub async fn refuse(
    app: &App,
    reference: &str,
    handler: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<ActionReport, CaseError> {
    non_empty(
        reason,
        "--reason (the customer is given a detailed explanation)",
    )?;
    act(app, reference, "refused", now, |state, rules| {
        require_open(state, "refuse")?;
        let stage = state.case.stage.unwrap_or(Stage::Stage1);
        let letter = handler_letter(
            state,
            rules,
            "refusal",
            stage,
            handler,
            json!({ "reason": reason }),
            "",
        )?;
        let event = Event::Refused {
            reason: reason.to_string(),
            stage: state.case.stage,
        };
        let mut plan = finish(state, CaseStatus::Refused, handler, event);
        plan.then(letter);
        Ok(plan)
    })
    .await
}

/// Escalates a stage 1 complaint to stage 2 at the customer's request made another way (phone,
/// letter); a mailed request is recognised by itself. Stage 2 reviews the stage 1 response, so
/// before one is issued it is refused unless `force`d (the reason is kept on record).
pub async fn escalate(
    app: &App,
    reference: &str,
    handler: &str,
    reason: &str,
    force: bool,
    now: DateTime<Utc>,
) -> Result<ActionReport, CaseError> {
    non_empty(reason, "--reason (why the customer remains dissatisfied)")?;
    act(
        app,
        reference,
        "escalated to stage 2",
        now,
        |state, rules| escalate_plan(state, rules, handler, reason, force, now),
    )
    .await
}

pub(crate) fn escalate_plan(
    state: &CaseState,
    rules: &Rules,
    handler: &str,
    reason: &str,
    force: bool,
    now: DateTime<Utc>,
) -> Result<Plan, CaseError> {
    require_open(state, "escalate")?;
    if require_stage(state)? != Stage::Stage1 {
        return Err(CaseError::NoStage {
            reference: state.case.reference.clone(),
            kind: "complaint already at stage 2".into(),
        });
    }
    let answered = state.events().any(|e| {
        matches!(
            e,
            Event::Responded {
                stage: Stage::Stage1,
                ..
            }
        )
    });
    if !answered && !force {
        return Err(CaseError::NotYetAnswered(state.case.reference.clone()));
    }
    let mut plan = Plan::on(state.case.id);
    let (ack, response) = Stage::Stage1.deadline_kinds();
    for kind in [ack, response] {
        plan.then(Step::CloseDeadline {
            kind,
            end: DeadlineEnd::Superseded,
        });
    }
    let request = Stage2Request {
        requested_at: now,
        actor: handler,
        detail: EscalationRequest {
            reason: Some(reason.to_string()),
            forced: !answered,
            ..EscalationRequest::default()
        },
        reply_to: None,
        thread: Thread::default(),
        notice_key: format!("escalated-by-handler:{}", state.case.id),
    };
    open_stage2(&mut plan, state, rules, request);
    Ok(plan)
}

/// A request for a stage 2 review, by mail or noted by a handler.
pub(crate) struct Stage2Request<'a> {
    pub requested_at: DateTime<Utc>,
    pub actor: &'a str,
    pub detail: EscalationRequest,
    /// Where the stage 2 receipt goes when the request came by mail (else the case's address).
    pub reply_to: Option<String>,
    pub thread: Thread,
    pub notice_key: String,
}

/// Code 6.11 / 6.14: moves a case to stage 2: the manager owns it (6.13: a different person from
/// stage 1), stage 2 deadlines are set, the customer gets the stage 2 receipt and the manager is told.
pub(crate) fn open_stage2(
    plan: &mut Plan,
    state: &CaseState,
    rules: &Rules,
    request: Stage2Request<'_>,
) {
    let manager = rules.settings.routing.owner_for(None, Some("stage2"));
    plan.then(Step::SetStage(Stage::Stage2))
        .then(Step::SetStatus(CaseStatus::Open));
    match &manager {
        Some(manager) => plan.then(Step::SetOwner(manager.clone())),
        None => plan.then(Step::Flag(
            "stage 2 with no stage 2 manager configured (routing.manager): assign someone who did not handle stage 1 (Code 6.13)".into(),
        )),
    };
    plan.record(
        request.actor,
        Event::Escalated {
            from_stage: Stage::Stage1,
            to_stage: Stage::Stage2,
            requested_at: request.requested_at,
            detail: request.detail,
        },
    );
    let deadlines = rules
        .settings
        .deadlines
        .escalation(&rules.calendar, request.requested_at);
    let due = |kind: DeadlineKind| {
        deadlines
            .iter()
            .find(|d| d.kind == kind)
            .map(|d| rules.letter_date(d.due_at))
    };
    let mut context = letter_base(rules, &state.case);
    context.insert(
        "acknowledge_by".into(),
        json!(due(DeadlineKind::Stage2Acknowledgement)),
    );
    context.insert(
        "respond_by".into(),
        json!(due(DeadlineKind::Stage2Response).unwrap_or_default()),
    );
    for deadline in deadlines {
        plan.then(Step::SetDeadline(deadline));
    }
    if let Some(to) = request
        .reply_to
        .map(Recipient::Email)
        .or_else(|| state.case.recipient())
    {
        plan.then(Step::Letter(Outgoing::to_customer(
            "stage2_receipt",
            to,
            context,
            "",
            request.thread,
            IfUnwritten::Flag,
        )));
    }
    plan.then(Step::Notice(Notice {
        headline: "Stage 2 review requested: the case is now yours".into(),
        details: format!(
            "A stage 2 review was requested on {}.",
            rules.calendar_time(request.requested_at)
        ),
        to: manager.into_iter().collect(),
        key: request.notice_key,
    }));
}

/// Marks an outstanding action (a deadline listed by `cases show`) done; its reminders stop.
pub async fn action_done(
    app: &App,
    reference: &str,
    handler: &str,
    deadline_id: i64,
    now: DateTime<Utc>,
) -> Result<ActionReport, CaseError> {
    act(app, reference, "action done", now, |state, rules| {
        let action = state
            .deadlines
            .iter()
            .find(|d| {
                d.id == deadline_id
                    && d.kind == DeadlineKind::OutstandingAction
                    && d.status == "open"
            })
            .ok_or_else(|| CaseError::NoSuchAction {
                reference: state.case.reference.clone(),
                deadline_id,
            })?;
        let mut plan = Plan::on(state.case.id);
        plan.then(Step::CompleteAction { deadline_id }).record(
            handler,
            Event::ActionCompleted {
                deadline_id,
                action: action.rule.clone(),
            },
        );
        // Code 6.9 / 6.19: outstanding actions are tracked and the resident kept informed.
        if state.case.recipient().is_some() {
            let what = action
                .rule
                .split_once(": ")
                .map_or(action.rule.as_str(), |(_, what)| what);
            let stage = state.case.stage.unwrap_or(Stage::Stage1);
            plan.then(handler_letter(
                state,
                rules,
                "action_done",
                stage,
                handler,
                json!({ "action": what }),
                &format!(":{deadline_id}"),
            )?);
        }
        Ok(plan)
    })
    .await
}

/// Records the reasonable adjustments the resident needs: shown on every notice and reminder to
/// whoever deals with the case.
pub async fn adjust(
    app: &App,
    reference: &str,
    handler: &str,
    needs: &str,
    now: DateTime<Utc>,
) -> Result<ActionReport, CaseError> {
    non_empty(
        needs,
        "--needs (the adjustments, e.g. \"large print; call before visiting\")",
    )?;
    let change = Step::SetAdjustments(needs.to_string());
    let event = Event::AdjustmentsRecorded {
        needs: needs.to_string(),
    };
    let action = "adjustments recorded";
    record(app, reference, action, handler, (Some(change), event), now).await
}

/// Records the authority held for a representative acting for the resident (procedure §4.1):
/// shown on every notice and reminder.
pub async fn authority(
    app: &App,
    reference: &str,
    handler: &str,
    authority: &str,
    now: DateTime<Utc>,
) -> Result<ActionReport, CaseError> {
    non_empty(
        authority,
        "--authority (what authority is held, e.g. a signed form)",
    )?;
    let change = Step::SetAuthority(authority.to_string());
    let event = Event::AuthorityRecorded {
        authority: authority.to_string(),
    };
    let action = "authority recorded";
    record(app, reference, action, handler, (Some(change), event), now).await
}

/// Keeps a case from purge (legal hold: an Ombudsman investigation or legal proceedings), or
/// with `reason` `None` releases it; either way the record says who and why.
pub async fn hold(
    app: &App,
    reference: &str,
    handler: &str,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<ActionReport, CaseError> {
    if let Some(reason) = reason {
        non_empty(reason, "--reason (why the case must be kept)")?;
    }
    let change = Step::SetHold(reason.map(|r| r.trim().to_string()));
    let event = Event::HoldSet {
        held: reason.is_some(),
        reason: reason.unwrap_or_default().trim().to_string(),
    };
    let action = if reason.is_some() { "held" } else { "released" };
    record(app, reference, action, handler, (Some(change), event), now).await
}

/// Records when the matter complained about happened. Code section 2 (exclusions): complaints
/// are accepted within 12 months of the issue occurring or the resident becoming aware of it, so
/// an older matter is flagged for a person to decide: accept it, or refuse it with that reason.
pub async fn matter_date(
    app: &App,
    reference: &str,
    handler: &str,
    happened_on: NaiveDate,
    now: DateTime<Utc>,
) -> Result<ActionReport, CaseError> {
    act(app, reference, "dated", now, |state, rules| {
        let mut plan = Plan::on(state.case.id);
        dated(
            &mut plan,
            rules,
            handler,
            happened_on,
            state.case.received_at,
        );
        Ok(plan)
    })
    .await
}

/// Records the matter's date and flags it when it is over 12 months before the complaint.
pub(crate) fn dated(
    plan: &mut Plan,
    rules: &Rules,
    handler: &str,
    happened_on: NaiveDate,
    received_at: DateTime<Utc>,
) {
    plan.record(handler, Event::MatterDated { happened_on });
    let received = rules.calendar.local_date(received_at);
    let limit = received
        .checked_sub_months(chrono::Months::new(12))
        .unwrap_or(received);
    if happened_on < limit {
        plan.then(Step::Flag(format!(
            "the matter happened on {happened_on}, more than 12 months before the complaint: decide whether to accept it, or refuse it with that reason (Code section 2)"
        )));
    }
}

/// Restricts a sender under the unacceptable-behaviour policy until `until`: their mail is still
/// recorded and goes to `contact`, but gets no automatic reply.
pub async fn restrict(
    app: &App,
    address: &str,
    until: NaiveDate,
    contact: &str,
    reason: &str,
    handler: &str,
    now: DateTime<Utc>,
) -> Result<(), CaseError> {
    let address =
        address_of(address).ok_or(CaseError::Empty("ADDRESS (the sender's e-mail address)"))?;
    let contact = address_of(contact).ok_or(CaseError::Empty(
        "--contact (the single point of contact's address)",
    ))?;
    app.store
        .add_restriction(&address, until, &contact, reason, handler, now)
        .await?;
    Ok(())
}
