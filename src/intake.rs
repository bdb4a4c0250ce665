//! Recording one incoming mail: parse → classify → case, events, deadlines and letters, in one
//! transaction.
//!
//! Nothing is lost: the raw bytes are stored first in the same transaction as everything they
//! cause, and a mail that cannot be read still opens a case flagged for a person. Nothing is done
//! twice: a mail with the same Message-ID and content hash as one on record is a duplicate, and
//! the receipt letter is queued under a key unique to its case.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;

use crate::app::App;
use crate::classify::Hazard;
use crate::classify::{Decision, Kind, KnownCase, Robot};
use crate::deadlines::HazardSeverity;
use crate::deadlines::{AcknowledgementMode, DeadlineKind};
use crate::mail::{ParsedMail, content_hash, parse};
use crate::store::{CaseRow, NewCase, NewLetter, NewMessage, Store, StoreError, Tx};

/// Where a mail came from in the mailbox.
#[derive(Debug, Clone)]
pub struct MailSource {
    pub mailbox: String,
    pub uidvalidity: u32,
    pub uid: u32,
    /// The server's INTERNALDATE: the receipt time the Code's clock starts from.
    pub internal_date: Option<DateTime<Utc>>,
}

/// What recording a mail did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum IngestOutcome {
    /// Seen before (same Message-ID and content); nothing new recorded.
    Duplicate { reference: Option<String> },
    /// A new case was opened.
    NewCase {
        reference: String,
        kind: String,
        receipt_queued: bool,
        needs_attention: bool,
    },
    /// Added to an existing case's record.
    AddedToCase { reference: String, kind: String },
    /// Automated mail recorded without a case.
    RecordedWithoutCase { kind: String },
}

impl IngestOutcome {
    /// The case reference, if any, for logs.
    pub fn reference(&self) -> Option<&str> {
        match self {
            IngestOutcome::Duplicate { reference } => reference.as_deref(),
            IngestOutcome::NewCase { reference, .. }
            | IngestOutcome::AddedToCase { reference, .. } => Some(reference),
            IngestOutcome::RecordedWithoutCase { .. } => None,
        }
    }
}

/// The receipt letter's variables.
#[derive(Debug, Serialize)]
struct ReceiptContext<'a> {
    reference: &'a str,
    customer_name: &'a str,
    organisation_name: &'a str,
    complaints_address: &'a str,
    received_date: String,
    acknowledge_by: Option<String>,
    respond_by: String,
    ombudsman_contact: &'a str,
    original_subject: &'a str,
    automatic_acknowledgement: bool,
    service_area: Option<&'a str>,
}

/// The classifier's view of a case: its stage and whether that stage's response was sent.
async fn known_case(
    app: &App,
    case: CaseRow,
    found_by: &str,
) -> Result<(i64, KnownCase), StoreError> {
    let response_sent = match case.stage.as_deref() {
        Some(stage) => {
            let row = sqlx::query("SELECT COUNT(*) AS n FROM events WHERE case_id = $1 AND kind = 'responded' AND detail LIKE $2")
                .bind(case.id)
                .bind(format!("%\"stage\":\"{stage}\"%"))
                .fetch_one(app.store.pool())
                .await?;
            sqlx::Row::try_get::<i64, _>(&row, "n")? > 0
        }
        None => false,
    };
    Ok((
        case.id,
        KnownCase {
            reference: case.reference,
            found_by: found_by.to_string(),
            stage: case.stage,
            response_sent,
        },
    ))
}

