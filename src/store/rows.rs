//! What the store hands back (rows, typed) and what it is given to write.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{StoreError, from_ts};
use crate::case::deadlines::DeadlineKind;
use crate::case::model::{CaseKind, CaseStatus, Event, Stage};

/// A case as listed.
#[derive(Debug, Clone, Serialize)]
pub struct CaseRow {
    pub id: i64,
    pub reference: String,
    pub kind: CaseKind,
    pub stage: Option<Stage>,
    pub status: CaseStatus,
    pub customer_address: Option<String>,
    pub customer_name: Option<String>,
    pub subject: String,
    pub received_at: DateTime<Utc>,
    pub needs_attention: bool,
    pub attention_reason: Option<String>,
    pub service_area: Option<String>,
    pub owner: Option<String>,
    pub themes: Vec<String>,
    pub hazard: Option<String>,
    pub representative: bool,
    /// Reasonable adjustments the resident needs.
    pub adjustments: Option<String>,
    /// The authority held for a representative acting for the resident.
    pub authority: Option<String>,
    /// Where letters are posted to a resident without e-mail.
    pub postal_address: Option<String>,
}

impl CaseRow {
    /// Where the resident's letters go: their e-mail, else their postal address.
    pub fn recipient(&self) -> Option<Recipient> {
        match (&self.customer_address, &self.postal_address) {
            (Some(email), _) => Some(Recipient::Email(email.clone())),
            (None, Some(postal)) => Some(Recipient::Post(postal.clone())),
            (None, None) => None,
        }
    }
}

/// Where a letter to a resident goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    Email(String),
    /// Printed and posted to this address by a person (the resident has no e-mail).
    Post(String),
}

pub(super) const CASE_COLUMNS: &str = "id, reference, kind, stage, status, customer_address, customer_name, subject, received_at, needs_attention, attention_reason, service_area, owner, themes, hazard, representative, adjustments, authority, postal_address";

/// Reads a stored name through `parse`, naming the column when the value is unknown.
pub(super) fn typed<T>(
    column: &'static str,
    value: String,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<T, StoreError> {
    parse(&value).ok_or(StoreError::Unknown { column, value })
}

pub(super) fn case_from_row(row: &AnyRow) -> Result<CaseRow, StoreError> {
    let stage: Option<String> = row.try_get("stage")?;
    Ok(CaseRow {
        id: row.try_get("id")?,
        reference: row.try_get("reference")?,
        kind: typed("cases.kind", row.try_get("kind")?, CaseKind::parse)?,
        stage: stage
            .map(|s| typed("cases.stage", s, Stage::parse))
            .transpose()?,
        status: typed("cases.status", row.try_get("status")?, CaseStatus::parse)?,
        customer_address: row.try_get("customer_address")?,
        customer_name: row.try_get("customer_name")?,
        subject: row.try_get("subject")?,
        received_at: from_ts(row.try_get("received_at")?),
        needs_attention: row.try_get::<i64, _>("needs_attention")? != 0,
        attention_reason: row.try_get("attention_reason")?,
        service_area: row.try_get("service_area")?,
        owner: row.try_get("owner")?,
        themes: serde_json::from_str(&row.try_get::<String, _>("themes")?).unwrap_or_default(),
        hazard: row.try_get("hazard")?,
        representative: row.try_get::<i64, _>("representative")? != 0,
        adjustments: row.try_get("adjustments")?,
        authority: row.try_get("authority")?,
        postal_address: row.try_get("postal_address")?,
    })
}

/// An event in a case's record, as stored (`detail` is the variant's fields).
#[derive(Debug, Clone, Serialize)]
pub struct EventRow {
    pub at: DateTime<Utc>,
    pub kind: String,
    pub actor: String,
    pub detail: serde_json::Value,
    /// When it was really written (differs from `at` in a replay with `--now`).
    pub recorded_at: Option<DateTime<Utc>>,
    /// The account that wrote it.
    pub recorded_by: Option<String>,
}

impl EventRow {
    /// The typed event; `None` for a record this version does not know.
    pub fn event(&self) -> Option<Event> {
        Event::from_parts(&self.kind, &self.detail)
    }
}

pub(super) fn event_from_row(row: &AnyRow) -> Result<EventRow, StoreError> {
    let detail: String = row.try_get("detail")?;
    let recorded_at: Option<i64> = row.try_get("recorded_at")?;
    Ok(EventRow {
        at: from_ts(row.try_get("at")?),
        kind: row.try_get("kind")?,
        actor: row.try_get("actor")?,
        detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::String(detail)),
        recorded_at: recorded_at.map(from_ts),
        recorded_by: row.try_get("recorded_by")?,
    })
}

/// A deadline as stored.
#[derive(Debug, Clone, Serialize)]
pub struct DeadlineRow {
    pub id: i64,
    pub kind: DeadlineKind,
    pub due_at: DateTime<Utc>,
    pub rule: String,
    pub status: String,
}

pub(super) const DEADLINE_COLUMNS: &str = "id, kind, due_at, rule, status";

pub(super) fn deadline_from_row(row: &AnyRow) -> Result<DeadlineRow, StoreError> {
    Ok(DeadlineRow {
        id: row.try_get("id")?,
        kind: typed("deadlines.kind", row.try_get("kind")?, DeadlineKind::parse)?,
        due_at: from_ts(row.try_get("due_at")?),
        rule: row.try_get("rule")?,
        status: row.try_get("status")?,
    })
}

