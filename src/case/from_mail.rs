//! What a recorded mail does to the record: open a case, join one, open stage 2, or tie a
//! bounce to the letter it returns. Pure: intake reads what is needed and applies the plan.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;

use super::actions::{Stage2Request, open_stage2};
use super::apply::object;
use super::plan::{IfUnwritten, Notice, Outgoing, Plan, Step, Target, Thread};
use crate::app::Rules;
use crate::case::deadlines::{AcknowledgementMode, Deadline, DeadlineKind, HazardSeverity};
use crate::case::model::{CaseKind, EscalationRequest, Event, Stage};
use crate::intake::classify::{Decision, Hazard, Kind};
use crate::intake::mail::ParsedMail;
use crate::store::{CaseState, NewCase, OutboxRow, Recipient};

/// How a mail is handled beyond its classification: who sent it and what they may be sent.
#[derive(Debug, Default)]
pub struct Handling {
    /// The sender is staff (a configured domain).
    pub staff: bool,
    /// Automatic letters to the sender are allowed.
    pub automatic_replies: bool,
    /// The single point of contact of a restricted sender.
    pub point_of_contact: Option<String>,
    /// Why a person must look.
    pub attention: Vec<String>,
    /// The mail was over `mailbox.max_message_size`: only its header is on record.
    pub too_large: Option<TooLarge>,
}

/// A mail too large to take whole: what it was, the limit, and where it was put for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooLarge {
    /// Its size as the server counts it, in bytes.
    pub size: u64,
    /// `mailbox.max_message_size`.
    pub limit: u64,
    /// The folder it was moved to.
    pub folder: String,
}

impl TooLarge {
    /// Megabytes as a person reads them (one decimal place).
    pub fn megabytes(bytes: u64) -> String {
        format!("{:.1} MB", bytes as f64 / 1_000_000.0)
    }

    /// Why a person must look, for the record and the owner's notice.
    pub fn reason(&self) -> String {
        format!(
            "the mail was {}, over the {} this mailbox takes (mailbox.max_message_size): only its header is on record; the whole mail is in the {} folder",
            Self::megabytes(self.size),
            Self::megabytes(self.limit),
            self.folder
        )
    }
}

/// A mail recorded in the store, with everything intake found out about it.
pub struct Arrival<'a> {
    pub mail: &'a ParsedMail,
    pub decision: &'a Decision,
    pub handling: &'a Handling,
    /// The case it refers to, if any (for a bounce, the case of the letter it returns).
    pub known: Option<&'a CaseState>,
    /// Our letter it bounces, if it is a bounce of one.
    pub bounced: Option<&'a OutboxRow>,
    pub message_row: i64,
    /// The server's receipt time: the Code's clock starts here.
    pub received_at: DateTime<Utc>,
}

