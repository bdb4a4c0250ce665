//! Recording one incoming mail: parse → classify → case, events, deadlines and letters, in one
//! transaction.
//!
//! Nothing is lost: the raw bytes are stored first in the same transaction as everything they
//! cause, and a mail that cannot be read still opens a case flagged for a person. Nothing is done
//! twice: a mail with the same Message-ID and content hash as one on record is a duplicate, and
//! the receipt letter is queued under a key unique to its case.

pub mod areas;
pub mod classify;
pub mod learned;
pub mod mail;
pub mod mailbox;
pub mod progress;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::app::App;
use crate::case::CaseError;
use crate::case::apply::apply;
use crate::case::from_mail::{self, Arrival, Handling, MailPlan, TooLarge};
use crate::case::model::Event;
use crate::case::plan::Target;
use crate::intake::classify::{Decision, Kind, KnownCase, Robot};
use crate::intake::mail::{ParsedMail, content_hash, identity_hash, parse, stand_in};
use crate::store::{CaseRow, CaseState, NewMessage, OutboxRow, StoreError, Tx};

/// Where a mail came from in the mailbox.
#[derive(Debug, Clone)]
pub struct MailSource {
    pub mailbox: String,
    pub uidvalidity: u32,
    pub uid: u32,
    /// The server's INTERNALDATE: the receipt time the Code's clock starts from.
    pub internal_date: Option<DateTime<Utc>>,
}

impl MailSource {
    /// Where `mail`, fetched from `mailbox` under `uidvalidity`, came from.
    pub fn of(mailbox: &str, uidvalidity: u32, mail: &mailbox::FetchedMail) -> MailSource {
        MailSource {
            mailbox: mailbox.to_string(),
            uidvalidity,
            uid: mail.uid,
            internal_date: mail.internal_date,
        }
    }
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

/// The classifier's view of a case: its stage and whether that stage's response was sent.
fn known_case(state: &CaseState, found_by: &str) -> KnownCase {
    let stage = state.case.stage;
    KnownCase {
        reference: state.case.reference.clone(),
        found_by: found_by.to_string(),
        stage: stage.map(|s| s.as_str().to_string()),
        response_sent: state
            .events()
            .any(|e| matches!(e, Event::Responded { stage: s, .. } if Some(*s) == stage)),
    }
}

/// Finds the case a mail refers to: a reference in the subject first, then any Message-ID of a
/// case's mail in In-Reply-To or References.
pub async fn find_known_case(
    app: &App,
    mail: &ParsedMail,
) -> Result<Option<(CaseState, KnownCase)>, StoreError> {
    let mut found: Option<(CaseRow, &str)> = None;
    for reference in app.rules.references.find_all(&mail.subject) {
        if let Some(case) = app.store.case_by_reference(&reference).await? {
            found = Some((case, "case reference in the subject"));
            break;
        }
    }
    let ids: Vec<&str> = mail.referenced_ids().collect();
    if found.is_none()
        && !ids.is_empty()
        && let Some(case) = app.store.find_case_by_message_ids(&ids).await?
    {
        found = Some((
            case,
            "a Message-ID of the case's mail in In-Reply-To/References",
        ));
    }
    match found {
        Some((case, found_by)) => {
            let state = app.store.case_state(case.id).await?;
            let known = known_case(&state, found_by);
            Ok(Some((state, known)))
        }
        None => Ok(None),
    }
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
    let routing = &app.rules.settings.routing;
    if routing.staff_domains.iter().any(|d| d == domain) {
        handling.staff = true;
        handling.automatic_replies = false;
        handling.attention.push(
            "sent by a member of staff: confirm the customer and their contact details".into(),
        );
    }
    let today = app.rules.calendar.local_date(now);
    let since = now - chrono::Duration::hours(24);
    if handling.automatic_replies
        && app.store.letters_to_since(&sender, since).await? >= AUTOMATIC_LETTERS_A_DAY
    {
        handling.automatic_replies = false;
        handling.attention.push(format!(
            "{AUTOMATIC_LETTERS_A_DAY} automatic letters went to this sender in the last 24 hours: no more are sent (an unknown robot may be looping with us); answer by hand if it is a person"
        ));
    }
    if let Some(contact) = app.store.restriction_for(&sender, today).await? {
        handling.automatic_replies = false;
        handling.attention.push(format!(
            "the sender is restricted under the unacceptable behaviour policy: no automatic reply; {contact} is the single point of contact"
        ));
        handling.point_of_contact = Some(contact);
    }
    Ok(handling)
}

/// At most this many automatic letters go to one address in 24 hours: a robot nobody has
/// listed cannot loop with us; the rest are recorded and the owner told.
pub const AUTOMATIC_LETTERS_A_DAY: i64 = 3;

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

/// The letter of ours a bounce returns, if it quotes one.
async fn bounced_letter(
    app: &App,
    raw: &[u8],
    decision: &Decision,
) -> Result<Option<OutboxRow>, StoreError> {
    if decision.robot != Some(Robot::Bounce) {
        return Ok(None);
    }
    for id in our_message_ids_in(raw, &app.rules.settings.organisation.message_id_domain) {
        if let Some(letter) = app.store.find_letter_by_message_id(&id).await? {
            return Ok(Some(letter));
        }
    }
    Ok(None)
}

/// Records one raw mail. `now` is the clock (`--now` in tests and replays).
pub async fn ingest(
    app: &App,
    raw: &[u8],
    source: Option<&MailSource>,
    now: DateTime<Utc>,
) -> Result<IngestOutcome, CaseError> {
    record(app, raw, source, now, None).await
}

/// Records a mail too large to take whole by its `header` and a note saying what happened to
/// it; a person is asked to look and the sender told (see [`from_mail`]).
pub async fn ingest_too_large(
    app: &App,
    header: &[u8],
    too_large: TooLarge,
    source: Option<&MailSource>,
    now: DateTime<Utc>,
) -> Result<IngestOutcome, CaseError> {
    let note = format!(
        "[redress: {}. Read it there and record what it says by hand.]",
        too_large.reason()
    );
    let raw = stand_in(header, &note);
    record(app, &raw, source, now, Some(too_large)).await
}

async fn record(
    app: &App,
    raw: &[u8],
    source: Option<&MailSource>,
    now: DateTime<Utc>,
    too_large: Option<TooLarge>,
) -> Result<IngestOutcome, CaseError> {
    let mail = parse(raw);
    let sha256 = content_hash(raw);
    let identity = identity_hash(raw);
    let message_id = mail.message_id.clone().unwrap_or_default();
    let seen = app
        .store
        .find_message(&message_id, &sha256, &identity)
        .await?;
    if let Some((_, case_id)) = seen {
        let reference = match case_id {
            Some(id) => app.store.reference_of(id).await?,
            None => None,
        };
        return Ok(IngestOutcome::Duplicate { reference });
    }
    let known = find_known_case(app, &mail).await?;
    let decision = app
        .rules
        .classifier
        .classify(&mail, known.as_ref().map(|(_, k)| k));
    let mut handling = handling_for(app, &mail, &decision, now).await?;
    if let Some(too_large) = too_large {
        handling.attention.push(too_large.reason());
        handling.too_large = Some(too_large);
    }
    let bounced = bounced_letter(app, raw, &decision).await?;
    let mut state = known.map(|(state, _)| state);
    if state.is_none()
        && let Some(case_id) = bounced.as_ref().and_then(|l| l.case_id)
    {
        state = Some(app.store.case_state(case_id).await?);
    }
    let received_at = source.and_then(|s| s.internal_date).unwrap_or(now);
    let mut tx = app.store.begin().await?;
    let recorded = Recorded {
        raw,
        mail: &mail,
        sha256: &sha256,
        identity: &identity,
        message_id: &message_id,
        decision: &decision,
        source,
        received_at,
    };
    let Some(message_row) = recorded.insert(&mut tx, now).await? else {
        tx.rollback().await?;
        return Ok(IngestOutcome::Duplicate { reference: None });
    };
    let arrival = Arrival {
        mail: &mail,
        decision: &decision,
        handling: &handling,
        known: state.as_ref(),
        bounced: bounced.as_ref(),
        message_row,
        received_at,
    };
    let outcome = apply_arrival(&mut tx, app, &arrival, now).await?;
    tx.commit().await?;
    Ok(outcome)
}

/// A mail as it is kept: the raw bytes exactly as they came, and what was made of them.
struct Recorded<'a> {
    raw: &'a [u8],
    mail: &'a ParsedMail,
    sha256: &'a str,
    identity: &'a str,
    message_id: &'a str,
    decision: &'a Decision,
    source: Option<&'a MailSource>,
    received_at: DateTime<Utc>,
}

