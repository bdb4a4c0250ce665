//! Writes a [`Plan`] in the caller's transaction: the one place a case changes and the one place
//! a letter is queued.

use chrono::{DateTime, Datelike, Utc};
use serde_json::{Value, json};

use super::CaseError;
use super::plan::{IfUnwritten, Notice, Outgoing, Plan, Step, Target};
use crate::app::Rules;
use crate::case::letters::LetterFormat;
use crate::case::model::Event;
use crate::store::deadlines::DeadlineEnd;
use crate::store::{NewLetter, StoreError, Tx};

/// What applying a plan did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub case_id: i64,
    pub reference: String,
    /// Letters to the customer newly queued (one already queued under the same key, and notices
    /// and reminders to staff, are not counted).
    pub letters_queued: usize,
}

/// Why a letter was not queued.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("letter {name} could not be written: {message}")]
    Unwritten { name: &'static str, message: String },
}

/// Writes every step of `plan`, in order, in `tx`.
pub async fn apply(
    tx: &mut Tx,
    rules: &Rules,
    plan: &Plan,
    now: DateTime<Utc>,
) -> Result<Applied, CaseError> {
    let (case_id, reference) = match &plan.target {
        Target::Existing(id) => (*id, tx.case_by_id(*id).await?.reference),
        Target::New(case) => {
            let year = case
                .received_at
                .with_timezone(&rules.calendar.time_zone())
                .year();
            let prefix = &rules.settings.organisation.reference_prefix;
            let reference = tx.next_reference(prefix, year).await?;
            (tx.insert_case(&reference, case, now).await?, reference)
        }
    };
    let mut applied = Applied {
        case_id,
        reference,
        letters_queued: 0,
    };
    for step in &plan.steps {
        apply_step(tx, rules, &mut applied, step, now).await?;
    }
    Ok(applied)
}

async fn apply_step(
    tx: &mut Tx,
    rules: &Rules,
    applied: &mut Applied,
    step: &Step,
    now: DateTime<Utc>,
) -> Result<(), CaseError> {
    let id = applied.case_id;
    match step {
        Step::LinkMessage(row) => tx.link_message(*row, id).await?,
        Step::Record { actor, event } => tx.insert_event(id, now, actor, event).await?,
        Step::SetStage(stage) => tx.set_stage(id, Some(*stage)).await?,
        Step::ClearStage => tx.set_stage(id, None).await?,
        Step::SetKind(kind) => tx.set_kind(id, *kind).await?,
        Step::SetArea(area) => tx.set_service_area(id, area).await?,
        Step::SetThemes(themes) => tx.set_themes(id, themes).await?,
        Step::SetHazard(hazard) => tx.set_hazard(id, hazard).await?,
        Step::SetAdjustments(needs) => tx.set_adjustments(id, needs).await?,
        Step::SetAuthority(authority) => tx.set_authority(id, authority).await?,
        Step::SetHold(reason) => tx.set_hold(id, reason.as_deref()).await?,
        Step::SetStatus(status) => tx.set_status(id, *status).await?,
        Step::SetOwner(owner) => tx.set_owner(id, owner).await?,
        Step::Flag(reason) => tx.flag_case(id, reason, now).await?,
        Step::SetDeadline(deadline) => {
            tx.insert_deadline(id, deadline, now).await?;
            let event = Event::DeadlineSet {
                kind: deadline.kind,
                due_at: deadline.due_at,
                rule: deadline.rule.clone(),
            };
            tx.insert_event(id, now, "redress", &event).await?;
        }
        Step::TrackAction(deadline) => tx.insert_deadline(id, deadline, now).await?,
        Step::ReplaceDeadline { deadline, previous } => {
            tx.close_deadline(id, deadline.kind, DeadlineEnd::Superseded, now)
                .await?;
            tx.insert_deadline(id, deadline, now).await?;
            let event = Event::DeadlineRecomputed {
                kind: deadline.kind,
                previous_due_at: *previous,
                due_at: deadline.due_at,
                rule: deadline.rule.clone(),
            };
            tx.insert_event(id, now, "redress", &event).await?;
        }
        Step::CloseDeadline { kind, end } => {
            tx.close_deadline(id, *kind, *end, now).await?;
        }
        Step::CloseCaseDeadlines => tx.close_case_deadlines(id, now).await?,
        Step::CompleteAction { deadline_id } => {
            tx.complete_action(id, *deadline_id, now).await?;
        }
        Step::MarkUndelivered { letter_id, reason } => {
            tx.mark_letter_undelivered(*letter_id, reason).await?;
        }
        Step::Letter(letter) => letter_step(tx, rules, applied, letter, now).await?,
        Step::Notice(notice) => notice_step(tx, rules, applied, notice, now).await?,
    }
    Ok(())
}

