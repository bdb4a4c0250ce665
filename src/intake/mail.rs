//! Parsing a raw message once, at the edge, into redress's own owned type.
//!
//! Any MIME structure and charset that mail-parser understands becomes a [`ParsedMail`] with the
//! headers classification needs, a plain-text body (HTML converted when there is no text part),
//! and the attachments as evidence. A message that cannot be made sense of is not an error that
//! loses mail: [`parse`] always returns a value, with `problems` saying what is wrong, so the
//! caller keeps the raw bytes and flags the case for a person.

use chrono::{DateTime, Utc};
use mail_parser::{Address, HeaderValue, MessageParser, MimeHeaders};
use sha2::{Digest, Sha256};

/// An attachment kept as evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub filename: Option<String>,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// A mailbox address with its display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailAddress {
    pub name: Option<String>,
    pub address: String,
}

/// A parsed incoming message, owned, independent of the parser.
#[derive(Debug, Clone, Default)]
pub struct ParsedMail {
    /// Message-ID without angle brackets.
    pub message_id: Option<String>,
    pub from: Option<MailAddress>,
    pub reply_to: Option<MailAddress>,
    pub sender: Option<MailAddress>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub subject: String,
    pub date: Option<DateTime<Utc>>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    /// Every header, name lower-cased, value unfolded, in order.
    pub headers: Vec<(String, String)>,
    /// `type/subtype` of the top-level part, lower-cased.
    pub content_type: String,
    pub text_body: String,
    pub attachments: Vec<Attachment>,
    /// What could not be read; non-empty means a person must look at it.
    pub problems: Vec<String>,
}

/// Removes U+0000, which PostgreSQL's text type refuses (a hostile or broken encoded word can
/// decode to it); the raw bytes keep the mail exactly as it came.
fn strip_nul(text: &mut String) {
    if text.contains('\0') {
        text.retain(|c| c != '\0');
    }
}

impl ParsedMail {
    /// The same mail with every decoded text safe to store on any backend.
    fn without_nul(mut self) -> ParsedMail {
        let texts = [
            &mut self.subject,
            &mut self.text_body,
            &mut self.content_type,
        ];
        for text in texts {
            strip_nul(text);
        }
        for address in [&mut self.from, &mut self.reply_to, &mut self.sender]
            .into_iter()
            .flatten()
        {
            strip_nul(&mut address.address);
            address.name.iter_mut().for_each(strip_nul);
        }
        let lists = [
            &mut self.to,
            &mut self.cc,
            &mut self.in_reply_to,
            &mut self.references,
        ];
        for list in lists {
            list.iter_mut().for_each(strip_nul);
        }
        self.message_id.iter_mut().for_each(strip_nul);
        for (name, value) in &mut self.headers {
            strip_nul(name);
            strip_nul(value);
        }
        for attachment in &mut self.attachments {
            attachment.filename.iter_mut().for_each(strip_nul);
            strip_nul(&mut attachment.content_type);
        }
        self
    }

    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// True when a header of that name is present.
    pub fn has_header(&self, name: &str) -> bool {
        self.header(name).is_some()
    }

    /// Where an answer should go: Reply-To when given, else From.
    pub fn reply_address(&self) -> Option<&MailAddress> {
        self.reply_to.as_ref().or(self.from.as_ref())
    }

    /// Every Message-ID this mail refers to (In-Reply-To, then References).
    pub fn referenced_ids(&self) -> impl Iterator<Item = &str> {
        self.in_reply_to
            .iter()
            .chain(self.references.iter())
            .map(String::as_str)
    }
}

/// SHA-256 of the raw bytes, hex.
pub fn content_hash(raw: &[u8]) -> String {
    hex::encode(Sha256::digest(raw))
}

/// Header fields added in transit, not by the sender: left out of a mail's identity.
const TRACE_HEADERS: &[&str] = &[
    "received",
    "return-path",
    "delivered-to",
    "x-original-to",
    "x-envelope-to",
    "x-delivered-to",
    "x-received",
    "received-spf",
    "authentication-results",
    "x-virus-scanned",
];

/// Prefixes of header fields added in transit.
const TRACE_PREFIXES: &[&str] = &["arc-", "x-spam-", "x-ms-exchange-", "x-google-", "x-gm-"];