/// What a mail does.
#[derive(Debug, Clone, PartialEq)]
pub enum MailPlan {
    /// Automated mail about no case: kept on record only.
    NoCase,
    /// A plan on a case: `kind` is what the mail was to it (e.g. `reply`, `staff_correspondence`).
    Case { plan: Plan, kind: &'static str },
}

/// Decides what a recorded mail does.
pub fn plan(rules: &Rules, arrival: &Arrival<'_>) -> MailPlan {
    match plan_by_kind(rules, arrival) {
        MailPlan::Case { mut plan, kind } => {
            too_large(&mut plan, rules, arrival);
            MailPlan::Case { plan, kind }
        }
        MailPlan::NoCase => MailPlan::NoCase,
    }
}

/// A mail too large to take whole: a person is asked to look (a new case carries the reason
/// already) and the sender, if they may be answered, is told what happened and what to do.
fn too_large(plan: &mut Plan, rules: &Rules, arrival: &Arrival<'_>) {
    let Some(too_large) = &arrival.handling.too_large else {
        return;
    };
    if matches!(plan.target, Target::Existing(_)) {
        plan.then(Step::Flag(too_large.reason()));
    }
    let mail = arrival.mail;
    let Some(to) = mail.reply_address() else {
        return;
    };
    if !arrival.handling.automatic_replies || arrival.decision.kind == Kind::Automated {
        return;
    }
    let org = &rules.settings.organisation;
    let context = object(json!({
        "customer_name": mail.from.as_ref().and_then(|f| f.name.as_deref()).unwrap_or("customer"),
        "original_subject": mail.subject,
        "received_date": rules.letter_date(arrival.received_at),
        "size": TooLarge::megabytes(too_large.size),
        "limit": TooLarge::megabytes(too_large.limit),
        "organisation_name": org.name,
        "complaints_address": org.complaints_address,
    }));
    plan.then(Step::Letter(Outgoing::to_customer(
        "too_large",
        Recipient::Email(to.address.clone()),
        context,
        &format!(":{}", arrival.message_row),
        thread_to(mail),
        IfUnwritten::Flag,
    )));
}

/// What a recorded mail does, by what it is and whether it is about a case on record.
fn plan_by_kind(rules: &Rules, arrival: &Arrival<'_>) -> MailPlan {
    let kind = arrival.decision.kind;
    let Some(case_id) = arrival.known.map(|state| state.case.id) else {
        return match kind {
            Kind::Automated => MailPlan::NoCase,
            _ => open_from_mail(rules, arrival),
        };
    };
    let mut plan = Plan::on(case_id);
    plan.then(Step::LinkMessage(arrival.message_row));
    let as_kind = match (kind, arrival.known) {
        (Kind::Automated, _) => automated(&mut plan, arrival),
        (Kind::Reply | Kind::ReviewRequest, Some(_)) if arrival.handling.staff => {
            staff_correspondence(&mut plan, arrival)
        }
        (Kind::Reply, Some(state)) if becomes_a_complaint(rules, arrival, state) => {
            complaint_now(&mut plan, rules, arrival, state)
        }
        (Kind::Reply | Kind::ReviewRequest, Some(state))
            if kind == Kind::Reply || arrival.handling.point_of_contact.is_some() =>
        {
            customer_wrote(&mut plan, arrival, state)
        }
        (Kind::ReviewRequest, Some(state)) => review_requested(&mut plan, rules, arrival, state),
        _ => return open_from_mail(rules, arrival),
    };
    if let Some(state) = arrival.known
        && matches!(kind, Kind::Reply | Kind::ReviewRequest)
    {
        hazard_reported(&mut plan, rules, arrival, state);
    }
    MailPlan::Case {
        plan,
        kind: as_kind,
    }
}

/// How grave a case's hazard is: none, significant, emergency.
fn gravity(hazard: Option<&str>) -> u8 {
    match hazard {
        Some(h) if h.contains("emergency") => 2,
        Some(h) if h.contains("significant") => 1,
        _ => 0,
    }
}

/// Awaab's Law: a later mail reporting a hazard graver than the case's gets its clock and, for a
/// possible emergency, a person the same day.
fn hazard_reported(plan: &mut Plan, rules: &Rules, arrival: &Arrival<'_>, state: &CaseState) {
    let Some(hazard) = arrival.decision.hazard else {
        return;
    };
    let name = hazard_name(hazard);
    if gravity(Some(name)) <= gravity(state.case.hazard.as_deref()) {
        return;
    }
    plan.then(Step::SetHazard(name.into())).record(
        "redress",
        Event::HazardReported {
            hazard: name.into(),
            message_row: arrival.message_row,
            reasons: arrival.decision.reasons.clone(),
        },
    );
    let severity = match hazard {
        Hazard::PossibleEmergency => HazardSeverity::Emergency,
        Hazard::PossibleSignificant => HazardSeverity::Significant,
    };
    let policy = &rules.settings.deadlines;
    let deadlines = policy.awaab(&rules.calendar, severity, arrival.received_at);
    plan.steps
        .extend(deadlines.into_iter().map(Step::SetDeadline));
    if let Some(reason) = emergency_attention(arrival.decision) {
        plan.then(Step::Flag(format!("{reason} (reported in a later mail)")));
    }
}

/// A robot's mail about a case; a bounce of our letter marks it undelivered and flags the case.
fn automated(plan: &mut Plan, arrival: &Arrival<'_>) -> &'static str {
    let robot = arrival
        .decision
        .robot
        .and_then(|r| serde_json::to_value(r).ok())
        .and_then(|v| v.as_str().map(str::to_string));
    plan.record(
        "redress",
        Event::AutomatedMailReceived {
            message_row: arrival.message_row,
            robot,
            reasons: arrival.decision.reasons.clone(),
        },
    );
    if let Some(letter) = arrival.bounced {
        plan.then(Step::MarkUndelivered {
            letter_id: letter.id,
            reason: "a bounce came back for this letter".into(),
        })
        .record(
            "redress",
            Event::LetterUndelivered {
                letter: letter.kind.clone(),
                message_id: letter.message_id.clone(),
                to: letter.to_address.clone(),
                bounce_row: arrival.message_row,
            },
        )
        .then(Step::Flag(format!(
            "our {} to the customer bounced: contact them another way",
            letter.kind
        )))
        .then(Step::Notice(Notice {
            headline: "Our letter to the customer bounced".into(),
            details: format!(
                "Our {} to the customer could not be delivered. Contact them another way.",
                letter.kind
            ),
            to: arrival
                .known
                .and_then(|s| s.case.owner.clone())
                .into_iter()
                .collect(),
            key: format!("bounce:{}", arrival.message_row),
        }));
    }
    Kind::Automated.as_str()
}

/// A handler answering the customer with us in Cc/Bcc: correspondence on the case.
fn staff_correspondence(plan: &mut Plan, arrival: &Arrival<'_>) -> &'static str {
    let mail = arrival.mail;
    plan.record(
        "staff",
        Event::StaffCorrespondence {
            message_row: arrival.message_row,
            from: mail.from.as_ref().map(|f| f.address.clone()),
            subject: mail.subject.clone(),
            to: mail.to.clone(),
            cc: mail.cc.clone(),
        },
    );
    "staff_correspondence"
}

/// The customer (or a restricted sender) wrote again: the owner or point of contact is told.
fn customer_wrote(plan: &mut Plan, arrival: &Arrival<'_>, state: &CaseState) -> &'static str {
    let mail = arrival.mail;
    let to = match &arrival.handling.point_of_contact {
        Some(contact) => vec![contact.clone()],
        None => state.case.owner.iter().cloned().collect(),
    };
    plan.then(Step::Notice(Notice {
        headline: "The customer wrote again".into(),
        details: format!(
            "The customer wrote again ({} attachment(s)). Read it with `redress cases show`.",
            mail.attachments.len()
        ),
        to,
        key: format!("reply:{}", arrival.message_row),
    }))
    .record(
        "customer",
        correspondence(arrival, arrival.decision.reasons.clone()),
    );
    arrival.decision.kind.as_str()
}

/// A resident's later mail on a service request, feedback or compliment that expresses
/// dissatisfaction or asks to complain (Code 1.2–1.6).
fn becomes_a_complaint(rules: &Rules, arrival: &Arrival<'_>, state: &CaseState) -> bool {
    let not_yet = matches!(
        state.case.kind,
        CaseKind::ServiceRequest | CaseKind::Feedback | CaseKind::Compliment
    );
    not_yet
        && state.case.status == crate::case::model::CaseStatus::Open
        && arrival.handling.automatic_replies
        && !rules.classifier.wants_to_complain(arrival.mail).is_empty()
}

/// The case becomes a stage 1 complaint received now, with its own receipt and deadlines.
fn complaint_now(
    plan: &mut Plan,
    rules: &Rules,
    arrival: &Arrival<'_>,
    state: &CaseState,
) -> &'static str {
    let mut reasons = vec![format!(
        "a {} on which the resident expressed dissatisfaction: now a complaint (Code 1.2-1.6)",
        state.case.kind
    )];
    reasons.extend(rules.classifier.wants_to_complain(arrival.mail));
    plan.then(Step::SetKind(CaseKind::Complaint)).record(
        "redress",
        Event::Corrected {
            what: "kind".into(),
            from: Some(state.case.kind.to_string()),
            to: Some(CaseKind::Complaint.to_string()),
            reason: reasons.join("; "),
        },
    );
    crate::case::by_hand::become_a_complaint(plan, state, rules, "redress", arrival.received_at);
    plan.record("customer", correspondence(arrival, reasons));
    Kind::Complaint.as_str()
}

/// The resident's own new words in a mail (quoted earlier mail left out), up to 1,000 characters.
fn own_words(mail: &ParsedMail) -> Option<String> {
    let words = crate::intake::classify::strip_quoted(&mail.text_body);
    let words = words.trim();
    (!words.is_empty()).then(|| words.chars().take(1000).collect())
}

/// The customer's mail on record as correspondence on the case, with the rules that fired.
fn correspondence(arrival: &Arrival<'_>, reasons: Vec<String>) -> Event {
    let mail = arrival.mail;
    Event::CorrespondenceReceived {
        message_row: arrival.message_row,
        from: mail.from.as_ref().map(|f| f.address.clone()),
        subject: mail.subject.clone(),
        attachments: mail.attachments.len(),
        reasons,
    }
}

/// Where a letter answering `mail` threads.
fn thread_to(mail: &ParsedMail) -> Thread {
    let mut references = mail.references.clone();
    references.extend(mail.message_id.clone());
    Thread {
        in_reply_to: mail.message_id.clone(),
        references,
    }
}

/// Code 6.11: a mailed request for a stage 2 review after the stage 1 response.
fn review_requested(
    plan: &mut Plan,
    rules: &Rules,
    arrival: &Arrival<'_>,
    state: &CaseState,
) -> &'static str {
    let request = Stage2Request {
        requested_at: arrival.received_at,
        actor: "customer",
        detail: EscalationRequest {
            message_row: Some(arrival.message_row),
            reasons: Some(arrival.decision.reasons.clone()),
            words: own_words(arrival.mail),
            ..EscalationRequest::default()
        },
        reply_to: arrival.mail.reply_address().map(|a| a.address.clone()),
        thread: thread_to(arrival.mail),
        notice_key: format!("escalated:{}", arrival.message_row),
    };
    open_stage2(plan, state, rules, request);
    arrival.decision.kind.as_str()
}

/// A possible emergency hazard is for a person to look at today.
pub(crate) fn emergency_attention(decision: &Decision) -> Option<String> {
    (decision.hazard == Some(Hazard::PossibleEmergency)).then(|| {
        "possible Awaab's Law emergency hazard: look at it today (triage it with `case triage`)"
            .to_string()
    })
}

/// How a possible hazard is stored on the case.
pub(crate) fn hazard_name(hazard: Hazard) -> &'static str {
    match hazard {
        Hazard::PossibleEmergency => "possible_emergency",
        Hazard::PossibleSignificant => "possible_significant",
    }
}

/// Why a person must look at a new case, if anything.
fn attention(arrival: &Arrival<'_>) -> Option<String> {
    let (mail, decision) = (arrival.mail, arrival.decision);
    let mut attention = Vec::new();
    if decision.kind == Kind::Unreadable || !mail.problems.is_empty() {
        attention.push(format!(
            "the mail could not be read properly: {}",
            mail.problems.join("; ")
        ));
    }
    attention.extend(emergency_attention(decision));
    if decision.representative {
        attention.push(
            "written on someone else's behalf: written authorisation needed (procedure §4.1)"
                .to_string(),
        );
    }
    attention.extend(arrival.handling.attention.iter().cloned());
    (!attention.is_empty()).then(|| attention.join("; "))
}

/// The deadlines a new case gets: the Code's for a complaint (6.2, 6.3), the procedure's for
/// feedback, and Awaab's Law's for a possible hazard.
pub(crate) fn new_deadlines(
    rules: &Rules,
    decision: &Decision,
    received_at: DateTime<Utc>,
) -> Vec<Deadline> {
    let policy = &rules.settings.deadlines;
    let calendar = &rules.calendar;
    let mut deadlines = Vec::new();
    if decision.kind == Kind::Complaint {
        deadlines.extend(policy.new_complaint(calendar, received_at));
    }
    if decision.kind == Kind::Feedback {
        deadlines.extend(policy.feedback(calendar, received_at));
    }
    if matches!(
        decision.kind,
        Kind::Complaint | Kind::ServiceRequest | Kind::Feedback
    ) {
        let severity = match decision.hazard {
            Some(Hazard::PossibleEmergency) => Some(HazardSeverity::Emergency),
            Some(Hazard::PossibleSignificant) => Some(HazardSeverity::Significant),
            None => None,
        };
        if let Some(severity) = severity {
            deadlines.extend(policy.awaab(calendar, severity, received_at));
        }
    }
    deadlines
}

/// The letter each kind of new case gets, if any.
fn first_letter(rules: &Rules, kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::Complaint => Some("receipt"),
        Kind::Compliment => Some("compliment_thanks"),
        Kind::ServiceRequest => Some("service_request"),
        // Only where the landlord runs the procedure's feedback stage (§4.7–4.8): a note that it
        // was recorded and passed on, and how to make it a complaint.
        Kind::Feedback if rules.settings.deadlines.feedback_stage => Some("feedback"),
        _ => None,
    }
}