async fn letter_step(
    tx: &mut Tx,
    rules: &Rules,
    applied: &mut Applied,
    letter: &Outgoing,
    now: DateTime<Utc>,
) -> Result<(), CaseError> {
    let case = Some((applied.case_id, applied.reference.as_str()));
    match queue(tx, rules, case, letter, now).await {
        Ok(queued) => {
            // Recorded only when newly queued: a letter already queued under its key is not new.
            let new = queued.into_iter().filter(|(_, newly)| *newly);
            for (message_id, _) in new.filter(|_| letter.record) {
                applied.letters_queued += 1;
                let event = Event::LetterQueued {
                    letter: letter.template.to_string(),
                    message_id,
                };
                tx.insert_event(applied.case_id, now, "redress", &event)
                    .await?;
                if letter.by_post {
                    Box::pin(post_reminder(tx, rules, applied, letter.template, now)).await?;
                }
            }
            Ok(())
        }
        Err(QueueError::Store(e)) => Err(e.into()),
        Err(QueueError::Unwritten { name, message }) => match letter.if_unwritten {
            IfUnwritten::Refuse => Err(CaseError::Letter { name, message }),
            IfUnwritten::Flag => {
                let reason = format!("the {name} letter could not be written: {message}");
                Ok(tx.flag_case(applied.case_id, &reason, now).await?)
            }
        },
    }
}

/// A letter to post: its owner is told to print and post it.
async fn post_reminder(
    tx: &mut Tx,
    rules: &Rules,
    applied: &mut Applied,
    template: &str,
    now: DateTime<Utc>,
) -> Result<(), CaseError> {
    let owner = tx.case_by_id(applied.case_id).await?.owner;
    let notice = Notice {
        headline: "A letter to post to the resident".into(),
        details: format!(
            "The resident has no e-mail address: our {template} letter must be printed and posted. \
             Print it with `redress letters to-post --out DIR`, post it, then record it with \
             `redress letters posted ID`."
        ),
        to: owner.into_iter().collect(),
        key: format!("post:{{case}}:{template}:{}", now.timestamp()),
    };
    notice_step(tx, rules, applied, &notice, now).await
}

/// A notice names the customer but never carries their address.
async fn notice_step(
    tx: &mut Tx,
    rules: &Rules,
    applied: &mut Applied,
    notice: &Notice,
    now: DateTime<Utc>,
) -> Result<(), CaseError> {
    if notice.to.is_empty() {
        return Ok(());
    }
    let case = tx.case_by_id(applied.case_id).await?;
    let next_deadline = tx
        .next_open_deadline(case.id)
        .await?
        .map(|d| format!("{} by {}", d.kind.describe(), rules.calendar_time(d.due_at)));
    let context = json!({
        "kind": case.kind,
        "stage": case.stage,
        "customer_name": case.customer_name.as_deref().unwrap_or("(no name given)"),
        "subject": case.subject,
        "service_area": case.service_area,
        "adjustments": case.adjustments,
        "representative": case.representative,
        "authority": case.authority,
        "next_deadline": next_deadline,
        "headline": notice.headline,
        "details": notice.details,
    });
    let letter = Outgoing {
        template: "notice",
        kind: "notice".into(),
        to: notice.to.clone(),
        context: object(context),
        key: format!("notice:{}:{{to}}", notice.key),
        in_reply_to: None,
        references: Vec::new(),
        if_unwritten: IfUnwritten::Flag,
        record: false,
        by_post: false,
    };
    letter_step(tx, rules, applied, &letter, now).await?;
    let event = Event::StaffNotified {
        headline: notice.headline.clone(),
        to: notice.to.clone(),
    };
    Ok(tx
        .insert_event(applied.case_id, now, "redress", &event)
        .await?)
}

/// A JSON object's map (empty for anything else).
pub fn object(value: Value) -> serde_json::Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}