/// Finds the case a mail refers to: a reference in the subject first, then any Message-ID of a
/// case's mail in In-Reply-To or References.
pub async fn find_known_case(
    app: &App,
    mail: &ParsedMail,
) -> Result<Option<(i64, KnownCase)>, StoreError> {
    for reference in app.rules.references.find_all(&mail.subject) {
        if let Some(case) = app.store.case_by_reference(&reference).await? {
            return Ok(Some(
                known_case(app, case, "case reference in the subject").await?,
            ));
        }
    }
    let ids: Vec<&str> = mail.referenced_ids().collect();
    if !ids.is_empty()
        && let Some(case) = app.store.find_case_by_message_ids(&ids).await?
    {
        return Ok(Some(
            known_case(
                app,
                case,
                "a Message-ID of the case's mail in In-Reply-To/References",
            )
            .await?,
        ));
    }
    Ok(None)
}

/// How a mail is handled beyond its classification: who sent it and what they may be sent.
#[derive(Debug, Default)]
struct Handling {
    /// The sender is staff (a configured domain).
    staff: bool,
    /// Automatic letters to the sender are allowed.
    automatic_replies: bool,
    /// The single point of contact of a restricted sender.
    point_of_contact: Option<String>,
    /// Why a person must look.
    attention: Vec<String>,
}

async fn handling_for(
    app: &App,
    mail: &ParsedMail,
    decision: &Decision,
    now: DateTime<Utc>,
) -> Result<Handling, StoreError> {
    let mut handling = Handling {
        automatic_replies: true,
        ..Handling::default()
    };
    let Some(sender) = mail.from.as_ref().map(|f| f.address.to_ascii_lowercase()) else {
        return Ok(handling);
    };
    if decision.kind == Kind::Automated {
        return Ok(handling);
    }
    let domain = sender.rsplit('@').next().unwrap_or_default();
    if app
        .rules
        .settings
        .routing
        .staff_domains
        .iter()
        .any(|d| d == domain)
    {
        handling.staff = true;
        handling.automatic_replies = false;
        handling.attention.push(
            "sent by a member of staff: confirm the customer and their contact details".into(),
        );
    }
    if let Some(contact) = app
        .store
        .restriction_for(&sender, app.rules.calendar.local_date(now))
        .await?
    {
        handling.automatic_replies = false;
        handling.attention.push(format!(
            "the sender is restricted under the unacceptable behaviour policy: no automatic reply; {contact} is the single point of contact"
        ));
        handling.point_of_contact = Some(contact);
    }
    Ok(handling)
}

/// Message-IDs of ours quoted anywhere in a raw mail (a bounce quotes the original's headers).
fn our_message_ids_in(raw: &[u8], domain: &str) -> Vec<String> {
    let text = String::from_utf8_lossy(raw);
    let pattern = format!(r"<(redress\.[^<>@\s]+@{})>", regex::escape(domain));
    match regex::Regex::new(&pattern) {
        Ok(re) => {
            let mut ids: Vec<String> = re.captures_iter(&text).map(|c| c[1].to_string()).collect();
            ids.dedup();
            ids
        }
        Err(_) => Vec::new(),
    }
}

