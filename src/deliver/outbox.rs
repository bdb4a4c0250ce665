//! Sending what the outbox holds: claim one letter, send it by SMTP, mark it sent only once the
//! server accepted it, retry with backoff when it did not.
//!
//! Every letter carries our own stable Message-ID (so replies thread back to the case),
//! In-Reply-To/References to the customer's mail, `Auto-Submitted: auto-replied` (RFC 3834, so
//! other robots do not answer us) and an `X-Loop` header naming our address (so our own mail
//! coming back is recognised). The exact bytes sent are kept in the case's record.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::app::App;
use crate::case::CaseError;
use crate::case::apply::apply;
use crate::case::delivery;
use crate::clock::Clock;
use crate::config::{OrganisationSettings, Security, SmtpSettings};
use crate::store::OutboxRow;
use crate::store::health::Component;
use chrono::{DateTime, Utc};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, header::Header};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// A sending failure.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The server refused for good (5xx) or the letter cannot be built: do not retry.
    #[error("permanent failure: {0}")]
    Permanent(String),
    /// Try again later.
    #[error("temporary failure: {0}")]
    Transient(String),
}

/// Something that delivers a built letter: SMTP in production.
pub trait EmailSender: Send + Sync {
    /// Sends `raw` to `to`; Ok once the server accepted it.
    fn send(
        &self,
        from: &str,
        to: &str,
        raw: &[u8],
    ) -> impl Future<Output = Result<(), SendError>> + Send;
}

/// SMTP submission through lettre.
#[derive(Clone)]
pub struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    /// With `smtp.auth = "oauth2"`: the user, the token source, and the server's settings to
    /// build a transport signed in with the current token (rebuilt when the token changes).
    oauth2: Option<OAuthSmtp>,
}

/// A transport and the token it signs in with.
type SignedIn = (String, AsyncSmtpTransport<Tokio1Executor>);

#[derive(Clone)]
struct OAuthSmtp {
    user: String,
    tokens: std::sync::Arc<crate::tokens::TokenSource>,
    settings: SmtpSettings,
    current: std::sync::Arc<std::sync::Mutex<Option<SignedIn>>>,
}

impl std::fmt::Debug for SmtpSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SmtpSender")
    }
}

impl SmtpSender {
    /// A sender for the configured server.
    pub fn new(settings: &SmtpSettings) -> Result<SmtpSender, SendError> {
        let transport = Self::transport(settings, None)?;
        let oauth2 = settings.oauth2.as_ref().map(|(user, tokens)| OAuthSmtp {
            user: user.clone(),
            tokens: tokens.clone(),
            settings: settings.clone(),
            current: Default::default(),
        });
        Ok(SmtpSender { transport, oauth2 })
    }

    /// The transport to send with now: signed in with the current OAuth2 token, or the one
    /// built at start (password or no login).
    async fn current(&self) -> Result<AsyncSmtpTransport<Tokio1Executor>, SendError> {
        let Some(oauth) = &self.oauth2 else {
            return Ok(self.transport.clone());
        };
        let token = oauth
            .tokens
            .token()
            .await
            .map_err(|e| SendError::Transient(e.to_string()))?;
        let mut current = oauth.current.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((used, transport)) = current.as_ref()
            && *used == token
        {
            return Ok(transport.clone());
        }
        let xoauth2 = Credentials::new(oauth.user.clone(), token.clone());
        let transport = Self::transport(&oauth.settings, Some(xoauth2))?;
        *current = Some((token, transport.clone()));
        Ok(transport)
    }