/// The receipt letter's variables.
#[derive(Debug, Serialize)]
struct ReceiptContext<'a> {
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

/// The headline of the notice telling the owner of a new case.
fn headline(kind: Kind) -> &'static str {
    match kind {
        Kind::Complaint => "New stage 1 complaint assigned to you",
        Kind::Compliment => "A compliment for your team",
        Kind::ServiceRequest => "A service request for your team",
        Kind::Feedback => "Feedback for your team (no response wanted)",
        _ => "A mail that needs a person",
    }
}

fn case_kind(kind: Kind) -> CaseKind {
    match kind {
        Kind::Automated => CaseKind::Automated,
        Kind::ReviewRequest => CaseKind::ReviewRequest,
        Kind::Reply => CaseKind::Reply,
        Kind::Compliment => CaseKind::Compliment,
        Kind::ServiceRequest => CaseKind::ServiceRequest,
        Kind::Feedback => CaseKind::Feedback,
        Kind::Complaint => CaseKind::Complaint,
        Kind::Unreadable => CaseKind::Unreadable,
    }
}

/// Opens a case for a mail that is not about one on record (when in doubt, a complaint).
fn open_from_mail(rules: &Rules, arrival: &Arrival<'_>) -> MailPlan {
    let (mail, decision) = (arrival.mail, arrival.decision);
    let is_complaint = decision.kind == Kind::Complaint;
    let attention_reason = attention(arrival);
    let hazard = decision.hazard.map(hazard_name);
    let owner = arrival.handling.point_of_contact.clone().or_else(|| {
        rules.settings.routing.owner_for(
            decision.service_area.as_deref(),
            is_complaint.then_some("stage1"),
        )
    });
    let reply_to = mail.reply_address();
    let case = NewCase {
        kind: case_kind(decision.kind),
        stage: is_complaint.then_some(Stage::Stage1),
        customer_address: reply_to.map(|a| a.address.clone()),
        customer_name: mail.from.as_ref().and_then(|f| f.name.clone()),
        subject: mail.subject.clone(),
        received_at: arrival.received_at,
        attention_reason: attention_reason.clone(),
        service_area: decision.service_area.clone(),
        owner: owner.clone(),
        themes: decision.themes.clone(),
        hazard: hazard.map(str::to_string),
        representative: decision.representative,
        postal_address: None,
    };
    let mut plan = Plan {
        target: Target::New(Box::new(case)),
        steps: Vec::new(),
    };
    plan.then(Step::LinkMessage(arrival.message_row)).record(
        "redress",
        Event::CaseOpened {
            message_row: arrival.message_row,
            classification: case_kind(decision.kind),
            reasons: decision.reasons.clone(),
            received_at: arrival.received_at,
            service_area: decision.service_area.clone(),
            themes: decision.themes.clone(),
            hazard: hazard.map(str::to_string),
            representative: decision.representative,
        },
    );
    if let Some(reason) = &attention_reason {
        plan.record(
            "redress",
            Event::NeedsAttention {
                reason: reason.clone(),
            },
        );
    }
    let deadlines = new_deadlines(rules, decision, arrival.received_at);
    let letter = first_receipt(rules, arrival, &deadlines);
    plan.steps
        .extend(deadlines.into_iter().map(Step::SetDeadline));
    plan.steps.extend(letter);
    plan.then(Step::Notice(new_case_notice(
        rules,
        arrival,
        attention_reason.as_deref(),
        owner,
    )));
    MailPlan::Case {
        plan,
        kind: decision.kind.as_str(),
    }
}

