//! Handler actions on a case. Each one is an event on the case, changes its deadlines where the
//! Code says so, and queues the letter the customer must get, all in one transaction.
//!
//! - acknowledge: the Code's acknowledgement (§5.6: our understanding of the complaint and the
//!   outcome sought); the response deadline is recomputed from the moment it is sent.
//! - extend: moves the response deadline within the configured maximum, with the reason given to
//!   the customer together with the Ombudsman's details (§6.4–6.5).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use sqlx::Row;

use crate::app::App;
use crate::deadlines::{DeadlineKind, ExtensionError, PriorExtensions, Stage};
use crate::store::{CaseRow, NewLetter, Store, StoreError, Tx, from_ts};

/// Why a handler action was refused.
#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no case with reference {0}")]
    NoSuchCase(String),
    #[error("case {reference} is {status}: {action} needs an open complaint")]
    NotOpen {
        reference: String,
        status: String,
        action: &'static str,
    },
    #[error("case {reference} is a {kind}, not a complaint at a stage")]
    NoStage { reference: String, kind: String },
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
    Incomplete(IncompleteResponse),
    #[error("`{0}`: the source is customer or community")]
    BadSource(String),
    #[error(
        "case {reference} has no open outstanding action {deadline_id} (see `redress cases show {reference}`)"
    )]
    NoSuchAction { reference: String, deadline_id: i64 },
    #[error("letter {name} could not be written: {message}")]
    Letter { name: &'static str, message: String },
}

impl From<sqlx::Error> for WorkflowError {
    fn from(e: sqlx::Error) -> Self {
        WorkflowError::Store(StoreError::Database(e))
    }
}

/// What an action changed, for the CLI to print.
#[derive(Debug, Clone, Serialize)]
pub struct ActionReport {
    pub reference: String,
    pub action: &'static str,
    pub response_due: DateTime<Utc>,
    pub letter_queued: bool,
}

fn stage_of(case: &CaseRow) -> Result<Stage, WorkflowError> {
    match case.stage.as_deref() {
        Some("stage1") => Ok(Stage::Stage1),
        Some("stage2") => Ok(Stage::Stage2),
        _ => Err(WorkflowError::NoStage {
            reference: case.reference.clone(),
            kind: case.kind.clone(),
        }),
    }
}

fn stage_name(stage: Stage) -> &'static str {
    match stage {
        Stage::Stage1 => "stage 1",
        Stage::Stage2 => "stage 2",
    }
}

fn kinds(stage: Stage) -> (DeadlineKind, DeadlineKind) {
    match stage {
        Stage::Stage1 => (
            DeadlineKind::Stage1Acknowledgement,
            DeadlineKind::Stage1Response,
        ),
        Stage::Stage2 => (
            DeadlineKind::Stage2Acknowledgement,
            DeadlineKind::Stage2Response,
        ),
    }
}

/// The case with this reference, however it was typed.
async fn find_case(app: &App, reference: &str) -> Result<CaseRow, WorkflowError> {
    let reference = reference.trim().to_ascii_uppercase();
    app.store
        .case_by_reference(&reference)
        .await?
        .ok_or(WorkflowError::NoSuchCase(reference))
}

async fn open_case(
    app: &App,
    reference: &str,
    action: &'static str,
) -> Result<CaseRow, WorkflowError> {
    let case = find_case(app, reference).await?;
    if case.status != "open" {
        return Err(WorkflowError::NotOpen {
            reference: case.reference,
            status: case.status,
            action,
        });
    }
    Ok(case)
}

/// The open deadline of `kind` on a case, if any.
async fn open_deadline(
    tx: &mut Tx,
    case_id: i64,
    kind: DeadlineKind,
) -> Result<Option<DateTime<Utc>>, WorkflowError> {
    let row = sqlx::query("SELECT due_at FROM deadlines WHERE case_id = $1 AND kind = $2 AND status = 'open' ORDER BY id DESC LIMIT 1")
        .bind(case_id)
        .bind(kind.as_str())
        .fetch_optional(&mut **tx)
        .await?;
    Ok(match row {
        Some(row) => Some(from_ts(row.try_get("due_at")?)),
        None => None,
    })
}