    /// A transport for `settings`; `xoauth2` signs in with SASL XOAUTH2 instead of a password.
    fn transport(
        settings: &SmtpSettings,
        xoauth2: Option<Credentials>,
    ) -> Result<AsyncSmtpTransport<Tokio1Executor>, SendError> {
        let tls_parameters = || -> Result<TlsParameters, SendError> {
            let mut builder = TlsParameters::builder(settings.host.clone());
            if let Some(path) = &settings.ca_file {
                let pem = std::fs::read(path).map_err(|e| {
                    SendError::Permanent(format!(
                        "cannot read smtp.ca_file {}: {e}",
                        path.display()
                    ))
                })?;
                let cert = Certificate::from_pem(&pem)
                    .map_err(|e| SendError::Permanent(format!("smtp.ca_file: {e}")))?;
                builder = builder.add_root_certificate(cert);
            }
            builder
                .build_rustls()
                .map_err(|e| SendError::Permanent(format!("TLS set-up: {e}")))
        };
        let tls = match settings.security {
            Security::Tls => Tls::Wrapper(tls_parameters()?),
            Security::StartTls => Tls::Required(tls_parameters()?),
            Security::None => Tls::None,
        };
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(settings.host.clone())
                .port(settings.port)
                .tls(tls)
                .timeout(Some(SMTP_TIMEOUT));
        if let Some(credentials) = xoauth2 {
            builder = builder
                .credentials(credentials)
                .authentication(vec![Mechanism::Xoauth2]);
        } else if let Some((user, password)) = &settings.credentials {
            let password = password
                .expose()
                .map_err(|e| SendError::Permanent(e.to_string()))?;
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        Ok(builder.build())
    }

    /// Connects and says hello, to check the settings.
    pub async fn test_connection(&self) -> Result<(), SendError> {
        match self.current().await?.test_connection().await {
            Ok(true) => Ok(()),
            Ok(false) => Err(SendError::Transient(
                "the server did not accept a connection".into(),
            )),
            Err(e) => Err(SendError::Transient(e.to_string())),
        }
    }
}

impl EmailSender for SmtpSender {
    async fn send(&self, from: &str, to: &str, raw: &[u8]) -> Result<(), SendError> {
        let envelope = lettre::address::Envelope::new(
            Some(
                from.parse()
                    .map_err(|e| SendError::Permanent(format!("sender address: {e}")))?,
            ),
            vec![
                to.parse()
                    .map_err(|e| SendError::Permanent(format!("recipient address: {e}")))?,
            ],
        )
        .map_err(|e| SendError::Permanent(e.to_string()))?;
        match self.current().await?.send_raw(&envelope, raw).await {
            Ok(_) => Ok(()),
            // A refused token (535) is dropped so the next try fetches a fresh one; the letter waits.
            Err(e)
                if self.oauth2.is_some()
                    && e.status().is_some_and(|c| c.to_string().starts_with("535")) =>
            {
                if let Some(oauth) = &self.oauth2 {
                    oauth.tokens.invalidate();
                }
                Err(SendError::Transient(e.to_string()))
            }
            Err(e) if e.is_permanent() => Err(SendError::Permanent(e.to_string())),
            Err(e) => Err(SendError::Transient(e.to_string())),
        }
    }
}

#[derive(Clone)]
struct RawHeader {
    name: &'static str,
    value: String,
}

macro_rules! text_header {
    ($type:ident, $name:literal) => {
        #[derive(Clone)]
        struct $type(String);
        impl Header for $type {
            fn name() -> HeaderName {
                HeaderName::new_from_ascii_str($name)
            }
            fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
                Ok(Self(s.to_string()))
            }
            fn display(&self) -> HeaderValue {
                HeaderValue::new(Self::name(), self.0.clone())
            }
        }
    };
}

text_header!(AutoSubmitted, "Auto-Submitted");
text_header!(XLoop, "X-Loop");
text_header!(AutoResponseSuppress, "X-Auto-Response-Suppress");

impl RawHeader {
    fn apply(self, builder: lettre::message::MessageBuilder) -> lettre::message::MessageBuilder {
        match self.name {
            "Auto-Submitted" => builder.header(AutoSubmitted(self.value)),
            "X-Loop" => builder.header(XLoop(self.value)),
            _ => builder.header(AutoResponseSuppress(self.value)),
        }
    }
}