/// Records one raw mail. `now` is the clock (`--now` in tests and replays).
pub async fn ingest(
    app: &App,
    raw: &[u8],
    source: Option<&MailSource>,
    now: DateTime<Utc>,
) -> Result<IngestOutcome, StoreError> {
    let mail = parse(raw);
    let sha256 = content_hash(raw);
    let message_id = mail.message_id.clone().unwrap_or_default();
    if let Some((_, case_id)) = app.store.find_message(&message_id, &sha256).await? {
        return Ok(IngestOutcome::Duplicate {
            reference: reference_of(&app.store, case_id).await?,
        });
    }

    let known = find_known_case(app, &mail).await?;
    let decision = app
        .rules
        .classifier
        .classify(&mail, known.as_ref().map(|(_, k)| k));
    let handling = handling_for(app, &mail, &decision, now).await?;
    let received_at = source.and_then(|s| s.internal_date).unwrap_or(now);

    // A bounce of one of our letters is tied to that letter and its case.
    let bounced_letter = if decision.robot == Some(Robot::Bounce) {
        let mut found = None;
        for id in our_message_ids_in(raw, &app.rules.settings.organisation.message_id_domain) {
            if let Some(letter) = app.store.find_letter_by_message_id(&id).await? {
                found = Some(letter);
                break;
            }
        }
        found
    } else {
        None
    };
    let case_id = known
        .as_ref()
        .map(|(id, _)| *id)
        .or_else(|| bounced_letter.as_ref().and_then(|l| l.case_id));

    let reasons = serde_json::to_string(&decision.reasons).unwrap_or_default();
    let mut tx = app.store.begin().await?;
    let new_message = NewMessage {
        raw,
        sha256: &sha256,
        message_id: &message_id,
        mailbox: source.map(|s| s.mailbox.as_str()),
        uidvalidity: source.map(|s| s.uidvalidity),
        uid: source.map(|s| s.uid),
        received_at,
        from_address: mail.from.as_ref().map(|f| f.address.as_str()),
        subject: &mail.subject,
        classification: decision.kind.as_str(),
        reasons: &reasons,
    };
    let Some(message_row) = Store::insert_message(&mut tx, &new_message, now).await? else {
        tx.rollback().await?;
        return Ok(IngestOutcome::Duplicate { reference: None });
    };
    for attachment in &mail.attachments {
        Store::insert_attachment(
            &mut tx,
            message_row,
            attachment.filename.as_deref(),
            &attachment.content_type,
            &attachment.bytes,
        )
        .await?;
    }

    let outcome = match (decision.kind, case_id) {
        (Kind::Automated, Some(case_id)) => {
            Store::link_message(&mut tx, message_row, case_id).await?;
            Store::insert_event(&mut tx, case_id, now, "automated_mail_received", "redress", &json!({
                "message_row": message_row, "robot": decision.robot, "reasons": decision.reasons,
            }))
            .await?;
            if let Some(letter) = &bounced_letter {
                sqlx::query(
                    "UPDATE outbox SET status = 'undelivered', last_error = $1 WHERE id = $2",
                )
                .bind("a bounce came back for this letter")
                .bind(letter.id)
                .execute(&mut *tx)
                .await?;
                Store::insert_event(&mut tx, case_id, now, "letter_undelivered", "redress", &json!({
                    "letter": letter.kind, "message_id": letter.message_id, "to": letter.to_address, "bounce_row": message_row,
                }))
                .await?;
                Store::flag_case(
                    &mut tx,
                    case_id,
                    &format!(
                        "our {} to the customer bounced: contact them another way",
                        letter.kind
                    ),
                    now,
                )
                .await?;
                let owner: Vec<String> = owner_of(&mut tx, case_id).await?.into_iter().collect();
                let details = format!(
                    "Our {} to the customer could not be delivered. Contact them another way.",
                    letter.kind
                );
                notify(
                    app,
                    &mut tx,
                    case_id,
                    "Our letter to the customer bounced",
                    &details,
                    &owner,
                    &format!("bounce:{message_row}"),
                    now,
                )
                .await?;
            }
            IngestOutcome::AddedToCase {
                reference: reference_in_tx(&mut tx, case_id).await?,
                kind: decision.kind.as_str().into(),
            }
        }
        (Kind::Automated, None) => IngestOutcome::RecordedWithoutCase {
            kind: decision.kind.as_str().into(),
        },
        (Kind::Reply | Kind::ReviewRequest, Some(case_id)) if handling.staff => {
            // A handler answering the customer with us in Cc/Bcc: correspondence on the case.
            Store::link_message(&mut tx, message_row, case_id).await?;
            Store::insert_event(
                &mut tx,
                case_id,
                now,
                "staff_correspondence",
                "staff",
                &json!({
                    "message_row": message_row, "from": mail.from.as_ref().map(|f| &f.address),
                    "subject": mail.subject, "to": mail.to, "cc": mail.cc,
                }),
            )
            .await?;
            IngestOutcome::AddedToCase {
                reference: reference_in_tx(&mut tx, case_id).await?,
                kind: "staff_correspondence".into(),
            }
        }
        (Kind::Reply | Kind::ReviewRequest, Some(case_id))
            if decision.kind == Kind::Reply || handling.point_of_contact.is_some() =>
        {
            Store::link_message(&mut tx, message_row, case_id).await?;
            let owner: Vec<String> = match &handling.point_of_contact {
                Some(contact) => vec![contact.clone()],
                None => owner_of(&mut tx, case_id).await?.into_iter().collect(),
            };
            let details = format!(
                "The customer wrote again ({} attachment(s)). Read it with `redress cases show`.",
                mail.attachments.len()
            );
            notify(
                app,
                &mut tx,
                case_id,
                "The customer wrote again",
                &details,
                &owner,
                &format!("reply:{message_row}"),
                now,
            )
            .await?;
            Store::insert_event(&mut tx, case_id, now, "correspondence_received", "customer", &json!({
                "message_row": message_row, "from": mail.from.as_ref().map(|f| &f.address),
                "subject": mail.subject, "attachments": mail.attachments.len(), "reasons": decision.reasons,
            }))
            .await?;
            IngestOutcome::AddedToCase {
                reference: reference_in_tx(&mut tx, case_id).await?,
                kind: decision.kind.as_str().into(),
            }
        }
        (Kind::ReviewRequest, Some(case_id)) => {
            Store::link_message(&mut tx, message_row, case_id).await?;
            escalate(
                app,
                &mut tx,
                case_id,
                &mail,
                &decision,
                message_row,
                received_at,
                now,
            )
            .await?
        }
        _ => {
            open_case(
                app,
                &mut tx,
                &mail,
                &decision,
                &handling,
                message_row,
                received_at,
                now,
            )
            .await?
        }
    };
    tx.commit().await?;
    Ok(outcome)
}