/// Replaces the open response deadline with `deadline`, recording the change as an event.
async fn replace_response_deadline(
    tx: &mut Tx,
    case_id: i64,
    deadline: &crate::deadlines::Deadline,
    previous: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), WorkflowError> {
    Store::close_deadline(tx, case_id, deadline.kind, "superseded", now).await?;
    Store::insert_deadline(tx, case_id, deadline, now).await?;
    Store::insert_event(tx, case_id, now, "deadline_recomputed", "redress", &json!({
        "kind": deadline.kind, "previous_due_at": previous, "due_at": deadline.due_at, "rule": deadline.rule,
    }))
    .await?;
    Ok(())
}

/// Common letter variables.
fn letter_base(
    app: &App,
    case: &CaseRow,
    stage: Stage,
    handler: &str,
) -> serde_json::Map<String, serde_json::Value> {
    let org = &app.rules.settings.organisation;
    let mut ctx = serde_json::Map::new();
    ctx.insert("reference".into(), json!(case.reference));
    ctx.insert(
        "customer_name".into(),
        json!(case.customer_name.as_deref().unwrap_or("customer")),
    );
    ctx.insert("organisation_name".into(), json!(org.name));
    ctx.insert("complaints_address".into(), json!(org.complaints_address));
    ctx.insert("ombudsman_contact".into(), json!(org.ombudsman_contact));
    ctx.insert("stage_name".into(), json!(stage_name(stage)));
    ctx.insert("handler_name".into(), json!(handler));
    ctx
}

async fn queue(
    app: &App,
    tx: &mut Tx,
    case: &CaseRow,
    name: &'static str,
    dedupe_key: String,
    context: &serde_json::Map<String, serde_json::Value>,
    now: DateTime<Utc>,
) -> Result<bool, WorkflowError> {
    let to = case
        .customer_address
        .clone()
        .ok_or_else(|| WorkflowError::NoAddress(case.reference.clone()))?;
    let letter = app
        .rules
        .letters
        .render(name, context)
        .map_err(|e| WorkflowError::Letter {
            name,
            message: e.to_string(),
        })?;
    // Thread the letter to the customer's first mail on the case.
    let first = sqlx::query("SELECT message_id FROM messages WHERE case_id = $1 AND direction = 'in' AND message_id <> '' ORDER BY id LIMIT 1")
        .bind(case.id)
        .fetch_optional(&mut **tx)
        .await?;
    let in_reply_to: Option<String> = match first {
        Some(row) => Some(row.try_get("message_id")?),
        None => None,
    };
    let message_id = app.rules.new_message_id(&case.reference, name);
    let queued = Store::queue_letter(
        tx,
        &NewLetter {
            case_id: Some(case.id),
            kind: name.to_string(),
            dedupe_key,
            message_id: message_id.clone(),
            to_address: to,
            subject: letter.subject,
            body: letter.body,
            references: in_reply_to.as_ref().map(|id| format!("<{id}>")),
            in_reply_to,
        },
        now,
    )
    .await?;
    Store::insert_event(
        tx,
        case.id,
        now,
        "letter_queued",
        "redress",
        &json!({ "letter": name, "message_id": message_id }),
    )
    .await?;
    Ok(queued)
}