/// Builds the exact bytes of a letter.
pub fn build_letter(
    letter: &OutboxRow,
    from: &str,
    org: &OrganisationSettings,
    now: DateTime<Utc>,
) -> Result<Vec<u8>, SendError> {
    let from: Mailbox = from
        .parse()
        .map_err(|e| SendError::Permanent(format!("smtp.from is not an address: {e}")))?;
    let to: Mailbox = letter
        .to_address
        .parse()
        .map_err(|e| SendError::Permanent(format!("recipient {}: {e}", letter.to_address)))?;
    let mut builder = Message::builder()
        .from(from)
        .to(to)
        .subject(letter.subject.clone())
        .message_id(Some(format!("<{}>", letter.message_id)))
        .date(now.into());
    if let Some(id) = &letter.in_reply_to {
        builder = builder.in_reply_to(format!("<{id}>"));
    }
    if let Some(refs) = &letter.references {
        builder = builder.references(refs.clone());
    }
    // Letters answering a customer's mail are auto-replied; notices, reminders and digests to
    // staff are auto-generated (RFC 3834).
    let auto = if letter.kind == "notice"
        || letter.kind == "digest"
        || letter.kind.starts_with("reminder")
    {
        "auto-generated"
    } else {
        "auto-replied"
    };
    for header in [
        RawHeader {
            name: "Auto-Submitted",
            value: auto.into(),
        },
        RawHeader {
            name: "X-Loop",
            value: org.complaints_address.clone(),
        },
        RawHeader {
            name: "X-Auto-Response-Suppress",
            value: "All".into(),
        },
    ] {
        builder = header.apply(builder);
    }
    // The plain text, and beside it the accessible HTML part when the letter has one.
    let message = match &letter.html {
        Some(html) => builder.multipart(MultiPart::alternative_plain_html(
            letter.body.clone(),
            html.clone(),
        )),
        None => builder
            .header(ContentType::TEXT_PLAIN)
            .body(letter.body.clone()),
    }
    .map_err(|e| SendError::Permanent(format!("letter cannot be built: {e}")))?;
    Ok(message.formatted())
}

/// How long to wait before retry number `attempt` (1-based): 1, 2, 4 ... minutes, at most an hour.
pub fn retry_delay(attempt: i64) -> chrono::Duration {
    let minutes = 1i64 << attempt.clamp(1, 7).saturating_sub(1);
    chrono::Duration::minutes(minutes.min(60))
}

/// Every SMTP exchange ends within this (lettre's timeout per command).
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(40);

/// How long a claimed letter stays claimed: longer than a send can take (`SMTP_TIMEOUT`), so no
/// other instance sends it meanwhile; short, so the claims of an instance that died are free
/// again within a minute.
pub const CLAIM_LEASE: chrono::Duration = chrono::Duration::seconds(55);

/// After this many attempts a letter is given up and its case flagged.
pub const MAX_ATTEMPTS: i64 = 30;

/// What one step of the worker did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepOutcome {
    Idle,
    Sent { letter_id: i64 },
    Retrying { letter_id: i64 },
    GaveUp { letter_id: i64 },
}

/// Claims one due letter and tries to send it. Tests drain the queue by calling this until `Idle`.
pub async fn send_one(
    app: &App,
    sender: &impl EmailSender,
    clock: &Clock,
) -> Result<StepOutcome, CaseError> {
    let now = clock.now();
    let Some(letter) = app.store.claim_letter(now, now + CLAIM_LEASE).await? else {
        return Ok(StepOutcome::Idle);
    };
    let org = &app.rules.settings.organisation;
    let from = &app.rules.settings.smtp.from;
    let result = match build_letter(&letter, from, org, now) {
        Ok(raw) => sender
            .send(&org.complaints_address, &letter.to_address, &raw)
            .await
            .map(|()| raw),
        Err(e) => Err(e),
    };
    let now = clock.now();
    match result {
        Ok(raw) => {
            // The server has it: say so first and alone; a crash from here on cannot send it
            // twice (the recording below is finished at the next start if it is cut short).
            app.store.mark_letter_accepted(letter.id, now).await?;
            record_sent(app, &letter, &raw, now).await?;
            tracing::info!(letter = letter.id, kind = %letter.kind, "letter sent");
            app.store.record_success(Component::Send, now).await?;
            // The server answers: whatever waits out a backoff from an outage goes now.
            let released = app.store.release_waiting_letters(now).await?;
            if released > 0 {
                tracing::info!(
                    released,
                    "the mail server answers again: waiting letters go now"
                );
            }
            Ok(StepOutcome::Sent {
                letter_id: letter.id,
            })
        }
        Err(error) => not_sent(app, &letter, &error, now).await,
    }
}

