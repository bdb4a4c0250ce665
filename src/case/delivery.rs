//! What sending does to a case: a letter sent (and, where configured, the automatic receipt
//! counting as the Code's acknowledgement), a letter given up, and a reminder queued.

use chrono::NaiveDate;
use serde_json::{Map, Value};

use serde_json::json;

use super::apply::object;
use super::plan::{IfUnwritten, Outgoing, Plan, Step, Thread};
use crate::app::Rules;
use crate::case::deadlines::{AcknowledgementMode, DeadlineKind};
use crate::case::model::{Event, Stage};
use crate::store::reminders::DueDeadline;
use crate::store::{OutboxRow, Recipient};

/// A letter of the case's was accepted by the mail server.
///
/// Where the automatic receipt is the Code's acknowledgement (6.2, `acknowledgement =
/// "automatic"`), sending it is the acknowledgement: recorded for the published figures.
pub fn letter_sent(case_id: i64, letter: &OutboxRow, mode: AcknowledgementMode) -> Plan {
    let mut plan = Plan::on(case_id);
    plan.record(
        "redress",
        Event::LetterSent {
            letter: letter.kind.clone(),
            message_id: letter.message_id.clone(),
            attempt: letter.attempts,
        },
    );
    if letter.kind == "receipt" && mode == AcknowledgementMode::Automatic {
        plan.record(
            "redress",
            Event::Acknowledged {
                stage: Stage::Stage1,
                understanding: None,
                outcome_sought: None,
                due_at: None,
                on_time: Some(true),
                deadline_met: None,
                automatic: true,
            },
        );
    }
    plan
}

/// A letter of the case's could not be sent and was given up: a person must contact the customer.
pub fn letter_failed(case_id: i64, letter: &OutboxRow, error: &str) -> Plan {
    let mut plan = Plan::on(case_id);
    plan.record(
        "redress",
        Event::LetterFailed {
            letter: letter.kind.clone(),
            error: error.to_string(),
            attempts: letter.attempts,
        },
    )
    .then(Step::Flag(format!(
        "our {} could not be sent: {error}",
        letter.kind
    )));
    plan
}

/// A reminder about deadline `deadline_id` of a case.
pub struct Reminder<'a> {
    pub case_id: i64,
    pub deadline_id: i64,
    pub deadline: DeadlineKind,
    /// `before`, `due_day` or `overdue`.
    pub kind: &'a str,
    pub day: NaiveDate,
    pub to: Vec<String>,
    /// The reminder template's variables.
    pub context: Map<String, Value>,
    /// A letter telling the resident their response is late, when it is.
    pub resident_update: Option<Outgoing>,
}

/// Queues a reminder to each recipient once per deadline, kind and day, and records it.
pub fn reminder(reminder: Reminder<'_>) -> Plan {
    let mut plan = Plan::on(reminder.case_id);
    if let Some(update) = reminder.resident_update {
        plan.then(Step::Letter(update));
    }
    plan.then(Step::Letter(Outgoing {
        template: "reminder",
        kind: format!("reminder_{}", reminder.kind),
        to: reminder.to.clone(),
        context: reminder.context,
        key: format!(
            "reminder:{}:{}:{}:{{to}}",
            reminder.deadline_id, reminder.kind, reminder.day
        ),
        in_reply_to: None,
        references: Vec::new(),
        if_unwritten: IfUnwritten::Refuse,
        record: false,
        by_post: false,
    }))
    .record(
        "redress",
        Event::ReminderQueued {
            deadline: reminder.deadline,
            reminder: reminder.kind.to_string(),
            day: reminder.day,
            to: reminder.to,
        },
    );
    plan
}

/// Keeping residents informed: once a stage response is overdue, the resident is told it is late
/// and that their handler knows (once per deadline).
pub fn late_update(rules: &Rules, deadline: &DueDeadline) -> Option<Outgoing> {
    let stage = match deadline.kind {
        DeadlineKind::Stage1Response => Stage::Stage1,
        DeadlineKind::Stage2Response => Stage::Stage2,
        _ => return None,
    };
    let to = match (&deadline.customer_address, &deadline.postal_address) {
        (Some(email), _) => Recipient::Email(email.clone()),
        (None, Some(postal)) => Recipient::Post(postal.clone()),
        (None, None) => return None,
    };
    let org = &rules.settings.organisation;
    let context = object(json!({
        "customer_name": deadline.customer_name.as_deref().unwrap_or("customer"),
        "organisation_name": org.name,
        "complaints_address": org.complaints_address,
        "ombudsman_contact": org.ombudsman_contact,
        "stage_name": stage.words(),
        "previous_due": rules.letter_date(deadline.due_at),
    }));
    Some(Outgoing::to_customer(
        "late_update",
        to,
        context,
        &format!(":{}", deadline.id),
        Thread::default(),
        IfUnwritten::Refuse,
    ))
}
