//! Deciding what an incoming mail is, and explaining why.
//!
//! Pure logic: the caller looks up the case a mail refers to (by reference or Message-ID) and
//! hands it in. The phrases are configuration (`config/classification.toml`), compiled once into
//! `RegexSet`s; a bad pattern fails at start naming the rule. Matching is on the mail's own words
//! (subject and body, quoted earlier mail removed). In order of precedence a mail is:
//! automated mail (never answered, whatever it says); a review request (a reply on a stage 1 case
//! whose response was sent, asking to escalate or still dissatisfied); a reply on a known case;
//! a compliment; a service request; feedback with no response wanted; or a stage 1 complaint.
//! When in doubt, it is a complaint (Code §1.2).

use regex::{RegexSet, RegexSetBuilder};
use serde::{Deserialize, Serialize};

use super::areas::Areas;
use super::learned::{Learned, Prediction};

use crate::intake::mail::ParsedMail;

/// A rule that does not compile, named.
#[derive(Debug, thiserror::Error)]
pub enum ClassifyError {
    #[error("classification rules are not valid TOML: {0}")]
    Syntax(String),
    #[error("classification rule {rule} `{pattern}` is not a valid regular expression: {message}")]
    Pattern {
        rule: String,
        pattern: String,
        message: String,
    },
}

/// What a mail is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Bounce, auto-reply, list mail or our own mail coming back: recorded, never answered.
    Automated,
    /// Asks for a stage 2 review of a stage 1 response.
    ReviewRequest,
    /// More correspondence on a case we already have.
    Reply,
    /// Praise with no sign of dissatisfaction (procedure §4.6).
    Compliment,
    /// A first request for a service, not a complaint (Code §1.4).
    ServiceRequest,
    /// Dissatisfaction with no response wanted (procedure §4.8).
    Feedback,
    /// A new stage 1 complaint.
    Complaint,
    /// Nothing could be read: kept raw and flagged for a person.
    Unreadable,
}

impl Kind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Automated => "automated",
            Kind::ReviewRequest => "review_request",
            Kind::Reply => "reply",
            Kind::Compliment => "compliment",
            Kind::ServiceRequest => "service_request",
            Kind::Feedback => "feedback",
            Kind::Complaint => "complaint",
            Kind::Unreadable => "unreadable",
        }
    }
}

/// Which kind of robot sent an automated mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Robot {
    Bounce,
    AutoReply,
    MailingList,
    OurOwnMail,
    /// A sender whose address is a role that never reads replies (no-reply, notifications).
    NoReplySender,
}

/// A possible Awaab's Law hazard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Hazard {
    /// An emergency hazard of any kind (gas, live wiring, collapse, an insecure home, a fire door
    /// that will not close, no heat for a vulnerable resident) or damp and mould with a sign of
    /// danger: a person looks at it the same day.
    PossibleEmergency,
    /// Damp or mould reported.
    PossibleSignificant,
}

/// A classification with its reasons.
#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    pub kind: Kind,
    pub robot: Option<Robot>,
    /// The rules that fired, in words.
    pub reasons: Vec<String>,
    pub service_area: Option<String>,
    pub themes: Vec<String>,
    pub hazard: Option<Hazard>,
    /// Written for someone else: written authorisation is needed (procedure §4.1).
    pub representative: bool,
}

