//! The typed record of a case: its kind, stage and status, and every event that can happen to
//! it. Events are stored as their `kind` plus the variant's fields as JSON (`detail`); the shapes
//! here are the shapes on record, so older rows read back as the same variants.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::case::deadlines::DeadlineKind;

/// A complaint stage (Code section 6: stage 1, then a stage 2 review).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Stage1,
    Stage2,
}

impl Stage {
    /// The stored name: `stage1`, `stage2`.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Stage1 => "stage1",
            Stage::Stage2 => "stage2",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Option<Stage> {
        [Stage::Stage1, Stage::Stage2]
            .into_iter()
            .find(|s| s.as_str() == name)
    }

    /// In words for letters: "stage 1".
    pub fn words(self) -> &'static str {
        match self {
            Stage::Stage1 => "stage 1",
            Stage::Stage2 => "stage 2",
        }
    }

    /// The stage's acknowledgement and response deadlines.
    pub fn deadline_kinds(self) -> (DeadlineKind, DeadlineKind) {
        match self {
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
}

/// Compares a typed value with its stored name (`case.kind == "complaint"`).
macro_rules! stored_name_eq {
    ($($t:ty),*) => {$(
        impl PartialEq<&str> for $t {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.pad(self.as_str())
            }
        }
    )*};
}
stored_name_eq!(Stage, CaseKind, CaseStatus, DeadlineKind);

/// What a case is (the classification of the mail that opened it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseKind {
    Complaint,
    Compliment,
    ServiceRequest,
    Feedback,
    /// A reply or review request that matched no case on record.
    Reply,
    ReviewRequest,
    Unreadable,
    Automated,
}

impl CaseKind {
    /// Every kind, for parsing.
    const ALL: [CaseKind; 8] = [
        CaseKind::Complaint,
        CaseKind::Compliment,
        CaseKind::ServiceRequest,
        CaseKind::Feedback,
        CaseKind::Reply,
        CaseKind::ReviewRequest,
        CaseKind::Unreadable,
        CaseKind::Automated,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            CaseKind::Complaint => "complaint",
            CaseKind::Compliment => "compliment",
            CaseKind::ServiceRequest => "service_request",
            CaseKind::Feedback => "feedback",
            CaseKind::Reply => "reply",
            CaseKind::ReviewRequest => "review_request",
            CaseKind::Unreadable => "unreadable",
            CaseKind::Automated => "automated",
        }
    }

    /// As people read it: "service request".
    pub fn describe(self) -> &'static str {
        match self {
            CaseKind::ServiceRequest => "service request",
            CaseKind::ReviewRequest => "review request",
            CaseKind::Automated => "automated mail",
            other => other.as_str(),
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Option<CaseKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// Where a case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    Open,
    Closed,
    Refused,
}

impl CaseStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            CaseStatus::Open => "open",
            CaseStatus::Closed => "closed",
            CaseStatus::Refused => "refused",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Option<CaseStatus> {
        [CaseStatus::Open, CaseStatus::Closed, CaseStatus::Refused]
            .into_iter()
            .find(|s| s.as_str() == name)
    }
}

/// The outcome of a complaint at a stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

    /// In words for letters.
    pub fn words(self) -> &'static str {
        match self {
            Outcome::Upheld => "upheld",
            Outcome::PartlyUpheld => "partly upheld",
            Outcome::NotUpheld => "not upheld",
        }
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Upheld => "upheld",
            Outcome::PartlyUpheld => "partly_upheld",
            Outcome::NotUpheld => "not_upheld",
        }
    }
}

/// An action promised in a response: what, who owns it, and by when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutstandingAction {
    pub what: String,
    pub owner: String,
    pub due: NaiveDate,
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
        let due = NaiveDate::parse_from_str(due, "%Y-%m-%d")
            .map_err(|_| format!("`{text}`: `{due}` is not a date (YYYY-MM-DD)"))?;
        Ok(OutstandingAction {
            what: what.to_string(),
            owner: owner.to_string(),
            due,
        })
    }
}