/// Records what a sent letter means: its copy with the case's mail and the case core's plan
/// for it (an automatic acknowledgement closes its deadline), in one transaction.
async fn record_sent(
    app: &App,
    letter: &OutboxRow,
    raw: &[u8],
    sent_at: DateTime<Utc>,
) -> Result<(), CaseError> {
    let mut tx = app.store.begin().await?;
    tx.insert_sent_message(letter, raw, sent_at).await?;
    if let Some(case_id) = letter.case_id {
        let mode = app.rules.settings.deadlines.acknowledgement;
        let plan = delivery::letter_sent(case_id, letter, mode);
        apply(&mut tx, &app.rules, &plan, sent_at).await?;
    }
    tx.mark_letter_recorded(letter.id).await?;
    tx.commit().await?;
    Ok(())
}

/// Finishes recording letters a crash left sent but unrecorded. Their copy is rebuilt from the
/// letter as queued, dated when the server took it.
pub async fn finish_recording(app: &App) -> Result<usize, CaseError> {
    let unrecorded = app.store.letters_sent_unrecorded().await?;
    let org = &app.rules.settings.organisation;
    let from = &app.rules.settings.smtp.from;
    for (letter, sent_at) in &unrecorded {
        let raw = match build_letter(letter, from, org, *sent_at) {
            Ok(raw) => raw,
            Err(error) => {
                // It was built and sent before; should it fail now, the events still matter.
                tracing::warn!(letter = letter.id, %error, "the sent letter's copy cannot be rebuilt");
                Vec::new()
            }
        };
        record_sent(app, letter, &raw, *sent_at).await?;
        tracing::info!(
            letter = letter.id,
            "the recording of a sent letter, cut short, is finished"
        );
    }
    Ok(unrecorded.len())
}

/// A letter the server did not take: retried with backoff, or given up (its case flagged).
async fn not_sent(
    app: &App,
    letter: &OutboxRow,
    error: &SendError,
    now: DateTime<Utc>,
) -> Result<StepOutcome, CaseError> {
    let permanent = matches!(error, SendError::Permanent(_));
    let give_up = permanent || letter.attempts >= MAX_ATTEMPTS;
    let retry_at = (!give_up).then(|| now + retry_delay(letter.attempts));
    app.store
        .mark_letter_failed(letter.id, &error.to_string(), retry_at)
        .await?;
    // A server's refusal may quote the recipient: its words go to debug only, and the record
    // keeps them (outbox.last_error) for `cases show` and `outbox list`.
    let smtp = &app.rules.settings.smtp;
    let server = format!("{}:{}", smtp.host, smtp.port);
    tracing::warn!(letter = letter.id, kind = %letter.kind, attempts = letter.attempts, %server, permanent, "letter not sent");
    if !permanent {
        // A refusal of one recipient says nothing of the server; a failure to deliver does.
        let cause = format!(
            "{server} did not take a letter (attempt {})",
            letter.attempts
        );
        app.store
            .record_failure(Component::Send, &cause, now)
            .await?;
    }
    tracing::debug!(letter = letter.id, %error, "the server's answer");
    if !give_up {
        return Ok(StepOutcome::Retrying {
            letter_id: letter.id,
        });
    }
    if let Some(case_id) = letter.case_id {
        let mut tx = app.store.begin().await?;
        let plan = delivery::letter_failed(case_id, letter, &error.to_string());
        apply(&mut tx, &app.rules, &plan, now).await?;
        tx.commit().await?;
    }
    Ok(StepOutcome::GaveUp {
        letter_id: letter.id,
    })
}