fn is_trace(name: &str) -> bool {
    let name = name.trim().to_ascii_lowercase();
    TRACE_HEADERS.contains(&name.as_str()) || TRACE_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// A mail's identity: the SHA-256 of its bytes without the trace header fields (RFC 5322
/// fields with their folded continuation lines), so a re-delivery by another route is the
/// same mail.
pub fn identity_hash(raw: &[u8]) -> String {
    let (head, body) = split_head(raw);
    let mut hasher = Sha256::new();
    for (name, field) in header_fields(head) {
        if !is_trace(&name) {
            hasher.update(field);
        }
    }
    hasher.update(body);
    hex::encode(hasher.finalize())
}

/// A mail's header (with the line ending that closes its last field) and the rest.
fn split_head(raw: &[u8]) -> (&[u8], &[u8]) {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 2)
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n").map(|p| p + 1))
        .unwrap_or(raw.len());
    raw.split_at(end)
}

/// Each header field with its name: the whole field, folded lines and all, as it came.
fn header_fields(head: &[u8]) -> Vec<(String, &[u8])> {
    let mut fields: Vec<(String, &[u8])> = Vec::new();
    let mut start = 0;
    for line in head.split_inclusive(|b| *b == b'\n') {
        let continuation = line.first().is_some_and(|b| *b == b' ' || *b == b'\t');
        if continuation && let Some((_, field)) = fields.last_mut() {
            *field = &head[start - field.len()..start + line.len()];
        } else {
            let name = line.split(|b| *b == b':').next().unwrap_or(line);
            let name = String::from_utf8_lossy(name).trim().to_ascii_lowercase();
            fields.push((name, line));
        }
        start += line.len();
    }
    fields
}

/// What is kept of a mail too large to take whole: its own header, but for the fields that
/// describe a body it no longer has, and `note` as a plain-text body in its place.
pub fn stand_in(header: &[u8], note: &str) -> Vec<u8> {
    let (head, _) = split_head(header);
    let mut raw = Vec::with_capacity(head.len() + note.len() + 128);
    for (name, field) in header_fields(head) {
        let describes_body = name.starts_with("content-") || name == "mime-version";
        if !describes_body && !field.iter().all(u8::is_ascii_whitespace) {
            raw.extend_from_slice(field);
        }
    }
    if !raw.ends_with(b"\n") && !raw.is_empty() {
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(
        b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
    );
    raw.extend_from_slice(note.as_bytes());
    raw.extend_from_slice(b"\r\n");
    raw
}

/// Strips angle brackets and white space from a Message-ID.
pub fn normalise_message_id(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
        .to_string()
}

fn first_address(address: Option<&Address<'_>>) -> Option<MailAddress> {
    let addr = address?.iter().find(|a| a.address().is_some())?;
    let address = addr.address()?.trim().to_string();
    if !address.contains('@') {
        return None;
    }
    Some(MailAddress {
        name: addr
            .name()
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty()),
        address,
    })
}

