//! Deciding what an incoming mail is: automated mail that must never be answered, a reply on
//! an existing case, or a new complaint.
//!
//! Pure logic: the caller looks up the case the mail refers to (by reference or Message-ID) and
//! hands it in. Every decision carries the reasons that produced it, in words a complaints
//! manager can check. Precedence: automated mail first (a robot is never answered, whatever it
//! says), then replies on a known case, then a new complaint (when in doubt, it is a complaint).

use serde::Serialize;

use crate::mail::ParsedMail;

/// What a mail is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Bounce, auto-reply, list mail or our own mail coming back: recorded, never answered.
    Automated,
    /// More correspondence on a case we already have.
    Reply,
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
            Kind::Reply => "reply",
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
}

/// A classification with its reasons.
#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    pub kind: Kind,
    pub robot: Option<Robot>,
    /// The rules that fired, in words.
    pub reasons: Vec<String>,
}

/// The case a mail refers to, as the caller found it.
#[derive(Debug, Clone)]
pub struct KnownCase {
    pub reference: String,
    /// How it was found (reference in the subject, or a Message-ID in In-Reply-To/References).
    pub found_by: String,
}

/// The classifier's settings.
#[derive(Debug, Clone)]
pub struct Classifier {
    /// Domain of our own Message-IDs.
    own_message_id_domain: String,
    /// Our complaints address, as written into `X-Loop`.
    own_address: String,
}

const AUTO_REPLY_SUBJECTS: &[&str] = &[
    "automatic reply",
    "auto reply",
    "autoreply",
    "auto-reply",
    "out of office",
    "out of the office",
    "away from the office",
    "on leave",
    "abwesenheitsnotiz",
    "automatische antwort",
    "réponse automatique",
    "reponse automatique",
    "absence du bureau",
    "respuesta automática",
    "fuera de la oficina",
    "risposta automatica",
    "automatisch antwoord",
    "afwezig",
];

const BOUNCE_SUBJECTS: &[&str] = &[
    "undeliverable",
    "undelivered mail",
    "delivery status notification",
    "delivery failure",
    "delivery has failed",
    "mail delivery failed",
    "mail delivery failure",
    "returned mail",
    "failure notice",
    "mail system error",
    "nicht zustellbar",
    "unzustellbar",
    "non remis",
    "non distribuable",
];

impl Classifier {
    /// A classifier that knows our own Message-ID domain and address.
    pub fn new(own_message_id_domain: &str, own_address: &str) -> Self {
        Self {
            own_message_id_domain: own_message_id_domain.to_ascii_lowercase(),
            own_address: own_address.to_ascii_lowercase(),
        }
    }

    /// Decides what `mail` is; `known_case` is the case it refers to, if the caller found one.
    pub fn classify(&self, mail: &ParsedMail, known_case: Option<&KnownCase>) -> Decision {
        if mail.from.is_none() && mail.headers.is_empty() {
            return Decision {
                kind: Kind::Unreadable,
                robot: None,
                reasons: mail.problems.clone(),
            };
        }
        if let Some((robot, reasons)) = self.automated(mail) {
            return Decision {
                kind: Kind::Automated,
                robot: Some(robot),
                reasons,
            };
        }
        if let Some(case) = known_case {
            return Decision {
                kind: Kind::Reply,
                robot: None,
                reasons: vec![format!(
                    "refers to case {} ({})",
                    case.reference, case.found_by
                )],
            };
        }
        let mut reasons = vec!["a new message that is not automated and not about a known case: a complaint unless a person decides otherwise (Code §1.2)".to_string()];
        reasons.extend(mail.problems.iter().cloned());
        Decision {
            kind: if mail.from.is_none() {
                Kind::Unreadable
            } else {
                Kind::Complaint
            },
            robot: None,
            reasons,
        }
    }