async fn reference_of(store: &Store, case_id: Option<i64>) -> Result<Option<String>, StoreError> {
    let Some(case_id) = case_id else {
        return Ok(None);
    };
    let row = sqlx::query("SELECT reference FROM cases WHERE id = $1")
        .bind(case_id)
        .fetch_optional(store.pool())
        .await?;
    Ok(match row {
        Some(row) => Some(sqlx::Row::try_get(&row, "reference")?),
        None => None,
    })
}

async fn reference_in_tx(tx: &mut crate::store::Tx, case_id: i64) -> Result<String, StoreError> {
    let row = sqlx::query("SELECT reference FROM cases WHERE id = $1")
        .bind(case_id)
        .fetch_one(&mut **tx)
        .await?;
    Ok(sqlx::Row::try_get(&row, "reference")?)
}

/// Renders letter `name` and queues it to `to`, threaded to the customer's mail.
#[allow(clippy::too_many_arguments)]
async fn queue_reply(
    app: &App,
    tx: &mut Tx,
    case_id: i64,
    reference: &str,
    name: &'static str,
    to: &str,
    mail: Option<&ParsedMail>,
    context: &impl Serialize,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let rules = &app.rules;
    match rules.letters.render(name, context) {
        Ok(letter) => {
            let mut references: Vec<String> =
                mail.map(|m| m.references.clone()).unwrap_or_default();
            if let Some(id) = mail.and_then(|m| m.message_id.as_ref()) {
                references.push(id.clone());
            }
            let new_letter = NewLetter {
                case_id: Some(case_id),
                kind: name.into(),
                dedupe_key: format!("{name}:{case_id}"),
                message_id: rules.new_message_id(reference, name),
                to_address: to.to_string(),
                subject: letter.subject,
                body: letter.body,
                in_reply_to: mail.and_then(|m| m.message_id.clone()),
                references: (!references.is_empty()).then(|| {
                    references
                        .iter()
                        .map(|r| format!("<{r}>"))
                        .collect::<Vec<_>>()
                        .join(" ")
                }),
            };
            let queued = Store::queue_letter(tx, &new_letter, now).await?;
            Store::insert_event(
                tx,
                case_id,
                now,
                "letter_queued",
                "redress",
                &json!({
                    "letter": name, "message_id": new_letter.message_id,
                }),
            )
            .await?;
            Ok(queued)
        }
        Err(e) => {
            let reason = format!("the {name} letter could not be written: {e}");
            Store::flag_case(tx, case_id, &reason, now).await?;
            Ok(false)
        }
    }
}