/// The Code's acknowledgement, sent by a handler: records it, recomputes the response deadline
/// from now, and queues the letter.
pub async fn acknowledge(
    app: &App,
    reference: &str,
    handler: &str,
    understanding: &str,
    outcome_sought: &str,
    now: DateTime<Utc>,
) -> Result<ActionReport, WorkflowError> {
    if understanding.trim().is_empty() {
        return Err(WorkflowError::Empty(
            "--understanding (our understanding of the complaint)",
        ));
    }
    if outcome_sought.trim().is_empty() {
        return Err(WorkflowError::Empty(
            "--outcome (the outcome the customer seeks)",
        ));
    }
    let case = open_case(app, reference, "acknowledge").await?;
    let stage = stage_of(&case)?;
    let (ack_kind, response_kind) = kinds(stage);
    let mut tx = app.store.begin().await?;
    let already = sqlx::query("SELECT COUNT(*) AS n FROM events WHERE case_id = $1 AND kind = 'acknowledged' AND detail LIKE $2")
        .bind(case.id)
        .bind(format!("%\"stage\":\"{}\"%", stage_key(stage)))
        .fetch_one(&mut *tx)
        .await?;
    if already.try_get::<i64, _>("n")? > 0 {
        return Err(WorkflowError::AlreadyAcknowledged(case.reference));
    }
    let ack_due = open_deadline(&mut tx, case.id, ack_kind).await?;
    let met = Store::close_deadline(&mut tx, case.id, ack_kind, "met", now).await?;
    let previous = open_deadline(&mut tx, case.id, response_kind).await?;
    let deadline =
        app.rules
            .settings
            .deadlines
            .after_acknowledgement(&app.rules.calendar, stage, now);
    Store::insert_event(&mut tx, case.id, now, "acknowledged", handler, &json!({
        "stage": stage_key(stage), "understanding": understanding, "outcome_sought": outcome_sought,
        "due_at": ack_due, "on_time": ack_due.map(|due| now <= due), "deadline_met": met > 0,
    }))
    .await?;
    replace_response_deadline(&mut tx, case.id, &deadline, previous, now).await?;
    let mut ctx = letter_base(app, &case, stage, handler);
    ctx.insert("understanding".into(), json!(understanding));
    ctx.insert("outcome_sought".into(), json!(outcome_sought));
    ctx.insert(
        "respond_by".into(),
        json!(app.rules.letter_date(deadline.due_at)),
    );
    let queued = queue(
        app,
        &mut tx,
        &case,
        "acknowledgement",
        format!("acknowledgement:{}:{}", case.id, stage_key(stage)),
        &ctx,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(ActionReport {
        reference: case.reference,
        action: "acknowledged",
        response_due: deadline.due_at,
        letter_queued: queued,
    })
}

fn stage_key(stage: Stage) -> &'static str {
    match stage {
        Stage::Stage1 => "stage1",
        Stage::Stage2 => "stage2",
    }
}