/// How many letters one instance sends at once. One: a letter the server has taken but not yet
/// answered for (it is writing the mail to its queue, RFC 1047) goes again if we crash in that
/// moment, and that moment is most of a letter's sending, so every letter in flight is a likely
/// duplicate per crash. The chaos test measured 2.4 a crash with eight at once, 1.6 with two and
/// 0.75 with one; one letter at a time still sends dozens a second.
pub const SEND_CONCURRENCY: usize = 1;

/// Sends every letter that is due now, several at a time; returns how many were sent.
pub async fn drain(
    app: &App,
    sender: &impl EmailSender,
    clock: &Clock,
) -> Result<usize, CaseError> {
    drain_until(app, sender, clock, &AtomicBool::new(false)).await
}

/// Like [`drain`], but no new letter is claimed once `stop` is set: the letters already in
/// flight finish (a send cancelled after the server took it would be sent again).
pub async fn drain_until(
    app: &App,
    sender: &impl EmailSender,
    clock: &Clock,
    stop: &AtomicBool,
) -> Result<usize, CaseError> {
    finish_recording(app).await?;
    let lane = || async {
        let mut sent = 0;
        while !stop.load(Ordering::SeqCst) {
            match send_one(app, sender, clock).await? {
                StepOutcome::Idle => break,
                StepOutcome::Sent { .. } => sent += 1,
                StepOutcome::Retrying { .. } | StepOutcome::GaveUp { .. } => {}
            }
        }
        Ok::<usize, CaseError>(sent)
    };
    let lanes = futures::future::join_all((0..SEND_CONCURRENCY).map(|_| lane())).await;
    lanes
        .into_iter()
        .try_fold(0, |total, sent| Ok(total + sent?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_an_hour() {
        assert_eq!(retry_delay(1), chrono::Duration::minutes(1));
        assert_eq!(retry_delay(2), chrono::Duration::minutes(2));
        assert_eq!(retry_delay(4), chrono::Duration::minutes(8));
        assert_eq!(retry_delay(30), chrono::Duration::minutes(60));
    }

    #[test]
    fn a_letter_carries_threading_and_robot_headers() {
        let org = OrganisationSettings {
            name: "Homes".into(),
            reference_prefix: "CMP".into(),
            message_id_domain: "example.org".into(),
            complaints_address: "complaints@example.org".into(),
            ombudsman_contact: "HOS".into(),
            logo_url: None,
        };
        let letter = OutboxRow {
            id: 1,
            case_id: Some(1),
            kind: "receipt".into(),
            message_id: "redress.CMP-2026-000001.receipt.1@example.org".into(),
            to_address: "jane@example.net".into(),
            subject: "We have received your complaint - reference CMP-2026-000001".into(),
            body: "Dear Jane,\n\nCafé £5.\n".into(),
            html: None,
            in_reply_to: Some("abc@example.net".into()),
            references: Some("<abc@example.net>".into()),
            status: "pending".into(),
            attempts: 1,
        };
        let raw = build_letter(
            &letter,
            "Complaints <complaints@example.org>",
            &org,
            Utc::now(),
        )
        .expect("builds");
        let parsed = crate::intake::mail::parse(&raw);
        assert_eq!(
            parsed.message_id.as_deref(),
            Some("redress.CMP-2026-000001.receipt.1@example.org")
        );
        assert_eq!(parsed.in_reply_to, vec!["abc@example.net"]);
        assert_eq!(parsed.header("auto-submitted"), Some("auto-replied"));
        assert_eq!(parsed.header("x-loop"), Some("complaints@example.org"));
        assert!(parsed.text_body.contains("Café £5."));
        assert!(parsed.subject.contains("CMP-2026-000001"));
    }
}