/// The letter a new case's sender gets at once, unless the mail could not be read or the
/// sender may not be answered automatically.
fn first_receipt(rules: &Rules, arrival: &Arrival<'_>, deadlines: &[Deadline]) -> Option<Step> {
    let (mail, decision) = (arrival.mail, arrival.decision);
    let unreadable = decision.kind == Kind::Unreadable || !mail.problems.is_empty();
    if unreadable || !arrival.handling.automatic_replies {
        return None;
    }
    let template = first_letter(rules, decision.kind)?;
    let to = Recipient::Email(mail.reply_address()?.address.clone());
    let facts = ReceiptFacts {
        key_suffix: String::new(),
        customer_name: mail
            .from
            .as_ref()
            .and_then(|f| f.name.as_deref())
            .unwrap_or("customer"),
        received_at: arrival.received_at,
        subject: &mail.subject,
        service_area: decision.service_area.as_deref(),
    };
    Some(receipt(
        rules,
        template,
        to,
        &facts,
        deadlines,
        thread_to(mail),
    ))
}

/// What the receipt letter says about the complaint it acknowledges.
pub(crate) struct ReceiptFacts<'a> {
    /// Told apart from an earlier receipt on the same case (`""` for the first).
    pub key_suffix: String,
    pub customer_name: &'a str,
    pub received_at: DateTime<Utc>,
    pub subject: &'a str,
    pub service_area: Option<&'a str>,
}