/// A Housing Ombudsman determination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Finding::NoMaladministration => "no_maladministration",
            Finding::ServiceFailure => "service_failure",
            Finding::Maladministration => "maladministration",
            Finding::SevereMaladministration => "severe_maladministration",
        }
    }
}

/// What an Ombudsman finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingArea {
    ServiceDelivery,
    ComplaintHandling,
    /// The whole case (a "no maladministration" determination need not name an area).
    WholeCase,
}

impl FindingArea {
    /// Parses `service-delivery`, `complaint-handling` or `whole-case`.
    pub fn parse(text: &str) -> Option<FindingArea> {
        match text.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "service-delivery" => Some(FindingArea::ServiceDelivery),
            "complaint-handling" => Some(FindingArea::ComplaintHandling),
            "whole-case" => Some(FindingArea::WholeCase),
            _ => None,
        }
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingArea::ServiceDelivery => "service_delivery",
            FindingArea::ComplaintHandling => "complaint_handling",
            FindingArea::WholeCase => "whole_case",
        }
    }
}

/// Who complained: a customer, or a neighbour / the wider community.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Customer,
    Community,
}

impl Source {
    /// Parses `customer` or `community`.
    pub fn parse(text: &str) -> Option<Source> {
        match text {
            "customer" => Some(Source::Customer),
            "community" => Some(Source::Community),
            _ => None,
        }
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Customer => "customer",
            Source::Community => "community",
        }
    }
}

/// How a complaint reached us when a handler records it (Code 3.2: complaints may be made by any
/// channel).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Phone,
    Letter,
    InPerson,
    Email,
}

impl Channel {
    /// Parses `phone`, `letter`, `in-person` or `email`.
    pub fn parse(text: &str) -> Option<Channel> {
        match text.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "phone" => Some(Channel::Phone),
            "letter" => Some(Channel::Letter),
            "in-person" => Some(Channel::InPerson),
            "email" | "e-mail" => Some(Channel::Email),
            _ => None,
        }
    }
}

/// A person's triage of a possible Awaab's Law hazard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Triage {
    /// Investigate and make safe within 24 hours.
    Emergency,
    /// Investigate within 10 working days; summary and safety work follow the investigation.
    Significant,
    /// Not a hazard under Awaab's Law (the reason is recorded).
    NotAHazard,
}

impl Triage {
    /// Parses `emergency`, `significant` or `none`.
    pub fn parse(text: &str) -> Option<Triage> {
        match text.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "emergency" => Some(Triage::Emergency),
            "significant" => Some(Triage::Significant),
            "none" | "not-a-hazard" => Some(Triage::NotAHazard),
            _ => None,
        }
    }

    /// What the case's hazard reads once triaged.
    pub fn as_str(self) -> &'static str {
        match self {
            Triage::Emergency => "emergency",
            Triage::Significant => "significant",
            Triage::NotAHazard => "none",
        }
    }
}

/// A step in dealing with a hazard, recorded by a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HazardStep {
    /// The investigation concluded: the summary and safety-work clocks start now.
    Investigated,
    /// The written summary went to the resident.
    SummarySent,
    /// The emergency was made safe.
    MadeSafe,
    /// Safety work began.
    WorksStarted,
}

impl HazardStep {
    /// Parses `investigated`, `summary-sent`, `made-safe` or `works-started`.
    pub fn parse(text: &str) -> Option<HazardStep> {
        match text.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "investigated" => Some(HazardStep::Investigated),
            "summary-sent" => Some(HazardStep::SummarySent),
            "made-safe" => Some(HazardStep::MadeSafe),
            "works-started" => Some(HazardStep::WorksStarted),
            _ => None,
        }
    }
}