/// The case a mail refers to, as the caller found it.
#[derive(Debug, Clone)]
pub struct KnownCase {
    pub reference: String,
    /// How it was found (reference in the subject, or a Message-ID in In-Reply-To/References).
    pub found_by: String,
    /// `stage1`, `stage2`, or none for other kinds of case.
    pub stage: Option<String>,
    /// True once the stage's response was sent.
    pub response_sent: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    robots: RobotRules,
    signals: SignalRules,
    service_areas: toml::Table,
    /// Phrases that belong to no area and take their words from those that would (e.g. "next door").
    #[serde(default)]
    area_exclusions: Vec<String>,
    /// Theme → the area its cases go to, whatever the phrases say.
    #[serde(default)]
    theme_areas: toml::Table,
    themes: toml::Table,
    hazard: HazardRules,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RobotRules {
    auto_reply_subjects: Vec<String>,
    bounce_subjects: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignalRules {
    escalation: Vec<String>,
    dissatisfaction: Vec<String>,
    compliment: Vec<String>,
    service_request: Vec<String>,
    no_response: Vec<String>,
    representative: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HazardRules {
    damp_mould: Vec<String>,
    emergency: Vec<String>,
    emergency_hazards: Vec<String>,
    no_heat: Vec<String>,
    vulnerable: Vec<String>,
}

/// A named list of patterns compiled into one `RegexSet`.
#[derive(Debug, Clone)]
struct Rule {
    name: String,
    patterns: Vec<String>,
    set: RegexSet,
}

impl Rule {
    fn new(name: &str, patterns: &[String]) -> Result<Rule, ClassifyError> {
        for (i, pattern) in patterns.iter().enumerate() {
            if let Err(e) = regex::RegexBuilder::new(pattern)
                .case_insensitive(true)
                .build()
            {
                return Err(ClassifyError::Pattern {
                    rule: format!("{name}[{i}]"),
                    pattern: pattern.clone(),
                    message: e.to_string(),
                });
            }
        }
        let set = RegexSetBuilder::new(patterns)
            .case_insensitive(true)
            .build()
            .map_err(|e| ClassifyError::Pattern {
                rule: name.to_string(),
                pattern: String::new(),
                message: e.to_string(),
            })?;
        Ok(Rule {
            name: name.to_string(),
            patterns: patterns.to_vec(),
            set,
        })
    }

    /// The patterns that match, as `name: pattern`.
    fn fired(&self, text: &str) -> Vec<String> {
        self.set
            .matches(text)
            .iter()
            .map(|i| format!("{}: /{}/", self.name, self.patterns[i]))
            .collect()
    }

    fn is_match(&self, text: &str) -> bool {
        self.set.is_match(text)
    }
}

fn named_rules(section: &str, table: &toml::Table) -> Result<Vec<(String, Rule)>, ClassifyError> {
    table
        .iter()
        .map(|(name, value)| {
            let patterns: Vec<String> = value
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            Ok((
                name.clone(),
                Rule::new(&format!("{section}.\"{name}\""), &patterns)?,
            ))
        })
        .collect()
}

/// The classifier: compiled rules plus what identifies our own mail.
#[derive(Debug, Clone)]
pub struct Classifier {
    own_message_id_domain: String,
    own_address: String,
    auto_reply_subjects: Rule,
    bounce_subjects: Rule,
    escalation: Rule,
    dissatisfaction: Rule,
    compliment: Rule,
    service_request: Rule,
    no_response: Rule,
    representative: Rule,
    areas: Areas,
    themes: Vec<(String, Rule)>,
    damp_mould: Rule,
    emergency: Rule,
    emergency_hazards: Rule,
    no_heat: Rule,
    vulnerable: Rule,
    /// What people taught it (`redress train`), asked only where the rules found no strong phrase.
    learned: Option<std::sync::Arc<Learned>>,
}

/// The least confidence at which the learned model's answer is taken.
pub const LEARNED_CONFIDENCE: f64 = 0.8;

/// A learned decision in words, with the words that weighed most for it.
fn learned_reason(what: &str, said: &Prediction) -> String {
    format!(
        "learned from people's decisions: {what} ({:.0}% sure), from the words: {}",
        said.confidence * 100.0,
        said.words.join(", ")
    )
}

/// Removes quoted earlier mail: `>` lines, and everything from an attribution line
/// ("On ... wrote:", "-----Original Message-----", an Outlook "From: ... Sent:" block) onwards.
pub fn strip_quoted(body: &str) -> String {
    let mut kept = Vec::new();
    let lines: Vec<&str> = body.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim();
        let lower = trimmed.to_lowercase();
        let next = lines
            .get(i + 1)
            .map(|l| l.trim().to_lowercase())
            .unwrap_or_default();
        let attribution = (lower.starts_with("on ")
            && (lower.ends_with("wrote:") || next.ends_with("wrote:")))
            || (lower.starts_with("am ") && lower.ends_with("schrieb:"))
            || (lower.starts_with("le ") && lower.ends_with("a écrit :"))
            || lower.starts_with("-----original message-----")
            || lower.starts_with("-------- original message")
            || lower.starts_with("-------- forwarded message")
            || lower.starts_with("---------- forwarded message")
            || lower.starts_with("begin forwarded message")
            || (lower.starts_with("________________") && next.starts_with("from:"))
            || (lower.starts_with("from:")
                && lines
                    .iter()
                    .skip(i + 1)
                    .take(4)
                    .any(|l| l.trim().to_lowercase().starts_with("sent:")));
        if attribution {
            break;
        }
        if trimmed.starts_with('>') {
            continue;
        }
        kept.push(*line);
    }
    kept.join("\n")
}

impl Classifier {
    /// Compiles the rules in `rules_toml`; our own mail is known by its Message-ID domain and address.
    pub fn new(
        own_message_id_domain: &str,
        own_address: &str,
        rules_toml: &str,
    ) -> Result<Self, ClassifyError> {
        let file: RulesFile =
            toml::from_str(rules_toml).map_err(|e| ClassifyError::Syntax(e.to_string()))?;
        Ok(Self {
            own_message_id_domain: own_message_id_domain.to_ascii_lowercase(),
            own_address: own_address.to_ascii_lowercase(),
            auto_reply_subjects: Rule::new(
                "robots.auto_reply_subjects",
                &file.robots.auto_reply_subjects,
            )?,
            bounce_subjects: Rule::new("robots.bounce_subjects", &file.robots.bounce_subjects)?,
            escalation: Rule::new("signals.escalation", &file.signals.escalation)?,
            dissatisfaction: Rule::new("signals.dissatisfaction", &file.signals.dissatisfaction)?,
            compliment: Rule::new("signals.compliment", &file.signals.compliment)?,
            service_request: Rule::new("signals.service_request", &file.signals.service_request)?,
            no_response: Rule::new("signals.no_response", &file.signals.no_response)?,
            representative: Rule::new("signals.representative", &file.signals.representative)?,
            areas: Areas::new(
                &file.service_areas,
                &file.area_exclusions,
                &file.theme_areas,
                &file.themes.keys().cloned().collect::<Vec<_>>(),
            )?,
            themes: named_rules("themes", &file.themes)?,
            damp_mould: Rule::new("hazard.damp_mould", &file.hazard.damp_mould)?,
            emergency: Rule::new("hazard.emergency", &file.hazard.emergency)?,
            emergency_hazards: Rule::new(
                "hazard.emergency_hazards",
                &file.hazard.emergency_hazards,
            )?,
            no_heat: Rule::new("hazard.no_heat", &file.hazard.no_heat)?,
            vulnerable: Rule::new("hazard.vulnerable", &file.hazard.vulnerable)?,
            learned: None,
        })
    }

    /// Asks `learned` (what `redress train` fitted) where the rules found no strong phrase.
    pub fn learn(&mut self, learned: Learned) {
        self.learned = Some(std::sync::Arc::new(learned));
    }

    /// A new matter the rules did not take for a complaint is one when the learned model is sure
    /// it is: the model may only move a mail towards a complaint (when in doubt, a complaint).
    fn learned_kind(&self, text: &str, decision: &mut Decision) {
        if decision.kind == Kind::Complaint {
            return;
        }
        let Some(said) = self.learned.as_ref().and_then(|l| l.kind.predict(text)) else {
            return;
        };
        if said.label == "complaint" && said.confidence >= LEARNED_CONFIDENCE {
            decision.kind = Kind::Complaint;
            decision.reasons.push(learned_reason("a complaint", &said));
        }
    }

    /// The service area the learned model is sure of, where the rules found none.
    fn learned_area(&self, text: &str, decision: &mut Decision) {
        let Some(said) = self.learned.as_ref().and_then(|l| l.area.predict(text)) else {
            return;
        };
        if said.confidence >= LEARNED_CONFIDENCE {
            decision.reasons.push(learned_reason(&said.label, &said));
            decision.service_area = Some(said.label);
        }
    }

    /// The mail's own words: subject and body without quoted earlier mail.
    pub fn own_words(mail: &ParsedMail) -> String {
        format!("{}\n{}", mail.subject, strip_quoted(&mail.text_body))
    }

    /// Decides what `mail` is; `known_case` is the case it refers to, if the caller found one.
    pub fn classify(&self, mail: &ParsedMail, known_case: Option<&KnownCase>) -> Decision {
        let mut decision = Decision {
            kind: Kind::Complaint,
            robot: None,
            reasons: Vec::new(),
            service_area: None,
            themes: Vec::new(),
            hazard: None,
            representative: false,
        };
        if mail.from.is_none() && mail.headers.is_empty() {
            decision.kind = Kind::Unreadable;
            decision.reasons = mail.problems.clone();
            return decision;
        }
        if let Some((robot, reasons)) = self.automated(mail) {
            decision.kind = Kind::Automated;
            decision.robot = Some(robot);
            decision.reasons = reasons;
            return decision;
        }
        let text = Self::own_words(mail);
        let dissatisfied = self.dissatisfaction.fired(&text);
        if let Some(case) = known_case {
            (decision.kind, decision.reasons) = self.about_a_case(mail, case);
            // A later mail on a case may report a hazard too (Awaab's Law).
            if let Some((hazard, reasons)) = self.hazard(&strip_quoted(&mail.text_body)) {
                decision.hazard = Some(hazard);
                decision.reasons.extend(reasons);
            }
            return decision;
        }
        (decision.kind, decision.reasons) = self.new_matter(&text, dissatisfied);
        self.learned_kind(&text, &mut decision);
        if mail.from.is_none() {
            decision.kind = Kind::Unreadable;
            decision.reasons.extend(mail.problems.iter().cloned());
        }
        self.describe(&text, &mut decision);
        decision
    }

    /// A mail about a case on record: a review request after the stage 1 response, else a reply.
    fn about_a_case(&self, mail: &ParsedMail, case: &KnownCase) -> (Kind, Vec<String>) {
        // A reply's subject is usually ours ("Re: Our response to your complaint ..."): only
        // the customer's own new words count towards a review request.
        let body = strip_quoted(&mail.text_body);
        let escalation = self.escalation.fired(&body);
        let dissatisfied = self.dissatisfaction.fired(&body);
        let response_sent_at_stage1 = case.stage.as_deref() == Some("stage1") && case.response_sent;
        if response_sent_at_stage1 && (!escalation.is_empty() || !dissatisfied.is_empty()) {
            let mut reasons = vec![format!(
                "a reply on {} after its stage 1 response, asking to escalate or still dissatisfied",
                case.reference
            )];
            reasons.extend(escalation);
            reasons.extend(dissatisfied);
            return (Kind::ReviewRequest, reasons);
        }
        let reason = format!("refers to case {} ({})", case.reference, case.found_by);
        (Kind::Reply, vec![reason])
    }

    /// A mail about nothing on record: a compliment, service request, feedback, or (when in
    /// doubt) a complaint.
    fn new_matter(&self, text: &str, dissatisfied: Vec<String>) -> (Kind, Vec<String>) {
        let praise = self.compliment.fired(text);
        let request = self.service_request.fired(text);
        let no_response = self.no_response.fired(text);
        let (kind, first, mut reasons) = if !praise.is_empty() && dissatisfied.is_empty() {
            (
                Kind::Compliment,
                "praise with no sign of dissatisfaction (procedure §4.6)",
                praise,
            )
        } else if !request.is_empty() && dissatisfied.is_empty() {
            (
                Kind::ServiceRequest,
                "a request for a service with no dissatisfaction: not a complaint (Code §1.4)",
                request,
            )
        } else if !no_response.is_empty() && !dissatisfied.is_empty() {
            let mut fired = no_response;
            fired.extend(dissatisfied);
            (
                Kind::Feedback,
                "dissatisfaction, but the customer says no response is wanted (procedure §4.8)",
                fired,
            )
        } else if dissatisfied.is_empty() {
            (
                Kind::Complaint,
                "no rule recognised it as anything else: a complaint until a person decides otherwise (Code §1.2)",
                Vec::new(),
            )
        } else {
            (
                Kind::Complaint,
                "an expression of dissatisfaction (Code §1.2, procedure §2.1)",
                dissatisfied,
            )
        };
        reasons.insert(0, first.to_string());
        (kind, reasons)
    }

    /// Service area, themes, hazard and representative flags for a new case.
    /// A possible Awaab's Law hazard in `text`, and why: an emergency of any kind; no heat or hot
    /// water for a vulnerable resident; damp or mould with a sign of danger; else damp or mould.
    pub fn hazard(&self, text: &str) -> Option<(Hazard, Vec<String>)> {
        let emergency = self.emergency_hazards.fired(text);
        if !emergency.is_empty() {
            let mut reasons = vec![
                "an emergency hazard: possible Awaab's Law emergency, a person must look today"
                    .to_string(),
            ];
            reasons.extend(emergency);
            return Some((Hazard::PossibleEmergency, reasons));
        }
        let (no_heat, vulnerable) = (self.no_heat.fired(text), self.vulnerable.fired(text));
        if !no_heat.is_empty() && !vulnerable.is_empty() {
            let mut reasons = vec![
                "no heating or hot water for a vulnerable resident: possible Awaab's Law emergency, a person must look today".to_string(),
            ];
            reasons.extend(no_heat);
            reasons.extend(vulnerable);
            return Some((Hazard::PossibleEmergency, reasons));
        }
        if !self.damp_mould.is_match(text) {
            return None;
        }
        let signs = self.emergency.fired(text);
        if signs.is_empty() {
            let reason = "damp or mould reported: possible Awaab's Law hazard".to_string();
            return Some((Hazard::PossibleSignificant, vec![reason]));
        }
        let mut reasons = vec!["damp or mould with a sign of emergency: possible Awaab's Law emergency, a person must look today".to_string()];
        reasons.extend(signs);
        Some((Hazard::PossibleEmergency, reasons))
    }

    /// Why a later mail on a case that is not a complaint makes it one (Code 1.2–1.6: a service
    /// request or feedback turns into a complaint when the resident expresses dissatisfaction or
    /// asks to complain): the rules that fired on their own new words, if any.
    pub fn wants_to_complain(&self, mail: &ParsedMail) -> Vec<String> {
        let body = strip_quoted(&mail.text_body);
        let mut fired = self.dissatisfaction.fired(&body);
        fired.extend(self.escalation.fired(&body));
        fired
    }

    /// What a complaint taken by phone, letter or in person is about: its service area, themes,
    /// a possible Awaab's Law hazard and whether it is made for someone else.
    pub fn describe_complaint(&self, text: &str) -> Decision {
        let mut decision = Decision {
            kind: Kind::Complaint,
            robot: None,
            reasons: vec!["recorded by a handler".into()],
            service_area: None,
            themes: Vec::new(),
            hazard: None,
            representative: false,
        };
        self.describe(text, &mut decision);
        decision
    }

    fn describe(&self, text: &str, decision: &mut Decision) {
        decision.themes = self
            .themes
            .iter()
            .filter(|(_, rule)| rule.is_match(text))
            .map(|(name, _)| name.clone())
            .collect();
        let (area, reasons) = self.areas.area_of(text, &decision.themes);
        decision.service_area = area;
        decision.reasons.extend(reasons);
        if decision.service_area.is_none() {
            self.learned_area(text, decision);
        }
        if let Some((hazard, reasons)) = self.hazard(text) {
            decision.hazard = Some(hazard);
            decision.reasons.extend(reasons);
        }
        let representative = self.representative.fired(text);
        if !representative.is_empty() {
            decision.representative = true;
            decision.reasons.push(
                "written on behalf of someone else: written authorisation needed (procedure §4.1)"
                    .into(),
            );
            decision.reasons.extend(representative);
        }
    }

    /// The robot that sent `mail`, with the rules that say so, or `None` for a person.
    pub fn automated(&self, mail: &ParsedMail) -> Option<(Robot, Vec<String>)> {
        [
            (Robot::OurOwnMail, self.own_mail(mail)),
            (Robot::Bounce, self.bounce(mail)),
            (Robot::AutoReply, self.auto_reply(mail)),
            (Robot::MailingList, list_mail(mail)),
            (Robot::NoReplySender, no_reply_sender(mail)),
        ]
        .into_iter()
        .find(|(_, reasons)| !reasons.is_empty())
    }

    /// Our own mail coming back.
    fn own_mail(&self, mail: &ParsedMail) -> Vec<String> {
        let mut own = Vec::new();
        if let Some(id) = &mail.message_id
            && id
                .to_ascii_lowercase()
                .ends_with(&format!("@{}", self.own_message_id_domain))
            && id.starts_with("redress.")
        {
            own.push(format!("Message-ID <{id}> is one of ours"));
        }
        for (name, value) in &mail.headers {
            if name == "x-loop" && value.to_ascii_lowercase().contains(&self.own_address) {
                own.push(format!("X-Loop: {value} is ours"));
            }
        }
        for sender in [&mail.from, &mail.sender].into_iter().flatten() {
            if sender.address.eq_ignore_ascii_case(&self.own_address) {
                own.push(format!("sent from our own address {}", sender.address));
            }
        }
        own
    }

    /// Bounces and delivery reports.
    fn bounce(&self, mail: &ParsedMail) -> Vec<String> {
        let mut bounce = Vec::new();
        if mail.content_type == "multipart/report" {
            bounce.push(
                "Content-Type multipart/report (a delivery or disposition report, RFC 6522)"
                    .to_string(),
            );
        }
        if let Some(from) = &mail.from
            && (MAIL_SYSTEMS.contains(&mailbox_role(&from.address).as_str())
                || from.name.as_deref().is_some_and(is_mail_system_name))
        {
            bounce.push(format!("sender {} is a mail system", from.address));
        }
        if let Some(return_path) = mail.header("return-path")
            && return_path
                .trim()
                .trim_matches(|c| c == '<' || c == '>')
                .trim()
                .is_empty()
        {
            bounce.push("empty Return-Path <> (a bounce or other automatic notice)".to_string());
        }
        bounce.extend(self.bounce_subjects.fired(&mail.subject));
        bounce
    }

    /// Auto-replies (RFC 3834 and the headers real systems use).
    fn auto_reply(&self, mail: &ParsedMail) -> Vec<String> {
        let mut auto_reply = Vec::new();
        if let Some(value) = mail.header("auto-submitted") {
            let token = value
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            if token != "no" && !token.is_empty() {
                auto_reply.push(format!("Auto-Submitted: {value} (RFC 3834)"));
            }
        }
        for header in [
            "x-autoreply",
            "x-autorespond",
            "x-auto-response-suppress",
            "x-autogenerated",
        ] {
            if let Some(value) = mail.header(header) {
                auto_reply.push(format!("{header}: {value}"));
            }
        }
        if let Some(value) = mail.header("precedence")
            && matches!(
                value.trim().to_ascii_lowercase().as_str(),
                "junk" | "auto_reply" | "auto-reply"
            )
        {
            auto_reply.push(format!("Precedence: {value}"));
        }
        auto_reply.extend(self.auto_reply_subjects.fired(&mail.subject));
        auto_reply
    }
}

/// The local parts of a mail system's own addresses (RFC 5321 4.5.1, RFC 2142 and common use).
const MAIL_SYSTEMS: [&str; 5] = [
    "mailer-daemon",
    "postmaster",
    "post_master",
    "mail-daemon",
    "mailerdaemon",
];

/// The role part of an address, lower case: the local part up to a `+` or `=` tag, and up to a
/// stray `@` or `\` in a malformed one (`Postmaster\@example.com@relay` is a postmaster).
fn mailbox_role(address: &str) -> String {
    let local = address
        .rsplit_once('@')
        .map_or(address, |(local, _)| local)
        .to_ascii_lowercase();
    local
        .split(['+', '=', '@', '\\'])
        .next()
        .unwrap_or_default()
        .to_string()
}

/// A display name only a mail system gives itself ("Mail Delivery Subsystem", "MAILER-DAEMON",
/// "Postmaster"), whatever the address behind it.
fn is_mail_system_name(name: &str) -> bool {
    let name = name.trim().to_ascii_lowercase().replace(['-', '_'], " ");
    [
        "mail delivery",
        "mailer daemon",
        "mail daemon",
        "postmaster",
        "mail administrator",
    ]
    .iter()
    .any(|system| name == *system || name.starts_with(&format!("{system} ")))
}

/// A list's own robot address (the `-request`, `-bounces`, `-admin` and `-owner` addresses and
/// `owner-LIST` that RFC 2142, Mailman and Majordomo use), as sender or `Sender:`.
fn list_robot_address(address: &str) -> bool {
    let role = mailbox_role(address);
    ["-request", "-bounces", "-admin", "-owner"]
        .iter()
        .any(|suffix| role.ends_with(suffix))
        || role.starts_with("owner-")
}

/// Mailing lists (RFC 2369, RFC 2919) and bulk mail.
fn list_mail(mail: &ParsedMail) -> Vec<String> {
    let mut list = Vec::new();
    if let Some(value) = mail.header("precedence")
        && matches!(value.trim().to_ascii_lowercase().as_str(), "list" | "bulk")
    {
        list.push(format!("Precedence: {value}"));
    }
    // RFC 2369's and RFC 2919's headers, and ezmlm's Mailing-List.
    for header in [
        "list-id",
        "list-unsubscribe",
        "list-subscribe",
        "list-help",
        "list-post",
        "list-owner",
        "list-archive",
        "mailing-list",
        "x-mailman-version",
    ] {
        if let Some(value) = mail.header(header) {
            list.push(format!("{header}: {value}"));
        }
    }
    // fml's X-ML-Name, X-ML-Count, X-MLServer, ...
    if let Some((name, value)) = mail
        .headers
        .iter()
        .find(|(name, _)| name.starts_with("x-ml-") || name == "x-mlserver")
    {
        list.push(format!("{name}: {value} (fml list server)"));
    }
    // ezmlm and others deliver with "Delivered-To: mailing list LIST@HOST".
    if let Some((_, value)) = mail.headers.iter().find(|(name, value)| {
        name == "delivered-to"
            && value
                .trim()
                .to_ascii_lowercase()
                .starts_with("mailing list")
    }) {
        list.push(format!("Delivered-To: {value}"));
    }
    for sender in [&mail.from, &mail.sender].into_iter().flatten() {
        if list_robot_address(&sender.address) {
            list.push(format!("sender {} is a list's own address", sender.address));
        }
    }
    list
}

/// Senders whose address is a role that never reads replies: recorded and routed, never
/// answered (a letter to them is lost at best, a loop at worst).
fn no_reply_sender(mail: &ParsedMail) -> Vec<String> {
    let Some(from) = &mail.from else {
        return Vec::new();
    };
    let base = mailbox_role(&from.address);
    let base = base.as_str();
    let role = [
        "no-reply",
        "noreply",
        "no_reply",
        "do-not-reply",
        "donotreply",
        "do_not_reply",
    ]
    .iter()
    .any(|r| base.starts_with(r))
        || [
            "bounce",
            "bounces",
            "notifications",
            "notification",
            "mailer",
            "daemon",
        ]
        .contains(&base);
    if role {
        vec![format!(
            "sender {} is a role that never reads replies",
            from.address
        )]
    } else {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::mail::parse;

    const RULES: &str = include_str!("../../config/classification.toml");

    fn classifier() -> Classifier {
        Classifier::new("example.org", "complaints@example.org", RULES)
            .expect("shipped rules compile")
    }

    /// Issue 14: mail from our own address is recorded and never answered, X-Loop or not.
    #[test]
    fn mail_from_our_own_address_is_ours() {
        let c = classifier();
        let m = mail(
            "From: Complaints <Complaints@Example.org>\r\nSubject: Test\r\n",
            "Is this working? I am unhappy.",
        );
        let decision = c.classify(&m, None);
        assert_eq!(decision.kind, Kind::Automated);
        assert_eq!(decision.robot, Some(Robot::OurOwnMail));
    }

    /// Awaab's Law's first phase: emergency hazards of every kind, and significant damp and mould.
    #[test]
    fn awaab_hazards_of_every_kind_are_recognised() {
        let c = classifier();
        let kind = |text: &str| c.hazard(&text.to_lowercase()).map(|(h, _)| h);
        for emergency in [
            "There is a strong smell of gas in the kitchen.",
            "The socket in the hall is sparking and there are exposed live wires.",
            "Part of the bedroom ceiling has collapsed.",
            "My front door lock is broken and I cannot lock the flat.",
            "The fire door on our landing will not close.",
            "We have no heating and my mother is 87 years old.",
            "There is black mould and my baby keeps coughing.",
        ] {
            assert_eq!(
                kind(emergency),
                Some(Hazard::PossibleEmergency),
                "{emergency}"
            );
        }
        assert_eq!(
            kind("There is mould in the bathroom."),
            Some(Hazard::PossibleSignificant)
        );
        assert_eq!(kind("The heating is not working."), None, "not on its own");
        assert_eq!(kind("The fence panel is loose."), None);
    }

    fn mail(headers: &str, body: &str) -> ParsedMail {
        parse(format!("{headers}\r\n\r\n{body}\r\n").as_bytes())
    }

    fn person(subject: &str, body: &str) -> ParsedMail {
        mail(
            &format!("From: Jane <jane@example.net>\r\nSubject: {subject}"),
            body,
        )
    }

    #[test]
    fn a_bad_pattern_is_named() {
        let bad = RULES.replacen("\"escalat\"", "\"escal(at\"", 1);
        let err = Classifier::new("example.org", "c@example.org", &bad).expect_err("bad pattern");
        assert!(err.to_string().contains("signals.escalation[0]"), "{err}");
    }

    #[test]
    fn dissatisfaction_without_the_word_complaint_is_a_complaint() {
        let d = classifier().classify(
            &person(
                "Boiler",
                "Nobody came to fix the boiler and it has been three weeks now.",
            ),
            None,
        );
        assert_eq!(d.kind, Kind::Complaint);
        assert!(
            d.reasons.iter().any(|r| r.contains("dissatisfaction")),
            "{:?}",
            d.reasons
        );
    }

    /// Issue 12: a repair request that also says the service so far is not good enough is a
    /// complaint (Code 1.2: an expression of dissatisfaction, however made), not a service request.
    #[test]
    fn a_request_with_dissatisfaction_is_a_complaint() {
        let c = classifier();
        for body in [
            "The kitchen tap is leaking again. Please send someone, this is not acceptable.",
            "Can someone please come and fix the boiler? The engineer never turned up on Tuesday.",
            "Please arrange a repair to the front door and put it right this time.",
            "The toilet is not working. Could you send a plumber, we have been waiting for weeks.",
            "Please come and fix the window, the engineer didn't show up and we had enough.",
        ] {
            let d = c.classify(&person("Repair", body), None);
            assert_eq!(d.kind, Kind::Complaint, "{body}: {:?}", d.reasons);
        }
        let d = c.classify(
            &person(
                "Repair",
                "The kitchen tap is leaking. Could someone please come and fix it?",
            ),
            None,
        );
        assert_eq!(d.kind, Kind::ServiceRequest, "a plain request stays one");
    }

    #[test]
    fn when_in_doubt_it_is_a_complaint() {
        let d = classifier().classify(&person("Hello", "I need to speak to someone."), None);
        assert_eq!(d.kind, Kind::Complaint);
    }

    #[test]
    fn the_other_kinds() {
        let c = classifier();
        assert_eq!(
            c.classify(
                &person(
                    "Thank you",
                    "Thank you to Dave who fixed my boiler, great job."
                ),
                None
            )
            .kind,
            Kind::Compliment
        );
        assert_eq!(
            c.classify(
                &person(
                    "Tap",
                    "My kitchen tap is leaking, can someone come and fix it?"
                ),
                None
            )
            .kind,
            Kind::ServiceRequest
        );
        assert_eq!(
            c.classify(&person("Feedback", "I was disappointed the operative was late. I don't want a response, just wanted to let you know."), None).kind,
            Kind::Feedback
        );
        // Thanks with dissatisfaction is a complaint.
        assert_eq!(
            c.classify(
                &person(
                    "Re: repair",
                    "Thanks, but the leak is still not fixed after two visits."
                ),
                None
            )
            .kind,
            Kind::Complaint
        );
        // A request with dissatisfaction is a complaint.
        assert_eq!(
            c.classify(
                &person(
                    "Tap",
                    "Can someone come and fix my tap? I reported it weeks ago and nobody came."
                ),
                None
            )
            .kind,
            Kind::Complaint
        );
    }

    #[test]
    fn a_review_request_needs_a_sent_stage1_response() {
        let c = classifier();
        let mut case = KnownCase {
            reference: "CMP-2026-000001".into(),
            found_by: "subject".into(),
            stage: Some("stage1".into()),
            response_sent: false,
        };
        let m = person(
            "Re: CMP-2026-000001",
            "I am not happy with your response and want to escalate.",
        );
        assert_eq!(c.classify(&m, Some(&case)).kind, Kind::Reply);
        case.response_sent = true;
        assert_eq!(c.classify(&m, Some(&case)).kind, Kind::ReviewRequest);
        let thanks = person("Re: CMP-2026-000001", "Thank you, that is all sorted now.");
        assert_eq!(c.classify(&thanks, Some(&case)).kind, Kind::Reply);
    }

    #[test]
    fn quoted_mail_does_not_decide() {
        let body = "Thank you so much, much appreciated!\n\nOn Mon, 23 Nov 2026 at 10:00, Complaints <c@example.org> wrote:\n> We have received your complaint about the unacceptable delay.\n";
        let d = classifier().classify(&person("Re: your letter", body), None);
        assert_eq!(d.kind, Kind::Compliment, "{:?}", d.reasons);
        let outlook = "Great job, thanks.\n\n________________________________\nFrom: Complaints\nSent: 23 November 2026\nSubject: complaint\n\nYour complaint is unacceptable";
        assert_eq!(
            classifier().classify(&person("RE: x", outlook), None).kind,
            Kind::Compliment
        );
    }

    #[test]
    fn areas_themes_hazards_and_representatives() {
        let d = classifier().classify(
            &person("Mould", "I am writing on behalf of my mother. There is black mould in the bedroom and her asthma is getting worse. Nobody came."),
            None,
        );
        assert_eq!(d.kind, Kind::Complaint);
        assert_eq!(d.hazard, Some(Hazard::PossibleEmergency));
        assert!(d.representative);
        assert!(
            d.themes
                .contains(&"damp, mould and condensation".to_string()),
            "{:?}",
            d.themes
        );
        // This landlord sends damp and mould to Building Safety and Compliance (theme_areas).
        assert_eq!(
            d.service_area.as_deref(),
            Some("Building safety & compliance")
        );
        let d = classifier().classify(
            &person(
                "Noise",
                "The neighbour's noise every night is unacceptable, I've complained several times.",
            ),
            None,
        );
        assert_eq!(d.service_area.as_deref(), Some("Communities"));
        assert!(d.themes.contains(&"anti-social behaviour".to_string()));
        assert_eq!(d.hazard, None);
    }

    #[test]
    fn out_of_office_is_automated() {
        for headers in [
            "From: a@example.net\r\nSubject: Re: x\r\nAuto-Submitted: auto-replied",
            "From: a@example.net\r\nSubject: Automatic reply: your complaint",
            "From: a@example.net\r\nSubject: Abwesenheitsnotiz",
            "From: a@example.net\r\nSubject: x\r\nX-Autoreply: yes",
            "From: a@example.net\r\nSubject: x\r\nPrecedence: auto_reply",
        ] {
            let d = classifier().classify(&mail(headers, "away"), None);
            assert_eq!(d.robot, Some(Robot::AutoReply), "{headers}");
        }
    }

    #[test]
    fn auto_submitted_no_is_a_person() {
        let d = classifier().classify(
            &mail(
                "From: a@example.net\r\nSubject: x\r\nAuto-Submitted: no",
                "still broken",
            ),
            None,
        );
        assert_eq!(d.kind, Kind::Complaint);
    }

    #[test]
    fn bounces_lists_and_our_own_mail_are_automated() {
        let c = classifier();
        for headers in [
            "From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\r\nSubject: Undelivered Mail Returned to Sender",
            "From: postmaster@example.net\r\nSubject: Delivery Status Notification (Failure)",
            "From: a@example.net\r\nReturn-Path: <>\r\nSubject: hello",
        ] {
            assert_eq!(
                c.classify(&mail(headers, "failed"), None).robot,
                Some(Robot::Bounce),
                "{headers}"
            );
        }
        assert_eq!(
            c.classify(
                &mail(
                    "From: n@example.net\r\nList-Id: <news.example.net>\r\nSubject: News",
                    "x"
                ),
                None
            )
            .robot,
            Some(Robot::MailingList)
        );
        let ours = mail(
            "From: complaints@example.org\r\nMessage-ID: <redress.CMP-2026-000001.receipt.1@example.org>\r\nSubject: x",
            "x",
        );
        assert_eq!(c.classify(&ours, None).robot, Some(Robot::OurOwnMail));
        let looped = mail(
            "From: a@example.net\r\nX-Loop: complaints@example.org\r\nSubject: x",
            "x",
        );
        assert_eq!(c.classify(&looped, None).robot, Some(Robot::OurOwnMail));
    }

    #[test]
    fn an_auto_reply_quoting_a_case_is_still_automated() {
        let case = KnownCase {
            reference: "CMP-2026-000001".into(),
            found_by: "In-Reply-To".into(),
            stage: Some("stage1".into()),
            response_sent: true,
        };
        let m = mail(
            "From: a@example.net\r\nSubject: Out of Office: CMP-2026-000001\r\nAuto-Submitted: auto-replied",
            "away, not happy",
        );
        assert_eq!(classifier().classify(&m, Some(&case)).kind, Kind::Automated);
    }

    /// Issue 12: robot families that got letters: ezmlm, fml, lists without List-Id, carriers'
    /// and Japanese providers' error notices, and senders that never read replies.
    #[test]
    fn every_robot_family_is_known_for_a_robot() {
        let c = classifier();
        for (raw, robot) in [
            (
                "From: a@lists.example.net\r\nMailing-List: contact a-help@lists.example.net; run by ezmlm\r\nSubject: [a] repairs",
                Robot::MailingList,
            ),
            (
                "From: a@lists.example.net\r\nDelivered-To: mailing list a@lists.example.net\r\nSubject: digest",
                Robot::MailingList,
            ),
            (
                "From: ml@example.jp\r\nX-ML-Name: tenants\r\nX-ML-Count: 120\r\nSubject: (tenants 120) notice",
                Robot::MailingList,
            ),
            (
                "From: ml@example.jp\r\nX-MLServer: fml [fml 4.0]\r\nSubject: notice",
                Robot::MailingList,
            ),
            (
                "From: list@example.net\r\nList-Post: <mailto:list@example.net>\r\nSubject: hello",
                Robot::MailingList,
            ),
            (
                "From: post_master@carrier.example\r\nSubject: Re: my boiler",
                Robot::Bounce,
            ),
            (
                "From: mailer@docomo.example\r\nSubject: =?utf-8?b?44Oh44O844Or44Ko44Op44O86YCa55+l?=",
                Robot::Bounce,
            ),
            (
                "From: no-reply@contractor.example\r\nSubject: Job 123 booked",
                Robot::NoReplySender,
            ),
            (
                "From: DoNotReply@council.example\r\nSubject: Your request",
                Robot::NoReplySender,
            ),
            (
                "From: notifications@app.example\r\nSubject: Ticket updated",
                Robot::NoReplySender,
            ),
            (
                "From: bounces+abc=example.org@mail.example\r\nSubject: News",
                Robot::NoReplySender,
            ),
            // Found in public mail nobody here wrote (tests/fixtures/public).
            (
                "From: <Postmaster\\@example.com@relay.example>\r\nSubject: Mail Delivery Warning",
                Robot::Bounce,
            ),
            (
                "From: Mail Delivery Subsystem <xxx@example.com>\r\nContent-Type: multipart/mixed; boundary=A",
                Robot::Bounce,
            ),
            (
                "From: tenants-request@lists.example\r\nSender: tenants-admin@lists.example\r\nSubject: Tenants digest, Vol 1 #2",
                Robot::MailingList,
            ),
            (
                "From: Anne <anne@example.com>\r\nSender: owner-tenants@lists.example\r\nSubject: Re: repairs",
                Robot::MailingList,
            ),
            (
                "From: a@lists.example\r\nX-Mailman-Version: 2.0.4\r\nSubject: notice",
                Robot::MailingList,
            ),
        ] {
            let mail = parse(
                format!("{raw}\r\n\r\nI am very unhappy and want to complain.\r\n").as_bytes(),
            );
            let found = c.automated(&mail).map(|(r, _)| r);
            assert_eq!(found, Some(robot), "{raw}");
        }
        let person = parse(b"From: Jo Bloggs <jo.bloggs@example.net>\r\nSubject: Leak\r\n\r\nThe roof leaks and I want to complain.\r\n");
        assert_eq!(c.automated(&person), None, "a person is a person");
        let person = parse(
            b"From: Mail Deliveryman <pat@example.net>\r\nSubject: Leak\r\n\r\nIt leaks.\r\n",
        );
        assert_eq!(
            c.automated(&person),
            None,
            "a name is matched by whole words"
        );
    }

    #[test]
    fn what_people_taught_it_fills_the_area_the_rules_left_open_and_says_why() {
        let mut c = classifier();
        let unrouted = person("Garage", "Can I rent one of the garages behind Elm Court?");
        assert_eq!(
            c.classify(&unrouted, None).service_area,
            None,
            "no rule knows bins"
        );
        c.learn(Learned {
            kind: crate::intake::learned::Model::default(),
            area: crate::intake::learned::Model::fit([
                ("garage licence and garages to rent", "Estate services"),
                (
                    "the garages behind the flats are full of rubbish",
                    "Estate services",
                ),
                ("garage door on the estate garages", "Estate services"),
                ("rent statement wrong and arrears letter", "Income"),
                ("my rent account shows arrears I do not owe", "Income"),
                ("direct debit for rent taken twice", "Income"),
            ]),
        });
        let d = c.classify(&unrouted, None);
        assert_eq!(d.service_area.as_deref(), Some("Estate services"));
        let why = d
            .reasons
            .iter()
            .find(|r| r.starts_with("learned"))
            .expect("a learned reason");
        assert!(why.contains("garages"), "{why}");
        let routed = person(
            "Door",
            "The front door lock is broken and the repair was never done.",
        );
        assert_eq!(
            c.classify(&routed, None).service_area.as_deref(),
            Some("Repairs"),
            "a rule that fires wins"
        );
    }

    #[test]
    fn what_people_taught_it_only_ever_moves_a_mail_towards_a_complaint() {
        let mut c = classifier();
        let taught = crate::intake::learned::Model::fit([
            ("bins left behind the third week running", "complaint"),
            ("collect the bins left behind week running", "complaint"),
            ("bins left behind three weeks running now", "complaint"),
            (
                "please can you book a repair for the tap",
                "service_request",
            ),
            ("could someone fix the gate latch please", "service_request"),
            (
                "thank you to the caretaker for the lovely garden",
                "compliment",
            ),
        ]);
        c.learn(Learned {
            kind: taught,
            area: crate::intake::learned::Model::default(),
        });
        let request = person(
            "Bins",
            "Could someone please sort the bins, they were left behind for the third week running.",
        );
        assert_ne!(
            classifier().classify(&request, None).kind,
            Kind::Complaint,
            "the rules alone take it for something else"
        );
        let d = c.classify(&request, None);
        assert_eq!(d.kind, Kind::Complaint, "{:?}", d.reasons);
        let complaint = person(
            "Repair",
            "The repair is not acceptable and I want to complain.",
        );
        assert_eq!(c.classify(&complaint, None).kind, Kind::Complaint);
    }
}