    /// The robot that sent `mail`, with the rules that say so, or `None` for a person.
    pub fn automated(&self, mail: &ParsedMail) -> Option<(Robot, Vec<String>)> {
        let mut bounce = Vec::new();
        let mut auto_reply = Vec::new();
        let mut list = Vec::new();
        let mut own = Vec::new();

        // Our own mail coming back.
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
        if !own.is_empty() {
            return Some((Robot::OurOwnMail, own));
        }

        // Bounces and delivery reports.
        if mail.content_type == "multipart/report" {
            bounce.push(
                "Content-Type multipart/report (a delivery or disposition report, RFC 6522)"
                    .to_string(),
            );
        }
        let sender_local = |address: &str| {
            address
                .rsplit_once('@')
                .map(|(local, _)| local.to_ascii_lowercase())
                .unwrap_or_default()
        };
        if let Some(from) = &mail.from {
            let local = sender_local(&from.address);
            if local == "mailer-daemon" || local == "postmaster" || local == "mail-daemon" {
                bounce.push(format!("sender {} is a mail system", from.address));
            }
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
        let subject = mail.subject.to_lowercase();
        if let Some(phrase) = BOUNCE_SUBJECTS.iter().find(|p| subject.contains(*p)) {
            bounce.push(format!("subject contains \"{phrase}\""));
        }
        if !bounce.is_empty() {
            return Some((Robot::Bounce, bounce));
        }

        // Auto-replies (RFC 3834 and the headers real systems use).
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
        if let Some(value) = mail.header("precedence") {
            let v = value.trim().to_ascii_lowercase();
            if ["bulk", "junk", "list", "auto_reply", "auto-reply"].contains(&v.as_str()) {
                if v == "list" || v == "bulk" {
                    list.push(format!("Precedence: {value}"));
                } else {
                    auto_reply.push(format!("Precedence: {value}"));
                }
            }
        }
        if let Some(phrase) = AUTO_REPLY_SUBJECTS.iter().find(|p| subject.contains(*p)) {
            auto_reply.push(format!("subject contains \"{phrase}\""));
        }
        if !auto_reply.is_empty() {
            return Some((Robot::AutoReply, auto_reply));
        }

        // Mailing lists.
        for header in ["list-id", "list-unsubscribe"] {
            if let Some(value) = mail.header(header) {
                list.push(format!("{header}: {value}"));
            }
        }
        if !list.is_empty() {
            return Some((Robot::MailingList, list));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::parse;

    fn classifier() -> Classifier {
        Classifier::new("example.org", "complaints@example.org")
    }

    fn mail(headers: &str, body: &str) -> ParsedMail {
        parse(format!("{headers}\r\n\r\n{body}\r\n").as_bytes())
    }

    #[test]
    fn a_plain_mail_from_a_person_is_a_complaint() {
        let m = mail(
            "From: Jane <jane@example.net>\r\nSubject: Still no heating",
            "It has been three weeks.",
        );
        let d = classifier().classify(&m, None);
        assert_eq!(d.kind, Kind::Complaint);
        assert!(!d.reasons.is_empty());
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
            assert_eq!(d.kind, Kind::Automated, "{headers}");
            assert_eq!(d.robot, Some(Robot::AutoReply), "{headers}");
        }
    }

    #[test]
    fn auto_submitted_no_is_a_person() {
        let d = classifier().classify(
            &mail(
                "From: a@example.net\r\nSubject: x\r\nAuto-Submitted: no",
                "hi",
            ),
            None,
        );
        assert_eq!(d.kind, Kind::Complaint);
    }

    #[test]
    fn bounces_are_automated() {
        for headers in [
            "From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\r\nSubject: Undelivered Mail Returned to Sender",
            "From: postmaster@example.net\r\nSubject: Delivery Status Notification (Failure)",
            "From: a@example.net\r\nReturn-Path: <>\r\nSubject: hello",
        ] {
            let d = classifier().classify(&mail(headers, "failed"), None);
            assert_eq!(d.robot, Some(Robot::Bounce), "{headers}");
        }
    }

    #[test]
    fn list_mail_and_our_own_mail_are_automated() {
        let d = classifier().classify(
            &mail(
                "From: news@example.net\r\nList-Id: <news.example.net>\r\nSubject: Newsletter",
                "x",
            ),
            None,
        );
        assert_eq!(d.robot, Some(Robot::MailingList));
        let d = classifier().classify(
            &mail("From: complaints@example.org\r\nMessage-ID: <redress.CMP-2026-000001.receipt.abc@example.org>\r\nSubject: x", "x"),
            None,
        );
        assert_eq!(d.robot, Some(Robot::OurOwnMail));
        let d = classifier().classify(
            &mail(
                "From: a@example.net\r\nX-Loop: complaints@example.org\r\nSubject: x",
                "x",
            ),
            None,
        );
        assert_eq!(d.robot, Some(Robot::OurOwnMail));
    }

    #[test]
    fn a_reply_on_a_known_case_is_a_reply() {
        let case = KnownCase {
            reference: "CMP-2026-000001".into(),
            found_by: "reference in subject".into(),
        };
        let d = classifier().classify(
            &mail(
                "From: a@example.net\r\nSubject: Re: CMP-2026-000001",
                "more photos",
            ),
            Some(&case),
        );
        assert_eq!(d.kind, Kind::Reply);
        assert!(d.reasons[0].contains("CMP-2026-000001"));
    }

    #[test]
    fn an_auto_reply_quoting_a_case_is_still_automated() {
        let case = KnownCase {
            reference: "CMP-2026-000001".into(),
            found_by: "In-Reply-To".into(),
        };
        let d = classifier().classify(
            &mail("From: a@example.net\r\nSubject: Out of Office: CMP-2026-000001\r\nAuto-Submitted: auto-replied", "away"),
            Some(&case),
        );
        assert_eq!(d.kind, Kind::Automated);
    }
}