impl Recorded<'_> {
    /// Stores the mail and its attachments; `None` when it is already on record.
    async fn insert(&self, tx: &mut Tx, now: DateTime<Utc>) -> Result<Option<i64>, StoreError> {
        let reasons = serde_json::to_string(&self.decision.reasons).unwrap_or_default();
        let new_message = NewMessage {
            raw: self.raw,
            sha256: self.sha256,
            identity: self.identity,
            message_id: self.message_id,
            mailbox: self.source.map(|s| s.mailbox.as_str()),
            uidvalidity: self.source.map(|s| s.uidvalidity),
            uid: self.source.map(|s| s.uid),
            received_at: self.received_at,
            from_address: self.mail.from.as_ref().map(|f| f.address.as_str()),
            subject: &self.mail.subject,
            classification: self.decision.kind.as_str(),
            reasons: &reasons,
        };
        let Some(row) = tx.insert_message(&new_message, now).await? else {
            return Ok(None);
        };
        for attachment in &self.mail.attachments {
            let name = attachment.filename.as_deref();
            tx.insert_attachment(row, name, &attachment.content_type, &attachment.bytes)
                .await?;
        }
        Ok(Some(row))
    }
}

/// Lets the case core decide what the mail does, and applies it.
async fn apply_arrival(
    tx: &mut Tx,
    app: &App,
    arrival: &Arrival<'_>,
    now: DateTime<Utc>,
) -> Result<IngestOutcome, CaseError> {
    let (plan, kind) = match from_mail::plan(&app.rules, arrival) {
        MailPlan::NoCase => {
            let kind = arrival.decision.kind.as_str().into();
            return Ok(IngestOutcome::RecordedWithoutCase { kind });
        }
        MailPlan::Case { plan, kind } => (plan, kind.to_string()),
    };
    let applied = apply(tx, &app.rules, &plan, now).await?;
    Ok(match plan.target {
        Target::New(case) => IngestOutcome::NewCase {
            reference: applied.reference,
            kind,
            receipt_queued: applied.letters_queued > 0,
            needs_attention: case.attention_reason.is_some(),
        },
        Target::Existing(_) => IngestOutcome::AddedToCase {
            reference: applied.reference,
            kind,
        },
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