/// With the web app on, a resident's letter carries the private link to their case's page
/// (`case_link`, issued with the first letter) and a notice to staff the case's page (`case_url`).
async fn links(
    tx: &mut Tx,
    rules: &Rules,
    (case_id, reference): (i64, &str),
    to_resident: bool,
    context: &mut serde_json::Map<String, Value>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let Some(web) = &rules.settings.web else {
        // Templates are strict: the links are there, empty, when the web app is off.
        context.insert("case_link".into(), Value::Null);
        context.insert("case_url".into(), Value::Null);
        return Ok(());
    };
    let (link, url) = if to_resident {
        let token = tx
            .resident_link(case_id, crate::accounts::new_token, now)
            .await?;
        (json!(format!("{}/r/{token}", web.public_url)), Value::Null)
    } else {
        let url = format!("{}/cases/{reference}", web.public_url);
        (Value::Null, json!(url))
    };
    context.insert("case_link".into(), link);
    context.insert("case_url".into(), url);
    Ok(())
}

/// The letter's accessible HTML part, drawn in the templates' layout; `None` for a resident who
/// asked for plain text only. A resident who needs large print gets it.
async fn html_part(
    tx: &mut Tx,
    rules: &Rules,
    case: Option<(i64, &str)>,
    letter: &Outgoing,
    rendered: &crate::case::letters::Letter,
    context: &serde_json::Map<String, Value>,
) -> Result<Option<String>, QueueError> {
    let format = match case {
        Some((case_id, _)) if letter.record => {
            LetterFormat::for_needs(tx.case_by_id(case_id).await?.adjustments.as_deref())
        }
        _ => LetterFormat::default(),
    };
    if format.plain_text_only {
        return Ok(None);
    }
    let org = &rules.settings.organisation;
    let mut context = context.clone();
    context.insert("organisation_name".into(), json!(org.name));
    context.insert("logo_url".into(), json!(org.logo_url));
    context.insert("large_print".into(), json!(format.large_print));
    rules
        .letters
        .render_html(rendered, &context)
        .map(Some)
        .map_err(|e| QueueError::Unwritten {
            name: letter.template,
            message: e.to_string(),
        })
}

/// Renders `letter` and queues it to each recipient: the only place a letter enters the outbox.
/// `case` is the case's id and reference, or `None` for a letter about no one case (a digest).
/// Returns each recipient's Message-ID and whether it was newly queued.
pub async fn queue(
    tx: &mut Tx,
    rules: &Rules,
    case: Option<(i64, &str)>,
    letter: &Outgoing,
    now: DateTime<Utc>,
) -> Result<Vec<(String, bool)>, QueueError> {
    let mut context = letter.context.clone();
    if let Some((case_id, reference)) = case {
        context.insert("reference".into(), json!(reference));
        links(
            tx,
            rules,
            (case_id, reference),
            letter.record,
            &mut context,
            now,
        )
        .await?;
    }
    let rendered = rules
        .letters
        .render(letter.template, &context)
        .map_err(|e| QueueError::Unwritten {
            name: letter.template,
            message: e.to_string(),
        })?;
    let html = html_part(tx, rules, case, letter, &rendered, &context).await?;
    let references = (!letter.references.is_empty()).then(|| {
        letter
            .references
            .iter()
            .map(|r| format!("<{r}>"))
            .collect::<Vec<_>>()
            .join(" ")
    });
    let case_key = case.map(|(id, _)| id.to_string()).unwrap_or_default();
    let mut queued = Vec::with_capacity(letter.to.len());
    for to in &letter.to {
        let message_id =
            rules.new_message_id(case.map_or(letter.template, |(_, r)| r), letter.template);
        let new_letter = NewLetter {
            by_post: letter.by_post,
            case_id: case.map(|(id, _)| id),
            kind: letter.kind.clone(),
            dedupe_key: letter.key.replace("{case}", &case_key).replace("{to}", to),
            message_id: message_id.clone(),
            to_address: to.clone(),
            subject: rendered.subject.clone(),
            body: rendered.body.clone(),
            html: html.clone(),
            in_reply_to: letter.in_reply_to.clone(),
            references: references.clone(),
        };
        queued.push((message_id, tx.queue_letter(&new_letter, now).await?));
    }
    Ok(queued)
}