/// The receipt (or thanks, or service-request letter) a new case's sender gets at once, with
/// the dates its `deadlines` set.
pub(crate) fn receipt(
    rules: &Rules,
    template: &'static str,
    to: Recipient,
    facts: &ReceiptFacts<'_>,
    deadlines: &[Deadline],
    thread: Thread,
) -> Step {
    let org = &rules.settings.organisation;
    let due = |kind: DeadlineKind| {
        deadlines
            .iter()
            .find(|d| d.kind == kind)
            .map(|d| rules.letter_date(d.due_at))
    };
    let context = ReceiptContext {
        customer_name: facts.customer_name,
        organisation_name: &org.name,
        complaints_address: &org.complaints_address,
        received_date: rules.letter_date(facts.received_at),
        acknowledge_by: due(DeadlineKind::Stage1Acknowledgement),
        respond_by: due(DeadlineKind::Stage1Response).unwrap_or_default(),
        ombudsman_contact: &org.ombudsman_contact,
        original_subject: facts.subject,
        automatic_acknowledgement: rules.settings.deadlines.acknowledgement
            == AcknowledgementMode::Automatic,
        service_area: facts.service_area,
    };
    let context = object(serde_json::to_value(&context).unwrap_or_else(|_| json!({})));
    Step::Letter(Outgoing::to_customer(
        template,
        to,
        context,
        &facts.key_suffix,
        thread,
        IfUnwritten::Flag,
    ))
}

/// Tells the new case's owner about it.
fn new_case_notice(
    rules: &Rules,
    arrival: &Arrival<'_>,
    attention_reason: Option<&str>,
    owner: Option<String>,
) -> Notice {
    let decision = arrival.decision;
    let mut details = format!("Received {}.", rules.calendar_time(arrival.received_at));
    if let Some(reason) = attention_reason {
        details.push_str(&format!(" NEEDS ATTENTION: {reason}."));
    }
    if !decision.themes.is_empty() {
        details.push_str(&format!(" Themes: {}.", decision.themes.join(", ")));
    }
    Notice {
        headline: headline(decision.kind).into(),
        details,
        to: owner.into_iter().collect(),
        key: "new:{case}".into(),
    }
}