/// Tells staff about a case: renders the notice (customer named, never their address) and queues
/// it to each recipient once per `dedupe`.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn notify(
    app: &App,
    tx: &mut Tx,
    case_id: i64,
    headline: &str,
    details: &str,
    recipients: &[String],
    dedupe: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if recipients.is_empty() {
        return Ok(());
    }
    let rules = &app.rules;
    let case = sqlx::query("SELECT reference, kind, stage, customer_name, subject, service_area FROM cases WHERE id = $1")
        .bind(case_id)
        .fetch_one(&mut **tx)
        .await?;
    let next = sqlx::query("SELECT kind, due_at FROM deadlines WHERE case_id = $1 AND status = 'open' ORDER BY due_at LIMIT 1")
        .bind(case_id)
        .fetch_optional(&mut **tx)
        .await?;
    let next_deadline = match next {
        Some(row) => {
            let kind: String = sqlx::Row::try_get(&row, "kind")?;
            let due: i64 = sqlx::Row::try_get(&row, "due_at")?;
            let what = DeadlineKind::parse(&kind)
                .map(DeadlineKind::describe)
                .unwrap_or("deadline");
            Some(format!(
                "{what} by {}",
                rules.calendar_time(crate::store::from_ts(due))
            ))
        }
        None => None,
    };
    let reference: String = sqlx::Row::try_get(&case, "reference")?;
    let context = json!({
        "reference": reference,
        "kind": sqlx::Row::try_get::<String, _>(&case, "kind")?,
        "stage": sqlx::Row::try_get::<Option<String>, _>(&case, "stage")?,
        "customer_name": sqlx::Row::try_get::<Option<String>, _>(&case, "customer_name")?.unwrap_or_else(|| "(no name given)".into()),
        "subject": sqlx::Row::try_get::<String, _>(&case, "subject")?,
        "service_area": sqlx::Row::try_get::<Option<String>, _>(&case, "service_area")?,
        "next_deadline": next_deadline,
        "headline": headline,
        "details": details,
    });
    let letter = match rules.letters.render("notice", &context) {
        Ok(letter) => letter,
        Err(e) => {
            Store::flag_case(
                tx,
                case_id,
                &format!("a notice to staff could not be written: {e}"),
                now,
            )
            .await?;
            return Ok(());
        }
    };
    for recipient in recipients {
        let message_id = rules.new_message_id(&reference, "notice");
        Store::queue_letter(
            tx,
            &NewLetter {
                case_id: Some(case_id),
                kind: "notice".into(),
                dedupe_key: format!("notice:{dedupe}:{recipient}"),
                message_id,
                to_address: recipient.clone(),
                subject: letter.subject.clone(),
                body: letter.body.clone(),
                in_reply_to: None,
                references: None,
            },
            now,
        )
        .await?;
    }
    Store::insert_event(
        tx,
        case_id,
        now,
        "staff_notified",
        "redress",
        &json!({ "headline": headline, "to": recipients }),
    )
    .await?;
    Ok(())
}

async fn owner_of(tx: &mut Tx, case_id: i64) -> Result<Option<String>, StoreError> {
    let row = sqlx::query("SELECT owner FROM cases WHERE id = $1")
        .bind(case_id)
        .fetch_one(&mut **tx)
        .await?;
    Ok(sqlx::Row::try_get(&row, "owner")?)
}

