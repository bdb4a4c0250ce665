//! What a change to a case must do, as plain data: the case core decides a [`Plan`], and
//! [`super::apply`] writes it in one transaction. Nothing here touches the database.

use serde_json::{Map, Value};

use crate::case::deadlines::{Deadline, DeadlineKind};
use crate::case::model::{CaseKind, CaseStatus, Event, Stage};
use crate::store::deadlines::DeadlineEnd;
use crate::store::{NewCase, Recipient};

/// Which case a plan changes.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// A case on record.
    Existing(i64),
    /// A case to open (its reference is allocated when the plan is applied).
    New(Box<NewCase>),
}

/// The steps to take on one case, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub target: Target,
    pub steps: Vec<Step>,
}

impl Plan {
    /// An empty plan on a case on record.
    pub fn on(case_id: i64) -> Plan {
        Plan {
            target: Target::Existing(case_id),
            steps: Vec::new(),
        }
    }

    /// Adds a step.
    pub fn then(&mut self, step: Step) -> &mut Plan {
        self.steps.push(step);
        self
    }

    /// Records an event by `actor`.
    pub fn record(&mut self, actor: &str, event: Event) -> &mut Plan {
        self.then(Step::Record {
            actor: actor.to_string(),
            event,
        })
    }

    /// The due time of the first deadline of `kind` this plan sets.
    pub fn due(&self, kind: DeadlineKind) -> Option<chrono::DateTime<chrono::Utc>> {
        self.steps.iter().find_map(|step| match step {
            Step::SetDeadline(d) | Step::ReplaceDeadline { deadline: d, .. } if d.kind == kind => {
                Some(d.due_at)
            }
            _ => None,
        })
    }
}

/// One thing to write.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Ties a recorded mail to the case.
    LinkMessage(i64),
    /// Appends an event to the record.
    Record {
        actor: String,
        event: Event,
    },
    SetStage(Stage),
    /// The case is no complaint, so at no stage.
    ClearStage,
    SetKind(CaseKind),
    SetArea(String),
    /// What the complaint is about (the report's themes).
    SetThemes(Vec<String>),
    /// The case's hazard: detected (`possible_emergency`, `possible_significant`) or triaged.
    SetHazard(String),
    SetAdjustments(String),
    SetAuthority(String),
    /// Keeps the case from purge for this reason, or (`None`) lets it be purged in its time.
    SetHold(Option<String>),
    SetStatus(CaseStatus),
    SetOwner(String),
    /// Flags the case for a person, with the reason (recorded as an event).
    Flag(String),
    /// Sets a new deadline and records it.
    SetDeadline(Deadline),
    /// Tracks an action promised in a response (a deadline without an event of its own).
    TrackAction(Deadline),
    /// Supersedes the open deadline of the same kind and records the change.
    ReplaceDeadline {
        deadline: Deadline,
        previous: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// Closes the open deadline of `kind`.
    CloseDeadline {
        kind: DeadlineKind,
        end: DeadlineEnd,
    },
    /// Closes every open deadline but the outstanding actions and Awaab's Law's clocks, which
    /// belong to the promise and the hazard, not the complaint (the case closed).
    CloseCaseDeadlines,
    /// Marks an outstanding action done.
    CompleteAction {
        deadline_id: i64,
    },
    /// A bounce came back for one of our letters.
    MarkUndelivered {
        letter_id: i64,
        reason: String,
    },
    /// A letter (to the customer, or a reminder to staff), recorded as queued.
    Letter(Outgoing),
    /// A notice to staff about the case (its details are read when the plan is applied).
    Notice(Notice),
}

/// What to do when a letter's template cannot be rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfUnwritten {
    /// Flag the case for a person and carry on (mail intake must never fail on a letter).
    Flag,
    /// Refuse the whole change (a handler's action: they are told at once; a reminder: logged).
    Refuse,
}

/// A letter to queue: the template, who to, its variables, and where it threads.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    /// The template's name (`receipt`, `acknowledgement`, `reminder`, ...).
    pub template: &'static str,
    /// The outbox kind (the template's name, or e.g. `reminder_overdue`).
    pub kind: String,
    pub to: Vec<String>,
    /// The template's variables; the case reference is added when the plan is applied.
    pub context: Map<String, Value>,
    /// Dedupe key; `{case}` stands for the case id and `{to}` for each recipient.
    pub key: String,
    pub in_reply_to: Option<String>,
    /// Message-IDs for `References`, oldest first.
    pub references: Vec<String>,
    pub if_unwritten: IfUnwritten,
    /// A letter to the customer: recorded as `letter_queued` and counted as the case's letter
    /// (reminders and notices record their own events).
    pub record: bool,
    /// Printed and posted by a person (the resident has no e-mail); the owner is told to.
    pub by_post: bool,
}

impl Outgoing {
    /// A letter to the customer, threaded to `thread` (their mail's Message-ID and its References).
    pub fn to_customer(
        template: &'static str,
        to: Recipient,
        context: Map<String, Value>,
        key_suffix: &str,
        thread: Thread,
        if_unwritten: IfUnwritten,
    ) -> Outgoing {
        let (to, by_post) = match to {
            Recipient::Email(address) => (address, false),
            Recipient::Post(address) => (address, true),
        };
        Outgoing {
            by_post,
            template,
            kind: template.to_string(),
            to: vec![to],
            context,
            key: format!("{template}:{{case}}{key_suffix}"),
            in_reply_to: thread.in_reply_to,
            references: thread.references,
            if_unwritten,
            record: true,
        }
    }
}

/// Where a letter threads: the mail it answers and the chain before it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Thread {
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
}

/// A notice to staff: rendered with the case's details when applied, sent to each recipient once
/// per `key`.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub headline: String,
    pub details: String,
    pub to: Vec<String>,
    pub key: String,
}