fn all_addresses(address: Option<&Address<'_>>) -> Vec<String> {
    address
        .map(|a| {
            a.iter()
                .filter_map(|addr| addr.address())
                .map(|s| s.trim().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn message_ids(value: &HeaderValue<'_>) -> Vec<String> {
    match value {
        HeaderValue::Text(id) => vec![normalise_message_id(id)],
        HeaderValue::TextList(ids) => ids.iter().map(|id| normalise_message_id(id)).collect(),
        _ => Vec::new(),
    }
}

fn unfold(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `type/subtype`, lower-cased, or the default when the part does not say.
fn mime_type(
    content_type: Option<&mail_parser::ContentType<'_>>,
    default_type: &str,
    default_subtype: &str,
) -> String {
    match content_type {
        Some(ct) => format!(
            "{}/{}",
            ct.ctype().to_ascii_lowercase(),
            ct.subtype().unwrap_or(default_subtype).to_ascii_lowercase()
        ),
        None => format!("{default_type}/{default_subtype}"),
    }
}

/// What a person must know could not be read.
fn problems(mail: &ParsedMail) -> Vec<String> {
    let mut problems = Vec::new();
    if mail.from.is_none() {
        problems.push("no sender address could be read from the From header".to_string());
    }
    if mail.text_body.trim().is_empty() && mail.attachments.is_empty() && mail.subject.is_empty() {
        problems.push("the message has no subject, text or attachment".to_string());
    }
    problems
}

/// Parses raw bytes. Never fails: problems are listed in the result.
pub fn parse(raw: &[u8]) -> ParsedMail {
    let Some(message) = MessageParser::default().parse(raw) else {
        return ParsedMail {
            text_body: String::from_utf8_lossy(raw).into_owned(),
            problems: vec!["no mail headers could be read".to_string()],
            ..ParsedMail::default()
        }
        .without_nul();
    };

    let headers: Vec<(String, String)> = message
        .headers_raw()
        .map(|(name, value)| (name.to_ascii_lowercase(), unfold(value)))
        .collect();

    let content_type = mime_type(message.content_type(), "text", "plain");

    let text_body = message
        .body_text(0)
        .map(|body| body.into_owned())
        .unwrap_or_default();

    let attachments = message
        .attachments()
        .map(|part| Attachment {
            filename: part.attachment_name().map(str::to_string),
            content_type: mime_type(part.content_type(), "application", "octet-stream"),
            bytes: part.contents().to_vec(),
        })
        .collect();

    let mut parsed = ParsedMail {
        message_id: message
            .message_id()
            .map(normalise_message_id)
            .filter(|id| !id.is_empty()),
        from: first_address(message.from()),
        reply_to: first_address(message.reply_to()),
        sender: first_address(message.sender()),
        to: all_addresses(message.to()),
        cc: all_addresses(message.cc()),
        subject: message.subject().map(unfold).unwrap_or_default(),
        date: message
            .date()
            .and_then(|d| DateTime::from_timestamp(d.to_timestamp(), 0)),
        in_reply_to: message_ids(message.in_reply_to()),
        references: message_ids(message.references()),
        headers,
        content_type,
        text_body,
        attachments,
        problems: Vec::new(),
    };
    parsed.problems = problems(&parsed);
    parsed.without_nul()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 14 (2): what is kept of a mail too large to take reads as the sender's mail (who,
    /// when, what about, threading) with our note for its body, whatever its own body was.
    #[test]
    fn a_stand_in_keeps_the_header_and_replaces_the_body() {
        let header = b"From: Ms A <a@example.test>\r\nSubject: Photos\r\n of the mould\r\nMessage-ID: <m1@example.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed;\r\n boundary=\"b1\"\r\n\r\n";
        let raw = stand_in(header, "too large: see the Quarantine folder");
        let mail = parse(&raw);
        assert_eq!(mail.subject, "Photos of the mould");
        assert_eq!(mail.message_id.as_deref(), Some("m1@example.test"));
        assert_eq!(
            mail.from.map(|f| f.address).as_deref(),
            Some("a@example.test")
        );
        assert!(
            mail.text_body.contains("see the Quarantine folder"),
            "{}",
            mail.text_body
        );
        assert!(!String::from_utf8_lossy(&raw).contains("multipart"));
    }

    /// Issue 14: the same mail delivered again with one more trace header is the same mail.
    #[test]
    fn a_mails_identity_ignores_trace_headers() {
        let once = b"Received: from a by b; Mon, 23 Nov 2026 10:00:00 +0000\r\nFrom: j@example.net\r\nSubject: Boiler\r\nMessage-ID: <m@example.net>\r\n\r\nBroken.\r\n";
        let again = b"Delivered-To: alias@example.org\r\nReceived: from c by d;\r\n Mon, 23 Nov 2026 10:05:00 +0000\r\nReceived: from a by b; Mon, 23 Nov 2026 10:00:00 +0000\r\nFrom: j@example.net\r\nSubject: Boiler\r\nMessage-ID: <m@example.net>\r\n\r\nBroken.\r\n";
        assert_eq!(identity_hash(once), identity_hash(again));
        let changed = b"From: j@example.net\r\nSubject: Boiler!\r\nMessage-ID: <m@example.net>\r\n\r\nBroken.\r\n";
        assert_ne!(identity_hash(once), identity_hash(changed));
        assert_ne!(
            content_hash(once),
            content_hash(again),
            "the evidence hash still differs"
        );
    }

    /// Issue 14: PostgreSQL refuses U+0000, which an encoded word can decode to.
    #[test]
    fn a_nul_in_any_decoded_text_is_dropped_and_the_raw_kept() {
        let raw = b"From: =?utf-8?q?Jane=00_Doe?= <jane@example.net>\r\nTo: c@example.org\r\nSubject: =?utf-8?q?Broken_boiler=00?=\r\nMessage-ID: <a\x00b@example.net>\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nIt is broken.\x00\r\n--b\r\nContent-Type: image/png; name=\"=?utf-8?q?wall=00.png?=\"\r\nContent-Disposition: attachment; filename=\"=?utf-8?q?wall=00.png?=\"\r\n\r\nPNG\r\n--b--\r\n";
        let mail = parse(raw);
        assert_eq!(mail.subject, "Broken boiler");
        let from = mail.from.as_ref().expect("from");
        assert_eq!(from.name.as_deref(), Some("Jane Doe"));
        assert!(!mail.text_body.contains('\0'));
        assert!(
            mail.attachments
                .iter()
                .all(|a| a.filename.as_deref().is_none_or(|f| !f.contains('\0')))
        );
        assert!(
            mail.headers
                .iter()
                .all(|(n, v)| !n.contains('\0') && !v.contains('\0'))
        );
    }

    #[test]
    fn a_plain_mail_is_read() {
        let raw = b"From: Jane Tenant <jane@example.net>\r\nTo: complaints@example.org\r\nSubject: Broken boiler\r\nMessage-ID: <abc@example.net>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\nNo heating for two weeks.\r\n";
        let m = parse(raw);
        assert_eq!(m.message_id.as_deref(), Some("abc@example.net"));
        let from = m.from.expect("from");
        assert_eq!(from.address, "jane@example.net");
        assert_eq!(from.name.as_deref(), Some("Jane Tenant"));
        assert_eq!(m.subject, "Broken boiler");
        assert!(m.text_body.contains("No heating"));
        assert!(m.problems.is_empty());
    }

    #[test]
    fn non_utf8_charsets_and_encoded_words_are_decoded() {
        let raw = b"From: =?ISO-8859-1?Q?Ren=E9e?= <renee@example.net>\r\nSubject: =?ISO-8859-1?Q?R=E9paration?=\r\nContent-Type: text/plain; charset=windows-1252\r\nContent-Transfer-Encoding: 8bit\r\n\r\nLe loyer co\xfbte 500 \x80.\r\n";
        let m = parse(raw);
        assert_eq!(m.subject, "R\u{e9}paration");
        assert_eq!(m.from.and_then(|f| f.name).as_deref(), Some("Ren\u{e9}e"));
        assert!(
            m.text_body.contains("co\u{fb}te 500 \u{20ac}"),
            "{}",
            m.text_body
        );
    }

    #[test]
    fn html_only_mail_becomes_text() {
        let raw = b"From: a@example.net\r\nSubject: x\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>The <b>damp</b> is back</p></body></html>\r\n";
        let m = parse(raw);
        assert!(m.text_body.contains("damp"), "{}", m.text_body);
        assert!(!m.text_body.contains("<b>"));
    }

    #[test]
    fn attachments_are_kept() {
        let raw = b"From: a@example.net\r\nSubject: photos\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nSee the photo.\r\n--b\r\nContent-Type: image/jpeg\r\nContent-Disposition: attachment; filename=\"mould.jpg\"\r\nContent-Transfer-Encoding: base64\r\n\r\n/9j/4AAQ\r\n--b--\r\n";
        let m = parse(raw);
        assert_eq!(m.attachments.len(), 1);
        assert_eq!(m.attachments[0].filename.as_deref(), Some("mould.jpg"));
        assert_eq!(m.attachments[0].content_type, "image/jpeg");
        assert_eq!(
            m.attachments[0].bytes,
            vec![0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]
        );
    }

    #[test]
    fn threading_headers_are_read() {
        let raw = b"From: a@example.net\r\nSubject: Re: x\r\nIn-Reply-To: <one@redress>\r\nReferences: <zero@x> <one@redress>\r\n\r\nthanks\r\n";
        let m = parse(raw);
        assert_eq!(m.in_reply_to, vec!["one@redress"]);
        assert_eq!(m.references, vec!["zero@x", "one@redress"]);
    }

    #[test]
    fn garbage_is_kept_with_a_problem() {
        let raw = b"\x00\x01\x02 this is not a mail at all";
        let m = parse(raw);
        assert!(!m.problems.is_empty());
        assert!(m.from.is_none());
    }
}