/// Why a case moved to stage 2: a mailed request (its message and the rules that fired) or a
/// handler's note of a request made another way.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EscalationRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_row: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasons: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Why the resident wants a review, in their own words from the mail (Code 6.12: never
    /// required, recorded when given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub words: Option<String>,
    /// Escalated by a handler before the stage 1 response was issued, with the reason why.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub forced: bool,
}

/// One thing that happened to a case. The variant name is the stored `kind`; its fields are the
/// stored `detail`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum Event {
    CaseOpened {
        message_row: i64,
        classification: CaseKind,
        reasons: Vec<String>,
        received_at: DateTime<Utc>,
        service_area: Option<String>,
        themes: Vec<String>,
        hazard: Option<String>,
        representative: bool,
    },
    NeedsAttention {
        reason: String,
    },
    /// A complaint a handler recorded from a call, a letter or a visit.
    OpenedByHand {
        channel: Channel,
        received_at: DateTime<Utc>,
        text: String,
    },
    /// Reasonable adjustments the resident needs, shown to everyone dealing with the case.
    AdjustmentsRecorded {
        needs: String,
    },
    /// The authority held for a representative acting for the resident (procedure §4.1).
    AuthorityRecorded {
        authority: String,
    },
    /// When the matter complained about happened (or the resident became aware of it).
    MatterDated {
        happened_on: NaiveDate,
    },
    /// A possible Awaab's Law hazard found in a later mail on the case.
    HazardReported {
        hazard: String,
        message_row: i64,
        reasons: Vec<String>,
    },
    HazardTriaged {
        triage: Triage,
        reason: String,
    },
    HazardProgress {
        step: HazardStep,
        notes: String,
    },
    /// A handler corrected what the classifier (or a person) decided: `what` is `kind` or
    /// `service_area`.
    Corrected {
        what: String,
        from: Option<String>,
        to: Option<String>,
        reason: String,
    },
    DeadlineSet {
        kind: DeadlineKind,
        due_at: DateTime<Utc>,
        rule: String,
    },
    DeadlineRecomputed {
        kind: DeadlineKind,
        previous_due_at: Option<DateTime<Utc>>,
        due_at: DateTime<Utc>,
        rule: String,
    },
    LetterQueued {
        letter: String,
        message_id: String,
    },
    LetterSent {
        letter: String,
        message_id: String,
        attempt: i64,
    },
    /// An operator put a letter back in the queue, or cancelled it with the reason.
    LetterRetried {
        letter: String,
        message_id: String,
    },
    LetterCancelled {
        letter: String,
        message_id: String,
        reason: String,
    },
    /// A letter to a resident without e-mail was printed and posted.
    LetterPosted {
        letter: String,
        message_id: String,
    },
    LetterFailed {
        letter: String,
        error: String,
        attempts: i64,
    },
    LetterUndelivered {
        letter: String,
        message_id: String,
        to: String,
        bounce_row: i64,
    },
    StaffNotified {
        headline: String,
        to: Vec<String>,
    },
    AutomatedMailReceived {
        message_row: i64,
        robot: Option<String>,
        reasons: Vec<String>,
    },
    StaffCorrespondence {
        message_row: i64,
        from: Option<String>,
        subject: String,
        to: Vec<String>,
        cc: Vec<String>,
    },
    CorrespondenceReceived {
        message_row: i64,
        from: Option<String>,
        subject: String,
        attachments: usize,
        reasons: Vec<String>,
    },
    Escalated {
        from_stage: Stage,
        to_stage: Stage,
        requested_at: DateTime<Utc>,
        #[serde(default)]
        detail: EscalationRequest,
    },
    Acknowledged {
        stage: Stage,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        understanding: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        outcome_sought: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        due_at: Option<DateTime<Utc>>,
        /// `None` on older records that did not say; counted as on time.
        #[serde(default)]
        on_time: Option<bool>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        deadline_met: Option<bool>,
        /// The automatic receipt was the acknowledgement (`acknowledgement = "automatic"`).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        automatic: bool,
    },
    Extended {
        stage: Stage,
        days: u32,
        reason: String,
        previous_due_at: DateTime<Utc>,
        due_at: DateTime<Utc>,
    },
    Responded {
        stage: Stage,
        outcome: Outcome,
        reasons: String,
        remedy: String,
        actions: Vec<OutstandingAction>,
        due_at: Option<DateTime<Utc>>,
        on_time: Option<bool>,
    },
    Closed {
        reason: String,
    },
    Refused {
        reason: String,
        stage: Option<Stage>,
    },
    Assigned {
        from: Option<String>,
        to: String,
    },
    Note {
        text: String,
    },
    ActionCompleted {
        deadline_id: i64,
        action: String,
    },
    OmbudsmanReferral {
        notes: String,
    },
    OmbudsmanFinding {
        finding: Finding,
        area: FindingArea,
        notes: String,
    },
    SourceSet {
        source: Source,
    },
    /// Kept from purge (Ombudsman or legal proceedings), or released (`reason` empty).
    HoldSet {
        held: bool,
        reason: String,
    },
    ReminderQueued {
        deadline: DeadlineKind,
        reminder: String,
        day: NaiveDate,
        to: Vec<String>,
    },
}

