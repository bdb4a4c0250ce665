//! What sending does to a case: a letter sent (and, where configured, the automatic receipt
//! counting as the Code's acknowledgement), a letter given up, and a reminder queued.

use chrono::NaiveDate;
use serde_json::{Map, Value};

use super::plan::{IfUnwritten, Outgoing, Plan, Step};
use crate::case::deadlines::{AcknowledgementMode, DeadlineKind};
use crate::case::model::{Event, Stage};
use crate::store::OutboxRow;

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
}

/// Queues a reminder to each recipient once per deadline, kind and day, and records it.
pub fn reminder(reminder: Reminder<'_>) -> Plan {
    let mut plan = Plan::on(reminder.case_id);
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