/// Extends the response deadline by `days` working days, within the configured maximum.
pub async fn extend(
    app: &App,
    reference: &str,
    handler: &str,
    days: u32,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<ActionReport, WorkflowError> {
    if reason.trim().is_empty() {
        return Err(WorkflowError::Empty("--reason (the customer is told why)"));
    }
    let case = open_case(app, reference, "extend").await?;
    let stage = stage_of(&case)?;
    let (_, response_kind) = kinds(stage);
    let mut tx = app.store.begin().await?;
    let current = open_deadline(&mut tx, case.id, response_kind)
        .await?
        .ok_or_else(|| WorkflowError::NothingToExtend(case.reference.clone()))?;
    let rows = sqlx::query(
        "SELECT detail FROM events WHERE case_id = $1 AND kind = 'extended' ORDER BY id",
    )
    .bind(case.id)
    .fetch_all(&mut *tx)
    .await?;
    let mut prior = PriorExtensions::default();
    for row in rows {
        let detail: serde_json::Value =
            serde_json::from_str(&row.try_get::<String, _>("detail")?).unwrap_or_default();
        if detail["stage"] == stage_key(stage) {
            prior.count += 1;
            prior.days += u32::try_from(detail["days"].as_u64().unwrap_or(0)).unwrap_or(0);
        }
    }
    let deadline = app.rules.settings.deadlines.extension(
        &app.rules.calendar,
        stage,
        current,
        days,
        prior,
        reason,
    )?;
    Store::insert_event(
        &mut tx,
        case.id,
        now,
        "extended",
        handler,
        &json!({
            "stage": stage_key(stage), "days": days, "reason": reason,
            "previous_due_at": current, "due_at": deadline.due_at,
        }),
    )
    .await?;
    replace_response_deadline(&mut tx, case.id, &deadline, Some(current), now).await?;
    let mut ctx = letter_base(app, &case, stage, handler);
    ctx.insert("reason".into(), json!(reason));
    ctx.insert("previous_due".into(), json!(app.rules.letter_date(current)));
    ctx.insert(
        "respond_by".into(),
        json!(app.rules.letter_date(deadline.due_at)),
    );
    let queued = queue(
        app,
        &mut tx,
        &case,
        "extension",
        format!(
            "extension:{}:{}:{}",
            case.id,
            stage_key(stage),
            prior.count + 1
        ),
        &ctx,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(ActionReport {
        reference: case.reference,
        action: "extended",
        response_due: deadline.due_at,
        letter_queued: queued,
    })
}

/// The outcome of a complaint at a stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Upheld,
    PartlyUpheld,
    NotUpheld,
}

impl Outcome {
    /// Parses `upheld`, `partly-upheld` / `partly_upheld`, `not-upheld` / `not_upheld`.
    pub fn parse(text: &str) -> Option<Outcome> {
        match text.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "upheld" => Some(Outcome::Upheld),
            "partly-upheld" | "partially-upheld" => Some(Outcome::PartlyUpheld),
            "not-upheld" => Some(Outcome::NotUpheld),
            _ => None,
        }
    }

    fn words(self) -> &'static str {
        match self {
            Outcome::Upheld => "upheld",
            Outcome::PartlyUpheld => "partly upheld",
            Outcome::NotUpheld => "not upheld",
        }
    }
}

/// An action promised in a response: what, who owns it, and by when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutstandingAction {
    pub what: String,
    pub owner: String,
    pub due: chrono::NaiveDate,
}

impl OutstandingAction {
    /// Parses `WHAT|OWNER|YYYY-MM-DD`.
    pub fn parse(text: &str) -> Result<OutstandingAction, String> {
        let parts: Vec<&str> = text.split('|').map(str::trim).collect();
        let [what, owner, due] = parts.as_slice() else {
            return Err(format!(
                "`{text}`: write an action as \"WHAT|OWNER|YYYY-MM-DD\""
            ));
        };
        if what.is_empty() || owner.is_empty() {
            return Err(format!(
                "`{text}`: an action needs what is to be done and who owns it"
            ));
        }
        let due = chrono::NaiveDate::parse_from_str(due, "%Y-%m-%d")
            .map_err(|_| format!("`{text}`: `{due}` is not a date (YYYY-MM-DD)"))?;
        Ok(OutstandingAction {
            what: what.to_string(),
            owner: owner.to_string(),
            due,
        })
    }
}