impl Event {
    /// The stored kind and detail.
    pub fn to_parts(&self) -> (String, serde_json::Value) {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        let kind = value["kind"].as_str().unwrap_or("unknown").to_string();
        let detail = value
            .get_mut("detail")
            .map(serde_json::Value::take)
            .unwrap_or_else(|| serde_json::json!({}));
        (kind, detail)
    }

    /// Reads a stored kind and detail back; `None` for a record this version does not know.
    pub fn from_parts(kind: &str, detail: &serde_json::Value) -> Option<Event> {
        serde_json::from_value(serde_json::json!({ "kind": kind, "detail": detail })).ok()
    }

    /// Whether an acknowledgement or response says it went in time (`None`: it does not say,
    /// or the event is neither).
    pub fn on_time(&self) -> Option<bool> {
        match self {
            Event::Acknowledged { on_time, .. } | Event::Responded { on_time, .. } => *on_time,
            _ => None,
        }
    }

    /// A response's outcome.
    pub fn outcome(&self) -> Option<Outcome> {
        match self {
            Event::Responded { outcome, .. } => Some(*outcome),
            _ => None,
        }
    }

    /// The stage an event belongs to, where it has one.
    pub fn stage(&self) -> Option<Stage> {
        match self {
            Event::Acknowledged { stage, .. }
            | Event::Extended { stage, .. }
            | Event::Responded { stage, .. } => Some(*stage),
            Event::Escalated { to_stage, .. } => Some(*to_stage),
            Event::Refused { stage, .. } => *stage,
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_keep_the_shapes_on_record() {
        let event = Event::Acknowledged {
            stage: Stage::Stage1,
            understanding: None,
            outcome_sought: None,
            due_at: None,
            on_time: Some(true),
            deadline_met: None,
            automatic: true,
        };
        let (kind, detail) = event.to_parts();
        assert_eq!(kind, "acknowledged");
        assert_eq!(
            detail,
            serde_json::json!({ "stage": "stage1", "on_time": true, "automatic": true })
        );
        assert_eq!(Event::from_parts(&kind, &detail), Some(event));
    }

    #[test]
    fn an_escalation_recorded_by_a_handler_reads_back() {
        let detail = serde_json::json!({
            "from_stage": "stage1", "to_stage": "stage2", "requested_at": "2026-11-23T10:00:00Z",
            "detail": { "reason": "phoned in" },
        });
        let Some(Event::Escalated { detail, .. }) = Event::from_parts("escalated", &detail) else {
            panic!("not read back");
        };
        assert_eq!(detail.reason.as_deref(), Some("phoned in"));
    }

    #[test]
    fn an_unknown_event_is_not_forced_into_a_variant() {
        assert_eq!(
            Event::from_parts("something_new", &serde_json::json!({})),
            None
        );
    }
}