async fn set_deadlines(
    tx: &mut Tx,
    case_id: i64,
    deadlines: &[crate::deadlines::Deadline],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    for deadline in deadlines {
        Store::insert_deadline(tx, case_id, deadline, now).await?;
        Store::insert_event(
            tx,
            case_id,
            now,
            "deadline_set",
            "redress",
            &json!({
                "kind": deadline.kind, "due_at": deadline.due_at, "rule": deadline.rule,
            }),
        )
        .await?;
    }
    Ok(())
}

/// Opens stage 2 on a case whose stage 1 response the customer asks to have reviewed.
#[allow(clippy::too_many_arguments)]
async fn escalate(
    app: &App,
    tx: &mut Tx,
    case_id: i64,
    mail: &ParsedMail,
    decision: &Decision,
    message_row: i64,
    received_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<IngestOutcome, StoreError> {
    let detail = json!({ "message_row": message_row, "reasons": decision.reasons });
    let reference = open_stage2(
        app,
        tx,
        case_id,
        received_at,
        "customer",
        detail,
        Some(mail),
        &format!("escalated:{message_row}"),
        now,
    )
    .await?;
    Ok(IngestOutcome::AddedToCase {
        reference,
        kind: decision.kind.as_str().into(),
    })
}

/// Moves a case to stage 2 requested at `requested_at`: the manager owns it, stage 2 deadlines
/// are set, the customer gets the stage 2 receipt (threaded to `mail` when the request came by
/// mail) and the manager is told. Returns the case reference.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn open_stage2(
    app: &App,
    tx: &mut Tx,
    case_id: i64,
    requested_at: DateTime<Utc>,
    actor: &str,
    detail: serde_json::Value,
    mail: Option<&ParsedMail>,
    key: &str,
    now: DateTime<Utc>,
) -> Result<String, StoreError> {
    let rules = &app.rules;
    let row =
        sqlx::query("SELECT reference, customer_address, customer_name FROM cases WHERE id = $1")
            .bind(case_id)
            .fetch_one(&mut **tx)
            .await?;
    let reference: String = sqlx::Row::try_get(&row, "reference")?;
    let customer_address: Option<String> = sqlx::Row::try_get(&row, "customer_address")?;
    let customer_name: Option<String> = sqlx::Row::try_get(&row, "customer_name")?;
    let manager = rules.settings.routing.owner_for(None, Some("stage2"));
    sqlx::query("UPDATE cases SET stage = 'stage2', status = 'open', owner = COALESCE($2, owner) WHERE id = $1")
        .bind(case_id)
        .bind(manager.clone())
        .execute(&mut **tx)
        .await?;
    Store::insert_event(tx, case_id, now, "escalated", actor, &json!({
        "from_stage": "stage1", "to_stage": "stage2", "requested_at": requested_at, "detail": detail,
    }))
    .await?;
    let deadlines = rules
        .settings
        .deadlines
        .escalation(&rules.calendar, requested_at);
    set_deadlines(tx, case_id, &deadlines, now).await?;
    let due = |kind: DeadlineKind| {
        deadlines
            .iter()
            .find(|d| d.kind == kind)
            .map(|d| rules.letter_date(d.due_at))
    };
    let org = &rules.settings.organisation;
    let to = mail
        .and_then(|m| m.reply_address())
        .map(|a| a.address.clone())
        .or(customer_address);
    if let Some(to) = to {
        let context = json!({
            "reference": reference,
            "customer_name": customer_name.as_deref().unwrap_or("customer"),
            "organisation_name": org.name,
            "complaints_address": org.complaints_address,
            "acknowledge_by": due(DeadlineKind::Stage2Acknowledgement),
            "respond_by": due(DeadlineKind::Stage2Response).unwrap_or_default(),
            "ombudsman_contact": org.ombudsman_contact,
        });
        queue_reply(
            app,
            tx,
            case_id,
            &reference,
            "stage2_receipt",
            &to,
            mail,
            &context,
            now,
        )
        .await?;
    }
    let recipients: Vec<String> = manager.into_iter().collect();
    let details = format!(
        "A stage 2 review was requested on {}.",
        rules.calendar_time(requested_at)
    );
    notify(
        app,
        tx,
        case_id,
        "Stage 2 review requested: the case is now yours",
        &details,
        &recipients,
        key,
        now,
    )
    .await?;
    Ok(reference)
}