/// What a stage response must say (Code §5.15/§6.19, procedure §4.25/§4.41). The stage comes from
/// the case and how to escalate from the template.
#[derive(Debug, Clone)]
pub struct Response {
    pub outcome: Option<Outcome>,
    pub reasons: String,
    pub remedy: String,
    pub actions: Vec<OutstandingAction>,
    /// The handler states there is nothing outstanding (so an empty list is a decision, not an omission).
    pub no_outstanding_actions: bool,
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

/// Sends the stage response: refuses unless it has every element the Code requires; marks the
/// response deadline met; tracks each outstanding action as a deadline; closes the case after stage 2.
pub async fn respond(
    app: &App,
    reference: &str,
    handler: &str,
    response: &Response,
    now: DateTime<Utc>,
) -> Result<ActionReport, WorkflowError> {
    let outcome = response.check().map_err(WorkflowError::Incomplete)?;
    let case = open_case(app, reference, "respond").await?;
    let stage = stage_of(&case)?;
    let (ack_kind, response_kind) = kinds(stage);
    let mut tx = app.store.begin().await?;
    let due = open_deadline(&mut tx, case.id, response_kind).await?;
    Store::close_deadline(&mut tx, case.id, ack_kind, "met", now).await?;
    Store::close_deadline(&mut tx, case.id, response_kind, "met", now).await?;
    Store::insert_event(&mut tx, case.id, now, "responded", handler, &json!({
        "stage": stage_key(stage), "outcome": outcome, "reasons": response.reasons, "remedy": response.remedy,
        "actions": response.actions, "due_at": due, "on_time": due.map(|d| now <= d),
    }))
    .await?;
    let calendar = &app.rules.calendar;
    for action in &response.actions {
        let deadline = crate::deadlines::Deadline {
            kind: DeadlineKind::OutstandingAction,
            due_at: calendar.close_of_business(action.due),
            rule: format!(
                "promised in the {} response: {} (owner: {})",
                stage_name(stage),
                action.what,
                action.owner
            ),
        };
        Store::insert_deadline(&mut tx, case.id, &deadline, now).await?;
    }
    let final_stage = stage == Stage::Stage2;
    if final_stage {
        sqlx::query("UPDATE cases SET status = 'closed' WHERE id = $1")
            .bind(case.id)
            .execute(&mut *tx)
            .await?;
        Store::insert_event(
            &mut tx,
            case.id,
            now,
            "closed",
            handler,
            &json!({ "reason": "stage 2 response sent: procedure complete" }),
        )
        .await?;
    }
    let mut ctx = letter_base(app, &case, stage, handler);
    ctx.insert("outcome".into(), json!(outcome.words()));
    ctx.insert("reasons".into(), json!(response.reasons));
    ctx.insert("remedy".into(), json!(response.remedy));
    ctx.insert("final_stage".into(), json!(final_stage));
    ctx.insert(
        "actions".into(),
        json!(response.actions.iter().map(|a| json!({
            "what": a.what, "owner": a.owner, "due": app.rules.letter_date(calendar.close_of_business(a.due)),
        })).collect::<Vec<_>>()),
    );
    let queued = queue(
        app,
        &mut tx,
        &case,
        "response",
        format!("response:{}:{}", case.id, stage_key(stage)),
        &ctx,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(ActionReport {
        reference: case.reference,
        action: "responded",
        response_due: due.unwrap_or(now),
        letter_queued: queued,
    })
}

/// Hands a case to another owner, who is told.
pub async fn assign(
    app: &App,
    reference: &str,
    handler: &str,
    address: &str,
    now: DateTime<Utc>,
) -> Result<CaseRow, WorkflowError> {
    let address = crate::config::address_of(address)
        .ok_or(WorkflowError::Empty("ADDRESS (an e-mail address)"))?;
    let case = open_case(app, reference, "assign").await?;
    let mut tx = app.store.begin().await?;
    sqlx::query("UPDATE cases SET owner = $1 WHERE id = $2")
        .bind(&address)
        .bind(case.id)
        .execute(&mut *tx)
        .await?;
    Store::insert_event(
        &mut tx,
        case.id,
        now,
        "assigned",
        handler,
        &json!({ "from": case.owner, "to": address }),
    )
    .await?;
    let details = format!("{handler} assigned this case to you.");
    crate::intake::notify(
        app,
        &mut tx,
        case.id,
        "A case has been assigned to you",
        &details,
        std::slice::from_ref(&address),
        &format!("assigned:{}:{}", address, now.timestamp()),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(case)
}

/// Adds a note to the case's record.
pub async fn note(
    app: &App,
    reference: &str,
    handler: &str,
    text: &str,
    now: DateTime<Utc>,
) -> Result<CaseRow, WorkflowError> {
    if text.trim().is_empty() {
        return Err(WorkflowError::Empty("the note"));
    }
    let case = find_case(app, reference).await?;
    app.store
        .append_event(case.id, now, "note", handler, &json!({ "text": text }))
        .await?;
    Ok(case)
}

/// Closes a case: its open deadlines stop (and with them every reminder).
async fn finish(
    case: &CaseRow,
    status: &str,
    handler: &str,
    detail: serde_json::Value,
    tx: &mut Tx,
    now: DateTime<Utc>,
) -> Result<(), WorkflowError> {
    sqlx::query("UPDATE cases SET status = $1 WHERE id = $2")
        .bind(status)
        .bind(case.id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("UPDATE deadlines SET status = 'closed', closed_at = $1 WHERE case_id = $2 AND status = 'open' AND kind <> 'outstanding_action'")
        .bind(crate::store::ts(now))
        .bind(case.id)
        .execute(&mut **tx)
        .await?;
    Store::insert_event(tx, case.id, now, status, handler, &detail).await?;
    Ok(())
}

/// Closes a case with the reason.
pub async fn close(
    app: &App,
    reference: &str,
    handler: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<CaseRow, WorkflowError> {
    if reason.trim().is_empty() {
        return Err(WorkflowError::Empty("--reason"));
    }
    let case = open_case(app, reference, "close").await?;
    let mut tx = app.store.begin().await?;
    finish(
        &case,
        "closed",
        handler,
        json!({ "reason": reason }),
        &mut tx,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(case)
}

/// Refuses a complaint with a detailed explanation and the right to go to the Ombudsman (procedure §4.4–4.5).
pub async fn refuse(
    app: &App,
    reference: &str,
    handler: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<ActionReport, WorkflowError> {
    if reason.trim().is_empty() {
        return Err(WorkflowError::Empty(
            "--reason (the customer is given a detailed explanation)",
        ));
    }
    let case = open_case(app, reference, "refuse").await?;
    let stage = stage_of(&case).unwrap_or(Stage::Stage1);
    let mut tx = app.store.begin().await?;
    finish(
        &case,
        "refused",
        handler,
        json!({ "reason": reason, "stage": case.stage }),
        &mut tx,
        now,
    )
    .await?;
    let mut ctx = letter_base(app, &case, stage, handler);
    ctx.insert("reason".into(), json!(reason));
    let queued = queue(
        app,
        &mut tx,
        &case,
        "refusal",
        format!("refusal:{}", case.id),
        &ctx,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(ActionReport {
        reference: case.reference,
        action: "refused",
        response_due: now,
        letter_queued: queued,
    })
}

/// Escalates a stage 1 complaint to stage 2 at the customer's request made another way (phone, letter).
pub async fn escalate(
    app: &App,
    reference: &str,
    handler: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<ActionReport, WorkflowError> {
    if reason.trim().is_empty() {
        return Err(WorkflowError::Empty(
            "--reason (why the customer remains dissatisfied)",
        ));
    }
    let case = open_case(app, reference, "escalate").await?;
    if stage_of(&case)? != Stage::Stage1 {
        return Err(WorkflowError::NoStage {
            reference: case.reference,
            kind: "complaint already at stage 2".into(),
        });
    }
    let mut tx = app.store.begin().await?;
    for kind in [
        DeadlineKind::Stage1Acknowledgement,
        DeadlineKind::Stage1Response,
    ] {
        Store::close_deadline(&mut tx, case.id, kind, "superseded", now).await?;
    }
    crate::intake::open_stage2(
        app,
        &mut tx,
        case.id,
        now,
        handler,
        json!({ "reason": reason }),
        None,
        &format!("escalated-by-handler:{}", case.id),
        now,
    )
    .await?;
    tx.commit().await?;
    let due = app
        .store
        .deadlines_of(case.id)
        .await?
        .into_iter()
        .find(|d| d.kind == "stage2_response" && d.status == "open")
        .map(|d| d.due_at)
        .unwrap_or(now);
    Ok(ActionReport {
        reference: case.reference,
        action: "escalated to stage 2",
        response_due: due,
        letter_queued: true,
    })
}

/// Restricts a sender under the unacceptable-behaviour policy until `until`: their mail is still
/// recorded and goes to `contact`, but gets no automatic reply.
pub async fn restrict(
    app: &App,
    address: &str,
    until: chrono::NaiveDate,
    contact: &str,
    reason: &str,
    handler: &str,
    now: DateTime<Utc>,
) -> Result<(), WorkflowError> {
    let address = crate::config::address_of(address).ok_or(WorkflowError::Empty(
        "ADDRESS (the sender's e-mail address)",
    ))?;
    let contact = crate::config::address_of(contact).ok_or(WorkflowError::Empty(
        "--contact (the single point of contact's address)",
    ))?;
    app.store
        .add_restriction(&address, until, &contact, reason, handler, now)
        .await?;
    Ok(())
}

/// Marks an outstanding action (a deadline listed by `cases show`) done; its reminders stop.
pub async fn action_done(
    app: &App,
    reference: &str,
    handler: &str,
    deadline_id: i64,
    now: DateTime<Utc>,
) -> Result<CaseRow, WorkflowError> {
    let case = find_case(app, reference).await?;
    let mut tx = app.store.begin().await?;
    let done = sqlx::query("UPDATE deadlines SET status = 'met', closed_at = $1 WHERE id = $2 AND case_id = $3 AND kind = 'outstanding_action' AND status = 'open' RETURNING rule")
        .bind(crate::store::ts(now))
        .bind(deadline_id)
        .bind(case.id)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(row) = done else {
        return Err(WorkflowError::NoSuchAction {
            reference: case.reference,
            deadline_id,
        });
    };
    let rule: String = row.try_get("rule")?;
    Store::insert_event(
        &mut tx,
        case.id,
        now,
        "action_completed",
        handler,
        &json!({ "deadline_id": deadline_id, "action": rule }),
    )
    .await?;
    tx.commit().await?;
    Ok(case)
}

/// A Housing Ombudsman determination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Finding {
    NoMaladministration,
    ServiceFailure,
    Maladministration,
    SevereMaladministration,
}

impl Finding {
    /// Parses `no-maladministration`, `service-failure`, `maladministration`, `severe-maladministration`.
    pub fn parse(text: &str) -> Option<Finding> {
        match text.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "no-maladministration" => Some(Finding::NoMaladministration),
            "service-failure" => Some(Finding::ServiceFailure),
            "maladministration" => Some(Finding::Maladministration),
            "severe-maladministration" => Some(Finding::SevereMaladministration),
            _ => None,
        }
    }
}

/// What an Ombudsman finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingArea {
    ServiceDelivery,
    ComplaintHandling,
}

impl FindingArea {
    /// Parses `service-delivery` or `complaint-handling`.
    pub fn parse(text: &str) -> Option<FindingArea> {
        match text.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "service-delivery" => Some(FindingArea::ServiceDelivery),
            "complaint-handling" => Some(FindingArea::ComplaintHandling),
            _ => None,
        }
    }
}

/// Records that a case went to the Housing Ombudsman, and each determination when it comes.
pub async fn ombudsman(
    app: &App,
    reference: &str,
    handler: &str,
    finding: Option<(Finding, FindingArea)>,
    notes: &str,
    now: DateTime<Utc>,
) -> Result<CaseRow, WorkflowError> {
    let case = find_case(app, reference).await?;
    let (kind, detail) = match finding {
        Some((finding, area)) => (
            "ombudsman_finding",
            json!({ "finding": finding, "area": area, "notes": notes }),
        ),
        None => ("ombudsman_referral", json!({ "notes": notes })),
    };
    app.store
        .append_event(case.id, now, kind, handler, &detail)
        .await?;
    Ok(case)
}

/// Records who complained: a customer, or a neighbour / the wider community.
pub async fn set_source(
    app: &App,
    reference: &str,
    handler: &str,
    source: &str,
    now: DateTime<Utc>,
) -> Result<CaseRow, WorkflowError> {
    if source != "customer" && source != "community" {
        return Err(WorkflowError::BadSource(source.to_string()));
    }
    let case = find_case(app, reference).await?;
    app.store
        .append_event(
            case.id,
            now,
            "source_set",
            handler,
            &json!({ "source": source }),
        )
        .await?;
    Ok(case)
}
