//! In-memory fakes behind the same traits as the real mailbox ([`Mailbox`]) and SMTP sender
//! ([`EmailSender`]), for tests of case logic that need no Dovecot or Postfix. Everything else —
//! the case core, the store (a fresh SQLite file), templates, calendar — is the real thing.

use std::collections::BTreeMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use redress::app::{App, Rules};
use redress::clock::Clock;
use redress::daemon::{OnceReport, run_once_on};
use redress::deliver::outbox::{EmailSender, SendError};
use redress::intake::mail::{ParsedMail, parse};
use redress::intake::mailbox::{FetchedMail, Mailbox, MailboxError, Waiting};

use super::{config_text, unique_address};

/// A mailbox held in memory: mail delivered to it waits until intake moves it on.
#[derive(Debug, Default)]
pub struct MemoryMailbox {
    next_uid: u32,
    waiting: BTreeMap<u32, FetchedMail>,
    /// What intake moved to the processed folder, in order.
    pub processed: Vec<FetchedMail>,
    /// What intake moved to the quarantine folder, in order.
    pub quarantined: Vec<FetchedMail>,
}

impl MemoryMailbox {
    /// Delivers a mail received by the server at `at`; returns its UID.
    pub fn deliver(&mut self, raw: &[u8], at: DateTime<Utc>) -> u32 {
        self.next_uid += 1;
        let mail = FetchedMail {
            uid: self.next_uid,
            raw: raw.to_vec(),
            internal_date: Some(at),
        };
        self.waiting.insert(self.next_uid, mail);
        self.next_uid
    }

    /// How many mails wait in the watched folder.
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }
}

impl Mailbox for MemoryMailbox {
    async fn select_watched(&mut self) -> Result<u32, MailboxError> {
        Ok(1)
    }

    async fn waiting(&mut self) -> Result<Vec<Waiting>, MailboxError> {
        Ok(self
            .waiting
            .values()
            .map(|m| Waiting {
                uid: m.uid,
                size: m.raw.len() as u64,
            })
            .collect())
    }

    async fn fetch(&mut self, uids: &[u32]) -> Result<Vec<FetchedMail>, MailboxError> {
        Ok(uids
            .iter()
            .filter_map(|uid| self.waiting.get(uid).cloned())
            .collect())
    }

    async fn fetch_headers(&mut self, uids: &[u32]) -> Result<Vec<FetchedMail>, MailboxError> {
        let mut mails = self.fetch(uids).await?;
        for mail in &mut mails {
            let end = mail
                .raw
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .map_or(mail.raw.len(), |p| p + 4);
            mail.raw.truncate(end);
        }
        Ok(mails)
    }

    async fn move_to_processed(&mut self, uids: &[u32]) -> Result<(), MailboxError> {
        for uid in uids {
            if let Some(mail) = self.waiting.remove(uid) {
                self.processed.push(mail);
            }
        }
        Ok(())
    }

    async fn quarantine(&mut self, uids: &[u32]) -> Result<(), MailboxError> {
        for uid in uids {
            if let Some(mail) = self.waiting.remove(uid) {
                self.quarantined.push(mail);
            }
        }
        Ok(())
    }
}

/// A letter the fake sender accepted.
#[derive(Debug, Clone)]
pub struct Sent {
    pub to: String,
    pub mail: ParsedMail,
    /// The letter as it went, byte for byte.
    pub raw: Vec<u8>,
}

/// A sender that accepts every letter and keeps it.
#[derive(Debug, Default)]
pub struct RecordingSender {
    sent: Mutex<Vec<Sent>>,
}

impl RecordingSender {
    /// Every letter sent so far, in order.
    pub fn sent(&self) -> Vec<Sent> {
        self.sent.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The letters sent to `to`.
    pub fn to(&self, to: &str) -> Vec<ParsedMail> {
        self.sent()
            .into_iter()
            .filter(|s| s.to == to)
            .map(|s| s.mail)
            .collect()
    }
}

impl EmailSender for RecordingSender {
    async fn send(&self, _from: &str, to: &str, raw: &[u8]) -> Result<(), SendError> {
        let sent = Sent {
            to: to.to_string(),
            mail: parse(raw),
            raw: raw.to_vec(),
        };
        self.sent
            .lock()
            .map_err(|_| SendError::Permanent("poisoned".into()))?
            .push(sent);
        Ok(())
    }
}

/// A landlord on fakes: the real app on a fresh SQLite file, an in-memory mailbox and sender.
pub struct FakeWorld {
    pub dir: tempfile::TempDir,
    pub app: App,
    pub mailbox: MemoryMailbox,
    pub sender: RecordingSender,
    pub complaints: String,
    pub customer: String,
}

impl FakeWorld {
    /// A fresh world on SQLite; `extra_toml` adds whole config tables.
    pub async fn new(extra_toml: &str) -> FakeWorld {
        Self::on(None, extra_toml).await
    }

    /// A fresh world on the database at `url` (a fresh SQLite file when `None`).
    pub async fn on(url: Option<String>, extra_toml: &str) -> FakeWorld {
        let dir = tempfile::tempdir().expect("temp dir");
        let complaints = unique_address("complaints");
        let url =
            url.unwrap_or_else(|| format!("sqlite://{}", dir.path().join("redress.db").display()));
        // The ports are never dialled: the mailbox and sender are the fakes.
        let config = config_text(1, 1, &complaints, &url, extra_toml);
        let path = dir.path().join("redress.toml");
        std::fs::write(&path, config).expect("write config");
        let app = App::start(Rules::load(&path).expect("rules"))
            .await
            .expect("app starts");
        FakeWorld {
            dir,
            app,
            mailbox: MemoryMailbox::default(),
            sender: RecordingSender::default(),
            complaints,
            customer: unique_address("customer"),
        }
    }

    /// One `run --once` pass at `at`.
    pub async fn pass(&mut self, at: DateTime<Utc>) -> OnceReport {
        run_once_on(
            &self.app,
            &mut self.mailbox,
            &self.sender,
            &Clock::starting_at(at),
        )
        .await
        .expect("pass")
    }
}