/// A message in or out, without its raw bytes.
#[derive(Debug, Clone, Serialize)]
pub struct MessageRow {
    pub id: i64,
    pub direction: String,
    pub message_id: String,
    pub sha256: String,
    pub received_at: DateTime<Utc>,
    pub from_address: Option<String>,
    pub subject: String,
    pub classification: Option<String>,
    pub size: i64,
    pub attachments: Vec<AttachmentRow>,
}

/// An attachment kept as evidence, without its bytes.
#[derive(Debug, Clone, Serialize)]
pub struct AttachmentRow {
    pub filename: Option<String>,
    pub content_type: String,
    pub sha256: String,
    pub size: i64,
}

/// A size column: `LENGTH()` is 32-bit on PostgreSQL and 64-bit on SQLite.
pub(super) fn size_of(row: &AnyRow) -> Result<i64, sqlx::Error> {
    row.try_get::<i32, _>("size")
        .map(i64::from)
        .or_else(|_| row.try_get("size"))
}

/// A letter waiting in, or sent from, the outbox.
#[derive(Debug, Clone, Serialize)]
pub struct OutboxRow {
    pub id: i64,
    pub case_id: Option<i64>,
    pub kind: String,
    pub message_id: String,
    pub to_address: String,
    pub subject: String,
    pub body: String,
    /// The accessible HTML part, when the letter has one.
    pub html: Option<String>,
    pub in_reply_to: Option<String>,
    pub references: Option<String>,
    pub status: String,
    pub attempts: i64,
}

pub(super) const OUTBOX_COLUMNS: &str = "id, case_id, kind, message_id, to_address, subject, body, html, in_reply_to, refs, status, attempts";

pub(super) fn outbox_from_row(row: &AnyRow) -> Result<OutboxRow, StoreError> {
    Ok(OutboxRow {
        id: row.try_get("id")?,
        case_id: row.try_get("case_id")?,
        kind: row.try_get("kind")?,
        message_id: row.try_get("message_id")?,
        to_address: row.try_get("to_address")?,
        subject: row.try_get("subject")?,
        body: row.try_get("body")?,
        html: row.try_get("html")?,
        in_reply_to: row.try_get("in_reply_to")?,
        references: row.try_get("refs")?,
        status: row.try_get("status")?,
        attempts: row.try_get("attempts")?,
    })
}

/// Everything on record about one case.
#[derive(Debug, Clone, Serialize)]
pub struct CaseDetail {
    #[serde(flatten)]
    pub case: CaseRow,
    pub deadlines: Vec<DeadlineRow>,
    pub events: Vec<EventRow>,
    pub messages: Vec<MessageRow>,
    pub letters: Vec<OutboxRow>,
}

/// One typed event on record, with who did it and when.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub event: Event,
}

/// A case as the case core decides on it: its row, deadlines, typed history and the mail to
/// thread letters to.
#[derive(Debug, Clone)]
pub struct CaseState {
    pub case: CaseRow,
    pub deadlines: Vec<DeadlineRow>,
    /// The record, oldest first (records this version does not know are left out).
    pub history: Vec<Recorded>,
    /// The Message-ID of the customer's first mail on the case.
    pub first_message_id: Option<String>,
}

/// An incoming message to record.
#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    pub raw: &'a [u8],
    /// SHA-256 of the bytes as they came (evidence).
    pub sha256: &'a str,
    /// SHA-256 of the bytes less trace headers (who it is, for duplicates).
    pub identity: &'a str,
    pub message_id: &'a str,
    pub mailbox: Option<&'a str>,
    pub uidvalidity: Option<u32>,
    pub uid: Option<u32>,
    pub received_at: DateTime<Utc>,
    pub from_address: Option<&'a str>,
    pub subject: &'a str,
    pub classification: &'a str,
    pub reasons: &'a str,
}

/// A new case to open.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCase {
    pub kind: CaseKind,
    pub stage: Option<Stage>,
    pub customer_address: Option<String>,
    pub customer_name: Option<String>,
    pub subject: String,
    pub received_at: DateTime<Utc>,
    pub attention_reason: Option<String>,
    pub service_area: Option<String>,
    pub owner: Option<String>,
    pub themes: Vec<String>,
    pub hazard: Option<String>,
    pub representative: bool,
    pub postal_address: Option<String>,
}

/// A letter to queue.
#[derive(Debug, Clone)]
pub struct NewLetter {
    /// Printed and posted by a person (`to_post`) instead of sent by SMTP.
    pub by_post: bool,
    pub case_id: Option<i64>,
    pub kind: String,
    pub dedupe_key: String,
    pub message_id: String,
    pub to_address: String,
    pub subject: String,
    pub body: String,
    /// The accessible HTML part, or `None` for plain text only.
    pub html: Option<String>,
    pub in_reply_to: Option<String>,
    pub references: Option<String>,
}

impl CaseState {
    /// What happened to the case, oldest first.
    pub fn events(&self) -> impl DoubleEndedIterator<Item = &Event> {
        self.history.iter().map(|r| &r.event)
    }
}