#[allow(clippy::too_many_arguments)]
async fn open_case(
    app: &App,
    tx: &mut Tx,
    mail: &ParsedMail,
    decision: &Decision,
    handling: &Handling,
    message_row: i64,
    received_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<IngestOutcome, StoreError> {
    let rules = &app.rules;
    let org = &rules.settings.organisation;
    let policy = &rules.settings.deadlines;
    let year = received_at
        .with_timezone(&rules.calendar.time_zone())
        .format("%Y")
        .to_string();
    let reference =
        Store::next_reference(tx, &org.reference_prefix, year.parse().unwrap_or(2000)).await?;
    let reply_to = mail.reply_address();

    let mut attention = Vec::new();
    if decision.kind == Kind::Unreadable || !mail.problems.is_empty() {
        attention.push(format!(
            "the mail could not be read properly: {}",
            mail.problems.join("; ")
        ));
    }
    if decision.hazard == Some(Hazard::PossibleEmergency) {
        attention.push("possible Awaab's Law emergency (damp or mould with a sign of danger): look at it today".to_string());
    }
    if decision.representative {
        attention.push(
            "written on someone else's behalf: written authorisation needed (procedure §4.1)"
                .to_string(),
        );
    }
    attention.extend(handling.attention.iter().cloned());
    let attention_reason = (!attention.is_empty()).then(|| attention.join("; "));
    let unreadable = decision.kind == Kind::Unreadable || !mail.problems.is_empty();
    let is_complaint = decision.kind == Kind::Complaint;
    let hazard = decision.hazard.map(|h| match h {
        Hazard::PossibleEmergency => "possible_emergency",
        Hazard::PossibleSignificant => "possible_significant",
    });
    let owner = handling.point_of_contact.clone().or_else(|| {
        rules.settings.routing.owner_for(
            decision.service_area.as_deref(),
            is_complaint.then_some("stage1"),
        )
    });
    let case = NewCase {
        kind: decision.kind.as_str(),
        stage: is_complaint.then_some("stage1"),
        customer_address: reply_to.map(|a| a.address.as_str()),
        customer_name: mail.from.as_ref().and_then(|f| f.name.as_deref()),
        subject: &mail.subject,
        received_at,
        attention_reason: attention_reason.as_deref(),
        service_area: decision.service_area.as_deref(),
        owner: owner.as_deref(),
        themes: &decision.themes,
        hazard,
        representative: decision.representative,
    };
    let case_id = Store::insert_case(tx, &reference, &case, now).await?;
    Store::link_message(tx, message_row, case_id).await?;
    Store::insert_event(tx, case_id, now, "case_opened", "redress", &json!({
        "message_row": message_row, "classification": decision.kind, "reasons": decision.reasons,
        "received_at": received_at, "service_area": decision.service_area, "themes": decision.themes,
        "hazard": hazard, "representative": decision.representative,
    }))
    .await?;
    if let Some(reason) = &attention_reason {
        Store::insert_event(
            tx,
            case_id,
            now,
            "needs_attention",
            "redress",
            &json!({ "reason": reason }),
        )
        .await?;
    }

    let mut deadlines = Vec::new();
    if is_complaint {
        deadlines.extend(policy.new_complaint(&rules.calendar, received_at));
    }
    if decision.kind == Kind::Feedback {
        deadlines.extend(policy.feedback(&rules.calendar, received_at));
    }
    if matches!(
        decision.kind,
        Kind::Complaint | Kind::ServiceRequest | Kind::Feedback
    ) {
        match decision.hazard {
            Some(Hazard::PossibleEmergency) => deadlines.extend(policy.awaab(
                &rules.calendar,
                HazardSeverity::Emergency,
                received_at,
            )),
            Some(Hazard::PossibleSignificant) => deadlines.extend(policy.awaab(
                &rules.calendar,
                HazardSeverity::Significant,
                received_at,
            )),
            None => {}
        }
    }
    set_deadlines(tx, case_id, &deadlines, now).await?;

    let letter = match decision.kind {
        Kind::Complaint => Some("receipt"),
        Kind::Compliment => Some("compliment_thanks"),
        Kind::ServiceRequest => Some("service_request"),
        // Only where the landlord runs the procedure's feedback stage (§4.7–4.8): a note that it
        // was recorded and passed on, and how to make it a complaint.
        Kind::Feedback if policy.feedback_stage => Some("feedback"),
        _ => None,
    };
    let mut receipt_queued = false;
    if let (Some(name), Some(to), false, true) =
        (letter, reply_to, unreadable, handling.automatic_replies)
    {
        let due = |kind: DeadlineKind| {
            deadlines
                .iter()
                .find(|d| d.kind == kind)
                .map(|d| rules.letter_date(d.due_at))
        };
        let context = ReceiptContext {
            reference: &reference,
            customer_name: mail
                .from
                .as_ref()
                .and_then(|f| f.name.as_deref())
                .unwrap_or("customer"),
            organisation_name: &org.name,
            complaints_address: &org.complaints_address,
            received_date: rules.letter_date(received_at),
            acknowledge_by: due(DeadlineKind::Stage1Acknowledgement),
            respond_by: due(DeadlineKind::Stage1Response).unwrap_or_default(),
            ombudsman_contact: &org.ombudsman_contact,
            original_subject: &mail.subject,
            automatic_acknowledgement: policy.acknowledgement == AcknowledgementMode::Automatic,
            service_area: decision.service_area.as_deref(),
        };
        receipt_queued = queue_reply(
            app,
            tx,
            case_id,
            &reference,
            name,
            &to.address,
            Some(mail),
            &context,
            now,
        )
        .await?;
    }
    let headline = match decision.kind {
        Kind::Complaint => "New stage 1 complaint assigned to you",
        Kind::Compliment => "A compliment for your team",
        Kind::ServiceRequest => "A service request for your team",
        Kind::Feedback => "Feedback for your team (no response wanted)",
        _ => "A mail that needs a person",
    };
    let mut details = format!("Received {}.", rules.calendar_time(received_at));
    if let Some(reason) = &attention_reason {
        details.push_str(&format!(" NEEDS ATTENTION: {reason}."));
    }
    if !decision.themes.is_empty() {
        details.push_str(&format!(" Themes: {}.", decision.themes.join(", ")));
    }
    let recipients: Vec<String> = owner.into_iter().collect();
    notify(
        app,
        tx,
        case_id,
        headline,
        &details,
        &recipients,
        &format!("new:{case_id}"),
        now,
    )
    .await?;
    Ok(IngestOutcome::NewCase {
        reference,
        kind: decision.kind.as_str().into(),
        receipt_queued,
        needs_attention: attention_reason.is_some(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_ids_are_found_in_a_bounce() {
        let raw = b"Content-Type: message/rfc822\r\n\r\nMessage-ID: <redress.CMP-2026-000001.receipt.00ff@example.org>\r\nIn-Reply-To: <other@example.net>\r\n";
        assert_eq!(
            our_message_ids_in(raw, "example.org"),
            vec!["redress.CMP-2026-000001.receipt.00ff@example.org"]
        );
        assert!(our_message_ids_in(raw, "example.com").is_empty());
    }
}
